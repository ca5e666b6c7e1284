//! Responses requests: what a client posts to `/v1/responses`, and the body
//! this codec would post to a Responses upstream.
//!
//! `input` is a flat list of items; the model wants turns. Assistant items
//! in a row (reasoning, messages, function calls) become one assistant
//! message, and `function_call_output` items in a row one user message of
//! tool results, so that every upstream sees a well-formed conversation.
//!
//! Decoding is strict about the fields the gateway uses (a wrong type is a
//! 400 that names the field) and lenient about everything else: item, part
//! and tool types it cannot carry are dropped with a log line, because an
//! agent such as Codex sends types this codec may not know yet.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::content::{
    decode_content, encode_input_part, encrypted_of, flat_name, invalid, join_texts, parse_at, reasoning_from_wire,
    type_of,
};
use super::options::{NamespacedName, RequestOptions, default_reasoning, default_text, with_defaults};
use crate::protocol::model::{
    ChatRequest, FunctionTool, Message, Part, Reasoning, ReasoningConfig, ReasoningEffort, ResponseFormat, Role,
    Sampling, Tool, ToolCall, ToolChoice, ToolResult,
};
use crate::protocol::{ApiError, parse_json};

/// The `include` value that asks for reasoning's `encrypted_content`.
const INCLUDE_ENCRYPTED: &str = "reasoning.encrypted_content";

/// The request body, as far as the gateway reads it. Fields only echoed or
/// tolerated (`metadata`, `truncation`, `service_tier`, `background`,
/// `stream_options`, ...) are kept as JSON or ignored, so they cannot fail.
#[derive(Deserialize)]
struct WireRequest {
    model: String,
    input: Option<Value>,
    instructions: Option<String>,
    tools: Option<Vec<Value>>,
    tool_choice: Option<Value>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    max_output_tokens: Option<u32>,
    reasoning: Option<Value>,
    text: Option<Value>,
    stream: Option<bool>,
    store: Option<bool>,
    include: Option<Vec<String>>,
    previous_response_id: Option<String>,
    prompt_cache_key: Option<String>,
    user: Option<String>,
    parallel_tool_calls: Option<bool>,
    metadata: Option<Value>,
    truncation: Option<Value>,
}

#[derive(Deserialize)]
struct WireReasoning {
    effort: Option<String>,
    summary: Option<String>,
}

#[derive(Deserialize)]
struct WireText {
    format: Option<WireFormat>,
}

#[derive(Deserialize)]
struct WireFormat {
    #[serde(rename = "type")]
    kind: String,
    name: Option<String>,
    schema: Option<Value>,
}

#[derive(Deserialize)]
struct WireFunctionTool {
    name: String,
    description: Option<String>,
    parameters: Option<Value>,
}

#[derive(Deserialize)]
struct WireNamespace {
    name: String,
    tools: Vec<Value>,
}

