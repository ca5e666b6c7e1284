//! A mock upstream that speaks the OpenAI, Anthropic and Gemini wire formats
//! on one port, for Switchyard's end-to-end tests and benchmarks.
//!
//! ```text
//! cargo run --example mock_upstream -- [--port N] [--latency-ms MS] [--chunk-delay-ms MS] [--stream-pieces N] [--api-key KEY] [--no-tool-calls]
//! ```
//!
//! | route | answers as |
//! | --- | --- |
//! | `POST /v1/chat/completions` | OpenAI Chat Completions (account base URL `http://127.0.0.1:PORT/v1`) |
//! | `POST /v1/messages` | Anthropic Messages (base URL `http://127.0.0.1:PORT`) |
//! | `POST /v1beta/models/{m}:generateContent`, `:streamGenerateContent[?alt=sse]` | Gemini |
//! | `POST /v1/messages/count_tokens` | Anthropic token count `{"input_tokens": N}` |
//! | `POST /v1beta/models/{m}:countTokens` | Gemini token count `{"totalTokens": N}` |
//! | `GET /v1/models`, `GET /v1beta/models` | model lists ([`model_list`]): OpenAI's, Anthropic's (with `anthropic-version`), Gemini's |
//! | `GET /healthz` | `{"status":"ok"}` |
//! | `GET /_mock/requests` | `{"requests": N}`: how many requests (this one aside) it has received |
//!
//! Answers are canned but real-shaped, complete or streamed (several events,
//! usage, finish reason):
//! - the text answer is `echo: <last user text> [mock <provider> <model>]`,
//!   naming the wire format and the model it was asked for, so that a test
//!   through a gateway can tell where its request went;
//! - when the request declares tools and its last message is not a tool
//!   result, the answer is a call of the first declared tool whose arguments
//!   hold the last user text in the tool's first parameter (streamed in
//!   fragments for OpenAI and Anthropic, whole for Gemini, as the real APIs do);
//! - when the last message carries a tool result, the answer is
//!   `tool result: <the result's text> · echo: <last user text> [mock ...]`;
//! - with `--no-tool-calls` the answer is text whatever tools the request
//!   declares: a coding agent (Claude Code, Codex) declares dozens of tools
//!   and must get a plain answer to finish its turn;
//! - in any mode, a last user text that contains `[call NAME {JSON}]` gets a
//!   call of tool NAME with those arguments, so that a test can make an agent
//!   run a chosen tool and send its result back;
//! - Gemini function calls carry a `thoughtSignature`, and a request whose
//!   model turn holds a function call without that signature is refused with
//!   a 400, as Gemini 3 refuses one (stricter than Gemini, which also takes
//!   its documented placeholder: a lost signature must not go unnoticed);
//! - when a request asks for thinking (Anthropic `thinking` enabled or
//!   adaptive, Gemini `thinkingConfig.includeThoughts`), the answer opens
//!   with a signed thought ([`MOCK_THOUGHT`]); an Anthropic request with
//!   thinking on must open its last assistant turn that called a tool with
//!   that signed thinking block, and any thinking block must carry the
//!   mock's signature, as Anthropic checks (else a 400 in its words);
//! - a count is `1000 +` the number of words in the request's `text` fields
//!   (system, messages, `contents` or `generateContentRequest`), so that a
//!   test can tell the upstream's count from a gateway's local estimate.
//!
//! Each request must carry the provider's own credential header
//! (`Authorization: Bearer`, `x-api-key` + `anthropic-version`,
//! `x-goog-api-key`); with `--api-key` it must also match. Errors come back in
//! the provider's error shape and status.
//!
//! `--port 0` picks a free port; the first line on stdout is always
//! `listening on 127.0.0.1:PORT`. `--latency-ms` delays every response's
//! headers; `--chunk-delay-ms` spaces a stream's events; `--stream-pieces`
//! (default 3) is how many text events a streamed text answer is split into,
//! so that a benchmark can hold streams open longer. With both delays at 0 (the
//! default) the mock is a zero-latency upstream for benchmarks: a request is
//! parsed once and the answer is written from canned templates.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::stream;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Command-line options.
#[derive(Debug, Clone, Default, PartialEq)]
struct Options {
    /// Port on 127.0.0.1; 0 picks a free one.
    port: u16,
    /// Delay before every response's headers.
    latency: Duration,
    /// Delay between a stream's events.
    chunk_delay: Duration,
    /// When set, the only credential accepted.
    api_key: Option<String>,
    /// Answer with text even when the request declares tools.
    no_tool_calls: bool,
    /// Text events of a streamed text answer (0: the default, 3).
    stream_pieces: usize,
}

/// Text events of a streamed text answer; set once at start from
/// `--stream-pieces` (a process-wide setting, like the port).
static STREAM_PIECES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(3);

fn stream_pieces() -> usize {
    STREAM_PIECES.load(Ordering::Relaxed)
}

const USAGE: &str = "usage: mock_upstream [--port N] [--latency-ms MS] [--chunk-delay-ms MS] [--stream-pieces N] [--api-key KEY] \
                     [--no-tool-calls]";

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        if name == "--help" || name == "-h" {
            return Err(USAGE.to_string());
        }
        if name == "--no-tool-calls" && inline.is_none() {
            options.no_tool_calls = true;
            continue;
        }
        let value = match inline.or_else(|| args.next()) {
            Some(value) => value,
            None => return Err(format!("{name} needs a value\n{USAGE}")),
        };
        let number = |value: &str| -> Result<u64, String> {
            value
                .parse::<u64>()
                .map_err(|_| format!("{name}: `{value}` is not a number\n{USAGE}"))
        };
        match name.as_str() {
            "--port" => {
                options.port = u16::try_from(number(&value)?).map_err(|_| format!("--port: {value} is too large"))?
            }
            "--latency-ms" => options.latency = Duration::from_millis(number(&value)?),
            "--chunk-delay-ms" => options.chunk_delay = Duration::from_millis(number(&value)?),
            "--api-key" => options.api_key = Some(value),
            "--stream-pieces" => match number(&value)? {
                0 => return Err(format!("--stream-pieces: must be at least 1\n{USAGE}")),
                n => {
                    options.stream_pieces =
                        usize::try_from(n).map_err(|_| format!("--stream-pieces: {value} is too large"))?
                }
            },
            _ => return Err(format!("unknown option `{name}`\n{USAGE}")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if options.stream_pieces > 0 {
        STREAM_PIECES.store(options.stream_pieces, Ordering::Relaxed);
    }
    let listener = match TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], options.port))).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("mock_upstream: cannot listen on 127.0.0.1:{}: {err}", options.port);
            std::process::exit(1);
        }
    };
    let address = listener.local_addr().expect("a bound listener has an address");
    // Scripts wait for this line to learn the port: flush it at once.
    println!("listening on {address}");
    let _ = std::io::stdout().flush();
    let options = Arc::new(options);
    loop {
        let (socket, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                eprintln!("mock_upstream: accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let options = options.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(request, options.clone()));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Requests received, for tests that must prove nothing reached the upstream.
static RECEIVED: AtomicU64 = AtomicU64::new(0);

async fn handle(request: Request<Incoming>, options: Arc<Options>) -> Result<Response<Body>, Infallible> {
    let (head, body) = request.into_parts();
    if head.uri.path() == "/_mock/requests" {
        let count = RECEIVED.load(Ordering::SeqCst);
        return Ok(Reply::json(StatusCode::OK, format!(r#"{{"requests":{count}}}"#)).into_response(Duration::ZERO));
    }
    RECEIVED.fetch_add(1, Ordering::SeqCst);
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let reply = respond(
        &head.method,
        head.uri.path(),
        head.uri.query().unwrap_or(""),
        &head.headers,
        &body,
        &options,
    );
    if !options.latency.is_zero() {
        tokio::time::sleep(options.latency).await;
    }
    Ok(reply.into_response(options.chunk_delay))
}

/// A complete answer: status, content type and the body in the pieces it is
/// written in (one piece unless streamed).
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    content_type: &'static str,
    chunks: Vec<Bytes>,
}

impl Reply {
    fn json(status: StatusCode, body: String) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            chunks: vec![Bytes::from(body)],
        }
    }

    fn stream(content_type: &'static str, chunks: Vec<String>) -> Reply {
        Reply {
            status: StatusCode::OK,
            content_type,
            chunks: chunks.into_iter().map(Bytes::from).collect(),
        }
    }

    /// The body as one string (tests).
    #[cfg(test)]
    fn text(&self) -> String {
        self.chunks.iter().map(|c| String::from_utf8_lossy(c)).collect()
    }

    fn into_response(self, chunk_delay: Duration) -> Response<Body> {
        let body: Body = if self.chunks.len() == 1 {
            Full::new(self.chunks.into_iter().next().unwrap_or_default()).boxed_unsync()
        } else if chunk_delay.is_zero() {
            let frames = self.chunks.into_iter().map(|chunk| Ok(Frame::data(chunk)));
            StreamBody::new(stream::iter(frames)).boxed_unsync()
        } else {
            let frames = stream::unfold((self.chunks.into_iter(), true), move |(mut chunks, first)| async move {
                let chunk = chunks.next()?;
                if !first {
                    tokio::time::sleep(chunk_delay).await;
                }
                Some((Ok(Frame::data(chunk)), (chunks, false)))
            });
            StreamBody::new(frames).boxed_unsync()
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, http::HeaderValue::from_static(self.content_type));
        if self.content_type == "text/event-stream" {
            headers.insert(header::CACHE_CONTROL, http::HeaderValue::from_static("no-cache"));
        }
        response
    }
}

/// Which wire format a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Wire {
    /// The provider name, as in `switchyard accounts add PROVIDER`.
    fn name(self) -> &'static str {
        match self {
            Wire::OpenAi => "openai",
            Wire::Anthropic => "anthropic",
            Wire::Gemini => "gemini",
        }
    }
}

/// The API a request calls.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    OpenAi,
    Anthropic,
    /// `/v1/messages/count_tokens`.
    AnthropicCount,
    /// The model from the path, and how to answer.
    Gemini(String, GeminiMode),
}

