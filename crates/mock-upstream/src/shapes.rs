//! A [`Canned`] answer in each provider's real wire format: the complete
//! body, the stream's frames (SSE, or Gemini's JSON array), error bodies and
//! mid-stream errors in the provider's shape.
//!
//! Shapes follow the providers' API references and the captures under
//! switchyard's `tests/fixtures/`: OpenAI chunks with `usage: null` until a
//! last `choices: []` usage chunk; Anthropic `message_start` …
//! `message_stop` with a `ping` and an empty first `input_json_delta`;
//! Gemini chunks framed with CRLF, a function call whole in one part and
//! without an id.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::canned::{ANSWER, Canned, Finish, Provider, Usage};

/// The id each provider gives the `n`th canned call (Gemini gives none).
pub fn call_id(provider: Provider, n: usize) -> Option<&'static str> {
    let ids = match provider {
        Provider::OpenAi => ["call_Wx8XkqG8dS0mZb1JvQ3hT2aN", "call_7ZbH0GgqFwxkS5EJ2Yf0cT3d"],
        Provider::Anthropic => ["toolu_01A09q90qw90lq917835lq9", "toolu_01NRLabsLyVHZPKxbKvkfSMn"],
        _ => return None,
    };
    Some(ids[n])
}

/// How a request asked to be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// One complete body.
    Complete,
    /// Server-sent events; `usage` is OpenAI's `stream_options.include_usage`.
    Sse {
        /// Whether usage comes with the stream.
        usage: bool,
    },
    /// Gemini's `streamGenerateContent` without `alt=sse`.
    Array,
}

/// The content type of a stream of this kind.
pub fn content_type(wanted: Wanted) -> &'static str {
    match wanted {
        Wanted::Array => "application/json; charset=UTF-8",
        _ => "text/event-stream",
    }
}

/// The frames (or array elements) as wire bytes; with `split`, each is cut
/// in two in the middle, inside a UTF-8 sequence if one is there.
pub fn wire_chunks(frames: &[String], wanted: Wanted, split: bool) -> Vec<Bytes> {
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    for (n, frame) in frames.iter().enumerate() {
        let mut bytes = Vec::new();
        if wanted == Wanted::Array {
            bytes.extend_from_slice(if n == 0 { b"[" } else { b",\r\n" });
        }
        bytes.extend_from_slice(frame.as_bytes());
        if wanted == Wanted::Array && n + 1 == frames.len() {
            bytes.extend_from_slice(b"]");
        }
        if split && bytes.len() > 1 {
            let second = bytes.split_off(bytes.len() / 2);
            pieces.push(bytes);
            pieces.push(second);
        } else {
            pieces.push(bytes);
        }
    }
    pieces.into_iter().map(Bytes::from).collect()
}

/// One SSE frame of `data`, framed as the provider frames it.
pub fn sse_frame(provider: Provider, event: Option<&str>, data: &Value) -> String {
    match (provider, event) {
        (Provider::Gemini, _) => format!("data: {data}\r\n\r\n"),
        (_, Some(event)) => format!("event: {event}\ndata: {data}\n\n"),
        (_, None) => format!("data: {data}\n\n"),
    }
}
// ---------------------------------------------------------------------------
// Complete answers
// ---------------------------------------------------------------------------

