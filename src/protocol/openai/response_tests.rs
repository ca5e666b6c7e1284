use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::*;
use crate::protocol::ErrorKind;
use crate::protocol::model::{Image, ToolCall};

const TEXT: &str = include_str!("../../../tests/fixtures/openai/response_text.json");
const TEXT_OUT: &str = include_str!("../../../tests/fixtures/openai/encoded_response_text.json");
const TOOLS: &str = include_str!("../../../tests/fixtures/openai/response_tool_calls.json");
const TOOLS_OUT: &str = include_str!("../../../tests/fixtures/openai/encoded_response_tool_calls.json");
const REASONING: &str = include_str!("../../../tests/fixtures/openai/response_reasoning.json");
const REASONING_OUT: &str = include_str!("../../../tests/fixtures/openai/encoded_response_reasoning.json");

fn meta() -> ResponseMeta {
    ResponseMeta {
        id: "sy0123456789".to_owned(),
        model: "gpt-4o".to_owned(),
        created: 1_767_225_600,
    }
}

fn decode(body: &str) -> ChatResponse {
    decode_response(body.as_bytes(), &meta()).expect("fixture decodes")
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

fn call(id: &str, name: &str, arguments: &str) -> Part {
    Part::ToolCall(ToolCall {
        id: id.to_owned(),
        name: name.to_owned(),
        arguments: arguments.to_owned(),
        signature: None,
    })
}

#[test]
fn text_fixture_decodes_content_and_cached_usage() {
    let response = decode(TEXT);
    assert_eq!(response.model, "gpt-4.1-2025-04-14");
    assert_eq!(
        response.content,
        vec![Part::Text("Hello! How can I assist you today?".to_owned())]
    );
    assert_eq!(response.finish_reason, FinishReason::Stop);
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 2006,
            output_tokens: 300,
            cached_input_tokens: 1920,
            cache_creation_input_tokens: 0,
            reasoning_tokens: 0,
        }
    );
}

#[test]
fn tool_call_fixture_decodes_both_calls() {
    let response = decode(TOOLS);
    assert_eq!(
        response.content,
        vec![
            call(
                "call_qOfTGgDrItLORNfC6VwUbyLL",
                "get_weather",
                r#"{"location":"Shanghai"}"#
            ),
            call(
                "call_7ZbH0GgqFwxkS5EJ2Yf0cT3d",
                "get_weather",
                r#"{"location":"Tokyo"}"#
            ),
        ]
    );
    assert_eq!(response.finish_reason, FinishReason::ToolCalls);
    assert_eq!(response.usage.input_tokens, 91);
    assert_eq!(response.usage.output_tokens, 46);
}

#[test]
fn reasoning_fixture_decodes_reasoning_first_and_its_token_count() {
    let response = decode(REASONING);
    assert_eq!(
        response.content,
        vec![
            Part::Reasoning(Reasoning {
                text: "Compare the tenths: 1 < 8, so 9.11 < 9.8.".to_owned(),
                signature: None,
                redacted: None,
            }),
            Part::Text("9.11 is smaller than 9.8.".to_owned()),
        ]
    );
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 1250,
            output_tokens: 410,
            cached_input_tokens: 1024,
            cache_creation_input_tokens: 0,
            reasoning_tokens: 372,
        }
    );
}

#[test]
fn fixtures_encode_to_the_expected_client_bodies() {
    for (upstream, client) in [(TEXT, TEXT_OUT), (TOOLS, TOOLS_OUT), (REASONING, REASONING_OUT)] {
        assert_eq!(encode_response(&decode(upstream), &meta()), json_of(client), "{client}");
    }
}

#[test]
fn fixtures_round_trip_through_the_client_body() {
    for fixture in [TEXT, TOOLS, REASONING] {
        let first = decode(fixture);
        let encoded = encode_response(&first, &meta());
        let second = decode(&encoded.to_string());
        // The client body names the model the client asked for.
        assert_eq!(
            second,
            ChatResponse {
                model: "gpt-4o".to_owned(),
                ..first
            }
        );
    }
}

