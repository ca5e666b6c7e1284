//! Non-streamed `chat.completion` responses, and the pieces (usage, finish
//! reasons, upstream errors) that the stream codec shares with them.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use super::content::{WireContent, WireToolCall, decode_parts, non_empty_arguments, tool_call_from_wire};
use crate::protocol::model::{ChatResponse, FinishReason, Part, Reasoning, ResponseMeta, Usage};
use crate::protocol::{ApiError, parse_json};

#[derive(Deserialize)]
struct WireResponse {
    model: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    choices: Vec<WireChoice>,
    usage: Option<Value>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct WireChoice {
    index: Option<u64>,
    message: Option<WireResponseMessage>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireResponseMessage {
    content: Option<WireContent>,
    reasoning_content: Option<Value>,
    reasoning: Option<Value>,
    refusal: Option<String>,
    tool_calls: Option<Vec<WireToolCall>>,
}

/// Reads `null` as the default: some servers (vLLM) send `"choices": null`.
pub(super) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// What a relayed answer is read for: its usage, and whether it is an
/// error in a 200's clothing.
#[derive(Deserialize)]
struct WireUsageOnly {
    usage: Option<Value>,
    error: Option<Value>,
}

/// The usage of an upstream's `chat.completion` body, read without
/// decoding the rest (a relayed answer is passed on as it is).
pub fn decode_usage(body: &[u8]) -> Result<Usage, ApiError> {
    let wire: WireUsageOnly = serde_json::from_slice(body)
        .map_err(|err| ApiError::upstream(502, format!("the upstream's chat completion could not be read: {err}")))?;
    if let Some(error) = wire.error.as_ref().filter(|e| !e.is_null()) {
        return Err(error_from_value(error));
    }
    Ok(wire.usage.as_ref().map(usage_from_value).unwrap_or_default())
}

/// Decodes an upstream's `chat.completion` body.
pub fn decode_response(body: &[u8], meta: &ResponseMeta) -> Result<ChatResponse, ApiError> {
    let wire: WireResponse = parse_json(body).map_err(|err| {
        ApiError::upstream(
            502,
            format!("the upstream's chat completion could not be read: {}", err.message),
        )
    })?;
    // Some compatible servers answer 200 with an error body.
    if let Some(error) = wire.error.as_ref().filter(|e| !e.is_null()) {
        return Err(error_from_value(error));
    }
    let choice = wire
        .choices
        .into_iter()
        .find(|c| c.index.unwrap_or(0) == 0)
        .ok_or_else(|| ApiError::upstream(502, "the upstream's chat completion has no choices"))?;

    let mut content = Vec::new();
    if let Some(message) = choice.message {
        let reasoning = [&message.reasoning_content, &message.reasoning]
            .into_iter()
            .find_map(|field| field.as_ref().and_then(Value::as_str).filter(|text| !text.is_empty()));
        if let Some(text) = reasoning {
            content.push(Part::Reasoning(Reasoning {
                text: text.to_owned(),
                signature: None,
                redacted: None,
            }));
        }
        if let Some(wire) = message.content {
            let parts =
                decode_parts(wire, "choices[0].message.content").map_err(|err| ApiError::upstream(502, err.message))?;
            content.extend(
                parts
                    .into_iter()
                    .filter(|p| !matches!(p, Part::Text(t) if t.is_empty())),
            );
        }
        if let Some(refusal) = message.refusal.filter(|r| !r.is_empty()) {
            content.push(Part::Text(refusal));
        }
        for (n, call) in message.tool_calls.unwrap_or_default().into_iter().enumerate() {
            let id = call
                .id
                .clone()
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| meta.tool_call_id(n));
            let call = tool_call_from_wire(call, id, &format!("choices[0].message.tool_calls[{n}]"))
                .map_err(|err| ApiError::upstream(502, err.message))?;
            content.push(Part::ToolCall(call));
        }
    }
    let has_calls = content.iter().any(|p| matches!(p, Part::ToolCall(_)));
    Ok(ChatResponse {
        model: wire
            .model
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| meta.model.clone()),
        content,
        finish_reason: decode_finish_reason(choice.finish_reason.as_deref(), has_calls),
        usage: wire.usage.as_ref().map(usage_from_value).unwrap_or_default(),
    })
}

/// Maps a wire finish reason. Some compatible servers say `stop` after tool
/// calls; the calls are what the client must act on, so they win.
pub(super) fn decode_finish_reason(reason: Option<&str>, has_tool_calls: bool) -> FinishReason {
    let reason = match reason {
        None | Some("stop") | Some("") => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some("tool_calls") | Some("function_call") => FinishReason::ToolCalls,
        Some("content_filter") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_owned()),
    };
    if has_tool_calls && reason == FinishReason::Stop {
        FinishReason::ToolCalls
    } else {
        reason
    }
}

