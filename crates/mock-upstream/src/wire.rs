//! The answers in each provider's wire format, complete or streamed, written
//! from templates so that a benchmark's upstream costs next to nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use http::StatusCode;

use crate::ask::{ANTHROPIC_SIGNATURE, Answer, Ask, MOCK_THOUGHT, THOUGHT_SIGNATURE};
use crate::reply::Reply;
use crate::respond::GeminiMode;

/// A rough token count: one per four bytes, at least one.
pub(crate) fn tokens(bytes: usize) -> u64 {
    (bytes as u64 / 4).max(1)
}

pub(crate) fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A JSON string literal.
pub(crate) fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

/// Splits `text` into at most `parts` pieces at character boundaries, each
/// piece but the last ending after a space where one is near.
pub(crate) fn split_text(text: &str, parts: usize) -> Vec<&str> {
    let target = text.len().div_ceil(parts.max(1)).max(1);
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if rest.len() <= target || pieces.len() + 1 == parts {
            pieces.push(rest);
            break;
        }
        let mut cut = target;
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        if let Some(space) = rest[..cut].rfind(' ').filter(|&s| s > 0) {
            cut = space + 1;
        }
        pieces.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    if pieces.is_empty() {
        pieces.push("");
    }
    pieces
}

/// Splits JSON arguments into fragments of about `size` bytes, as the real
/// APIs stream them (fragments are not valid JSON on their own).
pub(crate) fn split_fragments(text: &str, size: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = size.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        pieces.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    pieces
}

pub(crate) fn openai_complete(ask: &Ask, answer: &Answer, id: u64) -> Reply {
    let (message, finish) = match answer {
        Answer::Text(text) => (
            format!(
                r#"{{"role":"assistant","content":{},"refusal":null,"annotations":[]}}"#,
                quote(text)
            ),
            "stop",
        ),
        Answer::ToolCall { name, arguments } => (
            format!(
                r#"{{"role":"assistant","content":null,"refusal":null,"annotations":[],"tool_calls":[{{"id":"call_mock{id}","type":"function","function":{{"name":{},"arguments":{}}}}}]}}"#,
                quote(name),
                quote(arguments)
            ),
            "tool_calls",
        ),
    };
    let (prompt, completion) = (ask.prompt_tokens, tokens(answer.len()));
    Reply::json(
        StatusCode::OK,
        format!(
            r#"{{"id":"chatcmpl-mock{id}","object":"chat.completion","created":{},"model":{},"choices":[{{"index":0,"message":{message},"logprobs":null,"finish_reason":"{finish}"}}],"usage":{},"service_tier":"default","system_fingerprint":"fp_mock"}}"#,
            now(),
            quote(&ask.model),
            openai_usage(prompt, completion)
        ),
    )
}

pub(crate) fn openai_usage(prompt: u64, completion: u64) -> String {
    format!(
        r#"{{"prompt_tokens":{prompt},"completion_tokens":{completion},"total_tokens":{},"prompt_tokens_details":{{"cached_tokens":0,"audio_tokens":0}},"completion_tokens_details":{{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}}"#,
        prompt + completion
    )
}