#[test]
fn finish_reasons_decode() {
    let cases = [
        (Some("stop"), false, FinishReason::Stop),
        (None, false, FinishReason::Stop),
        (Some("length"), false, FinishReason::Length),
        (Some("tool_calls"), true, FinishReason::ToolCalls),
        (Some("function_call"), true, FinishReason::ToolCalls),
        (Some("content_filter"), false, FinishReason::ContentFilter),
        (Some("eos"), false, FinishReason::Other("eos".to_owned())),
        // A server that says `stop` after calling tools.
        (Some("stop"), true, FinishReason::ToolCalls),
        (Some("length"), true, FinishReason::Length),
    ];
    for (wire, calls, expected) in cases {
        assert_eq!(decode_finish_reason(wire, calls), expected, "{wire:?}");
    }
}

#[test]
fn finish_reasons_encode() {
    let cases = [
        (FinishReason::Stop, false, "stop"),
        (FinishReason::StopSequence, false, "stop"),
        (FinishReason::Length, false, "length"),
        (FinishReason::ToolCalls, true, "tool_calls"),
        (FinishReason::ContentFilter, false, "content_filter"),
        (FinishReason::Other("function_call".to_owned()), true, "function_call"),
        (FinishReason::Other("MALFORMED_FUNCTION_CALL".to_owned()), false, "stop"),
        (FinishReason::Other("pause_turn".to_owned()), true, "tool_calls"),
        // Gemini ends a tool-calling turn with STOP.
        (FinishReason::Stop, true, "tool_calls"),
    ];
    for (reason, calls, expected) in cases {
        assert_eq!(finish_reason_name(&reason, calls), expected, "{reason:?}");
    }
}

#[test]
fn usage_reads_every_shape() {
    // DeepSeek's cache field, totals without completion_tokens, wrong types.
    assert_eq!(
        usage_from_value(&json!({"prompt_tokens": 100, "total_tokens": 130, "prompt_cache_hit_tokens": 64})),
        Usage {
            input_tokens: 100,
            output_tokens: 30,
            cached_input_tokens: 64,
            ..Usage::default()
        }
    );
    assert_eq!(
        usage_from_value(&json!({
            "prompt_tokens": 10.0, "completion_tokens": "5",
            "prompt_tokens_details": {"cached_tokens": null, "cache_write_tokens": 8}
        })),
        Usage {
            input_tokens: 10,
            output_tokens: 0,
            cache_creation_input_tokens: 8,
            ..Usage::default()
        }
    );
    assert_eq!(usage_from_value(&json!(null)), Usage::default());
    // Cache writes appear in the client body only when there are some.
    let usage = Usage {
        input_tokens: 50,
        output_tokens: 7,
        cached_input_tokens: 10,
        cache_creation_input_tokens: 30,
        reasoning_tokens: 3,
    };
    assert_eq!(
        usage_to_value(&usage),
        json!({
            "prompt_tokens": 50,
            "completion_tokens": 7,
            "total_tokens": 57,
            "prompt_tokens_details": {"cached_tokens": 10, "cache_write_tokens": 30},
            "completion_tokens_details": {"reasoning_tokens": 3}
        })
    );
    assert_eq!(usage_from_value(&usage_to_value(&usage)), usage);
}

