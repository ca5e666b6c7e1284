//! `POST /v1/messages` bodies: what clients send (decoded into a
//! [`ChatRequest`]) and what Anthropic upstreams accept (encoded from one).

use serde::Deserialize;
use serde::de::Deserializer;
use serde_json::{Map, Value, json};

use super::content::{
    TextBlock, TextOrBlocks, WireBlock, arguments_object, block_parts, media_block, object_tag, text_block, texts,
    typed,
};
use crate::protocol::model::{
    ChatRequest, FunctionTool, Message, Part, ReasoningConfig, ReasoningEffort, ResponseFormat, Role, Sampling, Tool,
    ToolChoice,
};
use crate::protocol::{ApiError, parse_json};

/// `max_tokens` sent upstream when the client set no output limit: Anthropic
/// requires the field, and 8192 is an output limit that current Claude
/// models and Anthropic-compatible servers accept alike.
pub const DEFAULT_MAX_TOKENS: u32 = 8192;

/// Anthropic refuses smaller thinking budgets.
const MIN_THINKING_BUDGET: u32 = 1024;

/// Thinking budgets for an effort without a budget (an OpenAI client's
/// `reasoning_effort`, Claude Code's adaptive thinking): low, medium and
/// high a few times apart, high still leaving room under a 32k output limit.
fn effort_budget(effort: Option<ReasoningEffort>) -> Option<u32> {
    match effort {
        Some(ReasoningEffort::None) => None,
        Some(ReasoningEffort::Minimal) => Some(MIN_THINKING_BUDGET),
        Some(ReasoningEffort::Low) => Some(2048),
        // No effort named (Claude Code's adaptive thinking) means the default.
        Some(ReasoningEffort::Medium) | None => Some(8192),
        Some(ReasoningEffort::High) => Some(24576),
    }
}

/// Anthropic rejects `top_p` below this while thinking is enabled.
const MIN_TOP_P_WITH_THINKING: f64 = 0.95;

// ---------------------------------------------------------------------------
// Request decoding
// ---------------------------------------------------------------------------

/// The request body. `max_tokens` is optional here because
/// `/v1/messages/count_tokens` bodies share this shape without it.
#[derive(Deserialize)]
struct WireRequest {
    model: String,
    messages: Vec<WireMessage>,
    system: Option<TextOrBlocks<TextBlock>>,
    max_tokens: Option<u32>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    top_k: Option<u32>,
    stop_sequences: Option<Vec<String>>,
    stream: Option<bool>,
    tools: Option<Vec<WireTool>>,
    tool_choice: Option<WireToolChoice>,
    thinking: Option<WireThinking>,
    metadata: Option<WireMetadata>,
    output_config: Option<WireOutputConfig>,
}

#[derive(Deserialize)]
struct WireMessage {
    role: WireRole,
    content: TextOrBlocks<WireBlock>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum WireRole {
    User,
    Assistant,
    /// Claude Code sends system-role entries inside `messages`.
    System,
}

/// A tool declaration: a custom tool, or a built-in tool named by its `type`.
enum WireTool {
    Custom(FunctionTool),
    WebSearch,
    /// A built-in tool only Anthropic can run (bash, text editor, computer
    /// use, code execution, ...).
    Builtin(String),
}

impl<'de> Deserialize<'de> for WireTool {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Custom {
            name: String,
            description: Option<String>,
            input_schema: Value,
        }

        let value = Value::deserialize(deserializer)?;
        match object_tag::<D::Error>(&value, "a tool object")?.as_deref() {
            None | Some("custom") => {
                let Custom {
                    name,
                    description,
                    input_schema,
                } = typed(value)?;
                Ok(WireTool::Custom(FunctionTool {
                    name,
                    description,
                    parameters: input_schema,
                }))
            }
            Some(tag) if tag.starts_with("web_search_") => Ok(WireTool::WebSearch),
            Some(tag) => Ok(WireTool::Builtin(tag.to_owned())),
        }
    }
}

/// `disable_parallel_tool_use` has no place in the model and is dropped.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum WireToolChoice {
    Auto {},
    Any {},
    Tool { name: String },
    None {},
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum WireThinking {
    Enabled {
        budget_tokens: u32,
        display: Option<String>,
    },
    Adaptive {
        display: Option<String>,
    },
    Disabled {},
}

#[derive(Deserialize)]
struct WireMetadata {
    user_id: Option<String>,
}

