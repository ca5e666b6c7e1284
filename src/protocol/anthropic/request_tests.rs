//! Request decoding against golden fixtures taken from the Anthropic API
//! reference and from what Claude Code sends.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::*;
use crate::protocol::anthropic::testing::fixture;
use crate::protocol::model::{FunctionTool, Image, Reasoning, ToolCall, ToolResult};

pub(super) fn decode(body: &str) -> ChatRequest {
    match decode_request(body.as_bytes()) {
        Ok(request) => request,
        Err(err) => panic!("fixture failed to decode: {}", err.message),
    }
}

fn decode_err(body: &Value) -> ApiError {
    match decode_request(body.to_string().as_bytes()) {
        Ok(request) => panic!("expected an error, decoded {request:?}"),
        Err(err) => err,
    }
}

pub(super) fn text(role: Role, text: &str) -> Message {
    Message::text(role, text)
}

pub(super) fn weather_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"]
    })
}

// --- decoding ---------------------------------------------------------------

#[test]
fn decodes_a_text_request_with_every_sampling_parameter() {
    let request = decode(fixture!("request_text.json"));
    assert_eq!(
        request,
        ChatRequest {
            model: "claude-sonnet-4-5-20250929".into(),
            system: vec!["You are a concise assistant.".into()],
            messages: vec![text(Role::User, "Hello, Claude")],
            sampling: Sampling {
                temperature: Some(0.7),
                top_p: Some(0.9),
                top_k: Some(40),
                max_output_tokens: Some(1024),
                stop: vec!["\n\nHuman:".into(), "END".into()],
                ..Sampling::default()
            },
            session_key: Some("13803d75-b4b5-4c3e-b2a2-6f21399b021b".into()),
            ..ChatRequest::default()
        }
    );
}

#[test]
fn decodes_system_blocks_and_splits_turns_around_mid_conversation_system() {
    let request = decode(fixture!("request_multi_turn.json"));
    assert_eq!(
        request.system,
        vec![
            "You are an AI assistant tasked with analyzing literary works.".to_string(),
            "<the entire contents of Pride and Prejudice>".to_string(),
        ]
    );
    assert_eq!(
        request.messages,
        vec![
            text(Role::User, "Hello there."),
            text(Role::Assistant, "Hi, I'm Claude. How can I help you?"),
            text(Role::User, "Can you explain LLMs in plain English?"),
            text(Role::System, "Answer in one paragraph."),
            text(Role::User, "Keep it short."),
            text(Role::Assistant, "The best answer is ("),
        ]
    );
    assert_eq!(request.sampling.max_output_tokens, Some(2048));
}

#[test]
fn decodes_images_and_documents_and_drops_what_the_model_cannot_carry() {
    let request = decode(fixture!("request_images.json"));
    assert_eq!(request.messages.len(), 1);
    assert_eq!(
        request.messages[0].content,
        vec![
            Part::Image(Image::Base64 {
                media_type: "image/png".into(),
                data:
                    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
                        .into(),
            }),
            Part::Image(Image::Url(
                "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg".into()
            )),
            // The Files-API image and the URL document are gone.
            Part::Text("The grass is green. The sky is blue.".into()),
            Part::Image(Image::Base64 {
                media_type: "application/pdf".into(),
                data: "JVBERi0xLjQKJcfsj6IKNSAwIG9iago=".into(),
            }),
            Part::Text("Compare these.".into()),
        ]
    );
}

#[test]
fn decodes_custom_tools_keeps_web_search_and_drops_other_builtins() {
    let request = decode(fixture!("request_tools.json"));
    assert_eq!(
        request.tools,
        vec![
            Tool::Function(FunctionTool {
                name: "get_weather".into(),
                description: Some("Get the current weather in a given location".into()),
                parameters: json!({
                    "type": "object",
                    "properties": {
                        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
                    },
                    "required": ["location"]
                }),
            }),
            Tool::Function(FunctionTool {
                name: "get_time".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {"timezone": {"type": "string"}}}),
            }),
            Tool::WebSearch,
        ]
    );
    assert_eq!(request.tool_choice, Some(ToolChoice::Function("get_weather".into())));
}

