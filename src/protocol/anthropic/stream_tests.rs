//! The SSE stream against transcripts from the API reference and the
//! Python SDK's own fixtures, frame by frame.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::*;
use crate::protocol::ErrorKind;
use crate::protocol::anthropic::testing::{fixture, frame, frames, meta};

const TRANSCRIPTS: [&str; 5] = [
    fixture!("stream_text.sse"),
    fixture!("stream_tool_use.sse"),
    fixture!("stream_thinking.sse"),
    fixture!("stream_error.sse"),
    fixture!("stream_web_search.sse"),
];

// --- helpers ----------------------------------------------------------------

fn decode_frames(frames: &[(Option<String>, String)]) -> Vec<StreamEvent> {
    let mut decoder = EventDecoder::new(&meta());
    let mut events = Vec::new();
    for owned in frames {
        if let Err(err) = decoder.decode(frame(owned), &mut events) {
            panic!("frame {owned:?} failed: {}", err.message);
        }
    }
    decoder.finish(&mut events);
    events
}

fn decode_transcript(transcript: &str) -> Vec<StreamEvent> {
    decode_frames(&frames(transcript))
}

fn encode_events(events: &[StreamEvent]) -> String {
    let mut encoder = EventEncoder::new(options());
    let mut out = BytesMut::new();
    for event in events {
        encoder.encode(event, &mut out);
    }
    encoder.finish(&mut out);
    String::from_utf8(out.to_vec()).expect("encoder writes UTF-8")
}

fn options() -> EncoderOptions {
    EncoderOptions {
        meta: meta(),
        include_usage: false,
        sse: true,
    }
}

/// The encoded stream as (event name, data) pairs, after checking that every
/// frame has exactly the `event: NAME\ndata: JSON\n\n` shape.
fn client_events(bytes: &str) -> Vec<(String, Value)> {
    assert!(bytes.ends_with("\n\n"), "stream ends mid-frame: {bytes:?}");
    crate::protocol::sse::split_all(bytes.as_bytes())
        .iter()
        .map(|raw| {
            let fields = crate::protocol::sse::fields(raw);
            let name = fields.event.expect("event line");
            let data = fields.data.expect("data line");
            assert!(!data.contains('\n'), "one data line per frame: {raw:?}");
            let shape = format!("event: {name}\ndata: {data}\n\n");
            assert_eq!(raw.as_ref(), shape.as_bytes(), "two lines per frame");
            let value: Value = serde_json::from_str(&data).expect("data is JSON");
            assert_eq!(value["type"], name.as_str(), "event name and data type agree");
            (name, value)
        })
        .collect()
}

/// Checks what the Anthropic SDKs rely on: message_start first, blocks
/// numbered from 0 without gaps, deltas and stops only for the open block,
/// message_delta then message_stop last (or an error and nothing after).
fn assert_sdk_readable(bytes: &str) {
    let events = client_events(bytes);
    let names: Vec<&str> = events
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| *name != "ping")
        .collect();
    if names.first() != Some(&"error") {
        assert_eq!(names.first(), Some(&"message_start"), "{bytes}");
    }
    let mut open: Option<u64> = None;
    let mut next = 0;
    let mut ended = false;
    for (name, data) in &events {
        assert!(!ended, "{name} after the end of the stream:\n{bytes}");
        let index = data["index"].as_u64();
        match name.as_str() {
            "content_block_start" => {
                assert_eq!(open, None, "a block starts while another is open:\n{bytes}");
                assert_eq!(index, Some(next), "blocks are numbered in order:\n{bytes}");
                open = index;
                next += 1;
            }
            "content_block_delta" | "content_block_stop" => {
                assert_eq!(index, open, "{name} for a block that is not open:\n{bytes}");
                if name == "content_block_stop" {
                    open = None;
                }
            }
            "message_delta" => assert_eq!(open, None, "message_delta with a block open"),
            "message_stop" | "error" => ended = true,
            _ => {}
        }
    }
    assert!(ended, "stream has no end:\n{bytes}");
    if names.last() == Some(&"message_stop") {
        assert_eq!(names[names.len() - 2], "message_delta");
    }
}

