//! `chat.completion.chunk` streams: decoding an upstream's chunks into
//! [`StreamEvent`]s, and encoding events as the chunks OpenAI SDKs read.

use bytes::{BufMut, BytesMut};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::content::arguments_text;
use super::response::{
    decode_finish_reason, error_from_value, finish_reason_name, merge_usage, null_as_default, usage_to_value,
};
use crate::protocol::ApiError;
use crate::protocol::model::{FinishReason, ResponseMeta, Usage};
use crate::protocol::stream::{BlockKind, Delta, EncoderOptions, SseFrame, StreamDecoder, StreamEncoder, StreamEvent};

#[derive(Deserialize)]
struct WireChunk {
    #[serde(default, deserialize_with = "null_as_default")]
    choices: Vec<WireChunkChoice>,
    usage: Option<Value>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct WireChunkChoice {
    index: Option<u64>,
    delta: Option<WireDelta>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireDelta {
    content: Option<String>,
    /// Not in OpenAI's schema: read leniently, a non-string is ignored.
    reasoning_content: Option<Value>,
    reasoning: Option<Value>,
    refusal: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    tool_calls: Vec<WireToolCallDelta>,
}

#[derive(Deserialize)]
struct WireToolCallDelta {
    index: Option<u64>,
    id: Option<String>,
    function: Option<WireFunctionDelta>,
}

#[derive(Deserialize)]
struct WireFunctionDelta {
    name: Option<String>,
    arguments: Option<Value>,
}

/// The block the decoder has open.
enum OpenBlock {
    Text,
    Reasoning,
    ToolCall {
        /// The upstream's `index` for the call, when it sends one.
        index: Option<u64>,
        /// The upstream's id for the call, when it sent one.
        upstream_id: Option<String>,
        /// Whether any argument text has been emitted for it.
        has_arguments: bool,
    },
}

/// Decodes an OpenAI-compatible upstream's chunk stream.
pub struct ChunkDecoder {
    meta: ResponseMeta,
    open: Option<OpenBlock>,
    /// Tool calls started so far (numbers the ids made up for unnamed calls).
    tool_calls: usize,
    finished: bool,
    /// The latest usage, held back until the finish reason so that usage
    /// always follows the blocks.
    pending_usage: Option<Usage>,
    emitted_usage: Option<Usage>,
    /// `[DONE]`, an error or `finish()` was seen: nothing more is emitted.
    ended: bool,
}

impl ChunkDecoder {
    /// A decoder for one response; `meta` names tool calls the upstream left unnamed.
    pub fn new(meta: &ResponseMeta) -> Self {
        ChunkDecoder {
            meta: meta.clone(),
            open: None,
            tool_calls: 0,
            finished: false,
            pending_usage: None,
            emitted_usage: None,
            ended: false,
        }
    }

    fn close(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some(block) = self.open.take() {
            // A call whose arguments never came still needs a valid object.
            if let OpenBlock::ToolCall {
                has_arguments: false, ..
            } = block
            {
                out.push(StreamEvent::Delta(Delta::ToolArguments("{}".to_owned())));
            }
            out.push(StreamEvent::BlockStop);
        }
    }

    /// Opens a text or reasoning block unless one of that kind is open.
    fn ensure_open(&mut self, reasoning: bool, out: &mut Vec<StreamEvent>) {
        let same = matches!(
            (&self.open, reasoning),
            (Some(OpenBlock::Text), false) | (Some(OpenBlock::Reasoning), true)
        );
        if !same {
            self.close(out);
            self.open = Some(if reasoning {
                OpenBlock::Reasoning
            } else {
                OpenBlock::Text
            });
            out.push(StreamEvent::BlockStart(if reasoning {
                BlockKind::Reasoning
            } else {
                BlockKind::Text
            }));
        }
    }

    fn tool_delta(&mut self, call: WireToolCallDelta, out: &mut Vec<StreamEvent>) {
        let id = call.id.filter(|id| !id.is_empty());
        let (name, arguments) = match call.function {
            Some(function) => (function.name.filter(|n| !n.is_empty()), function.arguments),
            None => (None, None),
        };
        let continues_open = match &self.open {
            Some(OpenBlock::ToolCall { index, upstream_id, .. }) => {
                let same_index = match (call.index, index) {
                    (Some(new), Some(open)) => new == *open,
                    _ => true,
                };
                let same_id = match (&id, upstream_id) {
                    (Some(new), Some(open)) => new == open,
                    _ => true,
                };
                // Without index or id, a name can only start another call.
                let unmarked_new = call.index.is_none() && id.is_none() && name.is_some();
                same_index && same_id && !unmarked_new
            }
            _ => false,
        };
        if !continues_open {
            self.close(out);
            out.push(StreamEvent::BlockStart(BlockKind::ToolCall {
                id: id.clone().unwrap_or_else(|| self.meta.tool_call_id(self.tool_calls)),
                name: name.unwrap_or_default(),
                signature: None,
            }));
            self.tool_calls += 1;
            self.open = Some(OpenBlock::ToolCall {
                index: call.index,
                upstream_id: id,
                has_arguments: false,
            });
        }
        let fragment = match arguments {
            Some(Value::String(text)) => text,
            None | Some(Value::Null) => String::new(),
            // A server that sends the whole arguments object at once.
            Some(other) => arguments_text(Some(other)),
        };
        if !fragment.is_empty() {
            if let Some(OpenBlock::ToolCall { has_arguments, .. }) = &mut self.open {
                *has_arguments = true;
            }
            out.push(StreamEvent::Delta(Delta::ToolArguments(fragment)));
        }
    }

    /// Emits the held usage if it is new. Called only once the finish reason
    /// has closed the blocks, so usage always follows them.
    fn flush_usage(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some(usage) = self.pending_usage.take()
            && self.emitted_usage != Some(usage)
        {
            self.emitted_usage = Some(usage);
            out.push(StreamEvent::Usage(usage));
        }
    }

    /// Ends the stream well-formed: closes the open block, supplies a finish
    /// reason if none came, and emits the last usage.
    fn end(&mut self, out: &mut Vec<StreamEvent>) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.close(out);
        if !self.finished {
            self.finished = true;
            out.push(StreamEvent::Finish(decode_finish_reason(None, self.tool_calls > 0)));
        }
        self.flush_usage(out);
    }
}

impl StreamDecoder for ChunkDecoder {
    fn decode(&mut self, frame: SseFrame<'_>, out: &mut Vec<StreamEvent>) -> Result<(), ApiError> {
        let data = frame.data.trim();
        if self.ended || data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            self.end(out);
            return Ok(());
        }
        let chunk: WireChunk = serde_json::from_str(data)
            .map_err(|err| ApiError::upstream(502, format!("the upstream sent an unreadable stream chunk: {err}")))?;
        if let Some(error) = chunk.error.as_ref().filter(|e| !e.is_null()) {
            self.ended = true;
            out.push(StreamEvent::Error(error_from_value(error)));
            return Ok(());
        }
        // The gateway asks for one choice; others (n > 1 upstream) are ignored.
        if let Some(choice) = chunk.choices.into_iter().find(|c| c.index.unwrap_or(0) == 0)
            && !self.finished
        {
            if let Some(delta) = choice.delta {
                // Servers that send both names send the same text twice.
                let reasoning = [delta.reasoning_content, delta.reasoning]
                    .into_iter()
                    .find_map(|field| match field {
                        Some(Value::String(text)) if !text.is_empty() => Some(text),
                        _ => None,
                    });
                if let Some(text) = reasoning {
                    self.ensure_open(true, out);
                    out.push(StreamEvent::Delta(Delta::Reasoning(text)));
                }
                for text in [delta.content, delta.refusal].into_iter().flatten() {
                    if !text.is_empty() {
                        self.ensure_open(false, out);
                        out.push(StreamEvent::Delta(Delta::Text(text)));
                    }
                }
                for call in delta.tool_calls {
                    self.tool_delta(call, out);
                }
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.close(out);
                self.finished = true;
                out.push(StreamEvent::Finish(decode_finish_reason(
                    Some(&reason),
                    self.tool_calls > 0,
                )));
            }
        }
        // `usage: null` on every chunk is normal (include_usage); a usage
        // object may come with the finish reason or in its own chunk.
        if let Some(usage) = chunk.usage.as_ref().filter(|u| u.is_object()) {
            let base = self.pending_usage.or(self.emitted_usage).unwrap_or_default();
            self.pending_usage = Some(merge_usage(base, usage));
        }
        if self.finished {
            self.flush_usage(out);
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        self.end(out);
    }
}

/// One chunk as the SDKs' `ChatCompletionChunk` type reads it.
#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: &'a [ChunkChoice<'a>],
    /// Omitted unless the client asked for usage; then `null` on every
    /// chunk but the last, as OpenAI does.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<Value>>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: ChunkDelta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'a str>,
}