/// The canned answer as the provider's complete response body.
pub fn complete_body(provider: Provider, canned: &Canned, model: &str) -> Value {
    let text = canned.joined_text();
    match provider {
        Provider::OpenAi => {
            let mut message = json!({
                "role": "assistant",
                "content": if text.is_empty() { Value::Null } else { json!(text) },
                "refusal": null,
                "annotations": []
            });
            if !canned.calls.is_empty() {
                let calls: Vec<Value> = canned
                    .calls
                    .iter()
                    .enumerate()
                    .map(|(n, call)| {
                        json!({
                            "id": call_id(provider, n),
                            "type": "function",
                            "function": {"name": call.name, "arguments": call.arguments()}
                        })
                    })
                    .collect();
                message["tool_calls"] = json!(calls);
            }
            json!({
                "id": "chatcmpl-C4xTq5mR2vYdG8kPz1aWbNcE3fHj",
                "object": "chat.completion",
                "created": 1755000000,
                "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": openai_reason(&canned.finish)}],
                "usage": openai_usage(&canned.usage),
                "service_tier": "default",
                "system_fingerprint": "fp_6f2eabb9a5"
            })
        }
        Provider::Anthropic => {
            let mut content = Vec::new();
            if !text.is_empty() {
                content.push(json!({"type": "text", "text": text}));
            }
            for (n, call) in canned.calls.iter().enumerate() {
                let input: Value = serde_json::from_str(&call.arguments()).unwrap();
                content
                    .push(json!({"type": "tool_use", "id": call_id(provider, n), "name": call.name, "input": input}));
            }
            json!({
                "id": "msg_019Q1hrJbZG26Fb9BQhrkHEr",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": anthropic_reason(&canned.finish),
                "stop_sequence": if canned.finish == Finish::StopSequence { json!("END") } else { Value::Null },
                "usage": anthropic_usage(&canned.usage, false)
            })
        }
        _ => {
            let mut parts = Vec::new();
            if !text.is_empty() {
                parts.push(json!({"text": text}));
            }
            for call in &canned.calls {
                let args: Value = serde_json::from_str(&call.arguments()).unwrap();
                parts.push(json!({"functionCall": {"name": call.name, "args": args}}));
            }
            json!({
                "candidates": [{
                    "content": {"parts": parts, "role": "model"},
                    "finishReason": gemini_reason(&canned.finish),
                    "index": 0
                }],
                "usageMetadata": gemini_usage(&canned.usage, true),
                "modelVersion": model,
                "responseId": "WnHEaNPkE8Gq1MkPkb3b-AU"
            })
        }
    }
}

/// OpenAI's `finish_reason` for `finish`.
pub fn openai_reason(finish: &Finish) -> &'static str {
    match finish {
        Finish::Length => "length",
        Finish::ToolCalls => "tool_calls",
        Finish::ContentFilter => "content_filter",
        _ => "stop",
    }
}

fn anthropic_reason(finish: &Finish) -> &'static str {
    match finish {
        Finish::StopSequence => "stop_sequence",
        Finish::Length => "max_tokens",
        Finish::ToolCalls => "tool_use",
        Finish::ContentFilter => "refusal",
        _ => "end_turn",
    }
}

fn gemini_reason(finish: &Finish) -> &'static str {
    match finish {
        Finish::Length => "MAX_TOKENS",
        Finish::ContentFilter => "SAFETY",
        _ => "STOP",
    }
}

