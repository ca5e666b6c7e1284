//! Malformed and hostile input: every entry point answers with an error or a
//! well-formed result, never a panic.

use bytes::BytesMut;

use super::{ChunkDecoder, ChunkEncoder, decode_request, decode_response, encode_request, encode_response};
use crate::protocol::model::{ChatResponse, FinishReason, Part, ResponseMeta, ToolCall, Usage};
use crate::protocol::stream::{BlockKind, Delta, EncoderOptions, SseFrame, StreamDecoder, StreamEncoder, StreamEvent};

fn meta() -> ResponseMeta {
    ResponseMeta {
        id: "x1".into(),
        model: "m".into(),
        created: 0,
    }
}

fn bodies() -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = [
        "",
        "null",
        "0",
        "\"text\"",
        "{}",
        "[{}]",
        "{\"contents\":{}}",
        "{\"contents\":[null]}",
        "{\"contents\":[{\"parts\":[null]}]}",
        "{\"contents\":[{\"parts\":{\"text\":1}}]}",
        "{\"contents\":[{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":\"not an object\"}}]}]}",
        "{\"contents\":[{\"parts\":[{\"functionResponse\":{\"response\":[1,2]}}]}]}",
        "{\"generationConfig\":{\"maxOutputTokens\":1e30}}",
        "{\"generationConfig\":{\"thinkingConfig\":{\"thinkingBudget\":99999999999}}}",
        "{\"generationConfig\":{\"seed\":\"abc\"}}",
        "{\"tools\":[{\"functionDeclarations\":[{\"name\":\"f\",\"parameters\":true}]}]}",
        "{\"candidates\":\"x\"}",
        "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\",\"thought\":\"yes\"}]}}]}",
        "{\"error\":{\"code\":99999,\"message\":null}}",
        "{\"usageMetadata\":{\"promptTokenCount\":-1}}",
    ]
    .iter()
    .map(|body| body.as_bytes().to_vec())
    .collect();
    bodies.push(format!("{}{}", "[".repeat(300), "]".repeat(300)).into_bytes());
    bodies.push(
        format!(
            "{{\"contents\":[{{\"parts\":[{{\"functionCall\":{{\"name\":\"f\",\"args\":{}1{}}}}}]}}]}}",
            "{\"a\":".repeat(200),
            "}".repeat(200)
        )
        .into_bytes(),
    );
    bodies.push(vec![0xff, 0xfe, b'{', b'}']);
    bodies
}

#[test]
fn request_and_response_decoders_never_panic() {
    for body in bodies() {
        if let Ok(request) = decode_request(&body) {
            let _ = encode_request(&request, "m");
        }
        if let Ok(response) = decode_response(&body, &meta()) {
            let _ = encode_response(&response, &meta());
        }
        let mut decoder = ChunkDecoder::new(&meta());
        let mut events = Vec::new();
        let data = String::from_utf8_lossy(&body);
        let _ = decoder.decode(
            SseFrame {
                event: None,
                data: &data,
            },
            &mut events,
        );
        decoder.finish(&mut events);
    }
}

#[test]
fn encoders_survive_events_out_of_order() {
    let events = vec![
        StreamEvent::Delta(Delta::Text("no block".into())),
        StreamEvent::BlockStop,
        StreamEvent::Delta(Delta::ToolArguments("{".into())),
        StreamEvent::BlockStart(BlockKind::ToolCall {
            id: "a".into(),
            name: "f".into(),
            signature: None,
        }),
        StreamEvent::Delta(Delta::ToolArguments("{\"unterminated".into())),
        StreamEvent::BlockStart(BlockKind::Text),
        StreamEvent::Finish(FinishReason::Stop),
        StreamEvent::Finish(FinishReason::Length),
        StreamEvent::Usage(Usage {
            input_tokens: 1,
            output_tokens: 2,
            reasoning_tokens: 5,
            ..Usage::default()
        }),
        StreamEvent::Delta(Delta::Signature("s".into())),
    ];
    let mut encoder = ChunkEncoder::new(EncoderOptions {
        meta: meta(),
        include_usage: false,
        sse: false,
    });
    let mut out = BytesMut::new();
    for event in &events {
        encoder.encode(event, &mut out);
    }
    encoder.finish(&mut out);
    let parsed: serde_json::Value = serde_json::from_slice(&out).expect("still one JSON array");
    let chunks = parsed.as_array().cloned().unwrap_or_default();
    assert_eq!(
        chunks[1]["candidates"][0]["content"]["parts"][0]["functionCall"]["args"],
        serde_json::json!({"_raw": "{\"unterminated"}),
        "an unterminated call is flushed when the next block starts, its text kept"
    );
    let last = &chunks[chunks.len() - 1];
    assert_eq!(
        last["candidates"][0]["finishReason"], "MAX_TOKENS",
        "the latest finish reason wins"
    );
    assert_eq!(
        last["usageMetadata"]["candidatesTokenCount"], 0,
        "reasoning above output is clamped"
    );

    let response = ChatResponse {
        model: "m".into(),
        content: vec![Part::ToolCall(ToolCall {
            id: String::new(),
            name: String::new(),
            arguments: "\u{0}".into(),
            signature: None,
        })],
        finish_reason: FinishReason::Other(String::new()),
        usage: Usage {
            reasoning_tokens: u64::MAX,
            ..Usage::default()
        },
    };
    let encoded = encode_response(&response, &meta());
    assert_eq!(encoded["candidates"][0]["finishReason"], "OTHER");
}
