//! What an upstream received, read from the provider's wire format into a
//! [`Received`], with the method, path and headers checked on the way.

use serde_json::{Value, json};
use switchyard::config::ProviderKind;

use super::Recorded;
use super::conversation::{Call, Item, Msg, Received, Role, ToolDecl, json_or_text, push_merged};
use super::upstreams::{Wanted, requested_model, wanted};

/// Reads what `provider`'s mock received, checking method, path and headers
/// on the way. The client's own key must never reach an upstream.
pub fn received(provider: ProviderKind, request: &Recorded) -> Received {
    assert_eq!(request.method, "POST");
    for (name, value) in &request.headers {
        assert!(
            !value.to_str().unwrap_or_default().contains("sk-client"),
            "the client's key reached the upstream in `{name}`"
        );
    }
    let body = request.json();
    let header = |name: &str| request.header(name).unwrap_or_default().to_string();
    match provider {
        ProviderKind::Openai => {
            assert_eq!(request.path, "/v1/chat/completions");
            let key = header("authorization")
                .strip_prefix("Bearer ")
                .unwrap_or_default()
                .to_string();
            openai_received(&body, key)
        }
        ProviderKind::Anthropic => {
            assert_eq!(request.path, "/v1/messages");
            assert!(!header("anthropic-version").is_empty(), "anthropic-version is required");
            anthropic_received(&body, header("x-api-key"))
        }
        _ => {
            let model = requested_model(provider, request);
            let stream = wanted(provider, request) != Wanted::Complete;
            let method = if stream {
                "streamGenerateContent"
            } else {
                "generateContent"
            };
            assert_eq!(request.path, format!("/v1beta/models/{model}:{method}"));
            assert!(body.get("model").is_none(), "Gemini bodies name no model");
            gemini_received(&body, model, stream, header("x-goog-api-key"))
        }
    }
}

fn texts_of(content: &Value) -> Vec<String> {
    match content {
        Value::String(text) => vec![text.clone()],
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str).map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn stop_list(stop: &Value) -> Vec<String> {
    match stop {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many.iter().map(|s| s.as_str().unwrap().to_string()).collect(),
        _ => Vec::new(),
    }
}

fn openai_received(body: &Value, key: String) -> Received {
    let mut system = Vec::new();
    let mut messages = Vec::new();
    for message in body["messages"].as_array().expect("messages") {
        let content = &message["content"];
        let msg = match message["role"].as_str().expect("role") {
            "system" | "developer" => {
                system.extend(texts_of(content));
                continue;
            }
            "user" => Msg {
                role: Role::User,
                items: texts_of(content).into_iter().map(Item::Text).collect(),
            },
            "assistant" => {
                let mut items: Vec<Item> = texts_of(content)
                    .into_iter()
                    .filter(|t| !t.is_empty())
                    .map(Item::Text)
                    .collect();
                for call in message["tool_calls"].as_array().into_iter().flatten() {
                    let args = call["function"]["arguments"].as_str().expect("arguments are text");
                    items.push(Item::Call(Call {
                        id: call["id"].as_str().map(str::to_string),
                        name: call["function"]["name"].as_str().unwrap().to_string(),
                        args: serde_json::from_str(args).expect("arguments are JSON"),
                    }));
                }
                Msg {
                    role: Role::Assistant,
                    items,
                }
            }
            "tool" => Msg {
                role: Role::User,
                items: vec![Item::Result {
                    id: message["tool_call_id"].as_str().map(str::to_string),
                    name: None,
                    output: json_or_text(&texts_of(content).concat()),
                }],
            },
            other => panic!("unknown role {other}"),
        };
        push_merged(&mut messages, msg);
    }
    let tools = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|tool| {
            assert_eq!(tool["type"], "function");
            let function = &tool["function"];
            ToolDecl {
                name: function["name"].as_str().unwrap().to_string(),
                description: function["description"].as_str().unwrap_or_default().to_string(),
                parameters: function["parameters"].clone(),
            }
        })
        .collect();
    Received {
        model: body["model"].as_str().unwrap_or_default().to_string(),
        stream: body["stream"] == json!(true),
        key,
        system,
        messages,
        tools,
        max_tokens: body["max_completion_tokens"].as_u64().or(body["max_tokens"].as_u64()),
        stop: stop_list(&body["stop"]),
    }
}

