//! The event stream: API-shaped transcripts decoded frame by frame, the
//! bytes the encoder writes for them and for hand-made event sequences, and
//! what the SDK and Codex make of those bytes.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::*;
use crate::protocol::ErrorKind;
use crate::protocol::responses::decode_request;
use crate::protocol::responses::testing::{assert_fields, assert_response_shape, event_fields, fixture, frames, meta};

const TEXT: &str = fixture!("stream_text.sse");
const CALLS: &str = fixture!("stream_function_call.sse");
const REASONING: &str = fixture!("stream_reasoning.sse");
const INCOMPLETE: &str = fixture!("stream_incomplete.sse");
const FAILED: &str = fixture!("stream_failed.sse");
const ERROR_EVENT: &str = fixture!("stream_error_event.sse");

/// What a Codex request leaves for the encoder: no storage, encrypted
/// reasoning, a namespaced function.
pub(super) fn codex_options() -> RequestOptions {
    let body = json!({
        "model": "gpt-5-codex",
        "input": "hi",
        "tools": [{"type": "namespace", "name": "mcp__weather__", "description": "Weather.", "tools": [
            {"type": "function", "name": "get_forecast", "parameters": {"type": "object"}}
        ]}],
        "parallel_tool_calls": false,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": false,
        "include": ["reasoning.encrypted_content"],
        "stream": true
    });
    match decode_request(body.to_string().as_bytes()) {
        Ok((_, options)) => options,
        Err(err) => panic!("{}", err.message),
    }
}

pub(super) fn encoder(request: RequestOptions) -> EventEncoder {
    EventEncoder::new(
        EncoderOptions {
            meta: meta(),
            include_usage: false,
            sse: true,
        },
        request,
    )
}

/// Events per frame, then the events of `finish()` as the last entry.
pub(super) fn decode_frames(transcript: &str) -> Vec<Vec<StreamEvent>> {
    let mut decoder = EventDecoder::new(&meta());
    let mut per_frame = Vec::new();
    for (event, data) in frames(transcript) {
        let mut out = Vec::new();
        let frame = SseFrame {
            event: event.as_deref(),
            data: &data,
        };
        if let Err(err) = decoder.decode(frame, &mut out) {
            panic!("frame failed to decode: {}", err.message);
        }
        per_frame.push(out);
    }
    let mut out = Vec::new();
    decoder.finish(&mut out);
    per_frame.push(out);
    per_frame
}

pub(super) fn decode_all(transcript: &str) -> Vec<StreamEvent> {
    decode_frames(transcript).into_iter().flatten().collect()
}

pub(super) fn encode_all(events: &[StreamEvent], request: RequestOptions) -> String {
    let mut encoder = encoder(request);
    let mut out = BytesMut::new();
    for event in events {
        encoder.encode(event, &mut out);
    }
    encoder.finish(&mut out);
    String::from_utf8(out.to_vec()).expect("UTF-8")
}

/// The (type, data) of every event in `bytes`, checking the framing on the
/// way: each frame's `event:` names its data's `type`, sequence numbers
/// count from 0, and every event has the fields the SDK requires.
pub(super) fn events_of(bytes: &str) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    for (name, data) in frames(bytes) {
        let data: Value = serde_json::from_str(&data).expect("event data is JSON");
        let kind = data["type"].as_str().expect("typed").to_owned();
        assert_eq!(name.as_deref(), Some(kind.as_str()), "event name matches type");
        assert_eq!(data["sequence_number"], json!(events.len()), "{kind}");
        assert_fields(&kind, &data, event_fields(&kind));
        if let Some(response) = data.get("response") {
            assert_response_shape(response);
        }
        if let Some(item) = data.get("item") {
            crate::protocol::responses::testing::assert_item_shape(item);
        }
        events.push((kind, data));
    }
    events
}

pub(super) fn kinds(bytes: &str) -> Vec<String> {
    events_of(bytes).into_iter().map(|(kind, _)| kind).collect()
}

pub(super) fn text_start() -> StreamEvent {
    StreamEvent::BlockStart(BlockKind::Text)
}

