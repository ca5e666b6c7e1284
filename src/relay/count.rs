//! `count_tokens`: Anthropic's `/v1/messages/count_tokens` and Gemini's
//! `:countTokens`, answered by the serving account's own (free) counting
//! endpoint where its provider has one, and otherwise, or when that fails,
//! estimated locally. Never billed as inference; never zero for a
//! non-empty request.

use bytes::Bytes;
use http::HeaderMap;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::{Answer, ClientCall, Endpoint, Refusal, Relay, forwarded_headers};
use crate::protocol::{ApiError, ChatRequest, Protocol, signature};
use crate::upstream::{Mode, Outgoing};

impl Relay {
    /// Serves a counting endpoint.
    pub(super) async fn count(&self, call: ClientCall) -> Result<Answer, Refusal> {
        let protocol = call.endpoint.dialect().family();
        let mut request = match &call.endpoint {
            Endpoint::GeminiCountTokens { model } => {
                let mut request = protocol.decode_request(&gemini_count_body(&call.body))?;
                request.model = model.clone();
                request
            }
            _ => protocol.decode_request(&call.body)?,
        };
        if request.model.is_empty() {
            return Err(ApiError::invalid_request("The request names no model: set the `model` field.").into());
        }
        request.stream = false;
        let upstream_model = self.routing.load().resolve(&request.model);
        if let Some(key) = &call.key
            && !key.allows_model(&upstream_model)
        {
            return Err(super::model_refused(key, &request.model, &upstream_model).into());
        }
        let counted = match self
            .upstream_count(&request, &upstream_model, protocol, &call.headers)
            .await
        {
            Some(count) => count,
            None => {
                let request = request.clone();
                tokio::task::spawn_blocking(move || crate::tokens::estimate(&request))
                    .await
                    .unwrap_or_default()
            }
        };
        // A non-empty request is never zero tokens.
        let counted = if counted == 0 && !request.messages.is_empty() {
            1
        } else {
            counted
        };
        let body = match protocol {
            Protocol::Gemini => json!({"totalTokens": counted}),
            _ => json!({"input_tokens": counted}),
        };
        Ok(Answer::ok(crate::protocol::json_bytes(&body)))
    }

    /// The count from the account that would serve the model, if its
    /// provider counts and answers.
    async fn upstream_count(
        &self,
        request: &ChatRequest,
        model: &str,
        client: Protocol,
        headers: &HeaderMap,
    ) -> Option<u64> {
        let lease = self
            .pool()
            .select(model, request.session_key.as_deref(), None, &[])
            .ok()?;
        let member = lease.member().clone();
        let wire = member.provider.protocol();
        let mut encoded = request.clone();
        signature::request_for_upstream(&mut encoded, client, wire);
        let outgoing = Outgoing {
            model: model.to_string(),
            body: crate::protocol::json_bytes(&wire.encode_request(&encoded, model)),
            mode: Mode::Complete,
            forward_headers: if wire == client {
                forwarded_headers(headers)
            } else {
                HeaderMap::new()
            },
        };
        let http = member.http.as_ref().unwrap_or(self.upstream.http());
        let credentials = self.upstream.authorize(http, &member.auth).await.ok()?;
        match self
            .upstream
            .count_tokens(http, member.provider.as_ref(), &credentials, &outgoing)
            .await
        {
            Ok(count) => count,
            Err(failure) => {
                tracing::info!(account = %member.config.id, failure = %failure.describe(), "token count failed upstream; estimating locally");
                None
            }
        }
    }
}

/// A Gemini `countTokens` body as a generate request: either `contents`
/// directly, or wrapped in `generateContentRequest`.
fn gemini_count_body(body: &Bytes) -> Bytes {
    #[derive(Deserialize)]
    struct Wrapped<'a> {
        #[serde(borrow, rename = "generateContentRequest", alias = "generate_content_request")]
        inner: &'a RawValue,
    }
    match serde_json::from_slice::<Wrapped<'_>>(body) {
        Ok(wrapped) => Bytes::copy_from_slice(wrapped.inner.get().as_bytes()),
        Err(_) => body.clone(),
    }
}