/// OpenAI's `usage` object.
pub fn openai_usage(usage: &Usage) -> Value {
    json!({
        "prompt_tokens": usage.input,
        "completion_tokens": usage.output,
        "total_tokens": usage.input + usage.output,
        "prompt_tokens_details": {"cached_tokens": usage.cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    })
}

/// Anthropic counts cache reads apart from `input_tokens`; a stream's
/// `message_start` reports one output token so far.
fn anthropic_usage(usage: &Usage, start: bool) -> Value {
    json!({
        "input_tokens": usage.input - usage.cached,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": usage.cached,
        "output_tokens": if start { 1 } else { usage.output },
        "service_tier": "standard"
    })
}

/// Gemini reports the prompt on every chunk and the output on the last.
pub fn gemini_usage(usage: &Usage, last: bool) -> Value {
    if last {
        json!({
            "promptTokenCount": usage.input,
            "candidatesTokenCount": usage.output,
            "totalTokenCount": usage.input + usage.output,
            "cachedContentTokenCount": usage.cached,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": usage.input}]
        })
    } else {
        json!({"promptTokenCount": usage.input, "totalTokenCount": usage.input})
    }
}

// ---------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------

/// The canned answer as the provider's stream frames (array elements for
/// [`Wanted::Array`]).
pub fn frames(provider: Provider, canned: &Canned, model: &str, wanted: Wanted) -> Vec<String> {
    match provider {
        Provider::OpenAi => openai_frames(canned, model, wanted == Wanted::Sse { usage: true }),
        Provider::Anthropic => anthropic_frames(canned, model),
        _ => gemini_chunks(canned, model)
            .iter()
            .map(|chunk| match wanted {
                Wanted::Array => chunk.to_string(),
                _ => sse_frame(provider, None, chunk),
            })
            .collect(),
    }
}

/// One OpenAI chunk holding `delta` (and a finish reason).
pub fn openai_chunk(model: &str, delta: Value, finish: Option<&str>, usage: bool) -> Value {
    let mut chunk = json!({
        "id": "chatcmpl-C4xTq5mR2vYdG8kPz1aWbNcE3fHj",
        "object": "chat.completion.chunk",
        "created": 1755000000,
        "model": model,
        "service_tier": "default",
        "system_fingerprint": "fp_6f2eabb9a5",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        "obfuscation": "x7Qa"
    });
    if usage {
        chunk["usage"] = Value::Null;
    }
    chunk
}

fn openai_frames(canned: &Canned, model: &str, usage: bool) -> Vec<String> {
    let frame = |chunk: Value| sse_frame(Provider::OpenAi, None, &chunk);
    let mut frames = vec![frame(openai_chunk(
        model,
        json!({"role": "assistant", "content": "", "refusal": null}),
        None,
        usage,
    ))];
    for piece in &canned.text {
        frames.push(frame(openai_chunk(model, json!({"content": piece}), None, usage)));
    }
    for (n, call) in canned.calls.iter().enumerate() {
        frames.push(frame(openai_chunk(
            model,
            json!({"tool_calls": [{"index": n, "id": call_id(Provider::OpenAi, n), "type": "function", "function": {"name": call.name, "arguments": ""}}]}),
            None,
            usage,
        )));
        for fragment in &call.fragments {
            frames.push(frame(openai_chunk(
                model,
                json!({"tool_calls": [{"index": n, "function": {"arguments": fragment}}]}),
                None,
                usage,
            )));
        }
    }
    frames.push(frame(openai_chunk(
        model,
        json!({}),
        Some(openai_reason(&canned.finish)),
        usage,
    )));
    if usage {
        let mut last = openai_chunk(model, json!({}), None, true);
        last["choices"] = json!([]);
        last["usage"] = openai_usage(&canned.usage);
        frames.push(frame(last));
    }
    frames.push("data: [DONE]\n\n".to_string());
    frames
}

/// One Anthropic event.
pub fn anthropic_event(data: Value) -> String {
    let name = data["type"].as_str().unwrap().to_string();
    sse_frame(Provider::Anthropic, Some(&name), &data)
}

fn anthropic_frames(canned: &Canned, model: &str) -> Vec<String> {
    let mut frames = vec![
        anthropic_event(json!({
            "type": "message_start",
            "message": {
                "id": "msg_019Q1hrJbZG26Fb9BQhrkHEr", "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": anthropic_usage(&canned.usage, true)
            }
        })),
        "event: ping\ndata: {\"type\": \"ping\"}\n\n".to_string(),
    ];
    let mut index = 0;
    if !canned.text.is_empty() {
        frames.push(anthropic_event(
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        ));
        for piece in &canned.text {
            frames.push(anthropic_event(
                json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}),
            ));
        }
        frames.push(anthropic_event(json!({"type": "content_block_stop", "index": index})));
        index += 1;
    }
    for (n, call) in canned.calls.iter().enumerate() {
        frames.push(anthropic_event(json!({
            "type": "content_block_start", "index": index,
            "content_block": {"type": "tool_use", "id": call_id(Provider::Anthropic, n), "name": call.name, "input": {}}
        })));
        for fragment in std::iter::once("").chain(call.fragments.iter().map(String::as_str)) {
            frames.push(anthropic_event(json!({
                "type": "content_block_delta", "index": index,
                "delta": {"type": "input_json_delta", "partial_json": fragment}
            })));
        }
        frames.push(anthropic_event(json!({"type": "content_block_stop", "index": index})));
        index += 1;
    }
    frames.push(anthropic_event(json!({
        "type": "message_delta",
        "delta": {
            "stop_reason": anthropic_reason(&canned.finish),
            "stop_sequence": if canned.finish == Finish::StopSequence { json!("END") } else { Value::Null }
        },
        "usage": {"output_tokens": canned.usage.output}
    })));
    frames.push(anthropic_event(json!({"type": "message_stop"})));
    frames
}

