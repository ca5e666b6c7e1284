//! Request encoding: the exact bodies Anthropic upstreams receive, checked
//! against golden fixtures and one rule at a time.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::tests::{decode, text, weather_schema};
use super::*;
use crate::protocol::anthropic::testing::fixture;
use crate::protocol::model::{FunctionTool, Image, Reasoning, ToolCall, ToolResult};

fn fixture_json(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

#[test]
fn encodes_a_decoded_tool_round_trip_as_the_api_expects() {
    let request = decode(fixture!("request_tool_round_trip.json"));
    assert_eq!(
        encode_request(&request, "claude-opus-4-1-20250805"),
        fixture_json(fixture!("encoded_tool_round_trip.json"))
    );
}

/// A request as another protocol's client would produce it: everything the
/// Anthropic encoder has to rearrange, fold, fill in or drop.
fn translated_request() -> ChatRequest {
    ChatRequest {
        model: "gpt-4o".into(),
        system: vec!["You are a helpful assistant.".into()],
        messages: vec![
            text(Role::User, "What's in this image?"),
            Message {
                role: Role::User,
                content: vec![
                    Part::Image(Image::Url("data:image/png;base64,iVBORw0KGgo=".into())),
                    Part::Image(Image::Url("https://example.com/cat.jpg".into())),
                    Part::Image(Image::Base64 {
                        media_type: "application/pdf".into(),
                        data: "JVBERi0xLjQK".into(),
                    }),
                ],
            },
            text(Role::System, "Answer briefly."),
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Reasoning(Reasoning {
                        text: "Unsigned summary from another protocol".into(),
                        signature: None,
                        redacted: None,
                    }),
                    Part::Reasoning(Reasoning {
                        text: "Signed thought".into(),
                        signature: Some("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds".into()),
                        redacted: None,
                    }),
                    Part::Reasoning(Reasoning {
                        text: String::new(),
                        signature: None,
                        redacted: Some("EmwKAhgBEgy3va3pzix/LafPsn4a".into()),
                    }),
                    Part::Text(String::new()),
                    Part::Text("Let me look that up.".into()),
                    Part::ToolCall(ToolCall {
                        id: "call_abc123".into(),
                        name: "lookup".into(),
                        arguments: r#"{"query":"cat"}"#.into(),
                        signature: Some("Gemini thought signature".into()),
                    }),
                    Part::ToolCall(ToolCall {
                        id: "call_def456".into(),
                        name: "lookup".into(),
                        arguments: r#"{"query": tru"#.into(),
                        signature: None,
                    }),
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    Part::Text("Here are the results.".into()),
                    Part::Reasoning(Reasoning {
                        text: "users do not think".into(),
                        signature: Some("sig".into()),
                        redacted: None,
                    }),
                    Part::ToolResult(ToolResult {
                        call_id: "call_abc123".into(),
                        name: Some("lookup".into()),
                        content: vec![Part::Text("a cat".into())],
                        is_error: false,
                    }),
                ],
            },
            Message {
                role: Role::User,
                content: vec![Part::ToolResult(ToolResult {
                    call_id: "call_def456".into(),
                    name: None,
                    content: vec![],
                    is_error: true,
                })],
            },
        ],
        tools: vec![
            Tool::Function(FunctionTool {
                name: "lookup".into(),
                description: Some("Look something up".into()),
                parameters: json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
            }),
            Tool::Function(FunctionTool {
                name: "now".into(),
                description: None,
                parameters: Value::Null,
            }),
            Tool::WebSearch,
            Tool::WebSearch,
        ],
        tool_choice: Some(ToolChoice::Auto),
        sampling: Sampling {
            temperature: Some(0.2),
            top_p: Some(0.5),
            top_k: Some(10),
            max_output_tokens: Some(4096),
            stop: vec!["###".into()],
            presence_penalty: Some(0.5),
            frequency_penalty: Some(0.1),
            seed: Some(42),
        },
        reasoning: Some(ReasoningConfig {
            effort: Some(ReasoningEffort::High),
            budget_tokens: None,
            include_thoughts: false,
        }),
        response_format: Some(ResponseFormat::JsonObject),
        stream: true,
        stream_include_usage: true,
        session_key: Some("user-1234".into()),
    }
}

#[test]
fn encodes_a_translated_request_as_the_api_expects() {
    assert_eq!(
        encode_request(&translated_request(), "claude-sonnet-4-5"),
        fixture_json(fixture!("encoded_translated.json"))
    );
}

