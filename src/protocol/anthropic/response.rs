//! Non-streamed Messages responses, plus the pieces the stream codec shares
//! with them: usage accounting, stop reasons and error types.

use serde::Deserialize;
use serde_json::{Value, json};

use super::content::{TextOrBlocks, WireBlock, arguments_object, block_parts};
use crate::protocol::model::{ChatResponse, FinishReason, Part, ResponseMeta, Usage};
use crate::protocol::{ApiError, ErrorKind, parse_json};

/// Anthropic's `usage` object. Every count is optional: `message_delta`
/// events carry only some, and compatible servers omit or null others.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub(super) struct WireUsage {
    /// Prompt tokens that were neither read from nor written to the cache.
    pub input_tokens: Option<u64>,
    /// Generated tokens, thinking included.
    pub output_tokens: Option<u64>,
    /// Prompt tokens written to the cache.
    pub cache_creation_input_tokens: Option<u64>,
    /// Prompt tokens read from the cache.
    pub cache_read_input_tokens: Option<u64>,
    /// The thinking share of `output_tokens`.
    pub output_tokens_details: Option<WireOutputDetails>,
}

/// `usage.output_tokens_details`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub(super) struct WireOutputDetails {
    /// Tokens spent thinking.
    pub thinking_tokens: Option<u64>,
}

impl WireUsage {
    /// Takes every count `newer` carries (stream counts are cumulative, so a
    /// newer count replaces the older one).
    pub fn merge(&mut self, newer: WireUsage) {
        fn take(old: &mut Option<u64>, new: Option<u64>) {
            if new.is_some() {
                *old = new;
            }
        }
        take(&mut self.input_tokens, newer.input_tokens);
        take(&mut self.output_tokens, newer.output_tokens);
        take(&mut self.cache_creation_input_tokens, newer.cache_creation_input_tokens);
        take(&mut self.cache_read_input_tokens, newer.cache_read_input_tokens);
        if newer
            .output_tokens_details
            .is_some_and(|details| details.thinking_tokens.is_some())
        {
            self.output_tokens_details = newer.output_tokens_details;
        }
    }

    /// The model's view, where input tokens include the cached ones.
    pub fn to_model(self) -> Usage {
        let cache_read = self.cache_read_input_tokens.unwrap_or(0);
        let cache_creation = self.cache_creation_input_tokens.unwrap_or(0);
        Usage {
            input_tokens: self
                .input_tokens
                .unwrap_or(0)
                .saturating_add(cache_read)
                .saturating_add(cache_creation),
            output_tokens: self.output_tokens.unwrap_or(0),
            cached_input_tokens: cache_read,
            cache_creation_input_tokens: cache_creation,
            reasoning_tokens: self
                .output_tokens_details
                .and_then(|details| details.thinking_tokens)
                .unwrap_or(0),
        }
    }
}

/// A model usage in Anthropic's shape, where `input_tokens` excludes cache
/// reads and writes.
pub(super) fn usage_json(usage: &Usage) -> Value {
    let uncached = usage
        .input_tokens
        .saturating_sub(usage.cached_input_tokens)
        .saturating_sub(usage.cache_creation_input_tokens);
    let mut wire = json!({
        "input_tokens": uncached,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cached_input_tokens,
        "output_tokens": usage.output_tokens,
    });
    if usage.reasoning_tokens > 0 {
        wire["output_tokens_details"] = json!({"thinking_tokens": usage.reasoning_tokens});
    }
    wire
}

/// The model's finish reason for an Anthropic `stop_reason`.
pub(super) fn finish_from_wire(reason: &str) -> FinishReason {
    match reason {
        "end_turn" => FinishReason::Stop,
        "stop_sequence" => FinishReason::StopSequence,
        // Running out of context window is running out of room all the same.
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// The `stop_reason` for a model finish reason. Reasons Anthropic has no
/// word for become `end_turn`, since SDKs treat the field as an enum.
pub(super) fn finish_to_wire(reason: &FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "end_turn",
        FinishReason::StopSequence => "stop_sequence",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
        FinishReason::Other(other) if other == "pause_turn" => "pause_turn",
        FinishReason::Other(_) => "end_turn",
    }
}

/// Anthropic's `{"type","message"}` error object.
#[derive(Debug, Default, Deserialize)]
pub(super) struct WireError {
    /// `overloaded_error`, `rate_limit_error`, ...
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Human-readable message.
    pub message: Option<String>,
}

impl WireError {
    /// The error with the HTTP status Anthropic uses for its type, so that
    /// the pool can tell an overload or a rate limit from a failure.
    pub fn into_api_error(self) -> ApiError {
        let kind = self.kind.unwrap_or_default();
        let status = match kind.as_str() {
            "invalid_request_error" => 400,
            "authentication_error" => 401,
            "billing_error" => 402,
            "permission_error" => 403,
            "not_found_error" => 404,
            "request_too_large" => 413,
            "rate_limit_error" => 429,
            "timeout_error" => 504,
            "overloaded_error" => 529,
            _ => 500,
        };
        let message = match self.message {
            Some(message) if !message.is_empty() => message,
            _ if kind.is_empty() => "the Anthropic upstream reported an error".to_owned(),
            _ => format!("the Anthropic upstream reported `{kind}`"),
        };
        ApiError::upstream(status, message)
    }
}

/// A 502 for an upstream body or event the gateway cannot read: the client
/// did nothing wrong, so the 400 that `parse_json` produces would mislead.
pub(super) fn unreadable(what: &str, cause: impl std::fmt::Display) -> ApiError {
    ApiError {
        status: 502,
        kind: ErrorKind::Api,
        message: format!("the Anthropic upstream sent {what} the gateway cannot read: {cause}"),
    }
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(rename = "type")]
    kind: Option<String>,
    model: Option<String>,
    content: Option<TextOrBlocks<WireBlock>>,
    stop_reason: Option<String>,
    usage: Option<WireUsage>,
    error: Option<WireError>,
}

