//! Request decoding and encoding against golden fixtures.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::{decode_request, encode_request};
use crate::protocol::model::{
    ChatRequest, FunctionTool, Image, Message, Part, Reasoning, ReasoningConfig, ReasoningEffort, ResponseFormat, Role,
    Sampling, Tool, ToolCall, ToolChoice, ToolResult,
};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/gemini/", $name))
    };
}

fn decode(body: &str) -> ChatRequest {
    match decode_request(body.as_bytes()) {
        Ok(request) => request,
        Err(err) => panic!("fixture did not decode: {}", err.message),
    }
}

fn text(role: Role, text: &str) -> Message {
    Message::text(role, text)
}

fn signed(signature: &str) -> Part {
    Part::Reasoning(Reasoning {
        text: String::new(),
        signature: Some(signature.into()),
        redacted: None,
    })
}

/// Decode → encode → decode gives the same model.
fn assert_round_trip(request: &ChatRequest) {
    let encoded = encode_request(request, "gemini-2.5-flash");
    let again = decode(&encoded.to_string());
    assert_eq!(&again, request, "round trip through {encoded}");
}

#[test]
fn text_with_sampling_parameters() {
    let request = decode(fixture!("request_text_sampling.json"));
    assert_eq!(request.model, "", "the model name is in the URL");
    assert!(!request.stream, "the stream flag is the method");
    assert_eq!(
        request.messages,
        vec![text(Role::User, "Write a haiku about autumn leaves.")]
    );
    assert_eq!(
        request.sampling,
        Sampling {
            temperature: Some(0.7),
            top_p: Some(0.95),
            top_k: Some(40),
            max_output_tokens: Some(256),
            stop: vec!["\n\n\n".into(), "END".into()],
            presence_penalty: Some(0.5),
            frequency_penalty: Some(-0.25),
            seed: Some(42),
        }
    );
    assert!(request.system.is_empty());
    assert!(request.tools.is_empty());
    assert_eq!(request.tool_choice, None);
    assert_eq!(request.reasoning, None);
    assert_eq!(request.response_format, None);
    assert_round_trip(&request);

    let encoded = encode_request(&request, "ignored");
    assert_eq!(
        encoded,
        json!({
            "contents": [{"role": "user", "parts": [{"text": "Write a haiku about autumn leaves."}]}],
            "generationConfig": {
                "temperature": 0.7, "topP": 0.95, "topK": 40, "maxOutputTokens": 256,
                "stopSequences": ["\n\n\n", "END"], "presencePenalty": 0.5, "frequencyPenalty": -0.25, "seed": 42
            }
        })
    );
}

#[test]
fn system_instruction_and_turns() {
    let body = fixture!("request_system_multiturn.json");
    let request = decode(body);
    assert_eq!(
        request.system,
        vec!["You are a cat. Your name is Neko.", "Answer in one sentence."]
    );
    assert_eq!(
        request.messages,
        vec![
            text(Role::User, "Hello there"),
            text(Role::Assistant, "Meow, I am Neko, the cat."),
            text(Role::User, "What do you like to eat?"),
        ]
    );
    assert_round_trip(&request);
    let original: Value = serde_json::from_str(body).unwrap();
    assert_eq!(encode_request(&request, "m"), original);
}

#[test]
fn images_inline_and_by_uri_in_both_spellings() {
    let request = decode(fixture!("request_images.json"));
    assert_eq!(
        request.messages,
        vec![Message {
            role: Role::User,
            content: vec![
                Part::Text("What is in these pictures?".into()),
                Part::Image(Image::Base64 {
                    media_type: "image/png".into(),
                    data: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
                        .into(),
                }),
                Part::Image(Image::Base64 {
                    media_type: "image/jpeg".into(),
                    data: "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA==".into(),
                }),
                Part::Image(Image::Url("https://generativelanguage.googleapis.com/v1beta/files/8f3kd92mx0".into())),
                Part::Image(Image::Url(
                    "https://storage.googleapis.com/cloud-samples-data/generative-ai/image/scones.jpg".into()
                )),
            ],
        }]
    );
    assert_round_trip(&request);
}

