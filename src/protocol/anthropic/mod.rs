//! The Anthropic Messages codec (`POST /v1/messages`), in both directions:
//! clients (Anthropic SDKs, Claude Code) speak it to the gateway, and the
//! gateway speaks it to Anthropic and Anthropic-compatible upstreams (z.ai).
//!
//! - `request`: request bodies. Claude Code's `system`-role messages and
//!   `mid_conv_system` blocks become [`Role::System`](super::model::Role)
//!   messages; Anthropic-only built-in tools are dropped (web search is
//!   kept); plain-text documents become text and base64 PDFs inline media,
//!   while URL and Files-API documents are dropped. Upstream requests get a
//!   `max_tokens` of [`DEFAULT_MAX_TOKENS`] when the client set none, and
//!   thinking budgets of 1024 / 2048 / 8192 / 24576 tokens for minimal / low /
//!   medium (or unnamed) / high effort.
//! - `content`: the content blocks messages, tool results and responses
//!   share.
//! - `response`: non-streamed Messages; usage converts between Anthropic's
//!   `input_tokens` (cache reads and writes excluded) and the model's
//!   (included).
//! - `stream`: the SSE event stream.

mod content;
mod request;
mod response;
mod stream;

#[cfg(test)]
mod testing;

pub use request::{DEFAULT_MAX_TOKENS, decode_request, encode_request};
pub use response::{decode_response, decode_usage, encode_response};
pub use stream::{EventDecoder, EventEncoder};