/// One Gemini chunk of `parts`.
pub fn gemini_chunk(model: &str, parts: Value, finish: Option<&str>, usage: Value) -> Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if let Some(finish) = finish {
        candidate["finishReason"] = json!(finish);
    }
    json!({
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": "WnHEaNPkE8Gq1MkPkb3b-AU"
    })
}

fn gemini_chunks(canned: &Canned, model: &str) -> Vec<Value> {
    let mut chunks: Vec<Value> = canned
        .text
        .iter()
        .map(|piece| {
            gemini_chunk(
                model,
                json!([{"text": piece}]),
                None,
                gemini_usage(&canned.usage, false),
            )
        })
        .collect();
    // Gemini sends a turn's calls whole, together in one chunk.
    if !canned.calls.is_empty() {
        let parts: Vec<Value> = canned
            .calls
            .iter()
            .map(|call| {
                let args: Value = serde_json::from_str(&call.arguments()).unwrap();
                json!({"functionCall": {"name": call.name, "args": args}})
            })
            .collect();
        chunks.push(gemini_chunk(
            model,
            json!(parts),
            None,
            gemini_usage(&canned.usage, false),
        ));
    }
    // The last chunk carries the finish reason and the final counts, with an empty text part.
    chunks.push(gemini_chunk(
        model,
        json!([{"text": ""}]),
        Some(gemini_reason(&canned.finish)),
        gemini_usage(&canned.usage, true),
    ));
    chunks
}

/// A mid-stream error in the provider's own stream format.
pub fn error_frame(provider: Provider) -> String {
    match provider {
        Provider::OpenAi => sse_frame(
            provider,
            None,
            &json!({"error": {"message": "The server had an error while processing your request. Sorry about that!", "type": "server_error", "param": null, "code": null}}),
        ),
        Provider::Anthropic => {
            anthropic_event(json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
        }
        _ => sse_frame(
            provider,
            None,
            &json!({"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}),
        ),
    }
}

/// The message of [`error_frame`].
pub fn error_frame_message(provider: Provider) -> &'static str {
    match provider {
        Provider::OpenAi => "The server had an error while processing your request. Sorry about that!",
        Provider::Anthropic => "Overloaded",
        _ => "The model is overloaded. Please try again later.",
    }
}

/// An HTTP error body in the provider's shape, carrying `message`.
pub fn error_body(provider: Provider, status: u16, message: &str) -> Value {
    match provider {
        Provider::OpenAi => {
            let (kind, code) = match status {
                401 => ("invalid_request_error", json!("invalid_api_key")),
                403 => ("invalid_request_error", json!("unsupported_country_region_territory")),
                404 => ("invalid_request_error", json!("model_not_found")),
                429 => ("requests", json!("rate_limit_exceeded")),
                _ => ("server_error", Value::Null),
            };
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        }
        Provider::Anthropic => {
            let kind = match status {
                401 => "authentication_error",
                403 => "permission_error",
                404 => "not_found_error",
                429 => "rate_limit_error",
                529 | 503 => "overloaded_error",
                _ => "api_error",
            };
            json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"})
        }
        _ => {
            let name = match status {
                400 => "INVALID_ARGUMENT",
                401 => "UNAUTHENTICATED",
                403 => "PERMISSION_DENIED",
                404 => "NOT_FOUND",
                429 => "RESOURCE_EXHAUSTED",
                503 => "UNAVAILABLE",
                _ => "INTERNAL",
            };
            json!({"error": {"code": status, "message": message, "status": name}})
        }
    }
}

/// The base URL an account of `provider` is configured with for `mock_url`
/// (OpenAI's includes `/v1`).
pub fn base_url(provider: Provider, mock_url: &str) -> String {
    match provider {
        Provider::OpenAi => format!("{mock_url}/v1"),
        _ => mock_url.to_string(),
    }
}

/// `provider`'s stream for `model` up to its first text piece (`ANSWER[0]`).
pub fn first_frames(provider: Provider, model: &str) -> Vec<String> {
    let frames = frames(
        provider,
        &Canned::text(Finish::Stop),
        model,
        Wanted::Sse { usage: true },
    );
    let end = frames.iter().position(|f| f.contains(ANSWER[0])).unwrap();
    frames[..=end].to_vec()
}