/// Checks the stream invariant every decoder owes its encoders.
fn assert_well_formed(events: &[StreamEvent]) {
    let mut open = false;
    let mut finished = false;
    for (at, event) in events.iter().enumerate() {
        match event {
            StreamEvent::BlockStart(_) => {
                assert!(!open && !finished, "block opened at {at}: {events:?}")
            }
            StreamEvent::Delta(_) => assert!(open, "delta outside a block at {at}: {events:?}"),
            StreamEvent::BlockStop => assert!(open, "stray stop at {at}: {events:?}"),
            StreamEvent::Finish(_) => {
                assert!(!open && !finished, "finish at {at}: {events:?}");
                finished = true;
            }
            StreamEvent::Error(_) => {
                assert_eq!(at, events.len() - 1, "events after an error: {events:?}");
                return;
            }
            StreamEvent::Usage(_) => {}
        }
        match event {
            StreamEvent::BlockStart(_) => open = true,
            StreamEvent::BlockStop => open = false,
            _ => {}
        }
    }
    assert!(!open && finished, "stream not closed: {events:?}");
}

fn text(text: &str) -> StreamEvent {
    StreamEvent::Delta(Delta::Text(text.into()))
}

fn arguments(fragment: &str) -> StreamEvent {
    StreamEvent::Delta(Delta::ToolArguments(fragment.into()))
}

fn tool(id: &str, name: &str) -> StreamEvent {
    StreamEvent::BlockStart(BlockKind::ToolCall {
        id: id.into(),
        name: name.into(),
        signature: None,
    })
}

fn usage(input: u64, output: u64, cached: u64) -> StreamEvent {
    StreamEvent::Usage(Usage {
        input_tokens: input,
        output_tokens: output,
        cached_input_tokens: cached,
        ..Usage::default()
    })
}

fn decode_lines(lines: &[Value]) -> Vec<StreamEvent> {
    let owned: Vec<(Option<String>, String)> = lines
        .iter()
        .map(|data| (data["type"].as_str().map(str::to_owned), data.to_string()))
        .collect();
    decode_frames(&owned)
}

// --- decoding ---------------------------------------------------------------

#[test]
fn decodes_a_text_stream() {
    assert_eq!(
        decode_transcript(fixture!("stream_text.sse")),
        vec![
            usage(25, 1, 0),
            StreamEvent::BlockStart(BlockKind::Text),
            text("Hello"),
            text("!"),
            StreamEvent::BlockStop,
            usage(25, 15, 0),
            StreamEvent::Finish(FinishReason::Stop),
        ]
    );
}

#[test]
fn decodes_a_tool_call_whose_fragments_reassemble() {
    let events = decode_transcript(fixture!("stream_tool_use.sse"));
    assert_eq!(
        events,
        vec![
            usage(377 + 1024, 1, 1024),
            StreamEvent::BlockStart(BlockKind::Text),
            text("I"),
            text("'ll check the current weather in Paris for you."),
            StreamEvent::BlockStop,
            tool("toolu_01NRLabsLyVHZPKxbKvkfSMn", "get_weather"),
            arguments("{\"locati"),
            arguments("on\": \"P"),
            arguments("ar"),
            arguments("is\"}"),
            StreamEvent::BlockStop,
            usage(377 + 1024, 65, 1024),
            StreamEvent::Finish(FinishReason::ToolCalls),
        ]
    );
    let joined: String = events
        .iter()
        .filter_map(|event| match event {
            StreamEvent::Delta(Delta::ToolArguments(fragment)) => Some(fragment.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&joined).unwrap(),
        json!({"location": "Paris"})
    );
}

#[test]
fn decodes_thinking_with_its_signature_and_full_final_usage() {
    assert_eq!(
        decode_transcript(fixture!("stream_thinking.sse")),
        vec![
            StreamEvent::Usage(Usage {
                input_tokens: 6 + 41203,
                output_tokens: 1,
                cached_input_tokens: 41203,
                ..Usage::default()
            }),
            StreamEvent::BlockStart(BlockKind::Reasoning),
            StreamEvent::Delta(Delta::Reasoning(
                "Let me solve this step by step:\n\n1. First break down 27 * 453".into()
            )),
            StreamEvent::Delta(Delta::Reasoning("\n2. 453 = 400 + 50 + 3".into())),
            StreamEvent::Delta(Delta::Signature(
                "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...".into()
            )),
            StreamEvent::BlockStop,
            StreamEvent::BlockStart(BlockKind::RedactedReasoning {
                data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj"
                    .into(),
            }),
            StreamEvent::BlockStop,
            StreamEvent::BlockStart(BlockKind::Text),
            text("27 * 453 = 12,231"),
            StreamEvent::BlockStop,
            StreamEvent::Usage(Usage {
                input_tokens: 6 + 41203,
                output_tokens: 210,
                cached_input_tokens: 41203,
                cache_creation_input_tokens: 0,
                reasoning_tokens: 180,
            }),
            StreamEvent::Finish(FinishReason::Stop),
        ]
    );
}

#[test]
fn decodes_an_error_event_and_stops_there() {
    assert_eq!(
        decode_transcript(fixture!("stream_error.sse")),
        vec![
            usage(12, 1, 0),
            StreamEvent::BlockStart(BlockKind::Text),
            text("Once upon"),
            StreamEvent::Error(ApiError {
                status: 529,
                kind: ErrorKind::Overloaded,
                message: "Overloaded".into(),
            }),
        ]
    );
    let rate_limited =
        decode_lines(&[json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})]);
    assert_eq!(
        rate_limited,
        vec![StreamEvent::Error(ApiError::upstream(429, "slow down"))]
    );
    let unknown = decode_lines(&[json!({"type": "error", "error": {"type": "teapot_error"}})]);
    let [StreamEvent::Error(err)] = unknown.as_slice() else {
        panic!("expected one error, got {unknown:?}");
    };
    assert_eq!((err.status, err.kind), (500, ErrorKind::Api));
    assert!(err.message.contains("teapot_error"), "{}", err.message);
}

