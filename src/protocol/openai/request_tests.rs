use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::*;
use crate::protocol::model::{Image, ToolCall};

const TEXT: &str = include_str!("../../../tests/fixtures/openai/request_text.json");
const TEXT_UP: &str = include_str!("../../../tests/fixtures/openai/upstream_text.json");
const IMAGES: &str = include_str!("../../../tests/fixtures/openai/request_images.json");
const IMAGES_UP: &str = include_str!("../../../tests/fixtures/openai/upstream_images.json");
const TOOLS: &str = include_str!("../../../tests/fixtures/openai/request_tools.json");
const TOOLS_UP: &str = include_str!("../../../tests/fixtures/openai/upstream_tools.json");
const REASONING: &str = include_str!("../../../tests/fixtures/openai/request_reasoning.json");
const REASONING_UP: &str = include_str!("../../../tests/fixtures/openai/upstream_reasoning.json");

fn decode(body: &str) -> ChatRequest {
    decode_request(body.as_bytes()).expect("fixture decodes")
}

fn decode_err(body: Value) -> ApiError {
    decode_request(body.to_string().as_bytes()).expect_err("body must be refused")
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

fn text(t: &str) -> Part {
    Part::Text(t.to_owned())
}

fn call(id: &str, name: &str, arguments: &str) -> Part {
    Part::ToolCall(ToolCall {
        id: id.to_owned(),
        name: name.to_owned(),
        arguments: arguments.to_owned(),
        signature: None,
    })
}

fn result(call_id: &str, content: Vec<Part>) -> Part {
    Part::ToolResult(ToolResult {
        call_id: call_id.to_owned(),
        name: None,
        content,
        is_error: false,
    })
}

fn message(role: Role, content: Vec<Part>) -> Message {
    Message { role, content }
}

/// A minimal request body around `messages`.
fn body(messages: Value) -> Value {
    json!({"model": "m", "messages": messages})
}

#[test]
fn text_fixture_decodes_system_turns_and_sampling() {
    let request = decode(TEXT);
    assert_eq!(request.model, "gpt-4o");
    // Leading system and developer messages, one entry per text part.
    assert_eq!(
        request.system,
        vec!["You are a helpful assistant.", "Answer in English.", "Be brief."]
    );
    assert_eq!(
        request.messages,
        vec![
            message(Role::User, vec![text("Hello!")]),
            message(Role::Assistant, vec![text("Hi there. How can I help?")]),
            message(Role::System, vec![text("The user is a beginner.")]),
            message(Role::User, vec![text("What is a monad?")]),
        ]
    );
    assert_eq!(
        request.sampling,
        Sampling {
            temperature: Some(0.7),
            top_p: Some(0.9),
            top_k: None,
            // max_completion_tokens wins over max_tokens.
            max_output_tokens: Some(512),
            stop: vec!["\n\n".to_owned()],
            presence_penalty: Some(0.5),
            frequency_penalty: Some(-0.25),
            seed: Some(42),
        }
    );
    assert_eq!(request.session_key.as_deref(), Some("user-1234"));
    assert!(request.tools.is_empty());
    assert_eq!(request.tool_choice, None);
    assert_eq!(request.reasoning, None);
    assert_eq!(request.response_format, None);
    assert!(!request.stream);
    assert!(!request.stream_include_usage);
}

#[test]
fn images_fixture_decodes_data_urls_links_and_pdfs() {
    let request = decode(IMAGES);
    assert_eq!(request.messages.len(), 1);
    let content = &request.messages[0].content;
    assert_eq!(
        content,
        &vec![
            text("What is in these images?"),
            Part::Image(Image::Base64 {
                media_type: "image/png".to_owned(),
                data: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
                    .to_owned(),
            }),
            Part::Image(Image::Url(
                "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"
                    .to_owned()
            )),
            // Audio and the file_id-only part are dropped.
            Part::Image(Image::Base64 {
                media_type: "application/pdf".to_owned(),
                data: "JVBERi0xLjQKJcOkw7zDtsOf".to_owned(),
            }),
        ]
    );
    assert_eq!(request.sampling.max_output_tokens, Some(300));
}

#[test]
fn tools_fixture_decodes_calls_results_and_tool_declarations() {
    let request = decode(TOOLS);
    assert_eq!(request.system, vec!["You can look up the weather."]);
    assert_eq!(
        request.messages,
        vec![
            message(
                Role::User,
                vec![text("What's the weather like in Boston and Paris today?")]
            ),
            message(
                Role::Assistant,
                vec![
                    call(
                        "call_abc123",
                        "get_current_weather",
                        r#"{"location": "Boston, MA", "unit": "celsius"}"#
                    ),
                    call(
                        "call_def456",
                        "get_current_weather",
                        r#"{"location": "Paris, France", "unit": "celsius"}"#
                    ),
                ]
            ),
            // Two consecutive tool messages: one user message.
            message(
                Role::User,
                vec![
                    result(
                        "call_abc123",
                        vec![text(r#"{"temperature": 22, "condition": "sunny"}"#)]
                    ),
                    result(
                        "call_def456",
                        vec![text(r#"{"temperature": 18,"#), text(r#" "condition": "cloudy"}"#)]
                    ),
                ]
            ),
            message(Role::User, vec![text("Should I bring an umbrella to Paris?")]),
        ]
    );
    // The custom tool is dropped; a function without parameters takes none.
    assert_eq!(request.tools.len(), 2);
    let Tool::Function(weather) = &request.tools[0] else {
        panic!("expected a function tool, got {:?}", request.tools[0]);
    };
    assert_eq!(weather.name, "get_current_weather");
    assert_eq!(
        weather.description.as_deref(),
        Some("Get the current weather in a given location")
    );
    assert_eq!(weather.parameters["required"], json!(["location"]));
    assert_eq!(
        weather.parameters["properties"]["unit"]["enum"],
        json!(["celsius", "fahrenheit"])
    );
    assert_eq!(
        request.tools[1],
        Tool::Function(FunctionTool {
            name: "get_time".to_owned(),
            description: None,
            parameters: json!({"type": "object", "properties": {}}),
        })
    );
    assert_eq!(
        request.tool_choice,
        Some(ToolChoice::Function("get_current_weather".to_owned()))
    );
    assert!(request.stream);
    assert!(request.stream_include_usage);
}

#[test]
fn reasoning_fixture_decodes_effort_reasoning_content_and_schema() {
    let request = decode(REASONING);
    assert_eq!(
        request.messages[1],
        message(
            Role::Assistant,
            vec![
                Part::Reasoning(Reasoning {
                    text: "I need today's date first, so I'll call get_date.".to_owned(),
                    signature: None,
                    redacted: None,
                }),
                // Empty arguments become an empty object; "" content is dropped.
                call("call_00_x1", "get_date", "{}"),
            ]
        )
    );
    assert_eq!(
        request.messages[2],
        message(Role::User, vec![result("call_00_x1", vec![text("2026-06-12")])])
    );
    assert_eq!(
        request.reasoning,
        Some(ReasoningConfig {
            effort: Some(ReasoningEffort::High),
            budget_tokens: None,
            include_thoughts: true,
        })
    );
    assert_eq!(request.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(request.sampling.max_output_tokens, Some(4096));
    assert_eq!(
        request.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "date_answer".to_owned(),
            schema: json!({
                "type": "object",
                "properties": {"date": {"type": "string"}},
                "required": ["date"],
                "additionalProperties": false
            }),
        })
    );
    // prompt_cache_key wins over user.
    assert_eq!(request.session_key.as_deref(), Some("conv-42"));
}

#[test]
fn fixtures_encode_to_the_expected_upstream_bodies() {
    let cases = [
        (TEXT, "gpt-4o-2024-08-06", TEXT_UP),
        (IMAGES, "gpt-4o", IMAGES_UP),
        (TOOLS, "gpt-4.1-2025-04-14", TOOLS_UP),
        (REASONING, "deepseek-v4-pro", REASONING_UP),
    ];
    for (client, model, upstream) in cases {
        assert_eq!(encode_request(&decode(client), model), json_of(upstream), "{upstream}");
    }
}

#[test]
fn fixtures_round_trip_through_the_upstream_body() {
    for fixture in [TEXT, IMAGES, TOOLS, REASONING] {
        let first = decode(fixture);
        let encoded = encode_request(&first, &first.model);
        let second = decode(&encoded.to_string());
        assert_eq!(second, first);
    }
}

#[test]
fn encoded_keys_come_in_a_readable_order() {
    let encoded = encode_request(&decode(TOOLS), "m").to_string();
    let position = |key: &str| encoded.find(&format!("\"{key}\":")).expect(key);
    assert!(position("model") < position("messages"));
    assert!(position("messages") < position("tools"));
    assert!(position("tools") < position("tool_choice"));
    assert!(position("tool_choice") < position("stream"));
}

#[test]
fn type_errors_name_the_field() {
    let cases = [
        (body(json!([{"role": "user", "content": 5}])), "messages[0].content"),
        (
            body(json!([{"role": "user", "content": [{"type": "text", "text": 1}]}])),
            "messages[0].content[0].text",
        ),
        (
            body(json!([{"role": "user", "content": [{"type": "text"}]}])),
            "messages[0].content[0].text",
        ),
        (
            body(json!([{"role": "user", "content": [{"type": "image_url", "image_url": {"detail": "low"}}]}])),
            "messages[0].content[0].image_url",
        ),
        (body(json!([{"role": "wizard", "content": "hi"}])), "messages[0].role"),
        (json!({"messages": []}), "model"),
        (json!({"model": "m"}), "messages"),
        (
            json!({"model": "m", "messages": [], "temperature": "hot"}),
            "temperature",
        ),
        (json!({"model": "m", "messages": [], "max_tokens": -1}), "max_tokens"),
        (
            json!({"model": "m", "messages": [], "tools": [{"type": "function"}]}),
            "tools[0].function",
        ),
        (
            json!({"model": "m", "messages": [], "tools": [{"type": "function", "function": {"description": "x"}}]}),
            "tools[0].function",
        ),
    ];
    for (body, field) in cases {
        let err = decode_err(body);
        assert_eq!(err.status, 400);
        assert!(err.message.contains(&format!("`{field}")), "{field}: {}", err.message);
    }
}

#[test]
fn semantic_errors_name_the_field_and_the_fix() {
    let cases = [
        (
            body(json!([{"role": "tool", "content": "x"}])),
            "messages[0].tool_call_id",
        ),
        (body(json!([{"role": "user"}])), "messages[0].content"),
        (
            body(json!([{"role": "system", "content": null}])),
            "messages[0].content",
        ),
        (
            body(json!([{"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f"}}]}])),
            "messages[0].tool_calls[0].id",
        ),
        (
            body(json!([{"role": "assistant", "tool_calls": [{"id": "c", "type": "function"}]}])),
            "messages[0].tool_calls[0].function",
        ),
        (
            body(json!([{"role": "function", "name": "f", "content": "42"}])),
            "messages[0].role",
        ),
        (
            body(
                json!([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/svg+xml,<svg/>"}}]}]),
            ),
            "messages[0].content[0].image_url.url",
        ),
        (
            json!({"model": "m", "messages": [], "reasoning_effort": "extreme"}),
            "reasoning_effort",
        ),
        (
            json!({"model": "m", "messages": [], "tool_choice": "sometimes"}),
            "tool_choice",
        ),
        (
            json!({"model": "m", "messages": [], "tool_choice": {"type": "function", "function": {}}}),
            "tool_choice.function.name",
        ),
        (json!({"model": "m", "messages": [], "stop": 3}), "stop"),
        (json!({"model": "m", "messages": [], "stop": ["a", 3]}), "stop[1]"),
        (
            json!({"model": "m", "messages": [], "response_format": {"type": "json_schema"}}),
            "response_format.json_schema",
        ),
        (
            json!({"model": "m", "messages": [], "response_format": {"type": "yaml"}}),
            "response_format.type",
        ),
    ];
    for (body, field) in cases {
        let err = decode_err(body);
        assert_eq!(err.status, 400);
        assert!(err.message.contains(&format!("`{field}`")), "{field}: {}", err.message);
    }
}

#[test]
fn several_choices_are_refused_with_a_clear_message() {
    let err = decode_err(json!({"model": "m", "messages": [], "n": 2}));
    assert_eq!(err.status, 400);
    assert!(err.message.contains("one choice"), "{}", err.message);
    // n = 1 is what the gateway serves.
    assert!(decode_request(br#"{"model":"m","messages":[],"n":1}"#).is_ok());
}

#[test]
fn hostile_bodies_never_panic() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{\"model\":\"m\",\"messages\":[".to_vec(),
        deep.into_bytes(),
        vec![0xff, 0xfe, 0x00],
        br#"{"model":"m","messages":[{"role":"user","content":{"type":"text"}}]}"#.to_vec(),
        br#"{"model":"m","messages":[{"role":"user","content":[[[]]]}]}"#.to_vec(),
        br#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:"}]}]}"#.to_vec(),
        br#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":7}]}]}"#.to_vec(),
    ];
    for body in bodies {
        let err = decode_request(&body).expect_err("malformed body");
        assert_eq!(err.status, 400, "{}", err.message);
    }
}

#[test]
fn lenient_shapes_are_accepted() {
    let request = decode(
        &body(json!([
            {"role": "system", "content": ""},
            {"role": "user", "content": [
                {"type": "image_url", "image_url": "https://example.com/cat.png"},
                {"type": "video", "video": {}}
            ]},
            {"role": "developer", "content": [{"type": "text", "text": ""}]},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "I can't."}], "reasoning": "vLLM style"},
            {"role": "assistant", "content": null, "refusal": "No.", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}},
                {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "{not json"}},
                {"id": "c3", "type": "custom", "custom": {"name": "shell", "input": "ls -la"}}
            ]}
        ]))
        .to_string(),
    );
    // An empty system string carries nothing.
    assert!(request.system.is_empty());
    assert_eq!(
        request.messages,
        vec![
            message(
                Role::User,
                vec![Part::Image(Image::Url("https://example.com/cat.png".to_owned()))]
            ),
            message(
                Role::Assistant,
                vec![
                    Part::Reasoning(Reasoning {
                        text: "vLLM style".to_owned(),
                        signature: None,
                        redacted: None,
                    }),
                    text("I can't."),
                ]
            ),
            message(
                Role::Assistant,
                vec![
                    text("No."),
                    call("c1", "f", r#"{"a":1}"#),
                    // Invalid JSON is kept as the model wrote it.
                    call("c2", "g", "{not json"),
                    call("c3", "shell", r#"{"input":"ls -la"}"#),
                ]
            ),
        ]
    );
}

#[test]
fn reasoning_content_wins_over_reasoning() {
    let request = decode(
        &body(json!([{"role": "assistant", "content": "ok", "reasoning_content": "deepseek", "reasoning": "vllm"}]))
            .to_string(),
    );
    assert_eq!(
        request.messages[0].content[0],
        Part::Reasoning(Reasoning {
            text: "deepseek".to_owned(),
            ..Reasoning::default()
        })
    );
    assert_eq!(request.messages[0].content.len(), 2);
}

#[test]
fn tool_messages_merge_only_when_consecutive() {
    let request = decode(
        &body(json!([
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "a", "content": "1"},
            {"role": "user", "content": "next"},
            {"role": "tool", "tool_call_id": "b", "content": "2"}
        ]))
        .to_string(),
    );
    assert_eq!(
        request.messages[1..],
        [
            message(Role::User, vec![result("a", vec![text("1")])]),
            message(Role::User, vec![text("next")]),
            message(Role::User, vec![result("b", vec![text("2")])]),
        ]
    );
}

