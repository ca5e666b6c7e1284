//! The library's own representation of a conversation.
//!
//! Every wire format is decoded into these types and encoded out of them, so
//! that a client of any protocol reaches an upstream of any protocol through
//! one model instead of nine pairwise translations.
//!
//! Conventions every codec follows:
//! - Tool-call arguments are kept as JSON *text* (what the wire formats carry
//!   while streaming); codecs that need an object parse it when encoding.
//! - Tool results travel inside a `User` message, as in Anthropic and Gemini;
//!   the OpenAI codec splits them into `tool` messages when encoding.
//! - `Usage::input_tokens` includes cached tokens and `output_tokens` includes
//!   reasoning tokens (the OpenAI convention); the subsets are separate fields.

use serde_json::Value;

/// A request for one model turn, whatever protocol it arrived in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// The model name as the client asked for it (aliases not yet resolved).
    pub model: String,
    /// System instructions, one entry per block, in order.
    pub system: Vec<String>,
    /// The conversation, oldest first.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    pub tools: Vec<Tool>,
    /// How the model may use the tools; `None` leaves it to the upstream's default.
    pub tool_choice: Option<ToolChoice>,
    /// Sampling and length parameters.
    pub sampling: Sampling,
    /// Reasoning ("thinking") configuration, when the client asked for any.
    pub reasoning: Option<ReasoningConfig>,
    /// Requested output format (JSON mode / JSON schema).
    pub response_format: Option<ResponseFormat>,
    /// Whether the client wants a stream.
    pub stream: bool,
    /// OpenAI `stream_options.include_usage`: the client wants a usage chunk.
    /// Other protocols always carry usage in their streams.
    pub stream_include_usage: bool,
    /// A conversation identifier found in the body (OpenAI `user` /
    /// `prompt_cache_key`, Anthropic `metadata.user_id`), used to keep a
    /// conversation on one account.
    pub session_key: Option<String>,
}

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Role {
    /// A system message in the middle of the conversation (OpenAI
    /// `system`/`developer` after the first turn, Claude Code's `system`-role
    /// entries). Codecs without such a role fold it into the system instructions.
    System,
    /// The user, including tool results.
    User,
    /// The model.
    Assistant,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said, in order.
    pub content: Vec<Part>,
}

impl Message {
    /// A message holding a single text part.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Message {
            role,
            content: vec![Part::Text(text.into())],
        }
    }
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Part {
    /// Plain text.
    Text(String),
    /// An image (or other inline media), by value or by URL.
    Image(Image),
    /// A call the model made to a tool.
    ToolCall(ToolCall),
    /// The result of a tool call, sent back by the client.
    ToolResult(ToolResult),
    /// The model's reasoning, with the opaque signature that lets it be
    /// replayed to the upstream that produced it.
    Reasoning(Reasoning),
}

/// Inline media or a link to it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Image {
    /// Base64 data with its MIME type (`image/png`, ...).
    Base64 {
        /// MIME type of the decoded data.
        media_type: String,
        /// Base64 (standard alphabet) of the bytes.
        data: String,
    },
    /// An `http(s):` URL the upstream fetches itself.
    Url(String),
}

/// A tool call made by the model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToolCall {
    /// Identifier that the matching [`ToolResult::call_id`] refers to.
    pub id: String,
    /// Name of the called function.
    pub name: String,
    /// Arguments as JSON text (an object, possibly `{}`).
    pub arguments: String,
    /// Opaque reasoning signature attached to the call (Gemini `thoughtSignature`).
    pub signature: Option<String>,
}

/// The client's answer to a tool call.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToolResult {
    /// The [`ToolCall::id`] this answers.
    pub call_id: String,
    /// The function name, when the wire format carries it (Gemini needs it;
    /// encoders look it up from the matching call when absent).
    pub name: Option<String>,
    /// The result: text and images.
    pub content: Vec<Part>,
    /// Whether the tool reported an error.
    pub is_error: bool,
}

