//! Non-streamed responses against golden fixtures from the API reference.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::*;
use crate::protocol::anthropic::testing::{fixture, meta};
use crate::protocol::model::{Image, Reasoning, ToolCall};

fn decode(body: &str) -> ChatResponse {
    match decode_response(body.as_bytes(), &meta()) {
        Ok(response) => response,
        Err(err) => panic!("fixture failed to decode: {}", err.message),
    }
}

#[test]
fn decodes_text_and_counts_cache_writes_as_input() {
    assert_eq!(
        decode(fixture!("response_text.json")),
        ChatResponse {
            model: "claude-sonnet-4-5-20250929".into(),
            content: vec![Part::Text("Hi! My name is Claude.".into())],
            finish_reason: FinishReason::Stop,
            usage: Usage {
                input_tokens: 21 + 188086,
                output_tokens: 393,
                cached_input_tokens: 0,
                cache_creation_input_tokens: 188086,
                reasoning_tokens: 0,
            },
        }
    );
}

#[test]
fn decodes_tool_use_and_counts_cache_reads_as_input() {
    assert_eq!(
        decode(fixture!("response_tool_use.json")),
        ChatResponse {
            model: "claude-opus-4-1-20250805".into(),
            content: vec![
                Part::Text("I'll check the current weather in San Francisco for you.".into()),
                Part::ToolCall(ToolCall {
                    id: "toolu_01A09q90qw90lq917835lq9".into(),
                    name: "get_weather".into(),
                    arguments: r#"{"location":"San Francisco, CA","unit":"celsius"}"#.into(),
                    signature: None,
                }),
            ],
            finish_reason: FinishReason::ToolCalls,
            usage: Usage {
                input_tokens: 472 + 1800,
                output_tokens: 89,
                cached_input_tokens: 1800,
                cache_creation_input_tokens: 0,
                reasoning_tokens: 0,
            },
        }
    );
}

#[test]
fn decodes_signed_and_redacted_thinking_and_thinking_tokens() {
    let response = decode(fixture!("response_thinking.json"));
    assert_eq!(
        response.content,
        vec![
            Part::Reasoning(Reasoning {
                text: "To approach this, let's think about what we know about prime numbers...".into(),
                signature: Some(
                    "zbbJhbGciOiJFU8zI1NiIsImtakcjsu38219c0.eyJoYXNoIjoiYWJjMTIzIiwiaWF0IjoxNjE0NTM0NTY3fQ....".into()
                ),
                redacted: None,
            }),
            Part::Reasoning(Reasoning {
                text: String::new(),
                signature: None,
                redacted: Some(
                    "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj"
                        .into()
                ),
            }),
            Part::Text("Yes, there are infinitely many prime numbers such that n mod 4 = 3...".into()),
        ]
    );
    assert_eq!(response.finish_reason, FinishReason::Length);
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 2095,
            output_tokens: 503,
            reasoning_tokens: 412,
            ..Usage::default()
        }
    );
}

#[test]
fn drops_server_tool_blocks_and_keeps_pause_turn() {
    let response = decode(fixture!("response_web_search.json"));
    assert_eq!(
        response.content,
        vec![
            Part::Text("I'll search for when Claude Shannon was born.".into()),
            Part::Text("Claude Shannon was born on April 30, 1916, in Petoskey, Michigan".into()),
        ]
    );
    assert_eq!(response.finish_reason, FinishReason::Other("pause_turn".into()));
    let encoded = encode_response(&response, &meta());
    assert_eq!(encoded["stop_reason"], "pause_turn");
}

#[test]
fn an_error_body_becomes_the_upstream_error() {
    let cases = [
        ("overloaded_error", 529, ErrorKind::Overloaded),
        ("rate_limit_error", 429, ErrorKind::RateLimited),
        ("api_error", 500, ErrorKind::Api),
        ("authentication_error", 401, ErrorKind::Authentication),
        ("invalid_request_error", 400, ErrorKind::InvalidRequest),
        ("timeout_error", 504, ErrorKind::Timeout),
    ];
    for (kind, status, error_kind) in cases {
        let body = json!({
            "type": "error",
            "error": {"type": kind, "message": "Overloaded"},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"
        });
        let err = decode_response(body.to_string().as_bytes(), &meta()).unwrap_err();
        assert_eq!((err.status, err.kind), (status, error_kind), "{kind}");
        assert_eq!(err.message, "Overloaded");
    }
}

