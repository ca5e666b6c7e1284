//! Anthropic Messages: Anthropic and compatible servers (z.ai, ...).

use super::{Credentials, Outgoing, Provider, join};
use crate::protocol::Protocol;

/// The API version sent when the client did not name one.
const DEFAULT_VERSION: &str = "2023-06-01";

/// `POST {base}/v1/messages` with `x-api-key` and `anthropic-version`.
#[derive(Debug, Clone, Copy)]
pub struct Anthropic;

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
        let version = outgoing
            .forward_headers
            .get("anthropic-version")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(DEFAULT_VERSION)
            .to_string();
        let mut request = http
            .post(join(&credentials.base_url, "v1/messages"))
            .header("x-api-key", &*credentials.secret)
            .header("anthropic-version", version)
            .header(http::header::CONTENT_TYPE, "application/json");
        // Beta flags change what the API accepts (Claude Code relies on them);
        // they are only present when an Anthropic client's request is relayed.
        if let Some(beta) = outgoing.forward_headers.get("anthropic-beta") {
            request = request.header("anthropic-beta", beta.clone());
        }
        request.body(outgoing.body.clone())
    }
}