#[derive(Deserialize)]
struct WireOutputConfig {
    /// Kept as text: an effort level this codec does not know is ignored
    /// rather than refused.
    effort: Option<String>,
    format: Option<WireOutputFormat>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum WireOutputFormat {
    #[serde(rename = "json_schema")]
    JsonSchema { schema: Value },
    #[serde(other)]
    Other,
}

/// Decodes a client's `POST /v1/messages` (or `count_tokens`) body.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let wire: WireRequest = parse_json(body)?;

    let mut messages = Vec::with_capacity(wire.messages.len());
    for message in wire.messages {
        decode_message(message, &mut messages);
    }

    let mut tools = Vec::new();
    for tool in wire.tools.unwrap_or_default() {
        match tool {
            WireTool::Custom(function) => tools.push(Tool::Function(function)),
            WireTool::WebSearch if !tools.contains(&Tool::WebSearch) => tools.push(Tool::WebSearch),
            WireTool::WebSearch => {}
            WireTool::Builtin(kind) => {
                tracing::warn!(
                    tool_type = %kind,
                    "dropping an Anthropic built-in tool that only Anthropic can run"
                );
            }
        }
    }

    let (effort, response_format) = match wire.output_config {
        Some(config) => (
            config.effort.as_deref().and_then(decode_effort),
            match config.format {
                Some(WireOutputFormat::JsonSchema { schema }) => Some(ResponseFormat::JsonSchema {
                    // Anthropic schemas are anonymous; OpenAI needs a name.
                    name: "response".to_owned(),
                    schema,
                }),
                _ => None,
            },
        ),
        None => (None, None),
    };

    Ok(ChatRequest {
        model: wire.model,
        system: wire.system.map(texts).unwrap_or_default(),
        messages,
        tools,
        tool_choice: wire.tool_choice.map(|choice| match choice {
            WireToolChoice::Auto {} => ToolChoice::Auto,
            WireToolChoice::Any {} => ToolChoice::Required,
            WireToolChoice::Tool { name } => ToolChoice::Function(name),
            WireToolChoice::None {} => ToolChoice::None,
        }),
        sampling: Sampling {
            temperature: wire.temperature,
            top_p: wire.top_p,
            top_k: wire.top_k,
            max_output_tokens: wire.max_tokens,
            stop: wire.stop_sequences.unwrap_or_default(),
            ..Sampling::default()
        },
        reasoning: wire.thinking.map(|thinking| decode_thinking(thinking, effort)),
        response_format,
        stream: wire.stream.unwrap_or(false),
        stream_include_usage: false,
        session_key: wire.metadata.and_then(|metadata| metadata.user_id),
    })
}

/// Appends the message(s) one wire message stands for: a `mid_conv_system`
/// block splits its turn around a system message, and a turn whose blocks
/// were all dropped disappears.
fn decode_message(message: WireMessage, out: &mut Vec<Message>) {
    let role = match message.role {
        WireRole::User => Role::User,
        WireRole::Assistant => Role::Assistant,
        WireRole::System => Role::System,
    };
    let blocks = match message.content {
        TextOrBlocks::Text(text) => {
            out.push(Message::text(role, text));
            return;
        }
        TextOrBlocks::Blocks(blocks) => blocks,
    };
    let mut content = Vec::with_capacity(blocks.len());
    for block in blocks {
        if let WireBlock::MidConversationSystem { content: system } = block {
            if !content.is_empty() {
                out.push(Message {
                    role,
                    content: std::mem::take(&mut content),
                });
            }
            out.push(Message {
                role: Role::System,
                content: texts(system).into_iter().map(Part::Text).collect(),
            });
        } else {
            block_parts(block, &mut content);
        }
    }
    if !content.is_empty() {
        out.push(Message { role, content });
    }
}

fn decode_effort(effort: &str) -> Option<ReasoningEffort> {
    match effort {
        "low" => Some(ReasoningEffort::Low),
        "medium" => Some(ReasoningEffort::Medium),
        // The model's scale ends at High.
        "high" | "xhigh" | "max" => Some(ReasoningEffort::High),
        _ => None,
    }
}

