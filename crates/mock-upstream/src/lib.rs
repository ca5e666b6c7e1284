//! A mock upstream that speaks the OpenAI, Anthropic and Gemini wire formats
//! on one port, for Switchyard's end-to-end tests and benchmarks.
//!
//! ```text
//! cargo run --example mock_upstream -- [--port N] [--latency-ms MS] [--chunk-delay-ms MS] [--stream-pieces N] [--api-key KEY] [--no-tool-calls]
//! ```
//!
//! | route | answers as |
//! | --- | --- |
//! | `POST /v1/chat/completions` | OpenAI Chat Completions (account base URL `http://127.0.0.1:PORT/v1`) |
//! | `POST /v1/messages` | Anthropic Messages (base URL `http://127.0.0.1:PORT`) |
//! | `POST /v1beta/models/{m}:generateContent`, `:streamGenerateContent[?alt=sse]` | Gemini |
//! | `POST /v1/messages/count_tokens` | Anthropic token count `{"input_tokens": N}` |
//! | `POST /v1beta/models/{m}:countTokens` | Gemini token count `{"totalTokens": N}` |
//! | `POST /v1/embeddings` | OpenAI embeddings (vectors from [`embed::vector`]) |
//! | `POST /v1beta/models/{m}:embedContent`, `:batchEmbedContents` | Gemini embeddings (at most 100 per batch) |
//! | `GET /v1/models`, `GET /v1beta/models` | model lists: OpenAI's, Anthropic's (with `anthropic-version`), Gemini's |
//! | `GET /healthz` | `{"status":"ok"}` |
//! | `GET /_mock/requests` | `{"requests": N}`: how many requests (this one aside) it has received |
//!
//! Answers are canned but real-shaped, complete or streamed (several events,
//! usage, finish reason):
//! - the text answer is `echo: <last user text> [mock <provider> <model>]`,
//!   naming the wire format and the model it was asked for, so that a test
//!   through a gateway can tell where its request went;
//! - when the request declares tools and its last message is not a tool
//!   result, the answer is a call of the first declared tool whose arguments
//!   hold the last user text in the tool's first parameter (streamed in
//!   fragments for OpenAI and Anthropic, whole for Gemini, as the real APIs do);
//! - when the last message carries a tool result, the answer is
//!   `tool result: <the result's text> · echo: <last user text> [mock ...]`;
//! - with `--no-tool-calls` the answer is text whatever tools the request
//!   declares: a coding agent (Claude Code, Codex) declares dozens of tools
//!   and must get a plain answer to finish its turn;
//! - in any mode, a last user text that contains `[call NAME {JSON}]` gets a
//!   call of tool NAME with those arguments, so that a test can make an agent
//!   run a chosen tool and send its result back;
//! - Gemini function calls carry a `thoughtSignature`, and a request whose
//!   model turn holds a function call without that signature is refused with
//!   a 400, as Gemini 3 refuses one (stricter than Gemini, which also takes
//!   its documented placeholder: a lost signature must not go unnoticed);
//! - when a request asks for thinking (Anthropic `thinking` enabled or
//!   adaptive, Gemini `thinkingConfig.includeThoughts`), the answer opens
//!   with a signed thought ([`MOCK_THOUGHT`]); an Anthropic request with
//!   thinking on must open its last assistant turn that called a tool with
//!   that signed thinking block, and any thinking block must carry the
//!   mock's signature, as Anthropic checks (else a 400 in its words);
//! - a count is `1000 +` the number of words in the request's `text` fields
//!   (system, messages, `contents` or `generateContentRequest`), so that a
//!   test can tell the upstream's count from a gateway's local estimate.
//!
//! Each request must carry the provider's own credential header
//! (`Authorization: Bearer`, `x-api-key` + `anthropic-version`,
//! `x-goog-api-key`); with `--api-key` it must also match. Errors come back in
//! the provider's error shape and status.
//!
//! `--port 0` picks a free port; the first line on stdout is always
//! `listening on 127.0.0.1:PORT`. `--latency-ms` delays every response's
//! headers; `--chunk-delay-ms` spaces a stream's events; `--stream-pieces`
//! (default 3) is how many text events a streamed text answer is split into,
//! so that a benchmark can hold streams open longer. With both delays at 0 (the
//! default) the mock is a zero-latency upstream for benchmarks: a request is
//! parsed once and the answer is written from canned templates.
//!
//! In-process (tests): `Server::start(Options::default())` on a free port;
//! the binary is `examples/mock_upstream.rs` in the switchyard package.
//!
//! Tests that script an upstream answer by answer (switchyard's
//! `tests/it`) take the formats from [`canned`] and [`shapes`]: a
//! [`canned::Canned`] answer rendered as each provider writes it, complete
//! or streamed, with its error bodies and mid-stream errors.
//!
//! This crate does not depend on switchyard: it is the far side of the wire.

mod ask;
pub mod canned;
pub mod embed;
pub mod engines;
mod options;
mod reply;
mod respond;
mod server;
pub mod shapes;
mod wire;

pub use options::{LISTENING, Options, USAGE, parse_args};
pub use server::Server;

#[cfg(test)]
mod tests;