#[test]
fn tool_choice_and_effort_variants() {
    let choice =
        |value: Value| decode(&json!({"model": "m", "messages": [], "tool_choice": value}).to_string()).tool_choice;
    assert_eq!(choice(json!("none")), Some(ToolChoice::None));
    assert_eq!(choice(json!("required")), Some(ToolChoice::Required));
    assert_eq!(choice(json!(null)), None);
    assert_eq!(
        choice(json!({"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": []}})),
        Some(ToolChoice::Required)
    );
    assert_eq!(
        choice(json!({"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": []}})),
        Some(ToolChoice::Auto)
    );
    assert_eq!(
        choice(json!({"type": "custom", "custom": {"name": "shell"}})),
        Some(ToolChoice::Auto)
    );

    let effort = |name: &str| {
        decode(&json!({"model": "m", "messages": [], "reasoning_effort": name}).to_string())
            .reasoning
            .expect("reasoning set")
    };
    assert_eq!(effort("minimal").effort, Some(ReasoningEffort::Minimal));
    assert_eq!(effort("low").effort, Some(ReasoningEffort::Low));
    assert_eq!(effort("medium").effort, Some(ReasoningEffort::Medium));
    assert_eq!(effort("xhigh").effort, Some(ReasoningEffort::High));
    let none = effort("none");
    assert_eq!(none.effort, Some(ReasoningEffort::None));
    assert!(!none.include_thoughts);
}

