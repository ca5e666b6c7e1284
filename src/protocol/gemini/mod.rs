//! The Gemini `generateContent` codec.
//!
//! Both directions go through it: google-genai clients send
//! `models/{model}:generateContent` / `:streamGenerateContent` bodies to
//! Switchyard, and Switchyard sends the same shape to `gemini` upstreams
//! (always with `alt=sse` when streaming). The model name travels in the URL,
//! so the codec neither reads nor writes it.
//!
//! - [`request`]: `GenerateContentRequest` ([`decode_request`], [`encode_request`]).
//! - [`response`]: `GenerateContentResponse` ([`decode_response`], [`encode_response`]).
//! - [`stream`]: the chunk stream ([`ChunkDecoder`], [`ChunkEncoder`]).
//! - `content`: `Content`/`Part` shared by all three, and where thought
//!   signatures are kept.
//! - [`schema`]: JSON Schema ↔ Gemini `Schema`.
//!
//! What does not cross: `executableCode`/`codeExecutionResult` parts and the
//! built-in tools other than Google Search (no other upstream runs them),
//! `safetySettings`, `cachedContent` and `labels` (account-specific), and
//! reasoning without a Gemini signature when sending to Gemini (the API
//! cannot verify another provider's reasoning).

mod content;
pub mod request;
pub mod response;
pub mod schema;
pub mod stream;

pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response};
pub use schema::cleanup_schema;
pub use stream::{ChunkDecoder, ChunkEncoder};

#[cfg(test)]
mod hostile_tests;
