//! OpenAI Chat Completions: OpenAI and every compatible server.

use super::{Credentials, Outgoing, Provider, join};
use crate::protocol::Protocol;

/// `POST {base}/chat/completions` with a Bearer key; the base includes `/v1`.
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
        http.post(join(&credentials.base_url, "chat/completions"))
            .bearer_auth(&*credentials.secret)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(outgoing.body.clone())
    }
}
