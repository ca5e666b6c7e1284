//! The client side of the tests: each protocol's request built from an
//! [`Ask`], and its answers (complete, streamed, or an error) read back into
//! an [`Answer`]. The readers are strict: whatever the protocol's official
//! SDK would not accept (an event out of order, a block left open, a stream
//! without its end marker, arguments that are not JSON) fails the test and
//! names the event.

use serde_json::{Map, Value, json};
use switchyard::config::ProviderKind;

use super::client_streams::{anthropic_stream, gemini_chunks, openai_stream, responses_stream};
use super::conversation::{Answer, Ask, Call, ClientError, Finish, Turn, Usage};
use super::{client, sse_events};

/// A client protocol, as an SDK speaks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// OpenAI Chat Completions: `POST /v1/chat/completions`, Bearer key.
    OpenAi,
    /// Anthropic Messages: `POST /v1/messages`, `x-api-key`, `anthropic-version`.
    Anthropic,
    /// Gemini generateContent with `x-goog-api-key`: `v1` picks the
    /// `/v1/models/...` paths (google-genai Python) over `/v1beta/models/...`
    /// (@google/genai); `sse` streams with `?alt=sse` rather than as one
    /// JSON array.
    Gemini { v1: bool, sse: bool },
    /// The OpenAI Responses API: `POST /v1/responses`, Bearer key. It asks
    /// one question only (the matrix's conversations are not spoken here),
    /// and no upstream speaks it.
    Responses,
}

/// The Gemini client of the matrix: `/v1beta`, streaming with `alt=sse`.
pub const GEMINI: Client = Client::Gemini { v1: false, sse: true };

/// The three client protocols of the translation matrix.
pub const CLIENTS: [Client; 3] = [Client::OpenAi, Client::Anthropic, GEMINI];

/// Every client protocol the gateway serves: the matrix's three and the
/// Responses API.
pub const ALL_CLIENTS: [Client; 4] = [Client::OpenAi, Client::Anthropic, GEMINI, Client::Responses];

/// The key clients send in their own header: the gateway runs with auth
/// off, and an upstream must never see it.
pub const CLIENT_KEY: &str = "sk-client-key-0123456789";

/// A client's view of one HTTP exchange.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// The body as received.
    pub body: String,
    /// What the body says, read strictly.
    pub answer: Answer,
    /// The error body, or the stream's error event.
    pub error: Option<ClientError>,
}