/// What a relayed answer is read for: its usage, and whether it is an error.
#[derive(Deserialize)]
struct WireUsageOnly {
    #[serde(rename = "type")]
    kind: Option<String>,
    usage: Option<WireUsage>,
    error: Option<WireError>,
}

/// The usage of an upstream's non-streamed Message, read without decoding
/// the rest (a relayed answer is passed on as it is).
pub fn decode_usage(body: &[u8]) -> Result<Usage, ApiError> {
    let wire: WireUsageOnly = serde_json::from_slice(body).map_err(|err| unreadable("a response", err))?;
    if wire.kind.as_deref() == Some("error") {
        return Err(wire.error.unwrap_or_default().into_api_error());
    }
    Ok(wire.usage.unwrap_or_default().to_model())
}

/// Decodes an upstream's non-streamed Message (or its error body).
pub fn decode_response(body: &[u8], _meta: &ResponseMeta) -> Result<ChatResponse, ApiError> {
    let wire: WireResponse = parse_json(body).map_err(|err| unreadable("a response", err.message))?;
    if wire.kind.as_deref() == Some("error") {
        return Err(wire.error.unwrap_or_default().into_api_error());
    }
    let mut content = Vec::new();
    match wire.content {
        Some(TextOrBlocks::Blocks(blocks)) => {
            for block in blocks {
                block_parts(block, &mut content);
            }
        }
        Some(TextOrBlocks::Text(text)) => content.push(Part::Text(text)),
        None => {}
    }
    Ok(ChatResponse {
        model: wire.model.unwrap_or_default(),
        content,
        // Non-streamed responses always name a reason; a missing one is a
        // compatible server's way of saying the turn simply ended.
        finish_reason: wire.stop_reason.as_deref().map_or(FinishReason::Stop, finish_from_wire),
        usage: wire.usage.unwrap_or_default().to_model(),
    })
}

/// Encodes a response for an Anthropic client.
///
/// Parts a Message cannot hold are dropped: images (Claude returns none) and
/// tool results (clients send those, models do not). Reasoning without a
/// signature (from another protocol) is shown as a thinking block with an
/// empty signature, which this codec drops again if the client replays it.
/// `stop_sequence` is null because the model does not record which sequence
/// matched.
pub fn encode_response(response: &ChatResponse, meta: &ResponseMeta) -> Value {
    let content: Vec<Value> = response
        .content
        .iter()
        .filter_map(|part| match part {
            Part::Text(text) if !text.is_empty() => Some(json!({"type": "text", "text": text})),
            Part::ToolCall(call) => Some(json!({
                "type": "tool_use",
                "id": call.id,
                "name": call.name,
                "input": arguments_object(&call.arguments),
            })),
            Part::Reasoning(reasoning) => match (&reasoning.signature, &reasoning.redacted) {
                (None, Some(data)) => Some(json!({"type": "redacted_thinking", "data": data})),
                (None, None) if reasoning.text.is_empty() => None,
                (signature, _) => Some(json!({
                    "type": "thinking",
                    "thinking": reasoning.text,
                    "signature": signature.as_deref().unwrap_or(""),
                })),
            },
            _ => None,
        })
        .collect();
    json!({
        "id": format!("msg_{}", meta.id),
        "type": "message",
        "role": "assistant",
        "model": meta.model,
        "content": content,
        "stop_reason": finish_to_wire(&response.finish_reason),
        "stop_sequence": null,
        "usage": usage_json(&response.usage),
    })
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