#[test]
fn skips_server_tool_blocks_citations_and_pings() {
    assert_eq!(
        decode_transcript(fixture!("stream_web_search.sse")),
        vec![
            usage(2679, 3, 0),
            StreamEvent::BlockStart(BlockKind::Text),
            text("I'll check the current weather in New York City for you"),
            text("."),
            StreamEvent::BlockStop,
            StreamEvent::BlockStart(BlockKind::Text),
            text("Here's the current weather information for New York City."),
            StreamEvent::BlockStop,
            usage(10682, 510, 0),
            StreamEvent::Finish(FinishReason::Stop),
        ]
    );
}

#[test]
fn surfaces_arguments_given_whole_in_the_start_event() {
    let events = decode_lines(&[
        json!({"type": "content_block_start", "index": 0, "content_block":
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Paris"}}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block":
            {"type": "tool_use", "name": "now", "input": {}}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}}),
        json!({"type": "content_block_stop", "index": 1}),
    ]);
    assert_eq!(
        events,
        vec![
            tool("toolu_1", "get_weather"),
            arguments(r#"{"location":"Paris"}"#),
            StreamEvent::BlockStop,
            // No id upstream: the gateway names it; no arguments: `{}`.
            tool("call_01TestId_1", "now"),
            arguments("{}"),
            StreamEvent::BlockStop,
            StreamEvent::Finish(FinishReason::ToolCalls),
        ]
    );
}

#[test]
fn closes_what_an_upstream_left_open() {
    // Cut off mid-block, then a block that starts before the last one stopped.
    let events = decode_lines(&[
        json!({"type": "message_start", "message": {"usage": {"input_tokens": 3, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "Hi"}}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_2", "name": "f", "input": {}}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"a\":"}}),
    ]);
    assert_eq!(
        events,
        vec![
            usage(3, 1, 0),
            StreamEvent::BlockStart(BlockKind::Text),
            text("Hi"),
            StreamEvent::BlockStop,
            tool("toolu_2", "f"),
            arguments("{\"a\":"),
            StreamEvent::BlockStop,
            StreamEvent::Finish(FinishReason::ToolCalls),
        ]
    );
    // The API reference's own examples omit usage from message_start.
    assert_eq!(
        decode_lines(&[
            json!({"type": "message_start", "message": {"id": "msg_01", "type": "message", "content": []}}),
            json!({"type": "message_stop"}),
        ]),
        vec![StreamEvent::Finish(FinishReason::Stop)]
    );
}

