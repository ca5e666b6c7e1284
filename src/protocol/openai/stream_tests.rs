use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::*;
use crate::protocol::ErrorKind;

const TEXT: &str = include_str!("../../../tests/fixtures/openai/stream_text.sse");
const TOOLS: &str = include_str!("../../../tests/fixtures/openai/stream_tool_calls.sse");
const REASONING: &str = include_str!("../../../tests/fixtures/openai/stream_reasoning.sse");
const COMPAT: &str = include_str!("../../../tests/fixtures/openai/stream_compat.sse");
const NO_FINISH: &str = include_str!("../../../tests/fixtures/openai/stream_no_finish.sse");
const ERROR: &str = include_str!("../../../tests/fixtures/openai/stream_error.sse");
const TEXT_OUT: &str = include_str!("../../../tests/fixtures/openai/encoded_stream_text.sse");
const TOOLS_OUT: &str = include_str!("../../../tests/fixtures/openai/encoded_stream_tool_calls.sse");
const REASONING_OUT: &str = include_str!("../../../tests/fixtures/openai/encoded_stream_reasoning.sse");
const ERROR_OUT: &str = include_str!("../../../tests/fixtures/openai/encoded_stream_error.sse");

fn meta() -> ResponseMeta {
    ResponseMeta {
        id: "sy0123456789".to_owned(),
        model: "gpt-4o".to_owned(),
        created: 1_767_225_600,
    }
}

/// Splits an SSE transcript into (event, data) frames with the gateway's
/// own reader ([`crate::protocol::sse`]).
fn frames(transcript: &str) -> Vec<(Option<String>, String)> {
    crate::protocol::sse::events(transcript.as_bytes())
        .into_iter()
        .map(|fields| (fields.event, fields.data.unwrap_or_default()))
        .collect()
}

/// Events per frame, then the events of `finish()` as the last entry.
fn decode_frames(transcript: &str) -> Vec<Vec<StreamEvent>> {
    let mut decoder = ChunkDecoder::new(&meta());
    let mut per_frame = Vec::new();
    for (event, data) in frames(transcript) {
        let mut out = Vec::new();
        decoder
            .decode(
                SseFrame {
                    event: event.as_deref(),
                    data: &data,
                },
                &mut out,
            )
            .expect("frame decodes");
        per_frame.push(out);
    }
    let mut out = Vec::new();
    decoder.finish(&mut out);
    per_frame.push(out);
    per_frame
}

fn decode_all(transcript: &str) -> Vec<StreamEvent> {
    decode_frames(transcript).into_iter().flatten().collect()
}

fn encode_all(events: &[StreamEvent], include_usage: bool) -> String {
    let mut encoder = ChunkEncoder::new(EncoderOptions {
        meta: meta(),
        include_usage,
        sse: false,
    });
    let mut out = BytesMut::new();
    for event in events {
        encoder.encode(event, &mut out);
    }
    encoder.finish(&mut out);
    String::from_utf8(out.to_vec()).expect("UTF-8")
}

fn data(json: &str) -> SseFrame<'_> {
    SseFrame {
        event: None,
        data: json,
    }
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    .to_string()
}

fn text_start() -> StreamEvent {
    StreamEvent::BlockStart(BlockKind::Text)
}

fn text(t: &str) -> StreamEvent {
    StreamEvent::Delta(Delta::Text(t.to_owned()))
}

fn reasoning(t: &str) -> StreamEvent {
    StreamEvent::Delta(Delta::Reasoning(t.to_owned()))
}

fn tool_start(id: &str, name: &str) -> StreamEvent {
    StreamEvent::BlockStart(BlockKind::ToolCall {
        id: id.to_owned(),
        name: name.to_owned(),
        signature: None,
    })
}

fn args(fragment: &str) -> StreamEvent {
    StreamEvent::Delta(Delta::ToolArguments(fragment.to_owned()))
}

fn usage(input: u64, output: u64, cached: u64, reasoning: u64) -> StreamEvent {
    StreamEvent::Usage(Usage {
        input_tokens: input,
        output_tokens: output,
        cached_input_tokens: cached,
        cache_creation_input_tokens: 0,
        reasoning_tokens: reasoning,
    })
}

use StreamEvent::{BlockStop, Finish};