#[test]
fn other_top_level_options() {
    let request = decode(
        &json!({
            "model": "m", "messages": [],
            "stop": ["END", "STOP"],
            "max_tokens": 64,
            "user": "u",
            "prompt_cache_key": "",
            "response_format": {"type": "json_object"},
            "web_search_options": {"search_context_size": "low"},
            "stream": false,
            "stream_options": {"include_usage": true}
        })
        .to_string(),
    );
    assert_eq!(request.sampling.stop, vec!["END", "STOP"]);
    assert_eq!(request.sampling.max_output_tokens, Some(64));
    // An empty prompt_cache_key does not hide the user.
    assert_eq!(request.session_key.as_deref(), Some("u"));
    assert_eq!(request.response_format, Some(ResponseFormat::JsonObject));
    assert_eq!(request.tools, vec![Tool::WebSearch]);
    let text_format = decode(&json!({"model": "m", "messages": [], "response_format": {"type": "text"}}).to_string());
    assert_eq!(text_format.response_format, None);
}

/// A model-side request with everything the OpenAI wire cannot say.
fn rich_request() -> ChatRequest {
    ChatRequest {
        model: "claude-sonnet".to_owned(),
        system: vec!["Be terse.".to_owned()],
        messages: vec![
            message(Role::User, vec![text("Take a screenshot.")]),
            message(
                Role::Assistant,
                vec![
                    Part::Reasoning(Reasoning {
                        text: "Need the tool.".to_owned(),
                        signature: Some("EqQBCgIYAhIM1gbcDa9GJwZA".to_owned()),
                        redacted: None,
                    }),
                    Part::Reasoning(Reasoning {
                        text: String::new(),
                        signature: None,
                        redacted: Some("EmwKAhgBEgy3va3pzix".to_owned()),
                    }),
                    text("Taking it."),
                    Part::ToolCall(ToolCall {
                        id: "toolu_01".to_owned(),
                        name: "screenshot".to_owned(),
                        arguments: String::new(),
                        signature: Some("sig".to_owned()),
                    }),
                ],
            ),
            message(
                Role::User,
                vec![
                    text("Here it is."),
                    Part::ToolResult(ToolResult {
                        call_id: "toolu_01".to_owned(),
                        name: Some("screenshot".to_owned()),
                        content: vec![
                            text("captured"),
                            Part::Image(Image::Base64 {
                                media_type: "image/jpeg".to_owned(),
                                data: "/9j/4AAQ".to_owned(),
                            }),
                        ],
                        is_error: true,
                    }),
                ],
            ),
            message(Role::System, vec![text("Now summarise.")]),
            message(
                Role::Assistant,
                vec![Part::Reasoning(Reasoning {
                    text: "Only thought.".to_owned(),
                    ..Reasoning::default()
                })],
            ),
        ],
        tools: vec![Tool::WebSearch],
        tool_choice: Some(ToolChoice::Required),
        sampling: Sampling {
            top_k: Some(40),
            max_output_tokens: Some(2048),
            ..Sampling::default()
        },
        reasoning: Some(ReasoningConfig {
            effort: None,
            budget_tokens: Some(4096),
            include_thoughts: true,
        }),
        response_format: None,
        stream: true,
        stream_include_usage: false,
        session_key: None,
    }
}

