//! The Response object: decoding API-shaped bodies, encoding the model's
//! turns for Responses clients, and the two round-tripping.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::*;
use crate::protocol::model::{Image, Reasoning};
use crate::protocol::responses::decode_request;
use crate::protocol::responses::testing::{assert_response_shape, fixture, meta};

fn decode(body: &str) -> ChatResponse {
    match decode_response(body.as_bytes(), &meta()) {
        Ok(response) => response,
        Err(err) => panic!("fixture failed to decode: {}", err.message),
    }
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

fn call(id: &str, name: &str, arguments: &str, signature: Option<&str>) -> Part {
    Part::ToolCall(ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
        signature: signature.map(Into::into),
    })
}

fn signed(text: &str, signature: &str) -> Part {
    Part::Reasoning(Reasoning {
        text: text.into(),
        signature: Some(signature.into()),
        redacted: None,
    })
}

fn codex_options() -> RequestOptions {
    match decode_request(fixture!("request_codex.json").as_bytes()) {
        Ok((_, options)) => options,
        Err(err) => panic!("{}", err.message),
    }
}

/// A Codex turn with every kind of part, from an upstream that signs its
/// reasoning and its calls.
fn codex_turn() -> ChatResponse {
    ChatResponse {
        model: "claude-sonnet-4-5".into(),
        content: vec![
            signed("**Running tests**\n\nI'll run cargo test.", "RXF3QkNrZ0lD"),
            Part::Reasoning(Reasoning {
                text: String::new(),
                signature: None,
                redacted: Some("RURBVEE=".into()),
            }),
            // Neither text nor anything to replay: no item.
            Part::Reasoning(Reasoning::default()),
            Part::Text("Running the tests now.".into()),
            Part::Image(Image::Url("https://example.com/never-shown.png".into())),
            call("toolu_01A", "shell", r#"{"command":["cargo","test"]}"#, None),
            call("", "mcp__weather__get_forecast", "", Some("Q2lNQ0FR")),
        ],
        finish_reason: FinishReason::Stop,
        usage: Usage {
            input_tokens: 4096,
            output_tokens: 512,
            cached_input_tokens: 3072,
            cache_creation_input_tokens: 128,
            reasoning_tokens: 256,
        },
    }
}

// --- decoding ---------------------------------------------------------------

#[test]
fn the_live_api_text_response_decodes() {
    let response = decode(fixture!("response_text.json"));
    assert_eq!(
        response,
        ChatResponse {
            model: "gpt-4o-mini-2024-07-18".into(),
            content: vec![Part::Text("I can't provide real-time updates, but you can easily check the current weather in San Francisco using a weather website or app. Typically, San Francisco has cool, foggy summers and mild winters, so it's good to be prepared for variable weather!".into())],
            finish_reason: FinishReason::Stop,
            usage: Usage {
                input_tokens: 14,
                output_tokens: 50,
                ..Usage::default()
            },
        }
    );
}

#[test]
fn reasoning_summaries_encrypted_content_and_cached_usage_decode() {
    let response = decode(fixture!("response_reasoning.json"));
    assert_eq!(
        response.content,
        vec![
            signed(
                "**Comparing decimals**\n\nThe tenths digit decides: 1 < 8.\n\n**Answering**\n\n9.11 is smaller.",
                "gAAAAABor0oR8k3pV0xwZ1c2RnR5UXlZbEo0aTdNcXJ2"
            ),
            Part::Text("9.11 is smaller than 9.8.".into()),
        ]
    );
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 2006,
            output_tokens: 300,
            cached_input_tokens: 1920,
            cache_creation_input_tokens: 0,
            reasoning_tokens: 192,
        }
    );
    assert_eq!(response.finish_reason, FinishReason::Stop);
}

#[test]
fn function_calls_decode_and_built_in_calls_are_skipped() {
    let response = decode(fixture!("response_tool_calls.json"));
    assert_eq!(
        response.content,
        vec![
            Part::Text("Let me check both.".into()),
            Part::Text("I won't guess the humidity.".into()),
            call(
                "call_unLAR8MvFNptuiZK6K6HCy5k",
                "get_current_weather",
                r#"{"location":"Paris, France","unit":"celsius"}"#,
                None
            ),
            // Namespaced, with empty arguments made a valid object.
            call("call_Weather0002", "mcp__weather__get_forecast", "{}", None),
        ]
    );
    assert_eq!(response.finish_reason, FinishReason::ToolCalls);
    // Usage without details still reads.
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 291,
            output_tokens: 23,
            ..Usage::default()
        }
    );
}