#[test]
fn tools_declarations_search_and_forced_function() {
    let request = decode(fixture!("request_tools.json"));
    assert_eq!(
        request.tools,
        vec![
            Tool::Function(FunctionTool {
                name: "set_light_values".into(),
                description: Some("Sets the brightness and color temperature of a light.".into()),
                // The Gemini Schema became JSON Schema that OpenAI and Anthropic accept.
                parameters: json!({
                    "type": "object",
                    "properties": {
                        "brightness": {"type": "integer", "description": "Light level from 0 to 100. Zero is off and 100 is full brightness"},
                        "color_temp": {"type": "string", "enum": ["daylight", "cool", "warm"], "description": "Color temperature of the light fixture"},
                        "room": {"type": ["string", "null"]}
                    },
                    "required": ["brightness", "color_temp"]
                }),
            }),
            Tool::Function(FunctionTool {
                name: "schedule_meeting".into(),
                description: Some("Schedules a meeting with specified attendees at a given time and date.".into()),
                parameters: json!({
                    "type": "object",
                    "properties": {
                        "attendees": {"type": "array", "items": {"type": "string"}},
                        "date": {"type": "string", "description": "Date of the meeting (e.g., '2024-07-29')"},
                        "topic": {"type": "string"}
                    },
                    "required": ["attendees", "date", "topic"],
                    "additionalProperties": false
                }),
            }),
            Tool::Function(FunctionTool {
                name: "get_time".into(),
                description: Some("Returns the current time.".into()),
                parameters: json!({"type": "object", "properties": {}}),
            }),
            Tool::WebSearch,
        ],
        "codeExecution is dropped"
    );
    assert_eq!(
        request.tool_choice,
        Some(ToolChoice::Function("set_light_values".into()))
    );

    // Encoding cleans what Gemini's Schema refuses; everything else comes back.
    let encoded = encode_request(&request, "m");
    assert_eq!(
        encoded["tools"],
        json!([
            {"functionDeclarations": [
                {
                    "name": "set_light_values",
                    "description": "Sets the brightness and color temperature of a light.",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "brightness": {"type": "integer", "description": "Light level from 0 to 100. Zero is off and 100 is full brightness"},
                            "color_temp": {"type": "string", "description": "Color temperature of the light fixture", "enum": ["daylight", "cool", "warm"]},
                            "room": {"type": "string", "nullable": true}
                        },
                        "required": ["brightness", "color_temp"]
                    }
                },
                {
                    "name": "schedule_meeting",
                    "description": "Schedules a meeting with specified attendees at a given time and date.",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "attendees": {"type": "array", "items": {"type": "string"}},
                            "date": {"type": "string", "description": "Date of the meeting (e.g., '2024-07-29')"},
                            "topic": {"type": "string"}
                        },
                        "required": ["attendees", "date", "topic"]
                    }
                },
                {"name": "get_time", "description": "Returns the current time."}
            ]},
            {"googleSearch": {}}
        ])
    );
    assert_eq!(
        encoded["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["set_light_values"]}})
    );
    let again = decode(&encoded.to_string());
    assert_eq!(again.tools[0], request.tools[0]);
    assert_eq!(again.tools[2..], request.tools[2..]);
    assert_eq!(again.tool_choice, request.tool_choice);
}

