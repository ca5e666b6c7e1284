//! Wire protocols and the conversation model they translate through.
//!
//! This module is pure: no sockets, no clocks, no configuration. Each wire
//! format is one codec module that decodes and encodes requests, responses
//! and stream events to and from [`model`] and [`stream`]; [`Protocol`] picks
//! the codec at run time.

pub mod anthropic;
pub mod data_url;
pub mod dialect;
pub mod embed;
pub mod error;
pub mod gemini;
pub mod members;
pub mod model;
pub mod openai;
pub mod responses;
pub mod signature;
pub mod sse;
pub mod stream;

use bytes::Bytes;
use serde_json::Value;

pub use dialect::{ClientCodec, Dialect};
pub use error::{ApiError, ErrorKind};
pub use model::{ChatRequest, ChatResponse, ResponseMeta};
pub use stream::{EncoderOptions, SseFrame, StreamDecoder, StreamEncoder, StreamEvent};

/// A wire protocol spoken by a client or an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// OpenAI Chat Completions.
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini `generateContent`.
    Gemini,
}

impl Protocol {
    /// A short lowercase name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::OpenAi => "openai",
            Protocol::Anthropic => "anthropic",
            Protocol::Gemini => "gemini",
        }
    }

    /// Decodes a client request body. Gemini bodies carry no model (it is in
    /// the URL) and no stream flag (it is the method): the caller sets both.
    pub fn decode_request(self, body: &[u8]) -> Result<ChatRequest, ApiError> {
        match self {
            Protocol::OpenAi => openai::decode_request(body),
            Protocol::Anthropic => anthropic::decode_request(body),
            Protocol::Gemini => gemini::decode_request(body),
        }
    }

    /// Encodes a request for an upstream, naming `model` (the upstream's
    /// model name; Gemini puts it in the URL instead).
    pub fn encode_request(self, request: &ChatRequest, model: &str) -> Value {
        match self {
            Protocol::OpenAi => openai::encode_request(request, model),
            Protocol::Anthropic => anthropic::encode_request(request, model),
            Protocol::Gemini => gemini::encode_request(request, model),
        }
    }

    /// Decodes an upstream's non-streamed response.
    pub fn decode_response(self, body: &[u8], meta: &ResponseMeta) -> Result<ChatResponse, ApiError> {
        match self {
            Protocol::OpenAi => openai::decode_response(body, meta),
            Protocol::Anthropic => anthropic::decode_response(body, meta),
            Protocol::Gemini => gemini::decode_response(body, meta),
        }
    }

    /// The usage of an upstream's non-streamed response, the rest unread
    /// (for answers relayed as they are).
    pub fn decode_usage(self, body: &[u8]) -> Result<model::Usage, ApiError> {
        match self {
            Protocol::OpenAi => openai::decode_usage(body),
            Protocol::Anthropic => anthropic::decode_usage(body),
            Protocol::Gemini => gemini::decode_usage(body),
        }
    }

    /// Encodes a response for a client.
    pub fn encode_response(self, response: &ChatResponse, meta: &ResponseMeta) -> Value {
        match self {
            Protocol::OpenAi => openai::encode_response(response, meta),
            Protocol::Anthropic => anthropic::encode_response(response, meta),
            Protocol::Gemini => gemini::encode_response(response, meta),
        }
    }

    /// A decoder for this upstream's stream frames.
    pub fn stream_decoder(self, meta: &ResponseMeta) -> Box<dyn StreamDecoder> {
        match self {
            Protocol::OpenAi => Box::new(openai::ChunkDecoder::new(meta)),
            Protocol::Anthropic => Box::new(anthropic::EventDecoder::new(meta)),
            Protocol::Gemini => Box::new(gemini::ChunkDecoder::new(meta)),
        }
    }

    /// An encoder of this client's stream.
    pub fn stream_encoder(self, options: EncoderOptions) -> Box<dyn StreamEncoder> {
        match self {
            Protocol::OpenAi => Box::new(openai::ChunkEncoder::new(options)),
            Protocol::Anthropic => Box::new(anthropic::EventEncoder::new(options)),
            Protocol::Gemini => Box::new(gemini::ChunkEncoder::new(options)),
        }
    }

    /// The JSON error body this protocol's clients understand.
    pub fn error_body(self, error: &ApiError) -> Value {
        match self {
            Protocol::OpenAi => error.to_openai(),
            Protocol::Anthropic => error.to_anthropic(),
            Protocol::Gemini => error.to_google(),
        }
    }

    /// [`Protocol::error_body`] serialized.
    pub fn error_bytes(self, error: &ApiError) -> Bytes {
        json_bytes(&self.error_body(error))
    }
}