#[test]
fn an_incomplete_response_decodes_as_a_length_finish() {
    let response = decode(fixture!("response_incomplete.json"));
    assert_eq!(
        response.content,
        vec![Part::Text("Once upon a time, in a land far".into())]
    );
    assert_eq!(response.finish_reason, FinishReason::Length);
    assert_eq!(response.usage.output_tokens, 16);
}

#[test]
fn a_failed_response_is_the_upstream_error() {
    let err = decode_response(fixture!("response_failed.json").as_bytes(), &meta()).expect_err("failed");
    assert_eq!(err.status, 429);
    assert_eq!(err.kind, ErrorKind::RateLimited);
    assert!(
        err.message.starts_with("Rate limit reached for gpt-4.1"),
        "{}",
        err.message
    );
}

#[test]
fn finish_reasons_and_error_codes_map_both_ways() {
    assert_eq!(
        finish_from_status(Some("incomplete"), Some("content_filter"), false),
        FinishReason::ContentFilter
    );
    assert_eq!(
        finish_from_status(Some("incomplete"), Some("interrupted"), false),
        FinishReason::Other("interrupted".into())
    );
    assert_eq!(
        finish_from_status(Some("completed"), None, true),
        FinishReason::ToolCalls
    );
    assert_eq!(finish_from_status(None, None, false), FinishReason::Stop);
    let status = |code: &str| error_from_value(&json!({"code": code, "message": "m"})).status;
    assert_eq!(status("server_is_overloaded"), 503);
    assert_eq!(status("invalid_image_url"), 400);
    assert_eq!(status("context_length_exceeded"), 400);
    assert_eq!(status("server_error"), 500);
    assert_eq!(
        error_from_value(&json!({"code": null})).message,
        "the upstream reported an error without a message"
    );
    let code = |kind: ErrorKind| error_object(&ApiError::new(kind, "m"))["code"].clone();
    assert_eq!(code(ErrorKind::RateLimited), "rate_limit_exceeded");
    assert_eq!(code(ErrorKind::Overloaded), "server_is_overloaded");
    assert_eq!(code(ErrorKind::InvalidRequest), "invalid_prompt");
    assert_eq!(code(ErrorKind::Timeout), "server_error");
}