pub(crate) fn openai_stream(ask: &Ask, answer: &Answer, id: u64) -> Reply {
    let head = format!(
        r#"data: {{"id":"chatcmpl-mock{id}","object":"chat.completion.chunk","created":{},"model":{},"service_tier":"default","system_fingerprint":"fp_mock","choices":[{{"index":0,"delta":"#,
        now(),
        quote(&ask.model)
    );
    // With include_usage every chunk carries `"usage":null` but the last.
    let tail = if ask.include_usage {
        "}],\"usage\":null}\n\n"
    } else {
        "}]}\n\n"
    };
    let chunk = |delta: &str, finish: &str| format!(r#"{head}{delta},"logprobs":null,"finish_reason":{finish}{tail}"#);
    let mut chunks = vec![chunk(r#"{"role":"assistant","content":"","refusal":null}"#, "null")];
    let finish = match answer {
        Answer::Text(text) => {
            for piece in split_text(text, ask.pieces) {
                chunks.push(chunk(&format!(r#"{{"content":{}}}"#, quote(piece)), "null"));
            }
            "\"stop\""
        }
        Answer::ToolCall { name, arguments } => {
            chunks.push(chunk(
                &format!(
                    r#"{{"tool_calls":[{{"index":0,"id":"call_mock{id}","type":"function","function":{{"name":{},"arguments":""}}}}]}}"#,
                    quote(name)
                ),
                "null",
            ));
            for fragment in split_fragments(arguments, 8) {
                chunks.push(chunk(
                    &format!(
                        r#"{{"tool_calls":[{{"index":0,"function":{{"arguments":{}}}}}]}}"#,
                        quote(fragment)
                    ),
                    "null",
                ));
            }
            "\"tool_calls\""
        }
    };
    chunks.push(chunk("{}", finish));
    if ask.include_usage {
        chunks.push(format!(
            r#"data: {{"id":"chatcmpl-mock{id}","object":"chat.completion.chunk","created":{},"model":{},"service_tier":"default","system_fingerprint":"fp_mock","choices":[],"usage":{}}}"#,
            now(),
            quote(&ask.model),
            openai_usage(ask.prompt_tokens, tokens(answer.len()))
        ) + "\n\n");
    }
    chunks.push("data: [DONE]\n\n".to_string());
    Reply::stream("text/event-stream", chunks)
}

pub(crate) fn anthropic_usage(input: u64, output: u64) -> String {
    format!(
        r#"{{"input_tokens":{input},"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":{output},"service_tier":"standard"}}"#
    )
}

pub(crate) fn anthropic_complete(ask: &Ask, answer: &Answer, id: u64) -> Reply {
    let (block, stop) = match answer {
        Answer::Text(text) => (format!(r#"{{"type":"text","text":{}}}"#, quote(text)), "end_turn"),
        Answer::ToolCall { name, arguments } => (
            format!(
                r#"{{"type":"tool_use","id":"toolu_mock{id}","name":{},"input":{arguments}}}"#,
                quote(name)
            ),
            "tool_use",
        ),
    };
    let content = if ask.thinking {
        format!(
            r#"[{{"type":"thinking","thinking":{},"signature":"{ANTHROPIC_SIGNATURE}"}},{block}]"#,
            quote(MOCK_THOUGHT)
        )
    } else {
        format!("[{block}]")
    };
    Reply::json(
        StatusCode::OK,
        format!(
            r#"{{"id":"msg_mock{id}","type":"message","role":"assistant","model":{},"content":{content},"stop_reason":"{stop}","stop_sequence":null,"usage":{}}}"#,
            quote(&ask.model),
            anthropic_usage(ask.prompt_tokens, tokens(answer.len()))
        ),
    )
}

pub(crate) fn anthropic_stream(ask: &Ask, answer: &Answer, id: u64) -> Reply {
    let event = |name: &str, data: String| format!("event: {name}\ndata: {data}\n\n");
    let mut chunks = vec![event(
        "message_start",
        format!(
            r#"{{"type":"message_start","message":{{"id":"msg_mock{id}","type":"message","role":"assistant","model":{},"content":[],"stop_reason":null,"stop_sequence":null,"usage":{}}}}}"#,
            quote(&ask.model),
            anthropic_usage(ask.prompt_tokens, 1)
        ),
    )];
    let delta = |data: String| event("content_block_delta", data);
    // A signed thinking block first, when thinking was asked for.
    let index = if ask.thinking {
        chunks.push(event(
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#
                .to_string(),
        ));
        chunks.push(delta(format!(
            r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"thinking_delta","thinking":{}}}}}"#,
            quote(MOCK_THOUGHT)
        )));
        chunks.push(delta(format!(
            r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"signature_delta","signature":"{ANTHROPIC_SIGNATURE}"}}}}"#
        )));
        chunks.push(event(
            "content_block_stop",
            r#"{"type":"content_block_stop","index":0}"#.to_string(),
        ));
        1
    } else {
        0
    };
    let stop = match answer {
        Answer::Text(text) => {
            chunks.push(event(
                "content_block_start",
                format!(
                    r#"{{"type":"content_block_start","index":{index},"content_block":{{"type":"text","text":""}}}}"#
                ),
            ));
            chunks.push(event("ping", r#"{"type": "ping"}"#.to_string()));
            for piece in split_text(text, ask.pieces) {
                chunks.push(delta(format!(
                    r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"text_delta","text":{}}}}}"#,
                    quote(piece)
                )));
            }
            "end_turn"
        }
        Answer::ToolCall { name, arguments } => {
            chunks.push(event(
                "content_block_start",
                format!(
                    r#"{{"type":"content_block_start","index":{index},"content_block":{{"type":"tool_use","id":"toolu_mock{id}","name":{},"input":{{}}}}}}"#,
                    quote(name)
                ),
            ));
            chunks.push(event("ping", r#"{"type": "ping"}"#.to_string()));
            for fragment in std::iter::once("").chain(split_fragments(arguments, 8)) {
                chunks.push(delta(format!(
                    r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"input_json_delta","partial_json":{}}}}}"#,
                    quote(fragment)
                )));
            }
            "tool_use"
        }
    };
    chunks.push(event(
        "content_block_stop",
        format!(r#"{{"type":"content_block_stop","index":{index}}}"#),
    ));
    chunks.push(event(
        "message_delta",
        format!(
            r#"{{"type":"message_delta","delta":{{"stop_reason":"{stop}","stop_sequence":null}},"usage":{{"output_tokens":{}}}}}"#,
            tokens(answer.len())
        ),
    ));
    chunks.push(event("message_stop", r#"{"type":"message_stop"}"#.to_string()));
    Reply::stream("text/event-stream", chunks)
}

pub(crate) fn gemini_reply(ask: &Ask, answer: &Answer, id: u64, mode: GeminiMode) -> Reply {
    let (prompt, completion) = (ask.prompt_tokens, tokens(answer.len()));
    let response = |parts: String, last: bool| {
        let finish = if last { r#","finishReason":"STOP""# } else { "" };
        // Only the last chunk counts the answer's tokens, as Gemini does.
        let usage = if last {
            format!(
                r#"{{"promptTokenCount":{prompt},"candidatesTokenCount":{completion},"totalTokenCount":{},"promptTokensDetails":[{{"modality":"TEXT","tokenCount":{prompt}}}]}}"#,
                prompt + completion
            )
        } else {
            format!(
                r#"{{"promptTokenCount":{prompt},"totalTokenCount":{prompt},"promptTokensDetails":[{{"modality":"TEXT","tokenCount":{prompt}}}]}}"#
            )
        };
        format!(
            r#"{{"candidates":[{{"content":{{"parts":{parts},"role":"model"}}{finish},"index":0}}],"usageMetadata":{usage},"modelVersion":{},"responseId":"mock{id}"}}"#,
            quote(&ask.model)
        )
    };
    let text_part = |text: &str| format!(r#"[{{"text":{}}}]"#, quote(text));
    let thought = format!(
        r#"{{"text":{},"thought":true,"thoughtSignature":"{THOUGHT_SIGNATURE}"}}"#,
        quote(MOCK_THOUGHT)
    );
    // Each chunk's parts, as a JSON array.
    let mut chunks: Vec<String> = match (answer, mode) {
        (Answer::Text(text), GeminiMode::Complete) => vec![text_part(text)],
        (Answer::Text(text), _) => split_text(text, ask.pieces).into_iter().map(text_part).collect(),
        // Gemini sends a function call whole, in one chunk.
        (Answer::ToolCall { name, arguments }, _) => vec![format!(
            r#"[{{"functionCall":{{"name":{},"args":{arguments}}},"thoughtSignature":"{THOUGHT_SIGNATURE}"}}]"#,
            quote(name)
        )],
    };
    if ask.thinking {
        // The thought comes first: in the one answer, or as a chunk of its own.
        match mode {
            GeminiMode::Complete | GeminiMode::Count => chunks[0] = format!("[{thought},{}", &chunks[0][1..]),
            _ => chunks.insert(0, format!("[{thought}]")),
        }
    }
    let last = chunks.len() - 1;
    let bodies: Vec<String> = chunks
        .into_iter()
        .enumerate()
        .map(|(i, parts)| response(parts, i == last))
        .collect();
    match mode {
        GeminiMode::Complete | GeminiMode::Count => Reply::json(StatusCode::OK, bodies.concat()),
        GeminiMode::Sse => Reply::stream(
            "text/event-stream",
            bodies.into_iter().map(|body| format!("data: {body}\r\n\r\n")).collect(),
        ),
        GeminiMode::JsonArray => {
            let count = bodies.len();
            let chunks = bodies
                .into_iter()
                .enumerate()
                .map(|(i, body)| {
                    let open = if i == 0 { "[" } else { "" };
                    let close = if i + 1 == count { "]" } else { ",\r\n" };
                    format!("{open}{body}{close}")
                })
                .collect();
            Reply::stream("application/json", chunks)
        }
    }
}
