//! The Response object, non-streamed, and the pieces the stream codec
//! shares with it: output items, usage, status and error shapes.
//!
//! Field names and defaults follow openai-python's `Response` type and a
//! Response captured from the live API (its snapshot tests): echoed request
//! fields carry the API's defaults when the client set none.

use serde::Deserialize;
use serde_json::{Value, json};

use super::content::{encrypted_of, flat_name, item_id, parse_at, type_of};
use super::options::RequestOptions;
use super::request::{WireReasoningText, arguments_text, reasoning_of};
use crate::protocol::model::{ChatResponse, FinishReason, Part, ResponseMeta, ToolCall, Usage};
use crate::protocol::{ApiError, ErrorKind, parse_json};

/// The `status` of a Response, with what each status carries.
#[derive(Debug, Clone, Copy)]
pub(super) enum Status<'a> {
    /// Still streaming (`response.created`, `response.in_progress`).
    InProgress,
    /// Ended normally.
    Completed,
    /// Ended early; the reason is `max_output_tokens` or `content_filter`.
    Incomplete(&'static str),
    /// Failed with this error.
    Failed(&'a ApiError),
}

/// The status a finished turn reports: running out of tokens and being
/// filtered are "incomplete" in the Responses API, everything else completes.
pub(super) fn finished_status(reason: &FinishReason) -> Status<'static> {
    match reason {
        FinishReason::Length => Status::Incomplete("max_output_tokens"),
        FinishReason::ContentFilter => Status::Incomplete("content_filter"),
        _ => Status::Completed,
    }
}

/// Marks the last output item `incomplete` when the turn was cut short, as
/// the API marks the item a limit interrupted. Reasoning items carry no
/// status and stay as they are.
pub(super) fn mark_cut_short(output: &mut [Value], status: Status<'_>) {
    if let (Status::Incomplete(_), Some(last)) = (status, output.last_mut())
        && last.get("status").is_some()
    {
        last["status"] = json!("incomplete");
    }
}

/// A whole Response object.
pub(super) fn response_object(
    meta: &ResponseMeta,
    options: &RequestOptions,
    status: Status<'_>,
    output: &[Value],
    usage: Option<&Usage>,
) -> Value {
    let (status_name, error, incomplete) = match status {
        Status::InProgress => ("in_progress", Value::Null, Value::Null),
        Status::Completed => ("completed", Value::Null, Value::Null),
        Status::Incomplete(reason) => ("incomplete", Value::Null, json!({"reason": reason})),
        Status::Failed(error) => ("failed", error_object(error), Value::Null),
    };
    json!({
        "id": response_id(meta),
        "object": "response",
        "created_at": meta.created,
        "status": status_name,
        "background": false,
        // No clock in the codec: the gateway's timestamp is the best known.
        "completed_at": if status_name == "completed" { json!(meta.created) } else { Value::Null },
        "error": error,
        "incomplete_details": incomplete,
        "instructions": options.instructions,
        "max_output_tokens": options.max_output_tokens,
        "max_tool_calls": null,
        "model": meta.model,
        "output": output,
        "parallel_tool_calls": options.parallel_tool_calls,
        "previous_response_id": options.previous_response_id,
        "prompt_cache_key": options.prompt_cache_key,
        "reasoning": options.reasoning,
        "safety_identifier": null,
        "service_tier": "default",
        "store": options.store,
        "temperature": options.temperature.unwrap_or(1.0),
        "text": options.text,
        "tool_choice": options.tool_choice,
        "tools": options.tools,
        "top_logprobs": 0,
        "top_p": options.top_p.unwrap_or(1.0),
        "truncation": options.truncation,
        "usage": usage.map(usage_json),
        "user": options.user,
        "metadata": options.metadata,
    })
}

/// A Response's `error`: Codex retries every code but a few it knows
/// (`invalid_prompt` is final, `rate_limit_exceeded` waits as told,
/// `server_is_overloaded` backs off), so the kind picks the code.
pub(super) fn error_object(error: &ApiError) -> Value {
    let code = match error.kind {
        ErrorKind::RateLimited => "rate_limit_exceeded",
        ErrorKind::Overloaded => "server_is_overloaded",
        ErrorKind::InvalidRequest | ErrorKind::RequestTooLarge => "invalid_prompt",
        _ => "server_error",
    };
    json!({"code": code, "message": error.message})
}

/// The `usage` object; `input_tokens` includes cached tokens and
/// `output_tokens` reasoning tokens, as in the model.
pub(super) fn usage_json(usage: &Usage) -> Value {
    json!({
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cached_input_tokens,
            "cache_write_tokens": usage.cache_creation_input_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.input_tokens.saturating_add(usage.output_tokens),
    })
}