/// Reasoning content produced by the model.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reasoning {
    /// Readable reasoning text (may be empty when only a signature exists).
    pub text: String,
    /// Opaque signature proving the text came from the upstream (Anthropic
    /// `signature`, Gemini `thoughtSignature`).
    pub signature: Option<String>,
    /// Encrypted reasoning with no readable text (Anthropic
    /// `redacted_thinking.data`, OpenAI `encrypted_content`).
    pub redacted: Option<String>,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub enum Tool {
    /// A function declared by the client.
    Function(FunctionTool),
    /// The upstream's own web search, where it has one.
    WebSearch,
}

/// A client-declared function.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionTool {
    /// Function name.
    pub name: String,
    /// What it does, for the model.
    pub description: Option<String>,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

/// How the model may use tools.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call.
    Required,
    /// This function must be called.
    Function(String),
}

/// Sampling and length parameters. `None` means "the upstream's default".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sampling {
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Nucleus sampling mass.
    pub top_p: Option<f64>,
    /// Top-k sampling (Anthropic, Gemini).
    pub top_k: Option<u32>,
    /// Maximum number of output tokens.
    pub max_output_tokens: Option<u32>,
    /// Stop sequences.
    pub stop: Vec<String>,
    /// Presence penalty (OpenAI, Gemini).
    pub presence_penalty: Option<f64>,
    /// Frequency penalty (OpenAI, Gemini).
    pub frequency_penalty: Option<f64>,
    /// Random seed (OpenAI, Gemini).
    pub seed: Option<i64>,
}

/// Reasoning effort, in OpenAI's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningEffort {
    /// No reasoning at all.
    None,
    /// The least reasoning the model supports.
    Minimal,
    /// Little reasoning.
    Low,
    /// Default reasoning.
    Medium,
    /// Much reasoning.
    High,
}

/// What the client asked for in the way of reasoning.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReasoningConfig {
    /// OpenAI-style effort.
    pub effort: Option<ReasoningEffort>,
    /// Anthropic/Gemini-style token budget.
    pub budget_tokens: Option<u32>,
    /// Whether reasoning text should be returned to the client.
    pub include_thoughts: bool,
}

/// Structured-output request.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    /// Any JSON object.
    JsonObject,
    /// JSON matching a schema.
    JsonSchema {
        /// Schema name (OpenAI requires one).
        name: String,
        /// The JSON Schema.
        schema: Value,
    },
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// A natural end of turn.
    Stop,
    /// A stop sequence matched.
    StopSequence,
    /// The output-token limit was reached.
    Length,
    /// The model called one or more tools.
    ToolCalls,
    /// Output was withheld by a safety filter.
    ContentFilter,
    /// Anything else, as the upstream named it.
    Other(String),
}

/// Token accounting. See the module docs for what each count includes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Generated tokens, reasoning included.
    pub output_tokens: u64,
    /// Prompt tokens served from a cache (subset of `input_tokens`).
    pub cached_input_tokens: u64,
    /// Tokens written to a cache (Anthropic `cache_creation_input_tokens`;
    /// subset of `input_tokens`).
    pub cache_creation_input_tokens: u64,
    /// Reasoning tokens (subset of `output_tokens`).
    pub reasoning_tokens: u64,
}

/// A complete, non-streamed model turn.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    /// The model that produced it, as the upstream reported it.
    pub model: String,
    /// The turn's content in order.
    pub content: Vec<Part>,
    /// Why generation stopped.
    pub finish_reason: FinishReason,
    /// Token accounting.
    pub usage: Usage,
}

/// What an encoder needs to know about the response that the model does not
/// carry: it is chosen by the gateway, not by the upstream, so that ids have
/// the shape each client expects and codecs need no clock or randomness.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseMeta {
    /// Unique token (letters and digits) from which protocol-shaped ids are made
    /// (`chatcmpl-…`, `msg_…`, `resp_…`, tool-call ids when the upstream gives none).
    pub id: String,
    /// Model name to report to the client (the one it asked for).
    pub model: String,
    /// Creation time, seconds since the Unix epoch.
    pub created: u64,
}

impl ResponseMeta {
    /// A tool-call id for the `n`th call of this response, for upstreams that
    /// do not name their calls (Gemini).
    pub fn tool_call_id(&self, n: usize) -> String {
        format!("call_{}_{}", self.id, n)
    }
}
