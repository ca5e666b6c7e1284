//! Reading streamed answers, as strictly as each protocol's SDK does: the
//! event order, the block bookkeeping and the end marker are checked, and
//! fragmented tool-call arguments must reassemble to a JSON object.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::clients::{
    anthropic_finish, anthropic_usage, gemini_finish, gemini_parts, gemini_usage, openai_finish, openai_usage,
    parse_args,
};
use super::conversation::{Answer, Call, ClientError};
use super::sse_events;

/// An OpenAI chunk stream: a role chunk first, deltas, one finish reason, the
/// usage chunk, then `data: [DONE]` — or an error chunk that ends it.
pub(super) fn openai_stream(body: &str, context: &str) -> (Answer, Option<ClientError>) {
    let mut answer = Answer::default();
    // Tool calls by their stream index: (id, name, argument text).
    let mut calls: BTreeMap<u64, (String, String, String)> = BTreeMap::new();
    let mut id: Option<String> = None;
    let mut done = false;
    let mut error = None;
    for (n, (name, data)) in sse_events(body).into_iter().enumerate() {
        assert!(
            !done && error.is_none(),
            "event {n} after the end of the stream: {context}"
        );
        assert!(name.is_none(), "OpenAI streams name no events: {context}");
        if data == "[DONE]" {
            done = true;
            continue;
        }
        let chunk: Value =
            serde_json::from_str(&data).unwrap_or_else(|e| panic!("chunk {n} is not JSON ({e}): {context}"));
        if let Some(e) = chunk.get("error") {
            error = Some(ClientError {
                status: None,
                kind: e["type"].as_str().unwrap_or_default().to_string(),
                message: e["message"].as_str().expect("error message").to_string(),
            });
            continue;
        }
        assert_eq!(chunk["object"], "chat.completion.chunk", "chunk {n}: {context}");
        let chunk_id = chunk["id"].as_str().expect("chunk id").to_string();
        assert_eq!(
            id.get_or_insert(chunk_id.clone()),
            &chunk_id,
            "one id on every chunk: {context}"
        );
        answer.model = chunk["model"].as_str().map(str::to_string);
        let choices = chunk["choices"].as_array().expect("choices");
        if n == 0 {
            assert_eq!(
                choices[0]["delta"]["role"], "assistant",
                "the first chunk names the role: {context}"
            );
        }
        for choice in choices {
            assert_eq!(choice["index"], 0, "{context}");
            let delta = &choice["delta"];
            if let Some(text) = delta.get("content").and_then(Value::as_str) {
                answer.text.push_str(text);
            }
            for call in delta.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                let index = call["index"].as_u64().expect("tool call index");
                let fragment = call["function"]["arguments"].as_str().unwrap_or_default();
                match call.get("id").and_then(Value::as_str) {
                    Some(call_id) => {
                        assert_eq!(call["type"], "function", "{context}");
                        let name = call["function"]["name"]
                            .as_str()
                            .expect("a new call names its function");
                        let previous = calls.insert(index, (call_id.into(), name.into(), fragment.into()));
                        assert!(previous.is_none(), "tool call {index} started twice: {context}");
                    }
                    None => calls
                        .get_mut(&index)
                        .unwrap_or_else(|| panic!("arguments for tool call {index} before its start: {context}"))
                        .2
                        .push_str(fragment),
                }
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                assert!(answer.finish.is_none(), "a second finish reason: {context}");
                answer.finish = Some(openai_finish(reason));
            }
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            assert!(choices.is_empty(), "usage comes in a chunk of its own: {context}");
            answer.usage = Some(openai_usage(usage));
        }
    }
    if error.is_none() {
        assert!(done, "the stream did not end with [DONE]: {context}");
        assert!(answer.finish.is_some(), "the stream named no finish reason: {context}");
    }
    answer.calls = calls
        .into_values()
        .map(|(id, name, args)| Call {
            id: Some(id),
            name,
            args: parse_args(&args, context),
        })
        .collect();
    (answer, error)
}

/// The open block of an Anthropic stream: index, type, the tool call's
/// id and name, and its argument text so far.
type OpenBlock = (u64, String, Option<(String, String)>, String);