#[test]
fn function_calls_and_responses_are_paired() {
    let request = decode(fixture!("request_tool_round_trip.json"));
    let call = |id: &str, city: &str, signature: Option<&str>| {
        Part::ToolCall(ToolCall {
            id: id.into(),
            name: "get_current_temperature".into(),
            arguments: json!({"location": city}).to_string(),
            signature: signature.map(Into::into),
        })
    };
    let result = |id: &str, content: Value, is_error: bool| {
        Part::ToolResult(ToolResult {
            call_id: id.into(),
            name: Some("get_current_temperature".into()),
            content: vec![Part::Text(content.to_string())],
            is_error,
        })
    };
    assert_eq!(
        request.messages,
        vec![
            text(Role::User, "What's the temperature in London and Paris?"),
            Message {
                role: Role::Assistant,
                content: vec![
                    call("call_0", "London", Some("CoIBAdHtim9gAdY1bp0rKx2Xn1U=")),
                    call("call_1", "Paris", None),
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    result("call_0", json!({"temperature": 18, "unit": "celsius"}), false),
                    result("call_1", json!({"error": "Paris is not reachable"}), true),
                ],
            },
            text(Role::Assistant, "It is 18°C in London; I could not reach Paris."),
            text(Role::User, "Try Paris again."),
            Message {
                role: Role::Assistant,
                content: vec![call("fc_7", "Paris", Some("CoIBAdHtim8Qq2Zb"))]
            },
            Message {
                role: Role::User,
                content: vec![result("fc_7", json!({"output": "21 celsius"}), false)]
            },
        ]
    );
    assert_round_trip(&request);
    let encoded = encode_request(&request, "m");
    assert_eq!(
        encoded["contents"][2]["parts"][1],
        json!({"functionResponse": {"id": "call_1", "name": "get_current_temperature", "response": {"error": "Paris is not reachable"}}})
    );
    assert_eq!(
        encoded["contents"][6]["role"], "user",
        "the old `function` role is sent as `user`"
    );
}

#[test]
fn thinking_history_keeps_its_signatures() {
    let body = fixture!("request_thinking.json");
    let request = decode(body);
    assert_eq!(
        request.messages[1],
        Message {
            role: Role::Assistant,
            content: vec![
                Part::Reasoning(Reasoning {
                    text: "**Checking divisibility**\nI tried every prime up to 1000.".into(),
                    signature: Some("EpwDCpkDAdHtim8xR2VtaW5p".into()),
                    redacted: None,
                }),
                signed("Ej8KPQHR7Yp/aBcZ"),
                Part::Text("Yes, 1,000,003 is prime.".into()),
            ],
        }
    );
    assert_eq!(
        request.reasoning,
        Some(ReasoningConfig {
            effort: None,
            budget_tokens: Some(2048),
            include_thoughts: true
        })
    );
    assert_round_trip(&request);
    let original: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        encode_request(&request, "m"),
        original,
        "signatures return to the parts they came on"
    );
}

#[test]
fn python_sdk_body_with_snake_case_inside() {
    let request = decode(fixture!("request_python_sdk.json"));
    assert_eq!(request.system, vec!["Be brief."]);
    assert_eq!(
        request.messages[0].content[1],
        Part::Image(Image::Base64 {
            media_type: "application/pdf".into(),
            data: "JVBERi0xLjQKJcfsj6IK".into()
        })
    );
    assert_eq!(
        request.tools,
        vec![Tool::Function(FunctionTool {
            name: "lookup".into(),
            description: Some("Looks a term up in the glossary.".into()),
            parameters: json!({"type": "object", "properties": {"term": {"type": "string"}}, "required": ["term"]}),
        })]
    );
    assert_eq!(request.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(request.sampling.temperature, Some(0.0));
    assert_eq!(request.sampling.top_k, Some(20), "a float top_k is accepted");
    assert_eq!(request.sampling.max_output_tokens, Some(1024));
    assert_eq!(
        request.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "response".into(),
            schema: json!({"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}),
        })
    );
    assert_eq!(
        request.reasoning,
        Some(ReasoningConfig {
            effort: Some(ReasoningEffort::None),
            budget_tokens: None,
            include_thoughts: false
        })
    );
    assert_round_trip(&request);
    let encoded = encode_request(&request, "m");
    assert_eq!(
        encoded["generationConfig"],
        json!({
            "temperature": 0.0, "topK": 20, "maxOutputTokens": 1024,
            "responseMimeType": "application/json",
            "responseJsonSchema": {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]},
            "thinkingConfig": {"thinkingBudget": 0}
        })
    );
}