pub(super) fn text(t: &str) -> StreamEvent {
    StreamEvent::Delta(Delta::Text(t.to_owned()))
}

pub(super) fn thinking(t: &str) -> StreamEvent {
    StreamEvent::Delta(Delta::Reasoning(t.to_owned()))
}

pub(super) fn signature(s: &str) -> StreamEvent {
    StreamEvent::Delta(Delta::Signature(s.to_owned()))
}

pub(super) fn tool_start(id: &str, name: &str) -> StreamEvent {
    StreamEvent::BlockStart(BlockKind::ToolCall {
        id: id.to_owned(),
        name: name.to_owned(),
        signature: None,
    })
}

pub(super) fn args(fragment: &str) -> StreamEvent {
    StreamEvent::Delta(Delta::ToolArguments(fragment.to_owned()))
}

pub(super) fn usage(input: u64, output: u64, cached: u64, reasoning: u64) -> StreamEvent {
    StreamEvent::Usage(Usage {
        input_tokens: input,
        output_tokens: output,
        cached_input_tokens: cached,
        cache_creation_input_tokens: 0,
        reasoning_tokens: reasoning,
    })
}

use StreamEvent::{BlockStop, Finish};

// --- decoding ---------------------------------------------------------------

#[test]
fn a_text_stream_decodes_frame_by_frame() {
    assert_eq!(
        decode_frames(TEXT),
        vec![
            // created, in_progress, item added, part added: nothing to say yet.
            vec![],
            vec![],
            vec![],
            vec![],
            vec![text_start(), text("Hi")],
            vec![text(" there")],
            vec![text("! How can I help")],
            vec![text("?")],
            // text done, part done: their content came as deltas.
            vec![],
            vec![],
            vec![BlockStop],
            vec![usage(1024, 9, 896, 0), Finish(FinishReason::Stop)],
            // finish(): nothing left.
            vec![],
        ]
    );
}

#[test]
fn a_function_call_stream_decodes_with_fragmented_arguments() {
    let per_frame = decode_frames(CALLS);
    let expected = vec![
        vec![],
        vec![],
        vec![],
        vec![],
        vec![text_start(), text("Checking ")],
        vec![text("both.")],
        vec![],
        vec![],
        vec![BlockStop],
        vec![tool_start("call_FtVCMaY0xXi1OTiHuJ8pBb2b", "get_weather")],
        vec![args("{\"loc")],
        vec![args("ation\":\"Par")],
        vec![args("is, France\"}")],
        vec![],
        vec![BlockStop],
        // The namespaced call gets the flat name the model uses.
        vec![tool_start("call_Weather0003", "mcp__weather__get_forecast")],
        vec![args("{\"city\"")],
        vec![args(":\"Bern\"}")],
        vec![],
        vec![BlockStop],
        vec![usage(312, 58, 0, 0), Finish(FinishReason::ToolCalls)],
        vec![],
    ];
    assert_eq!(per_frame, expected);
}

/// Joins each tool block's argument fragments.
fn tool_arguments(events: &[StreamEvent]) -> Vec<Value> {
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
        .iter()
        .map(|a| serde_json::from_str(a).expect("valid JSON"))
        .collect()
}

#[test]
fn fragmented_arguments_reassemble_to_valid_json() {
    assert_eq!(
        tool_arguments(&decode_all(CALLS)),
        vec![json!({"location": "Paris, France"}), json!({"city": "Bern"})]
    );
}

#[test]
fn a_reasoning_stream_decodes_summaries_and_the_encrypted_content() {
    assert_eq!(
        decode_all(REASONING),
        vec![
            StreamEvent::BlockStart(BlockKind::Reasoning),
            thinking("**Comparing"),
            thinking("** decimals\n\nThe tenths digit decides."),
            // A second summary part is a new paragraph.
            thinking("\n\n"),
            thinking("**Answering**\n\n9.11 is smaller."),
            // The full encrypted content comes with the finished item.
            signature("gAAAAABor0x1c3RyZWFtZWQtc2lnbmF0dXJl"),
            BlockStop,
            text_start(),
            text("9.11 is smaller"),
            text(" than 9.8."),
            BlockStop,
            usage(2006, 300, 1920, 192),
            Finish(FinishReason::Stop),
        ]
    );
}

