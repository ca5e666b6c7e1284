//! Canned answers for tests that script an upstream: what it answers (text
//! pieces, tool calls in fragments, a finish reason, usage), independent of
//! the wire format. [`crate::shapes`] renders one in a provider's format.

/// The three upstream wire formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// OpenAI Chat Completions.
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// Gemini `generateContent` / `streamGenerateContent`.
    Gemini,
}

/// Why the model stopped, in words every protocol can be read into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// A natural stop.
    Stop,
    /// Only Anthropic tells a stop sequence from a natural stop.
    StopSequence,
    /// The token limit.
    Length,
    /// The model called tools.
    ToolCalls,
    /// A safety filter.
    ContentFilter,
    /// Another reason, as the wire named it.
    Other(String),
}

/// Token counts: `input` includes `cached`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input: u64,
    /// Answer tokens.
    pub output: u64,
    /// Prompt tokens read from a cache.
    pub cached: u64,
}

/// What an upstream answers: text pieces (one stream chunk each), then
/// tool calls whose arguments stream in fragments.
#[derive(Debug, Clone)]
pub struct Canned {
    /// Text pieces, one stream chunk each.
    pub text: Vec<&'static str>,
    /// Tool calls, after the text.
    pub calls: Vec<CannedCall>,
    /// Why it stopped.
    pub finish: Finish,
    /// The usage it reports.
    pub usage: Usage,
}

/// A tool call the upstream makes; each provider gives it an id of its own style.
#[derive(Debug, Clone)]
pub struct CannedCall {
    /// The function called.
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