#[test]
fn reads_frames_named_only_by_event_or_only_by_type() {
    let owned = vec![
        (
            Some("content_block_start".to_owned()),
            r#"{"index":0,"content_block":{"type":"text","text":""}}"#.to_owned(),
        ),
        (
            None,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}}"#.to_owned(),
        ),
        // A delta for a block that is not open, and an event from the future.
        (
            None,
            r#"{"type":"content_block_delta","index":5,"delta":{"type":"text_delta","text":"x"}}"#.to_owned(),
        ),
        (
            Some("content_block_hologram".to_owned()),
            r#"{"type":"content_block_hologram"}"#.to_owned(),
        ),
        (Some("ping".to_owned()), String::new()),
        (
            Some("message_delta".to_owned()),
            r#"{"delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":9}}"#.to_owned(),
        ),
        (
            None,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":10}}"#.to_owned(),
        ),
    ];
    assert_eq!(
        decode_frames(&owned),
        vec![
            StreamEvent::BlockStart(BlockKind::Text),
            text("a"),
            usage(0, 9, 0),
            // A second reason is not a second finish; usage still updates.
            usage(0, 10, 0),
            StreamEvent::BlockStop,
            StreamEvent::Finish(FinishReason::Length),
        ]
    );
}

#[test]
fn nothing_follows_message_stop() {
    assert_eq!(
        decode_lines(&[
            json!({"type": "message_delta", "delta": {"stop_reason": "stop_sequence"}, "usage": {"output_tokens": 2}}),
            json!({"type": "message_stop"}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "late"}}),
            json!({"type": "error", "error": {"type": "api_error", "message": "late"}}),
        ]),
        vec![usage(0, 2, 0), StreamEvent::Finish(FinishReason::StopSequence),]
    );
}

#[test]
fn a_delta_without_a_start_opens_its_block() {
    assert_eq!(
        decode_lines(&[
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{}"}}),
        ]),
        vec![
            StreamEvent::BlockStart(BlockKind::Reasoning),
            StreamEvent::Delta(Delta::Reasoning("hm".into())),
            StreamEvent::BlockStop,
            StreamEvent::Finish(FinishReason::Stop),
        ]
    );
}

#[test]
fn an_unreadable_frame_is_a_bad_gateway() {
    let mut decoder = EventDecoder::new(&meta());
    let mut events = Vec::new();
    let err = decoder
        .decode(
            SseFrame {
                event: Some("message_start"),
                data: "{\"type\": \"message_st",
            },
            &mut events,
        )
        .unwrap_err();
    assert_eq!((err.status, err.kind), (502, ErrorKind::Api));
    let err = decoder
        .decode(
            SseFrame {
                event: None,
                data: r#"{"type":"content_block_delta","delta":{"text":5}}"#,
            },
            &mut events,
        )
        .unwrap_err();
    assert!(err.message.contains("invalid type"), "{}", err.message);
    assert_eq!(events, vec![]);
}

#[test]
fn every_fixture_decodes_well_formed_even_shuffled_or_cut() {
    for transcript in TRANSCRIPTS {
        let all = frames(transcript);
        assert_well_formed(&decode_frames(&all));
        // Frames lost or reordered in any of these ways still end well formed.
        let variants: Vec<Vec<_>> = vec![
            all.iter().rev().cloned().collect(),
            all.iter().step_by(2).cloned().collect(),
            all.iter().skip(1).step_by(3).cloned().collect(),
            all.iter().take(all.len() / 2).cloned().collect(),
        ];
        for variant in variants {
            assert_well_formed(&decode_frames(&variant));
        }
        // Data cut anywhere is an error or nothing, never a panic.
        for (event, data) in &all {
            for cut in (0..data.len()).filter(|&cut| data.is_char_boundary(cut)) {
                let mut decoder = EventDecoder::new(&meta());
                let owned = (event.clone(), data[..cut].to_owned());
                let _ = decoder.decode(frame(&owned), &mut Vec::new());
            }
        }
    }
}

// --- encoding ---------------------------------------------------------------

#[test]
fn encodes_text_mixed_with_a_tool_call() {
    let bytes = encode_events(&[
        usage(1200, 0, 1000),
        StreamEvent::BlockStart(BlockKind::Text),
        text("Let me check "),
        text("the weather."),
        // Anthropic has no signature on text: dropped.
        StreamEvent::Delta(Delta::Signature("gemini-text-signature".into())),
        StreamEvent::BlockStop,
        StreamEvent::BlockStart(BlockKind::ToolCall {
            id: "call_1".into(),
            name: "get_weather".into(),
            signature: Some("gemini-call-signature".into()),
        }),
        arguments("{\"location\""),
        arguments(": \"Paris\"}"),
        StreamEvent::BlockStop,
        StreamEvent::Finish(FinishReason::ToolCalls),
        usage(1200, 45, 1000),
    ]);
    assert_eq!(bytes, fixture!("encoded_text_and_tool.sse"));
    assert_sdk_readable(&bytes);
}

