//! `GenerateContentRequest`: decoding what google-genai clients send, and
//! encoding the model for the Gemini API.

use std::collections::HashMap;

use serde::de;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use super::content::{
    Audience, CallIds, Content, FOREIGN_CALL_SIGNATURE, WirePart, decode_parts, encode_parts, null_as_default,
};
use super::schema::{cleanup_schema, from_gemini_schema};
use crate::protocol::model::{
    ChatRequest, FunctionTool, Message, Part, ReasoningConfig, ReasoningEffort, ResponseFormat, Role, Sampling, Tool,
    ToolChoice,
};
use crate::protocol::{ApiError, parse_json};

/// Thinking budgets for OpenAI-style efforts: the values Google's own
/// OpenAI-compatibility layer uses for low/medium/high (1K, 8K, 24K), and for
/// `minimal` the smallest budget every Gemini 2.5 model accepts (Flash-Lite's
/// floor is 512; Pro's is 128).
fn effort_budget(effort: ReasoningEffort) -> i64 {
    match effort {
        ReasoningEffort::None => 0,
        ReasoningEffort::Minimal => 512,
        ReasoningEffort::Low => 1024,
        ReasoningEffort::Medium => 8192,
        ReasoningEffort::High => 24576,
    }
}

/// The request body of `generateContent` / `streamGenerateContent`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct GenerateContentRequest {
    /// The conversation.
    #[serde(deserialize_with = "null_as_default")]
    pub contents: Vec<Content>,
    /// System instructions (a `Content` whose text parts count).
    #[serde(alias = "system_instruction", skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<Content>,
    /// Tool declarations.
    #[serde(deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<WireTool>,
    /// How the tools may be used.
    #[serde(alias = "tool_config", skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfig>,
    /// Sampling, length, output format and thinking.
    #[serde(alias = "generation_config", skip_serializing_if = "Option::is_none")]
    pub generation_config: Option<GenerationConfig>,
}

/// One entry of `tools[]`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct WireTool {
    /// Client-declared functions.
    #[serde(
        alias = "function_declarations",
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub function_declarations: Vec<FunctionDeclaration>,
    /// Grounding with Google Search.
    #[serde(alias = "google_search", skip_serializing_if = "Option::is_none")]
    pub google_search: Option<Value>,
    /// The Gemini 1.5 form of Google Search grounding.
    #[serde(alias = "google_search_retrieval", skip_serializing)]
    pub google_search_retrieval: Option<Value>,
    /// Built-in tools no other upstream runs; dropped with a log line.
    #[serde(alias = "code_execution", skip_serializing)]
    pub code_execution: Option<Value>,
    /// See `code_execution`.
    #[serde(alias = "url_context", skip_serializing)]
    pub url_context: Option<Value>,
    /// See `code_execution`.
    #[serde(alias = "google_maps", skip_serializing)]
    pub google_maps: Option<Value>,
    /// See `code_execution`.
    #[serde(alias = "computer_use", skip_serializing)]
    pub computer_use: Option<Value>,
    /// See `code_execution`.
    #[serde(alias = "file_search", skip_serializing)]
    pub file_search: Option<Value>,
}

/// A function the model may call.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FunctionDeclaration {
    /// Function name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Gemini `Schema` of the arguments (OpenAPI subset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// JSON Schema of the arguments (exclusive with `parameters`).
    #[serde(default, alias = "parameters_json_schema", skip_serializing)]
    pub parameters_json_schema: Option<Value>,
}

/// `toolConfig`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct ToolConfig {
    /// The only part of it the model expresses.
    #[serde(alias = "function_calling_config", skip_serializing_if = "Option::is_none")]
    pub function_calling_config: Option<FunctionCallingConfig>,
}

/// `toolConfig.functionCallingConfig`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct FunctionCallingConfig {
    /// `AUTO`, `ANY`, `NONE` or `VALIDATED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// With `ANY`/`VALIDATED`: the functions that may be called.
    #[serde(
        alias = "allowed_function_names",
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_function_names: Vec<String>,
}