#[test]
fn unreadable_bodies_are_502s() {
    for body in [
        "{",
        "[]",
        r#"{"output": 5}"#,
        r#"{"output": [{"type": "function_call", "name": 5}]}"#,
    ] {
        let err = decode_response(body.as_bytes(), &meta()).expect_err(body);
        assert_eq!(err.status, 502, "{body}");
        assert!(err.message.contains("could not be read"), "{}", err.message);
    }
    let err = decode_response(br#"{"status": "failed", "output": []}"#, &meta()).expect_err("failed");
    assert_eq!(err.status, 502);
}

// --- encoding ---------------------------------------------------------------

#[test]
fn a_text_turn_encodes_as_the_api_would_send_it() {
    let response = ChatResponse {
        model: "gpt-4o-mini".into(),
        content: vec![Part::Text("Hello! How can I help you today?".into())],
        finish_reason: FinishReason::Stop,
        usage: Usage {
            input_tokens: 14,
            output_tokens: 9,
            ..Usage::default()
        },
    };
    let encoded = encode_response(&response, &meta(), &RequestOptions::default());
    assert_eq!(encoded, json_of(fixture!("encoded_response_text.json")));
    assert_response_shape(&encoded);
}

#[test]
fn a_codex_turn_encodes_signatures_namespaces_and_usage() {
    let encoded = encode_response(&codex_turn(), &meta(), &codex_options());
    assert_eq!(encoded, json_of(fixture!("encoded_response_codex.json")));
    assert_response_shape(&encoded);
}

#[test]
fn without_include_reasoning_keeps_its_text_only() {
    let options = RequestOptions {
        namespaced_tools: codex_options().namespaced_tools,
        ..RequestOptions::default()
    };
    let encoded = encode_response(&codex_turn(), &meta(), &options);
    let output = encoded["output"].as_array().expect("output");
    let types: Vec<&str> = output.iter().filter_map(|item| item["type"].as_str()).collect();
    // The redacted reasoning and the call's signature have nothing to show.
    assert_eq!(types, vec!["reasoning", "message", "function_call", "function_call"]);
    assert!(output.iter().all(|item| item.get("encrypted_content").is_none()));
    assert_eq!(
        output[0]["summary"],
        json!([{"type": "summary_text", "text": "**Running tests**\n\nI'll run cargo test."}])
    );
    assert_eq!(output[3]["id"], "fc_sy7f3a9c2e_3");
    assert_eq!(output[3]["namespace"], "mcp__weather__");
}

#[test]
fn length_and_content_filter_finishes_are_incomplete() {
    let mut response = ChatResponse {
        model: "m".into(),
        content: vec![Part::Text("Once upon".into())],
        finish_reason: FinishReason::Length,
        usage: Usage::default(),
    };
    let encoded = encode_response(&response, &meta(), &RequestOptions::default());
    assert_eq!(encoded["status"], "incomplete");
    assert_eq!(encoded["incomplete_details"], json!({"reason": "max_output_tokens"}));
    assert_eq!(encoded["completed_at"], Value::Null);
    assert_eq!(encoded["output"][0]["status"], "incomplete");
    assert_response_shape(&encoded);

    response.finish_reason = FinishReason::ContentFilter;
    let encoded = encode_response(&response, &meta(), &RequestOptions::default());
    assert_eq!(encoded["incomplete_details"], json!({"reason": "content_filter"}));

    for reason in [
        FinishReason::StopSequence,
        FinishReason::ToolCalls,
        FinishReason::Other("pause_turn".into()),
    ] {
        response.finish_reason = reason;
        let encoded = encode_response(&response, &meta(), &RequestOptions::default());
        assert_eq!(encoded["status"], "completed");
        assert_eq!(encoded["completed_at"], 1_767_225_600);
        assert_eq!(encoded["output"][0]["status"], "completed");
    }
}

#[test]
fn the_request_echo_reaches_the_response_object() {
    let (_, options) = decode_request(fixture!("request_text.json").as_bytes()).expect("decodes");
    let response = ChatResponse {
        model: "m".into(),
        content: vec![],
        finish_reason: FinishReason::Stop,
        usage: Usage::default(),
    };
    let encoded = encode_response(&response, &meta(), &options);
    assert_eq!(
        encoded["instructions"],
        "You are a coding assistant that talks like a pirate."
    );
    assert_eq!(encoded["temperature"], 0.7);
    assert_eq!(encoded["top_p"], 0.9);
    assert_eq!(encoded["max_output_tokens"], 1024);
    assert_eq!(encoded["truncation"], "auto");
    assert_eq!(encoded["metadata"], json!({"customer_id": "cus_4Xz9"}));
    assert_eq!(encoded["user"], "user_1234");
    assert_eq!(encoded["output"], json!([]));
}

// --- round trips ------------------------------------------------------------

#[test]
fn decoded_fixtures_round_trip_through_the_client_encoding() {
    let options = RequestOptions {
        include_encrypted_reasoning: true,
        ..RequestOptions::default()
    };
    for body in [
        fixture!("response_text.json"),
        fixture!("response_reasoning.json"),
        fixture!("response_tool_calls.json"),
        fixture!("response_incomplete.json"),
    ] {
        let response = decode(body);
        let again = decode(&encode_response(&response, &meta(), &options).to_string());
        // The encoder reports the client's model name, not the upstream's.
        assert_eq!(again.model, meta().model);
        assert_eq!(
            (again.content, again.finish_reason, again.usage),
            (response.content, response.finish_reason, response.usage)
        );
    }
}

#[test]
fn a_codex_turn_round_trips_with_call_signatures_as_reasoning() {
    let encoded = encode_response(&codex_turn(), &meta(), &codex_options());
    let again = decode(&encoded.to_string());
    assert_eq!(
        again.content,
        vec![
            signed("**Running tests**\n\nI'll run cargo test.", "RXF3QkNrZ0lD"),
            Part::Reasoning(Reasoning {
                text: String::new(),
                signature: None,
                redacted: Some("RURBVEE=".into()),
            }),
            Part::Text("Running the tests now.".into()),
            call("toolu_01A", "shell", r#"{"command":["cargo","test"]}"#, None),
            // The call's signature comes back just before it, where the
            // Gemini codec folds it onto the call.
            signed("", "Q2lNQ0FR"),
            call("call_sy7f3a9c2e_1", "mcp__weather__get_forecast", "{}", None),
        ]
    );
    assert_eq!(again.finish_reason, FinishReason::ToolCalls);
    assert_eq!(again.usage, codex_turn().usage);
}
