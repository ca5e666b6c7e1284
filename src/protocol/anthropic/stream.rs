//! The Messages SSE stream: `message_start`, content blocks
//! (`content_block_start` / `_delta` / `_stop`), `message_delta`,
//! `message_stop`, with `ping` and `error` anywhere.

use bytes::BytesMut;
use serde::Deserialize;
use serde_json::{Value, json};

use super::response::{WireError, WireUsage, finish_from_wire, finish_to_wire, unreadable, usage_json};
use crate::protocol::ApiError;
use crate::protocol::model::{FinishReason, ResponseMeta, Usage};
use crate::protocol::stream::{BlockKind, Delta, EncoderOptions, SseFrame, StreamDecoder, StreamEncoder, StreamEvent};

// ---------------------------------------------------------------------------
// Decoding an upstream stream
// ---------------------------------------------------------------------------

/// Every field any event carries, read in one pass; which ones matter depends
/// on the event type. Block starts stay JSON because unknown block types
/// (server tool results, ...) have fields of any shape.
#[derive(Deserialize)]
struct WireEvent {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<WireStartMessage>,
    index: Option<u64>,
    content_block: Option<Value>,
    delta: Option<WireDelta>,
    usage: Option<WireUsage>,
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct WireStartMessage {
    usage: Option<WireUsage>,
}

/// A `content_block_delta`'s or a `message_delta`'s `delta`.
#[derive(Deserialize)]
struct WireDelta {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    thinking: Option<String>,
    signature: Option<String>,
    partial_json: Option<String>,
    stop_reason: Option<String>,
}

/// The block the upstream has open.
struct OpenBlock {
    /// The upstream's index for it; deltas for other indices are ignored.
    index: Option<u64>,
    kind: OpenKind,
}

impl OpenBlock {
    /// Whether an event for `index` is about this block (servers that leave
    /// out indices are taken at their word).
    fn owns(&self, index: Option<u64>) -> bool {
        index.is_none() || self.index.is_none() || index == self.index
    }
}

enum OpenKind {
    Text,
    Reasoning,
    Redacted,
    ToolCall {
        /// Arguments given in the start event, surfaced at the end unless
        /// fragments arrive (Anthropic sends `{}` there and streams the rest).
        start_input: String,
        streamed: bool,
    },
    /// A block the model cannot carry (server tool use, search results):
    /// its deltas and its stop are swallowed.
    Ignored,
}

/// Decodes an Anthropic upstream's stream into [`StreamEvent`]s.
pub struct EventDecoder {
    meta: ResponseMeta,
    open: Option<OpenBlock>,
    usage: WireUsage,
    tool_calls: usize,
    /// The first `stop_reason` seen. The Finish waits for `message_stop` (or
    /// the end of the stream) so that no block can follow it.
    stop_reason: Option<FinishReason>,
    /// `message_stop` or an error arrived: the stream is over.
    done: bool,
}

impl EventDecoder {
    /// A decoder for one response; `meta` names tool calls that arrive without an id.
    pub fn new(meta: &ResponseMeta) -> Self {
        EventDecoder {
            meta: meta.clone(),
            open: None,
            usage: WireUsage::default(),
            tool_calls: 0,
            stop_reason: None,
            done: false,
        }
    }

    fn close(&mut self, out: &mut Vec<StreamEvent>) {
        let Some(open) = self.open.take() else {
            return;
        };
        match open.kind {
            OpenKind::Ignored => return,
            OpenKind::ToolCall {
                start_input,
                streamed: false,
            } => out.push(StreamEvent::Delta(Delta::ToolArguments(start_input))),
            _ => {}
        }
        out.push(StreamEvent::BlockStop);
    }

    /// Closes the stream: the open block, then the one Finish.
    fn end(&mut self, out: &mut Vec<StreamEvent>) {
        self.close(out);
        self.done = true;
        let reason = self.stop_reason.take().unwrap_or(if self.tool_calls > 0 {
            // A stream cut before `message_delta`: tool calls are the one
            // thing a client must be told it has to act on.
            FinishReason::ToolCalls
        } else {
            FinishReason::Stop
        });
        out.push(StreamEvent::Finish(reason));
    }

