//! The OpenAI Responses codec (`POST /v1/responses`), what Codex and other
//! agents speak.
//!
//! Clients send it to Switchyard; Switchyard never sends it upstream (its
//! upstreams speak Chat Completions, Messages and Gemini), but every
//! direction is implemented so that fixtures round-trip and fuzzers can
//! drive it.
//!
//! - `request`: request bodies.
//! - `options`: [`RequestOptions`], the Responses-only parts of a request
//!   (what the Response object echoes, whether reasoning carries encrypted
//!   content, how namespaced functions were named).
//! - `response`: the Response object and its output items.
//! - `stream`: the `response.*` event stream, encoder and decoder.
//! - `content`: content parts, reasoning's encrypted content, ids.
//!
//! Choices where the wire leaves room:
//! - **Reasoning.** An output `reasoning` item's readable text is its
//!   summary (the summaries joined by blank lines; its `content` when it has
//!   no summary). Its `encrypted_content`, sent only when the client asked
//!   for `reasoning.encrypted_content`, is this gateway's own envelope: the
//!   reasoning's signature as is, or `redacted:` followed by redacted
//!   reasoning data. Clients treat it as opaque and send it back, so the
//!   next turn replays Anthropic thinking and Gemini thought signatures
//!   intact. A signature on a tool call (Gemini) travels in a reasoning item
//!   with an empty summary right before the call, and comes back as a
//!   signed empty reasoning part, which the Gemini codec folds back onto the
//!   call. Reasoning with neither text nor anything to replay yields no item.
//! - **Namespaces.** Functions inside a `namespace` tool (Codex groups MCP
//!   tools that way) reach the upstream as plain functions named
//!   `{namespace}{name}` (a `__` is put between them unless the namespace
//!   already ends with one, giving `mcp__server__tool`); their calls go back
//!   split into `namespace` and `name`, which Codex dispatches on.
//!   `additional_tools` input items add their tools the same way.
//! - **Instructions.** `instructions` and the `system`/`developer` messages
//!   before the first conversation item are the system prompt; later ones
//!   stay in place as system messages.
//! - **Turns.** Consecutive assistant items (reasoning, messages, function
//!   calls) form one assistant message; consecutive `function_call_output`
//!   items one user message of tool results.
//! - **Status.** A turn cut by the token limit or a content filter ends
//!   `incomplete` (`response.incomplete` when streaming) with the reason in
//!   `incomplete_details`; any other finish completes.
//! - **Errors mid-stream** end with `response.failed`, whose Response has
//!   `status: "failed"` and `error: {code, message}`. The code is the one
//!   Codex acts on: `rate_limit_exceeded`, `server_is_overloaded`,
//!   `invalid_prompt` (not retried) or `server_error`. No `error` event
//!   precedes it: the SDKs raise on neither, and Codex reads the code from
//!   the failed Response.
//! - **Ids** are deterministic: `resp_{token}`, and `msg_` / `rs_` / `fc_`
//!   followed by the token and the output index.
//!
//! What is dropped, with a log line, because no upstream can carry it:
//! built-in tools other than web search (file search, computer use, code
//! interpreter, image generation, MCP, local shell, custom tools), input
//! items of those tools' calls and outputs, `item_reference` items, images
//! and files given by file id or file URL, and non-PDF documents. Streams
//! of another protocol's signatures on text blocks have no item to ride in.

mod content;
mod options;
mod request;
mod response;
mod stream;

#[cfg(test)]
mod testing;

pub use options::{NamespacedName, RequestOptions};
pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response, response_id};
pub use stream::{EventDecoder, EventEncoder};