#[derive(Deserialize)]
struct WireMessage {
    role: WireRole,
    content: Value,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum WireRole {
    User,
    Assistant,
    System,
    Developer,
}

#[derive(Deserialize)]
struct WireFunctionCall {
    call_id: String,
    name: String,
    /// JSON text per the API; an object is accepted too.
    arguments: Option<Value>,
    namespace: Option<String>,
}

#[derive(Deserialize)]
struct WireFunctionOutput {
    call_id: String,
    output: Value,
}

#[derive(Deserialize)]
struct WireReasoningItem {
    summary: Option<Vec<WireReasoningText>>,
    content: Option<Vec<WireReasoningText>>,
    encrypted_content: Option<String>,
}

/// A `summary_text` or `reasoning_text` entry.
#[derive(Deserialize)]
pub(super) struct WireReasoningText {
    pub(super) text: String,
}

#[derive(Deserialize)]
struct WireAdditionalTools {
    tools: Vec<Value>,
}

/// Decodes a client's `POST /v1/responses` body.
pub fn decode_request(body: &[u8]) -> Result<(ChatRequest, RequestOptions), ApiError> {
    let wire: WireRequest = parse_json(body)?;
    let mut options = RequestOptions {
        previous_response_id: wire.previous_response_id.clone(),
        store: wire.store.unwrap_or(true),
        include_encrypted_reasoning: wire.include.iter().flatten().any(|i| i == INCLUDE_ENCRYPTED),
        instructions: wire.instructions.clone(),
        tools: wire.tools.clone().unwrap_or_default(),
        tool_choice: wire
            .tool_choice
            .clone()
            .filter(|c| !c.is_null())
            .unwrap_or(json!("auto")),
        text: with_defaults(default_text(), wire.text.as_ref()),
        reasoning: with_defaults(default_reasoning(), wire.reasoning.as_ref()),
        parallel_tool_calls: wire.parallel_tool_calls.unwrap_or(true),
        metadata: wire.metadata.clone().filter(|m| !m.is_null()).unwrap_or(json!({})),
        max_output_tokens: wire.max_output_tokens,
        temperature: wire.temperature,
        top_p: wire.top_p,
        truncation: wire
            .truncation
            .clone()
            .filter(|t| !t.is_null())
            .unwrap_or(json!("disabled")),
        user: wire.user.clone(),
        prompt_cache_key: wire.prompt_cache_key.clone(),
        namespaced_tools: BTreeMap::new(),
    };

    let mut tools = Vec::new();
    decode_tools(
        wire.tools.unwrap_or_default(),
        "tools",
        &mut tools,
        &mut options.namespaced_tools,
    )?;
    let mut system: Vec<String> = wire.instructions.into_iter().filter(|i| !i.is_empty()).collect();
    let messages = match wire.input {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => vec![Message::text(Role::User, text)],
        Some(Value::Array(items)) => decode_items(items, &mut system, &mut tools, &mut options.namespaced_tools)?,
        Some(_) => return Err(invalid("input", "expected a string or an array of input items")),
    };

    let tool_choice = match wire.tool_choice {
        Some(choice) => decode_tool_choice(&choice)?,
        None => None,
    };
    let reasoning = match wire.reasoning.filter(|r| !r.is_null()) {
        Some(value) => decode_reasoning(parse_at(value, "reasoning")?)?,
        None => None,
    };
    let response_format = match wire.text.filter(|t| !t.is_null()) {
        Some(value) => decode_format(parse_at::<WireText>(value, "text")?.format)?,
        None => None,
    };
    let stream = wire.stream.unwrap_or(false);
    Ok((
        ChatRequest {
            model: wire.model,
            system,
            messages,
            tools,
            tool_choice,
            sampling: Sampling {
                temperature: wire.temperature,
                top_p: wire.top_p,
                max_output_tokens: wire.max_output_tokens,
                // The Responses API has no stop sequences, penalties, seed or top-k.
                ..Sampling::default()
            },
            reasoning,
            response_format,
            stream,
            // A Responses stream always ends with usage.
            stream_include_usage: stream,
            session_key: wire
                .prompt_cache_key
                .filter(|k| !k.is_empty())
                .or(wire.user.filter(|u| !u.is_empty())),
        },
        options,
    ))
}

/// Reads `tools` (or an `additional_tools` item's tools) into `out`, keeping
/// the first tool of each name and flattening `namespace` tools.
fn decode_tools(
    wire: Vec<Value>,
    path: &str,
    out: &mut Vec<Tool>,
    namespaced: &mut BTreeMap<String, NamespacedName>,
) -> Result<(), ApiError> {
    for (i, tool) in wire.into_iter().enumerate() {
        let tool_path = format!("{path}[{i}]");
        match type_of(&tool).unwrap_or("") {
            "function" => push_function(parse_at(tool, &tool_path)?, None, out),
            "web_search" | "web_search_preview" | "web_search_2025_08_26" | "web_search_preview_2025_03_11" => {
                if !out.contains(&Tool::WebSearch) {
                    out.push(Tool::WebSearch);
                }
            }
            "namespace" => {
                let namespace: WireNamespace = parse_at(tool, &tool_path)?;
                for (j, inner) in namespace.tools.into_iter().enumerate() {
                    if type_of(&inner) != Some("function") {
                        tracing::warn!(
                            namespace = %namespace.name,
                            tool_type = type_of(&inner).unwrap_or("(none)"),
                            "dropping a namespaced tool that is not a function"
                        );
                        continue;
                    }
                    let function = parse_at(inner, &format!("{tool_path}.tools[{j}]"))?;
                    push_function(function, Some((&namespace.name, namespaced)), out);
                }
            }
            other => tracing::warn!(
                tool_type = if other.is_empty() { "(none)" } else { other },
                "dropping a built-in tool that no upstream can run"
            ),
        }
    }
    Ok(())
}

fn push_function(
    function: WireFunctionTool,
    namespace: Option<(&str, &mut BTreeMap<String, NamespacedName>)>,
    out: &mut Vec<Tool>,
) {
    let name = match &namespace {
        Some((space, _)) => flat_name(space, &function.name),
        None => function.name.clone(),
    };
    if out.iter().any(|t| matches!(t, Tool::Function(f) if f.name == name)) {
        tracing::warn!(tool = %name, "dropping a second tool of the same name");
        return;
    }
    if let Some((space, namespaced)) = namespace {
        namespaced.insert(
            name.clone(),
            NamespacedName {
                namespace: space.to_owned(),
                name: function.name,
            },
        );
    }
    out.push(Tool::Function(FunctionTool {
        name,
        description: function.description.filter(|d| !d.is_empty()),
        parameters: function
            .parameters
            .filter(|p| !p.is_null())
            .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
    }));
}

/// Turns the flat item list into the model's turns (see the module docs).
fn decode_items(
    items: Vec<Value>,
    system: &mut Vec<String>,
    tools: &mut Vec<Tool>,
    namespaced: &mut BTreeMap<String, NamespacedName>,
) -> Result<Vec<Message>, ApiError> {
    let mut messages: Vec<Message> = Vec::with_capacity(items.len());
    // System and developer messages before the conversation starts are the
    // instructions (Codex sends them instead of `instructions`); later ones
    // stay in place.
    let mut leading = true;
    let mut previous_was_output = false;
    for (i, item) in items.into_iter().enumerate() {
        let path = format!("input[{i}]");
        if !item.is_object() {
            return Err(invalid(&path, "expected an input item object"));
        }
        let kind = match type_of(&item) {
            Some(kind) => kind.to_owned(),
            // Easy input messages may leave out their type.
            None if item.get("role").is_some() => "message".to_owned(),
            None => return Err(invalid(&format!("{path}.type"), "an input item needs a `type`")),
        };
        let mut is_output = false;
        match kind.as_str() {
            "message" => {
                let message: WireMessage = parse_at(item, &path)?;
                let content = decode_content(message.content, &format!("{path}.content"))?;
                match message.role {
                    WireRole::System | WireRole::Developer => {
                        let texts: Vec<String> = content
                            .into_iter()
                            .filter_map(|part| match part {
                                Part::Text(text) if !text.is_empty() => Some(text),
                                _ => None,
                            })
                            .collect();
                        if leading {
                            system.extend(texts);
                        } else if !texts.is_empty() {
                            messages.push(Message {
                                role: Role::System,
                                content: texts.into_iter().map(Part::Text).collect(),
                            });
                        }
                        continue;
                    }
                    WireRole::User if !content.is_empty() => messages.push(Message {
                        role: Role::User,
                        content,
                    }),
                    WireRole::User => {}
                    WireRole::Assistant => push_assistant(
                        &mut messages,
                        content
                            .into_iter()
                            .filter(|part| !matches!(part, Part::Text(text) if text.is_empty())),
                    ),
                }
            }
            "reasoning" => {
                let wire: WireReasoningItem = parse_at(item, &path)?;
                let reasoning = reasoning_of(wire.summary, wire.content, wire.encrypted_content);
                push_assistant(&mut messages, reasoning.map(Part::Reasoning));
            }
            "function_call" => {
                let call: WireFunctionCall = parse_at(item, &path)?;
                if !matches!(
                    call.arguments,
                    None | Some(Value::String(_) | Value::Object(_) | Value::Null)
                ) {
                    return Err(invalid(&format!("{path}.arguments"), "expected a JSON string"));
                }
                let name = match &call.namespace {
                    Some(space) => flat_name(space, &call.name),
                    None => call.name,
                };
                let call = ToolCall {
                    id: call.call_id,
                    name,
                    arguments: arguments_text(call.arguments),
                    signature: None,
                };
                push_assistant(&mut messages, [Part::ToolCall(call)]);
            }
            "function_call_output" => {
                let output: WireFunctionOutput = parse_at(item, &path)?;
                let result = Part::ToolResult(ToolResult {
                    call_id: output.call_id,
                    name: None,
                    content: decode_content(output.output, &format!("{path}.output"))?,
                    is_error: false,
                });
                // Outputs in a row answer one assistant turn: one user message.
                match messages.last_mut() {
                    Some(last) if previous_was_output && last.role == Role::User => last.content.push(result),
                    _ => messages.push(Message {
                        role: Role::User,
                        content: vec![result],
                    }),
                }
                is_output = true;
            }
            "additional_tools" => {
                let extra: WireAdditionalTools = parse_at(item, &path)?;
                decode_tools(extra.tools, &format!("{path}.tools"), tools, namespaced)?;
                continue;
            }
            other => {
                // Item references, built-in tool calls and custom tool calls
                // cannot be replayed to another provider; the rest of the
                // conversation still can.
                tracing::warn!(item_type = other, "dropping an input item the model cannot carry");
                continue;
            }
        }
        leading = false;
        previous_was_output = is_output;
    }
    Ok(messages)
}

/// Adds parts to the assistant turn in progress, or starts one.
fn push_assistant(messages: &mut Vec<Message>, parts: impl IntoIterator<Item = Part>) {
    let mut parts = parts.into_iter().peekable();
    if parts.peek().is_none() {
        return;
    }
    match messages.last_mut() {
        Some(last) if last.role == Role::Assistant => last.content.extend(parts),
        _ => messages.push(Message {
            role: Role::Assistant,
            content: parts.collect(),
        }),
    }
}

/// A reasoning item's readable text (its summary, else its content) and
/// its encrypted content, as the model's reasoning.
pub(super) fn reasoning_of(
    summary: Option<Vec<WireReasoningText>>,
    content: Option<Vec<WireReasoningText>>,
    encrypted: Option<String>,
) -> Option<Reasoning> {
    let mut text = join_texts(summary.unwrap_or_default().into_iter().map(|s| s.text));
    if text.is_empty() {
        text = join_texts(content.unwrap_or_default().into_iter().map(|c| c.text));
    }
    reasoning_from_wire(text, encrypted)
}

/// Arguments as JSON text: kept verbatim (even if not valid JSON, which a
/// model may produce), `{}` when absent or empty.
pub(super) fn arguments_text(arguments: Option<Value>) -> String {
    match arguments {
        Some(Value::String(text)) if !text.trim().is_empty() => text,
        None | Some(Value::Null) | Some(Value::String(_)) => "{}".to_owned(),
        Some(other) => other.to_string(),
    }
}

fn decode_tool_choice(value: &Value) -> Result<Option<ToolChoice>, ApiError> {
    const EXPECTED: &str = "expected \"auto\", \"none\", \"required\" or {\"type\":\"function\",\"name\":...}";
    match value {
        Value::Null => Ok(None),
        Value::String(mode) => match mode.as_str() {
            "auto" => Ok(Some(ToolChoice::Auto)),
            "none" => Ok(Some(ToolChoice::None)),
            "required" => Ok(Some(ToolChoice::Required)),
            _ => Err(invalid("tool_choice", format!("unknown mode `{mode}`, {EXPECTED}"))),
        },
        Value::Object(object) => match object.get("type").and_then(Value::as_str) {
            Some("function") => {
                let name = object
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("tool_choice.name", "a function tool choice needs a `name`"))?;
                let name = match object.get("namespace").and_then(Value::as_str) {
                    Some(space) => flat_name(space, name),
                    None => name.to_owned(),
                };
                Ok(Some(ToolChoice::Function(name)))
            }
            // The restriction to a subset has no equivalent in the model;
            // its mode still says whether a call is required.
            Some("allowed_tools") => Ok(Some(match object.get("mode").and_then(Value::as_str) {
                Some("required") => ToolChoice::Required,
                _ => ToolChoice::Auto,
            })),
            // Forcing a built-in, MCP or custom tool: those are dropped, so
            // the closest is to let the model decide.
            Some(_) => Ok(Some(ToolChoice::Auto)),
            None => Err(invalid("tool_choice.type", EXPECTED)),
        },
        _ => Err(invalid("tool_choice", EXPECTED)),
    }
}