#[test]
fn decodes_tool_calls_and_tool_results() {
    let request = decode(fixture!("request_tool_round_trip.json"));
    assert_eq!(request.tool_choice, Some(ToolChoice::Required));
    assert_eq!(request.messages.len(), 3);
    assert_eq!(
        request.messages[1],
        Message {
            role: Role::Assistant,
            content: vec![
                Part::Text("I'll check both cities.".into()),
                Part::ToolCall(ToolCall {
                    id: "toolu_01A09q90qw90lq917835lq9".into(),
                    name: "get_weather".into(),
                    arguments: r#"{"location":"San Francisco, CA"}"#.into(),
                    signature: None,
                }),
                Part::ToolCall(ToolCall {
                    id: "toolu_01B12c47zz81mn462098pk3".into(),
                    name: "get_weather".into(),
                    arguments: r#"{"location":"Paris, France"}"#.into(),
                    signature: None,
                }),
            ],
        }
    );
    assert_eq!(
        request.messages[2],
        Message {
            role: Role::User,
            content: vec![
                Part::ToolResult(ToolResult {
                    call_id: "toolu_01A09q90qw90lq917835lq9".into(),
                    name: None,
                    content: vec![Part::Text("15 degrees".into())],
                    is_error: false,
                }),
                Part::ToolResult(ToolResult {
                    call_id: "toolu_01B12c47zz81mn462098pk3".into(),
                    name: None,
                    content: vec![
                        Part::Text("ConnectionError: the weather service API is not available (HTTP 500)".into()),
                        Part::Image(Image::Base64 {
                            media_type: "image/jpeg".into(),
                            data: "/9j/4AAQSkZJRg==".into(),
                        }),
                    ],
                    is_error: true,
                }),
                Part::Text("What should I wear?".into()),
            ],
        }
    );
}

#[test]
fn decodes_thinking_config_and_signed_and_redacted_thinking() {
    let request = decode(fixture!("request_thinking.json"));
    assert_eq!(
        request.reasoning,
        Some(ReasoningConfig {
            effort: None,
            budget_tokens: Some(10000),
            include_thoughts: true,
        })
    );
    assert_eq!(
        request.messages[1].content[..2],
        [
            Part::Reasoning(Reasoning {
                text: "The user wants to know the current weather in Paris. I have access to a function `get_weather`...".into(),
                signature: Some("BDaL4VrbR2Oj0hO4XpJxT28J5TILnCrrUXoKiiNBZW9P+nr8XSj1zuZzAl4egiCCpQNvfyUuFFJP5CncdYZEQPPmLxYsNrcs....".into()),
                redacted: None,
            }),
            Part::Reasoning(Reasoning {
                text: String::new(),
                signature: None,
                redacted: Some("EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj".into()),
            }),
        ]
    );
    assert_eq!(
        request.messages[2].content,
        vec![Part::ToolResult(ToolResult {
            call_id: "toolu_01CswdEQBMshySk6Y9DFKrfq".into(),
            name: None,
            content: vec![Part::Text("Current temperature: 88°F".into())],
            is_error: false,
        })]
    );
}

