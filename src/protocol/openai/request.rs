//! Chat Completions requests: what a client posts to `/v1/chat/completions`,
//! and the body Switchyard posts to an OpenAI-compatible upstream.
//!
//! Decoding is strict about the shape of the fields the gateway uses (a wrong
//! type is a 400 that names the field) and lenient about everything else
//! (unknown fields and content the model cannot carry are dropped).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::content::{
    WireContent, WireToolCall, decode_parts, encode_content, invalid, non_empty_arguments, tool_call_from_wire,
};
use crate::protocol::model::{
    ChatRequest, FunctionTool, Message, Part, Reasoning, ReasoningConfig, ReasoningEffort, ResponseFormat, Role,
    Sampling, Tool, ToolChoice, ToolResult,
};
use crate::protocol::{ApiError, parse_json};

/// The request body, as far as the gateway reads it.
#[derive(Deserialize)]
struct WireRequest {
    model: String,
    messages: Vec<WireMessage>,
    tools: Option<Vec<WireTool>>,
    tool_choice: Option<Value>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    max_tokens: Option<u32>,
    max_completion_tokens: Option<u32>,
    stop: Option<Value>,
    presence_penalty: Option<f64>,
    frequency_penalty: Option<f64>,
    seed: Option<i64>,
    stream: Option<bool>,
    stream_options: Option<WireStreamOptions>,
    reasoning_effort: Option<String>,
    response_format: Option<WireResponseFormat>,
    user: Option<String>,
    prompt_cache_key: Option<String>,
    n: Option<u64>,
    web_search_options: Option<Value>,
}

#[derive(Deserialize)]
struct WireStreamOptions {
    include_usage: Option<bool>,
}

#[derive(Deserialize)]
struct WireResponseFormat {
    #[serde(rename = "type")]
    kind: String,
    json_schema: Option<WireJsonSchema>,
}

#[derive(Deserialize)]
struct WireJsonSchema {
    name: String,
    schema: Option<Value>,
}

/// One entry of `messages`. A flat struct rather than an enum tagged by
/// `role`, so that a type error deep inside still reports its full path.
#[derive(Deserialize)]
struct WireMessage {
    role: WireRole,
    content: Option<WireContent>,
    tool_calls: Option<Vec<WireToolCall>>,
    tool_call_id: Option<String>,
    refusal: Option<String>,
    /// DeepSeek, z.ai and vLLM send reasoning back under one of these names;
    /// read leniently because it is not part of OpenAI's own schema.
    reasoning_content: Option<Value>,
    reasoning: Option<Value>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum WireRole {
    System,
    Developer,
    User,
    Assistant,
    Tool,
    Function,
}

#[derive(Deserialize)]
struct WireTool {
    #[serde(rename = "type")]
    kind: String,
    function: Option<WireFunctionDef>,
}

#[derive(Deserialize)]
struct WireFunctionDef {
    name: String,
    description: Option<String>,
    parameters: Option<Value>,
}

/// Decodes a client's Chat Completions request.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let wire: WireRequest = parse_json(body)?;
    if wire.n.is_some_and(|n| n > 1) {
        return Err(invalid(
            "n",
            "Switchyard serves one choice per request; send `n: 1` (or omit it) and repeat the request for more",
        ));
    }

    let mut system = Vec::new();
    let messages = decode_messages(wire.messages, &mut system)?;

    let mut tools = Vec::new();
    for (i, tool) in wire.tools.unwrap_or_default().into_iter().enumerate() {
        // Built-in and `custom` tool types cannot be expressed in the model:
        // dropping them keeps an agent running instead of failing its turn.
        if tool.kind != "function" {
            continue;
        }
        let function = tool.function.ok_or_else(|| {
            invalid(
                &format!("tools[{i}].function"),
                "a function tool needs a `function` object",
            )
        })?;
        tools.push(Tool::Function(FunctionTool {
            name: function.name,
            description: function.description,
            parameters: function
                .parameters
                .filter(|p| !p.is_null())
                .unwrap_or_else(empty_parameters),
        }));
    }
    if wire.web_search_options.as_ref().is_some_and(|o| !o.is_null()) {
        tools.push(Tool::WebSearch);
    }