/// Reads a `usage` object leniently over `base`: counts it leaves out keep
/// their value, and a count of the wrong type reads as absent.
pub(super) fn merge_usage(base: Usage, usage: &Value) -> Usage {
    let count = |pointer: &str| usage.pointer(pointer).and_then(Value::as_u64);
    Usage {
        input_tokens: count("/input_tokens").unwrap_or(base.input_tokens),
        output_tokens: count("/output_tokens").unwrap_or(base.output_tokens),
        cached_input_tokens: count("/input_tokens_details/cached_tokens").unwrap_or(base.cached_input_tokens),
        cache_creation_input_tokens: count("/input_tokens_details/cache_write_tokens")
            .unwrap_or(base.cache_creation_input_tokens),
        reasoning_tokens: count("/output_tokens_details/reasoning_tokens").unwrap_or(base.reasoning_tokens),
    }
}

/// An `output_text` content part.
pub(super) fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text})
}

/// A message output item; `text` is `None` while it is in progress.
pub(super) fn message_item(id: &str, text: Option<&str>) -> Value {
    match text {
        None => json!({"id": id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}),
        Some(text) => json!({
            "id": id,
            "type": "message",
            "status": "completed",
            "content": [output_text(text)],
            "role": "assistant",
        }),
    }
}

/// A reasoning output item: its summary (empty while in progress or when
/// there is no readable text) and, when the client asked for it, the
/// encrypted content that carries its signature.
pub(super) fn reasoning_item(id: &str, text: &str, encrypted: Option<&str>) -> Value {
    let summary: Vec<Value> = if text.is_empty() {
        Vec::new()
    } else {
        vec![json!({"type": "summary_text", "text": text})]
    };
    let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
    if let Some(encrypted) = encrypted {
        item["encrypted_content"] = json!(encrypted);
    }
    item
}

/// What a function call item says about the call.
pub(super) struct CallItem<'a> {
    /// The item id (`fc_…`).
    pub id: &'a str,
    /// The call id the function call output will refer to.
    pub call_id: &'a str,
    /// The namespace of a namespaced function.
    pub namespace: Option<&'a str>,
    /// The function name as the client declared it.
    pub name: &'a str,
}

/// A function call output item; `arguments` is `None` while in progress.
pub(super) fn function_call_item(call: &CallItem<'_>, arguments: Option<&str>) -> Value {
    let (status, arguments) = match arguments {
        None => ("in_progress", ""),
        Some(arguments) => ("completed", arguments),
    };
    let mut item = json!({
        "id": call.id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call.call_id,
        "name": call.name,
    });
    if let Some(namespace) = call.namespace {
        item["namespace"] = json!(namespace);
    }
    item
}

/// Arguments as sent: clients parse them as JSON, and an empty string is not.
pub(super) fn non_empty_arguments(arguments: &str) -> &str {
    if arguments.trim().is_empty() { "{}" } else { arguments }
}

/// The id a Responses client sees for the answer to the call `meta`
/// describes (`resp_{token}`), and the key it is stored under.
pub fn response_id(meta: &ResponseMeta) -> String {
    format!("resp_{}", meta.id)
}

/// Encodes a complete turn as the Response object a Responses client reads.
pub fn encode_response(response: &ChatResponse, meta: &ResponseMeta, options: &RequestOptions) -> Value {
    let mut output = Vec::new();
    let mut calls = 0;
    for part in &response.content {
        match part {
            Part::Text(text) if !text.is_empty() => {
                output.push(message_item(&item_id("msg", &meta.id, output.len()), Some(text)));
            }
            Part::Reasoning(reasoning) => {
                let encrypted = encrypted_of(reasoning).filter(|_| options.include_encrypted_reasoning);
                // Nothing to show and nothing to replay: no item at all.
                if !reasoning.text.is_empty() || encrypted.is_some() {
                    let id = item_id("rs", &meta.id, output.len());
                    output.push(reasoning_item(&id, &reasoning.text, encrypted.as_deref()));
                }
            }
            Part::ToolCall(call) => {
                if let Some(signature) = call_signature(call, options) {
                    // A call's signature (Gemini) rides in a reasoning item
                    // just before it; see the module docs.
                    output.push(reasoning_item(
                        &item_id("rs", &meta.id, output.len()),
                        "",
                        Some(signature),
                    ));
                }
                let call_id = if call.id.is_empty() {
                    meta.tool_call_id(calls)
                } else {
                    call.id.clone()
                };
                calls += 1;
                let (namespace, name) = options.client_name(&call.name);
                let id = item_id("fc", &meta.id, output.len());
                let item = CallItem {
                    id: &id,
                    call_id: &call_id,
                    namespace,
                    name,
                };
                output.push(function_call_item(&item, Some(non_empty_arguments(&call.arguments))));
            }
            Part::Text(_) | Part::Image(_) | Part::ToolResult(_) => {}
        }
    }
    let status = finished_status(&response.finish_reason);
    mark_cut_short(&mut output, status);
    response_object(meta, options, status, &output, Some(&response.usage))
}

/// The signature of a call that the client should carry to the next turn.
pub(super) fn call_signature<'a>(call: &'a ToolCall, options: &RequestOptions) -> Option<&'a str> {
    call.signature
        .as_deref()
        .filter(|s| !s.is_empty() && options.include_encrypted_reasoning)
}