#[test]
fn round_trips_every_fixture_the_encoder_can_express() {
    for fixture in [
        fixture!("request_text.json"),
        fixture!("request_images.json"),
        fixture!("request_tools.json"),
        fixture!("request_tool_round_trip.json"),
        fixture!("request_thinking.json"),
    ] {
        let first = decode(fixture);
        let encoded = encode_request(&first, &first.model);
        assert_eq!(decode(&encoded.to_string()), first);
    }
}

#[test]
fn folds_claude_code_system_messages_and_turns_adaptive_thinking_into_a_budget() {
    let request = decode(fixture!("request_claude_code.json"));
    let encoded = encode_request(&request, "glm-4.6");
    assert_eq!(encoded["model"], "glm-4.6");
    assert_eq!(
        encoded["system"],
        json!([
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
            {"type": "text", "text": "You are an interactive CLI tool that helps users with software engineering tasks."},
            {"type": "text", "text": "<system-reminder>As you answer the user's questions, you can use the following context.</system-reminder>"}
        ])
    );
    assert_eq!(
        encoded["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "list the files in this directory"}]}])
    );
    // High effort; 32000 already leaves room above the budget.
    assert_eq!(encoded["thinking"], json!({"type": "enabled", "budget_tokens": 24576}));
    assert_eq!(encoded["max_tokens"], 32000);
    assert_eq!(encoded.get("temperature"), None);
    assert_eq!(encoded["stream"], true);
}

// --- encoding rules, one at a time -------------------------------------------

fn user_request() -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        messages: vec![text(Role::User, "Hi")],
        ..ChatRequest::default()
    }
}

fn with_reasoning(effort: Option<ReasoningEffort>, budget: Option<u32>, max: Option<u32>) -> Value {
    let mut request = user_request();
    request.sampling.max_output_tokens = max;
    request.sampling.temperature = Some(0.5);
    request.sampling.top_k = Some(5);
    request.sampling.top_p = Some(0.97);
    request.reasoning = Some(ReasoningConfig {
        effort,
        budget_tokens: budget,
        include_thoughts: true,
    });
    encode_request(&request, "m")
}

#[test]
fn defaults_max_tokens_and_omits_what_was_not_asked() {
    let encoded = encode_request(&user_request(), "claude-haiku-4-5");
    assert_eq!(
        encoded,
        json!({
            "model": "claude-haiku-4-5",
            "max_tokens": DEFAULT_MAX_TOKENS,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
        })
    );
}

#[test]
fn maps_effort_to_budgets_and_keeps_max_tokens_above_them() {
    let thinking = |encoded: &Value| encoded["thinking"]["budget_tokens"].as_u64();
    let cases = [
        (Some(ReasoningEffort::Minimal), 1024),
        (Some(ReasoningEffort::Low), 2048),
        (Some(ReasoningEffort::Medium), 8192),
        (None, 8192),
        (Some(ReasoningEffort::High), 24576),
    ];
    for (effort, budget) in cases {
        let encoded = with_reasoning(effort, None, Some(50_000));
        assert_eq!(thinking(&encoded), Some(budget), "{effort:?}");
        assert_eq!(encoded["max_tokens"], 50_000);
    }
    // An explicit budget wins over effort, is raised to Anthropic's minimum,
    // and lifts max_tokens so the answer keeps the client's limit.
    let encoded = with_reasoning(Some(ReasoningEffort::High), Some(500), Some(1000));
    assert_eq!(thinking(&encoded), Some(1024));
    assert_eq!(encoded["max_tokens"], 2024);
    let encoded = with_reasoning(None, Some(16000), None);
    assert_eq!(thinking(&encoded), Some(16000));
    assert_eq!(encoded["max_tokens"], 16000 + DEFAULT_MAX_TOKENS);
    assert_eq!(encoded["thinking"]["type"], "enabled");
}

#[test]
fn thinking_drops_temperature_and_top_k_and_a_narrow_top_p() {
    let encoded = with_reasoning(Some(ReasoningEffort::Low), None, None);
    assert_eq!(encoded.get("temperature"), None);
    assert_eq!(encoded.get("top_k"), None);
    assert_eq!(encoded["top_p"], 0.97);
    let mut request = user_request();
    request.sampling.top_p = Some(0.9);
    request.sampling.temperature = Some(0.5);
    request.sampling.top_k = Some(5);
    let plain = encode_request(&request, "m");
    assert_eq!(plain["temperature"], 0.5);
    assert_eq!(plain["top_k"], 5);
    assert_eq!(plain["top_p"], 0.9);
    request.reasoning = Some(ReasoningConfig {
        effort: Some(ReasoningEffort::Low),
        ..ReasoningConfig::default()
    });
    assert_eq!(encode_request(&request, "m").get("top_p"), None);
}