    let tool_choice = wire.tool_choice.as_ref().map(decode_tool_choice).transpose()?;
    let reasoning = wire
        .reasoning_effort
        .as_deref()
        .map(decode_effort)
        .transpose()?
        .map(|effort| ReasoningConfig {
            effort: Some(effort),
            budget_tokens: None,
            // An OpenAI client asking for reasoning can read `reasoning_content`.
            include_thoughts: effort != ReasoningEffort::None,
        });
    let response_format = wire.response_format.map(decode_response_format).transpose()?.flatten();

    Ok(ChatRequest {
        model: wire.model,
        system,
        messages,
        tools,
        tool_choice,
        sampling: Sampling {
            temperature: wire.temperature,
            top_p: wire.top_p,
            top_k: None,
            // `max_tokens` is deprecated in favour of `max_completion_tokens`.
            max_output_tokens: wire.max_completion_tokens.or(wire.max_tokens),
            stop: wire.stop.as_ref().map(decode_stop).transpose()?.unwrap_or_default(),
            presence_penalty: wire.presence_penalty,
            frequency_penalty: wire.frequency_penalty,
            seed: wire.seed,
        },
        reasoning,
        response_format,
        stream: wire.stream.unwrap_or(false),
        stream_include_usage: wire.stream_options.and_then(|o| o.include_usage).unwrap_or(false),
        session_key: wire
            .prompt_cache_key
            .filter(|k| !k.is_empty())
            .or(wire.user.filter(|u| !u.is_empty())),
    })
}

/// The schema of a function declared without `parameters`: no arguments.
fn empty_parameters() -> Value {
    json!({"type": "object", "properties": {}})
}

fn decode_messages(wire: Vec<WireMessage>, system: &mut Vec<String>) -> Result<Vec<Message>, ApiError> {
    let mut messages: Vec<Message> = Vec::with_capacity(wire.len());
    // System prompts before the first turn are the instructions; later ones
    // are mid-conversation messages that must stay in place.
    let mut leading = true;
    let mut previous_was_tool = false;
    for (i, message) in wire.into_iter().enumerate() {
        let path = format!("messages[{i}]");
        let role = message.role;
        match role {
            WireRole::System | WireRole::Developer => {
                let content = required_content(message.content, &path)?;
                let texts = decode_parts(content, &format!("{path}.content"))?
                    .into_iter()
                    .filter_map(|part| match part {
                        Part::Text(text) if !text.is_empty() => Some(text),
                        _ => None,
                    });
                if leading {
                    system.extend(texts);
                } else {
                    let content: Vec<Part> = texts.map(Part::Text).collect();
                    // An empty system message says nothing; other protocols
                    // reject empty text blocks.
                    if !content.is_empty() {
                        messages.push(Message {
                            role: Role::System,
                            content,
                        });
                    }
                }
            }
            WireRole::User => {
                let content = required_content(message.content, &path)?;
                messages.push(Message {
                    role: Role::User,
                    content: decode_parts(content, &format!("{path}.content"))?,
                });
            }
            WireRole::Assistant => messages.push(decode_assistant(message, &path)?),
            WireRole::Tool => {
                let call_id = message
                    .tool_call_id
                    .ok_or_else(|| invalid(&format!("{path}.tool_call_id"), "tool messages need a `tool_call_id`"))?;
                let content = required_content(message.content, &path)?;
                let result = Part::ToolResult(ToolResult {
                    call_id,
                    name: None,
                    content: decode_parts(content, &format!("{path}.content"))?,
                    is_error: false,
                });
                // Consecutive tool messages answer one assistant turn: they
                // become one user message, as Anthropic and Gemini need.
                match messages.last_mut() {
                    Some(last) if previous_was_tool => last.content.push(result),
                    _ => messages.push(Message {
                        role: Role::User,
                        content: vec![result],
                    }),
                }
            }
            WireRole::Function => {
                return Err(invalid(
                    &format!("{path}.role"),
                    "the deprecated `function` role is not supported; send results as `tool` messages with a `tool_call_id`",
                ));
            }
        }
        if !matches!(role, WireRole::System | WireRole::Developer) {
            leading = false;
        }
        previous_was_tool = role == WireRole::Tool;
    }
    Ok(messages)
}

