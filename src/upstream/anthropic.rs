//! Anthropic Messages: Anthropic and compatible servers (z.ai, ...).

use bytes::Bytes;

use super::{Credentials, Outgoing, PostTo, Provider};
use crate::protocol::Protocol;
use crate::protocol::members::{self, Edit};

/// The API version sent when the client did not name one.
const DEFAULT_VERSION: &str = "2023-06-01";

/// The fields `/v1/messages/count_tokens` accepts; it refuses the
/// generation-only ones (`max_tokens`, `stream`, `temperature`, ...).
const COUNTED: &[&str] = &[
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "mcp_servers",
];

/// `POST {base}/v1/messages` with `x-api-key` and `anthropic-version`.
#[derive(Debug, Clone, Copy)]
pub struct Anthropic;

impl Anthropic {
    /// A POST to `path` with the account's key, the API version and the
    /// client's beta flags.
    fn post(
        &self,
        http: &reqwest::Client,
        credentials: &Credentials,
        outgoing: &Outgoing,
        path: &str,
        body: Bytes,
    ) -> reqwest::RequestBuilder {
        let version = outgoing
            .forward_headers
            .get("anthropic-version")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(DEFAULT_VERSION)
            .to_string();
        let mut request = http
            .post_to(&credentials.base_url, path)
            .header("x-api-key", &*credentials.secret)
            .header("anthropic-version", version)
            .header(http::header::CONTENT_TYPE, "application/json");
        // Beta flags change what the API accepts (Claude Code relies on them);
        // they are only present when an Anthropic client's request is relayed.
        if let Some(beta) = outgoing.forward_headers.get("anthropic-beta") {
            request = request.header("anthropic-beta", beta.clone());
        }
        request.body(body)
    }
}

impl Provider for Anthropic {
    fn protocol(&self) -> Protocol {
        Protocol::Anthropic
    }

    fn default_base_url(&self) -> &'static str {
        "https://api.anthropic.com"
    }

    fn request(
        &self,
        http: &reqwest::Client,
        credentials: &Credentials,
        outgoing: &Outgoing,
    ) -> reqwest::RequestBuilder {
        self.post(http, credentials, outgoing, "v1/messages", outgoing.body.clone())
    }

    fn count_tokens(
        &self,
        http: &reqwest::Client,
        credentials: &Credentials,
        outgoing: &Outgoing,
    ) -> Option<reqwest::RequestBuilder> {
        let body = Bytes::from(members::edit(&outgoing.body, &[Edit::KeepOnly(COUNTED)])?);
        Some(self.post(http, credentials, outgoing, "v1/messages/count_tokens", body))
    }

    fn read_count(&self, body: &[u8]) -> Option<u64> {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()?
            .get("input_tokens")?
            .as_u64()
    }
}
