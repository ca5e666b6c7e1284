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
//! built-in tools other than Google Search (no other upstream runs them;
//! dropped tools are logged), `safetySettings`, `cachedContent` and `labels`
//! (account-specific), media parts inside a stream (the stream model has no
//! media block), and reasoning without a Gemini signature when sending to
//! Gemini (the API cannot verify another provider's reasoning).
//!
//! Choices where the wire leaves room:
//! - Tool results are sent as `{"output": text}` / `{"error": text}` unless
//!   their text is already a JSON object: the keys the `FunctionResponse`
//!   reference documents.
//! - Tool-call arguments that are not a JSON object reach the Gemini API as
//!   `{}` (it accepts nothing else) but reach a client as `{"_raw": text}`,
//!   so that the tool sees what the model wrote.
//! - Efforts map to thinking budgets (none 0, minimal 512, low 1024, medium
//!   8192, high 24576); Gemini 3's `thinkingLevel` is read but not written,
//!   since every current model still accepts a budget.
//! - The SSE keep-alive is a blank line, not a `:` comment: google-genai
//!   (Python) parses every other non-`data:` line as JSON and fails on a
//!   comment. In the JSON-array form the same bytes are whitespace.
//! - Errors mid-stream are a `data: {"error": ...}` frame (or the next array
//!   element), which google-genai raises as an `APIError`.

mod content;
pub mod request;
pub mod response;
pub mod schema;
pub mod stream;

pub use request::{decode_request, encode_request};
pub use response::{decode_response, decode_usage, encode_response};
pub use schema::cleanup_schema;
pub use stream::{ChunkDecoder, ChunkEncoder};

#[cfg(test)]
mod hostile_tests;
