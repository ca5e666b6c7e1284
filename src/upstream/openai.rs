//! OpenAI Chat Completions: OpenAI and every compatible server.

use super::{Credentials, Outgoing, PostTo, Provider};
use crate::protocol::Protocol;

/// A keyless account (a local model server) sends no `Authorization`:
/// some servers refuse any key they were not configured with.
pub fn bearer(request: reqwest::RequestBuilder, credentials: &Credentials) -> reqwest::RequestBuilder {
    if credentials.secret.is_empty() {
        request
    } else {
        request.bearer_auth(&*credentials.secret)
    }
}

/// `POST {base}/chat/completions` with a Bearer key (none for a keyless
/// account); the base includes `/v1`.
#[derive(Debug, Clone, Copy)]
pub struct OpenAi;

impl Provider for OpenAi {
    fn protocol(&self) -> Protocol {
        Protocol::OpenAi
    }

    fn default_base_url(&self) -> &'static str {
        "https://api.openai.com/v1"
    }

    fn request(
        &self,
        http: &reqwest::Client,
        credentials: &Credentials,
        outgoing: &Outgoing,
    ) -> reqwest::RequestBuilder {
        let request = http
            .post_to(&credentials.base_url, "chat/completions")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(outgoing.body.clone());
        bearer(request, credentials)
    }

    /// `POST {base}/embeddings`.
    fn serves_embeddings(&self) -> bool {
        true
    }

    fn embed(
        &self,
        http: &reqwest::Client,
        credentials: &Credentials,
        _model: &str,
        body: bytes::Bytes,
    ) -> Option<reqwest::RequestBuilder> {
        let request = http
            .post_to(&credentials.base_url, "embeddings")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
        Some(bearer(request, credentials))
    }
}
