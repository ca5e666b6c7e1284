//! The neutral form the matrix tests speak: what a client asks (built into
//! each protocol's request by `clients`), what an upstream answers (rendered
//! in each provider's wire format by `upstreams`), and what the client and
//! the upstream are found to have got, read back into the same form so that
//! one expectation serves all nine client × upstream pairs.

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

/// Why the model stopped, in words every protocol can be read into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Stop,
    /// Only Anthropic tells a stop sequence from a natural stop.
    StopSequence,
    Length,
    ToolCalls,
    ContentFilter,
    Other(String),
}

/// Token counts: `input` includes `cached`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cached: u64,
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

/// What an upstream answers: text pieces (one stream chunk each), then
/// tool calls whose arguments stream in fragments.
#[derive(Debug, Clone)]
pub struct Canned {
    pub text: Vec<&'static str>,
    pub calls: Vec<CannedCall>,
    pub finish: Finish,
    pub usage: Usage,
}

/// A tool call the upstream makes; each provider gives it an id of its own style.
#[derive(Debug, Clone)]
pub struct CannedCall {
    pub name: &'static str,
    /// The arguments' JSON text, cut where the stream cuts it.
    pub fragments: Vec<String>,
}

impl CannedCall {
    /// The complete arguments text.
    pub fn arguments(&self) -> String {
        self.fragments.concat()
    }
}

/// The usage every canned answer reports.
pub const USAGE: Usage = Usage {
    input: 31,
    output: 9,
    cached: 12,
};

/// The text answer, with non-ASCII text so that a stream cut inside a UTF-8
/// sequence is noticed.
pub const ANSWER: [&str; 3] = ["Bonjour ! ", "Il fait 22 °C ", "à Paris."];

impl Canned {
    /// A text answer that stopped for `finish`.
    pub fn text(finish: Finish) -> Canned {
        Canned {
            text: ANSWER.to_vec(),
            calls: Vec::new(),
            finish,
            usage: USAGE,
        }
    }

    /// A call to the weather tool, its arguments in four fragments.
    pub fn weather_call() -> Canned {
        Canned {
            text: Vec::new(),
            calls: vec![CannedCall {
                name: "get_weather",
                fragments: strings(&["{\"ci", "ty\": \"Pa", "ris\", \"unit\"", ": \"celsius\"}"]),
            }],
            finish: Finish::ToolCalls,
            usage: USAGE,
        }
    }

    /// Two calls to the weather tool in one turn, for Paris then Rome.
    pub fn two_weather_calls() -> Canned {
        let mut canned = Canned::weather_call();
        canned.calls.push(CannedCall {
            name: "get_weather",
            fragments: strings(&["{\"city\": \"Ro", "me\", \"unit\": \"cel", "sius\"}"]),
        });
        canned
    }

    /// The text the client should end up with.
    pub fn joined_text(&self) -> String {
        self.text.concat()
    }
}

fn strings(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|text| text.to_string()).collect()
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
