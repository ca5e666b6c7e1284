//! Request decoding and encoding against golden fixtures taken from the
//! Responses API reference and from what Codex sends.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::*;
use crate::protocol::model::Image;
use crate::protocol::responses::testing::fixture;

fn decode(body: &str) -> (ChatRequest, RequestOptions) {
    match decode_request(body.as_bytes()) {
        Ok(decoded) => decoded,
        Err(err) => panic!("fixture failed to decode: {}", err.message),
    }
}

fn decode_err(body: &Value) -> ApiError {
    match decode_request(body.to_string().as_bytes()) {
        Ok(decoded) => panic!("expected an error, decoded {decoded:?}"),
        Err(err) => err,
    }
}

fn text(role: Role, text: &str) -> Message {
    Message::text(role, text)
}

fn call(id: &str, name: &str, arguments: &str) -> Part {
    Part::ToolCall(ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
        signature: None,
    })
}

fn result(call_id: &str, content: Vec<Part>) -> Part {
    Part::ToolResult(ToolResult {
        call_id: call_id.into(),
        name: None,
        content,
        is_error: false,
    })
}

fn function(name: &str, description: Option<&str>, parameters: Value) -> Tool {
    Tool::Function(FunctionTool {
        name: name.into(),
        description: description.map(Into::into),
        parameters,
    })
}

// --- decoding ---------------------------------------------------------------

#[test]
fn a_string_input_with_instructions_and_sampling_decodes() {
    let (request, options) = decode(fixture!("request_text.json"));
    assert_eq!(
        request,
        ChatRequest {
            model: "gpt-4.1".into(),
            system: vec!["You are a coding assistant that talks like a pirate.".into()],
            messages: vec![text(Role::User, "Are semicolons optional in JavaScript?")],
            sampling: Sampling {
                temperature: Some(0.7),
                top_p: Some(0.9),
                max_output_tokens: Some(1024),
                ..Sampling::default()
            },
            session_key: Some("user_1234".into()),
            ..ChatRequest::default()
        }
    );
    assert_eq!(
        options,
        RequestOptions {
            instructions: Some("You are a coding assistant that talks like a pirate.".into()),
            metadata: json!({"customer_id": "cus_4Xz9"}),
            max_output_tokens: Some(1024),
            temperature: Some(0.7),
            top_p: Some(0.9),
            truncation: json!("auto"),
            user: Some("user_1234".into()),
            ..RequestOptions::default()
        }
    );
}

#[test]
fn leading_system_and_developer_items_are_the_instructions_and_later_ones_stay() {
    let (request, options) = decode(fixture!("request_multi_turn.json"));
    assert_eq!(
        request.system,
        vec![
            "You are a helpful assistant.".to_string(),
            "Answer in English.".to_string(),
            "Keep it short.".to_string(),
        ]
    );
    assert_eq!(
        request.messages,
        vec![
            text(Role::User, "knock knock."),
            text(Role::Assistant, "Who's there?"),
            text(Role::User, "Orange."),
            text(Role::Assistant, "Orange who?"),
            text(Role::System, "The user is telling a joke; play along."),
            text(Role::User, "Orange you glad I didn't say banana?"),
        ]
    );
    assert_eq!(request.session_key.as_deref(), Some("conv_9f8e7d"));
    // Nothing set: every echoed field has the API's default.
    assert_eq!(
        options,
        RequestOptions {
            prompt_cache_key: Some("conv_9f8e7d".into()),
            ..RequestOptions::default()
        }
    );
    assert!(options.store && options.parallel_tool_calls && !options.include_encrypted_reasoning);
}

#[test]
fn images_and_pdfs_decode_and_file_references_drop() {
    let (request, _) = decode(fixture!("request_images.json"));
    assert_eq!(
        request.messages,
        vec![Message {
            role: Role::User,
            content: vec![
                Part::Text("What is in these images and this file?".into()),
                Part::Image(Image::Url(
                    "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg".into()
                )),
                Part::Image(Image::Base64 {
                    media_type: "image/png".into(),
                    data: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
                        .into(),
                }),
                // The file-id image, the file-id file and the file URL are gone.
                Part::Image(Image::Base64 {
                    media_type: "application/pdf".into(),
                    data: "JVBERi0xLjQKJcfsj6IKNSAwIG9iago=".into(),
                }),
            ],
        }]
    );
}

