//! What is measured: each client→upstream path as a request through the
//! gateway and the equivalent request straight to the mock.
//!
//! "Direct" is the request the gateway itself sends upstream for that path
//! (for a translated path, the Gemini request), so that gateway minus direct
//! is what the gateway adds: its parsing, translation, routing and the extra
//! loopback hop.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::load::Target;
use crate::procs::MOCK_KEY;
use crate::streams::Wire;

/// A system prompt of about a kilobyte, as agents send.
const SYSTEM: &str = "You are a careful assistant working inside a developer's editor. Answer briefly and precisely. \
    When you show code, show only the lines that change and say which file they belong to. Prefer the standard \
    library; name any crate you add and say why. Never invent an API: if you are not sure a function exists, say so. \
    Keep explanations to the point, in plain words, and end with the next step the user should take. When the user \
    asks for a review, list problems by severity, each with the line it concerns and a fix. When asked about \
    performance, ask for a measurement before guessing, and explain what to measure and with which tool. Do not \
    repeat the question back. Do not apologise. If the request is ambiguous, state the assumption you make and go \
    on. Format lists with hyphens and code with fenced blocks that name the language.";

/// The question: its words come back in the mock's answer.
const PROMPT: &str = "Summarise in one line what a local LLM gateway does for a team of developers.";

/// One client→upstream path.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Short key for results (`openai_to_openai`).
    pub key: &'static str,
    /// Human label (`OpenAI → openai (passthrough)`).
    pub label: &'static str,
    /// The request through the gateway.
    pub gateway: Arc<Target>,
    /// The same request straight to the mock, in the upstream's protocol.
    pub direct: Arc<Target>,
}

/// A streaming path: as [`Scenario`], plus what the streams must carry.
#[derive(Debug, Clone)]
pub struct StreamScenario {
    /// Short key for results.
    pub key: &'static str,
    /// Human label.
    pub label: &'static str,
    /// Through the gateway, and the wire the client reads.
    pub gateway: (Arc<Target>, Wire),
    /// Straight to the mock, and the wire it answers in.
    pub direct: (Arc<Target>, Wire),
    /// The answer text both must carry.
    pub expected_text: String,
}

/// Which mock a model name reaches through the gateway: `gpt-*` and
/// `gemini-*` go to the zero-latency mock, `stream-*` to the one that spaces
/// its stream events.
pub const FAST_OPENAI_MODEL: &str = "gpt-4o-mini";
/// The Gemini model on the zero-latency mock.
pub const FAST_GEMINI_MODEL: &str = "gemini-2.5-flash";
/// The OpenAI model on the pacing mock.
pub const STREAM_OPENAI_MODEL: &str = "stream-gpt-4o-mini";
/// The Gemini model on the pacing mock.
pub const STREAM_GEMINI_MODEL: &str = "stream-gemini-2.5-flash";

fn header(name: &'static str, value: &str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::from_str(value).expect("a valid header value"),
    )
}

fn target(addr: SocketAddr, path: String, headers: Vec<(HeaderName, HeaderValue)>, body: Value) -> Arc<Target> {
    Arc::new(Target {
        addr,
        path,
        headers,
        body: Bytes::from(body.to_string()),
    })
}

fn openai_body(model: &str, stream: bool) -> Value {
    let mut body = json!({
        "model": model,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}],
        "max_tokens": 256,
        "temperature": 0.2,
    });
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

fn anthropic_body(model: &str, stream: bool) -> Value {
    let mut body = json!({
        "model": model,
        "max_tokens": 256,
        "temperature": 0.2,
        "system": SYSTEM,
        "messages": [{"role": "user", "content": PROMPT}],
    });
    if stream {
        body["stream"] = json!(true);
    }
    body
}

fn gemini_body() -> Value {
    json!({
        "systemInstruction": {"parts": [{"text": SYSTEM}]},
        "contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
        "generationConfig": {"maxOutputTokens": 256, "temperature": 0.2},
    })
}

fn openai_headers() -> Vec<(HeaderName, HeaderValue)> {
    vec![header("authorization", &format!("Bearer {MOCK_KEY}"))]
}

fn anthropic_headers() -> Vec<(HeaderName, HeaderValue)> {
    vec![header("x-api-key", MOCK_KEY), header("anthropic-version", "2023-06-01")]
}

fn gemini_headers() -> Vec<(HeaderName, HeaderValue)> {
    vec![header("x-goog-api-key", MOCK_KEY)]
}