#[test]
fn text_transcript_decodes_frame_by_frame() {
    assert_eq!(
        decode_frames(TEXT),
        vec![
            // The role chunk's empty content opens nothing.
            vec![],
            vec![text_start(), text("Hello")],
            vec![text("! How can I")],
            vec![text(" help?")],
            vec![BlockStop, Finish(FinishReason::Stop)],
            vec![usage(19, 10, 0, 0)],
            // [DONE], then finish(): nothing left to say.
            vec![],
            vec![],
        ]
    );
}

#[test]
fn tool_call_transcript_decodes_frame_by_frame() {
    assert_eq!(
        decode_frames(TOOLS),
        vec![
            vec![],
            vec![text_start(), text("Checking both cities.")],
            vec![
                BlockStop,
                tool_start("call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_current_weather")
            ],
            vec![args("{\"lo")],
            vec![args("cation\": \"Bos")],
            vec![args("ton, MA\"}")],
            vec![
                BlockStop,
                tool_start("call_ABPu0BP0W1SlY3ZZSB5p5Nwq", "get_current_weather")
            ],
            vec![args("{\"location\"")],
            vec![args(": \"Paris, France\"}")],
            vec![BlockStop, Finish(FinishReason::ToolCalls)],
            vec![usage(171, 62, 128, 0)],
            vec![],
            vec![],
        ]
    );
}

/// Joins each tool block's argument fragments.
fn tool_arguments(events: &[StreamEvent]) -> Vec<String> {
    let mut calls: Vec<String> = Vec::new();
    for event in events {
        match event {
            StreamEvent::BlockStart(BlockKind::ToolCall { .. }) => calls.push(String::new()),
            StreamEvent::Delta(Delta::ToolArguments(fragment)) => {
                calls.last_mut().expect("inside a call").push_str(fragment)
            }
            _ => {}
        }
    }
    calls
}

#[test]
fn fragmented_arguments_reassemble_to_valid_json() {
    let parsed: Vec<Value> = tool_arguments(&decode_all(TOOLS))
        .iter()
        .map(|a| serde_json::from_str(a).expect("valid JSON"))
        .collect();
    assert_eq!(
        parsed,
        vec![json!({"location": "Boston, MA"}), json!({"location": "Paris, France"})]
    );
}

#[test]
fn reasoning_transcript_decodes_blocks_and_usage_on_the_finish_chunk() {
    assert_eq!(
        decode_all(REASONING),
        vec![
            StreamEvent::BlockStart(BlockKind::Reasoning),
            reasoning("Compare the tenths"),
            reasoning(": 1 < 8."),
            BlockStop,
            text_start(),
            text("9.11 is smaller"),
            text(" than 9.8."),
            BlockStop,
            Finish(FinishReason::Stop),
            usage(1250, 410, 1024, 372),
        ]
    );
}