#[test]
fn decodes_what_claude_code_sends() {
    let request = decode(fixture!("request_claude_code.json"));
    assert!(request.stream);
    assert_eq!(request.system.len(), 2);
    assert_eq!(
        request.messages,
        vec![
            text(
                Role::System,
                "<system-reminder>As you answer the user's questions, you can use the following context.</system-reminder>"
            ),
            text(Role::User, "list the files in this directory"),
        ]
    );
    assert_eq!(
        request.reasoning,
        Some(ReasoningConfig {
            effort: Some(ReasoningEffort::High),
            budget_tokens: None,
            include_thoughts: true,
        })
    );
    assert_eq!(request.sampling.temperature, Some(1.0));
    assert_eq!(request.sampling.max_output_tokens, Some(32000));
    assert_eq!(
        request.session_key.as_deref(),
        Some("user_6d2b9e0f_account__session_3f1c2a7e-5b8d-4c1e-9a0f-2d7e6b4c8a91")
    );
    let Some(Tool::Function(bash)) = request.tools.first() else {
        panic!("expected the Bash tool, got {:?}", request.tools);
    };
    assert_eq!(bash.name, "Bash");
    assert_eq!(bash.parameters["required"], json!(["command"]));
    assert_eq!(bash.parameters["$schema"], "http://json-schema.org/draft-07/schema#");
}

#[test]
fn decodes_every_thinking_variant() {
    let reasoning = |extra: Value| {
        let mut body = json!({"model": "m", "max_tokens": 10, "messages": []});
        if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
            body.extend(extra);
        }
        decode(&body.to_string()).reasoning
    };
    assert_eq!(
        reasoning(json!({"thinking": {"type": "disabled"}})),
        Some(ReasoningConfig {
            effort: Some(ReasoningEffort::None),
            budget_tokens: None,
            include_thoughts: false,
        })
    );
    assert_eq!(
        reasoning(json!({"thinking": {"type": "adaptive", "display": "omitted"}})),
        Some(ReasoningConfig {
            effort: None,
            budget_tokens: None,
            include_thoughts: false,
        })
    );
    assert_eq!(
        reasoning(json!({
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "output_config": {"effort": "max"}
        })),
        Some(ReasoningConfig {
            effort: Some(ReasoningEffort::High),
            budget_tokens: Some(2048),
            include_thoughts: true,
        })
    );
    assert_eq!(
        reasoning(json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}}))
            .and_then(|config| config.effort),
        Some(ReasoningEffort::Low)
    );
    assert_eq!(
        reasoning(json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "ultra"}}))
            .and_then(|config| config.effort),
        None
    );
    // Effort alone tunes a plain answer; no other protocol can say that.
    assert_eq!(reasoning(json!({"output_config": {"effort": "high"}})), None);
}

#[test]
fn decodes_output_format_json_schema() {
    let request = decode(
        &json!({
            "model": "m", "max_tokens": 10, "messages": [],
            "output_config": {"format": {"type": "json_schema", "schema": weather_schema()}}
        })
        .to_string(),
    );
    assert_eq!(
        request.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "response".into(),
            schema: weather_schema(),
        })
    );
}

#[test]
fn decodes_count_tokens_bodies_without_max_tokens() {
    let request = decode(r#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}]}"#);
    assert_eq!(request.sampling.max_output_tokens, None);
    assert_eq!(request.messages, vec![text(Role::User, "Hi")]);
}

#[test]
fn keeps_tool_input_sent_as_json_text() {
    let request = decode(
        &json!({"model": "m", "messages": [{"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": "{\"a\": 1}"}
        ]}]})
        .to_string(),
    );
    let Some(Part::ToolCall(call)) = request.messages[0].content.first() else {
        panic!("expected a tool call, got {:?}", request.messages);
    };
    assert_eq!(call.arguments, "{\"a\": 1}");
}

#[test]
fn ignores_unknown_fields_and_block_types() {
    let request = decode(
        &json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 100,
            "context_management": {"edits": []},
            "container": "container_011CPR5CNjB747bTd36fQLFk",
            "mcp_servers": [{"type": "url", "url": "https://example.com/sse", "name": "x"}],
            "service_tier": "standard_only",
            "inference_geo": "us",
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Search", "citations": null},
                    {"type": "search_result", "source": "https://example.com", "title": "t", "content": [{"type": "text", "text": "r"}]}
                ]},
                {"role": "assistant", "content": [
                    {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {"query": "q"}},
                    {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01",
                     "content": {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"}}
                ]},
                {"role": "user", "content": "Thanks"}
            ]
        })
        .to_string(),
    );
    // The assistant turn held nothing the model can carry, so it is gone.
    assert_eq!(
        request.messages,
        vec![text(Role::User, "Search"), text(Role::User, "Thanks")]
    );
}