impl Route {
    fn wire(&self) -> Wire {
        match self {
            Route::OpenAi => Wire::OpenAi,
            Route::Anthropic | Route::AnthropicCount => Wire::Anthropic,
            Route::Gemini(..) => Wire::Gemini,
        }
    }
}

/// How a Gemini method is answered: generated (whole or framed as a
/// stream) or counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GeminiMode {
    Complete,
    Sse,
    JsonArray,
    /// `:countTokens`.
    Count,
}

/// Answers one request; pure, so that tests can call it directly.
fn respond(method: &Method, path: &str, query: &str, headers: &HeaderMap, body: &[u8], options: &Options) -> Reply {
    if path == "/healthz" && method == Method::GET {
        return Reply::json(StatusCode::OK, r#"{"status":"ok"}"#.to_string());
    }
    if let Some(list) = model_list(method, path, headers, options) {
        return list;
    }
    let route = match path {
        "/v1/chat/completions" => Route::OpenAi,
        "/v1/messages" => Route::Anthropic,
        "/v1/messages/count_tokens" => Route::AnthropicCount,
        _ => match gemini_route(path, query) {
            Some((model, mode)) => Route::Gemini(model, mode),
            None => {
                return error(
                    Wire::OpenAi,
                    StatusCode::NOT_FOUND,
                    &format!("mock_upstream has no route `{method} {path}`"),
                );
            }
        },
    };
    let wire = route.wire();
    if method != Method::POST {
        return error(wire, StatusCode::METHOD_NOT_ALLOWED, &format!("`{path}` takes POST"));
    }
    if let Some(denied) = check_credentials(wire, headers, options.api_key.as_deref()) {
        return denied;
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(err) => return error(wire, StatusCode::BAD_REQUEST, &format!("invalid JSON body: {err}")),
    };
    let ask = match &route {
        Route::OpenAi => read_openai(&value),
        Route::Anthropic => read_anthropic(&value),
        Route::AnthropicCount => return count_reply(wire, &value),
        Route::Gemini(_, GeminiMode::Count) => return count_reply(wire, &value),
        Route::Gemini(model, mode) => read_gemini(&value, model.clone(), *mode != GeminiMode::Complete),
    };
    let mut ask = match ask {
        Ok(ask) => ask,
        Err(message) => return error(wire, StatusCode::BAD_REQUEST, &message),
    };
    ask.prompt_tokens = tokens(body.len());
    ask.requested_call = requested_call(&ask.user_text);
    if options.no_tool_calls {
        ask.tool = None;
    }
    let answer = answer(&ask, wire);
    let id = next_id();
    match route {
        Route::OpenAi if ask.stream => openai_stream(&ask, &answer, id),
        Route::OpenAi => openai_complete(&ask, &answer, id),
        Route::Anthropic if ask.stream => anthropic_stream(&ask, &answer, id),
        // Counting requests were answered above.
        Route::Anthropic | Route::AnthropicCount => anthropic_complete(&ask, &answer, id),
        Route::Gemini(_, mode) => gemini_reply(&ask, &answer, id, mode),
    }
}

/// `GET /v1/models` (OpenAI's shape; Anthropic's when the request carries
/// `anthropic-version`) and `GET /v1beta/models` (Gemini's, with limits):
/// a few models of each family, the e2e tests' native names among them,
/// and an embedding model the gateway must not list for chat.
fn model_list(method: &Method, path: &str, headers: &HeaderMap, options: &Options) -> Option<Reply> {
    if method != Method::GET {
        return None;
    }
    let wire = match path {
        "/v1beta/models" => Wire::Gemini,
        "/v1/models" if headers.contains_key("anthropic-version") => Wire::Anthropic,
        "/v1/models" => Wire::OpenAi,
        _ => return None,
    };
    if let Some(denied) = check_credentials(wire, headers, options.api_key.as_deref()) {
        return Some(denied);
    }
    let body = match wire {
        Wire::OpenAi => json!({"object": "list", "data": [
            {"id": "gpt-e2e-mini", "object": "model", "created": 1_700_000_000, "owned_by": "mock"},
            {"id": "gpt-4o-mini", "object": "model", "created": 1_700_000_000, "owned_by": "mock"},
            {"id": "text-embedding-3-small", "object": "model", "created": 1_700_000_000, "owned_by": "mock"},
        ]}),
        Wire::Anthropic => json!({
            "data": [
                {"type": "model", "id": "claude-e2e-sonnet", "display_name": "Claude E2E Sonnet", "created_at": "2025-09-29T00:00:00Z"},
                {"type": "model", "id": "claude-sonnet-4-5-20250929", "display_name": "Claude Sonnet 4.5", "created_at": "2025-09-29T00:00:00Z"},
            ],
            "has_more": false, "first_id": "claude-e2e-sonnet", "last_id": "claude-sonnet-4-5-20250929",
        }),
        Wire::Gemini => json!({"models": [
            {"name": "models/gemini-e2e-flash", "displayName": "Gemini E2E Flash", "inputTokenLimit": 1_048_576,
             "outputTokenLimit": 65_536, "supportedGenerationMethods": ["generateContent", "countTokens"]},
            {"name": "models/gemini-2.5-pro", "displayName": "Gemini 2.5 Pro", "inputTokenLimit": 1_048_576,
             "outputTokenLimit": 65_536, "supportedGenerationMethods": ["generateContent", "countTokens"]},
            {"name": "models/gemini-embedding-001", "displayName": "Gemini Embedding 001", "inputTokenLimit": 2048,
             "outputTokenLimit": 1, "supportedGenerationMethods": ["embedContent"]},
        ]}),
    };
    Some(Reply::json(StatusCode::OK, body.to_string()))
}

/// The base of every count, so that an upstream count never looks like a
/// gateway's local estimate of a short request.
const COUNT_BASE: u64 = 1000;

/// A counting endpoint's answer in `wire`'s shape: [`COUNT_BASE`] plus the
/// words of every `text` field in the body, wherever it is nested.
fn count_reply(wire: Wire, body: &Value) -> Reply {
    fn words(value: &Value) -> u64 {
        match value {
            Value::Object(fields) => fields
                .iter()
                .map(|(key, value)| match value {
                    Value::String(text) if key == "text" => text.split_whitespace().count() as u64,
                    other => words(other),
                })
                .sum(),
            Value::Array(items) => items.iter().map(words).sum(),
            _ => 0,
        }
    }
    if body.get("model").is_none() && wire == Wire::Anthropic {
        return error(wire, StatusCode::BAD_REQUEST, "model: Field required");
    }
    let count = COUNT_BASE + words(body);
    let answer = match wire {
        Wire::Gemini => {
            json!({"totalTokens": count, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": count}]})
        }
        _ => json!({"input_tokens": count}),
    };
    Reply::json(StatusCode::OK, answer.to_string())
}

/// `/v1beta/models/{model}:{method}` → the model and how to answer.
fn gemini_route(path: &str, query: &str) -> Option<(String, GeminiMode)> {
    let rest = path.strip_prefix("/v1beta/models/")?;
    let (model, method) = rest.rsplit_once(':')?;
    if model.is_empty() || model.contains('/') {
        return None;
    }
    let model = percent_encoding::percent_decode_str(model)
        .decode_utf8_lossy()
        .into_owned();
    let sse = query.split('&').any(|pair| pair == "alt=sse");
    match method {
        "generateContent" => Some((model, GeminiMode::Complete)),
        "streamGenerateContent" if sse => Some((model, GeminiMode::Sse)),
        "streamGenerateContent" => Some((model, GeminiMode::JsonArray)),
        "countTokens" => Some((model, GeminiMode::Count)),
        _ => None,
    }
}

/// The provider's own credential check: `Some(error reply)` when it fails.
fn check_credentials(wire: Wire, headers: &HeaderMap, api_key: Option<&str>) -> Option<Reply> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let given = match wire {
        Wire::OpenAi => get("authorization").and_then(|v| v.strip_prefix("Bearer ")),
        Wire::Anthropic => get("x-api-key"),
        Wire::Gemini => get("x-goog-api-key"),
    };
    let Some(given) = given.filter(|key| !key.is_empty()) else {
        return Some(match wire {
            Wire::OpenAi => error(
                wire,
                StatusCode::UNAUTHORIZED,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth.",
            ),
            Wire::Anthropic => error(wire, StatusCode::UNAUTHORIZED, "x-api-key header is required"),
            Wire::Gemini => error(
                wire,
                StatusCode::FORBIDDEN,
                "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
            ),
        });
    };
    if api_key.is_some_and(|expected| expected != given) {
        return Some(match wire {
            Wire::OpenAi => error(wire, StatusCode::UNAUTHORIZED, "Incorrect API key provided."),
            Wire::Anthropic => error(wire, StatusCode::UNAUTHORIZED, "invalid x-api-key"),
            Wire::Gemini => error(
                wire,
                StatusCode::BAD_REQUEST,
                "API key not valid. Please pass a valid API key.",
            ),
        });
    }
    if wire == Wire::Anthropic && get("anthropic-version").is_none() {
        return Some(error(
            wire,
            StatusCode::BAD_REQUEST,
            "anthropic-version: header is required",
        ));
    }
    None
}

/// An error in `wire`'s shape.
fn error(wire: Wire, status: StatusCode, message: &str) -> Reply {
    let body = match wire {
        Wire::OpenAi => {
            let (kind, code) = match status.as_u16() {
                401 => ("invalid_request_error", json!("invalid_api_key")),
                404 => ("invalid_request_error", json!("unknown_url")),
                _ => ("invalid_request_error", Value::Null),
            };
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        }
        Wire::Anthropic => {
            let kind = match status.as_u16() {
                401 => "authentication_error",
                404 => "not_found_error",
                _ => "invalid_request_error",
            };
            json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_mock"})
        }
        Wire::Gemini => {
            let state = match status.as_u16() {
                403 => "PERMISSION_DENIED",
                404 => "NOT_FOUND",
                405 => "UNIMPLEMENTED",
                _ => "INVALID_ARGUMENT",
            };
            json!({"error": {"code": status.as_u16(), "message": message, "status": state}})
        }
    };
    Reply::json(status, body.to_string())
}

/// What a request asks, in the terms the canned answers need.
#[derive(Debug, Default, PartialEq)]
struct Ask {
    /// The model named by the request (body or path).
    model: String,
    /// Stream the answer.
    stream: bool,
    /// OpenAI `stream_options.include_usage`.
    include_usage: bool,
    /// The text of the last user message that has text.
    user_text: String,
    /// The first declared tool.
    tool: Option<ToolSpec>,
    /// The text of the tool result the last message carries.
    tool_result: Option<String>,
    /// A call the user text asked for with `[call NAME {JSON}]`: the name
    /// and the arguments' JSON text.
    requested_call: Option<(String, String)>,
    /// The request asks for thinking: the answer opens with a signed thought.
    thinking: bool,
    /// A token count for usage, from the body size.
    prompt_tokens: u64,
}

/// A declared tool: its name and its first parameter (name, JSON type).
#[derive(Debug, Clone, PartialEq)]
struct ToolSpec {
    name: String,
    first_param: Option<(String, String)>,
}

impl ToolSpec {
    fn from_schema(name: &str, schema: Option<&Value>) -> ToolSpec {
        let first_param = schema
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .and_then(|properties| properties.iter().next())
            .map(|(name, property)| {
                let kind = property.get("type").and_then(Value::as_str).unwrap_or("string");
                (name.clone(), kind.to_ascii_lowercase())
            });
        ToolSpec {
            name: name.to_string(),
            first_param,
        }
    }
}

/// The answer to give.
#[derive(Debug, PartialEq)]
enum Answer {
    Text(String),
    ToolCall { name: String, arguments: String },
}

impl Answer {
    fn len(&self) -> usize {
        match self {
            Answer::Text(text) => text.len(),
            Answer::ToolCall { name, arguments } => name.len() + arguments.len(),
        }
    }
}

fn answer(ask: &Ask, wire: Wire) -> Answer {
    let signature = format!("[mock {} {}]", wire.name(), ask.model);
    if let Some(result) = &ask.tool_result {
        return Answer::Text(format!("tool result: {result} · echo: {} {signature}", ask.user_text));
    }
    if let Some((name, arguments)) = &ask.requested_call {
        return Answer::ToolCall {
            name: name.clone(),
            arguments: arguments.clone(),
        };
    }
    match &ask.tool {
        Some(tool) => {
            let arguments = match &tool.first_param {
                None => json!({}),
                Some((name, kind)) => {
                    let value = match kind.as_str() {
                        "integer" | "number" => json!(42),
                        "boolean" => json!(true),
                        "array" => json!([ask.user_text]),
                        "object" => json!({}),
                        _ => json!(ask.user_text),
                    };
                    json!({ name: value })
                }
            };
            Answer::ToolCall {
                name: tool.name.clone(),
                arguments: arguments.to_string(),
            }
        }
        None => Answer::Text(format!("echo: {} {signature}", ask.user_text)),
    }
}

/// The call a user text asks for with `[call NAME {JSON}]`, the arguments
/// being a JSON object: its name and the arguments' JSON text.
fn requested_call(text: &str) -> Option<(String, String)> {
    const OPEN: &str = "[call ";
    let rest = &text[text.find(OPEN)? + OPEN.len()..];
    let (name, rest) = rest.split_once(' ')?;
    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
    let arguments = values.next()?.ok()?;
    let after = &rest[values.byte_offset()..];
    (arguments.is_object() && after.starts_with(']')).then(|| (name.to_string(), arguments.to_string()))
}

/// The signature on every Gemini function call and thought the mock makes
/// (base64, as Gemini's are), which it wants back on the next turn.
const THOUGHT_SIGNATURE: &str = "bW9jay10aG91Z2h0LXNpZ25hdHVyZQ==";

/// The text of the thought that opens an answer when thinking is asked for.
const MOCK_THOUGHT: &str = "The mock thinks before it answers.";

/// The signature of the mock's Anthropic thinking blocks.
const ANTHROPIC_SIGNATURE: &str = "RXFNb2NrVGhpbmtpbmdTaWduYXR1cmU=";

/// Anthropic's checks of thinking in the history: every thinking block
/// carries the signature it was given, and with thinking on, the last
/// assistant turn that called a tool opens with its thinking.
fn check_thinking(messages: &[Value], thinking_on: bool) -> Result<(), String> {
    let kind = |block: &Value| block.get("type").and_then(Value::as_str).unwrap_or("").to_string();
    let mut assistant_turns = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m.get("role").and_then(Value::as_str) == Some("assistant"));
    for (index, message) in assistant_turns.clone() {
        let blocks = message
            .get("content")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (position, block) in blocks.iter().enumerate() {
            if kind(block) == "thinking" && block.get("signature").and_then(Value::as_str) != Some(ANTHROPIC_SIGNATURE)
            {
                return Err(format!(
                    "messages.{index}.content.{position}: Invalid `signature` in `thinking` block"
                ));
            }
        }
    }
    let Some((index, last)) = assistant_turns.next_back() else {
        return Ok(());
    };
    let blocks = last
        .get("content")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let called = blocks.iter().any(|b| kind(b) == "tool_use");
    let opens_with_thinking = blocks
        .first()
        .is_some_and(|b| kind(b) == "thinking" || kind(b) == "redacted_thinking");
    if thinking_on && called && !opens_with_thinking {
        let found = blocks.first().map(kind).unwrap_or_default();
        return Err(format!(
            "messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{found}`. When \
             `thinking` is enabled, a final `assistant` message must start with a thinking block."
        ));
    }
    Ok(())
}

/// Gemini 3's check: the first function call of each model turn must carry
/// the signature it was given.
fn check_signatures(contents: &[Value]) -> Result<(), String> {
    let field = |v: &Value, camel: &str, snake: &str| v.get(camel).or_else(|| v.get(snake)).cloned();
    for (position, content) in contents.iter().enumerate() {
        if content.get("role").and_then(Value::as_str) != Some("model") {
            continue;
        }
        let parts = content
            .get("parts")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let Some(call) = parts
            .iter()
            .find(|p| field(p, "functionCall", "function_call").is_some())
        else {
            continue;
        };
        let signature = field(call, "thoughtSignature", "thought_signature");
        if signature.as_ref().and_then(Value::as_str) != Some(THOUGHT_SIGNATURE) {
            let name = field(call, "functionCall", "function_call")
                .and_then(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            return Err(format!(
                "Function call is missing a thought_signature in functionCall parts. This is required for tools to work \
                 correctly. Additional data, function call `{name}`, position {position}. (mock_upstream wants back the \
                 signature {THOUGHT_SIGNATURE} it gave.)"
            ));
        }
    }
    Ok(())
}

/// The text of a content that is a string or a list of text parts.
fn text_of(content: &Value) -> Option<String> {
    match content {
        Value::String(text) => Some(text.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter(|part| part.get("type").and_then(Value::as_str).is_none_or(|t| t == "text"))
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect();
            (!texts.is_empty()).then(|| texts.concat())
        }
        _ => None,
    }
}

fn read_openai(body: &Value) -> Result<Ask, String> {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("`messages` is required and must be an array")?;
    let role = |m: &Value| m.get("role").and_then(Value::as_str).unwrap_or("").to_string();
    let user_text = messages
        .iter()
        .rev()
        .filter(|m| role(m) == "user")
        .find_map(|m| m.get("content").and_then(text_of))
        .unwrap_or_default();
    let tool_result = messages
        .last()
        .filter(|m| role(m) == "tool")
        .map(|m| m.get("content").and_then(text_of).unwrap_or_default());
    let tool = body
        .get("tools")
        .and_then(Value::as_array)
        .and_then(|tools| tools.iter().find_map(|t| t.get("function")))
        .and_then(|f| Some(ToolSpec::from_schema(f.get("name")?.as_str()?, f.get("parameters"))));
    Ok(Ask {
        model: body.get("model").and_then(Value::as_str).unwrap_or("").to_string(),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        include_usage: body
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        user_text,
        tool,
        tool_result,
        requested_call: None,
        thinking: false,
        prompt_tokens: 0,
    })
}

fn read_anthropic(body: &Value) -> Result<Ask, String> {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("messages: Field required")?;
    if body.get("max_tokens").and_then(Value::as_u64).is_none() {
        return Err("max_tokens: Field required".to_string());
    }
    let thinking = matches!(
        body.pointer("/thinking/type").and_then(Value::as_str),
        Some("enabled" | "adaptive")
    );
    check_thinking(messages, thinking)?;
    let is_user = |m: &&Value| m.get("role").and_then(Value::as_str) == Some("user");
    let user_text = messages
        .iter()
        .rev()
        .filter(is_user)
        .find_map(|m| m.get("content").and_then(text_of))
        .unwrap_or_default();
    let tool_result = messages.last().filter(is_user).and_then(|m| {
        let blocks = m.get("content")?.as_array()?;
        let result = blocks
            .iter()
            .rev()
            .find(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))?;
        Some(result.get("content").and_then(text_of).unwrap_or_default())
    });
    let tool = body
        .get("tools")
        .and_then(Value::as_array)
        .and_then(|tools| tools.iter().find(|t| t.get("input_schema").is_some()))
        .and_then(|t| Some(ToolSpec::from_schema(t.get("name")?.as_str()?, t.get("input_schema"))));
    Ok(Ask {
        model: body.get("model").and_then(Value::as_str).unwrap_or("").to_string(),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        include_usage: false,
        user_text,
        tool,
        tool_result,
        requested_call: None,
        thinking,
        prompt_tokens: 0,
    })
}

fn read_gemini(body: &Value, model: String, stream: bool) -> Result<Ask, String> {
    let contents = body
        .get("contents")
        .and_then(Value::as_array)
        .ok_or("* GenerateContentRequest.contents: contents is not specified")?;
    check_signatures(contents)?;
    let thinking = ["/generationConfig/thinkingConfig", "/generation_config/thinking_config"]
        .iter()
        .filter_map(|pointer| body.pointer(pointer))
        .any(|config| {
            config.get("includeThoughts").or_else(|| config.get("include_thoughts")) == Some(&Value::Bool(true))
        });
    let parts = |c: &Value| c.get("parts").and_then(Value::as_array).cloned().unwrap_or_default();
    let field = |v: &Value, camel: &str, snake: &str| v.get(camel).or_else(|| v.get(snake)).cloned();
    let user_text = contents
        .iter()
        .rev()
        .filter(|c| c.get("role").and_then(Value::as_str).is_none_or(|r| r == "user"))
        .find_map(|c| {
            let texts: Vec<String> = parts(c)
                .iter()
                .filter(|p| p.get("thought").and_then(Value::as_bool) != Some(true))
                .filter_map(|p| p.get("text").and_then(Value::as_str).map(str::to_string))
                .collect();
            (!texts.is_empty()).then(|| texts.concat())
        })
        .unwrap_or_default();
    let tool_result = contents.last().and_then(|c| {
        let response = parts(c)
            .iter()
            .rev()
            .find_map(|p| field(p, "functionResponse", "function_response"))?;
        Some(response_text(response.get("response").unwrap_or(&Value::Null)))
    });
    let tool = body
        .get("tools")
        .and_then(Value::as_array)
        .and_then(|tools| {
            tools.iter().find_map(|t| {
                field(t, "functionDeclarations", "function_declarations")
                    .and_then(|d| d.as_array().and_then(|d| d.first().cloned()))
            })
        })
        .and_then(|d| {
            let schema =
                field(&d, "parametersJsonSchema", "parameters_json_schema").or_else(|| d.get("parameters").cloned());
            Some(ToolSpec::from_schema(d.get("name")?.as_str()?, schema.as_ref()))
        });
    Ok(Ask {
        model,
        stream,
        include_usage: false,
        user_text,
        tool,
        tool_result,
        requested_call: None,
        thinking,
        prompt_tokens: 0,
    })
}

/// The text of a `functionResponse.response`: the string of its one field
/// (`result`, `output`, ...), else its JSON.
fn response_text(response: &Value) -> String {
    match response {
        Value::String(text) => text.clone(),
        Value::Object(fields) if fields.len() == 1 => match fields.values().next() {
            Some(Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        },
        other => other.to_string(),
    }
}

/// A rough token count: one per four bytes, at least one.
fn tokens(bytes: usize) -> u64 {
    (bytes as u64 / 4).max(1)
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A JSON string literal.
fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

/// Splits `text` into at most `parts` pieces at character boundaries, each
/// piece but the last ending after a space where one is near.
fn split_text(text: &str, parts: usize) -> Vec<&str> {
    let target = text.len().div_ceil(parts.max(1)).max(1);
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if rest.len() <= target || pieces.len() + 1 == parts {
            pieces.push(rest);
            break;
        }
        let mut cut = target;
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        if let Some(space) = rest[..cut].rfind(' ').filter(|&s| s > 0) {
            cut = space + 1;
        }
        pieces.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    if pieces.is_empty() {
        pieces.push("");
    }
    pieces
}

/// Splits JSON arguments into fragments of about `size` bytes, as the real
/// APIs stream them (fragments are not valid JSON on their own).
fn split_fragments(text: &str, size: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = size.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        pieces.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    pieces
}

fn openai_complete(ask: &Ask, answer: &Answer, id: u64) -> Reply {
    let (message, finish) = match answer {
        Answer::Text(text) => (
            format!(
                r#"{{"role":"assistant","content":{},"refusal":null,"annotations":[]}}"#,
                quote(text)
            ),
            "stop",
        ),
        Answer::ToolCall { name, arguments } => (
            format!(
                r#"{{"role":"assistant","content":null,"refusal":null,"annotations":[],"tool_calls":[{{"id":"call_mock{id}","type":"function","function":{{"name":{},"arguments":{}}}}}]}}"#,
                quote(name),
                quote(arguments)
            ),
            "tool_calls",
        ),
    };
    let (prompt, completion) = (ask.prompt_tokens, tokens(answer.len()));
    Reply::json(
        StatusCode::OK,
        format!(
            r#"{{"id":"chatcmpl-mock{id}","object":"chat.completion","created":{},"model":{},"choices":[{{"index":0,"message":{message},"logprobs":null,"finish_reason":"{finish}"}}],"usage":{},"service_tier":"default","system_fingerprint":"fp_mock"}}"#,
            now(),
            quote(&ask.model),
            openai_usage(prompt, completion)
        ),
    )
}

fn openai_usage(prompt: u64, completion: u64) -> String {
    format!(
        r#"{{"prompt_tokens":{prompt},"completion_tokens":{completion},"total_tokens":{},"prompt_tokens_details":{{"cached_tokens":0,"audio_tokens":0}},"completion_tokens_details":{{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}}"#,
        prompt + completion
    )
}

fn openai_stream(ask: &Ask, answer: &Answer, id: u64) -> Reply {
    let head = format!(
        r#"data: {{"id":"chatcmpl-mock{id}","object":"chat.completion.chunk","created":{},"model":{},"service_tier":"default","system_fingerprint":"fp_mock","choices":[{{"index":0,"delta":"#,
        now(),
        quote(&ask.model)
    );
    // With include_usage every chunk carries `"usage":null` but the last.
    let tail = if ask.include_usage {
        "}],\"usage\":null}\n\n"
    } else {
        "}]}\n\n"
    };
    let chunk = |delta: &str, finish: &str| format!(r#"{head}{delta},"logprobs":null,"finish_reason":{finish}{tail}"#);
    let mut chunks = vec![chunk(r#"{"role":"assistant","content":"","refusal":null}"#, "null")];
    let finish = match answer {
        Answer::Text(text) => {
            for piece in split_text(text, stream_pieces()) {
                chunks.push(chunk(&format!(r#"{{"content":{}}}"#, quote(piece)), "null"));
            }
            "\"stop\""
        }
        Answer::ToolCall { name, arguments } => {
            chunks.push(chunk(
                &format!(
                    r#"{{"tool_calls":[{{"index":0,"id":"call_mock{id}","type":"function","function":{{"name":{},"arguments":""}}}}]}}"#,
                    quote(name)
                ),
                "null",
            ));
            for fragment in split_fragments(arguments, 8) {
                chunks.push(chunk(
                    &format!(
                        r#"{{"tool_calls":[{{"index":0,"function":{{"arguments":{}}}}}]}}"#,
                        quote(fragment)
                    ),
                    "null",
                ));
            }
            "\"tool_calls\""
        }
    };
    chunks.push(chunk("{}", finish));
    if ask.include_usage {
        chunks.push(format!(
            r#"data: {{"id":"chatcmpl-mock{id}","object":"chat.completion.chunk","created":{},"model":{},"service_tier":"default","system_fingerprint":"fp_mock","choices":[],"usage":{}}}"#,
            now(),
            quote(&ask.model),
            openai_usage(ask.prompt_tokens, tokens(answer.len()))
        ) + "\n\n");
    }
    chunks.push("data: [DONE]\n\n".to_string());
    Reply::stream("text/event-stream", chunks)
}

fn anthropic_usage(input: u64, output: u64) -> String {
    format!(
        r#"{{"input_tokens":{input},"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":{output},"service_tier":"standard"}}"#
    )
}

fn anthropic_complete(ask: &Ask, answer: &Answer, id: u64) -> Reply {
    let (block, stop) = match answer {
        Answer::Text(text) => (format!(r#"{{"type":"text","text":{}}}"#, quote(text)), "end_turn"),
        Answer::ToolCall { name, arguments } => (
            format!(
                r#"{{"type":"tool_use","id":"toolu_mock{id}","name":{},"input":{arguments}}}"#,
                quote(name)
            ),
            "tool_use",
        ),
    };
    let content = if ask.thinking {
        format!(
            r#"[{{"type":"thinking","thinking":{},"signature":"{ANTHROPIC_SIGNATURE}"}},{block}]"#,
            quote(MOCK_THOUGHT)
        )
    } else {
        format!("[{block}]")
    };
    Reply::json(
        StatusCode::OK,
        format!(
            r#"{{"id":"msg_mock{id}","type":"message","role":"assistant","model":{},"content":{content},"stop_reason":"{stop}","stop_sequence":null,"usage":{}}}"#,
            quote(&ask.model),
            anthropic_usage(ask.prompt_tokens, tokens(answer.len()))
        ),
    )
}

fn anthropic_stream(ask: &Ask, answer: &Answer, id: u64) -> Reply {
    let event = |name: &str, data: String| format!("event: {name}\ndata: {data}\n\n");
    let mut chunks = vec![event(
        "message_start",
        format!(
            r#"{{"type":"message_start","message":{{"id":"msg_mock{id}","type":"message","role":"assistant","model":{},"content":[],"stop_reason":null,"stop_sequence":null,"usage":{}}}}}"#,
            quote(&ask.model),
            anthropic_usage(ask.prompt_tokens, 1)
        ),
    )];
    let delta = |data: String| event("content_block_delta", data);
    // A signed thinking block first, when thinking was asked for.
    let index = if ask.thinking {
        chunks.push(event(
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#
                .to_string(),
        ));
        chunks.push(delta(format!(
            r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"thinking_delta","thinking":{}}}}}"#,
            quote(MOCK_THOUGHT)
        )));
        chunks.push(delta(format!(
            r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"signature_delta","signature":"{ANTHROPIC_SIGNATURE}"}}}}"#
        )));
        chunks.push(event(
            "content_block_stop",
            r#"{"type":"content_block_stop","index":0}"#.to_string(),
        ));
        1
    } else {
        0
    };
    let stop = match answer {
        Answer::Text(text) => {
            chunks.push(event(
                "content_block_start",
                format!(
                    r#"{{"type":"content_block_start","index":{index},"content_block":{{"type":"text","text":""}}}}"#
                ),
            ));
            chunks.push(event("ping", r#"{"type": "ping"}"#.to_string()));
            for piece in split_text(text, stream_pieces()) {
                chunks.push(delta(format!(
                    r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"text_delta","text":{}}}}}"#,
                    quote(piece)
                )));
            }
            "end_turn"
        }
        Answer::ToolCall { name, arguments } => {
            chunks.push(event(
                "content_block_start",
                format!(
                    r#"{{"type":"content_block_start","index":{index},"content_block":{{"type":"tool_use","id":"toolu_mock{id}","name":{},"input":{{}}}}}}"#,
                    quote(name)
                ),
            ));
            chunks.push(event("ping", r#"{"type": "ping"}"#.to_string()));
            for fragment in std::iter::once("").chain(split_fragments(arguments, 8)) {
                chunks.push(delta(format!(
                    r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"input_json_delta","partial_json":{}}}}}"#,
                    quote(fragment)
                )));
            }
            "tool_use"
        }
    };
    chunks.push(event(
        "content_block_stop",
        format!(r#"{{"type":"content_block_stop","index":{index}}}"#),
    ));
    chunks.push(event(
        "message_delta",
        format!(
            r#"{{"type":"message_delta","delta":{{"stop_reason":"{stop}","stop_sequence":null}},"usage":{{"output_tokens":{}}}}}"#,
            tokens(answer.len())
        ),
    ));
    chunks.push(event("message_stop", r#"{"type":"message_stop"}"#.to_string()));
    Reply::stream("text/event-stream", chunks)
}

fn gemini_reply(ask: &Ask, answer: &Answer, id: u64, mode: GeminiMode) -> Reply {
    let (prompt, completion) = (ask.prompt_tokens, tokens(answer.len()));
    let response = |parts: String, last: bool| {
        let finish = if last { r#","finishReason":"STOP""# } else { "" };
        // Only the last chunk counts the answer's tokens, as Gemini does.
        let usage = if last {
            format!(
                r#"{{"promptTokenCount":{prompt},"candidatesTokenCount":{completion},"totalTokenCount":{},"promptTokensDetails":[{{"modality":"TEXT","tokenCount":{prompt}}}]}}"#,
                prompt + completion
            )
        } else {
            format!(
                r#"{{"promptTokenCount":{prompt},"totalTokenCount":{prompt},"promptTokensDetails":[{{"modality":"TEXT","tokenCount":{prompt}}}]}}"#
            )
        };
        format!(
            r#"{{"candidates":[{{"content":{{"parts":{parts},"role":"model"}}{finish},"index":0}}],"usageMetadata":{usage},"modelVersion":{},"responseId":"mock{id}"}}"#,
            quote(&ask.model)
        )
    };
    let text_part = |text: &str| format!(r#"[{{"text":{}}}]"#, quote(text));
    let thought = format!(
        r#"{{"text":{},"thought":true,"thoughtSignature":"{THOUGHT_SIGNATURE}"}}"#,
        quote(MOCK_THOUGHT)
    );
    // Each chunk's parts, as a JSON array.
    let mut chunks: Vec<String> = match (answer, mode) {
        (Answer::Text(text), GeminiMode::Complete) => vec![text_part(text)],
        (Answer::Text(text), _) => split_text(text, stream_pieces()).into_iter().map(text_part).collect(),
        // Gemini sends a function call whole, in one chunk.
        (Answer::ToolCall { name, arguments }, _) => vec![format!(
            r#"[{{"functionCall":{{"name":{},"args":{arguments}}},"thoughtSignature":"{THOUGHT_SIGNATURE}"}}]"#,
            quote(name)
        )],
    };
    if ask.thinking {
        // The thought comes first: in the one answer, or as a chunk of its own.
        match mode {
            GeminiMode::Complete | GeminiMode::Count => chunks[0] = format!("[{thought},{}", &chunks[0][1..]),
            _ => chunks.insert(0, format!("[{thought}]")),
        }
    }
    let last = chunks.len() - 1;
    let bodies: Vec<String> = chunks
        .into_iter()
        .enumerate()
        .map(|(i, parts)| response(parts, i == last))
        .collect();
    match mode {
        GeminiMode::Complete | GeminiMode::Count => Reply::json(StatusCode::OK, bodies.concat()),
        GeminiMode::Sse => Reply::stream(
            "text/event-stream",
            bodies.into_iter().map(|body| format!("data: {body}\r\n\r\n")).collect(),
        ),
        GeminiMode::JsonArray => {
            let count = bodies.len();
            let chunks = bodies
                .into_iter()
                .enumerate()
                .map(|(i, body)| {
                    let open = if i == 0 { "[" } else { "" };
                    let close = if i + 1 == count { "]" } else { ",\r\n" };
                    format!("{open}{body}{close}")
                })
                .collect();
            Reply::stream("application/json", chunks)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn openai_headers() -> HeaderMap {
        headers(&[("authorization", "Bearer k")])
    }

    fn anthropic_headers() -> HeaderMap {
        headers(&[("x-api-key", "k"), ("anthropic-version", "2023-06-01")])
    }

    fn gemini_headers() -> HeaderMap {
        headers(&[("x-goog-api-key", "k")])
    }

    fn post(path: &str, query: &str, headers: &HeaderMap, body: Value) -> Reply {
        respond(
            &Method::POST,
            path,
            query,
            headers,
            body.to_string().as_bytes(),
            &keyed(),
        )
    }

    /// Options that accept only the key `k`.
    fn keyed() -> Options {
        Options {
            api_key: Some("k".into()),
            ..Options::default()
        }
    }

    /// The `data:` payloads of an SSE body, parsed (`[DONE]` kept as a string).
    fn sse_data(reply: &Reply) -> Vec<Value> {
        reply
            .text()
            .replace("\r\n", "\n")
            .split("\n\n")
            .filter_map(|block| block.lines().find_map(|l| l.strip_prefix("data: ")))
            .map(|data| serde_json::from_str(data).unwrap_or_else(|_| Value::String(data.to_string())))
            .collect()
    }

    fn weather_tool_openai() -> Value {
        json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])
    }

    #[test]
    fn options_parse_and_reject_nonsense() {
        let args = |list: &[&str]| parse_args(list.iter().map(|s| s.to_string()));
        assert_eq!(args(&[]).unwrap(), Options::default());
        let options = args(&[
            "--port",
            "0",
            "--latency-ms=5",
            "--chunk-delay-ms",
            "2",
            "--api-key",
            "x",
            "--stream-pieces",
            "12",
        ])
        .unwrap();
        assert_eq!(options.stream_pieces, 12);
        assert_eq!(options.latency, Duration::from_millis(5));
        assert_eq!(options.chunk_delay, Duration::from_millis(2));
        assert_eq!(options.api_key.as_deref(), Some("x"));
        assert!(args(&["--port", "70000"]).is_err());
        assert!(args(&["--port"]).is_err());
        assert!(args(&["--latency-ms", "soon"]).is_err());
        assert!(args(&["--verbose", "1"]).is_err());
        assert!(args(&["--stream-pieces", "0"]).is_err());
    }

    #[test]
    fn openai_text_echoes_the_last_user_message() {
        let body = json!({"model": "gpt-x", "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "hello "}, {"type": "text", "text": "there"}]}
        ]});
        let reply = post("/v1/chat/completions", "", &openai_headers(), body);
        assert_eq!(reply.status, StatusCode::OK);
        let value: Value = serde_json::from_str(&reply.text()).unwrap();
        assert_eq!(value["model"], "gpt-x");
        assert_eq!(
            value["choices"][0]["message"]["content"],
            "echo: hello there [mock openai gpt-x]"
        );
        assert_eq!(value["choices"][0]["finish_reason"], "stop");
        assert!(value["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
        assert!(value["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    }

    #[test]
    fn openai_tools_get_a_call_then_the_result_comes_back() {
        let body = json!({"model": "gpt-x", "tools": weather_tool_openai(),
            "messages": [{"role": "user", "content": "Paris?"}]});
        let value: Value =
            serde_json::from_str(&post("/v1/chat/completions", "", &openai_headers(), body).text()).unwrap();
        let call = &value["choices"][0]["message"]["tool_calls"][0];
        assert_eq!(call["function"]["name"], "get_weather");
        let arguments: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(arguments, json!({"city": "Paris?"}));
        assert_eq!(value["choices"][0]["finish_reason"], "tool_calls");

        let body = json!({"model": "gpt-x", "tools": weather_tool_openai(), "messages": [
            {"role": "user", "content": "Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny, 21 C"}
        ]});
        let value: Value =
            serde_json::from_str(&post("/v1/chat/completions", "", &openai_headers(), body).text()).unwrap();
        assert_eq!(
            value["choices"][0]["message"]["content"],
            "tool result: sunny, 21 C · echo: Paris? [mock openai gpt-x]"
        );
    }

    #[test]
    fn openai_stream_has_role_pieces_finish_usage_and_done() {
        let body = json!({"model": "gpt-x", "stream": true, "stream_options": {"include_usage": true},
            "messages": [{"role": "user", "content": "one two three four five six"}]});
        let reply = post("/v1/chat/completions", "", &openai_headers(), body);
        assert_eq!(reply.content_type, "text/event-stream");
        let events = sse_data(&reply);
        assert_eq!(events.last().unwrap(), "[DONE]");
        assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
        let text: String = events
            .iter()
            .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "echo: one two three four five six [mock openai gpt-x]");
        assert!(events.len() >= 6, "{events:?}");
        let finish = &events[events.len() - 3];
        assert_eq!(finish["choices"][0]["finish_reason"], "stop");
        assert!(finish["usage"].is_null());
        let usage = &events[events.len() - 2];
        assert_eq!(usage["choices"], json!([]));
        assert!(usage["usage"]["total_tokens"].as_u64().unwrap() > 0);
    }

    #[test]
    fn openai_stream_without_include_usage_has_no_usage() {
        let body = json!({"model": "gpt-x", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
        let events = sse_data(&post("/v1/chat/completions", "", &openai_headers(), body));
        assert!(events.iter().all(|e| e.get("usage").is_none()), "{events:?}");
    }

    #[test]
    fn openai_stream_splits_tool_arguments() {
        let body = json!({"model": "gpt-x", "stream": true, "tools": weather_tool_openai(),
            "messages": [{"role": "user", "content": "What is the weather in Paris?"}]});
        let events = sse_data(&post("/v1/chat/completions", "", &openai_headers(), body));
        let calls: Vec<&Value> = events
            .iter()
            .filter_map(|e| e["choices"][0]["delta"]["tool_calls"].get(0))
            .collect();
        assert!(calls.len() > 3, "arguments come in several fragments: {calls:?}");
        assert_eq!(calls[0]["function"]["name"], "get_weather");
        let arguments: String = calls
            .iter()
            .filter_map(|c| c["function"]["arguments"].as_str())
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&arguments).unwrap(),
            json!({"city": "What is the weather in Paris?"})
        );
        assert_eq!(events[events.len() - 2]["choices"][0]["finish_reason"], "tool_calls");
    }

    #[test]
    fn anthropic_complete_and_tool_round_trip() {
        let tools = json!([{"name": "get_weather", "description": "d", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]);
        let body = json!({"model": "claude-x", "max_tokens": 100, "tools": tools,
            "messages": [{"role": "user", "content": "Paris?"}]});
        let value: Value = serde_json::from_str(&post("/v1/messages", "", &anthropic_headers(), body).text()).unwrap();
        assert_eq!(value["type"], "message");
        assert_eq!(value["stop_reason"], "tool_use");
        assert_eq!(value["content"][0]["type"], "tool_use");
        assert_eq!(value["content"][0]["input"], json!({"city": "Paris?"}));
        assert!(value["usage"]["output_tokens"].as_u64().unwrap() > 0);

        let body = json!({"model": "claude-x", "max_tokens": 100, "tools": tools, "messages": [
            {"role": "user", "content": "Paris?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "rainy"}]}]}
        ]});
        let value: Value = serde_json::from_str(&post("/v1/messages", "", &anthropic_headers(), body).text()).unwrap();
        assert_eq!(
            value["content"][0]["text"],
            "tool result: rainy · echo: Paris? [mock anthropic claude-x]"
        );
        assert_eq!(value["stop_reason"], "end_turn");
    }

    #[test]
    fn anthropic_stream_follows_the_event_order() {
        let tools =
            json!([{"name": "lookup", "input_schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}]);
        let body = json!({"model": "claude-x", "max_tokens": 100, "stream": true, "tools": tools,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "find"}]}]});
        let reply = post("/v1/messages", "", &anthropic_headers(), body);
        let names: Vec<String> = reply
            .text()
            .lines()
            .filter_map(|l| l.strip_prefix("event: ").map(str::to_string))
            .collect();
        assert_eq!(names.first().unwrap(), "message_start");
        assert_eq!(names[1], "content_block_start");
        assert_eq!(
            &names[names.len() - 3..],
            ["content_block_stop", "message_delta", "message_stop"]
        );
        let events = sse_data(&reply);
        let json: String = events
            .iter()
            .filter_map(|e| e["delta"]["partial_json"].as_str())
            .collect();
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), json!({"n": 42}));
        let delta = &events[events.len() - 2];
        assert_eq!(delta["delta"]["stop_reason"], "tool_use");
        assert!(delta["usage"]["output_tokens"].as_u64().unwrap() > 0);
    }

    #[test]
    fn anthropic_needs_its_headers_and_max_tokens() {
        let body = json!({"model": "m", "max_tokens": 5, "messages": []});
        let reply = post("/v1/messages", "", &gemini_headers(), body.clone());
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(reply.text().contains("authentication_error"));
        let reply = post("/v1/messages", "", &headers(&[("x-api-key", "k")]), body);
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        let reply = post(
            "/v1/messages",
            "",
            &anthropic_headers(),
            json!({"model": "m", "messages": []}),
        );
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reply.text().contains("max_tokens"));
    }

    #[test]
    fn gemini_routes_modes_and_function_calls() {
        let path = "/v1beta/models/gemini-x:streamGenerateContent";
        let body = json!({"contents": [{"role": "user", "parts": [{"text": "alpha beta gamma delta"}]}]});
        let reply = post(path, "alt=sse", &gemini_headers(), body.clone());
        assert!(reply.text().contains("\r\n\r\n"));
        let events = sse_data(&reply);
        assert!(events.len() > 1);
        let text: String = events
            .iter()
            .filter_map(|e| e["candidates"][0]["content"]["parts"][0]["text"].as_str())
            .collect();
        assert_eq!(text, "echo: alpha beta gamma delta [mock gemini gemini-x]");
        let last = events.last().unwrap();
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(last["modelVersion"], "gemini-x");
        assert!(last["usageMetadata"]["candidatesTokenCount"].as_u64().unwrap() > 0);

        let array: Value = serde_json::from_str(&post(path, "", &gemini_headers(), body).text()).unwrap();
        assert_eq!(array.as_array().unwrap().len(), events.len());

        let body = json!({"contents": [{"parts": [{"text": "Oslo"}]}],
            "tools": [{"functionDeclarations": [{"name": "weather", "parameters": {"type": "OBJECT", "properties": {"place": {"type": "STRING"}}}}]}]});
        let value: Value =
            serde_json::from_str(&post("/v1beta/models/gemini-x:generateContent", "", &gemini_headers(), body).text())
                .unwrap();
        assert_eq!(
            value["candidates"][0]["content"]["parts"][0]["functionCall"],
            json!({"name": "weather", "args": {"place": "Oslo"}})
        );
        assert_eq!(
            value["candidates"][0]["content"]["parts"][0]["thoughtSignature"],
            THOUGHT_SIGNATURE
        );
    }

    #[test]
    fn gemini_refuses_a_function_call_without_its_signature() {
        let turn = |part: Value| {
            json!({"contents": [
                {"role": "user", "parts": [{"text": "Oslo"}]},
                {"role": "model", "parts": [{"text": "checking"}, part]},
                {"role": "user", "parts": [{"functionResponse": {"name": "weather", "response": {"result": "snow"}}}]}
            ]})
        };
        let path = "/v1beta/models/g:generateContent";
        for lost in [
            json!({"functionCall": {"name": "weather", "args": {}}}),
            json!({"functionCall": {"name": "weather", "args": {}}, "thoughtSignature": "skip_thought_signature_validator"}),
        ] {
            let reply = post(path, "", &gemini_headers(), turn(lost));
            assert_eq!(reply.status, StatusCode::BAD_REQUEST);
            assert!(reply.text().contains("missing a thought_signature"), "{}", reply.text());
        }
        let kept = json!({"function_call": {"name": "weather", "args": {}}, "thought_signature": THOUGHT_SIGNATURE});
        assert_eq!(post(path, "", &gemini_headers(), turn(kept)).status, StatusCode::OK);
    }

    #[test]
    fn a_call_asked_for_in_the_text_is_made() {
        assert_eq!(
            requested_call(r#"Please [call Bash {"command": "echo [ok]"}] now"#),
            Some(("Bash".to_string(), r#"{"command":"echo [ok]"}"#.to_string()))
        );
        assert_eq!(requested_call("no call here"), None);
        assert_eq!(requested_call(r#"[call Bash "not an object"]"#), None);
        assert_eq!(requested_call(r#"[call Bash {"unclosed": 1}"#), None);

        let options = Options {
            no_tool_calls: true,
            ..keyed()
        };
        let body = json!({"model": "claude-x", "max_tokens": 100, "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": r#"run it [call Bash {"command": "echo hi"}]"#}]});
        let reply = respond(
            &Method::POST,
            "/v1/messages",
            "",
            &anthropic_headers(),
            body.to_string().as_bytes(),
            &options,
        );
        let value: Value = serde_json::from_str(&reply.text()).unwrap();
        assert_eq!(value["content"][0]["name"], "Bash");
        assert_eq!(value["content"][0]["input"], json!({"command": "echo hi"}));
    }

    #[test]
    fn gemini_function_responses_are_echoed() {
        let body = json!({"contents": [
            {"role": "user", "parts": [{"text": "Oslo"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "weather", "args": {}}, "thoughtSignature": THOUGHT_SIGNATURE}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "weather", "response": {"result": "snow"}}}]}
        ], "tools": [{"function_declarations": [{"name": "weather"}]}]});
        let value: Value =
            serde_json::from_str(&post("/v1beta/models/g:generateContent", "", &gemini_headers(), body).text())
                .unwrap();
        assert_eq!(
            value["candidates"][0]["content"]["parts"][0]["text"],
            "tool result: snow · echo: Oslo [mock gemini g]"
        );
        assert_eq!(response_text(&json!({"a": 1, "b": 2})), r#"{"a":1,"b":2}"#);
    }

    #[test]
    fn errors_come_in_the_provider_shape() {
        let reply = respond(
            &Method::POST,
            "/v1/chat/completions",
            "",
            &headers(&[("authorization", "Bearer wrong")]),
            b"{}",
            &keyed(),
        );
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(reply.text().contains("invalid_api_key"));
        let reply = post("/v1beta/models/g:generateContent", "", &HeaderMap::new(), json!({}));
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert!(reply.text().contains("PERMISSION_DENIED"));
        let reply = respond(
            &Method::POST,
            "/v1/chat/completions",
            "",
            &openai_headers(),
            b"{",
            &Options::default(),
        );
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        let reply = post("/v2/other", "", &openai_headers(), json!({}));
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        let reply = respond(
            &Method::GET,
            "/v1/messages",
            "",
            &anthropic_headers(),
            b"",
            &Options::default(),
        );
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn counting_endpoints_answer_the_base_plus_the_words() {
        let body = json!({"model": "claude-x", "system": [{"type": "text", "text": "be brief"}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "one two three"}]}]});
        let reply = post("/v1/messages/count_tokens", "", &anthropic_headers(), body);
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.text(), r#"{"input_tokens":1005}"#);
        let reply = post(
            "/v1/messages/count_tokens",
            "",
            &anthropic_headers(),
            json!({"messages": []}),
        );
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);

        let wrapped = json!({"generateContentRequest": {"model": "models/g",
            "contents": [{"role": "user", "parts": [{"text": "alpha beta"}]}]}});
        let reply = post("/v1beta/models/g:countTokens", "", &gemini_headers(), wrapped);
        let value: Value = serde_json::from_str(&reply.text()).unwrap();
        assert_eq!(value["totalTokens"], 1002);
        let bare = json!({"contents": [{"parts": [{"text": "alpha"}]}]});
        let value: Value =
            serde_json::from_str(&post("/v1beta/models/g:countTokens", "", &gemini_headers(), bare).text()).unwrap();
        assert_eq!(value["totalTokens"], 1001);
        let reply = post("/v1beta/models/g:countTokens", "", &HeaderMap::new(), json!({}));
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "counting needs the key too");
    }

    #[test]
    fn no_tool_calls_answers_text_despite_tools() {
        let options = Options {
            no_tool_calls: true,
            ..keyed()
        };
        let body = json!({"model": "gpt-x", "tools": weather_tool_openai(),
            "messages": [{"role": "user", "content": "Paris?"}]});
        let reply = respond(
            &Method::POST,
            "/v1/chat/completions",
            "",
            &openai_headers(),
            body.to_string().as_bytes(),
            &options,
        );
        let value: Value = serde_json::from_str(&reply.text()).unwrap();
        assert_eq!(
            value["choices"][0]["message"]["content"],
            "echo: Paris? [mock openai gpt-x]"
        );
        assert_eq!(value["choices"][0]["finish_reason"], "stop");
        assert!(parse_args(["--no-tool-calls".to_string()]).unwrap().no_tool_calls);
    }

    #[test]
    fn thinking_opens_the_answer_signed_and_must_come_back() {
        let tools =
            json!([{"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}]);
        let ask = json!({"model": "claude-x", "max_tokens": 100, "thinking": {"type": "adaptive"}, "tools": tools,
            "messages": [{"role": "user", "content": "find"}]});
        let value: Value =
            serde_json::from_str(&post("/v1/messages", "", &anthropic_headers(), ask.clone()).text()).unwrap();
        assert_eq!(value["content"][0]["type"], "thinking");
        assert_eq!(value["content"][0]["signature"], ANTHROPIC_SIGNATURE);
        assert_eq!(value["content"][1]["type"], "tool_use");

        let mut streamed = ask.clone();
        streamed["stream"] = json!(true);
        let events = sse_data(&post("/v1/messages", "", &anthropic_headers(), streamed));
        assert_eq!(events[1]["content_block"]["type"], "thinking");
        assert_eq!(events[3]["delta"]["signature"], ANTHROPIC_SIGNATURE);
        assert_eq!(events[5]["index"], 1, "the tool call is the second block: {events:?}");

        // The call goes back without its thinking, then with a forged one, then as given.
        let call = value["content"][1].clone();
        let result =
            json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "42"}]});
        let history = |assistant: Value| {
            let mut body = ask.clone();
            body["messages"] =
                json!([{"role": "user", "content": "find"}, {"role": "assistant", "content": assistant}, result]);
            post("/v1/messages", "", &anthropic_headers(), body)
        };
        let reply = history(json!([call]));
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reply.text().contains("Expected `thinking`"), "{}", reply.text());
        let forged = json!({"type": "thinking", "thinking": "x", "signature": "forged"});
        assert_eq!(history(json!([forged, call])).status, StatusCode::BAD_REQUEST);
        assert_eq!(history(value["content"].clone()).status, StatusCode::OK);
    }

    #[test]
    fn gemini_thoughts_come_first_when_asked_for() {
        let body = json!({"contents": [{"parts": [{"text": "alpha beta"}]}],
            "generationConfig": {"thinkingConfig": {"includeThoughts": true}}});
        let value: Value =
            serde_json::from_str(&post("/v1beta/models/g:generateContent", "", &gemini_headers(), body.clone()).text())
                .unwrap();
        let parts = &value["candidates"][0]["content"]["parts"];
        assert_eq!(parts[0]["thought"], true);
        assert_eq!(parts[0]["thoughtSignature"], THOUGHT_SIGNATURE);
        assert_eq!(parts[1]["text"], "echo: alpha beta [mock gemini g]");
        let events = sse_data(&post(
            "/v1beta/models/g:streamGenerateContent",
            "alt=sse",
            &gemini_headers(),
            body,
        ));
        assert_eq!(events[0]["candidates"][0]["content"]["parts"][0]["thought"], true);
        assert!(events[1]["candidates"][0]["content"]["parts"][0]["text"].is_string());
    }

    #[test]
    fn text_splits_at_spaces_and_keep_every_byte() {
        let text = "echo: ünïcödé words here and there";
        let pieces = split_text(text, 3);
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces.concat(), text);
        assert_eq!(split_text("", 3), vec![""]);
        assert_eq!(split_text("x", 3), vec!["x"]);
        let fragments = split_fragments(r#"{"city":"Zürich"}"#, 4);
        assert_eq!(fragments.concat(), r#"{"city":"Zürich"}"#);
    }

    #[tokio::test]
    async fn streams_honour_the_chunk_delay() {
        let reply = Reply::stream("text/event-stream", vec!["a".into(), "b".into(), "c".into()]);
        let started = tokio::time::Instant::now();
        let body = reply.into_response(Duration::from_millis(20)).into_body();
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"abc");
        assert!(started.elapsed() >= Duration::from_millis(40));
    }
}