#[test]
fn compatible_server_transcript_decodes() {
    // `reasoning`, whole calls in one chunk, `stop` after calls,
    // `choices: null` on the usage chunk, and no [DONE].
    let per_frame = decode_frames(COMPAT);
    assert_eq!(
        per_frame,
        vec![
            vec![],
            vec![
                StreamEvent::BlockStart(BlockKind::Reasoning),
                reasoning("The user wants two files.")
            ],
            vec![
                BlockStop,
                tool_start("chatcmpl-tool-1a2b", "read_file"),
                args(r#"{"path": "a.txt"}"#)
            ],
            vec![
                BlockStop,
                tool_start("chatcmpl-tool-3c4d", "read_file"),
                args(r#"{"path": "b.txt"}"#)
            ],
            vec![BlockStop, Finish(FinishReason::ToolCalls)],
            vec![usage(300, 60, 0, 0)],
            vec![],
        ]
    );
}

#[test]
fn a_stream_without_finish_reason_still_ends_well_formed() {
    let per_frame = decode_frames(NO_FINISH);
    assert_eq!(per_frame.last(), Some(&vec![BlockStop, Finish(FinishReason::Stop)]));
    assert_eq!(
        decode_all(NO_FINISH),
        vec![
            text_start(),
            text("The answer is"),
            BlockStop,
            Finish(FinishReason::Stop)
        ]
    );
}

#[test]
fn an_error_chunk_ends_the_stream_with_the_upstream_message() {
    let error = ApiError {
        status: 500,
        kind: ErrorKind::Api,
        message: "The server had an error while processing your request. Sorry about that!".to_owned(),
    };
    assert_eq!(
        decode_frames(ERROR),
        vec![
            vec![],
            vec![text_start(), text("Once upon")],
            vec![StreamEvent::Error(error)],
            // No finish reason after an error: that would claim success.
            vec![],
        ]
    );
}

#[test]
fn named_error_events_and_rate_limits_decode() {
    let mut decoder = ChunkDecoder::new(&meta());
    let mut out = Vec::new();
    let body = r#"{"error":{"message":"Rate limit reached","type":"rate_limit_error","code":"rate_limit_exceeded"}}"#;
    decoder
        .decode(
            SseFrame {
                event: Some("error"),
                data: body,
            },
            &mut out,
        )
        .expect("decodes");
    decoder
        .decode(data(&chunk(json!({"content": "late"}), None)), &mut out)
        .expect("ignored");
    decoder.finish(&mut out);
    assert_eq!(
        out,
        vec![StreamEvent::Error(ApiError {
            status: 429,
            kind: ErrorKind::RateLimited,
            message: "Rate limit reached".to_owned(),
        })]
    );
}

#[test]
fn unreadable_chunks_are_errors_not_panics() {
    let mut decoder = ChunkDecoder::new(&meta());
    let mut out = Vec::new();
    for bad in ["{", "[1,2]", r#"{"choices":[{"delta":{"content":5}}]}"#, "\u{0}"] {
        let err = decoder.decode(data(bad), &mut out).expect_err(bad);
        assert_eq!(err.status, 502, "{bad}");
        assert!(err.message.contains("unreadable"), "{}", err.message);
    }
    // Blank data and unknown fields are fine.
    decoder.decode(data("  "), &mut out).expect("blank");
    decoder
        .decode(data(r#"{"choices":[],"usage":null,"x_extra":{"a":1}}"#), &mut out)
        .expect("unknown fields");
    assert!(out.is_empty());
}

#[test]
fn usage_is_held_until_the_blocks_are_closed() {
    // Servers that send usage on every chunk.
    let with_usage = |delta: Value, finish: Option<&str>, completion: u64| {
        let mut value: Value = serde_json::from_str(&chunk(delta, finish)).expect("json");
        value["usage"] = json!({"prompt_tokens": 5, "completion_tokens": completion});
        value.to_string()
    };
    let mut decoder = ChunkDecoder::new(&meta());
    let mut out = Vec::new();
    decoder
        .decode(data(&with_usage(json!({"content": "a"}), None, 1)), &mut out)
        .expect("1");
    decoder
        .decode(data(&with_usage(json!({"content": "b"}), None, 2)), &mut out)
        .expect("2");
    assert_eq!(out, vec![text_start(), text("a"), text("b")]);
    out.clear();
    decoder
        .decode(data(&with_usage(json!({}), Some("length"), 2)), &mut out)
        .expect("3");
    // A repeat of the same usage adds nothing.
    decoder
        .decode(
            data(r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}"#),
            &mut out,
        )
        .expect("4");
    decoder.decode(data("[DONE]"), &mut out).expect("done");
    decoder.finish(&mut out);
    assert_eq!(out, vec![BlockStop, Finish(FinishReason::Length), usage(5, 2, 0, 0)]);
}

#[test]
fn partial_usage_objects_merge_into_full_snapshots() {
    let mut decoder = ChunkDecoder::new(&meta());
    let mut out = Vec::new();
    let frames = [
        r#"{"choices":[],"usage":{"prompt_tokens":80,"prompt_tokens_details":{"cached_tokens":64}}}"#.to_owned(),
        chunk(json!({}), Some("stop")),
        r#"{"choices":[],"usage":{"completion_tokens":9}}"#.to_owned(),
        r#"{"choices":[],"usage":{"completion_tokens_details":{"reasoning_tokens":4}}}"#.to_owned(),
    ];
    for frame in &frames {
        decoder.decode(data(frame), &mut out).expect("decodes");
    }
    assert_eq!(
        out,
        vec![
            Finish(FinishReason::Stop),
            usage(80, 0, 64, 0),
            usage(80, 9, 64, 0),
            usage(80, 9, 64, 4),
        ]
    );
}

#[test]
fn tool_call_variants_open_the_right_blocks() {
    let mut decoder = ChunkDecoder::new(&meta());
    let mut out = Vec::new();
    let calls = |calls: Value| chunk(json!({"tool_calls": calls}), None);
    let frames = [
        // No index, no id: names tell calls apart; ids are made up.
        calls(json!([{"function": {"name": "a", "arguments": "{\"x\":"}}])),
        calls(json!([{"function": {"arguments": "1}"}}])),
        calls(json!([{"function": {"name": "b"}}])),
        // Text after a call opens a new text block.
        chunk(json!({"content": "between"}), None),
        // An id repeated on every fragment is one call; the object form of
        // arguments is accepted.
        calls(json!([{"index": 0, "id": "x1", "function": {"name": "c", "arguments": {"k": true}}}])),
        calls(json!([{"index": 0, "id": "x1", "function": {"arguments": ""}}])),
        // Two calls in one chunk.
        calls(json!([
            {"index": 1, "id": "x2", "function": {"name": "d", "arguments": "{}"}},
            {"index": 2, "id": "x3", "function": {"name": "e", "arguments": "{}"}}
        ])),
        // A new index alone, without an id, starts another call.
        calls(json!([{"index": 3, "function": {"name": "f", "arguments": "{\"n\":"}}])),
        calls(json!([{"index": 4, "function": {"name": "g", "arguments": "{}"}}])),
        chunk(json!({}), Some("tool_calls")),
    ];
    for frame in &frames {
        decoder.decode(data(frame), &mut out).expect("decodes");
    }
    decoder.finish(&mut out);
    assert_eq!(
        out,
        vec![
            tool_start("call_sy0123456789_0", "a"),
            args("{\"x\":"),
            args("1}"),
            BlockStop,
            tool_start("call_sy0123456789_1", "b"),
            // No arguments ever came: an empty object keeps the JSON valid.
            args("{}"),
            BlockStop,
            text_start(),
            text("between"),
            BlockStop,
            tool_start("x1", "c"),
            args(r#"{"k":true}"#),
            BlockStop,
            tool_start("x2", "d"),
            args("{}"),
            BlockStop,
            tool_start("x3", "e"),
            args("{}"),
            BlockStop,
            tool_start("call_sy0123456789_5", "f"),
            args("{\"n\":"),
            BlockStop,
            tool_start("call_sy0123456789_6", "g"),
            args("{}"),
            BlockStop,
            Finish(FinishReason::ToolCalls),
        ]
    );
}

#[test]
fn other_choices_and_content_after_the_end_are_ignored() {
    let mut decoder = ChunkDecoder::new(&meta());
    let mut out = Vec::new();
    let second_choice = json!({"choices": [{"index": 1, "delta": {"content": "other"}, "finish_reason": "stop"}]});
    decoder.decode(data(&second_choice.to_string()), &mut out).expect("1");
    // A reasoning field that is not text is skipped, not fatal.
    let odd_reasoning = chunk(json!({"reasoning": {"effort": "low"}}), None);
    decoder.decode(data(&odd_reasoning), &mut out).expect("1b");
    decoder
        .decode(
            data(&chunk(json!({"refusal": "I can't help with that."}), None)),
            &mut out,
        )
        .expect("2");
    decoder
        .decode(data(&chunk(json!({}), Some("content_filter"))), &mut out)
        .expect("3");
    decoder
        .decode(data(&chunk(json!({"content": "after finish"}), None)), &mut out)
        .expect("4");
    decoder.decode(data("[DONE]"), &mut out).expect("done");
    decoder
        .decode(data(&chunk(json!({"content": "after done"}), None)), &mut out)
        .expect("5");
    decoder.finish(&mut out);
    decoder.finish(&mut out);
    assert_eq!(
        out,
        vec![
            text_start(),
            text("I can't help with that."),
            BlockStop,
            Finish(FinishReason::ContentFilter),
        ]
    );
}

#[test]
fn transcripts_encode_to_the_expected_client_bytes() {
    let cases = [
        (TEXT, true, TEXT_OUT),
        (TOOLS, true, TOOLS_OUT),
        (REASONING, false, REASONING_OUT),
        (ERROR, false, ERROR_OUT),
    ];
    for (upstream, include_usage, expected) in cases {
        assert_eq!(encode_all(&decode_all(upstream), include_usage), expected);
    }
}

#[test]
fn transcripts_round_trip_through_the_client_encoding() {
    for transcript in [TEXT, TOOLS, REASONING, COMPAT, NO_FINISH, ERROR] {
        let events = decode_all(transcript);
        let again = decode_all(&encode_all(&events, true));
        assert_eq!(again, events);
    }
}

/// What an SDK's stream accumulator builds from the bytes, checking on
/// the way what the openai-python helpers assert on every chunk.
#[derive(Debug, Default, PartialEq)]
struct Accumulated {
    content: String,
    reasoning: String,
    /// (id, name, arguments) by index.
    tool_calls: Vec<(String, String, String)>,
    finish_reason: Option<String>,
    usage: Option<Value>,
    done: bool,
}

fn accumulate(bytes: &str) -> Accumulated {
    let mut acc = Accumulated::default();
    for (_, data) in frames(bytes) {
        assert!(!acc.done, "nothing may follow [DONE]");
        if data == "[DONE]" {
            acc.done = true;
            continue;
        }
        let chunk: Value = serde_json::from_str(&data).expect("chunk is JSON");
        assert_eq!(chunk["id"], "chatcmpl-sy0123456789");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["created"], 1_767_225_600);
        assert_eq!(chunk["model"], "gpt-4o");
        if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
            assert_eq!(chunk["choices"], json!([]));
            acc.usage = Some(usage.clone());
            continue;
        }
        let choice = &chunk["choices"][0];
        assert_eq!(choice["index"], 0);
        assert_eq!(choice["logprobs"], Value::Null);
        assert!(acc.finish_reason.is_none(), "no content after the finish");
        let delta = &choice["delta"];
        acc.content += delta["content"].as_str().unwrap_or_default();
        acc.reasoning += delta["reasoning_content"].as_str().unwrap_or_default();
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = call["index"].as_u64().expect("index") as usize;
            assert!(call["function"].is_object(), "every tool delta has a function");
            if index == acc.tool_calls.len() {
                assert_eq!(call["type"], "function", "first fragment names the type");
                let id = call["id"].as_str().expect("first fragment has an id");
                let name = call["function"]["name"].as_str().expect("and a name");
                acc.tool_calls.push((id.to_owned(), name.to_owned(), String::new()));
            }
            let entry = acc.tool_calls.get_mut(index).expect("calls are numbered in order");
            entry.2 += call["function"]["arguments"].as_str().unwrap_or_default();
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            acc.finish_reason = Some(reason.to_owned());
        }
    }
    acc
}

#[test]
fn text_mixed_with_two_tool_calls_accumulates_like_an_sdk() {
    let events = vec![
        StreamEvent::BlockStart(BlockKind::Reasoning),
        reasoning("plan"),
        StreamEvent::Delta(Delta::Signature("sig".to_owned())),
        BlockStop,
        StreamEvent::BlockStart(BlockKind::RedactedReasoning {
            data: "opaque".to_owned(),
        }),
        BlockStop,
        text_start(),
        text("Looking"),
        text(" now."),
        BlockStop,
        tool_start("toolu_01", "search"),
        args("{\"q\":"),
        args("\"rust\"}"),
        BlockStop,
        // No id upstream (the decoder of another protocol left it empty).
        tool_start("", "fetch"),
        args("{\"url\":\"https://example.com\"}"),
        BlockStop,
        usage(40, 12, 8, 2),
        // Another protocol's plain stop after tool calls.
        Finish(FinishReason::Stop),
    ];
    assert_eq!(
        accumulate(&encode_all(&events, true)),
        Accumulated {
            content: "Looking now.".to_owned(),
            reasoning: "plan".to_owned(),
            tool_calls: vec![
                ("toolu_01".to_owned(), "search".to_owned(), r#"{"q":"rust"}"#.to_owned()),
                (
                    "call_sy0123456789_1".to_owned(),
                    "fetch".to_owned(),
                    r#"{"url":"https://example.com"}"#.to_owned()
                ),
            ],
            finish_reason: Some("tool_calls".to_owned()),
            usage: Some(json!({
                "prompt_tokens": 40,
                "completion_tokens": 12,
                "total_tokens": 52,
                "prompt_tokens_details": {"cached_tokens": 8},
                "completion_tokens_details": {"reasoning_tokens": 2}
            })),
            done: true,
        }
    );
}

/// The exact frame the encoder writes for one choice delta.
fn client_chunk(delta: &str, finish: &str, usage: bool) -> String {
    let usage = if usage { r#","usage":null"# } else { "" };
    format!(
        "data: {{\"id\":\"chatcmpl-sy0123456789\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}]{usage}}}\n\n"
    )
}

const ROLE: &str = r#"{"role":"assistant","content":""}"#;

#[test]
fn an_empty_stream_still_has_preamble_finish_and_done() {
    let expected = [
        client_chunk(ROLE, "null", true),
        client_chunk("{}", "\"stop\"", true),
        // No usage was reported, so none is invented.
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    assert_eq!(encode_all(&[], true), expected);
}

#[test]
fn usage_is_reported_once_at_the_end_and_only_when_asked_for() {
    let events = [usage(3, 1, 0, 0), Finish(FinishReason::Stop), usage(3, 2, 1, 0)];
    let usage_chunk = "data: {\"id\":\"chatcmpl-sy0123456789\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5,\"prompt_tokens_details\":{\"cached_tokens\":1},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n";
    let with_usage = [
        client_chunk(ROLE, "null", true),
        client_chunk("{}", "\"stop\"", true),
        usage_chunk.to_owned(),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    assert_eq!(encode_all(&events, true), with_usage);
    let without = [
        client_chunk(ROLE, "null", false),
        client_chunk("{}", "\"stop\"", false),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    assert_eq!(encode_all(&events, false), without);
}

#[test]
fn a_stream_without_finish_gets_a_stop_before_done() {
    let events = [text_start(), text("Hi"), BlockStop];
    let expected = [
        client_chunk(ROLE, "null", false),
        client_chunk(r#"{"content":"Hi"}"#, "null", false),
        client_chunk("{}", "\"stop\"", false),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    assert_eq!(encode_all(&events, false), expected);
}

#[test]
fn an_error_mid_stream_is_the_last_frame() {
    let error = ApiError::new(ErrorKind::Overloaded, "upstream overloaded, retry later");
    let mut encoder = ChunkEncoder::new(EncoderOptions {
        meta: meta(),
        include_usage: true,
        sse: false,
    });
    let mut out = BytesMut::new();
    encoder.encode(&text_start(), &mut out);
    encoder.encode(&text("Hal"), &mut out);
    encoder.encode(&StreamEvent::Error(error), &mut out);
    encoder.encode(&text("f"), &mut out);
    encoder.encode(&Finish(FinishReason::Stop), &mut out);
    encoder.finish(&mut out);
    let expected = [
        client_chunk(ROLE, "null", true),
        client_chunk(r#"{"content":"Hal"}"#, "null", true),
        "data: {\"error\":{\"message\":\"upstream overloaded, retry later\",\"type\":\"api_error\",\"param\":null,\"code\":\"overloaded\"}}\n\n".to_owned(),
    ]
    .concat();
    assert_eq!(String::from_utf8(out.to_vec()).expect("UTF-8"), expected);
}

#[test]
fn an_error_before_any_content_writes_only_the_error() {
    let events = [StreamEvent::Error(ApiError::upstream(429, "slow down"))];
    assert_eq!(
        encode_all(&events, true),
        "data: {\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}\n\n"
    );
}

#[test]
fn keep_alives_are_comments_anywhere() {
    let mut encoder = ChunkEncoder::new(EncoderOptions {
        meta: meta(),
        include_usage: false,
        sse: false,
    });
    let mut out = BytesMut::new();
    encoder.keep_alive(&mut out);
    assert_eq!(&out[..], b": keep-alive\n\n");
    encoder.encode(&text_start(), &mut out);
    encoder.keep_alive(&mut out);
    encoder.encode(&text("x"), &mut out);
    encoder.finish(&mut out);
    let expected = [
        ": keep-alive\n\n".to_owned(),
        client_chunk(ROLE, "null", false),
        ": keep-alive\n\n".to_owned(),
        client_chunk(r#"{"content":"x"}"#, "null", false),
        client_chunk("{}", "\"stop\"", false),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    assert_eq!(String::from_utf8(out.to_vec()).expect("UTF-8"), expected);
}

#[test]
fn finish_is_written_once_and_finish_is_idempotent() {
    let mut encoder = ChunkEncoder::new(EncoderOptions {
        meta: meta(),
        include_usage: false,
        sse: false,
    });
    let mut out = BytesMut::new();
    encoder.encode(&Finish(FinishReason::Length), &mut out);
    encoder.encode(&Finish(FinishReason::Stop), &mut out);
    encoder.finish(&mut out);
    encoder.finish(&mut out);
    encoder.encode(&text("late"), &mut out);
    let expected = [
        client_chunk(ROLE, "null", false),
        client_chunk("{}", "\"length\"", false),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    assert_eq!(String::from_utf8(out.to_vec()).expect("UTF-8"), expected);
}

#[test]
fn tool_call_chunks_have_the_sdk_shape() {
    let events = [tool_start("call_1", "f"), args("{}"), BlockStop];
    let expected = [
        client_chunk(ROLE, "null", false),
        client_chunk(
            r#"{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}"#,
            "null",
            false,
        ),
        client_chunk(
            r#"{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}"#,
            "null",
            false,
        ),
        client_chunk("{}", "\"tool_calls\"", false),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    assert_eq!(encode_all(&events, false), expected);
}