#[test]
fn rest_body_in_snake_case() {
    let request = decode(fixture!("request_rest_snake_case.json"));
    assert_eq!(
        request.system,
        vec!["You are a helpful assistant."],
        "a single part object is accepted"
    );
    assert_eq!(request.messages, vec![text(Role::User, "List three colors.")]);
    assert_eq!(
        request.tools,
        vec![Tool::Function(FunctionTool {
            name: "noop".into(),
            description: None,
            parameters: json!({"type": "object", "properties": {"x": {"type": "string"}}}),
        })]
    );
    assert_eq!(request.tool_choice, Some(ToolChoice::None));
    assert_eq!(request.sampling.stop, vec!["STOP"]);
    assert_eq!(
        request.sampling.max_output_tokens,
        Some(512),
        "an int64 string is accepted"
    );
    assert_eq!(
        request.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "response".into(),
            schema: json!({"type": "array", "items": {"type": "string"}}),
        })
    );
    assert_eq!(
        request.reasoning,
        Some(ReasoningConfig {
            effort: Some(ReasoningEffort::Low),
            budget_tokens: None,
            include_thoughts: true
        })
    );
    let encoded = encode_request(&request, "m");
    assert_eq!(
        encoded["toolConfig"],
        json!({"functionCallingConfig": {"mode": "NONE"}})
    );
    assert_eq!(
        encoded["generationConfig"]["thinkingConfig"],
        json!({"includeThoughts": true, "thinkingBudget": 1024})
    );
}

/// What a Claude Code conversation looks like once the Anthropic codec has
/// decoded it, on its way to a Gemini upstream.
fn agent_request() -> ChatRequest {
    let bash_schema = json!({
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The command to execute"},
            "timeout": {"type": "number", "description": "Optional timeout in milliseconds (max 600000)"},
            "description": {"type": "string", "description": "Clear, concise description of what this command does in 5-10 words"},
            "run_in_background": {"type": "boolean", "description": "Set to true to run this command in the background."}
        },
        "required": ["command"],
        "additionalProperties": false,
        "$schema": "http://json-schema.org/draft-07/schema#"
    });
    let weather_schema = json!({
        "type": "object",
        "properties": {
            "city": {"type": "string", "minLength": 1, "title": "City"},
            "units": {"anyOf": [{"type": "string", "enum": ["metric", "imperial"]}, {"type": "null"}], "default": null}
        },
        "required": ["city"],
        "additionalProperties": false
    });
    ChatRequest {
        model: "claude-sonnet-4-5".into(),
        system: vec!["You are Claude Code, Anthropic's official CLI for Claude.".into()],
        messages: vec![
            text(Role::System, "Respond in English."),
            Message {
                role: Role::User,
                content: vec![
                    Part::Text("List the files here.".into()),
                    Part::Image(Image::Base64 {
                        media_type: "image/png".into(),
                        data: "iVBORw0KGgo=".into(),
                    }),
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Reasoning(Reasoning {
                        text: "The user wants a listing.".into(),
                        signature: Some("EqQBCkgIBxABGAIiQL".into()),
                        redacted: None,
                    }),
                    Part::Reasoning(Reasoning {
                        text: "unsigned musing".into(),
                        signature: None,
                        redacted: None,
                    }),
                    Part::Reasoning(Reasoning {
                        text: String::new(),
                        signature: None,
                        redacted: Some("EmwKAhgBEgy".into()),
                    }),
                    Part::Text("I'll run ls.".into()),
                    Part::ToolCall(ToolCall {
                        id: "toolu_01A".into(),
                        name: "Bash".into(),
                        arguments: r#"{"command":"ls -la","description":"List files"}"#.into(),
                        signature: None,
                    }),
                    Part::ToolCall(ToolCall {
                        id: "toolu_01B".into(),
                        name: "Read".into(),
                        arguments: r#"{"file_path": "/tmp/a"#.into(),
                        signature: None,
                    }),
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    Part::ToolResult(ToolResult {
                        call_id: "toolu_01A".into(),
                        name: None,
                        content: vec![Part::Text("a.txt\nb.txt".into())],
                        is_error: false,
                    }),
                    Part::ToolResult(ToolResult {
                        call_id: "toolu_01B".into(),
                        name: None,
                        content: vec![Part::Text("ENOENT: no such file".into())],
                        is_error: true,
                    }),
                ],
            },
            text(Role::User, "Now check the weather."),
            Message {
                role: Role::Assistant,
                content: vec![Part::ToolCall(ToolCall {
                    id: "call_0".into(),
                    name: "get_weather".into(),
                    arguments: r#"{"city":"Paris"}"#.into(),
                    signature: Some("CiQBcsig0001".into()),
                })],
            },
            Message {
                role: Role::User,
                content: vec![Part::ToolResult(ToolResult {
                    call_id: "call_0".into(),
                    name: Some("get_weather".into()),
                    content: vec![
                        Part::Text(r#"{"temp_c":21}"#.into()),
                        Part::Image(Image::Url("https://example.com/radar.png".into())),
                    ],
                    is_error: false,
                })],
            },
        ],
        tools: vec![
            Tool::Function(FunctionTool {
                name: "Bash".into(),
                description: Some("Executes a bash command.".into()),
                parameters: bash_schema,
            }),
            Tool::Function(FunctionTool {
                name: "ListTodos".into(),
                description: Some("Lists the current todos.".into()),
                parameters: json!({"type": "object", "properties": {}, "additionalProperties": false, "$schema": "http://json-schema.org/draft-07/schema#"}),
            }),
            Tool::Function(FunctionTool {
                name: "get_weather".into(),
                description: Some("Current weather for a city.".into()),
                parameters: weather_schema,
            }),
            Tool::WebSearch,
        ],
        tool_choice: Some(ToolChoice::Auto),
        sampling: Sampling {
            temperature: Some(1.0),
            max_output_tokens: Some(32000),
            stop: vec!["</done>".into()],
            ..Sampling::default()
        },
        reasoning: Some(ReasoningConfig {
            effort: Some(ReasoningEffort::High),
            budget_tokens: None,
            include_thoughts: true,
        }),
        response_format: None,
        stream: true,
        stream_include_usage: false,
        session_key: Some("user_abc".into()),
    }
}