fn required_content(content: Option<WireContent>, path: &str) -> Result<WireContent, ApiError> {
    content.ok_or_else(|| invalid(&format!("{path}.content"), "this message needs `content`"))
}

fn decode_assistant(message: WireMessage, path: &str) -> Result<Message, ApiError> {
    let mut content = Vec::new();
    let reasoning = [&message.reasoning_content, &message.reasoning]
        .into_iter()
        .find_map(|field| field.as_ref().and_then(Value::as_str).filter(|text| !text.is_empty()));
    if let Some(text) = reasoning {
        content.push(Part::Reasoning(Reasoning {
            text: text.to_owned(),
            signature: None,
            redacted: None,
        }));
    }
    if let Some(wire) = message.content {
        // Empty strings carry nothing; clients send `""` beside tool calls.
        content.extend(
            decode_parts(wire, &format!("{path}.content"))?
                .into_iter()
                .filter(|part| !matches!(part, Part::Text(text) if text.is_empty())),
        );
    }
    if let Some(refusal) = message.refusal.filter(|r| !r.is_empty()) {
        content.push(Part::Text(refusal));
    }
    for (j, call) in message.tool_calls.unwrap_or_default().into_iter().enumerate() {
        let call_path = format!("{path}.tool_calls[{j}]");
        let id = call
            .id
            .clone()
            .ok_or_else(|| invalid(&format!("{call_path}.id"), "tool calls need an `id`"))?;
        content.push(Part::ToolCall(tool_call_from_wire(call, id, &call_path)?));
    }
    Ok(Message {
        role: Role::Assistant,
        content,
    })
}

fn decode_tool_choice(value: &Value) -> Result<ToolChoice, ApiError> {
    const EXPECTED: &str =
        "expected \"auto\", \"none\", \"required\" or {\"type\":\"function\",\"function\":{\"name\":...}}";
    match value {
        Value::String(mode) => match mode.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            _ => Err(invalid("tool_choice", format!("unknown mode `{mode}`, {EXPECTED}"))),
        },
        Value::Object(object) => match object.get("type").and_then(Value::as_str) {
            Some("function") => object
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .map(|name| ToolChoice::Function(name.to_owned()))
                .ok_or_else(|| invalid("tool_choice.function.name", "a named tool choice needs a function name")),
            // The allowed-tools restriction has no equivalent in the model;
            // its mode still says whether a call is required.
            Some("allowed_tools") => {
                match object
                    .get("allowed_tools")
                    .and_then(|a| a.get("mode"))
                    .and_then(Value::as_str)
                {
                    Some("required") => Ok(ToolChoice::Required),
                    _ => Ok(ToolChoice::Auto),
                }
            }
            // Custom tools are dropped, so forcing one can only mean "decide".
            Some("custom") => Ok(ToolChoice::Auto),
            _ => Err(invalid("tool_choice.type", EXPECTED)),
        },
        _ => Err(invalid("tool_choice", EXPECTED)),
    }
}

fn decode_effort(effort: &str) -> Result<ReasoningEffort, ApiError> {
    match effort {
        "none" => Ok(ReasoningEffort::None),
        "minimal" => Ok(ReasoningEffort::Minimal),
        "low" => Ok(ReasoningEffort::Low),
        "medium" => Ok(ReasoningEffort::Medium),
        // The model's scale ends at high; newer, larger efforts saturate.
        "high" | "xhigh" | "max" => Ok(ReasoningEffort::High),
        _ => Err(invalid(
            "reasoning_effort",
            format!("unknown effort `{effort}`, expected none, minimal, low, medium, high or xhigh"),
        )),
    }
}