fn decode_reasoning(wire: WireReasoning) -> Result<Option<ReasoningConfig>, ApiError> {
    let effort = wire.effort.as_deref().map(decode_effort).transpose()?;
    let summary = wire.summary.filter(|s| s != "none");
    if effort.is_none() && summary.is_none() {
        return Ok(None);
    }
    Ok(Some(ReasoningConfig {
        effort,
        budget_tokens: None,
        // A summary is what a Responses client reads of the reasoning.
        include_thoughts: summary.is_some() && effort != Some(ReasoningEffort::None),
    }))
}

fn decode_effort(effort: &str) -> Result<ReasoningEffort, ApiError> {
    match effort {
        "none" => Ok(ReasoningEffort::None),
        "minimal" => Ok(ReasoningEffort::Minimal),
        "low" => Ok(ReasoningEffort::Low),
        "medium" => Ok(ReasoningEffort::Medium),
        // The model's scale ends at high; larger efforts saturate.
        "high" | "xhigh" | "max" => Ok(ReasoningEffort::High),
        _ => Err(invalid(
            "reasoning.effort",
            format!("unknown effort `{effort}`, expected none, minimal, low, medium, high, xhigh or max"),
        )),
    }
}

fn decode_format(format: Option<WireFormat>) -> Result<Option<ResponseFormat>, ApiError> {
    let Some(format) = format else {
        return Ok(None);
    };
    match format.kind.as_str() {
        "text" => Ok(None),
        "json_object" => Ok(Some(ResponseFormat::JsonObject)),
        "json_schema" => Ok(Some(ResponseFormat::JsonSchema {
            name: format
                .name
                .ok_or_else(|| invalid("text.format.name", "a json_schema format needs a `name`"))?,
            schema: format
                .schema
                .ok_or_else(|| invalid("text.format.schema", "a json_schema format needs a `schema`"))?,
        })),
        other => Err(invalid(
            "text.format.type",
            format!("unknown format `{other}`, expected text, json_object or json_schema"),
        )),
    }
}

