//! Bodies captured from the google-genai Python SDK (3.6) against a mock
//! transport: camelCase at the top, snake_case inside nested objects, `topK`
//! as a float, Gemini `Schema` with upper-case types.

use pretty_assertions::assert_eq;
use serde_json::json;

use super::{decode_request, encode_request};
use crate::protocol::model::{
    FunctionTool, Image, Message, Part, ReasoningConfig, ReasoningEffort, ResponseFormat, Role, Sampling, Tool,
    ToolCall, ToolChoice, ToolResult,
};

#[test]
fn tools_history_and_thinking_from_the_python_sdk() {
    let body = include_str!("../../../tests/fixtures/gemini/request_genai_python_tools.json");
    let request = decode_request(body.as_bytes()).expect("decodes");
    assert_eq!(request.system, vec!["You are a weather bot."]);
    assert_eq!(
        request.messages,
        vec![
            Message {
                role: Role::User,
                content: vec![
                    Part::Text("What's the temperature in London?".into()),
                    Part::Image(Image::Base64 {
                        media_type: "image/png".into(),
                        data: "iVBORw0K".into()
                    }),
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![Part::ToolCall(ToolCall {
                    id: "call_0".into(),
                    name: "get_current_temperature".into(),
                    arguments: r#"{"location":"London"}"#.into(),
                    signature: Some("c2lnLWJ5dGVzLTE=".into()),
                })],
            },
            Message {
                role: Role::User,
                content: vec![Part::ToolResult(ToolResult {
                    call_id: "call_0".into(),
                    name: Some("get_current_temperature".into()),
                    content: vec![Part::Text(r#"{"result":{"temperature":18}}"#.into())],
                    is_error: false,
                })],
            },
        ]
    );
    let schema = json!({
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "unit": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null}
        },
        "required": ["location"]
    });
    assert_eq!(
        request.tools,
        vec![
            Tool::WebSearch,
            Tool::Function(FunctionTool {
                name: "get_current_temperature".into(),
                description: Some("Gets the current temperature for a given location.".into()),
                parameters: schema,
            }),
        ]
    );
    assert_eq!(
        request.tool_choice,
        Some(ToolChoice::Function("get_current_temperature".into()))
    );
    assert_eq!(
        request.sampling,
        Sampling {
            temperature: Some(0.3),
            top_k: Some(32),
            max_output_tokens: Some(2048),
            stop: vec!["END".into()],
            seed: Some(7),
            ..Sampling::default()
        }
    );
    assert_eq!(
        request.reasoning,
        Some(ReasoningConfig {
            effort: None,
            budget_tokens: Some(1024),
            include_thoughts: true
        })
    );

    let encoded = encode_request(&request, "gemini-2.5-flash");
    assert_eq!(
        encoded["tools"],
        json!([
            {"functionDeclarations": [{
                "name": "get_current_temperature",
                "description": "Gets the current temperature for a given location.",
                "parameters": {
                    "type": "object",
                    "properties": {"location": {"type": "string"}, "unit": {"type": "string", "nullable": true}},
                    "required": ["location"]
                }
            }]},
            {"googleSearch": {}}
        ])
    );
    assert_eq!(
        encoded["contents"][1]["parts"][0],
        json!({
            "functionCall": {"id": "call_0", "name": "get_current_temperature", "args": {"location": "London"}},
            "thoughtSignature": "c2lnLWJ5dGVzLTE="
        })
    );
}

#[test]
fn response_schema_and_thinking_level_from_the_python_sdk() {
    let body = include_str!("../../../tests/fixtures/gemini/request_genai_python_schema.json");
    let request = decode_request(body.as_bytes()).expect("decodes");
    assert_eq!(
        request.messages,
        vec![Message::text(Role::User, "List a cookie recipe.")]
    );
    assert_eq!(
        request.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "response".into(),
            schema: json!({
                "properties": {
                    "recipe_name": {"title": "Recipe Name", "type": "string"},
                    "ingredients": {"items": {"type": "string"}, "title": "Ingredients", "type": "array"}
                },
                "required": ["recipe_name", "ingredients"],
                "title": "Recipe",
                "type": "object"
            }),
        })
    );
    assert_eq!(
        request.reasoning,
        Some(ReasoningConfig {
            effort: Some(ReasoningEffort::Low),
            budget_tokens: None,
            include_thoughts: false
        })
    );
}
