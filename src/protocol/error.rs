//! Errors as every protocol shows them.
//!
//! One [`ApiError`] value describes a failure; each client protocol has its own
//! JSON shape for it, chosen by the route the client called.

use serde_json::{Value, json};

/// What went wrong, in terms all three protocols can express.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or asks for something impossible (400).
    InvalidRequest,
    /// No key, or a wrong key (401).
    Authentication,
    /// The key may not do this (403).
    PermissionDenied,
    /// No such route, model or object (404).
    NotFound,
    /// The body is larger than the limit (413).
    RequestTooLarge,
    /// Too many requests or quota exhausted (429).
    RateLimited,
    /// The gateway or the upstream failed (500, 502).
    Api,
    /// The route exists but is not implemented (501).
    NotImplemented,
    /// The upstream is overloaded or unavailable (503, 529).
    Overloaded,
    /// The upstream took too long (504).
    Timeout,
}

impl ErrorKind {
    /// The kind an upstream HTTP status most likely means.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            400 | 422 => ErrorKind::InvalidRequest,
            401 => ErrorKind::Authentication,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            413 => ErrorKind::RequestTooLarge,
            429 => ErrorKind::RateLimited,
            501 => ErrorKind::NotImplemented,
            503 | 529 => ErrorKind::Overloaded,
            504 | 408 => ErrorKind::Timeout,
            _ => ErrorKind::Api,
        }
    }

    /// The HTTP status the gateway answers with for this kind.
    pub fn default_status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::PermissionDenied => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::RequestTooLarge => 413,
            ErrorKind::RateLimited => 429,
            ErrorKind::Api => 500,
            ErrorKind::NotImplemented => 501,
            ErrorKind::Overloaded => 503,
            ErrorKind::Timeout => 504,
        }
    }
}

/// A failure to report to a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status to answer with.
    pub status: u16,
    /// Protocol-neutral category.
    pub kind: ErrorKind,
    /// Human-readable message: what failed and what to do next.
    pub message: String,
}

impl ApiError {
    /// An error of `kind` with that kind's usual status.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            status: kind.default_status(),
            kind,
            message: message.into(),
        }
    }

    /// A 400 for a request the gateway could not understand.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        ApiError::new(ErrorKind::InvalidRequest, message)
    }

    /// An error carrying an upstream's status and message.
    pub fn upstream(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind: ErrorKind::from_status(status),
            message: message.into(),
        }
    }

    /// OpenAI's shape: `{"error":{"message","type","param","code"}}`.
    pub fn to_openai(&self) -> Value {
        let (kind, code) = match self.kind {
            ErrorKind::InvalidRequest => ("invalid_request_error", Value::Null),
            ErrorKind::Authentication => ("invalid_request_error", json!("invalid_api_key")),
            ErrorKind::PermissionDenied => ("permission_error", Value::Null),
            ErrorKind::NotFound => ("invalid_request_error", json!("not_found")),
            ErrorKind::RequestTooLarge => ("invalid_request_error", json!("request_too_large")),
            ErrorKind::RateLimited => ("rate_limit_error", json!("rate_limit_exceeded")),
            ErrorKind::Api => ("api_error", Value::Null),
            ErrorKind::NotImplemented => ("invalid_request_error", json!("not_implemented")),
            ErrorKind::Overloaded => ("api_error", json!("overloaded")),
            ErrorKind::Timeout => ("api_error", json!("timeout")),
        };
        json!({"error": {"message": self.message, "type": kind, "param": null, "code": code}})
    }

    /// Anthropic's shape: `{"type":"error","error":{"type","message"}}`.
    pub fn to_anthropic(&self) -> Value {
        let kind = match self.kind {
            ErrorKind::InvalidRequest | ErrorKind::NotImplemented => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::PermissionDenied => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::RequestTooLarge => "request_too_large",
            ErrorKind::RateLimited => "rate_limit_error",
            ErrorKind::Api => "api_error",
            ErrorKind::Overloaded => "overloaded_error",
            ErrorKind::Timeout => "timeout_error",
        };
        json!({"type": "error", "error": {"type": kind, "message": self.message}})
    }

    /// Google's shape: `{"error":{"code","message","status"}}`.
    pub fn to_google(&self) -> Value {
        let status = match self.kind {
            ErrorKind::InvalidRequest => "INVALID_ARGUMENT",
            ErrorKind::Authentication => "UNAUTHENTICATED",
            ErrorKind::PermissionDenied => "PERMISSION_DENIED",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::RequestTooLarge => "INVALID_ARGUMENT",
            ErrorKind::RateLimited => "RESOURCE_EXHAUSTED",
            ErrorKind::Api => "INTERNAL",
            ErrorKind::NotImplemented => "UNIMPLEMENTED",
            ErrorKind::Overloaded => "UNAVAILABLE",
            ErrorKind::Timeout => "DEADLINE_EXCEEDED",
        };
        json!({"error": {"code": self.status, "message": self.message, "status": status}})
    }
}

/// Extracts the human-readable message from an upstream error body of any
/// of the three shapes, falling back to the raw text (truncated).
pub fn upstream_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        let candidates = [
            value.pointer("/error/message"),
            value.pointer("/message"),
            value.pointer("/0/error/message"),
            value.pointer("/detail"),
        ];
        for candidate in candidates.into_iter().flatten() {
            if let Some(text) = candidate.as_str() {
                return text.to_string();
            }
        }
        if let Some(text) = value.pointer("/error").and_then(Value::as_str) {
            return text.to_string();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    const LIMIT: usize = 500;
    if text.len() > LIMIT {
        let cut = (0..=LIMIT).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        format!("{}…", &text[..cut])
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_carry_status_kind_and_message() {
        let err = ApiError::new(ErrorKind::Authentication, "bad key");
        assert_eq!(err.to_openai()["error"]["message"], "bad key");
        assert_eq!(err.to_openai()["error"]["code"], "invalid_api_key");
        assert_eq!(err.to_anthropic()["type"], "error");
        assert_eq!(err.to_anthropic()["error"]["type"], "authentication_error");
        assert_eq!(err.to_google()["error"]["code"], 401);
        assert_eq!(err.to_google()["error"]["status"], "UNAUTHENTICATED");
    }

    #[test]
    fn upstream_message_reads_every_shape() {
        assert_eq!(upstream_message(br#"{"error":{"message":"a"}}"#), "a");
        assert_eq!(
            upstream_message(br#"{"type":"error","error":{"type":"x","message":"b"}}"#),
            "b"
        );
        assert_eq!(upstream_message(br#"[{"error":{"code":429,"message":"c"}}]"#), "c");
        assert_eq!(upstream_message(b"<html>oops</html>"), "<html>oops</html>");
        let long = "é".repeat(400);
        assert!(upstream_message(long.as_bytes()).ends_with('…'));
    }
}