#[test]
fn errors_name_the_field_that_failed() {
    let cases = [
        (json!({"messages": []}), vec!["missing field `model`"]),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": 5}]}),
            vec!["messages[1].content", "a string or an array of content blocks"],
        ),
        (
            json!({"model": "m", "messages": [{"role": "robot", "content": "a"}]}),
            vec!["messages[0].role", "unknown variant `robot`"],
        ),
        (
            json!({"model": "m", "messages": [{"role": "assistant", "content": [{"type": "tool_use", "name": "f", "input": {}}]}]}),
            vec!["messages[0].content[0]", "missing field `id`"],
        ),
        (
            json!({"model": "m", "messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": 7, "name": "f", "input": {}}]}]}),
            vec!["messages[0].content[0]", "`id`", "invalid type: integer `7`"],
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "data": "x"}}]}]}),
            vec!["messages[0].content[0]", "`source`", "missing field `media_type`"],
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": [{"text": "no type"}]}]}),
            vec!["messages[0].content[0]", "missing field `type`"],
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": [5]}]}),
            vec!["messages[0].content[0]", "expected a content block object"],
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": [{"type": 3}]}]}),
            vec!["messages[0].content[0]", "`type`"],
        ),
        (
            json!({"model": "m", "messages": [], "tools": [{"name": "f"}]}),
            vec!["tools[0]", "missing field `input_schema`"],
        ),
        (
            json!({"model": "m", "messages": [], "tool_choice": {"type": "tool"}}),
            vec!["tool_choice", "missing field `name`"],
        ),
        (
            json!({"model": "m", "messages": [], "thinking": {"type": "enabled"}}),
            vec!["thinking", "missing field `budget_tokens`"],
        ),
        (
            json!({"model": "m", "messages": [], "max_tokens": "many"}),
            vec!["max_tokens", "invalid type"],
        ),
    ];
    for (body, needles) in cases {
        let err = decode_err(&body);
        assert_eq!(err.status, 400, "{body}");
        for needle in needles {
            assert!(
                err.message.contains(needle),
                "error for {body} should mention {needle:?}: {}",
                err.message
            );
        }
    }
}

#[test]
fn errors_do_not_echo_what_the_client_sent() {
    let secret = "sk-ant-api03-do-not-log-me";
    for body in [
        json!({"model": "m", "messages": [{"role": "user", "content": [secret]}]}),
        json!({"model": "m", "messages": [], "tools": [secret]}),
        json!({"model": "m", "messages": [{"role": "user", "content": [{"type": [secret]}]}]}),
    ] {
        let err = decode_err(&body);
        assert!(!err.message.contains(secret), "{}", err.message);
        assert!(err.message.contains("invalid type"), "{}", err.message);
    }
}

#[test]
fn never_panics_on_hostile_or_truncated_input() {
    let deep = "[".repeat(100_000);
    let hostile: [&[u8]; 7] = [
        b"",
        b"null",
        b"[]",
        b"{\"model\": 1}",
        b"\xff\xfe",
        deep.as_bytes(),
        br#"{"model":"m","messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"x","content":{"a":1}}]}]}"#,
    ];
    for body in hostile {
        assert!(decode_request(body).is_err());
    }
    for fixture in [
        fixture!("request_claude_code.json"),
        fixture!("request_thinking.json"),
        fixture!("request_images.json"),
    ] {
        // Every cut-off prefix fails cleanly; only the whole body succeeds.
        let fixture = fixture.trim_end();
        let cuts = (0..fixture.len()).filter(|&cut| fixture.is_char_boundary(cut));
        for cut in cuts.step_by(7) {
            assert!(decode_request(&fixture.as_bytes()[..cut]).is_err(), "prefix {cut}");
        }
    }
}