fn anthropic_received(body: &Value, key: String) -> Received {
    let mut messages = Vec::new();
    for message in body["messages"].as_array().expect("messages") {
        let role = match message["role"].as_str() {
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            other => panic!("Anthropic knows no role {other:?}"),
        };
        let items = match &message["content"] {
            Value::String(text) => vec![Item::Text(text.clone())],
            Value::Array(blocks) => blocks
                .iter()
                .filter_map(|block| match block["type"].as_str() {
                    Some("text") => Some(Item::Text(block["text"].as_str().unwrap().to_string())),
                    Some("tool_use") => Some(Item::Call(Call {
                        id: block["id"].as_str().map(str::to_string),
                        name: block["name"].as_str().unwrap().to_string(),
                        args: block["input"].clone(),
                    })),
                    Some("tool_result") => Some(Item::Result {
                        id: block["tool_use_id"].as_str().map(str::to_string),
                        name: None,
                        output: json_or_text(&texts_of(&block["content"]).concat()),
                    }),
                    Some("thinking" | "redacted_thinking") => None,
                    other => panic!("unexpected block {other:?}"),
                })
                .collect(),
            other => panic!("unexpected content {other}"),
        };
        push_merged(&mut messages, Msg { role, items });
    }
    let tools = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|tool| ToolDecl {
            name: tool["name"].as_str().unwrap().to_string(),
            description: tool["description"].as_str().unwrap_or_default().to_string(),
            parameters: tool["input_schema"].clone(),
        })
        .collect();
    Received {
        model: body["model"].as_str().unwrap_or_default().to_string(),
        stream: body["stream"] == json!(true),
        key,
        system: texts_of(&body["system"]),
        messages,
        tools,
        max_tokens: Some(body["max_tokens"].as_u64().expect("max_tokens is required")),
        stop: stop_list(&body["stop_sequences"]),
    }
}

/// A Gemini `Schema` as JSON Schema: type names in lower case.
fn lower_types(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| match (key.as_str(), value) {
                    ("type", Value::String(name)) => (key.clone(), json!(name.to_lowercase())),
                    _ => (key.clone(), lower_types(value)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(lower_types).collect()),
        other => other.clone(),
    }
}

fn gemini_received(body: &Value, model: String, stream: bool, key: String) -> Received {
    let mut messages = Vec::new();
    for content in body["contents"].as_array().expect("contents") {
        let role = match content["role"].as_str() {
            Some("user") | None => Role::User,
            Some("model") => Role::Assistant,
            other => panic!("Gemini knows no role {other:?}"),
        };
        let items = content["parts"]
            .as_array()
            .expect("parts")
            .iter()
            .filter_map(|part| {
                if let Some(call) = part.get("functionCall") {
                    Some(Item::Call(Call {
                        id: call["id"].as_str().map(str::to_string),
                        name: call["name"].as_str().unwrap().to_string(),
                        args: call["args"].clone(),
                    }))
                } else if let Some(response) = part.get("functionResponse") {
                    Some(Item::Result {
                        id: response["id"].as_str().map(str::to_string),
                        name: response["name"].as_str().map(str::to_string),
                        output: response["response"].clone(),
                    })
                } else if part.get("thought") == Some(&json!(true)) {
                    None
                } else {
                    Some(Item::Text(part["text"].as_str().expect("a text part").to_string()))
                }
            })
            .collect();
        push_merged(&mut messages, Msg { role, items });
    }
    let tools = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|tool| tool["functionDeclarations"].as_array().cloned().unwrap_or_default())
        .map(|declaration| ToolDecl {
            name: declaration["name"].as_str().unwrap().to_string(),
            description: declaration["description"].as_str().unwrap_or_default().to_string(),
            parameters: lower_types(&declaration["parameters"]),
        })
        .collect();
    let config = &body["generationConfig"];
    Received {
        model,
        stream,
        key,
        system: texts_of(&body["systemInstruction"]["parts"]),
        messages,
        tools,
        max_tokens: config["maxOutputTokens"].as_u64(),
        stop: stop_list(&config["stopSequences"]),
    }
}