/// Encodes a Responses request for `model`. System blocks travel as leading
/// `system` messages (one per block, so that they stay separate); stop
/// sequences, penalties, seed and top-k have no Responses field and are
/// dropped. Nothing is stored upstream and encrypted reasoning is asked for,
/// so that reasoning can be replayed on the next turn.
pub fn encode_request(request: &ChatRequest, model: &str) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("input".into(), Value::Array(encode_items(request)));

    let tools: Vec<Value> = request
        .tools
        .iter()
        .map(|tool| match tool {
            Tool::Function(function) => {
                let mut wire = Map::new();
                wire.insert("type".into(), json!("function"));
                wire.insert("name".into(), json!(function.name));
                if let Some(description) = &function.description {
                    wire.insert("description".into(), json!(description));
                }
                wire.insert("parameters".into(), function.parameters.clone());
                // Strict mode rewrites optional parameters; clients of other
                // protocols never asked for it.
                wire.insert("strict".into(), json!(false));
                Value::Object(wire)
            }
            Tool::WebSearch => json!({"type": "web_search"}),
        })
        .collect();
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = &request.tool_choice {
            body.insert("tool_choice".into(), encode_tool_choice(choice));
        }
    }
    let sampling = &request.sampling;
    if let Some(temperature) = sampling.temperature {
        body.insert("temperature".into(), json!(temperature));
    }
    if let Some(top_p) = sampling.top_p {
        body.insert("top_p".into(), json!(top_p));
    }
    if let Some(max) = sampling.max_output_tokens {
        body.insert("max_output_tokens".into(), json!(max));
    }
    if let Some(reasoning) = &request.reasoning {
        let mut wire = Map::new();
        if let Some(effort) = effort_of(reasoning) {
            wire.insert("effort".into(), json!(effort_name(effort)));
        }
        if reasoning.include_thoughts {
            wire.insert("summary".into(), json!("auto"));
        }
        body.insert("reasoning".into(), Value::Object(wire));
    }
    match &request.response_format {
        Some(ResponseFormat::JsonObject) => {
            body.insert("text".into(), json!({"format": {"type": "json_object"}}));
        }
        Some(ResponseFormat::JsonSchema { name, schema }) => {
            body.insert(
                "text".into(),
                json!({"format": {"type": "json_schema", "name": name, "schema": schema}}),
            );
        }
        None => {}
    }
    if let Some(key) = &request.session_key {
        body.insert("prompt_cache_key".into(), json!(key));
    }
    body.insert("store".into(), json!(false));
    body.insert("include".into(), json!([INCLUDE_ENCRYPTED]));
    if request.stream {
        body.insert("stream".into(), json!(true));
    }
    Value::Object(body)
}