/// The wire name of a finish reason, for a turn that did or did not call tools.
pub(super) fn finish_reason_name(reason: &FinishReason, has_tool_calls: bool) -> &str {
    match reason {
        // Other protocols end a tool-calling turn with a plain stop (Gemini's
        // STOP); OpenAI clients look for `tool_calls`.
        FinishReason::Stop | FinishReason::StopSequence if has_tool_calls => "tool_calls",
        FinishReason::Stop | FinishReason::StopSequence => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::Other(name) => match name.as_str() {
            "stop" | "length" | "tool_calls" | "content_filter" | "function_call" => name,
            _ if has_tool_calls => "tool_calls",
            _ => "stop",
        },
    }
}

/// Reads a `usage` object leniently: every count is optional, and a count
/// of the wrong type reads as zero rather than failing the response.
pub(super) fn usage_from_value(usage: &Value) -> Usage {
    merge_usage(Usage::default(), usage)
}

/// Reads a `usage` object over `base`: counts it leaves out keep their value
/// in `base`, so a server that reports usage piecemeal still yields a full
/// snapshot.
pub(super) fn merge_usage(base: Usage, usage: &Value) -> Usage {
    // Member lookups rather than JSON pointers: a pointer is split and
    // unescaped into new strings on every call, and this runs on every answer.
    let count = |path: &[&str]| {
        path.iter()
            .try_fold(usage, |value, member| value.get(member))
            .and_then(count_of)
    };
    let input = count(&["prompt_tokens"]).unwrap_or(base.input_tokens);
    let output = count(&["completion_tokens"])
        .or_else(|| count(&["total_tokens"]).map(|total| total.saturating_sub(input)))
        .unwrap_or(base.output_tokens);
    Usage {
        input_tokens: input,
        output_tokens: output,
        // DeepSeek reports cache hits beside the counts instead of in details.
        cached_input_tokens: count(&["prompt_tokens_details", "cached_tokens"])
            .or_else(|| count(&["prompt_cache_hit_tokens"]))
            .unwrap_or(base.cached_input_tokens),
        cache_creation_input_tokens: count(&["prompt_tokens_details", "cache_write_tokens"])
            .unwrap_or(base.cache_creation_input_tokens),
        reasoning_tokens: count(&["completion_tokens_details", "reasoning_tokens"]).unwrap_or(base.reasoning_tokens),
    }
}

fn count_of(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64))
}

/// The `usage` object OpenAI clients read.
pub(super) fn usage_to_value(usage: &Usage) -> Value {
    let mut prompt_details = Map::new();
    prompt_details.insert("cached_tokens".into(), json!(usage.cached_input_tokens));
    if usage.cache_creation_input_tokens > 0 {
        prompt_details.insert("cache_write_tokens".into(), json!(usage.cache_creation_input_tokens));
    }
    json!({
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens.saturating_add(usage.output_tokens),
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    })
}

/// An upstream's `error` object (in a 200 body or a stream chunk) as an
/// [`ApiError`], keeping its message and inferring the status.
pub(super) fn error_from_value(error: &Value) -> ApiError {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| error.as_str())
        .filter(|m| !m.is_empty())
        .unwrap_or("the upstream reported an error without a message");
    let numeric = ["code", "status"]
        .iter()
        .filter_map(|key| error.get(*key).and_then(Value::as_u64))
        .find(|status| (400..=599).contains(status));
    let text = |key: &str| error.get(key).and_then(Value::as_str).unwrap_or_default();
    let status = numeric
        .map(|s| s as u16)
        .unwrap_or_else(|| match (text("type"), text("code")) {
            (_, "rate_limit_exceeded" | "insufficient_quota") | ("rate_limit_error", _) => 429,
            ("invalid_request_error", _) => 400,
            ("authentication_error", _) | (_, "invalid_api_key") => 401,
            ("permission_error", _) => 403,
            ("not_found_error", _) => 404,
            ("overloaded_error", _) => 503,
            _ => 500,
        });
    ApiError::upstream(status, message)
}

/// Encodes a response for an OpenAI client.
pub fn encode_response(response: &ChatResponse, meta: &ResponseMeta) -> Value {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for part in &response.content {
        match part {
            // Joined without separators, as a streaming client would see them.
            Part::Text(t) => text.push_str(t),
            Part::Reasoning(r) => reasoning.push_str(&r.text),
            Part::ToolCall(call) => {
                let id = if call.id.is_empty() {
                    meta.tool_call_id(calls.len())
                } else {
                    call.id.clone()
                };
                calls.push(json!({
                    "id": id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": non_empty_arguments(&call.arguments)},
                }));
            }
            // Chat Completions has no place for generated media or tool results.
            Part::Image(_) | Part::ToolResult(_) => {}
        }
    }
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    let content = if text.is_empty() && !calls.is_empty() {
        Value::Null
    } else {
        Value::String(text)
    };
    message.insert("content".into(), content);
    message.insert("refusal".into(), Value::Null);
    if !reasoning.is_empty() {
        message.insert("reasoning_content".into(), Value::String(reasoning));
    }
    let finish = finish_reason_name(&response.finish_reason, !calls.is_empty());
    if !calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(calls));
    }
    json!({
        "id": format!("chatcmpl-{}", meta.id),
        "object": "chat.completion",
        "created": meta.created,
        "model": meta.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish,
        }],
        "usage": usage_to_value(&response.usage),
    })
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
