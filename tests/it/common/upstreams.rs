//! The upstream side of the matrix: per provider, a mock that answers a
//! [`Canned`] answer in the provider's real wire format (complete, SSE, or
//! Gemini's JSON array, as the request asked). The formats themselves are
//! `mock_upstream::shapes`, the one writer of real-shaped answers; this
//! module reads what a request asked for and speaks switchyard's
//! `ProviderKind` to it.

use bytes::Bytes;
use mock_upstream::canned::Provider;
use mock_upstream::shapes;
pub use mock_upstream::shapes::{
    Wanted, anthropic_event, content_type, gemini_chunk, gemini_usage, openai_chunk, openai_reason, openai_usage,
    wire_chunks,
};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;

use super::conversation::Canned;
use super::{MockReply, Recorded};

/// The three upstream providers.
pub const UPSTREAMS: [ProviderKind; 3] = [ProviderKind::Openai, ProviderKind::Anthropic, ProviderKind::Gemini];

/// The mock's name for `provider`'s wire format.
fn wire(provider: ProviderKind) -> Provider {
    match provider {
        ProviderKind::Openai => Provider::OpenAi,
        ProviderKind::Anthropic => Provider::Anthropic,
        _ => Provider::Gemini,
    }
}

/// The id each provider gives the `n`th canned call (Gemini gives none).
pub fn call_id(provider: ProviderKind, n: usize) -> Option<&'static str> {
    shapes::call_id(wire(provider), n)
}

/// What `request` asks of `provider`.
pub fn wanted(provider: ProviderKind, request: &Recorded) -> Wanted {
    match provider {
        ProviderKind::Gemini if !request.path.ends_with(":streamGenerateContent") => Wanted::Complete,
        ProviderKind::Gemini if request.query.split('&').any(|p| p == "alt=sse") => Wanted::Sse { usage: true },
        ProviderKind::Gemini => Wanted::Array,
        _ => {
            let body = request.json();
            if body["stream"] == json!(true) {
                Wanted::Sse {
                    usage: provider != ProviderKind::Openai || body["stream_options"]["include_usage"] == json!(true),
                }
            } else {
                Wanted::Complete
            }
        }
    }
}

/// The model a request names.
pub fn requested_model(provider: ProviderKind, request: &Recorded) -> String {
    match provider {
        ProviderKind::Gemini => {
            let segment = request.path.rsplit('/').next().unwrap_or_default();
            segment.split(':').next().unwrap_or_default().to_string()
        }
        _ => request.json()["model"].as_str().unwrap_or_default().to_string(),
    }
}

/// A handler that answers every request with `canned`, complete or
/// streamed as asked, each stream frame cut in two on the wire.
pub fn answering(provider: ProviderKind, canned: Canned) -> impl Fn(&Recorded) -> MockReply + Send + Sync + 'static {
    move |request| {
        let model = requested_model(provider, request);
        match wanted(provider, request) {
            Wanted::Complete => MockReply::json(complete_body(provider, &canned, &model)),
            wanted => stream_reply(
                wire_chunks(&frames(provider, &canned, &model, wanted), wanted, true),
                wanted,
            ),
        }
    }
}

/// A stream reply of these chunks, sent without delay.
pub fn stream_reply(chunks: Vec<Bytes>, wanted: Wanted) -> MockReply {
    MockReply::Stream {
        chunks: chunks.into_iter().map(|c| (std::time::Duration::ZERO, c)).collect(),
        hold: None,
        content_type: content_type(wanted),
    }
}

/// One SSE frame of `data`, framed as the provider frames it.
pub fn sse_frame(provider: ProviderKind, event: Option<&str>, data: &Value) -> String {
    shapes::sse_frame(wire(provider), event, data)
}

/// The canned answer as the provider's complete response body.
pub fn complete_body(provider: ProviderKind, canned: &Canned, model: &str) -> Value {
    shapes::complete_body(wire(provider), canned, model)
}

/// The canned answer as the provider's stream frames (array elements for
/// [`Wanted::Array`]).
pub fn frames(provider: ProviderKind, canned: &Canned, model: &str, wanted: Wanted) -> Vec<String> {
    shapes::frames(wire(provider), canned, model, wanted)
}

/// A mid-stream error in the provider's own stream format.
pub fn error_frame(provider: ProviderKind) -> String {
    shapes::error_frame(wire(provider))
}

/// The message of [`error_frame`].
pub fn error_frame_message(provider: ProviderKind) -> &'static str {
    shapes::error_frame_message(wire(provider))
}

/// An HTTP error body in the provider's shape, carrying `message`.
pub fn error_body(provider: ProviderKind, status: u16, message: &str) -> Value {
    shapes::error_body(wire(provider), status, message)
}

/// The base URL an account of `provider` is configured with for `mock_url`
/// (OpenAI's includes `/v1`).
pub fn base_url(provider: ProviderKind, mock_url: &str) -> String {
    shapes::base_url(wire(provider), mock_url)
}

/// `provider`'s stream for `model` up to its first text piece (`ANSWER[0]`).
pub fn first_frames(provider: ProviderKind, model: &str) -> Vec<String> {
    shapes::first_frames(wire(provider), model)
}

/// The rate-limit headers `provider` sends on an answer, by their real
/// names: OpenAI's `x-ratelimit-*` (resets as Go durations), Anthropic's
/// `anthropic-ratelimit-*` (resets as RFC 3339 times, `reset` given), and
/// none for Gemini, which names no limit on its answers.
pub fn quota_headers(provider: ProviderKind, reset: &str) -> Vec<(&'static str, String)> {
    let pairs: &[(&'static str, &str)] = match provider {
        ProviderKind::Openai => &[
            ("x-ratelimit-limit-requests", "5000"),
            ("x-ratelimit-remaining-requests", "4999"),
            ("x-ratelimit-reset-requests", "12ms"),
            ("x-ratelimit-limit-tokens", "160000"),
            ("x-ratelimit-remaining-tokens", "8000"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ],
        ProviderKind::Anthropic => &[
            ("anthropic-ratelimit-requests-limit", "50"),
            ("anthropic-ratelimit-requests-remaining", "49"),
            ("anthropic-ratelimit-requests-reset", "RESET"),
            ("anthropic-ratelimit-tokens-limit", "90000"),
            ("anthropic-ratelimit-tokens-remaining", "89000"),
            ("anthropic-ratelimit-tokens-reset", "RESET"),
            ("anthropic-ratelimit-input-tokens-limit", "80000"),
            ("anthropic-ratelimit-input-tokens-remaining", "79500"),
            ("anthropic-ratelimit-input-tokens-reset", "RESET"),
            ("anthropic-ratelimit-output-tokens-limit", "10000"),
            ("anthropic-ratelimit-output-tokens-remaining", "9500"),
            ("anthropic-ratelimit-output-tokens-reset", "RESET"),
        ],
        _ => &[],
    };
    pairs
        .iter()
        .map(|(name, value)| (*name, value.replace("RESET", reset)))
        .collect()
}

/// Gemini's 429 for a spent quota: `RESOURCE_EXHAUSTED` with a
/// `QuotaFailure` naming the quota and a `RetryInfo` saying when to come back.
pub fn gemini_quota_exhausted(model: &str, retry_delay: &str) -> Value {
    json!({"error": {
        "code": 429,
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                "quotaDimensions": {"location": "global", "model": model},
                "quotaValue": "10"
            }]},
            {"@type": "type.googleapis.com/google.rpc.Help", "links": [
                {"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}
            ]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
        ]
    }})
}