#[derive(Serialize, Default)]
struct ChunkDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolCallDelta<'a>; 1]>,
}

#[derive(Serialize)]
struct ToolCallDelta<'a> {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: FunctionDelta<'a>,
}

#[derive(Serialize)]
struct FunctionDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

/// Where the encoder is in the stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EncoderState {
    /// Nothing written yet.
    Fresh,
    /// The role chunk is out.
    Streaming,
    /// `[DONE]` or an error frame is out; nothing more may follow.
    Closed,
}

/// Encodes a stream for an OpenAI client.
pub struct ChunkEncoder {
    /// `chatcmpl-…`, the same on every chunk.
    id: String,
    meta: ResponseMeta,
    include_usage: bool,
    state: EncoderState,
    /// The client-side index of the open tool-call block.
    open_tool: Option<usize>,
    /// Tool calls started so far; the next one's client-side index.
    tool_calls: usize,
    finish_sent: bool,
    /// The latest usage snapshot; `None` until the upstream reports one.
    usage: Option<Usage>,
}

impl ChunkEncoder {
    /// An encoder for one response.
    pub fn new(options: EncoderOptions) -> Self {
        ChunkEncoder {
            id: format!("chatcmpl-{}", options.meta.id),
            meta: options.meta,
            include_usage: options.include_usage,
            state: EncoderState::Fresh,
            open_tool: None,
            tool_calls: 0,
            finish_sent: false,
            usage: None,
        }
    }