#[test]
fn encodes_thinking_redacted_thinking_and_text() {
    let bytes = encode_events(&[
        StreamEvent::BlockStart(BlockKind::Reasoning),
        StreamEvent::Delta(Delta::Reasoning("Let me think".into())),
        StreamEvent::Delta(Delta::Signature(
            "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds".into(),
        )),
        StreamEvent::BlockStop,
        StreamEvent::BlockStart(BlockKind::RedactedReasoning {
            data: "EmwKAhgBEgy3va3pzix/LafPsn4a".into(),
        }),
        StreamEvent::BlockStop,
        StreamEvent::BlockStart(BlockKind::Text),
        text("Done."),
        StreamEvent::BlockStop,
        StreamEvent::Usage(Usage {
            input_tokens: 10,
            output_tokens: 50,
            reasoning_tokens: 40,
            ..Usage::default()
        }),
        StreamEvent::Finish(FinishReason::Stop),
    ]);
    assert_eq!(bytes, fixture!("encoded_thinking.sse"));
    assert_sdk_readable(&bytes);
}

#[test]
fn encodes_two_tool_calls_whose_fragments_reassemble() {
    let bytes = encode_events(&[
        tool("toolu_a", "get_weather"),
        arguments("{\"loc"),
        arguments("ation\": \"Pa"),
        arguments("ris\"}"),
        StreamEvent::BlockStop,
        // No id from the upstream, and no stop before the stream ends.
        tool("", "get_time"),
        arguments("{\"tz\": \"Europe/Paris\"}"),
        StreamEvent::Finish(FinishReason::ToolCalls),
    ]);
    assert_sdk_readable(&bytes);
    let events = client_events(&bytes);
    let starts: Vec<&Value> = events
        .iter()
        .filter(|(name, _)| name == "content_block_start")
        .map(|(_, data)| data)
        .collect();
    assert_eq!(
        starts,
        [
            &json!({"type": "content_block_start", "index": 0, "content_block":
                {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {}}}),
            &json!({"type": "content_block_start", "index": 1, "content_block":
                {"type": "tool_use", "id": "call_01TestId_1", "name": "get_time", "input": {}}}),
        ]
    );
    let arguments_of = |index: u64| -> Value {
        let joined: String = events
            .iter()
            .filter(|(_, data)| data["index"] == index && data["delta"]["type"] == "input_json_delta")
            .filter_map(|(_, data)| data["delta"]["partial_json"].as_str())
            .collect();
        serde_json::from_str(&joined).expect("fragments join into JSON")
    };
    assert_eq!(arguments_of(0), json!({"location": "Paris"}));
    assert_eq!(arguments_of(1), json!({"tz": "Europe/Paris"}));
    let (_, delta) = &events[events.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
}

#[test]
fn a_stream_without_finish_reason_still_ends_well() {
    let plain = client_events(&encode_events(&[
        StreamEvent::BlockStart(BlockKind::Text),
        text("partial"),
    ]));
    let names: Vec<&str> = plain.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(plain[5].1["delta"]["stop_reason"], "end_turn");
    let with_tool = client_events(&encode_events(&[tool("toolu_b", "f"), arguments("{}")]));
    assert_eq!(with_tool[with_tool.len() - 2].1["delta"]["stop_reason"], "tool_use");
}

#[test]
fn an_empty_stream_gets_preamble_and_epilogue() {
    let bytes = encode_events(&[]);
    assert_sdk_readable(&bytes);
    assert_eq!(
        client_events(&bytes)
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        ["message_start", "ping", "message_delta", "message_stop"]
    );
}

#[test]
fn an_error_mid_stream_ends_it_in_anthropic_shape() {
    let mut encoder = EventEncoder::new(options());
    let mut out = BytesMut::new();
    encoder.encode(&StreamEvent::BlockStart(BlockKind::Text), &mut out);
    encoder.encode(&text("Once upon"), &mut out);
    let before = out.len();
    let error = ApiError::upstream(529, "Overloaded");
    encoder.encode(&StreamEvent::Error(error), &mut out);
    assert_eq!(
        &out[before..],
        &b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"[..]
    );
    // Nothing after it, least of all a message_stop that claims success.
    let after = out.len();
    encoder.encode(&text(" a time"), &mut out);
    encoder.encode(&StreamEvent::Finish(FinishReason::Stop), &mut out);
    encoder.keep_alive(&mut out);
    encoder.finish(&mut out);
    assert_eq!(out.len(), after);
    assert_sdk_readable(std::str::from_utf8(&out).unwrap());
}

#[test]
fn an_error_before_any_content_is_the_whole_stream() {
    let bytes = encode_events(&[StreamEvent::Error(ApiError::upstream(429, "Rate limited"))]);
    assert_eq!(
        bytes,
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Rate limited\"}}\n\n"
    );
}

#[test]
fn keep_alive_is_an_anthropic_ping_that_starts_nothing() {
    const PING: &str = "event: ping\ndata: {\"type\": \"ping\"}\n\n";
    let mut encoder = EventEncoder::new(options());
    let mut out = BytesMut::new();
    encoder.keep_alive(&mut out);
    assert_eq!(&out[..], PING.as_bytes());
    encoder.encode(&StreamEvent::BlockStart(BlockKind::Text), &mut out);
    let before = out.len();
    encoder.keep_alive(&mut out);
    assert_eq!(&out[before..], PING.as_bytes());
    encoder.encode(&text("still here"), &mut out);
    encoder.finish(&mut out);
    let bytes = std::str::from_utf8(&out).unwrap();
    assert_sdk_readable(bytes);
    assert_eq!(bytes.matches(PING).count(), 3, "keep-alives plus the preamble's ping");
}

#[test]
fn usage_arriving_first_goes_into_message_start() {
    let events = client_events(&encode_events(&[
        StreamEvent::Usage(Usage {
            input_tokens: 5000,
            output_tokens: 1,
            cached_input_tokens: 4000,
            cache_creation_input_tokens: 900,
            reasoning_tokens: 0,
        }),
        StreamEvent::BlockStart(BlockKind::Text),
        text("ok"),
    ]));
    assert_eq!(
        events[0].1["message"]["usage"],
        json!({"input_tokens": 100, "cache_creation_input_tokens": 900, "cache_read_input_tokens": 4000, "output_tokens": 1})
    );
    assert_eq!(events[0].1["message"]["id"], "msg_01TestId");
    assert_eq!(events[0].1["message"]["model"], "claude-sonnet-4-5");
}

#[test]
fn deltas_without_their_block_are_placed_or_dropped() {
    let events = client_events(&encode_events(&[
        // Arguments and a signature with no block to belong to: dropped.
        arguments("{\"a\":1}"),
        StreamEvent::Delta(Delta::Signature("orphan".into())),
        // Text with no block opens one; reasoning then switches blocks.
        text("Hello"),
        StreamEvent::Delta(Delta::Reasoning("hmm".into())),
        StreamEvent::Delta(Delta::Text(String::new())),
        StreamEvent::BlockStop,
        StreamEvent::BlockStop,
        StreamEvent::Finish(FinishReason::Length),
        StreamEvent::Finish(FinishReason::Stop),
    ]));
    let shown: Vec<(String, Value)> = events
        .into_iter()
        .filter(|(name, _)| name != "ping" && name != "message_start")
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                "content_block_start".into(),
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
            ),
            (
                "content_block_delta".into(),
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}})
            ),
            (
                "content_block_stop".into(),
                json!({"type": "content_block_stop", "index": 0})
            ),
            (
                "content_block_start".into(),
                json!({"type": "content_block_start", "index": 1, "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
            ),
            (
                "content_block_delta".into(),
                json!({"type": "content_block_delta", "index": 1, "delta": {"type": "thinking_delta", "thinking": "hmm"}})
            ),
            (
                "content_block_stop".into(),
                json!({"type": "content_block_stop", "index": 1})
            ),
            (
                "message_delta".into(),
                json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens", "stop_sequence": null},
                "usage": {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 0}})
            ),
            ("message_stop".into(), json!({"type": "message_stop"})),
        ]
    );
}

#[test]
fn every_fixture_round_trips_through_the_encoder() {
    for transcript in TRANSCRIPTS {
        let first = decode_transcript(transcript);
        let bytes = encode_events(&first);
        assert_sdk_readable(&bytes);
        assert_eq!(decode_transcript(&bytes), first);
    }
}