fn decode_response_format(format: WireResponseFormat) -> Result<Option<ResponseFormat>, ApiError> {
    match format.kind.as_str() {
        "text" => Ok(None),
        "json_object" => Ok(Some(ResponseFormat::JsonObject)),
        "json_schema" => {
            let schema = format.json_schema.ok_or_else(|| {
                invalid(
                    "response_format.json_schema",
                    "a json_schema format needs a `json_schema` object",
                )
            })?;
            Ok(Some(ResponseFormat::JsonSchema {
                name: schema.name,
                schema: schema.schema.unwrap_or_else(|| json!({})),
            }))
        }
        other => Err(invalid(
            "response_format.type",
            format!("unknown format `{other}`, expected text, json_object or json_schema"),
        )),
    }
}

fn decode_stop(stop: &Value) -> Result<Vec<String>, ApiError> {
    match stop {
        Value::Null => Ok(Vec::new()),
        Value::String(one) => Ok(vec![one.clone()]),
        Value::Array(many) => many
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(&format!("stop[{i}]"), "stop sequences must be strings"))
            })
            .collect(),
        _ => Err(invalid("stop", "expected a string or an array of strings")),
    }
}

/// Encodes a request for an OpenAI-compatible upstream serving `model`.
pub fn encode_request(request: &ChatRequest, model: &str) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), Value::from(model));
    body.insert("messages".into(), Value::Array(encode_messages(request)));

    let tools: Vec<Value> = request
        .tools
        .iter()
        .filter_map(|tool| match tool {
            Tool::Function(function) => Some(encode_tool(function)),
            // Chat Completions has no web-search tool for ordinary models
            // (`web_search_options` only works with search models).
            Tool::WebSearch => None,
        })
        .collect();
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
        // OpenAI rejects `tool_choice` without `tools`, hence inside the `if`.
        if let Some(choice) = &request.tool_choice {
            body.insert("tool_choice".into(), encode_tool_choice(choice));
        }
    }

    let sampling = &request.sampling;
    insert_some(&mut body, "temperature", sampling.temperature);
    insert_some(&mut body, "top_p", sampling.top_p);
    let effort = request.reasoning.as_ref().and_then(effort_of);
    // Reasoning models refuse `max_tokens`; older servers know only `max_tokens`.
    let max_key = if effort.is_some() {
        "max_completion_tokens"
    } else {
        "max_tokens"
    };
    insert_some(&mut body, max_key, sampling.max_output_tokens);
    if !sampling.stop.is_empty() {
        body.insert("stop".into(), json!(sampling.stop));
    }
    insert_some(&mut body, "presence_penalty", sampling.presence_penalty);
    insert_some(&mut body, "frequency_penalty", sampling.frequency_penalty);
    insert_some(&mut body, "seed", sampling.seed);
    if let Some(effort) = effort {
        body.insert("reasoning_effort".into(), Value::from(effort_name(effort)));
    }
    if let Some(format) = &request.response_format {
        body.insert("response_format".into(), encode_response_format(format));
    }
    if let Some(key) = &request.session_key {
        body.insert("user".into(), Value::from(key.as_str()));
    }
    if request.stream {
        body.insert("stream".into(), Value::Bool(true));
        // Without this OpenAI streams no usage at all; the gateway always
        // needs it, whatever the client asked for.
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Value::Object(body)
}

fn insert_some(body: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        body.insert(key.to_owned(), value.into());
    }
}

/// The effort to send: the explicit one, else one derived from a token budget.
fn effort_of(reasoning: &ReasoningConfig) -> Option<ReasoningEffort> {
    reasoning.effort.or_else(|| {
        reasoning.budget_tokens.map(|budget| match budget {
            0 => ReasoningEffort::None,
            1..=1024 => ReasoningEffort::Low,
            1025..=8192 => ReasoningEffort::Medium,
            _ => ReasoningEffort::High,
        })
    })
}

