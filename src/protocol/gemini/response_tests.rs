//! Response decoding and encoding against golden fixtures.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::{decode_finish_reason, decode_response, encode_finish_reason, encode_response};
use crate::protocol::model::{ChatResponse, FinishReason, Part, Reasoning, ResponseMeta, ToolCall, Usage};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/gemini/", $name))
    };
}

fn meta() -> ResponseMeta {
    ResponseMeta {
        id: "resp01abc".into(),
        model: "gemini-2.5-pro".into(),
        created: 1_760_000_000,
    }
}

fn decode(body: &str) -> ChatResponse {
    match decode_response(body.as_bytes(), &meta()) {
        Ok(response) => response,
        Err(err) => panic!("fixture did not decode: {}", err.message),
    }
}

/// Decode → encode → decode gives the same model (the model name comes back
/// as the one the client asked for, so the meta carries the fixture's).
fn assert_round_trip(response: &ChatResponse) {
    let meta = ResponseMeta {
        model: response.model.clone(),
        ..meta()
    };
    let encoded = encode_response(response, &meta);
    let again = decode_response(encoded.to_string().as_bytes(), &meta).expect("re-decodes");
    assert_eq!(&again, response, "round trip through {encoded}");
}

#[test]
fn text_response() {
    let response = decode(fixture!("response_text.json"));
    assert_eq!(
        response,
        ChatResponse {
            model: "gemini-2.5-flash".into(),
            content: vec![Part::Text(
                "In the heart of a bustling city lived a little robot named Bolt.".into()
            )],
            finish_reason: FinishReason::Stop,
            usage: Usage {
                input_tokens: 8,
                output_tokens: 15,
                ..Usage::default()
            },
        }
    );
    assert_round_trip(&response);
}

#[test]
fn parallel_function_calls_get_ids_and_keep_their_signature() {
    let response = decode(fixture!("response_tool_calls.json"));
    assert_eq!(
        response.content,
        vec![
            Part::ToolCall(ToolCall {
                id: "call_resp01abc_0".into(),
                name: "get_current_temperature".into(),
                arguments: r#"{"location":"London"}"#.into(),
                signature: Some("CtwBAdHtim9m0sAzZ2VtaW5pLXNpZw==".into()),
            }),
            Part::ToolCall(ToolCall {
                id: "call_resp01abc_1".into(),
                name: "get_current_temperature".into(),
                arguments: r#"{"location":"Paris","unit":"celsius"}"#.into(),
                signature: None,
            }),
        ]
    );
    assert_eq!(response.finish_reason, FinishReason::ToolCalls, "STOP after a call");
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 74,
            output_tokens: 36 + 88,
            reasoning_tokens: 88,
            ..Usage::default()
        }
    );
    assert_eq!(response.model, "gemini-3-pro-preview");
    assert_round_trip(&response);
}

#[test]
fn thoughts_signatures_and_cached_tokens() {
    let response = decode(fixture!("response_thinking.json"));
    assert_eq!(
        response.content,
        vec![
            Part::Reasoning(Reasoning {
                text: "**Weighing the options**\nThe user asks for a prime check; trial division suffices.".into(),
                signature: None,
                redacted: None,
            }),
            Part::Reasoning(Reasoning {
                text: String::new(),
                signature: Some("Ej8KPQHR7Yp/aBcZxPq0".into()),
                redacted: None,
            }),
            Part::Text("Yes, 1,000,003 is prime.".into()),
        ]
    );
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 2120,
            output_tokens: 9 + 312,
            cached_input_tokens: 2048,
            cache_creation_input_tokens: 0,
            reasoning_tokens: 312,
        }
    );
    assert_round_trip(&response);
    let encoded = encode_response(&response, &meta());
    assert_eq!(
        encoded["usageMetadata"]["totalTokenCount"], 2441,
        "prompt + candidates + thoughts"
    );
}

#[test]
fn blocked_prompt_is_an_empty_filtered_response() {
    let response = decode(fixture!("response_blocked.json"));
    assert_eq!(
        response,
        ChatResponse {
            model: "gemini-2.5-flash".into(),
            content: Vec::new(),
            finish_reason: FinishReason::ContentFilter,
            usage: Usage {
                input_tokens: 7,
                ..Usage::default()
            },
        }
    );
    let encoded = encode_response(&response, &meta());
    assert_eq!(
        encoded["candidates"],
        json!([{"finishReason": "SAFETY", "index": 0}]),
        "a filtered turn carries no content"
    );
}

#[test]
fn thinking_that_used_every_token() {
    let response = decode(fixture!("response_max_tokens.json"));
    assert_eq!(response.content, Vec::<Part>::new());
    assert_eq!(response.finish_reason, FinishReason::Length);
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 12,
            output_tokens: 49,
            reasoning_tokens: 49,
            ..Usage::default()
        }
    );
    let encoded = encode_response(&response, &meta());
    assert_eq!(
        encoded["candidates"][0]["content"],
        json!({"parts": [{"text": ""}], "role": "model"}),
        "google-genai chats keep only turns with a part"
    );
    assert_round_trip(&response);
}