    fn write_choice(&self, delta: ChunkDelta<'_>, finish_reason: Option<&str>, out: &mut BytesMut) {
        let choice = [ChunkChoice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason,
        }];
        let usage = self.include_usage.then_some(None);
        self.write_chunk(&choice, usage, out);
    }

    fn write_chunk(&self, choices: &[ChunkChoice<'_>], usage: Option<Option<Value>>, out: &mut BytesMut) {
        let chunk = Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.meta.created,
            model: &self.meta.model,
            choices,
            usage,
        };
        write_data(out, &chunk);
    }

    fn start(&mut self, out: &mut BytesMut) {
        if self.state == EncoderState::Fresh {
            self.state = EncoderState::Streaming;
            let delta = ChunkDelta {
                role: Some("assistant"),
                content: Some(""),
                ..ChunkDelta::default()
            };
            self.write_choice(delta, None, out);
        }
    }

    fn write_finish(&mut self, reason: &FinishReason, out: &mut BytesMut) {
        if !self.finish_sent {
            self.finish_sent = true;
            let name = finish_reason_name(reason, self.tool_calls > 0);
            self.write_choice(ChunkDelta::default(), Some(name), out);
        }
    }
}

/// Writes one `data:` frame. Serializing these plain structs cannot fail.
fn write_data(out: &mut BytesMut, value: &impl Serialize) {
    out.extend_from_slice(b"data: ");
    let _ = serde_json::to_writer(out.writer(), value);
    out.extend_from_slice(b"\n\n");
}

impl StreamEncoder for ChunkEncoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut BytesMut) {
        if self.state == EncoderState::Closed {
            return;
        }
        if let StreamEvent::Error(error) = event {
            // The SDKs raise on a chunk with an `error` key; a `[DONE]` after
            // it would only look like success to simpler clients.
            write_data(out, &error.to_openai());
            self.state = EncoderState::Closed;
            return;
        }
        self.start(out);
        match event {
            StreamEvent::BlockStart(BlockKind::ToolCall { id, name, .. }) => {
                let index = self.tool_calls;
                self.tool_calls += 1;
                self.open_tool = Some(index);
                let made_up;
                let id = if id.is_empty() {
                    made_up = self.meta.tool_call_id(index);
                    &made_up
                } else {
                    id
                };
                let delta = ChunkDelta {
                    tool_calls: Some([ToolCallDelta {
                        index,
                        id: Some(id),
                        kind: Some("function"),
                        function: FunctionDelta {
                            name: Some(name),
                            arguments: "",
                        },
                    }]),
                    ..ChunkDelta::default()
                };
                self.write_choice(delta, None, out);
            }
            StreamEvent::BlockStart(_) | StreamEvent::BlockStop => self.open_tool = None,
            StreamEvent::Delta(Delta::Text(text)) if !text.is_empty() => {
                let delta = ChunkDelta {
                    content: Some(text),
                    ..ChunkDelta::default()
                };
                self.write_choice(delta, None, out);
            }
            StreamEvent::Delta(Delta::Reasoning(text)) if !text.is_empty() => {
                let delta = ChunkDelta {
                    reasoning_content: Some(text),
                    ..ChunkDelta::default()
                };
                self.write_choice(delta, None, out);
            }
            StreamEvent::Delta(Delta::ToolArguments(fragment)) if !fragment.is_empty() => {
                if let Some(index) = self.open_tool {
                    let delta = ChunkDelta {
                        tool_calls: Some([ToolCallDelta {
                            index,
                            id: None,
                            kind: None,
                            function: FunctionDelta {
                                name: None,
                                arguments: fragment,
                            },
                        }]),
                        ..ChunkDelta::default()
                    };
                    self.write_choice(delta, None, out);
                }
            }
            // Signatures have no field in Chat Completions; empty deltas carry nothing.
            StreamEvent::Delta(_) => {}
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
            StreamEvent::Finish(reason) => self.write_finish(reason, out),
            StreamEvent::Error(_) => {}
        }
    }

    fn finish(&mut self, out: &mut BytesMut) {
        if self.state == EncoderState::Closed {
            return;
        }
        self.start(out);
        // Clients' stream helpers need a finish reason on the choice.
        self.write_finish(&FinishReason::Stop, out);
        // Counts the upstream never gave are not reported as zeros; OpenAI
        // clients already allow for a missing usage chunk.
        if let Some(usage) = self.usage.filter(|_| self.include_usage) {
            self.write_chunk(&[], Some(Some(usage_to_value(&usage))), out);
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
        self.state = EncoderState::Closed;
    }

    fn keep_alive(&mut self, out: &mut BytesMut) {
        out.extend_from_slice(b": keep-alive\n\n");
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
