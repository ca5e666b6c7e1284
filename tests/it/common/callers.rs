//! The four client protocols of the fault and hostile-input tests: the
//! three of the translation matrix and the OpenAI Responses API, each with
//! a strict reader of what it gets back. An error is only accepted in the
//! caller's own shape (an HTTP error body, or the stream's error event).

use serde_json::{Value, json};

use super::clients::{CLIENTS, Client, received};
use super::conversation::{Ask, ClientError};
use super::sse_events;

/// A client protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Chat Completions, Anthropic Messages or Gemini, as the matrix speaks them.
    Chat(Client),
    /// `POST /v1/responses`.
    Responses,
}

/// Every client protocol the gateway serves.
pub const CALLERS: [Caller; 4] = [
    Caller::Chat(CLIENTS[0]),
    Caller::Chat(CLIENTS[1]),
    Caller::Chat(CLIENTS[2]),
    Caller::Responses,
];

/// What a caller made of one exchange.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: u16,
    pub body: String,
    /// The answer's visible text (what arrived before an error included).
    pub text: String,
    /// The HTTP error, or the stream's error event.
    pub error: Option<ClientError>,
}

impl Caller {
    pub fn name(self) -> &'static str {
        match self {
            Caller::Chat(client) => client.name(),
            Caller::Responses => "responses",
        }
    }

    /// The path (and query) of a call for `model`.
    pub fn path(self, model: &str, stream: bool) -> String {
        match self {
            Caller::Chat(client) => client.path(model, stream),
            Caller::Responses => "/v1/responses".into(),
        }
    }

    /// A request asking `model` to say hello.
    pub fn request(self, base: &str, model: &str, stream: bool) -> reqwest::RequestBuilder {
        match self {
            Caller::Chat(client) => client.request(base, &Ask::new(model, "Say hello.").streamed(stream)),
            Caller::Responses => self.request_raw(
                base,
                model,
                stream,
                json!({"model": model, "input": "Say hello.", "stream": stream}).to_string(),
            ),
        }
    }

    /// A request with a body given as text.
    pub fn request_raw(self, base: &str, model: &str, stream: bool, body: String) -> reqwest::RequestBuilder {
        match self {
            Caller::Chat(client) => client.request_raw(base, model, stream, body),
            Caller::Responses => super::client()
                .post(format!("{base}/v1/responses"))
                .header("content-type", "application/json")
                .bearer_auth(super::clients::CLIENT_KEY)
                .body(body),
        }
    }

    /// Sends the hello request and reads the whole answer.
    pub async fn call(self, base: &str, model: &str, stream: bool) -> Outcome {
        let response = self
            .request(base, model, stream)
            .send()
            .await
            .expect("the gateway answers");
        self.read(stream, response).await
    }

    /// Reads a response to a streamed or complete call.
    pub async fn read(self, stream: bool, response: reqwest::Response) -> Outcome {
        let (status, content_type, body) = received(response).await;
        self.parse(status, content_type, body, stream)
    }

    /// Reads a received body strictly; panics on anything the protocol's
    /// SDK would not accept.
    pub fn parse(self, status: u16, content_type: String, body: String, stream: bool) -> Outcome {
        match self {
            Caller::Chat(client) => {
                let reply = client.parse(status, content_type, body, stream);
                Outcome {
                    status,
                    body: reply.body,
                    text: reply.answer.text,
                    error: reply.error,
                }
            }
            Caller::Responses => responses_outcome(status, &content_type, body, stream),
        }
    }
}

fn responses_outcome(status: u16, content_type: &str, body: String, stream: bool) -> Outcome {
    let context = format!("responses client, HTTP {status}, body:\n{body}");
    let string = |value: &Value| {
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a string: {value}: {context}"))
            .to_string()
    };
    if status != 200 {
        let value: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("error body is not JSON ({e}): {context}"));
        let error = &value["error"];
        assert!(error.get("param").is_some() && error.get("code").is_some(), "{context}");
        return Outcome {
            status,
            error: Some(ClientError {
                status: Some(status),
                kind: string(&error["type"]),
                message: string(&error["message"]),
            }),
            text: String::new(),
            body,
        };
    }
    if !stream {
        let value: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {context}"));
        assert_eq!(value["object"], "response", "{context}");
        return Outcome {
            status,
            text: output_text(&value["output"]),
            error: None,
            body,
        };
    }
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}: {context}"
    );
    let mut text = String::new();
    let mut error = None;
    let mut ended = false;
    let mut sequence = -1i64;
    for (name, data) in sse_events(&body) {
        assert!(!ended, "an event after the stream's end: {context}");
        let event: Value = serde_json::from_str(&data).unwrap_or_else(|e| panic!("event is not JSON ({e}): {context}"));
        let kind = string(&event["type"]);
        assert_eq!(
            name.as_deref(),
            Some(kind.as_str()),
            "the event line names the type: {context}"
        );
        let number = event["sequence_number"].as_i64().expect("every event is numbered");
        assert_eq!(number, sequence + 1, "sequence numbers count up: {context}");
        sequence = number;
        match kind.as_str() {
            "response.output_text.delta" => text.push_str(&string(&event["delta"])),
            "response.completed" | "response.incomplete" => ended = true,
            "response.failed" => {
                ended = true;
                let failure = &event["response"]["error"];
                error = Some(ClientError {
                    status: None,
                    kind: string(&failure["code"]),
                    message: string(&failure["message"]),
                });
            }
            "error" => {
                ended = true;
                error = Some(ClientError {
                    status: None,
                    kind: event["code"].as_str().unwrap_or("error").to_string(),
                    message: string(&event["message"]),
                });
            }
            _ => {}
        }
    }
    assert!(
        ended,
        "the stream ends with response.completed, .incomplete or .failed: {context}"
    );
    Outcome {
        status,
        body,
        text,
        error,
    }
}

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