#[test]
fn agent_conversation_encodes_for_gemini() {
    let expected: Value = serde_json::from_str(fixture!("encoded_request_agent.json")).unwrap();
    assert_eq!(encode_request(&agent_request(), "gemini-3-pro-preview"), expected);
}

#[test]
fn efforts_budgets_formats_and_choices() {
    let mut request = ChatRequest {
        messages: vec![text(Role::User, "hi")],
        ..ChatRequest::default()
    };
    let thinking = |request: &ChatRequest| encode_request(request, "m")["generationConfig"]["thinkingConfig"].clone();
    for (effort, budget) in [
        (ReasoningEffort::None, 0),
        (ReasoningEffort::Minimal, 512),
        (ReasoningEffort::Low, 1024),
        (ReasoningEffort::Medium, 8192),
        (ReasoningEffort::High, 24576),
    ] {
        request.reasoning = Some(ReasoningConfig {
            effort: Some(effort),
            budget_tokens: None,
            include_thoughts: false,
        });
        assert_eq!(thinking(&request), json!({"thinkingBudget": budget}), "{effort:?}");
    }
    request.reasoning = Some(ReasoningConfig {
        effort: Some(ReasoningEffort::Low),
        budget_tokens: Some(3000),
        include_thoughts: true,
    });
    assert_eq!(
        thinking(&request),
        json!({"includeThoughts": true, "thinkingBudget": 3000}),
        "a budget wins"
    );
    request.reasoning = Some(ReasoningConfig {
        effort: Some(ReasoningEffort::None),
        budget_tokens: None,
        include_thoughts: true,
    });
    assert_eq!(
        thinking(&request),
        json!({"thinkingBudget": 0}),
        "no thoughts without thinking"
    );
    request.reasoning = Some(ReasoningConfig::default());
    assert_eq!(
        encode_request(&request, "m").get("generationConfig"),
        None,
        "nothing asked, nothing sent"
    );

    request.reasoning = None;
    request.response_format = Some(ResponseFormat::JsonObject);
    assert_eq!(
        encode_request(&request, "m")["generationConfig"],
        json!({"responseMimeType": "application/json"})
    );
    request.response_format = Some(ResponseFormat::JsonSchema {
        name: "answer".into(),
        schema: json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "additionalProperties": false}),
    });
    assert_eq!(
        encode_request(&request, "m")["generationConfig"],
        json!({"responseMimeType": "application/json", "responseJsonSchema": {"type": "object", "additionalProperties": false}})
    );

    request.tools = vec![Tool::Function(FunctionTool {
        name: "f".into(),
        description: None,
        parameters: json!({"type": "object", "properties": {"a": {"type": "string"}}}),
    })];
    for (choice, expected) in [
        (ToolChoice::Auto, json!({"mode": "AUTO"})),
        (ToolChoice::None, json!({"mode": "NONE"})),
        (ToolChoice::Required, json!({"mode": "ANY"})),
        (
            ToolChoice::Function("f".into()),
            json!({"mode": "ANY", "allowedFunctionNames": ["f"]}),
        ),
    ] {
        request.tool_choice = Some(choice);
        assert_eq!(
            encode_request(&request, "m")["toolConfig"]["functionCallingConfig"],
            expected
        );
    }
    request.tools = vec![Tool::WebSearch];
    let encoded = encode_request(&request, "m");
    assert_eq!(encoded["tools"], json!([{"googleSearch": {}}]));
    assert_eq!(encoded.get("toolConfig"), None, "no function to configure");
}

