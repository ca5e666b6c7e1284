//! Gemini through Google OAuth: the Code Assist endpoint.
//!
//! Requests are Gemini bodies wrapped in `{model, project, request}` and
//! posted to `{base}/v1internal:generateContent` (or
//! `:streamGenerateContent?alt=sse`); answers (and each stream event) come
//! wrapped in `{response: ...}`. The access token comes from the account's
//! refresh token; the project from the account or, when absent, from the
//! endpoint's `loadCodeAssist`.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::oauth::TokenSource;
use super::{Credentials, Failure, Mode, Outgoing, PostTo, Provider, ReadError, read_capped, rejects_credentials};
use crate::protocol::Protocol;

/// The Code Assist provider.
#[derive(Debug, Clone, Copy)]
pub struct Google;

impl Provider for Google {
    fn protocol(&self) -> Protocol {
        Protocol::Gemini
    }

    fn default_base_url(&self) -> &'static str {
        "https://cloudcode-pa.googleapis.com"
    }

    fn relays_raw(&self) -> bool {
        // The envelope differs from a Gemini client's body and answer.
        false
    }

    fn request(
        &self,
        http: &reqwest::Client,
        credentials: &Credentials,
        outgoing: &Outgoing,
    ) -> reqwest::RequestBuilder {
        let method = match outgoing.mode {
            Mode::Complete => "v1internal:generateContent",
            Mode::Sse => "v1internal:streamGenerateContent?alt=sse",
            Mode::JsonArray => "v1internal:streamGenerateContent",
        };
        http.post_to(&credentials.base_url, method)
            .bearer_auth(&*credentials.secret)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(envelope(
                &outgoing.model,
                credentials.project.as_deref(),
                &outgoing.body,
            ))
    }

    fn count_tokens(
        &self,
        http: &reqwest::Client,
        credentials: &Credentials,
        outgoing: &Outgoing,
    ) -> Option<reqwest::RequestBuilder> {
        // Code Assist counts `{request: {model, contents}}`.
        #[derive(Deserialize)]
        struct Contents<'a> {
            #[serde(borrow)]
            contents: &'a RawValue,
        }
        let contents = serde_json::from_slice::<Contents<'_>>(&outgoing.body).ok()?;
        let body = serde_json::json!({"request": {"model": format!("models/{}", outgoing.model), "contents": contents.contents}});
        Some(
            http.post_to(&credentials.base_url, "v1internal:countTokens")
                .bearer_auth(&*credentials.secret)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(crate::protocol::json_bytes(&body)),
        )
    }

    fn read_count(&self, body: &[u8]) -> Option<u64> {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()?
            .get("totalTokens")?
            .as_u64()
    }

    fn unwrap<'a>(&self, body: &'a [u8]) -> Cow<'a, [u8]> {
        #[derive(Deserialize)]
        struct Wrapped<'a> {
            #[serde(borrow)]
            response: &'a RawValue,
        }
        match serde_json::from_slice::<Wrapped<'_>>(body) {
            Ok(wrapped) => Cow::Owned(wrapped.response.get().as_bytes().to_vec()),
            // Errors come unwrapped (`{"error": ...}`): pass them on as they are.
            Err(_) => Cow::Borrowed(body),
        }
    }
}

/// `{"model": M, "project": P, "request": BODY}` with the body spliced in
/// as it is.
fn envelope(model: &str, project: Option<&str>, body: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(body.len() + 96);
    out.extend_from_slice(b"{\"model\":");
    out.extend_from_slice(serde_json::to_string(model).unwrap_or_default().as_bytes());
    if let Some(project) = project {
        out.extend_from_slice(b",\"project\":");
        out.extend_from_slice(serde_json::to_string(project).unwrap_or_default().as_bytes());
    }
    out.extend_from_slice(b",\"request\":");
    out.extend_from_slice(body);
    out.push(b'}');
    Bytes::from(out)
}

/// A Google account's run-time session: its tokens and project.
#[derive(Debug)]
pub struct GoogleSession {
    /// Access tokens from the refresh token.
    pub tokens: TokenSource,
    /// The Code Assist endpoint.
    pub base_url: String,
    project: tokio::sync::Mutex<Option<String>>,
}

