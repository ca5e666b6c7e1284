//! One API call as the monitor records it.

use serde::{Deserialize, Serialize};

/// What happened to one API call: written for every call, success or not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The response id token (matches the ids the client saw).
    pub id: String,
    /// When the call arrived, milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// The client's protocol: `openai`, `responses`, `anthropic`, `gemini`.
    pub client: String,
    /// The route called (`/v1/chat/completions`, ...).
    pub route: String,
    /// The name of the client key the call came with (never the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The model the client asked for.
    pub model: String,
    /// The model sent upstream (after aliases and fallbacks), once an
    /// account was chosen.
    pub served_model: Option<String>,
    /// Whether the call moved on along its fallback chain.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fell_back: bool,
    /// The serving (last tried) account's label, or id when it has none.
    pub account: Option<String>,
    /// The serving account's id.
    pub account_id: Option<String>,
    /// Whether the answer streamed.
    pub stream: bool,
    /// The HTTP status the client got; 499 when the client went away first.
    pub status: u16,
    /// From arrival to the last byte handed to the client, in milliseconds.
    pub total_ms: f64,
    /// Time spent waiting on upstreams (all attempts), in milliseconds.
    pub upstream_ms: Option<f64>,
    /// `total_ms - upstream_ms`: what the gateway itself added.
    pub overhead_ms: Option<f64>,
    /// From arrival to the first byte handed to the client, in milliseconds.
    pub ttfb_ms: Option<f64>,
    /// Prompt tokens, cached included.
    pub input_tokens: u64,
    /// Generated tokens, reasoning included.
    pub output_tokens: u64,
    /// Prompt tokens served from a cache.
    pub cached_tokens: u64,
    /// Prompt tokens written to a cache (Anthropic's cache creation).
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// What the call cost in USD, at the price of its served model;
    /// `None` (`null`) when that model is unpriced.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Whether the token counts are the gateway's local estimate, the
    /// upstream having reported none (Gemini's embeddings).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub estimated_tokens: bool,
    /// Accounts tried (1 when the first answered).
    pub attempts: u32,
    /// What went wrong, for failed calls (never contains a secret).
    pub error: Option<String>,
    /// The request body, when body storage is on (capped, credentials redacted).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_body: Option<String>,
    /// The response body (complete answers only), when body storage is on.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub response_body: Option<String>,
}

impl RequestRecord {
    /// Makes this record a copy of `from`, writing its strings into the
    /// buffers this one already has where they are large enough. The bodies
    /// are replaced instead: a slot keeping the largest body it ever held
    /// would keep the ring's memory at its all-time peak.
    pub(super) fn assign(&mut self, from: &RequestRecord) {
        // Named field by field, so that a new field cannot be forgotten here.
        let RequestRecord {
            id,
            time_ms,
            client,
            route,
            key,
            model,
            served_model,
            fell_back,
            account,
            account_id,
            stream,
            status,
            total_ms,
            upstream_ms,
            overhead_ms,
            ttfb_ms,
            input_tokens,
            output_tokens,
            cached_tokens,
            cache_write_tokens,
            cost_usd,
            estimated_tokens,
            attempts,
            error,
            request_body,
            response_body,
        } = from;
        self.id.clone_from(id);
        self.time_ms = *time_ms;
        self.client.clone_from(client);
        self.route.clone_from(route);
        self.key.clone_from(key);
        self.model.clone_from(model);
        self.served_model.clone_from(served_model);
        self.fell_back = *fell_back;
        self.account.clone_from(account);
        self.account_id.clone_from(account_id);
        self.stream = *stream;
        self.status = *status;
        self.total_ms = *total_ms;
        self.upstream_ms = *upstream_ms;
        self.overhead_ms = *overhead_ms;
        self.ttfb_ms = *ttfb_ms;
        self.input_tokens = *input_tokens;
        self.output_tokens = *output_tokens;
        self.cached_tokens = *cached_tokens;
        self.cache_write_tokens = *cache_write_tokens;
        self.cost_usd = *cost_usd;
        self.estimated_tokens = *estimated_tokens;
        self.attempts = *attempts;
        self.error.clone_from(error);
        self.request_body = request_body.clone();
        self.response_body = response_body.clone();
    }

    /// Rotations to another account (attempts after the first).
    pub fn rotations(&self) -> u32 {
        self.attempts.saturating_sub(1)
    }

    /// The model the call is priced and grouped by: the served one, else
    /// the one asked for.
    pub fn priced_model(&self) -> &str {
        self.served_model.as_deref().unwrap_or(&self.model)
    }

    /// The call's tokens as prices count them.
    pub fn tokens(&self) -> crate::pricing::Tokens {
        crate::pricing::Tokens {
            input: self.input_tokens,
            cached: self.cached_tokens,
            cache_write: self.cache_write_tokens,
            output: self.output_tokens,
        }
    }
}
