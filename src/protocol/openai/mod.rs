//! The OpenAI Chat Completions codec (`POST /v1/chat/completions`).
//!
//! It works in both directions: clients of the OpenAI SDKs send it to
//! Switchyard, and Switchyard sends it to OpenAI and the many servers that
//! copy its API (DeepSeek, z.ai, vLLM, Ollama...). Those servers differ in
//! small ways the decoders accept: reasoning under `reasoning_content` or
//! `reasoning`, usage on every chunk or with the finish reason, whole tool
//! calls in one chunk, `choices: null`, an `error` object in a 200 body.
//!
//! - `content`: message content and tool calls, shared by the others.
//! - `request`: the request body, both ways.
//! - `response`: the non-streamed `chat.completion`.
//! - `stream`: `chat.completion.chunk` SSE, decoder and encoder.
//!
//! What the model cannot carry is dropped on the way in: audio parts,
//! uploaded-file references, non-function tools, image `detail`, function
//! `strict`, the legacy `functions` parameters. The deprecated `function`
//! message role is refused with a 400 that says to use `tool` messages, and
//! `n > 1` is refused because the gateway serves one choice.

mod content;
mod request;
mod response;
mod stream;

pub use request::{decode_request, encode_request};
pub use response::{decode_response, decode_usage, encode_response};
pub use stream::{ChunkDecoder, ChunkEncoder};