impl GoogleSession {
    /// A session; `project` as configured (discovered on first use when `None`).
    pub fn new(tokens: TokenSource, base_url: String, project: Option<String>) -> GoogleSession {
        GoogleSession {
            tokens,
            base_url,
            project: tokio::sync::Mutex::new(project),
        }
    }

    /// A token and the project for the next request; no answer on the way
    /// is read past `body_limit` bytes.
    pub async fn credentials(&self, http: &reqwest::Client, body_limit: usize) -> Result<Credentials, Failure> {
        let token = self.tokens.access_token(http, body_limit).await?;
        let mut project = self.project.lock().await;
        if project.is_none() {
            let discovered = self
                .discover_project(http, &token, body_limit)
                .await
                .map_err(|failure| failure.redacted(&crate::monitor::Redactor::default(), &[&token]))?;
            *project = Some(discovered);
        }
        Ok(Credentials {
            base_url: self.base_url.clone(),
            secret: token,
            project: project.clone(),
        })
    }

    /// Asks `loadCodeAssist` which Cloud project this account uses.
    async fn discover_project(
        &self,
        http: &reqwest::Client,
        token: &str,
        body_limit: usize,
    ) -> Result<String, Failure> {
        let body = serde_json::json!({
            "metadata": {"ideType": "IDE_UNSPECIFIED", "platform": "PLATFORM_UNSPECIFIED", "pluginType": "GEMINI"}
        });
        let response = http
            .post_to(&self.base_url, "v1internal:loadCodeAssist")
            .bearer_auth(token)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(crate::protocol::json_bytes(&body))
            .timeout(std::time::Duration::from_secs(30))
            .send()
            .await
            .map_err(|err| Failure::Connect(format!("loadCodeAssist failed ({})", err.without_url())))?;
        let status = response.status().as_u16();
        let bytes = match read_capped(response, body_limit).await {
            Ok(bytes) => bytes,
            Err(ReadError::TooLarge) => return Err(Failure::TooLarge { limit: body_limit }),
            Err(ReadError::Transport(_)) => Bytes::new(),
        };
        if !(200..300).contains(&status) {
            let message = format!(
                "looking up the account's Code Assist project failed: {}",
                crate::protocol::error::upstream_message(&bytes)
            );
            return Err(if rejects_credentials(status, &bytes) {
                Failure::Rejected { status, message }
            } else {
                Failure::Status {
                    status,
                    retry_after: None,
                    message,
                }
            });
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let project = value.get("cloudaicompanionProject").and_then(|p| {
            p.as_str()
                .map(str::to_string)
                .or_else(|| p.get("id")?.as_str().map(str::to_string))
        });
        // Not a credential failure, but nothing a request can change either:
        // the account is taken out of rotation until it is given a project.
        project.ok_or_else(|| Failure::Rejected {
            status: 403,
            message: "this Google account has no Code Assist project; give one with `--project` (or `project = ...` \
                      in the account's config.toml entry)"
                .into(),
        })
    }
}

/// A session shared by every request of one account.
pub type SharedSession = Arc<GoogleSession>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_wraps_the_body_unchanged() {
        let body = br#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#;
        let wrapped = envelope("gemini-2.5-pro", Some("proj-1"), body);
        let value: serde_json::Value = serde_json::from_slice(&wrapped).unwrap();
        assert_eq!(value["model"], "gemini-2.5-pro");
        assert_eq!(value["project"], "proj-1");
        assert_eq!(value["request"]["contents"][0]["parts"][0]["text"], "hi");
    }

    #[test]
    fn answers_are_unwrapped_and_errors_pass_through() {
        let unwrapped = Google.unwrap(br#"{"response":{"candidates":[]},"traceId":"t"}"#);
        assert_eq!(&*unwrapped, br#"{"candidates":[]}"#);
        let error = br#"{"error":{"code":429,"message":"quota"}}"#;
        assert_eq!(&*Google.unwrap(error), error);
    }
}