#[derive(Deserialize)]
struct WireResponse {
    model: Option<String>,
    status: Option<String>,
    output: Option<Vec<Value>>,
    usage: Option<Value>,
    error: Option<Value>,
    incomplete_details: Option<Value>,
}

#[derive(Deserialize)]
struct WireMessageItem {
    content: Vec<Value>,
}

#[derive(Deserialize)]
struct WireReasoningItem {
    summary: Option<Vec<WireReasoningText>>,
    content: Option<Vec<WireReasoningText>>,
    encrypted_content: Option<String>,
}

#[derive(Deserialize)]
struct WireCallItem {
    call_id: Option<String>,
    name: String,
    arguments: Option<Value>,
    namespace: Option<String>,
}

/// Decodes a Responses upstream's Response object.
pub fn decode_response(body: &[u8], meta: &ResponseMeta) -> Result<ChatResponse, ApiError> {
    let wire: WireResponse = parse_json(body).map_err(|err| unreadable(&err))?;
    if let Some(error) = wire.error.as_ref().filter(|e| !e.is_null()) {
        return Err(error_from_value(error));
    }
    if wire.status.as_deref() == Some("failed") {
        return Err(ApiError::upstream(
            502,
            "the upstream's response failed without an error",
        ));
    }
    let mut content = Vec::new();
    let mut calls = 0;
    for (i, item) in wire.output.unwrap_or_default().into_iter().enumerate() {
        decode_output_item(item, &format!("output[{i}]"), meta, &mut calls, &mut content)
            .map_err(|err| unreadable(&err))?;
    }
    let reason = wire
        .incomplete_details
        .as_ref()
        .and_then(|d| d.get("reason"))
        .and_then(Value::as_str);
    Ok(ChatResponse {
        model: wire
            .model
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| meta.model.clone()),
        content,
        finish_reason: finish_from_status(wire.status.as_deref(), reason, calls > 0),
        usage: wire
            .usage
            .as_ref()
            .map(|u| merge_usage(Usage::default(), u))
            .unwrap_or_default(),
    })
}

fn unreadable(err: &ApiError) -> ApiError {
    ApiError::upstream(
        502,
        format!("the upstream's response could not be read: {}", err.message),
    )
}

/// Adds one output item's parts; item types the model cannot carry (built-in
/// tool calls) are skipped.
fn decode_output_item(
    item: Value,
    path: &str,
    meta: &ResponseMeta,
    calls: &mut usize,
    content: &mut Vec<Part>,
) -> Result<(), ApiError> {
    match type_of(&item).unwrap_or("") {
        "message" => {
            let message: WireMessageItem = parse_at(item, path)?;
            for part in message.content {
                let text = match type_of(&part) {
                    Some("output_text") => part.get("text"),
                    Some("refusal") => part.get("refusal"),
                    _ => None,
                };
                if let Some(text) = text.and_then(Value::as_str).filter(|t| !t.is_empty()) {
                    content.push(Part::Text(text.to_owned()));
                }
            }
        }
        "reasoning" => {
            let wire: WireReasoningItem = parse_at(item, path)?;
            if let Some(reasoning) = reasoning_of(wire.summary, wire.content, wire.encrypted_content) {
                content.push(Part::Reasoning(reasoning));
            }
        }
        "function_call" => {
            let call: WireCallItem = parse_at(item, path)?;
            let id = call
                .call_id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| meta.tool_call_id(*calls));
            *calls += 1;
            content.push(Part::ToolCall(ToolCall {
                id,
                name: match &call.namespace {
                    Some(space) => flat_name(space, &call.name),
                    None => call.name,
                },
                arguments: arguments_text(call.arguments),
                signature: None,
            }));
        }
        _ => {}
    }
    Ok(())
}

/// The model's finish reason for a final status.
pub(super) fn finish_from_status(status: Option<&str>, incomplete: Option<&str>, has_calls: bool) -> FinishReason {
    match (status, incomplete) {
        (Some("incomplete"), Some("max_output_tokens")) => FinishReason::Length,
        (Some("incomplete"), Some("content_filter")) => FinishReason::ContentFilter,
        (Some("incomplete"), Some(other)) => FinishReason::Other(other.to_owned()),
        _ if has_calls => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    }
}

/// An upstream `error` object (a Response's, or an `error` event's) as an
/// [`ApiError`], with the status its code implies.
pub(super) fn error_from_value(error: &Value) -> ApiError {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or("the upstream reported an error without a message");
    let status = match error.get("code").and_then(Value::as_str).unwrap_or("") {
        "rate_limit_exceeded" | "insufficient_quota" => 429,
        "server_is_overloaded" | "slow_down" => 503,
        "invalid_prompt" | "context_length_exceeded" | "bio_policy" => 400,
        code if code.starts_with("invalid_") || code.starts_with("image_") => 400,
        _ => 500,
    };
    ApiError::upstream(status, message)
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