#[test]
fn encodes_for_a_google_genai_client() {
    let response = ChatResponse {
        model: "gemini-2.5-pro-002".into(),
        content: vec![
            Part::Reasoning(Reasoning {
                text: "Thinking about the weather.".into(),
                signature: None,
                redacted: None,
            }),
            Part::Reasoning(Reasoning {
                text: String::new(),
                signature: Some("Ej8KPQHR7Yp/c2ln".into()),
                redacted: None,
            }),
            Part::Text("Checking now.".into()),
            Part::ToolCall(ToolCall {
                id: "call_9".into(),
                name: "get_weather".into(),
                arguments: r#"{"city": "Paris"}"#.into(),
                signature: Some("CtwBAdHtim9z".into()),
            }),
            Part::ToolCall(ToolCall {
                id: "call_10".into(),
                name: "broken".into(),
                arguments: "{oops".into(),
                signature: None,
            }),
            Part::Reasoning(Reasoning {
                text: String::new(),
                signature: None,
                redacted: Some("opaque".into()),
            }),
        ],
        finish_reason: FinishReason::ToolCalls,
        usage: Usage {
            input_tokens: 100,
            output_tokens: 50,
            cached_input_tokens: 40,
            cache_creation_input_tokens: 0,
            reasoning_tokens: 20,
        },
    };
    let expected: Value = serde_json::from_str(fixture!("encoded_response.json")).unwrap();
    assert_eq!(encode_response(&response, &meta()), expected);
}

#[test]
fn finish_reasons_both_ways() {
    for (wire, model) in [
        ("STOP", FinishReason::Stop),
        ("MAX_TOKENS", FinishReason::Length),
        ("SAFETY", FinishReason::ContentFilter),
        ("RECITATION", FinishReason::ContentFilter),
        ("BLOCKLIST", FinishReason::ContentFilter),
        ("PROHIBITED_CONTENT", FinishReason::ContentFilter),
        ("SPII", FinishReason::ContentFilter),
        ("IMAGE_SAFETY", FinishReason::ContentFilter),
        (
            "MALFORMED_FUNCTION_CALL",
            FinishReason::Other("MALFORMED_FUNCTION_CALL".into()),
        ),
        ("LANGUAGE", FinishReason::Other("LANGUAGE".into())),
    ] {
        assert_eq!(decode_finish_reason(wire, false), model, "{wire}");
    }
    assert_eq!(decode_finish_reason("STOP", true), FinishReason::ToolCalls);
    assert_eq!(decode_finish_reason("MAX_TOKENS", true), FinishReason::Length);
    for (model, wire) in [
        (FinishReason::Stop, "STOP"),
        (FinishReason::StopSequence, "STOP"),
        (FinishReason::ToolCalls, "STOP"),
        (FinishReason::Length, "MAX_TOKENS"),
        (FinishReason::ContentFilter, "SAFETY"),
        (FinishReason::Other("x".into()), "OTHER"),
    ] {
        assert_eq!(encode_finish_reason(&model), wire, "{model:?}");
    }
}

#[test]
fn error_bodies_and_garbage_are_errors() {
    let err = decode_response(
        br#"{"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED"}}"#,
        &meta(),
    )
    .unwrap_err();
    assert_eq!(err.status, 429);
    assert_eq!(err.message, "Resource has been exhausted (e.g. check quota).");
    let err = decode_response(br#"{"error": {"status": "INTERNAL"}}"#, &meta()).unwrap_err();
    assert_eq!((err.status, err.message.as_str()), (500, "INTERNAL"));
    let err = decode_response(br#"{"modelVersion": "m"}"#, &meta()).unwrap_err();
    assert_eq!(err.status, 500, "{}", err.message);
    assert!(decode_response(b"<html>", &meta()).is_err());
    assert!(
        decode_response(
            br#"{"candidates": [{"content": {"parts": [{"functionCall": {}}]}}]}"#,
            &meta()
        )
        .is_err()
    );
}

#[test]
fn usage_without_counts_and_missing_finish_reason() {
    let response = decode(r#"{"candidates": [{"content": {"parts": [{"text": "hi"}]}}]}"#);
    assert_eq!(response.finish_reason, FinishReason::Stop);
    assert_eq!(response.usage, Usage::default());
    assert_eq!(
        response.model, "gemini-2.5-pro",
        "the meta's model when the upstream names none"
    );
    let calls = decode(r#"{"candidates": [{"content": {"parts": [{"functionCall": {"id": "own", "name": "f"}}]}}]}"#);
    assert_eq!(calls.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        calls.content,
        vec![Part::ToolCall(ToolCall {
            id: "own".into(),
            name: "f".into(),
            arguments: "{}".into(),
            signature: None
        })]
    );
}

#[test]
fn absurd_counts_from_another_upstream_saturate_instead_of_overflowing() {
    // Found by the fuzzer: an OpenAI answer claiming 2e28 prompt tokens,
    // translated for a Gemini client, overflowed the total.
    let openai = br#"{"id":"c","object":"chat.completion","created":1,"model":"m",
        "choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
        "usage":{"prompt_tokens":200e26,"completion_tokens":300,"total_tokens":2306}}"#;
    let response = crate::protocol::openai::decode_response(openai, &meta()).unwrap();
    let encoded = encode_response(&response, &meta());
    assert_eq!(encoded["usageMetadata"]["totalTokenCount"], json!(u64::MAX));
    let huge = decode(
        r#"{"candidates": [{"content": {"parts": [{"text": "hi"}]}}],
            "usageMetadata": {"promptTokenCount": 18446744073709551615, "toolUsePromptTokenCount": 5,
                              "candidatesTokenCount": 18446744073709551615, "thoughtsTokenCount": 9}}"#,
    );
    assert_eq!(huge.usage.input_tokens, u64::MAX);
    assert_eq!(huge.usage.output_tokens, u64::MAX);
}