fn gemini_path(model: &str, stream: bool) -> String {
    if stream {
        format!("/v1beta/models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("/v1beta/models/{model}:generateContent")
    }
}

/// The three non-streamed paths of the issue.
pub fn complete(gateway: SocketAddr, mock: SocketAddr) -> Vec<Scenario> {
    vec![
        Scenario {
            key: "openai_to_openai",
            label: "OpenAI → openai (passthrough)",
            gateway: target(
                gateway,
                "/v1/chat/completions".into(),
                openai_headers(),
                openai_body(FAST_OPENAI_MODEL, false),
            ),
            direct: target(
                mock,
                "/v1/chat/completions".into(),
                openai_headers(),
                openai_body(FAST_OPENAI_MODEL, false),
            ),
        },
        Scenario {
            key: "openai_to_gemini",
            label: "OpenAI → gemini (translated)",
            gateway: target(
                gateway,
                "/v1/chat/completions".into(),
                openai_headers(),
                openai_body(FAST_GEMINI_MODEL, false),
            ),
            direct: target(
                mock,
                gemini_path(FAST_GEMINI_MODEL, false),
                gemini_headers(),
                gemini_body(),
            ),
        },
        Scenario {
            key: "anthropic_to_gemini",
            label: "Anthropic → gemini (translated)",
            gateway: target(
                gateway,
                "/v1/messages".into(),
                anthropic_headers(),
                anthropic_body(FAST_GEMINI_MODEL, false),
            ),
            direct: target(
                mock,
                gemini_path(FAST_GEMINI_MODEL, false),
                gemini_headers(),
                gemini_body(),
            ),
        },
    ]
}

/// The streamed paths, against the pacing mock.
pub fn streamed(gateway: SocketAddr, mock: SocketAddr) -> Vec<StreamScenario> {
    let echo = |wire: &str, model: &str| format!("echo: {PROMPT} [mock {wire} {model}]");
    // Both translated paths are compared with the same Gemini stream, direct.
    let gemini_direct = || {
        (
            target(
                mock,
                gemini_path(STREAM_GEMINI_MODEL, true),
                gemini_headers(),
                gemini_body(),
            ),
            Wire::Gemini,
        )
    };
    vec![
        StreamScenario {
            key: "openai_to_openai",
            label: "OpenAI → openai (passthrough)",
            gateway: (
                target(
                    gateway,
                    "/v1/chat/completions".into(),
                    openai_headers(),
                    openai_body(STREAM_OPENAI_MODEL, true),
                ),
                Wire::OpenAi,
            ),
            direct: (
                target(
                    mock,
                    "/v1/chat/completions".into(),
                    openai_headers(),
                    openai_body(STREAM_OPENAI_MODEL, true),
                ),
                Wire::OpenAi,
            ),
            expected_text: echo("openai", STREAM_OPENAI_MODEL),
        },
        StreamScenario {
            key: "openai_to_gemini",
            label: "OpenAI → gemini (translated)",
            gateway: (
                target(
                    gateway,
                    "/v1/chat/completions".into(),
                    openai_headers(),
                    openai_body(STREAM_GEMINI_MODEL, true),
                ),
                Wire::OpenAi,
            ),
            direct: gemini_direct(),
            expected_text: echo("gemini", STREAM_GEMINI_MODEL),
        },
        StreamScenario {
            key: "anthropic_to_gemini",
            label: "Anthropic → gemini (translated)",
            gateway: (
                target(
                    gateway,
                    "/v1/messages".into(),
                    anthropic_headers(),
                    anthropic_body(STREAM_GEMINI_MODEL, true),
                ),
                Wire::Anthropic,
            ),
            direct: gemini_direct(),
            expected_text: echo("gemini", STREAM_GEMINI_MODEL),
        },
    ]
}

/// LiteLLM's master key in the benchmark (it refuses to start without one).
pub const LITELLM_KEY: &str = "sk-litellm-bench-7f3a9c2e5b1d48f6a0c9e2b7d4f1a8c3";

/// The passthrough request through LiteLLM's proxy (OpenAI-compatible) at `addr`.
pub fn litellm(addr: SocketAddr) -> Arc<Target> {
    target(
        addr,
        "/v1/chat/completions".into(),
        vec![header("authorization", &format!("Bearer {LITELLM_KEY}"))],
        openai_body(FAST_OPENAI_MODEL, false),
    )
}
