//! The neutral form the matrix tests speak: what a client asks (built into
//! each protocol's request by `clients`), what an upstream answers (rendered
//! in each provider's wire format by `upstreams`), and what the client and
//! the upstream are found to have got, read back into the same form so that
//! one expectation serves all nine client × upstream pairs.

pub use mock_upstream::canned::{ANSWER, Canned, CannedCall, Finish, USAGE, Usage};
use serde_json::{Value, json};

/// A tool call, as a client replays it or as an answer carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `None` where the wire carried no id (the Gemini API names no calls).
    pub id: Option<String>,
    /// The function called.
    pub name: String,
    /// The arguments, parsed.
    pub args: Value,
}

/// One turn of the conversation a client sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    /// The user says something.
    User(String),
    /// The model said something.
    Assistant(String),
    /// The model called tools, in one turn.
    Calls(Vec<Call>),
    /// The client answers the calls, in one turn.
    Results(Vec<ToolOutput>),
}

/// The client's answer to one call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// The call answered.
    pub id: Option<String>,
    /// Its function.
    pub name: String,
    /// The tool's output (an object; sent as JSON text where the protocol wants text).
    pub output: Value,
}

impl ToolOutput {
    /// `output` as the answer to `call`.
    pub fn to(call: &Call, output: Value) -> ToolOutput {
        ToolOutput {
            id: call.id.clone(),
            name: call.name.clone(),
            output,
        }
    }
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDecl {
    pub name: String,
    pub description: String,
    /// JSON Schema, with lower-case type names.
    pub parameters: Value,
}

/// What a client asks.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    pub model: String,
    pub system: Option<String>,
    pub turns: Vec<Turn>,
    pub tools: Vec<ToolDecl>,
    pub max_tokens: Option<u32>,
    pub stop: Vec<String>,
    pub stream: bool,
}

impl Ask {
    /// A one-line question to `model`.
    pub fn new(model: &str, question: &str) -> Ask {
        Ask {
            model: model.to_string(),
            turns: vec![Turn::User(question.to_string())],
            ..Ask::default()
        }
    }

    /// The question every protocol can ask: `model`, say hello.
    pub fn hello(model: &str, stream: bool) -> Ask {
        Ask::new(model, "Say hello.").streamed(stream)
    }

    /// The same request, streamed or not.
    pub fn streamed(mut self, stream: bool) -> Ask {
        self.stream = stream;
        self
    }
}

/// What a client got.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    /// All visible text, joined.
    pub text: String,
    pub calls: Vec<Call>,
    pub finish: Option<Finish>,
    pub usage: Option<Usage>,
    /// The model the answer names.
    pub model: Option<String>,
}

/// An error as the client saw it: an HTTP error body or a stream's error event.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientError {
    /// The HTTP status, or the status the error event carries (Gemini's `code`).
    pub status: Option<u16>,
    /// The protocol's error type (`rate_limit_error`, `RESOURCE_EXHAUSTED`, ...).
    pub kind: String,
    pub message: String,
}

/// The weather tool every tool scenario declares.
pub fn weather_tool() -> ToolDecl {
    ToolDecl {
        name: "get_weather".into(),
        description: "Current weather in a city".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
            },
            "required": ["city"]
        }),
    }
}

/// The arguments of the canned weather call, parsed.
pub fn weather_args() -> Value {
    json!({"city": "Paris", "unit": "celsius"})
}

/// What the weather tool returns.
pub fn weather_output() -> Value {
    json!({"temperature_c": 22, "sky": "clear"})
}

/// Who said a message an upstream received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

/// One piece of a message an upstream received.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Text(String),
    Call(Call),
    Result {
        id: Option<String>,
        /// Only Gemini names the function in a result.
        name: Option<String>,
        /// The output, parsed when it is JSON text.
        output: Value,
    },
}

/// One message an upstream received (neighbours of one role merged, tool
/// results counted as the user's).
#[derive(Debug, Clone, PartialEq)]
pub struct Msg {
    pub role: Role,
    pub items: Vec<Item>,
}

impl Msg {
    pub fn user(text: &str) -> Msg {
        Msg {
            role: Role::User,
            items: vec![Item::Text(text.to_string())],
        }
    }

    pub fn assistant(text: &str) -> Msg {
        Msg {
            role: Role::Assistant,
            items: vec![Item::Text(text.to_string())],
        }
    }
}

/// What an upstream received, read from its wire format.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The model named (in the body, or in Gemini's URL).
    pub model: String,
    pub stream: bool,
    /// The credential the gateway presented in the provider's own header.
    pub key: String,
    pub system: Vec<String>,
    pub messages: Vec<Msg>,
    pub tools: Vec<ToolDecl>,
    pub max_tokens: Option<u64>,
    pub stop: Vec<String>,
}

/// Appends `msg`, merging it into the previous message of the same role.
pub fn push_merged(messages: &mut Vec<Msg>, msg: Msg) {
    if msg.items.is_empty() {
        return;
    }
    match messages.last_mut() {
        Some(last) if last.role == msg.role => last.items.extend(msg.items),
        _ => messages.push(msg),
    }
}

/// JSON text parsed, or the text itself as a JSON string.
pub fn json_or_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}