/// `generationConfig`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct GenerationConfig {
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling mass.
    #[serde(alias = "top_p", skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k (a float in some SDK versions, hence lenient).
    #[serde(
        alias = "top_k",
        deserialize_with = "lenient_u32",
        skip_serializing_if = "Option::is_none"
    )]
    pub top_k: Option<u32>,
    /// Number of candidates; only 1 is supported.
    #[serde(alias = "candidate_count", deserialize_with = "lenient_u32", skip_serializing)]
    pub candidate_count: Option<u32>,
    /// Output token limit.
    #[serde(
        alias = "max_output_tokens",
        deserialize_with = "lenient_u32",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_output_tokens: Option<u32>,
    /// Stop sequences.
    #[serde(
        alias = "stop_sequences",
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub stop_sequences: Vec<String>,
    /// Presence penalty.
    #[serde(alias = "presence_penalty", skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    #[serde(alias = "frequency_penalty", skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Random seed.
    #[serde(deserialize_with = "lenient_i64", skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// `application/json` asks for JSON output.
    #[serde(alias = "response_mime_type", skip_serializing_if = "Option::is_none")]
    pub response_mime_type: Option<String>,
    /// Output schema as a Gemini `Schema`.
    #[serde(alias = "response_schema", skip_serializing)]
    pub response_schema: Option<Value>,
    /// Output schema as JSON Schema.
    #[serde(alias = "response_json_schema", skip_serializing_if = "Option::is_none")]
    pub response_json_schema: Option<Value>,
    /// Thinking budget / level and whether thoughts are returned.
    #[serde(alias = "thinking_config", skip_serializing_if = "Option::is_none")]
    pub thinking_config: Option<ThinkingConfig>,
}

/// `generationConfig.thinkingConfig`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct ThinkingConfig {
    /// Return thought summaries as `thought` parts.
    #[serde(alias = "include_thoughts", skip_serializing_if = "Option::is_none")]
    pub include_thoughts: Option<bool>,
    /// Token budget: 0 disables thinking, -1 lets the model decide.
    #[serde(
        alias = "thinking_budget",
        deserialize_with = "lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub thinking_budget: Option<i64>,
    /// Gemini 3 levels: `minimal`, `low`, `medium`, `high`.
    #[serde(alias = "thinking_level", skip_serializing_if = "Option::is_none")]
    pub thinking_level: Option<String>,
}

/// Decodes a client's `GenerateContentRequest`. The model name (in the URL)
/// and the stream flag (the method) are left for the HTTP layer to set.
///
/// Function calls without an `id` are named `call_{n}`, counting the calls
/// of the request from 0, so that the same body always yields the same ids;
/// a `functionResponse` without an id answers the oldest unanswered call of
/// its name.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    // serde would also build the struct from a JSON array of its fields.
    if body
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|&byte| byte == b'[')
    {
        return Err(ApiError::invalid_request(
            "invalid JSON body: expected a GenerateContentRequest object, found an array",
        ));
    }
    let wire: GenerateContentRequest = parse_json(body)?;
    let mut request = ChatRequest::default();

    if let Some(system) = wire.system_instruction {
        request.system = system
            .parts
            .into_iter()
            .filter_map(|part| part.text)
            .filter(|text| !text.is_empty())
            .collect();
    }

    let make = |n: usize| format!("call_{n}");
    let mut ids = CallIds::new(&make);
    for (index, content) in wire.contents.into_iter().enumerate() {
        let role = decode_role(content.role.as_deref(), index)?;
        let parts = decode_parts(content.parts, &mut ids);
        if !parts.is_empty() {
            request.messages.push(Message { role, content: parts });
        }
    }

    for tool in wire.tools {
        decode_tool(tool, &mut request.tools);
    }
    request.tool_choice = wire
        .tool_config
        .and_then(|config| config.function_calling_config)
        .and_then(decode_tool_choice);

    if let Some(config) = wire.generation_config {
        decode_generation_config(config, &mut request)?;
    }
    Ok(request)
}

