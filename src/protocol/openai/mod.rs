//! The OpenAI Chat Completions codec. (Stub: filled in by the translation work.)

use bytes::BytesMut;
use serde_json::Value;

use super::model::{ChatRequest, ChatResponse, ResponseMeta};
use super::stream::{EncoderOptions, SseFrame, StreamDecoder, StreamEncoder, StreamEvent};
use super::{ApiError, ErrorKind};

fn unimplemented() -> ApiError {
    ApiError::new(ErrorKind::NotImplemented, "OpenAI Chat Completions translation is not implemented yet")
}

/// Decodes a client request.
pub fn decode_request(_body: &[u8]) -> Result<ChatRequest, ApiError> {
    Err(unimplemented())
}

/// Encodes a request for an upstream.
pub fn encode_request(_request: &ChatRequest, _model: &str) -> Value {
    Value::Null
}

/// Decodes an upstream response.
pub fn decode_response(_body: &[u8], _meta: &ResponseMeta) -> Result<ChatResponse, ApiError> {
    Err(unimplemented())
}

/// Encodes a response for a client.
pub fn encode_response(_response: &ChatResponse, _meta: &ResponseMeta) -> Value {
    Value::Null
}

/// Decodes an upstream stream.
pub struct ChunkDecoder;

impl ChunkDecoder {
    /// A decoder for one response.
    pub fn new(_meta: &ResponseMeta) -> Self {
        ChunkDecoder
    }
}

impl StreamDecoder for ChunkDecoder {
    fn decode(&mut self, _frame: SseFrame<'_>, _out: &mut Vec<StreamEvent>) -> Result<(), ApiError> {
        Err(unimplemented())
    }
    fn finish(&mut self, _out: &mut Vec<StreamEvent>) {}
}

/// Encodes a client stream.
pub struct ChunkEncoder;

impl ChunkEncoder {
    /// An encoder for one response.
    pub fn new(_options: EncoderOptions) -> Self {
        ChunkEncoder
    }
}

impl StreamEncoder for ChunkEncoder {
    fn encode(&mut self, _event: &StreamEvent, _out: &mut BytesMut) {}
    fn finish(&mut self, _out: &mut BytesMut) {}
    fn keep_alive(&mut self, out: &mut BytesMut) {
        out.extend_from_slice(b": keep-alive\n\n");
    }
}
