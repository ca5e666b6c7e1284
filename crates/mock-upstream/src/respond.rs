//! Routing, the providers' credential checks and error shapes: a request
//! in, a [`Reply`] out, without I/O.

use http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};

use crate::Options;
use crate::ask::{answer, read_anthropic, read_gemini, read_openai, requested_call};
use crate::reply::Reply;
use crate::wire::{
    anthropic_complete, anthropic_stream, gemini_reply, next_id, openai_complete, openai_stream, tokens,
};

/// Which wire format a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Wire {
    /// The provider name, as in `switchyard accounts add PROVIDER`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Wire::OpenAi => "openai",
            Wire::Anthropic => "anthropic",
            Wire::Gemini => "gemini",
        }
    }
}

/// The API a request calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    OpenAi,
    Anthropic,
    /// `/v1/messages/count_tokens`.
    AnthropicCount,
    /// The model from the path, and how to answer.
    Gemini(String, GeminiMode),
}

impl Route {
    pub(crate) fn wire(&self) -> Wire {
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
pub(crate) enum GeminiMode {
    Complete,
    Sse,
    JsonArray,
    /// `:countTokens`.
    Count,
}

/// Answers one request; pure, so that tests can call it directly.
pub(crate) fn respond(
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    options: &Options,
) -> Reply {
    if path == "/healthz" && method == Method::GET {
        return Reply::json(StatusCode::OK, r#"{"status":"ok"}"#.to_string());
    }
    if let Some(list) = model_list(method, path, headers, options) {
        return list;
    }
    if let Some(embedded) = crate::embed::route(method, path, headers, body, options.api_key.as_deref()) {
        return embedded;
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
    ask.pieces = options.pieces();
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

/// The base of every count, so that an upstream count never looks like a
/// gateway's local estimate of a short request.
pub(crate) const COUNT_BASE: u64 = 1000;

/// A counting endpoint's answer in `wire`'s shape: [`COUNT_BASE`] plus the
/// words of every `text` field in the body, wherever it is nested.
pub(crate) fn count_reply(wire: Wire, body: &Value) -> Reply {
    pub(crate) fn words(value: &Value) -> u64 {
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
pub(crate) fn gemini_route(path: &str, query: &str) -> Option<(String, GeminiMode)> {
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

/// `GET /v1/models` (OpenAI's shape; Anthropic's when the request carries
/// `anthropic-version`) and `GET /v1beta/models` (Gemini's, with limits):
/// a few models of each family, the e2e tests' native names among them,
/// and an embedding model a gateway must not list for chat.
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

/// The provider's own credential check: `Some(error reply)` when it fails.
pub(crate) fn check_credentials(wire: Wire, headers: &HeaderMap, api_key: Option<&str>) -> Option<Reply> {
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
pub(crate) fn error(wire: Wire, status: StatusCode, message: &str) -> Reply {
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