fn decode_role(role: Option<&str>, index: usize) -> Result<Role, ApiError> {
    match role.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("user") | Some("function") => Ok(Role::User),
        Some("model") => Ok(Role::Assistant),
        Some("system") => Ok(Role::System),
        Some(other) => Err(ApiError::invalid_request(format!(
            "invalid JSON body at `contents[{index}].role`: unknown role `{other}`; use `user` or `model`"
        ))),
    }
}

fn decode_tool(tool: WireTool, tools: &mut Vec<Tool>) {
    for declaration in tool.function_declarations {
        let parameters = match (declaration.parameters_json_schema, declaration.parameters) {
            (Some(schema), _) => schema,
            (None, Some(schema)) => from_gemini_schema(&schema),
            (None, None) => json!({"type": "object", "properties": {}}),
        };
        tools.push(Tool::Function(FunctionTool {
            name: declaration.name,
            description: declaration.description,
            parameters,
        }));
    }
    if (tool.google_search.is_some() || tool.google_search_retrieval.is_some()) && !tools.contains(&Tool::WebSearch) {
        tools.push(Tool::WebSearch);
    }
    let dropped = [
        ("codeExecution", tool.code_execution.is_some()),
        ("urlContext", tool.url_context.is_some()),
        ("googleMaps", tool.google_maps.is_some()),
        ("computerUse", tool.computer_use.is_some()),
        ("fileSearch", tool.file_search.is_some()),
    ];
    for (name, present) in dropped {
        if present {
            tracing::warn!(
                tool = name,
                "dropping a Gemini built-in tool that the translation cannot carry"
            );
        }
    }
}

fn decode_tool_choice(config: FunctionCallingConfig) -> Option<ToolChoice> {
    match config.mode.as_deref().map(str::to_ascii_uppercase).as_deref() {
        // VALIDATED is AUTO with schema-checked calls; the model has no such nuance.
        Some("AUTO") | Some("VALIDATED") => Some(ToolChoice::Auto),
        Some("NONE") => Some(ToolChoice::None),
        // Several allowed names cannot be expressed; "call one of the tools" is the closest.
        Some("ANY") => match config.allowed_function_names.as_slice() {
            [only] => Some(ToolChoice::Function(only.clone())),
            _ => Some(ToolChoice::Required),
        },
        _ => None,
    }
}

fn decode_generation_config(config: GenerationConfig, request: &mut ChatRequest) -> Result<(), ApiError> {
    if let Some(count) = config.candidate_count.filter(|&count| count > 1) {
        return Err(ApiError::invalid_request(format!(
            "`generationConfig.candidateCount` is {count}, but only one candidate per request is supported; \
             leave it out or set it to 1"
        )));
    }
    request.sampling = Sampling {
        temperature: config.temperature,
        top_p: config.top_p,
        top_k: config.top_k,
        max_output_tokens: config.max_output_tokens,
        stop: config.stop_sequences,
        presence_penalty: config.presence_penalty,
        frequency_penalty: config.frequency_penalty,
        seed: config.seed,
    };
    let wants_json = config
        .response_mime_type
        .as_deref()
        .is_some_and(|mime| mime.eq_ignore_ascii_case("application/json"));
    if wants_json {
        let schema = match (config.response_json_schema, config.response_schema) {
            (Some(schema), _) => Some(schema),
            (None, Some(schema)) => Some(from_gemini_schema(&schema)),
            (None, None) => None,
        };
        request.response_format = Some(match schema {
            Some(schema) => ResponseFormat::JsonSchema {
                name: "response".into(),
                schema,
            },
            None => ResponseFormat::JsonObject,
        });
    }
    request.reasoning = config.thinking_config.map(decode_thinking);
    Ok(())
}