#[test]
fn function_tools_and_web_search_decode_and_other_builtins_drop() {
    let (request, options) = decode(fixture!("request_tools.json"));
    assert_eq!(
        request.tools,
        vec![
            function(
                "get_current_weather",
                Some("Get the current weather in a given location"),
                json!({
                    "type": "object",
                    "properties": {
                        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
                    },
                    "required": ["location", "unit"]
                })
            ),
            // `parameters: null` declares a function without arguments.
            function("get_time", None, json!({"type": "object", "properties": {}})),
            Tool::WebSearch,
        ]
    );
    assert_eq!(
        request.tool_choice,
        Some(ToolChoice::Function("get_current_weather".into()))
    );
    assert_eq!(
        request.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "weather_report".into(),
            schema: json!({
                "type": "object",
                "properties": {"summary": {"type": "string"}, "temperature": {"type": "number"}},
                "required": ["summary", "temperature"],
                "additionalProperties": false
            }),
        })
    );
    // The echo keeps every tool as given, built-ins included.
    assert_eq!(options.tools.len(), 8);
    assert_eq!(options.tools[5]["server_label"], "deepwiki");
    assert_eq!(
        options.tool_choice,
        json!({"type": "function", "name": "get_current_weather"})
    );
    assert!(!options.parallel_tool_calls);
    assert_eq!(options.text["verbosity"], "low");
    assert_eq!(options.text["format"]["name"], "weather_report");
    assert!(options.namespaced_tools.is_empty());
}