#[test]
fn compatible_server_quirks_decode() {
    let body = json!({
        "choices": [
            {"index": 1, "message": {"content": "second choice"}, "finish_reason": "stop"},
            {"index": 0, "message": {
                "content": [{"type": "text", "text": "parts "}, {"type": "text", "text": "array"}],
                "reasoning": "vLLM names it reasoning",
                "refusal": "",
                "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"x": 1}}}]
            }, "finish_reason": "stop"}
        ]
    });
    let response = decode_response(body.to_string().as_bytes(), &meta()).expect("decodes");
    // No model in the body: the requested one.
    assert_eq!(response.model, "gpt-4o");
    assert_eq!(
        response.content,
        vec![
            Part::Reasoning(Reasoning {
                text: "vLLM names it reasoning".to_owned(),
                ..Reasoning::default()
            }),
            Part::Text("parts ".to_owned()),
            Part::Text("array".to_owned()),
            // No id upstream: one from the meta.
            call("call_sy0123456789_0", "f", r#"{"x":1}"#),
        ]
    );
    assert_eq!(response.finish_reason, FinishReason::ToolCalls);
    assert_eq!(response.usage, Usage::default());
}

#[test]
fn error_bodies_and_empty_choices_are_errors() {
    let err = decode_response(
        br#"{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","code":"rate_limit_exceeded"}}"#,
        &meta(),
    )
    .expect_err("error body");
    assert_eq!(err.status, 429);
    assert_eq!(err.kind, ErrorKind::RateLimited);
    assert_eq!(err.message, "Rate limit reached for gpt-4o");

    for body in [r#"{"choices": []}"#, r#"{"choices": null}"#, r#"{"id": "x"}"#] {
        let err = decode_response(body.as_bytes(), &meta()).expect_err(body);
        assert_eq!(err.status, 502, "{body}");
        assert!(err.message.contains("no choices"), "{}", err.message);
    }
    let err = decode_response(b"<html>502 Bad Gateway</html>", &meta()).expect_err("html");
    assert_eq!(err.status, 502);
    let err = decode_response(br#"{"choices":[{"message":{"content":5}}]}"#, &meta()).expect_err("bad content");
    assert!(err.message.contains("choices[0].message.content"), "{}", err.message);
}

#[test]
fn upstream_errors_keep_message_and_infer_status() {
    let cases = [
        (json!({"message": "bad", "type": "invalid_request_error"}), 400),
        (json!({"message": "slow down", "code": 429}), 429),
        (json!({"message": "quota", "code": "insufficient_quota"}), 429),
        (json!({"message": "who", "code": "invalid_api_key"}), 401),
        (json!({"message": "busy", "type": "overloaded_error"}), 503),
        (json!({"message": "oops", "type": "server_error", "code": null}), 500),
        (json!({"message": "teapot", "code": 999}), 500),
        (json!("plain string error"), 500),
    ];
    for (error, status) in cases {
        let err = error_from_value(&error);
        assert_eq!(err.status, status, "{error}");
        let expected = error
            .get("message")
            .and_then(Value::as_str)
            .or(error.as_str())
            .expect("message");
        assert_eq!(err.message, expected);
    }
    assert_eq!(
        error_from_value(&json!({})).message,
        "the upstream reported an error without a message"
    );
}

#[test]
fn encoding_joins_text_and_drops_what_clients_cannot_read() {
    let response = ChatResponse {
        model: "gemini-2.5-pro".to_owned(),
        content: vec![
            Part::Reasoning(Reasoning {
                text: "Think".to_owned(),
                signature: Some("sig-a".to_owned()),
                redacted: None,
            }),
            Part::Reasoning(Reasoning {
                text: "ing.".to_owned(),
                signature: None,
                redacted: Some("opaque".to_owned()),
            }),
            Part::Text("Here ".to_owned()),
            Part::Image(Image::Url("https://example.com/a.png".to_owned())),
            Part::Text("you go.".to_owned()),
            Part::ToolCall(ToolCall {
                id: String::new(),
                name: "lookup".to_owned(),
                arguments: String::new(),
                signature: Some("thought-sig".to_owned()),
            }),
        ],
        finish_reason: FinishReason::Stop,
        usage: Usage::default(),
    };
    assert_eq!(
        encode_response(&response, &meta())["choices"],
        json!([{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Here you go.",
                "refusal": null,
                "reasoning_content": "Thinking.",
                "tool_calls": [{
                    "id": "call_sy0123456789_0",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": "{}"}
                }]
            },
            "logprobs": null,
            "finish_reason": "tool_calls"
        }])
    );
}

#[test]
fn an_empty_turn_encodes_empty_content() {
    let response = ChatResponse {
        model: String::new(),
        content: Vec::new(),
        finish_reason: FinishReason::Length,
        usage: Usage::default(),
    };
    let encoded = encode_response(&response, &meta());
    assert_eq!(encoded["choices"][0]["message"]["content"], json!(""));
    assert_eq!(encoded["choices"][0]["finish_reason"], json!("length"));
    assert_eq!(encoded["choices"][0]["message"].get("tool_calls"), None);
}