#[test]
fn model_only_features_are_dropped_or_mapped_on_encode() {
    assert_eq!(
        encode_request(&rich_request(), "gpt-5"),
        json!({
            "model": "gpt-5",
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": "Take a screenshot."},
                {
                    "role": "assistant",
                    "content": "Taking it.",
                    "reasoning_content": "Need the tool.",
                    "tool_calls": [
                        {"id": "toolu_01", "type": "function", "function": {"name": "screenshot", "arguments": "{}"}}
                    ]
                },
                // The tool result comes first, its image moves to the user message.
                {"role": "tool", "tool_call_id": "toolu_01", "content": "captured"},
                {"role": "user", "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                    {"type": "text", "text": "Here it is."}
                ]},
                {"role": "system", "content": "Now summarise."},
                {"role": "assistant", "content": "", "reasoning_content": "Only thought."}
            ],
            // No tools survive, so no tool_choice either; top_k is dropped.
            "max_completion_tokens": 2048,
            "reasoning_effort": "medium",
            "stream": true,
            "stream_options": {"include_usage": true}
        })
    );
}

#[test]
fn budgets_map_to_efforts() {
    let cases = [
        (0, "none"),
        (1, "low"),
        (1024, "low"),
        (1025, "medium"),
        (8192, "medium"),
        (8193, "high"),
        (32_000, "high"),
    ];
    for (budget, effort) in cases {
        let request = ChatRequest {
            reasoning: Some(ReasoningConfig {
                budget_tokens: Some(budget),
                ..ReasoningConfig::default()
            }),
            ..ChatRequest::default()
        };
        assert_eq!(
            encode_request(&request, "m")["reasoning_effort"],
            json!(effort),
            "budget {budget}"
        );
    }
    // An explicit effort wins over the budget.
    let request = ChatRequest {
        reasoning: Some(ReasoningConfig {
            effort: Some(ReasoningEffort::Minimal),
            budget_tokens: Some(32_000),
            include_thoughts: false,
        }),
        ..ChatRequest::default()
    };
    assert_eq!(encode_request(&request, "m")["reasoning_effort"], json!("minimal"));
}

#[test]
fn plain_requests_use_max_tokens_and_no_stream_fields() {
    let request = ChatRequest {
        sampling: Sampling {
            max_output_tokens: Some(100),
            ..Sampling::default()
        },
        reasoning: Some(ReasoningConfig::default()),
        tool_choice: Some(ToolChoice::Auto),
        ..ChatRequest::default()
    };
    assert_eq!(
        encode_request(&request, "m"),
        json!({"model": "m", "messages": [], "max_tokens": 100})
    );
}

#[test]
fn empty_tool_results_and_other_documents() {
    let request = ChatRequest {
        messages: vec![message(
            Role::User,
            vec![
                result("c", vec![]),
                Part::Image(Image::Base64 {
                    media_type: "text/plain".to_owned(),
                    data: "aGk=".to_owned(),
                }),
                text("go"),
            ],
        )],
        ..ChatRequest::default()
    };
    assert_eq!(
        encode_request(&request, "m")["messages"],
        json!([
            {"role": "tool", "tool_call_id": "c", "content": ""},
            // A text/plain document has no Chat Completions part and is dropped.
            {"role": "user", "content": "go"}
        ])
    );
}