#[test]
fn omits_thinking_when_reasoning_is_off_or_tool_use_is_forced() {
    let off = [
        with_reasoning(Some(ReasoningEffort::None), None, None),
        with_reasoning(None, Some(0), None),
    ];
    for encoded in off {
        assert_eq!(encoded.get("thinking"), None);
        assert_eq!(encoded["temperature"], 0.5);
    }
    let mut request = user_request();
    request.reasoning = Some(ReasoningConfig::default());
    assert_eq!(encode_request(&request, "m").get("thinking"), None);

    request.reasoning = Some(ReasoningConfig {
        effort: Some(ReasoningEffort::High),
        ..ReasoningConfig::default()
    });
    request.tools = vec![Tool::Function(FunctionTool {
        name: "f".into(),
        description: None,
        parameters: weather_schema(),
    })];
    for choice in [ToolChoice::Required, ToolChoice::Function("f".into())] {
        request.tool_choice = Some(choice);
        let encoded = encode_request(&request, "m");
        assert_eq!(encoded.get("thinking"), None);
        assert!(encoded.get("tool_choice").is_some());
    }
    request.tool_choice = Some(ToolChoice::None);
    let encoded = encode_request(&request, "m");
    assert_eq!(encoded["tool_choice"], json!({"type": "none"}));
    assert_eq!(encoded["thinking"]["budget_tokens"], 24576);
}

#[test]
fn omits_tool_choice_without_tools() {
    let mut request = user_request();
    request.tool_choice = Some(ToolChoice::Required);
    let encoded = encode_request(&request, "m");
    assert_eq!(encoded.get("tool_choice"), None);
    assert_eq!(encoded.get("tools"), None);
}

#[test]
fn drops_turns_left_empty_and_merges_the_neighbours() {
    let mut request = user_request();
    request.messages = vec![
        text(Role::User, "one"),
        Message {
            role: Role::Assistant,
            content: vec![Part::Reasoning(Reasoning {
                text: "unsigned".into(),
                ..Reasoning::default()
            })],
        },
        text(Role::User, "two"),
    ];
    assert_eq!(
        encode_request(&request, "m")["messages"],
        json!([{"role": "user", "content": [
            {"type": "text", "text": "one"},
            {"type": "text", "text": "two"}
        ]}])
    );
}

#[test]
fn omits_thinking_when_the_tool_calling_turn_has_no_signed_thinking() {
    let call = Part::ToolCall(ToolCall {
        id: "call_1".into(),
        name: "f".into(),
        arguments: "{}".into(),
        signature: None,
    });
    let result = Part::ToolResult(ToolResult {
        call_id: "call_1".into(),
        name: None,
        content: vec![Part::Text("done".into())],
        is_error: false,
    });
    let mut request = user_request();
    request.reasoning = Some(ReasoningConfig {
        effort: Some(ReasoningEffort::Low),
        ..ReasoningConfig::default()
    });
    request.messages = vec![
        text(Role::User, "go"),
        Message {
            role: Role::Assistant,
            content: vec![
                Part::Reasoning(Reasoning {
                    text: "summary without a signature".into(),
                    ..Reasoning::default()
                }),
                call.clone(),
            ],
        },
        Message {
            role: Role::User,
            content: vec![result.clone()],
        },
    ];
    // Anthropic would answer 400: the tool-calling turn must open with thinking.
    assert_eq!(encode_request(&request, "m").get("thinking"), None);

    request.messages[1].content[0] = Part::Reasoning(Reasoning {
        text: "signed".into(),
        signature: Some("EqQBCgIYAhIM".into()),
        redacted: None,
    });
    assert_eq!(encode_request(&request, "m")["thinking"]["budget_tokens"], 2048);

    // A later assistant turn without tool calls does not need thinking.
    request.messages[1].content = vec![call];
    request.messages.push(text(Role::Assistant, "All done."));
    request.messages.push(text(Role::User, "thanks"));
    assert_eq!(encode_request(&request, "m")["thinking"]["budget_tokens"], 2048);
}
