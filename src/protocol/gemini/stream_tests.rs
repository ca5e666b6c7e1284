//! Stream decoding and encoding against golden transcripts.

use bytes::BytesMut;
use pretty_assertions::assert_eq;

use super::{ChunkDecoder, ChunkEncoder};
use crate::protocol::model::{FinishReason, ResponseMeta, Usage};
use crate::protocol::stream::{BlockKind, Delta, EncoderOptions, SseFrame, StreamDecoder, StreamEncoder, StreamEvent};
use crate::protocol::{ApiError, ErrorKind};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/gemini/", $name))
    };
}

fn meta() -> ResponseMeta {
    ResponseMeta {
        id: "resp01abc".into(),
        model: "gemini-2.5-flash".into(),
        created: 1_760_000_000,
    }
}

/// The `data:` payloads of an SSE transcript, one per event.
fn frames(transcript: &str) -> Vec<String> {
    crate::protocol::sse::events(transcript.as_bytes())
        .into_iter()
        .filter_map(|fields| fields.data)
        .filter(|data| !data.is_empty())
        .collect()
}

/// Feeds a transcript frame by frame, then ends the stream.
fn decode_all(transcript: &str) -> Vec<StreamEvent> {
    let mut decoder = ChunkDecoder::new(&meta());
    let mut events = Vec::new();
    for data in frames(transcript) {
        decoder
            .decode(
                SseFrame {
                    event: None,
                    data: &data,
                },
                &mut events,
            )
            .expect("frame decodes");
    }
    decoder.finish(&mut events);
    events
}

fn encode_all(events: &[StreamEvent], sse: bool) -> String {
    let mut encoder = ChunkEncoder::new(EncoderOptions {
        meta: meta(),
        include_usage: false,
        sse,
    });
    let mut out = BytesMut::new();
    for event in events {
        encoder.encode(event, &mut out);
    }
    encoder.finish(&mut out);
    String::from_utf8(out.to_vec()).expect("utf-8")
}