#[test]
fn turns_of_one_role_merge_and_empty_ones_vanish() {
    let request = ChatRequest {
        messages: vec![
            text(Role::User, "a"),
            text(Role::User, "b"),
            Message {
                role: Role::Assistant,
                content: vec![Part::Text(String::new())],
            },
            text(Role::User, "c"),
            text(Role::Assistant, "d"),
        ],
        ..ChatRequest::default()
    };
    assert_eq!(
        encode_request(&request, "m")["contents"],
        json!([
            {"role": "user", "parts": [{"text": "a"}, {"text": "b"}, {"text": "c"}]},
            {"role": "model", "parts": [{"text": "d"}]}
        ])
    );
}

#[test]
fn bad_requests_name_the_field() {
    let cases: [(&str, &str); 6] = [
        (
            r#"{"contents": [{"role": "user", "parts": [{"text": 5}]}]}"#,
            "contents[0].parts[0].text",
        ),
        (
            r#"{"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}"#,
            "contents[0].role",
        ),
        (
            r#"{"contents": [], "generationConfig": {"candidateCount": 2}}"#,
            "candidateCount",
        ),
        (
            r#"{"contents": [], "generationConfig": {"maxOutputTokens": -1}}"#,
            "generationConfig.maxOutputTokens",
        ),
        (
            r#"{"contents": [], "generationConfig": {"topK": 1.5}}"#,
            "generationConfig.topK",
        ),
        (
            r#"{"contents": [{"parts": [{"functionCall": {"args": {}}}]}]}"#,
            "contents[0].parts[0].functionCall",
        ),
    ];
    for (body, field) in cases {
        let err = decode_request(body.as_bytes()).expect_err(body);
        assert_eq!(err.status, 400, "{body}");
        assert!(err.message.contains(field), "{body}: {}", err.message);
    }
    assert!(decode_request(b"[]").is_err());
    assert!(decode_request(b"").is_err());
}

#[test]
fn odd_but_valid_inputs_decode() {
    let request = decode(
        r#"{"contents": [{"parts": null}, {"role": "model", "parts": [{"text": ""}, {"videoMetadata": {}}]},
        {"parts": [{"functionResponse": {"name": "lost", "response": {"ok": true}}}]}], "tools": null,
        "systemInstruction": {"parts": [{"text": ""}, {"inlineData": {"mimeType": "image/png", "data": "AA=="}}]}}"#,
    );
    assert!(request.system.is_empty(), "only non-empty system text counts");
    assert_eq!(
        request.messages,
        vec![Message {
            role: Role::User,
            content: vec![Part::ToolResult(ToolResult {
                call_id: "call_lost".into(),
                name: Some("lost".into()),
                content: vec![Part::Text(r#"{"ok":true}"#.into())],
                is_error: false,
            })],
        }]
    );
}