    fn start(&mut self, index: Option<u64>, block: &Value, out: &mut Vec<StreamEvent>) {
        let text = |field: &str| block.get(field).and_then(Value::as_str).unwrap_or("");
        let kind = match text("type") {
            "text" => {
                out.push(StreamEvent::BlockStart(BlockKind::Text));
                push_nonempty(out, text("text"), Delta::Text);
                OpenKind::Text
            }
            "thinking" => {
                out.push(StreamEvent::BlockStart(BlockKind::Reasoning));
                push_nonempty(out, text("thinking"), Delta::Reasoning);
                push_nonempty(out, text("signature"), Delta::Signature);
                OpenKind::Reasoning
            }
            "redacted_thinking" => {
                out.push(StreamEvent::BlockStart(BlockKind::RedactedReasoning {
                    data: text("data").to_owned(),
                }));
                OpenKind::Redacted
            }
            "tool_use" => {
                let id = match text("id") {
                    "" => self.meta.tool_call_id(self.tool_calls),
                    id => id.to_owned(),
                };
                self.tool_calls += 1;
                out.push(StreamEvent::BlockStart(BlockKind::ToolCall {
                    id,
                    name: text("name").to_owned(),
                    signature: None,
                }));
                let start_input = match block.get("input") {
                    Some(input @ Value::Object(fields)) if !fields.is_empty() => input.to_string(),
                    _ => "{}".to_owned(),
                };
                OpenKind::ToolCall {
                    start_input,
                    streamed: false,
                }
            }
            _ => OpenKind::Ignored,
        };
        self.open = Some(OpenBlock { index, kind });
    }