#[test]
fn an_incomplete_stream_finishes_with_length() {
    let events = decode_all(INCOMPLETE);
    assert_eq!(
        events[events.len() - 2..],
        [usage(20, 16, 0, 0), Finish(FinishReason::Length)]
    );
}

#[test]
fn a_failed_stream_ends_with_the_upstream_error() {
    assert_eq!(
        decode_frames(FAILED),
        vec![
            vec![],
            vec![],
            vec![],
            vec![],
            vec![text_start(), text("Once upon")],
            vec![StreamEvent::Error(ApiError {
                status: 500,
                kind: ErrorKind::Api,
                message: "The model produced invalid content. Consider modifying your prompt if you are seeing this error persistently.".into(),
            })],
            // Nothing after an error: no finish that would claim success.
            vec![],
        ]
    );
}

#[test]
fn an_error_event_ends_the_stream() {
    assert_eq!(
        decode_all(ERROR_EVENT),
        vec![StreamEvent::Error(ApiError {
            status: 429,
            kind: ErrorKind::RateLimited,
            message: "Rate limit reached for gpt-4.1 on tokens per min (TPM). Please try again in 1.5s.".into(),
        })]
    );
    // Some servers nest the error object.
    let mut decoder = EventDecoder::new(&meta());
    let mut out = Vec::new();
    let nested = r#"{"type":"error","error":{"code":"server_is_overloaded","message":"busy"}}"#;
    decoder
        .decode(
            SseFrame {
                event: None,
                data: nested,
            },
            &mut out,
        )
        .expect("decodes");
    decoder.finish(&mut out);
    assert_eq!(out, vec![StreamEvent::Error(ApiError::upstream(503, "busy"))]);
}

#[test]
fn a_stream_cut_short_still_ends_well_formed() {
    // Everything up to the second call's arguments, then the connection drops.
    let cut = crate::protocol::sse::split_all(CALLS.as_bytes())[..17].concat();
    let events = decode_all(std::str::from_utf8(&cut).unwrap());
    assert_eq!(
        events[events.len() - 4..],
        [
            tool_start("call_Weather0003", "mcp__weather__get_forecast"),
            args("{\"city\""),
            BlockStop,
            // Calls were made: the client must act on them.
            Finish(FinishReason::ToolCalls),
        ]
    );
}