/// `thinkingBudget` 0 is effort `None`; -1 (dynamic) is "no budget"; a
/// `thinkingLevel` is an effort.
fn decode_thinking(config: ThinkingConfig) -> ReasoningConfig {
    let mut reasoning = ReasoningConfig {
        include_thoughts: config.include_thoughts.unwrap_or(false),
        ..Default::default()
    };
    match config.thinking_budget {
        Some(0) => reasoning.effort = Some(ReasoningEffort::None),
        Some(budget) if budget > 0 => reasoning.budget_tokens = Some(u32::try_from(budget).unwrap_or(u32::MAX)),
        _ => {}
    }
    if let Some(level) = config.thinking_level {
        let effort = match level.to_ascii_lowercase().as_str() {
            "minimal" => Some(ReasoningEffort::Minimal),
            "low" => Some(ReasoningEffort::Low),
            "medium" => Some(ReasoningEffort::Medium),
            "high" => Some(ReasoningEffort::High),
            _ => None,
        };
        reasoning.effort = effort.or(reasoning.effort);
    }
    reasoning
}

/// Encodes the model as a `GenerateContentRequest` body for the Gemini API.
/// The model name goes in the URL, so `_model` is not written.
///
/// System-role messages join `systemInstruction`; consecutive turns of one
/// role are merged (Gemini wants them alternating); a model turn whose
/// function calls carry no signature at all gets Gemini's documented
/// placeholder on its first call, since Gemini 3 refuses such history and it
/// can only have come from another provider.
pub fn encode_request(request: &ChatRequest, _model: &str) -> Value {
    let names: HashMap<String, String> = request
        .messages
        .iter()
        .flat_map(|message| &message.content)
        .filter_map(|part| match part {
            Part::ToolCall(call) => Some((call.id.clone(), call.name.clone())),
            _ => None,
        })
        .collect();

    let mut system: Vec<String> = request.system.clone();
    let mut contents: Vec<Content> = Vec::new();
    for message in &request.messages {
        let role = match message.role {
            Role::System => {
                system.extend(message.content.iter().filter_map(|part| match part {
                    Part::Text(text) if !text.is_empty() => Some(text.clone()),
                    _ => None,
                }));
                continue;
            }
            Role::User => "user",
            Role::Assistant => "model",
        };
        let parts = encode_parts(&message.content, Audience::Upstream, &names);
        if parts.is_empty() {
            continue;
        }
        match contents.last_mut() {
            Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
            _ => contents.push(Content {
                role: Some(role.into()),
                parts,
            }),
        }
    }
    for content in contents
        .iter_mut()
        .filter(|content| content.role.as_deref() == Some("model"))
    {
        sign_foreign_calls(&mut content.parts);
    }

    let system_instruction = (!system.is_empty()).then(|| Content {
        role: None,
        parts: system
            .into_iter()
            .map(|text| WirePart {
                text: Some(text),
                ..WirePart::default()
            })
            .collect(),
    });

    let (tools, has_functions) = encode_tools(&request.tools);
    let tool_config = request
        .tool_choice
        .as_ref()
        .filter(|_| has_functions)
        .map(encode_tool_choice);

    let wire = GenerateContentRequest {
        contents,
        system_instruction,
        tools,
        tool_config,
        generation_config: encode_generation_config(request),
    };
    serde_json::to_value(wire).unwrap_or(Value::Null)
}

fn sign_foreign_calls(parts: &mut [WirePart]) {
    let calls = || parts.iter().filter(|part| part.function_call.is_some());
    if calls().any(|part| part.thought_signature.is_some()) {
        return;
    }
    if let Some(first) = parts.iter_mut().find(|part| part.function_call.is_some()) {
        first.thought_signature = Some(FOREIGN_CALL_SIGNATURE.into());
    }
}