/// An Anthropic event stream: `message_start`, blocks opened, filled and
/// closed in index order, one `message_delta`, `message_stop` — or an
/// `error` event that ends it.
pub(super) fn anthropic_stream(body: &str, context: &str) -> (Answer, Option<ClientError>) {
    let mut answer = Answer::default();
    let mut open: Option<OpenBlock> = None;
    let mut next_index = 0;
    let mut start_usage = Value::Null;
    let mut delta_usage = Value::Null;
    let mut stopped = false;
    let mut delta_seen = false;
    let mut error = None;
    for (n, (name, data)) in sse_events(body).into_iter().enumerate() {
        assert!(
            !stopped && error.is_none(),
            "event {n} after the end of the stream: {context}"
        );
        let event: Value =
            serde_json::from_str(&data).unwrap_or_else(|e| panic!("event {n} is not JSON ({e}): {context}"));
        let kind = event["type"].as_str().expect("event type").to_string();
        assert_eq!(
            name.as_deref(),
            Some(kind.as_str()),
            "event name and data type agree: {context}"
        );
        assert!(
            n > 0 || kind == "message_start" || kind == "error",
            "the stream opens with message_start: {context}"
        );
        match kind.as_str() {
            "message_start" => {
                assert_eq!(n, 0, "{context}");
                answer.model = event["message"]["model"].as_str().map(str::to_string);
                start_usage = event["message"]["usage"].clone();
            }
            "ping" => {}
            "content_block_start" => {
                assert!(open.is_none(), "a block opened inside another: {context}");
                let index = event["index"].as_u64().expect("index");
                assert_eq!(index, next_index, "blocks are numbered in order: {context}");
                next_index += 1;
                let block = &event["content_block"];
                let block_type = block["type"].as_str().expect("block type").to_string();
                let call = match block_type.as_str() {
                    "text" => {
                        answer.text.push_str(block["text"].as_str().unwrap_or_default());
                        None
                    }
                    "tool_use" => {
                        assert_eq!(block["input"], json!({}), "{context}");
                        Some((
                            block["id"].as_str().expect("id").into(),
                            block["name"].as_str().expect("name").into(),
                        ))
                    }
                    "thinking" | "redacted_thinking" => None,
                    other => panic!("unexpected block type {other}: {context}"),
                };
                open = Some((index, block_type, call, String::new()));
            }
            "content_block_delta" => {
                let (index, block_type, _, arguments) = open.as_mut().expect("a delta outside any block");
                assert_eq!(event["index"], json!(*index), "a delta for another block: {context}");
                let delta = &event["delta"];
                match (delta["type"].as_str(), block_type.as_str()) {
                    (Some("text_delta"), "text") => answer.text.push_str(delta["text"].as_str().expect("text")),
                    (Some("input_json_delta"), "tool_use") => {
                        arguments.push_str(delta["partial_json"].as_str().expect("partial_json"))
                    }
                    (Some("thinking_delta" | "signature_delta"), "thinking") => {}
                    (delta_type, block_type) => panic!("a {delta_type:?} delta in a {block_type} block: {context}"),
                }
            }
            "content_block_stop" => {
                let (index, _, call, arguments) = open.take().expect("a stop outside any block");
                assert_eq!(event["index"], json!(index), "{context}");
                if let Some((id, name)) = call {
                    let args = if arguments.is_empty() {
                        json!({})
                    } else {
                        parse_args(&arguments, context)
                    };
                    answer.calls.push(Call {
                        id: Some(id),
                        name,
                        args,
                    });
                }
            }
            "message_delta" => {
                assert!(open.is_none(), "message_delta with a block open: {context}");
                assert!(!delta_seen, "a second message_delta: {context}");
                delta_seen = true;
                answer.finish = event["delta"]["stop_reason"].as_str().map(anthropic_finish);
                delta_usage = event["usage"].clone();
            }
            "message_stop" => {
                assert!(delta_seen, "message_stop without message_delta: {context}");
                stopped = true;
            }
            "error" => {
                error = Some(ClientError {
                    status: None,
                    kind: event["error"]["type"].as_str().expect("error type").to_string(),
                    message: event["error"]["message"].as_str().expect("error message").to_string(),
                });
            }
            other => panic!("unexpected event {other}: {context}"),
        }
    }
    if error.is_none() {
        assert!(stopped, "the stream did not end with message_stop: {context}");
    }
    // The SDK takes the counts of message_delta over those of message_start.
    if start_usage.is_object() || delta_usage.is_object() {
        let mut usage = start_usage.as_object().cloned().unwrap_or_default();
        for (key, value) in delta_usage.as_object().into_iter().flatten() {
            if !value.is_null() {
                usage.insert(key.clone(), value.clone());
            }
        }
        answer.usage = Some(anthropic_usage(&Value::Object(usage)));
    }
    (answer, error)
}