/// `value` as JSON, written straight into a buffer (`to_string` goes
/// through `fmt`'s adapter, byte runs at a time). A `Value` always
/// serializes: its map keys are strings.
pub fn json_bytes(value: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

/// Parses `body` as `T`, naming the failing field and position on error
/// (`messages[2].content: invalid type ...`), so that a client learns exactly
/// what to fix.
pub fn parse_json<'de, T: serde::Deserialize<'de>>(body: &'de [u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    // Deep nesting is refused by serde_json's recursion limit (128), never a stack overflow.
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path.is_empty() || path == "." {
            ApiError::invalid_request(format!("invalid JSON body: {inner}"))
        } else {
            ApiError::invalid_request(format!("invalid JSON body at `{path}`: {inner}"))
        }
    })?;
    deserializer
        .end()
        .map_err(|err| ApiError::invalid_request(format!("invalid JSON body: {err}")))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        messages: Vec<Msg>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Msg {
        content: String,
    }

    /// A relayed answer's usage, read alone, is what the whole decode finds,
    /// for every upstream fixture; an error in a 200 is still an error.
    #[test]
    fn usage_alone_is_the_whole_decodes_usage() {
        let meta = model::ResponseMeta {
            id: "id".into(),
            model: "m".into(),
            created: 0,
        };
        let mut checked = 0;
        for (protocol, dir) in [
            (Protocol::OpenAi, "openai"),
            (Protocol::Anthropic, "anthropic"),
            (Protocol::Gemini, "gemini"),
        ] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(dir);
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                if !(name.starts_with("response_") || name.starts_with("upstream_")) || !name.ends_with(".json") {
                    continue;
                }
                let body = std::fs::read(&path).unwrap();
                let Ok(whole) = protocol.decode_response(&body, &meta) else {
                    continue;
                };
                assert_eq!(protocol.decode_usage(&body).unwrap(), whole.usage, "{name}");
                checked += 1;
            }
        }
        assert!(checked >= 10, "only {checked} fixtures read");
        assert!(
            Protocol::OpenAi
                .decode_usage(br#"{"error":{"message":"no","type":"x"}}"#)
                .is_err()
        );
        assert!(
            Protocol::Anthropic
                .decode_usage(br#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#)
                .is_err()
        );
        assert!(
            Protocol::Gemini
                .decode_usage(br#"{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}}"#)
                .is_err()
        );
        assert!(Protocol::OpenAi.decode_usage(b"<html>").is_err());
    }

    #[test]
    fn parse_errors_name_the_field() {
        let err = parse_json::<Body>(br#"{"messages":[{"content":"a"},{"content":5}]}"#).unwrap_err();
        assert!(err.message.contains("messages[1].content"), "{}", err.message);
        assert_eq!(err.status, 400);
        let err = parse_json::<Body>(b"{\"messages\": [").unwrap_err();
        assert!(err.message.contains("line 1"), "{}", err.message);
        let err = parse_json::<Body>(br#"{"messages":[]} trailing"#).unwrap_err();
        assert!(err.message.contains("trailing"), "{}", err.message);
    }
}