#[test]
fn items_without_deltas_and_unknown_items_decode() {
    // A server that sends finished items only, with a built-in call between them.
    let items = [
        json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "web_search_call", "id": "ws_1", "status": "completed"}}),
        json!({"type": "response.output_item.done", "output_index": 1, "item": {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "redacted:REFUQQ=="}}),
        json!({"type": "response.output_item.done", "output_index": 2, "item": {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "c2ln"}}),
        json!({"type": "response.output_item.done", "output_index": 3, "item": {"type": "message", "id": "m", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": "Done.", "annotations": []}]}}),
        json!({"type": "response.output_item.done", "output_index": 4, "item": {"type": "function_call", "id": "fc", "call_id": "", "name": "f", "arguments": {"a": 1}}}),
        json!({"type": "response.audio.delta", "delta": {"not": "text"}}),
        json!({"type": "response.completed", "response": {"id": "r", "status": "completed", "usage": {"input_tokens": 5}}}),
    ];
    let mut decoder = EventDecoder::new(&meta());
    let mut out = Vec::new();
    for item in &items {
        let data = item.to_string();
        decoder
            .decode(
                SseFrame {
                    event: None,
                    data: &data,
                },
                &mut out,
            )
            .expect("decodes");
    }
    decoder.finish(&mut out);
    assert_eq!(
        out,
        vec![
            StreamEvent::BlockStart(BlockKind::RedactedReasoning {
                data: "REFUQQ==".into()
            }),
            BlockStop,
            StreamEvent::BlockStart(BlockKind::Reasoning),
            signature("c2ln"),
            BlockStop,
            text_start(),
            text("Done."),
            BlockStop,
            tool_start("call_sy7f3a9c2e_0", "f"),
            args(r#"{"a":1}"#),
            BlockStop,
            usage(5, 0, 0, 0),
            Finish(FinishReason::ToolCalls),
        ]
    );
}

#[test]
fn unreadable_events_are_errors_not_panics() {
    let mut decoder = EventDecoder::new(&meta());
    let mut out = Vec::new();
    for bad in ["{", "[1,2]", r#"{"type": 5}"#, "\u{0}"] {
        let frame = SseFrame { event: None, data: bad };
        let err = decoder.decode(frame, &mut out).expect_err(bad);
        assert_eq!(err.status, 502, "{bad}");
        assert!(err.message.contains("unreadable"), "{}", err.message);
    }
    // Blank data, [DONE] and unknown event types are fine; the SSE name
    // stands in for a missing `type`.
    for (event, data) in [
        (None, "  "),
        (None, "[DONE]"),
        (None, r#"{"type": "response.queued"}"#),
        (Some("response.output_text.delta"), r#"{"delta": "named"}"#),
    ] {
        decoder.decode(SseFrame { event, data }, &mut out).expect("ignored");
    }
    assert_eq!(out, vec![text_start(), text("named")]);
}

// --- encoding ---------------------------------------------------------------

#[test]
fn transcripts_encode_to_the_expected_client_bytes() {
    let cases = [
        (TEXT, RequestOptions::default(), fixture!("encoded_stream_text.sse")),
        (CALLS, codex_options(), fixture!("encoded_stream_function_call.sse")),
        (REASONING, codex_options(), fixture!("encoded_stream_reasoning.sse")),
        (
            INCOMPLETE,
            RequestOptions::default(),
            fixture!("encoded_stream_incomplete.sse"),
        ),
        (FAILED, RequestOptions::default(), fixture!("encoded_stream_failed.sse")),
    ];
    for (upstream, request, expected) in cases {
        let encoded = encode_all(&decode_all(upstream), request);
        assert_eq!(encoded, expected);
        // Every golden is also what the SDK would accept.
        events_of(&encoded);
    }
}

#[test]
fn transcripts_round_trip_through_the_client_encoding() {
    for transcript in [TEXT, CALLS, REASONING, INCOMPLETE, FAILED, ERROR_EVENT] {
        let events = decode_all(transcript);
        assert_eq!(decode_all(&encode_all(&events, codex_options())), events);
    }
}

#[test]
fn hostile_frames_never_panic() {
    let frames = [
        r#"{"type": "response.output_item.added", "item": 5}"#,
        r#"{"type": "response.output_item.added", "item": {"type": "function_call", "name": ["x"]}}"#,
        r#"{"type": "response.function_call_arguments.delta", "delta": 7}"#,
        r#"{"type": "response.output_item.done", "item": {"type": "reasoning", "summary": "oops"}}"#,
        r#"{"type": "response.output_item.done", "item": {"type": "message", "content": {"text": 1}}}"#,
        r#"{"type": "response.output_item.done", "item": {"type": "message", "content": [{"text": 5}]}}"#,
        r#"{"type": "response.reasoning_summary_text.delta", "delta": "x", "summary_index": -3}"#,
        r#"{"type": "response.completed", "response": {"usage": {"input_tokens": -5, "output_tokens": 1e99}}}"#,
    ];
    let mut decoder = EventDecoder::new(&meta());
    let mut out = Vec::new();
    for data in frames {
        let _ = decoder.decode(SseFrame { event: None, data }, &mut out);
    }
    decoder.finish(&mut out);
    // Whatever came through ends with exactly one finish, and blocks balance.
    let finishes = out.iter().filter(|e| matches!(e, Finish(_))).count();
    assert_eq!(finishes, 1, "{out:?}");
    let starts = out.iter().filter(|e| matches!(e, StreamEvent::BlockStart(_))).count();
    let stops = out.iter().filter(|e| matches!(e, BlockStop)).count();
    assert_eq!(starts, stops, "{out:?}");
}