    fn delta(&mut self, index: Option<u64>, delta: WireDelta, out: &mut Vec<StreamEvent>) {
        let kind = delta.kind.as_deref().unwrap_or("");
        if self.open.is_none() {
            // A server that skips `content_block_start` still gets its text through.
            let implied = match kind {
                "text_delta" => json!({"type": "text"}),
                "thinking_delta" => json!({"type": "thinking"}),
                _ => return,
            };
            self.start(index, &implied, out);
        }
        let Some(open) = self.open.as_mut() else {
            return;
        };
        if !open.owns(index) {
            return;
        }
        match (kind, &mut open.kind) {
            ("text_delta", OpenKind::Text) => push_nonempty(out, delta.text.as_deref().unwrap_or(""), Delta::Text),
            ("thinking_delta", OpenKind::Reasoning) => {
                push_nonempty(out, delta.thinking.as_deref().unwrap_or(""), Delta::Reasoning)
            }
            ("signature_delta", OpenKind::Reasoning) => {
                push_nonempty(out, delta.signature.as_deref().unwrap_or(""), Delta::Signature)
            }
            ("input_json_delta", OpenKind::ToolCall { streamed, .. }) => {
                let fragment = delta.partial_json.unwrap_or_default();
                if !fragment.is_empty() {
                    *streamed = true;
                    out.push(StreamEvent::Delta(Delta::ToolArguments(fragment)));
                }
            }
            // Citations, and deltas that do not fit the open block.
            _ => {}
        }
    }
}

fn push_nonempty(out: &mut Vec<StreamEvent>, text: &str, delta: fn(String) -> Delta) {
    if !text.is_empty() {
        out.push(StreamEvent::Delta(delta(text.to_owned())));
    }
}

impl StreamDecoder for EventDecoder {
    fn decode(&mut self, frame: SseFrame<'_>, out: &mut Vec<StreamEvent>) -> Result<(), ApiError> {
        if self.done || frame.data.trim().is_empty() {
            return Ok(());
        }
        let event: WireEvent = serde_json::from_str(frame.data).map_err(|err| unreadable("a stream event", err))?;
        // The data's `type` is authoritative; the SSE name covers servers that omit it.
        let kind = event.kind.as_deref().or(frame.event).unwrap_or("");
        match kind {
            "message_start" => {
                if let Some(usage) = event.message.and_then(|message| message.usage) {
                    self.usage.merge(usage);
                    out.push(StreamEvent::Usage(self.usage.to_model()));
                }
            }
            "content_block_start" => {
                self.close(out);
                if let Some(block) = &event.content_block {
                    self.start(event.index, block, out);
                }
            }
            "content_block_delta" => {
                if let Some(delta) = event.delta {
                    self.delta(event.index, delta, out);
                }
            }
            "content_block_stop" if self.open.as_ref().is_some_and(|open| open.owns(event.index)) => self.close(out),
            "message_delta" => {
                if let Some(usage) = event.usage {
                    self.usage.merge(usage);
                    out.push(StreamEvent::Usage(self.usage.to_model()));
                }
                let reason = event.delta.and_then(|delta| delta.stop_reason);
                if self.stop_reason.is_none() {
                    self.stop_reason = reason.as_deref().map(finish_from_wire);
                }
            }
            "message_stop" => self.end(out),
            "error" => {
                self.done = true;
                let error = event.error.unwrap_or_default();
                out.push(StreamEvent::Error(error.into_api_error()));
            }
            // `ping`, and event types newer than this codec.
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        if !self.done {
            self.end(out);
        }
    }
}

// ---------------------------------------------------------------------------
// Encoding a client stream
// ---------------------------------------------------------------------------

/// The kind of block the client has open.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientBlock {
    Text,
    Thinking,
    RedactedThinking,
    ToolUse,
}

/// Encodes [`StreamEvent`]s as the SSE stream Anthropic SDKs read.
pub struct EventEncoder {
    meta: ResponseMeta,
    /// `message_start` (and its `ping`) has been written.
    started: bool,
    /// The stream is over: an error was written, or the epilogue.
    ended: bool,
    /// The open block and its index.
    open: Option<(usize, ClientBlock)>,
    next_index: usize,
    tool_calls: usize,
    usage: Usage,
    /// The first finish reason; written in the epilogue.
    finish_reason: Option<FinishReason>,
}

impl EventEncoder {
    /// An encoder for one response.
    pub fn new(options: EncoderOptions) -> Self {
        EventEncoder {
            meta: options.meta,
            started: false,
            ended: false,
            open: None,
            next_index: 0,
            tool_calls: 0,
            usage: Usage::default(),
            finish_reason: None,
        }
    }

    fn ensure_started(&mut self, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        let message = json!({
            "type": "message_start",
            "message": {
                "id": format!("msg_{}", self.meta.id),
                "type": "message",
                "role": "assistant",
                "content": [],
                "model": self.meta.model,
                "stop_reason": null,
                "stop_sequence": null,
                "usage": usage_json(&self.usage),
            },
        });
        write_event(out, &message);
        // Anthropic pings once early; some clients take it as the sign of life.
        write_ping(out);
    }

    fn close(&mut self, out: &mut BytesMut) {
        if let Some((index, _)) = self.open.take() {
            write_event(out, &json!({"type": "content_block_stop", "index": index}));
        }
    }

    fn open_block(&mut self, kind: ClientBlock, content_block: Value, out: &mut BytesMut) {
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some((index, kind));
        write_event(
            out,
            &json!({"type": "content_block_start", "index": index, "content_block": content_block}),
        );
    }

    fn start_block(&mut self, kind: &BlockKind, out: &mut BytesMut) {
        match kind {
            BlockKind::Text => self.open_block(ClientBlock::Text, json!({"type": "text", "text": ""}), out),
            BlockKind::Reasoning => self.open_block(
                ClientBlock::Thinking,
                json!({"type": "thinking", "thinking": "", "signature": ""}),
                out,
            ),
            BlockKind::RedactedReasoning { data } => self.open_block(
                ClientBlock::RedactedThinking,
                json!({"type": "redacted_thinking", "data": data}),
                out,
            ),
            BlockKind::ToolCall { id, name, .. } => {
                let id = if id.is_empty() {
                    self.meta.tool_call_id(self.tool_calls)
                } else {
                    id.clone()
                };
                self.tool_calls += 1;
                self.open_block(
                    ClientBlock::ToolUse,
                    json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                    out,
                );
            }
        }
    }