/// Gemini chunks: each a `GenerateContentResponse`, the finish reason on
/// the last; or an error object that ends the stream.
pub(super) fn gemini_chunks(chunks: Vec<Value>, context: &str) -> (Answer, Option<ClientError>) {
    let mut answer = Answer::default();
    let mut error = None;
    let mut finish: Option<String> = None;
    for (n, chunk) in chunks.into_iter().enumerate() {
        assert!(
            finish.is_none() && error.is_none(),
            "chunk {n} after the end of the stream: {context}"
        );
        if let Some(e) = chunk.get("error") {
            error = Some(ClientError {
                status: e["code"].as_u64().map(|c| c as u16),
                kind: e["status"].as_str().expect("error status").to_string(),
                message: e["message"].as_str().expect("error message").to_string(),
            });
            continue;
        }
        let candidates = chunk["candidates"].as_array().expect("candidates");
        assert_eq!(candidates.len(), 1, "{context}");
        gemini_parts(&candidates[0], &mut answer, context);
        finish = candidates[0]["finishReason"].as_str().map(str::to_string);
        if let Some(usage) = chunk.get("usageMetadata") {
            answer.usage = Some(gemini_usage(usage));
        }
        answer.model = chunk["modelVersion"].as_str().map(str::to_string);
    }
    if error.is_none() {
        assert!(finish.is_some(), "the last chunk names no finish reason: {context}");
    }
    answer.finish = finish.map(|reason| gemini_finish(&reason, !answer.calls.is_empty()));
    (answer, error)
}

/// A Responses API event stream: every event named by its type and
/// numbered in order, text deltas, then `response.completed`,
/// `.incomplete` or `.failed` (or an `error` event) that ends it.
pub(super) fn responses_stream(body: &str, context: &str) -> (Answer, Option<ClientError>) {
    let string = |value: &Value| {
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a string: {value}: {context}"))
            .to_string()
    };
    let mut answer = Answer::default();
    let mut error = None;
    let mut ended = false;
    let mut sequence = -1i64;
    for (name, data) in sse_events(body) {
        assert!(!ended, "an event after the stream's end: {context}");
        let event: Value = serde_json::from_str(&data).unwrap_or_else(|e| panic!("event is not JSON ({e}): {context}"));
        let kind = string(&event["type"]);
        assert_eq!(
            name.as_deref(),
            Some(kind.as_str()),
            "the event line names the type: {context}"
        );
        let number = event["sequence_number"].as_i64().expect("every event is numbered");
        assert_eq!(number, sequence + 1, "sequence numbers count up: {context}");
        sequence = number;
        match kind.as_str() {
            "response.output_text.delta" => answer.text.push_str(&string(&event["delta"])),
            "response.completed" | "response.incomplete" => ended = true,
            "response.failed" => {
                ended = true;
                let failure = &event["response"]["error"];
                error = Some(ClientError {
                    status: None,
                    kind: string(&failure["code"]),
                    message: string(&failure["message"]),
                });
            }
            "error" => {
                ended = true;
                error = Some(ClientError {
                    status: None,
                    kind: event["code"].as_str().unwrap_or("error").to_string(),
                    message: string(&event["message"]),
                });
            }
            _ => {}
        }
    }
    assert!(
        ended,
        "the stream ends with response.completed, .incomplete or .failed: {context}"
    );
    (answer, error)
}