#[test]
fn an_unreadable_body_is_a_bad_gateway_not_a_bad_request() {
    for body in [
        &b"<html>502 Bad Gateway</html>"[..],
        br#"{"content": [{"type": "text"}]}"#,
        br#"{"content": "#,
    ] {
        let err = decode_response(body, &meta()).unwrap_err();
        assert_eq!((err.status, err.kind), (502, ErrorKind::Api));
        assert!(err.message.contains("Anthropic upstream"), "{}", err.message);
    }
    let err = decode_response(br#"{"content": [{"type": "text"}]}"#, &meta()).unwrap_err();
    assert!(err.message.contains("missing field `text`"), "{}", err.message);
}

#[test]
fn decodes_lenient_bodies_from_compatible_servers() {
    let response = decode(r#"{"content": [{"type": "text", "text": "ok"}], "model": null, "usage": null}"#);
    assert_eq!(response.content, vec![Part::Text("ok".into())]);
    assert_eq!(response.finish_reason, FinishReason::Stop);
    assert_eq!(response.usage, Usage::default());
}

/// What an OpenAI or Gemini upstream's turn looks like once decoded.
fn translated_response() -> ChatResponse {
    ChatResponse {
        model: "gpt-5".into(),
        content: vec![
            Part::Reasoning(Reasoning {
                text: "The user is in Paris.".into(),
                signature: Some("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds".into()),
                redacted: None,
            }),
            Part::Reasoning(Reasoning {
                text: String::new(),
                signature: None,
                redacted: Some("EmwKAhgBEgy3va3pzix/LafPsn4a".into()),
            }),
            Part::Reasoning(Reasoning {
                text: "**Checking the weather** summary from another protocol".into(),
                signature: None,
                redacted: None,
            }),
            Part::Reasoning(Reasoning::default()),
            Part::Text("Let me check.".into()),
            Part::Text(String::new()),
            Part::Image(Image::Url("https://example.com/generated.png".into())),
            Part::ToolCall(ToolCall {
                id: "call_1".into(),
                name: "get_weather".into(),
                arguments: r#"{"location": "Paris"}"#.into(),
                signature: Some("Gemini thought signature".into()),
            }),
            Part::ToolCall(ToolCall {
                id: "call_2".into(),
                name: "get_time".into(),
                arguments: String::new(),
                signature: None,
            }),
        ],
        finish_reason: FinishReason::ToolCalls,
        usage: Usage {
            input_tokens: 2500,
            output_tokens: 300,
            cached_input_tokens: 2000,
            cache_creation_input_tokens: 100,
            reasoning_tokens: 120,
        },
    }
}

#[test]
fn encodes_a_translated_response_as_the_api_returns_it() {
    let expected: Value = serde_json::from_str(fixture!("encoded_response.json")).unwrap();
    assert_eq!(encode_response(&translated_response(), &meta()), expected);
}

#[test]
fn round_trips_every_response_fixture() {
    for fixture in [
        fixture!("response_text.json"),
        fixture!("response_tool_use.json"),
        fixture!("response_thinking.json"),
        fixture!("response_web_search.json"),
    ] {
        let first = decode(fixture);
        let meta = ResponseMeta {
            model: first.model.clone(),
            ..meta()
        };
        let encoded = encode_response(&first, &meta);
        assert_eq!(encoded["id"], "msg_01TestId");
        assert_eq!(decode(&encoded.to_string()), first);
    }
}

#[test]
fn maps_every_stop_reason_both_ways() {
    let pairs = [
        ("end_turn", FinishReason::Stop),
        ("stop_sequence", FinishReason::StopSequence),
        ("max_tokens", FinishReason::Length),
        ("tool_use", FinishReason::ToolCalls),
        ("refusal", FinishReason::ContentFilter),
        ("pause_turn", FinishReason::Other("pause_turn".into())),
    ];
    for (wire, model) in pairs {
        assert_eq!(finish_from_wire(wire), model);
        assert_eq!(finish_to_wire(&model), wire);
    }
    assert_eq!(finish_from_wire("model_context_window_exceeded"), FinishReason::Length);
    // Reasons only other protocols have must not reach a client's enum.
    assert_eq!(finish_to_wire(&FinishReason::Other("RECITATION".into())), "end_turn");
}

#[test]
fn usage_excludes_cache_from_input_tokens_on_the_wire() {
    let usage = Usage {
        input_tokens: 100,
        output_tokens: 7,
        cached_input_tokens: 60,
        cache_creation_input_tokens: 30,
        reasoning_tokens: 0,
    };
    assert_eq!(
        usage_json(&usage),
        json!({
            "input_tokens": 10,
            "cache_creation_input_tokens": 30,
            "cache_read_input_tokens": 60,
            "output_tokens": 7
        })
    );
    // Inconsistent counts from an upstream never underflow.
    let odd = Usage {
        input_tokens: 5,
        cached_input_tokens: 60,
        ..Usage::default()
    };
    assert_eq!(usage_json(&odd)["input_tokens"], 0);
}