fn start_text() -> StreamEvent {
    StreamEvent::BlockStart(BlockKind::Text)
}
fn start_reasoning() -> StreamEvent {
    StreamEvent::BlockStart(BlockKind::Reasoning)
}
fn start_call(id: &str, name: &str, signature: Option<&str>) -> StreamEvent {
    StreamEvent::BlockStart(BlockKind::ToolCall {
        id: id.into(),
        name: name.into(),
        signature: signature.map(Into::into),
    })
}
fn text(text: &str) -> StreamEvent {
    StreamEvent::Delta(Delta::Text(text.into()))
}
fn thought(text: &str) -> StreamEvent {
    StreamEvent::Delta(Delta::Reasoning(text.into()))
}
fn signature(signature: &str) -> StreamEvent {
    StreamEvent::Delta(Delta::Signature(signature.into()))
}
fn args(fragment: &str) -> StreamEvent {
    StreamEvent::Delta(Delta::ToolArguments(fragment.into()))
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
use StreamEvent::{BlockStop as Stop, Finish};

#[test]
fn decodes_a_text_stream() {
    assert_eq!(
        decode_all(fixture!("stream_text.sse")),
        vec![
            start_text(),
            text("The"),
            usage(9, 0, 0, 0),
            text(" sky is blue"),
            text(" because of Rayleigh scattering."),
            Stop,
            usage(9, 12, 0, 0),
            Finish(FinishReason::Stop),
        ]
    );
}

#[test]
fn decodes_text_then_parallel_function_calls() {
    assert_eq!(
        decode_all(fixture!("stream_tool_call.sse")),
        vec![
            start_text(),
            text("Let me check both cities."),
            usage(74, 0, 0, 0),
            Stop,
            start_call("call_resp01abc_0", "get_current_temperature", Some("CtwBAdHtim9m0sAz")),
            args(r#"{"location":"London"}"#),
            Stop,
            start_call("call_resp01abc_1", "get_current_temperature", None),
            args(r#"{"location":"Paris","unit":"celsius"}"#),
            Stop,
            usage(74, 42 + 88, 0, 88),
            Finish(FinishReason::ToolCalls),
        ]
    );
}

#[test]
fn decodes_thoughts_and_the_closing_signature() {
    assert_eq!(
        decode_all(fixture!("stream_thinking.sse")),
        vec![
            start_reasoning(),
            thought("**Planning the proof**\nStart from the definition."),
            usage(2120, 0, 2048, 0),
            thought(" Then check small cases."),
            Stop,
            start_text(),
            text("There are infinitely many primes."),
            usage(2120, 6 + 312, 2048, 312),
            signature("Ej8KPQHR7Yp/aBcZxPq0"),
            Stop,
            usage(2120, 9 + 312, 2048, 312),
            Finish(FinishReason::Stop),
        ]
    );
}

#[test]
fn decodes_an_error_mid_stream_and_nothing_after_it() {
    assert_eq!(
        decode_all(fixture!("stream_error.sse")),
        vec![
            start_text(),
            text("Once upon a time"),
            usage(5, 0, 0, 0),
            StreamEvent::Error(ApiError {
                status: 503,
                kind: ErrorKind::Overloaded,
                message: "The model is overloaded. Please try again later.".into(),
            }),
        ]
    );
}

#[test]
fn a_stream_cut_short_still_ends_well_formed() {
    let mut decoder = ChunkDecoder::new(&meta());
    let mut events = Vec::new();
    for data in frames(fixture!("stream_text.sse")).iter().take(2) {
        decoder.decode(SseFrame { event: None, data }, &mut events).unwrap();
    }
    decoder.finish(&mut events);
    assert_eq!(
        events,
        vec![
            start_text(),
            text("The"),
            usage(9, 0, 0, 0),
            text(" sky is blue"),
            Stop,
            Finish(FinishReason::Stop)
        ]
    );

    let mut decoder = ChunkDecoder::new(&meta());
    let mut events = Vec::new();
    let call = r#"{"candidates": [{"content": {"parts": [{"functionCall": {"id": "x1", "name": "f", "args": {}}}]}}]}"#;
    decoder
        .decode(
            SseFrame {
                event: None,
                data: call,
            },
            &mut events,
        )
        .unwrap();
    decoder.finish(&mut events);
    assert_eq!(
        events,
        vec![
            start_call("x1", "f", None),
            args("{}"),
            Stop,
            Finish(FinishReason::ToolCalls)
        ]
    );
}

#[test]
fn decoder_edge_cases() {
    let mut decoder = ChunkDecoder::new(&meta());
    let mut events = Vec::new();
    let blocked = r#"{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4}}"#;
    decoder
        .decode(
            SseFrame {
                event: None,
                data: "  ",
            },
            &mut events,
        )
        .unwrap();
    decoder
        .decode(
            SseFrame {
                event: None,
                data: blocked,
            },
            &mut events,
        )
        .unwrap();
    let late = r#"{"candidates": [{"content": {"parts": [{"text": "late"}]}, "finishReason": "STOP"}]}"#;
    decoder
        .decode(
            SseFrame {
                event: None,
                data: late,
            },
            &mut events,
        )
        .unwrap();
    decoder.finish(&mut events);
    assert_eq!(
        events,
        vec![usage(4, 0, 0, 0), Finish(FinishReason::ContentFilter)],
        "nothing after the finish"
    );

    let mut decoder = ChunkDecoder::new(&meta());
    let err = decoder
        .decode(
            SseFrame {
                event: None,
                data: "[DONE]",
            },
            &mut Vec::new(),
        )
        .unwrap_err();
    assert_eq!(
        err.status, 502,
        "the upstream sent it: a bad gateway, not the gateway's fault"
    );
    assert!(err.message.contains("GenerateContentResponse"), "{}", err.message);

    // An empty text part with only a signature and nothing open becomes an empty reasoning block.
    let mut decoder = ChunkDecoder::new(&meta());
    let mut events = Vec::new();
    let sig = r#"{"candidates": [{"content": {"parts": [{"text": "", "thoughtSignature": "c2ln"}, {"inlineData": {"mimeType": "image/png", "data": "AA=="}}], "role": "model"}, "finishReason": "MAX_TOKENS"}]}"#;
    decoder
        .decode(SseFrame { event: None, data: sig }, &mut events)
        .unwrap();
    assert_eq!(
        events,
        vec![start_reasoning(), signature("c2ln"), Stop, Finish(FinishReason::Length)]
    );
}

/// Text, a tool call whose arguments arrive in fragments, a second call,
/// usage and the finish reason, as an Anthropic or OpenAI upstream gives them.
fn text_and_tool_calls() -> Vec<StreamEvent> {
    vec![
        start_text(),
        text("Let me check."),
        text(" One moment."),
        Stop,
        start_call("toolu_01", "get_weather", Some("CtwBAdHtim9z")),
        args(r#"{"city": "Par"#),
        args(r#"is", "days": [1,"#),
        args("2]}"),
        Stop,
        start_call("toolu_02", "get_time", None),
        Stop,
        usage(120, 45, 100, 0),
        Finish(FinishReason::ToolCalls),
    ]
}

#[test]
fn encodes_text_and_tool_calls_as_sse() {
    assert_eq!(
        encode_all(&text_and_tool_calls(), true),
        fixture!("encoded_text_tools.sse")
    );
}

#[test]
fn encodes_text_and_tool_calls_as_a_json_array() {
    let out = encode_all(&text_and_tool_calls(), false);
    assert_eq!(out, fixture!("encoded_text_tools.json").trim_end());
    let parsed: serde_json::Value = serde_json::from_str(&out).expect("one JSON array");
    assert_eq!(parsed.as_array().map(Vec::len), Some(5));
}

#[test]
fn encodes_reasoning_with_signatures() {
    let events = vec![
        start_reasoning(),
        thought("Considering"),
        thought(" the options."),
        signature("EqQBCkgIBxAB"),
        Stop,
        StreamEvent::BlockStart(BlockKind::RedactedReasoning { data: "secret".into() }),
        Stop,
        start_text(),
        text("Use the bus."),
        signature("Ej8KPQHR"),
        Stop,
        Finish(FinishReason::Length),
        usage(30, 80, 0, 60),
    ];
    assert_eq!(encode_all(&events, true), fixture!("encoded_thinking.sse"));
}

#[test]
fn encoder_output_decodes_back_to_the_same_stream() {
    let decoded = decode_all(&encode_all(&text_and_tool_calls(), true));
    assert_eq!(
        decoded,
        vec![
            start_text(),
            text("Let me check."),
            text(" One moment."),
            Stop,
            start_call("toolu_01", "get_weather", Some("CtwBAdHtim9z")),
            args(r#"{"city":"Paris","days":[1,2]}"#),
            Stop,
            start_call("toolu_02", "get_time", None),
            args("{}"),
            Stop,
            usage(120, 45, 100, 0),
            Finish(FinishReason::ToolCalls),
        ]
    );
}

#[test]
fn an_error_mid_stream_ends_both_forms() {
    let error = ApiError::upstream(
        429,
        "Quota exceeded for quota metric 'Generate Content API requests per minute'",
    );
    let events = vec![
        start_text(),
        text("Hi"),
        start_call("c", "f", None),
        args("{\"a\""),
        StreamEvent::Error(error),
    ];
    let chunk = r#"{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-flash","responseId":"resp01abc"}"#;
    let failure = r#"{"error":{"code":429,"message":"Quota exceeded for quota metric 'Generate Content API requests per minute'","status":"RESOURCE_EXHAUSTED"}}"#;
    assert_eq!(
        encode_all(&events, true),
        format!("data: {chunk}\r\n\r\ndata: {failure}\r\n\r\n"),
        "no half tool call, no success chunk after the error"
    );
    assert_eq!(encode_all(&events, false), format!("[{chunk},\r\n{failure}]"));
    assert_eq!(encode_all(&events[4..], false), format!("[{failure}]"));
}

#[test]
fn a_stream_without_finish_reason_still_says_stop() {
    let out = encode_all(&[start_text(), text("partial")], true);
    let last = frames(&out).pop().unwrap_or_default();
    assert_eq!(
        last,
        r#"{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}],"modelVersion":"gemini-2.5-flash","responseId":"resp01abc"}"#
    );
    let filtered = encode_all(&[Finish(FinishReason::ContentFilter)], true);
    assert_eq!(
        filtered,
        "data: {\"candidates\":[{\"finishReason\":\"SAFETY\",\"index\":0}],\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"resp01abc\"}\r\n\r\n"
    );
}

#[test]
fn empty_streams_and_keep_alives() {
    assert_eq!(encode_all(&[], true), "");
    assert_eq!(encode_all(&[], false), "[]");

    for sse in [true, false] {
        let mut encoder = ChunkEncoder::new(EncoderOptions {
            meta: meta(),
            include_usage: false,
            sse,
        });
        let mut out = BytesMut::new();
        encoder.keep_alive(&mut out);
        encoder.encode(&start_text(), &mut out);
        encoder.encode(&text("a"), &mut out);
        encoder.keep_alive(&mut out);
        encoder.encode(&text("b"), &mut out);
        encoder.finish(&mut out);
        let len = out.len();
        encoder.keep_alive(&mut out);
        encoder.encode(&text("late"), &mut out);
        encoder.finish(&mut out);
        assert_eq!(out.len(), len, "nothing after the end");
        let out = String::from_utf8(out.to_vec()).unwrap();
        if sse {
            assert!(out.starts_with("\r\ndata: {"), "{out}");
            assert_eq!(
                out.matches("\r\n\r\n\r\n").count(),
                1,
                "one blank keep-alive line between frames"
            );
            // google-genai reads every non-blank line that is not `data: ` as JSON.
            for line in out.lines().filter(|line| !line.is_empty()) {
                assert!(line.starts_with("data: {"), "{line}");
            }
            assert_eq!(decode_all(&out)[..3], [start_text(), text("a"), text("b")]);
        } else {
            let parsed: serde_json::Value = serde_json::from_str(&out).expect("whitespace keep-alives stay valid JSON");
            assert_eq!(parsed.as_array().map(Vec::len), Some(3));
        }
    }
}