/// `output_config.effort` counts only alongside thinking: on its own it
/// tunes a non-thinking answer, which no other protocol can express.
fn decode_thinking(thinking: WireThinking, effort: Option<ReasoningEffort>) -> ReasoningConfig {
    // `display: "omitted"` asks for the signature without the text.
    let shown = |display: Option<String>| display.as_deref() != Some("omitted");
    match thinking {
        WireThinking::Enabled { budget_tokens, display } => ReasoningConfig {
            effort,
            budget_tokens: Some(budget_tokens),
            include_thoughts: shown(display),
        },
        WireThinking::Adaptive { display } => ReasoningConfig {
            effort,
            budget_tokens: None,
            include_thoughts: shown(display),
        },
        WireThinking::Disabled {} => ReasoningConfig {
            effort: Some(ReasoningEffort::None),
            budget_tokens: None,
            include_thoughts: false,
        },
    }
}

// ---------------------------------------------------------------------------
// Request encoding
// ---------------------------------------------------------------------------

/// Encodes a request for an Anthropic upstream serving `model`.
///
/// Dropped because the Messages API has no place for them: `response_format`
/// (no structured-output field in the classic API), presence/frequency
/// penalties, `seed`, Gemini tool-call signatures, and reasoning that carries
/// neither a signature nor redacted data (Anthropic only accepts thinking it
/// can verify).
pub fn encode_request(request: &ChatRequest, model: &str) -> Value {
    let budget = thinking_budget(request);
    let mut max_tokens = request.sampling.max_output_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    match budget {
        // The budget must stay below max_tokens; keep the client's limit as
        // the room left for the answer.
        Some(budget) if max_tokens <= budget => max_tokens = budget.saturating_add(max_tokens),
        _ => {}
    }

    let mut system: Vec<Value> = request
        .system
        .iter()
        .filter(|text| !text.is_empty())
        .map(|text| text_block(text))
        .collect();
    let mut turns: Vec<Turn> = Vec::new();
    for message in &request.messages {
        if message.role == Role::System {
            // Anthropic-compatible servers know no system role: fold it into
            // the system prompt, which keeps its order among the instructions.
            for part in &message.content {
                match part {
                    Part::Text(text) if !text.is_empty() => system.push(text_block(text)),
                    _ => {}
                }
            }
            continue;
        }
        let mut turn = Turn {
            role: message.role,
            results: Vec::new(),
            blocks: Vec::new(),
        };
        for part in &message.content {
            encode_part(part, &mut turn);
        }
        if turn.results.is_empty() && turn.blocks.is_empty() {
            continue;
        }
        // Anthropic expects alternating turns: merge neighbours of one role.
        match turns.last_mut() {
            Some(last) if last.role == turn.role => {
                last.results.append(&mut turn.results);
                last.blocks.append(&mut turn.blocks);
            }
            _ => turns.push(turn),
        }
    }

    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("max_tokens".into(), json!(max_tokens));
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    body.insert(
        "messages".into(),
        Value::Array(turns.into_iter().map(Turn::into_json).collect()),
    );
    let tools = encode_tools(&request.tools);
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = &request.tool_choice {
            body.insert("tool_choice".into(), encode_tool_choice(choice));
        }
    }
    if let Some(budget) = budget {
        body.insert("thinking".into(), json!({"type": "enabled", "budget_tokens": budget}));
    }
    let sampling = &request.sampling;
    // Thinking forbids changing temperature and top_k, and narrows top_p.
    if let Some(temperature) = sampling.temperature.filter(|_| budget.is_none()) {
        body.insert("temperature".into(), json!(temperature));
    }
    if let Some(top_p) = sampling
        .top_p
        .filter(|top_p| budget.is_none() || *top_p >= MIN_TOP_P_WITH_THINKING)
    {
        body.insert("top_p".into(), json!(top_p));
    }
    if let Some(top_k) = sampling.top_k.filter(|_| budget.is_none()) {
        body.insert("top_k".into(), json!(top_k));
    }
    if !sampling.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(sampling.stop));
    }
    if let Some(key) = &request.session_key {
        body.insert("metadata".into(), json!({"user_id": key}));
    }
    if request.stream {
        body.insert("stream".into(), json!(true));
    }
    Value::Object(body)
}