fn encode_tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Function(name) => json!({"type": "function", "name": name}),
    }
}

/// The effort to send: the explicit one, else one derived from a budget.
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

fn encode_items(request: &ChatRequest) -> Vec<Value> {
    let mut items = Vec::new();
    for text in &request.system {
        items.push(json!({"type": "message", "role": "system", "content": text}));
    }
    for message in &request.messages {
        match message.role {
            Role::System => {
                let content: Vec<Value> = message
                    .content
                    .iter()
                    .filter(|part| matches!(part, Part::Text(_)))
                    .filter_map(|part| encode_input_part(part, false))
                    .collect();
                if !content.is_empty() {
                    items.push(json!({"type": "message", "role": "system", "content": content}));
                }
            }
            Role::User => encode_user(message, &mut items),
            Role::Assistant => encode_assistant(message, &mut items),
        }
    }
    items
}

/// Tool results first (they answer the turn before), then the rest.
fn encode_user(message: &Message, items: &mut Vec<Value>) {
    let mut rest = Vec::new();
    for part in &message.content {
        match part {
            Part::ToolResult(result) => {
                let output = match result.content.as_slice() {
                    [] => json!(""),
                    [Part::Text(text)] => json!(text),
                    parts => Value::Array(parts.iter().filter_map(|p| encode_input_part(p, false)).collect()),
                };
                items.push(json!({"type": "function_call_output", "call_id": result.call_id, "output": output}));
            }
            other => rest.extend(encode_input_part(other, false)),
        }
    }
    if !rest.is_empty() {
        items.push(json!({"type": "message", "role": "user", "content": rest}));
    }
}