impl Client {
    /// A short name for failure messages.
    pub fn name(self) -> &'static str {
        match self {
            Client::OpenAi => "openai",
            Client::Anthropic => "anthropic",
            Client::Gemini { v1: false, sse: true } => "gemini",
            Client::Gemini { v1: true, sse: true } => "gemini(v1)",
            Client::Gemini { v1: false, sse: false } => "gemini(array)",
            Client::Gemini { v1: true, sse: false } => "gemini(v1,array)",
            Client::Responses => "responses",
        }
    }

    /// The upstream provider that speaks this client's protocol, if any.
    pub fn speaks(self) -> Option<ProviderKind> {
        match self {
            Client::OpenAi => Some(ProviderKind::Openai),
            Client::Anthropic => Some(ProviderKind::Anthropic),
            Client::Gemini { .. } => Some(ProviderKind::Gemini),
            Client::Responses => None,
        }
    }

    /// The path (and query) of a call for `model`.
    pub fn path(self, model: &str, stream: bool) -> String {
        match self {
            Client::OpenAi => "/v1/chat/completions".into(),
            Client::Anthropic => "/v1/messages".into(),
            Client::Gemini { v1, sse } => {
                let version = if v1 { "v1" } else { "v1beta" };
                match (stream, sse) {
                    (false, _) => format!("/{version}/models/{model}:generateContent"),
                    (true, true) => format!("/{version}/models/{model}:streamGenerateContent?alt=sse"),
                    (true, false) => format!("/{version}/models/{model}:streamGenerateContent"),
                }
            }
            Client::Responses => "/v1/responses".into(),
        }
    }

    /// The request body for `ask`, as the protocol's SDK would send it.
    pub fn body(self, ask: &Ask) -> Value {
        match self {
            Client::OpenAi => openai_body(ask),
            Client::Anthropic => anthropic_body(ask),
            Client::Gemini { .. } => gemini_body(ask),
            Client::Responses => responses_body(ask),
        }
    }

    /// The request, headers included, to the gateway at `base`.
    pub fn request(self, base: &str, ask: &Ask) -> reqwest::RequestBuilder {
        let body = self.body(ask).to_string();
        self.request_raw(base, &ask.model, ask.stream, body)
    }

    /// The request for `ask` with `key` in the protocol's own header
    /// instead of [`CLIENT_KEY`].
    pub fn request_keyed(self, base: &str, ask: &Ask, key: &str) -> reqwest::RequestBuilder {
        self.request_with(base, &ask.model, ask.stream, self.body(ask).to_string(), key)
    }

    /// A request with a body given as text.
    pub fn request_raw(self, base: &str, model: &str, stream: bool, body: String) -> reqwest::RequestBuilder {
        self.request_with(base, model, stream, body, CLIENT_KEY)
    }

    fn request_with(self, base: &str, model: &str, stream: bool, body: String, key: &str) -> reqwest::RequestBuilder {
        let request = client()
            .post(format!("{base}{}", self.path(model, stream)))
            .header("content-type", "application/json");
        let request = match self {
            Client::OpenAi | Client::Responses => request.header("authorization", format!("Bearer {key}")),
            Client::Anthropic => request
                .header("x-api-key", key)
                .header("anthropic-version", "2023-06-01"),
            Client::Gemini { .. } => request.header("x-goog-api-key", key),
        };
        request.body(body)
    }

    /// A request carrying `body` as given, with the protocol's headers; the
    /// path's model and stream flag are the body's `model` and `stream`.
    pub fn request_json(self, base: &str, body: &Value) -> reqwest::RequestBuilder {
        let model = body["model"].as_str().unwrap_or_default();
        let stream = body["stream"].as_bool().unwrap_or(false);
        self.request_raw(base, model, stream, body.to_string())
    }

    /// Sends `ask` and reads the whole answer.
    pub async fn call(self, base: &str, ask: &Ask) -> Reply {
        let response = self.request(base, ask).send().await.expect("the gateway answers");
        self.read(ask.stream, response).await
    }

    /// Sends `ask` with `key` in the protocol's own header and reads the
    /// whole answer.
    pub async fn call_keyed(self, base: &str, ask: &Ask, key: &str) -> Reply {
        let response = self
            .request_keyed(base, ask, key)
            .send()
            .await
            .expect("the gateway answers");
        self.read(ask.stream, response).await
    }

    /// Reads a response to a (streamed or complete) call.
    pub async fn read(self, stream: bool, response: reqwest::Response) -> Reply {
        let (status, content_type, body) = received(response).await;
        self.parse(status, content_type, body, stream)
    }

    /// Reads a received body.
    pub fn parse(self, status: u16, content_type: String, body: String, stream: bool) -> Reply {
        let context = format!("{} client, HTTP {status}, body:\n{body}", self.name());
        let (answer, error) = if status != 200 {
            let value: Value =
                serde_json::from_str(&body).unwrap_or_else(|e| panic!("error body is not JSON ({e}): {context}"));
            (Answer::default(), Some(self.error_body(status, &value, &context)))
        } else if stream {
            let expected = match self {
                Client::Gemini { sse: false, .. } => "application/json",
                _ => "text/event-stream",
            };
            assert!(
                content_type.starts_with(expected),
                "content type {content_type:?}, expected {expected}: {context}"
            );
            match self {
                Client::OpenAi => openai_stream(&body, &context),
                Client::Anthropic => anthropic_stream(&body, &context),
                Client::Gemini { sse: true, .. } => {
                    let chunks = sse_events(&body)
                        .into_iter()
                        .map(|(name, data)| {
                            assert!(name.is_none(), "Gemini streams name no events: {context}");
                            serde_json::from_str(&data).unwrap_or_else(|e| panic!("chunk is not JSON ({e}): {context}"))
                        })
                        .collect();
                    gemini_chunks(chunks, &context)
                }
                Client::Gemini { sse: false, .. } => {
                    let chunks: Vec<Value> = serde_json::from_str(&body)
                        .unwrap_or_else(|e| panic!("the stream is not one JSON array ({e}): {context}"));
                    gemini_chunks(chunks, &context)
                }
                Client::Responses => responses_stream(&body, &context),
            }
        } else {
            let value: Value =
                serde_json::from_str(&body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {context}"));
            let answer = match self {
                Client::OpenAi => openai_complete(&value, &context),
                Client::Anthropic => anthropic_complete(&value, &context),
                Client::Gemini { .. } => gemini_complete(&value, &context),
                Client::Responses => responses_complete(&value, &context),
            };
            (answer, None)
        };
        Reply {
            status,
            body,
            answer,
            error,
        }
    }

    /// An HTTP error body in this protocol's shape.
    fn error_body(self, status: u16, body: &Value, context: &str) -> ClientError {
        let text = |value: &Value| {
            value
                .as_str()
                .unwrap_or_else(|| panic!("not a string: {value}: {context}"))
                .to_string()
        };
        match self {
            Client::OpenAi | Client::Responses => {
                let error = &body["error"];
                assert!(error.get("param").is_some() && error.get("code").is_some(), "{context}");
                ClientError {
                    status: Some(status),
                    kind: text(&error["type"]),
                    message: text(&error["message"]),
                }
            }
            Client::Anthropic => {
                assert_eq!(body["type"], "error", "{context}");
                ClientError {
                    status: Some(status),
                    kind: text(&body["error"]["type"]),
                    message: text(&body["error"]["message"]),
                }
            }
            Client::Gemini { .. } => {
                let error = &body["error"];
                assert_eq!(error["code"], status, "the error's code is the HTTP status: {context}");
                ClientError {
                    status: Some(status),
                    kind: text(&error["status"]),
                    message: text(&error["message"]),
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------

fn openai_body(ask: &Ask) -> Value {
    let mut messages = Vec::new();
    if let Some(system) = &ask.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    for turn in &ask.turns {
        match turn {
            Turn::User(text) => messages.push(json!({"role": "user", "content": text})),
            Turn::Assistant(text) => messages.push(json!({"role": "assistant", "content": text})),
            Turn::Calls(calls) => {
                let calls: Vec<Value> = calls
                    .iter()
                    .map(|call| {
                        json!({
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": call.args.to_string()}
                        })
                    })
                    .collect();
                messages.push(json!({"role": "assistant", "content": null, "tool_calls": calls}));
            }
            // One `tool` message per result.
            Turn::Results(results) => messages.extend(results.iter().map(
                |result| json!({"role": "tool", "tool_call_id": result.id, "content": result.output.to_string()}),
            )),
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(ask.model));
    body.insert("messages".into(), Value::Array(messages));
    if !ask.tools.is_empty() {
        let tools: Vec<Value> = ask
            .tools
            .iter()
            .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(max) = ask.max_tokens {
        body.insert("max_completion_tokens".into(), json!(max));
    }
    if !ask.stop.is_empty() {
        body.insert("stop".into(), json!(ask.stop));
    }
    if ask.stream {
        body.insert("stream".into(), json!(true));
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Value::Object(body)
}

fn anthropic_body(ask: &Ask) -> Value {
    let messages: Vec<Value> = ask
        .turns
        .iter()
        .map(|turn| match turn {
            Turn::User(text) => json!({"role": "user", "content": text}),
            Turn::Assistant(text) => json!({"role": "assistant", "content": [{"type": "text", "text": text}]}),
            Turn::Calls(calls) => {
                let blocks: Vec<Value> = calls
                    .iter()
                    .map(|call| json!({"type": "tool_use", "id": call.id, "name": call.name, "input": call.args}))
                    .collect();
                json!({"role": "assistant", "content": blocks})
            }
            Turn::Results(results) => {
                let blocks: Vec<Value> = results
                    .iter()
                    .map(|r| json!({"type": "tool_result", "tool_use_id": r.id, "content": r.output.to_string()}))
                    .collect();
                json!({"role": "user", "content": blocks})
            }
        })
        .collect();
    let mut body = Map::new();
    body.insert("model".into(), json!(ask.model));
    // Required by the Messages API.
    body.insert("max_tokens".into(), json!(ask.max_tokens.unwrap_or(1024)));
    if let Some(system) = &ask.system {
        body.insert("system".into(), json!(system));
    }
    body.insert("messages".into(), Value::Array(messages));
    if !ask.tools.is_empty() {
        let tools: Vec<Value> = ask
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if !ask.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(ask.stop));
    }
    if ask.stream {
        body.insert("stream".into(), json!(true));
    }
    Value::Object(body)
}

fn gemini_body(ask: &Ask) -> Value {
    let contents: Vec<Value> = ask
        .turns
        .iter()
        .map(|turn| match turn {
            Turn::User(text) => json!({"role": "user", "parts": [{"text": text}]}),
            Turn::Assistant(text) => json!({"role": "model", "parts": [{"text": text}]}),
            Turn::Calls(calls) => {
                let parts: Vec<Value> = calls
                    .iter()
                    .map(|call| {
                        let mut function_call = json!({"name": call.name, "args": call.args});
                        if let Some(id) = &call.id {
                            function_call["id"] = json!(id);
                        }
                        json!({"functionCall": function_call})
                    })
                    .collect();
                json!({"role": "model", "parts": parts})
            }
            Turn::Results(results) => {
                let parts: Vec<Value> = results
                    .iter()
                    .map(|result| {
                        let mut response = json!({"name": result.name, "response": result.output});
                        if let Some(id) = &result.id {
                            response["id"] = json!(id);
                        }
                        json!({"functionResponse": response})
                    })
                    .collect();
                json!({"role": "user", "parts": parts})
            }
        })
        .collect();
    let mut body = Map::new();
    body.insert("contents".into(), Value::Array(contents));
    if let Some(system) = &ask.system {
        body.insert("systemInstruction".into(), json!({"parts": [{"text": system}]}));
    }
    if !ask.tools.is_empty() {
        // google-genai sends Gemini `Schema` objects, whose type names are upper case.
        let declarations: Vec<Value> = ask
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "parameters": upper_types(&t.parameters)}))
            .collect();
        body.insert("tools".into(), json!([{"functionDeclarations": declarations}]));
    }
    let mut config = Map::new();
    if let Some(max) = ask.max_tokens {
        config.insert("maxOutputTokens".into(), json!(max));
    }
    if !ask.stop.is_empty() {
        config.insert("stopSequences".into(), json!(ask.stop));
    }
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    Value::Object(body)
}

/// A JSON Schema with its `type` names in Gemini's upper case.
fn upper_types(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| match (key.as_str(), value) {
                    ("type", Value::String(name)) => (key.clone(), json!(name.to_uppercase())),
                    _ => (key.clone(), upper_types(value)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(upper_types).collect()),
        other => other.clone(),
    }
}

/// A Responses API request: one question as `input`.
fn responses_body(ask: &Ask) -> Value {
    let [Turn::User(question)] = ask.turns.as_slice() else {
        panic!("the Responses client asks one question only: {:?}", ask.turns);
    };
    assert!(
        ask.system.is_none() && ask.tools.is_empty() && ask.max_tokens.is_none() && ask.stop.is_empty(),
        "the Responses client asks one question only: {ask:?}"
    );
    json!({"model": ask.model, "input": question, "stream": ask.stream})
}

// ---------------------------------------------------------------------------
// Complete answers
// ---------------------------------------------------------------------------

pub(super) fn parse_args(text: &str, context: &str) -> Value {
    let args: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("tool-call arguments {text:?} are not JSON ({e}): {context}"));
    assert!(
        args.is_object(),
        "tool-call arguments must be an object, got {args}: {context}"
    );
    args
}

pub(super) fn openai_finish(reason: &str) -> Finish {
    match reason {
        "stop" => Finish::Stop,
        "length" => Finish::Length,
        "tool_calls" => Finish::ToolCalls,
        "content_filter" => Finish::ContentFilter,
        other => Finish::Other(other.to_string()),
    }
}

pub(super) fn openai_usage(usage: &Value) -> Usage {
    let count = |pointer: &str| usage.pointer(pointer).and_then(Value::as_u64);
    Usage {
        input: count("/prompt_tokens").expect("prompt_tokens"),
        output: count("/completion_tokens").expect("completion_tokens"),
        cached: count("/prompt_tokens_details/cached_tokens").unwrap_or(0),
    }
}

fn openai_complete(body: &Value, context: &str) -> Answer {
    assert_eq!(body["object"], "chat.completion", "{context}");
    let choice = &body["choices"][0];
    let message = &choice["message"];
    assert_eq!(message["role"], "assistant", "{context}");
    let calls = message["tool_calls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .map(|call| {
                    assert_eq!(call["type"], "function", "{context}");
                    Call {
                        id: Some(call["id"].as_str().expect("tool call id").to_string()),
                        name: call["function"]["name"].as_str().expect("function name").to_string(),
                        args: parse_args(call["function"]["arguments"].as_str().expect("arguments text"), context),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Answer {
        text: message["content"].as_str().unwrap_or_default().to_string(),
        calls,
        finish: choice["finish_reason"].as_str().map(openai_finish),
        usage: body.get("usage").filter(|u| u.is_object()).map(openai_usage),
        model: body["model"].as_str().map(str::to_string),
    }
}

pub(super) fn anthropic_finish(reason: &str) -> Finish {
    match reason {
        "end_turn" => Finish::Stop,
        "stop_sequence" => Finish::StopSequence,
        "max_tokens" => Finish::Length,
        "tool_use" => Finish::ToolCalls,
        "refusal" => Finish::ContentFilter,
        other => Finish::Other(other.to_string()),
    }
}

/// Anthropic's usage, where `input_tokens` leaves out the cache reads and writes.
pub(super) fn anthropic_usage(usage: &Value) -> Usage {
    let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        input: count("input_tokens") + count("cache_read_input_tokens") + count("cache_creation_input_tokens"),
        output: count("output_tokens"),
        cached: count("cache_read_input_tokens"),
    }
}

fn anthropic_complete(body: &Value, context: &str) -> Answer {
    assert_eq!(body["type"], "message", "{context}");
    assert_eq!(body["role"], "assistant", "{context}");
    let mut answer = Answer {
        model: body["model"].as_str().map(str::to_string),
        finish: body["stop_reason"].as_str().map(anthropic_finish),
        usage: Some(anthropic_usage(&body["usage"])),
        ..Answer::default()
    };
    for block in body["content"].as_array().expect("content blocks") {
        match block["type"].as_str() {
            Some("text") => answer.text.push_str(block["text"].as_str().expect("text")),
            Some("tool_use") => {
                assert!(
                    block["input"].is_object(),
                    "tool_use input must be an object: {context}"
                );
                answer.calls.push(Call {
                    id: Some(block["id"].as_str().expect("tool_use id").to_string()),
                    name: block["name"].as_str().expect("tool name").to_string(),
                    args: block["input"].clone(),
                });
            }
            Some("thinking" | "redacted_thinking") => {}
            other => panic!("unexpected content block {other:?}: {context}"),
        }
    }
    answer
}

pub(super) fn gemini_finish(reason: &str, called: bool) -> Finish {
    match reason {
        // Gemini has no reason of its own for a turn that called tools.
        "STOP" if called => Finish::ToolCalls,
        "STOP" => Finish::Stop,
        "MAX_TOKENS" => Finish::Length,
        "SAFETY" | "PROHIBITED_CONTENT" | "RECITATION" | "BLOCKLIST" | "SPII" => Finish::ContentFilter,
        other => Finish::Other(other.to_string()),
    }
}

pub(super) fn gemini_usage(usage: &Value) -> Usage {
    let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        input: count("promptTokenCount"),
        output: count("candidatesTokenCount") + count("thoughtsTokenCount"),
        cached: count("cachedContentTokenCount"),
    }
}

/// Adds a candidate's parts to `answer`.
pub(super) fn gemini_parts(candidate: &Value, answer: &mut Answer, context: &str) {
    let Some(content) = candidate.get("content") else {
        return;
    };
    assert_eq!(content["role"], "model", "{context}");
    for part in content["parts"].as_array().into_iter().flatten() {
        if let Some(call) = part.get("functionCall") {
            assert!(
                call["args"].is_object(),
                "functionCall args must be an object: {context}"
            );
            answer.calls.push(Call {
                id: call.get("id").and_then(Value::as_str).map(str::to_string),
                name: call["name"].as_str().expect("function name").to_string(),
                args: call["args"].clone(),
            });
        } else if part.get("thought") == Some(&json!(true)) {
        } else if let Some(text) = part.get("text") {
            answer.text.push_str(text.as_str().expect("text"));
        } else {
            panic!("unexpected part {part}: {context}");
        }
    }
}

fn gemini_complete(body: &Value, context: &str) -> Answer {
    let candidates = body["candidates"].as_array().expect("candidates");
    assert_eq!(candidates.len(), 1, "{context}");
    let mut answer = Answer {
        model: body["modelVersion"].as_str().map(str::to_string),
        usage: body.get("usageMetadata").map(gemini_usage),
        ..Answer::default()
    };
    gemini_parts(&candidates[0], &mut answer, context);
    answer.finish = candidates[0]["finishReason"]
        .as_str()
        .map(|reason| gemini_finish(reason, !answer.calls.is_empty()));
    answer
}

/// A Responses API answer: an object `response` whose message items carry the text.
fn responses_complete(body: &Value, context: &str) -> Answer {
    assert_eq!(body["object"], "response", "{context}");
    Answer {
        text: output_text(&body["output"]),
        ..Answer::default()
    }
}

/// The text of a Responses API `output`: its messages' parts, joined.
fn output_text(output: &Value) -> String {
    output
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["type"] == "message")
        .flat_map(|item| item["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|part| part["text"].as_str().map(str::to_string))
        .collect()
}

/// A response's status, content type and whole body.
pub async fn received(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.text().await.expect("the body arrives whole");
    (status, content_type, body)
}