/// The thinking budget to send, if thinking is to be enabled at all.
fn thinking_budget(request: &ChatRequest) -> Option<u32> {
    let config = request.reasoning.as_ref()?;
    if config.effort == Some(ReasoningEffort::None) || config.budget_tokens == Some(0) {
        return None;
    }
    // Anthropic refuses thinking while tool use is forced; the forced call is
    // what the client cannot do without.
    if !request.tools.is_empty()
        && matches!(
            request.tool_choice,
            Some(ToolChoice::Required | ToolChoice::Function(_))
        )
    {
        return None;
    }
    // With thinking on, Anthropic wants the turn that called tools to open
    // with its signed thinking; a history from another upstream has none.
    let last_assistant = request
        .messages
        .iter()
        .rev()
        .find(|message| message.role == Role::Assistant);
    if let Some(turn) = last_assistant {
        let called = turn.content.iter().any(|part| matches!(part, Part::ToolCall(_)));
        let replayable = turn.content.iter().any(|part| match part {
            Part::Reasoning(reasoning) => {
                reasoning.signature.as_deref().is_some_and(|sig| !sig.is_empty()) || reasoning.redacted.is_some()
            }
            _ => false,
        });
        if called && !replayable {
            return None;
        }
    }
    match config.budget_tokens {
        Some(budget) => Some(budget.max(MIN_THINKING_BUDGET)),
        None if config.effort.is_none() && !config.include_thoughts => None,
        None => effort_budget(config.effort),
    }
}

/// One Anthropic turn being assembled. Tool results are kept apart because
/// Anthropic wants them before anything else in a user turn.
struct Turn {
    role: Role,
    results: Vec<Value>,
    blocks: Vec<Value>,
}

impl Turn {
    fn into_json(mut self) -> Value {
        let role = if self.role == Role::Assistant {
            "assistant"
        } else {
            "user"
        };
        self.results.append(&mut self.blocks);
        json!({"role": role, "content": self.results})
    }
}

/// A text or media part as a block; `None` for empty text, which Anthropic
/// rejects, and for parts of other kinds.
fn content_block(part: &Part) -> Option<Value> {
    match part {
        Part::Text(text) if !text.is_empty() => Some(text_block(text)),
        Part::Image(image) => Some(media_block(image)),
        _ => None,
    }
}

fn encode_part(part: &Part, turn: &mut Turn) {
    match part {
        Part::Text(_) | Part::Image(_) => turn.blocks.extend(content_block(part)),
        Part::ToolCall(call) => turn.blocks.push(json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.name,
            "input": arguments_object(&call.arguments),
        })),
        Part::ToolResult(result) => {
            let mut block = Map::new();
            block.insert("type".into(), json!("tool_result"));
            block.insert("tool_use_id".into(), json!(result.call_id));
            let content: Vec<Value> = result.content.iter().filter_map(content_block).collect();
            if !content.is_empty() {
                block.insert("content".into(), Value::Array(content));
            }
            if result.is_error {
                block.insert("is_error".into(), json!(true));
            }
            turn.results.push(Value::Object(block));
        }
        // Thinking belongs to assistant turns only.
        Part::Reasoning(reasoning) if turn.role == Role::Assistant => {
            match (&reasoning.signature, &reasoning.redacted) {
                (Some(signature), _) if !signature.is_empty() => turn.blocks.push(json!({
                    "type": "thinking",
                    "thinking": reasoning.text,
                    "signature": signature,
                })),
                (_, Some(data)) => turn.blocks.push(json!({"type": "redacted_thinking", "data": data})),
                _ => {}
            }
        }
        Part::Reasoning(_) => {}
    }
}

fn encode_tools(tools: &[Tool]) -> Vec<Value> {
    let mut out = Vec::with_capacity(tools.len());
    let mut web_search = false;
    for tool in tools {
        match tool {
            Tool::Function(function) => {
                let mut entry = Map::new();
                entry.insert("name".into(), json!(function.name));
                if let Some(description) = &function.description {
                    entry.insert("description".into(), json!(description));
                }
                // Anthropic requires an object schema; OpenAI functions may
                // declare no parameters at all.
                let schema = if function.parameters.is_object() {
                    function.parameters.clone()
                } else {
                    json!({"type": "object", "properties": {}})
                };
                entry.insert("input_schema".into(), schema);
                out.push(Value::Object(entry));
            }
            Tool::WebSearch if !web_search => {
                web_search = true;
                out.push(json!({"type": "web_search_20250305", "name": "web_search"}));
            }
            Tool::WebSearch => {}
        }
    }
    out
}

fn encode_tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!({"type": "auto"}),
        ToolChoice::None => json!({"type": "none"}),
        ToolChoice::Required => json!({"type": "any"}),
        ToolChoice::Function(name) => json!({"type": "tool", "name": name}),
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "request_encode_tests.rs"]
mod encode_tests;