#[test]
fn a_tool_round_trip_with_reasoning_becomes_turns() {
    let (request, options) = decode(fixture!("request_tool_round_trip.json"));
    assert_eq!(
        request.messages,
        vec![
            text(Role::User, "What's the weather in Paris and in Bogotá?"),
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Reasoning(Reasoning {
                        // Summary parts are paragraphs.
                        text: "**Checking two cities**\n\nI need the weather for both places.\n\nI'll call the tool twice."
                            .into(),
                        signature: Some("gAAAAABor0Ay1Lw9zU3pZkqf8Y2Qm4sA6cE0t".into()),
                        redacted: None,
                    }),
                    call("call_12345xyz", "get_weather", r#"{"location":"Paris, France"}"#),
                    call("call_67890abc", "get_weather", r#"{"location":"Bogotá, Colombia"}"#),
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    result(
                        "call_12345xyz",
                        vec![Part::Text(r#"{"temperature": 14, "unit": "celsius"}"#.into())]
                    ),
                    result(
                        "call_67890abc",
                        vec![
                            Part::Text(r#"{"temperature": 19, "unit": "celsius"}"#.into()),
                            Part::Image(Image::Url("https://example.com/bogota-radar.png".into())),
                        ]
                    ),
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Reasoning(Reasoning {
                        text: String::new(),
                        signature: None,
                        redacted: Some("EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIw".into()),
                    }),
                    Part::Text("Paris is 14°C and Bogotá is 19°C.".into()),
                ],
            },
            text(Role::User, "Thanks! And Lima?"),
        ]
    );
    assert_eq!(request.tool_choice, Some(ToolChoice::Required));
    assert_eq!(
        request.reasoning,
        Some(ReasoningConfig {
            effort: Some(ReasoningEffort::High),
            budget_tokens: None,
            include_thoughts: true,
        })
    );
    assert!(!options.store);
    assert!(options.include_encrypted_reasoning);
    assert_eq!(options.reasoning, json!({"effort": "high", "summary": "detailed"}));
}

#[test]
fn a_codex_request_decodes_with_its_quirks() {
    let (request, options) = decode(fixture!("request_codex.json"));
    // No `instructions`: the leading developer item is the system prompt.
    assert_eq!(
        request.system,
        vec![
            "You are a coding agent running in the Codex CLI, a terminal-based coding assistant.".to_string(),
            "<permissions instructions>\nFilesystem sandboxing defines which files can be read or written. Approval policy is currently never.\n</permissions instructions>".to_string(),
        ]
    );
    assert_eq!(
        request.messages,
        vec![
            text(
                Role::User,
                "# AGENTS.md instructions for /home/dev/app\n\n<INSTRUCTIONS>\nRun `cargo test` before committing.\n</INSTRUCTIONS>"
            ),
            text(
                Role::User,
                "<environment_context>\n  <cwd>/home/dev/app</cwd>\n  <shell>bash</shell>\n</environment_context>"
            ),
            text(Role::User, "List the files and check the forecast for Bern."),
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Reasoning(Reasoning {
                        text: "**Listing files**\n\nI'll run ls first.".into(),
                        signature: Some("RXF3QkNrZ0lDeEFCR0FJaVFNYjBhcHB5".into()),
                        redacted: None,
                    }),
                    call(
                        "call_AbCdEf0123456789",
                        "shell",
                        r#"{"command":["bash","-lc","ls"],"workdir":"/home/dev/app"}"#
                    ),
                ],
            },
            Message {
                role: Role::User,
                content: vec![result(
                    "call_AbCdEf0123456789",
                    vec![Part::Text("Cargo.toml\nsrc\n".into())]
                )],
            },
            // The namespaced call has the flat name the upstream saw.
            Message {
                role: Role::Assistant,
                content: vec![call(
                    "call_Weather0001",
                    "mcp__weather__get_forecast",
                    r#"{"city":"Bern"}"#
                )],
            },
            Message {
                role: Role::User,
                content: vec![result(
                    "call_Weather0001",
                    vec![Part::Text(r#"{"forecast":"sunny"}"#.into())]
                )],
            },
            // The custom tool call, its output, the web search call and the
            // item reference are dropped.
            text(Role::Assistant, "The repo has Cargo.toml and src; Bern will be sunny."),
            text(
                Role::System,
                "<collaboration_mode>\nDefault mode.\n</collaboration_mode>"
            ),
            text(Role::User, "Now run the tests."),
        ]
    );
    let shell_schema = json!({
        "type": "object",
        "properties": {
            "command": {"type": "array", "items": {"type": "string"}, "description": "The command to execute"},
            "workdir": {"type": "string", "description": "The working directory to execute the command in"},
            "timeout_ms": {"type": "number", "description": "The timeout for the command in milliseconds"}
        },
        "required": ["command"],
        "additionalProperties": false
    });
    assert_eq!(
        request.tools,
        vec![
            function(
                "shell",
                Some("Runs a shell command and returns its output."),
                shell_schema
            ),
            // The custom apply_patch tool and the namespace's custom tool are dropped.
            function(
                "mcp__weather__get_forecast",
                Some("Forecast for a city."),
                json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
            ),
            Tool::WebSearch,
        ]
    );
    assert_eq!(request.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(
        request.reasoning,
        Some(ReasoningConfig {
            effort: Some(ReasoningEffort::Medium),
            budget_tokens: None,
            include_thoughts: true,
        })
    );
    assert!(request.stream);
    assert!(request.stream_include_usage);
    assert_eq!(
        request.session_key.as_deref(),
        Some("0199a5e2-7c1b-7e20-9d3a-5f4e3d2c1b0a")
    );

    assert!(!options.store);
    assert!(options.include_encrypted_reasoning);
    assert!(!options.parallel_tool_calls);
    assert_eq!(options.instructions, None);
    assert_eq!(options.text, json!({"format": {"type": "text"}, "verbosity": "low"}));
    assert_eq!(options.reasoning, json!({"effort": "medium", "summary": "auto"}));
    assert_eq!(
        options.namespaced_tools,
        BTreeMap::from([(
            "mcp__weather__get_forecast".to_string(),
            NamespacedName {
                namespace: "mcp__weather__".into(),
                name: "get_forecast".into(),
            }
        )])
    );
    assert_eq!(
        options.client_name("mcp__weather__get_forecast"),
        (Some("mcp__weather__"), "get_forecast")
    );
    assert_eq!(options.client_name("shell"), (None, "shell"));
}

#[test]
fn unknown_items_tools_and_parts_never_fail_a_request() {
    let body = json!({
        "model": "gpt-5",
        "input": [
            {"type": "computer_call_output", "call_id": "c1", "output": {"type": "computer_screenshot", "image_url": "data:image/png;base64,AA=="}},
            {"type": "local_shell_call", "id": "lsh_1", "call_id": "c2", "status": "completed", "action": {"type": "exec", "command": ["ls"], "env": {}}},
            {"type": "local_shell_call_output", "id": "c2", "output": "ok"},
            {"type": "mcp_list_tools", "id": "ml_1", "server_label": "s", "tools": [{"name": 5}]},
            {"type": "compaction", "encrypted_content": "opaque"},
            {"type": "tool_search_call", "arguments": {"query": "x"}, "execution": "server"},
            {"type": "brand_new_item", "name": {"nested": true}, "arguments": 7},
            {"role": "user", "content": [
                {"type": "input_audio", "input_audio": {"data": "AA==", "format": "wav"}},
                {"type": "input_text", "text": "still here"}
            ]}
        ],
        "tools": [
            {"type": "local_shell"},
            {"type": "brand_new_tool", "name": 5},
            {"name": "no type at all"},
            {"type": "namespace", "name": "ns", "description": "d", "tools": [{"type": "custom", "name": 5}]}
        ],
        "tool_choice": {"type": "image_generation"},
        "service_tier": {"odd": "shape"},
        "background": "yes",
        "stream_options": 1
    });
    let (request, options) = decode_request(body.to_string().as_bytes()).expect("never a 400");
    assert_eq!(request.messages, vec![text(Role::User, "still here")]);
    assert_eq!(request.tools, vec![]);
    assert_eq!(request.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(options.tools.len(), 4);
}

#[test]
fn additional_tools_items_add_tools_like_the_tools_field() {
    let body = json!({
        "model": "gpt-5",
        "input": [
            {"type": "additional_tools", "role": "developer", "tools": [
                {"type": "namespace", "name": "mcp__docs", "description": "Docs.", "tools": [
                    {"type": "function", "name": "search", "parameters": {"type": "object"}}
                ]},
                {"type": "function", "name": "shell", "parameters": {"type": "object"}}
            ]},
            {"role": "user", "content": "hi"}
        ],
        "tools": [{"type": "function", "name": "shell", "description": "first wins", "parameters": {"type": "object"}}]
    });
    let (request, options) = decode_request(body.to_string().as_bytes()).expect("decodes");
    assert_eq!(
        request.tools,
        vec![
            function("shell", Some("first wins"), json!({"type": "object"})),
            function("mcp__docs__search", None, json!({"type": "object"})),
        ]
    );
    assert_eq!(options.client_name("mcp__docs__search"), (Some("mcp__docs"), "search"));
    assert_eq!(request.messages, vec![text(Role::User, "hi")]);
}

#[test]
fn tool_choices_decode_every_documented_shape() {
    let choice = |value: Value| {
        let body = json!({"model": "m", "input": "x", "tool_choice": value});
        decode_request(body.to_string().as_bytes())
            .expect("decodes")
            .0
            .tool_choice
    };
    assert_eq!(choice(json!("none")), Some(ToolChoice::None));
    assert_eq!(choice(json!("auto")), Some(ToolChoice::Auto));
    assert_eq!(choice(json!("required")), Some(ToolChoice::Required));
    assert_eq!(choice(Value::Null), None);
    assert_eq!(
        choice(json!({"type": "function", "name": "lookup", "namespace": "mcp__synthetic"})),
        Some(ToolChoice::Function("mcp__synthetic__lookup".into()))
    );
    assert_eq!(
        choice(json!({"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "a"}]})),
        Some(ToolChoice::Required)
    );
    assert_eq!(
        choice(json!({"type": "allowed_tools", "mode": "auto", "tools": []})),
        Some(ToolChoice::Auto)
    );
}

#[test]
fn reasoning_efforts_and_summaries_decode() {
    let reasoning = |value: Value| {
        let body = json!({"model": "m", "input": "x", "reasoning": value});
        decode_request(body.to_string().as_bytes())
            .expect("decodes")
            .0
            .reasoning
    };
    let config = |effort, include_thoughts| {
        Some(ReasoningConfig {
            effort,
            budget_tokens: None,
            include_thoughts,
        })
    };
    assert_eq!(
        reasoning(json!({"effort": "xhigh"})),
        config(Some(ReasoningEffort::High), false)
    );
    assert_eq!(
        reasoning(json!({"effort": "minimal", "summary": "concise"})),
        config(Some(ReasoningEffort::Minimal), true)
    );
    assert_eq!(
        reasoning(json!({"effort": "none", "summary": "auto"})),
        config(Some(ReasoningEffort::None), false)
    );
    assert_eq!(reasoning(json!({"summary": "auto"})), config(None, true));
    assert_eq!(reasoning(json!({"effort": null, "summary": null})), None);
    assert_eq!(reasoning(json!({"summary": "none"})), None);
}

#[test]
fn json_object_format_and_plain_text_decode() {
    let format = |value: Value| {
        let body = json!({"model": "m", "input": "x", "text": value});
        decode_request(body.to_string().as_bytes())
            .expect("decodes")
            .0
            .response_format
    };
    assert_eq!(
        format(json!({"format": {"type": "json_object"}})),
        Some(ResponseFormat::JsonObject)
    );
    assert_eq!(format(json!({"format": {"type": "text"}})), None);
    assert_eq!(format(json!({"verbosity": "high"})), None);
}

#[test]
fn malformed_requests_are_400s_that_name_the_field() {
    let cases = [
        (json!({"input": "hi"}), "missing field `model`"),
        (json!({"model": "m", "input": 5}), "`input`"),
        (json!({"model": "m", "input": [5]}), "`input[0]`"),
        (
            json!({"model": "m", "input": [{"content": "no role or type"}]}),
            "`input[0].type`",
        ),
        (
            json!({"model": "m", "input": [{"role": "user", "content": 5}]}),
            "`input[0].content`",
        ),
        (
            json!({"model": "m", "input": [{"role": "tool", "content": "x"}]}),
            "`input[0].role`",
        ),
        (
            json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_text", "text": 1}]}]}),
            "`input[0].content[0].text`",
        ),
        (
            json!({"model": "m", "input": [{"role": "user", "content": "a"}, {"type": "function_call", "name": "f", "arguments": "{}"}]}),
            "missing field `call_id`",
        ),
        (
            json!({"model": "m", "input": [{"type": "function_call_output", "call_id": "c", "output": 5}]}),
            "`input[0].output`",
        ),
        (
            json!({"model": "m", "input": [{"type": "reasoning", "summary": [{"type": "summary_text"}]}]}),
            "`input[0].summary[0]`",
        ),
        (
            json!({"model": "m", "tools": [{"type": "function", "name": 5}]}),
            "`tools[0].name`",
        ),
        (
            json!({"model": "m", "tools": [{"type": "namespace", "name": "ns", "tools": [{"type": "function"}]}]}),
            "`tools[0].tools[0]`",
        ),
        (json!({"model": "m", "tool_choice": "sometimes"}), "`tool_choice`"),
        (
            json!({"model": "m", "tool_choice": {"type": "function"}}),
            "`tool_choice.name`",
        ),
        (
            json!({"model": "m", "tool_choice": {"name": "f"}}),
            "`tool_choice.type`",
        ),
        (
            json!({"model": "m", "reasoning": {"effort": "extreme"}}),
            "`reasoning.effort`",
        ),
        (json!({"model": "m", "reasoning": {"effort": 3}}), "`reasoning.effort`"),
        (
            json!({"model": "m", "text": {"format": {"type": "grammar"}}}),
            "`text.format.type`",
        ),
        (
            json!({"model": "m", "text": {"format": {"type": "json_schema", "schema": {}}}}),
            "`text.format.name`",
        ),
        (
            json!({"model": "m", "max_output_tokens": "many"}),
            "`max_output_tokens`",
        ),
    ];
    for (body, expected) in cases {
        let err = decode_err(&body);
        assert_eq!(err.status, 400, "{body}");
        assert!(err.message.contains(expected), "{body}: {}", err.message);
    }
}

// --- encoding ---------------------------------------------------------------

#[test]
fn a_decoded_round_trip_encodes_to_the_expected_body() {
    let (request, _) = decode(fixture!("request_tool_round_trip.json"));
    let expected: Value = serde_json::from_str(fixture!("encoded_request_round_trip.json")).expect("JSON");
    assert_eq!(encode_request(&request, "o4-mini-2025-04-16"), expected);
}

#[test]
fn the_codex_request_encodes_system_blocks_and_flat_tools() {
    let (request, _) = decode(fixture!("request_codex.json"));
    let body = encode_request(&request, "gpt-5-codex");
    let input = body["input"].as_array().expect("input");
    assert_eq!(
        input[0],
        json!({"type": "message", "role": "system", "content": request.system[0]})
    );
    assert_eq!(input[1]["role"], "system");
    assert_eq!(body["tools"][1]["name"], "mcp__weather__get_forecast");
    assert_eq!(body["tools"][2], json!({"type": "web_search"}));
    assert_eq!(body["tool_choice"], "auto");
    assert_eq!(body["reasoning"], json!({"effort": "medium", "summary": "auto"}));
    assert_eq!(body["prompt_cache_key"], "0199a5e2-7c1b-7e20-9d3a-5f4e3d2c1b0a");
    assert_eq!(body["stream"], true);
    assert_eq!(body["store"], false);
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
}

#[test]
fn every_fixture_round_trips_through_encode_and_decode() {
    for body in [
        fixture!("request_text.json"),
        fixture!("request_multi_turn.json"),
        fixture!("request_images.json"),
        fixture!("request_tools.json"),
        fixture!("request_tool_round_trip.json"),
        fixture!("request_codex.json"),
    ] {
        let (request, _) = decode(body);
        let encoded = encode_request(&request, &request.model);
        let (again, _) = decode(&encoded.to_string());
        assert_eq!(again, request);
    }
}

#[test]
fn encoding_drops_what_the_responses_api_has_no_field_for() {
    let request = ChatRequest {
        model: "m".into(),
        messages: vec![text(Role::User, "hi")],
        tool_choice: Some(ToolChoice::Required),
        sampling: Sampling {
            top_k: Some(40),
            stop: vec!["END".into()],
            seed: Some(7),
            presence_penalty: Some(0.5),
            frequency_penalty: Some(0.5),
            ..Sampling::default()
        },
        reasoning: Some(ReasoningConfig {
            effort: None,
            budget_tokens: Some(2048),
            include_thoughts: false,
        }),
        response_format: Some(ResponseFormat::JsonObject),
        ..ChatRequest::default()
    };
    assert_eq!(
        encode_request(&request, "upstream-model"),
        json!({
            "model": "upstream-model",
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
            // No tools, so no tool_choice; a budget becomes an effort.
            "reasoning": {"effort": "medium"},
            "text": {"format": {"type": "json_object"}},
            "store": false,
            "include": ["reasoning.encrypted_content"]
        })
    );
}

#[test]
fn hostile_bodies_are_errors_never_panics() {
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\xff\xfe".to_vec(),
        b"null".to_vec(),
        br#"{"model": "m", "input": [{"type": "message", "role": "user", "content": [[[]]]}]}"#.to_vec(),
        br#"{"model": "m", "input": [{"type": 5}]}"#.to_vec(),
        br#"{"model": "m", "input": [{"type": "reasoning", "summary": "text"}]}"#.to_vec(),
        br#"{"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": [1]}]}"#
            .to_vec(),
        br#"{"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": true}]}"#
            .to_vec(),
        br#"{"model": "m", "max_output_tokens": -1}"#.to_vec(),
        br#"{"model": "m", "temperature": 1e999}"#.to_vec(),
        br#"{"model": "m", "tools": {"type": "function"}}"#.to_vec(),
        br#"{"model": "m", "tools": [{"type": "namespace", "name": "n", "tools": {}}]}"#.to_vec(),
        br#"{"model": "m", "input": [{"type": "additional_tools", "tools": 5}]}"#.to_vec(),
        br#"{"model": "m", "text": {"format": 5}}"#.to_vec(),
        format!(r#"{{"model": "m", "metadata": {deep}}}"#).into_bytes(),
        format!(r#"{{"model": "m", "input": [{{"type": "mystery", "x": {deep}}}]}}"#).into_bytes(),
    ];
    for body in bodies {
        match decode_request(&body) {
            Ok(_) => panic!("accepted {}", String::from_utf8_lossy(&body)),
            Err(err) => assert_eq!(err.status, 400, "{}", String::from_utf8_lossy(&body)),
        }
    }
    // Arguments that are not JSON are kept as text, not refused.
    let body = json!({"model": "m", "input": [
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{not json"}
    ]});
    let (request, _) = decode_request(body.to_string().as_bytes()).expect("decodes");
    assert_eq!(
        request.messages,
        vec![Message {
            role: Role::Assistant,
            content: vec![call("c", "f", "{not json")],
        }]
    );
}
