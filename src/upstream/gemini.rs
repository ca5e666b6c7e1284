//! The Gemini API with an API key.

use super::{Credentials, Mode, Outgoing, PostTo, Provider};
use crate::protocol::Protocol;
use crate::protocol::members::{self, Edit};

/// `POST {base}/v1beta/models/{model}:generateContent` with `x-goog-api-key`.
#[derive(Debug, Clone, Copy)]
pub struct Gemini;

impl Provider for Gemini {
    fn protocol(&self) -> Protocol {
        Protocol::Gemini
    }

    fn default_base_url(&self) -> &'static str {
        "https://generativelanguage.googleapis.com"
    }

    fn request(
        &self,
        http: &reqwest::Client,
        credentials: &Credentials,
        outgoing: &Outgoing,
    ) -> reqwest::RequestBuilder {
        let model = urlencode(&outgoing.model);
        let path = match outgoing.mode {
            Mode::Complete => format!("v1beta/models/{model}:generateContent"),
            Mode::Sse => format!("v1beta/models/{model}:streamGenerateContent?alt=sse"),
            Mode::JsonArray => format!("v1beta/models/{model}:streamGenerateContent"),
        };
        http.post_to(&credentials.base_url, &path)
            .header("x-goog-api-key", &*credentials.secret)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(outgoing.body.clone())
    }

    fn count_tokens(
        &self,
        http: &reqwest::Client,
        credentials: &Credentials,
        outgoing: &Outgoing,
    ) -> Option<reqwest::RequestBuilder> {
        // `generateContentRequest` counts the system instruction and tools
        // too, which a bare `contents` would leave out.
        let model = urlencode(&outgoing.model);
        let name = serde_json::Value::String(format!("models/{}", outgoing.model));
        let inner = members::edit(&outgoing.body, &[Edit::Set("model", &name)])?;
        let mut body = b"{\"generateContentRequest\":".to_vec();
        body.extend_from_slice(&inner);
        body.push(b'}');
        Some(
            http.post_to(&credentials.base_url, &format!("v1beta/models/{model}:countTokens"))
                .header("x-goog-api-key", &*credentials.secret)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body),
        )
    }

    fn serves_embeddings(&self) -> bool {
        true
    }

    /// Always `batchEmbedContents`: one content is a batch of one.
    fn embed(
        &self,
        http: &reqwest::Client,
        credentials: &Credentials,
        model: &str,
        body: bytes::Bytes,
    ) -> Option<reqwest::RequestBuilder> {
        let path = format!("v1beta/models/{}:batchEmbedContents", urlencode(model));
        Some(
            http.post_to(&credentials.base_url, &path)
                .header("x-goog-api-key", &*credentials.secret)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body),
        )
    }

    fn read_count(&self, body: &[u8]) -> Option<u64> {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()?
            .get("totalTokens")?
            .as_u64()
    }
}

/// Characters of a model name that may stand in a path segment unencoded.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// Percent-encodes a model name for a path segment (names are plain in
/// practice; this keeps a hostile alias from changing the path).
pub(super) fn urlencode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, SEGMENT).to_string()
}