/// Assistant parts in order: texts in a row share one message item.
fn encode_assistant(message: &Message, items: &mut Vec<Value>) {
    let mut texts: Vec<Value> = Vec::new();
    let flush = |texts: &mut Vec<Value>, items: &mut Vec<Value>| {
        if !texts.is_empty() {
            items.push(json!({"type": "message", "role": "assistant", "content": std::mem::take(texts)}));
        }
    };
    for part in &message.content {
        match part {
            Part::Text(_) => texts.extend(encode_input_part(part, true)),
            Part::Reasoning(reasoning) => {
                flush(&mut texts, items);
                let summary: Vec<Value> = if reasoning.text.is_empty() {
                    Vec::new()
                } else {
                    vec![json!({"type": "summary_text", "text": reasoning.text})]
                };
                // The API requires an id on reasoning items; nothing refers to it.
                let mut item = json!({"type": "reasoning", "id": format!("rs_{}", items.len()), "summary": summary});
                if let Some(encrypted) = encrypted_of(reasoning) {
                    item["encrypted_content"] = json!(encrypted);
                }
                items.push(item);
            }
            Part::ToolCall(call) => {
                flush(&mut texts, items);
                items.push(json!({
                    "type": "function_call",
                    "call_id": call.id,
                    "name": call.name,
                    "arguments": if call.arguments.trim().is_empty() { "{}" } else { &call.arguments },
                }));
            }
            Part::Image(_) | Part::ToolResult(_) => {}
        }
    }
    flush(&mut texts, items);
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