fn effort_name(effort: ReasoningEffort) -> &'static str {
    match effort {
        ReasoningEffort::None => "none",
        ReasoningEffort::Minimal => "minimal",
        ReasoningEffort::Low => "low",
        ReasoningEffort::Medium => "medium",
        ReasoningEffort::High => "high",
    }
}

fn encode_tool(function: &FunctionTool) -> Value {
    let mut definition = Map::new();
    definition.insert("name".into(), Value::from(function.name.as_str()));
    if let Some(description) = &function.description {
        definition.insert("description".into(), Value::from(description.as_str()));
    }
    definition.insert("parameters".into(), function.parameters.clone());
    json!({"type": "function", "function": definition})
}

fn encode_tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Function(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

fn encode_response_format(format: &ResponseFormat) -> Value {
    match format {
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema { name, schema } => {
            json!({"type": "json_schema", "json_schema": {"name": name, "schema": schema}})
        }
    }
}

fn encode_messages(request: &ChatRequest) -> Vec<Value> {
    let mut out = Vec::with_capacity(request.system.len() + request.messages.len());
    for text in &request.system {
        out.push(json!({"role": "system", "content": text}));
    }
    for message in &request.messages {
        match message.role {
            Role::System => {
                let texts: Vec<&Part> = message.content.iter().filter(|p| matches!(p, Part::Text(_))).collect();
                if !texts.is_empty() {
                    out.push(json!({"role": "system", "content": encode_content(&texts)}));
                }
            }
            Role::User => encode_user(message, &mut out),
            Role::Assistant => out.push(encode_assistant(message)),
        }
    }
    out
}

/// A user message: its tool results first, as `tool` messages (OpenAI wants
/// them right after the assistant turn that made the calls), then the rest.
fn encode_user(message: &Message, out: &mut Vec<Value>) {
    let mut rest: Vec<&Part> = Vec::new();
    // OpenAI tool messages take text only; images a tool returned follow in
    // the user message so the model still sees them.
    let mut result_images: Vec<&Part> = Vec::new();
    for part in &message.content {
        match part {
            Part::ToolResult(result) => {
                let texts: Vec<&Part> = result.content.iter().filter(|p| matches!(p, Part::Text(_))).collect();
                result_images.extend(result.content.iter().filter(|p| matches!(p, Part::Image(_))));
                let content = if texts.is_empty() {
                    json!("")
                } else {
                    encode_content(&texts)
                };
                out.push(json!({"role": "tool", "tool_call_id": result.call_id, "content": content}));
            }
            Part::Text(_) | Part::Image(_) => rest.push(part),
            // Calls and reasoning belong to the assistant; a user message
            // holding them is malformed and they are dropped.
            Part::ToolCall(_) | Part::Reasoning(_) => {}
        }
    }
    result_images.extend(rest);
    if !result_images.is_empty() {
        out.push(json!({"role": "user", "content": encode_content(&result_images)}));
    }
}

fn encode_assistant(message: &Message) -> Value {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for part in &message.content {
        match part {
            Part::Text(t) => text.push_str(t),
            // Signatures and encrypted reasoning have no field here; the
            // readable text goes back as `reasoning_content`, which DeepSeek
            // requires on tool-calling turns.
            Part::Reasoning(r) => reasoning.push_str(&r.text),
            Part::ToolCall(call) => calls.push(json!({
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": non_empty_arguments(&call.arguments)},
            })),
            Part::Image(_) | Part::ToolResult(_) => {}
        }
    }
    let mut out = Map::new();
    out.insert("role".into(), json!("assistant"));
    let content = if text.is_empty() && !calls.is_empty() {
        Value::Null
    } else {
        Value::String(text)
    };
    out.insert("content".into(), content);
    if !reasoning.is_empty() {
        out.insert("reasoning_content".into(), Value::String(reasoning));
    }
    if !calls.is_empty() {
        out.insert("tool_calls".into(), Value::Array(calls));
    }
    Value::Object(out)
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