/// The `tools` list, and whether it declares any function.
fn encode_tools(tools: &[Tool]) -> (Vec<WireTool>, bool) {
    let mut declarations = Vec::new();
    let mut web_search = false;
    for tool in tools {
        match tool {
            Tool::Function(function) => {
                let schema = cleanup_schema(&function.parameters);
                // Gemini refuses an object without properties: a function without parameters has none.
                let parameters = schema.get("properties").is_some().then_some(schema);
                declarations.push(FunctionDeclaration {
                    name: function.name.clone(),
                    description: function.description.clone(),
                    parameters,
                    parameters_json_schema: None,
                });
            }
            Tool::WebSearch => web_search = true,
        }
    }
    let has_functions = !declarations.is_empty();
    let mut wire = Vec::new();
    if has_functions {
        wire.push(WireTool {
            function_declarations: declarations,
            ..WireTool::default()
        });
    }
    if web_search {
        wire.push(WireTool {
            google_search: Some(json!({})),
            ..WireTool::default()
        });
    }
    (wire, has_functions)
}

fn encode_tool_choice(choice: &ToolChoice) -> ToolConfig {
    let (mode, allowed) = match choice {
        ToolChoice::Auto => ("AUTO", Vec::new()),
        ToolChoice::None => ("NONE", Vec::new()),
        ToolChoice::Required => ("ANY", Vec::new()),
        ToolChoice::Function(name) => ("ANY", vec![name.clone()]),
    };
    ToolConfig {
        function_calling_config: Some(FunctionCallingConfig {
            mode: Some(mode.into()),
            allowed_function_names: allowed,
        }),
    }
}

fn encode_generation_config(request: &ChatRequest) -> Option<GenerationConfig> {
    let sampling = &request.sampling;
    let mut config = GenerationConfig {
        temperature: sampling.temperature,
        top_p: sampling.top_p,
        top_k: sampling.top_k,
        max_output_tokens: sampling.max_output_tokens,
        stop_sequences: sampling.stop.clone(),
        presence_penalty: sampling.presence_penalty,
        frequency_penalty: sampling.frequency_penalty,
        seed: sampling.seed,
        ..GenerationConfig::default()
    };
    match &request.response_format {
        Some(ResponseFormat::JsonObject) => config.response_mime_type = Some("application/json".into()),
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            config.response_mime_type = Some("application/json".into());
            // `responseJsonSchema` takes JSON Schema as it is (refs, unions, additionalProperties).
            let mut schema = schema.clone();
            if let Some(object) = schema.as_object_mut() {
                object.remove("$schema");
            }
            config.response_json_schema = Some(schema);
        }
        None => {}
    }
    config.thinking_config = request.reasoning.as_ref().and_then(encode_thinking);
    let empty = serde_json::to_value(&config).is_ok_and(|value| value.as_object().is_some_and(|map| map.is_empty()));
    (!empty).then_some(config)
}

/// An explicit budget wins over an effort; neither leaves the model's default.
fn encode_thinking(reasoning: &ReasoningConfig) -> Option<ThinkingConfig> {
    let budget = reasoning
        .budget_tokens
        .map(i64::from)
        .or_else(|| reasoning.effort.map(effort_budget));
    // Thoughts cannot be returned when thinking is off.
    let include_thoughts = (reasoning.include_thoughts && budget != Some(0)).then_some(true);
    if budget.is_none() && include_thoughts.is_none() {
        return None;
    }
    Some(ThinkingConfig {
        include_thoughts,
        thinking_budget: budget,
        thinking_level: None,
    })
}

/// An integer that may arrive as a float with no fraction (`40.0`) or as a
/// string (proto3 JSON writes int64 that way).
fn lenient_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    let integer = match &value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(number)) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|float| float.fract() == 0.0 && float.abs() < 9.0e15)
                .map(|float| float as i64)
        }),
        Some(Value::String(text)) => text.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    match integer {
        Some(integer) => Ok(Some(integer)),
        None => Err(de::Error::custom(format!(
            "expected an integer, found {}",
            value.unwrap_or(Value::Null)
        ))),
    }
}

/// [`lenient_i64`] limited to `0..=u32::MAX`.
fn lenient_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    match lenient_i64(deserializer)? {
        None => Ok(None),
        Some(integer) => u32::try_from(integer)
            .map(Some)
            .map_err(|_| de::Error::custom(format!("expected a non-negative integer, found {integer}"))),
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "request_sdk_tests.rs"]
mod sdk_tests;