    /// Writes a delta into the open block, opening a text or thinking block
    /// first if the delta arrived without one.
    fn write_delta(&mut self, delta: &Delta, out: &mut BytesMut) {
        let (wanted, body) = match delta {
            Delta::Text(text) if !text.is_empty() => (ClientBlock::Text, json!({"type": "text_delta", "text": text})),
            Delta::Reasoning(text) if !text.is_empty() => (
                ClientBlock::Thinking,
                json!({"type": "thinking_delta", "thinking": text}),
            ),
            Delta::Signature(signature) if !signature.is_empty() => (
                ClientBlock::Thinking,
                json!({"type": "signature_delta", "signature": signature}),
            ),
            Delta::ToolArguments(fragment) if !fragment.is_empty() => (
                ClientBlock::ToolUse,
                json!({"type": "input_json_delta", "partial_json": fragment}),
            ),
            _ => return,
        };
        if !matches!(self.open, Some((_, kind)) if kind == wanted) {
            match delta {
                Delta::Text(_) => self.start_block(&BlockKind::Text, out),
                Delta::Reasoning(_) => self.start_block(&BlockKind::Reasoning, out),
                // A signature belongs to the thinking it signs, and arguments
                // to a named call: neither can open a block of its own.
                Delta::Signature(_) | Delta::ToolArguments(_) => return,
            }
        }
        let Some((index, _)) = self.open else {
            return;
        };
        write_event(
            out,
            &json!({"type": "content_block_delta", "index": index, "delta": body}),
        );
    }
}

impl StreamEncoder for EventEncoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut BytesMut) {
        if self.ended {
            return;
        }
        match event {
            StreamEvent::Error(error) => {
                // Nothing may follow: the SDK raises on this event.
                self.ended = true;
                write_event(out, &error.to_anthropic());
                return;
            }
            // Recorded before the preamble so that message_start can carry it.
            StreamEvent::Usage(usage) => self.usage = *usage,
            StreamEvent::Finish(reason) => {
                self.finish_reason.get_or_insert_with(|| reason.clone());
            }
            _ => {}
        }
        self.ensure_started(out);
        match event {
            StreamEvent::BlockStart(kind) => self.start_block(kind, out),
            StreamEvent::Delta(delta) => self.write_delta(delta, out),
            StreamEvent::BlockStop => self.close(out),
            _ => {}
        }
    }

    fn finish(&mut self, out: &mut BytesMut) {
        if self.ended {
            return;
        }
        self.ensure_started(out);
        self.close(out);
        self.ended = true;
        let reason = match &self.finish_reason {
            Some(reason) => finish_to_wire(reason),
            // No reason came: a turn that called tools still has to be answered.
            None if self.tool_calls > 0 => "tool_use",
            None => "end_turn",
        };
        let delta = json!({
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": null},
            "usage": usage_json(&self.usage),
        });
        write_event(out, &delta);
        write_event(out, &json!({"type": "message_stop"}));
    }

    fn keep_alive(&mut self, out: &mut BytesMut) {
        // After message_stop or an error the client is no longer reading events.
        if !self.ended {
            write_ping(out);
        }
    }
}

/// Writes one event named after its data's `type`, as Anthropic does (the
/// SDKs dispatch on the name).
fn write_event(out: &mut BytesMut, data: &Value) {
    let name = data.get("type").and_then(Value::as_str).unwrap_or_default();
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    let _ = serde_json::to_writer(bytes::BufMut::writer(&mut *out), data);
    out.extend_from_slice(b"\n\n");
}

/// Byte for byte what Anthropic sends, which SDKs skip.
fn write_ping(out: &mut BytesMut) {
    out.extend_from_slice(b"event: ping\ndata: {\"type\": \"ping\"}\n\n");
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
