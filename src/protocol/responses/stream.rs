//! The Responses SSE stream: `response.created`, `response.in_progress`,
//! then per output item `response.output_item.added`, its part and delta
//! events and `response.output_item.done`, and finally `response.completed`
//! (or `response.incomplete` / `response.failed`) carrying the whole
//! Response. Every event names its type in the SSE `event:` field and in
//! its data, with a `sequence_number` counting from 0.

use bytes::{BufMut, BytesMut};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::content::{REDACTED_PREFIX, flat_name, item_id};
use super::options::RequestOptions;
use super::request::{arguments_text, reasoning_of};
use super::response::{
    CallItem, Status, error_from_value, finish_from_status, finished_status, function_call_item, mark_cut_short,
    merge_usage, message_item, output_text, reasoning_item, response_object,
};
use crate::protocol::ApiError;
use crate::protocol::model::{FinishReason, ResponseMeta, Usage};
use crate::protocol::stream::{BlockKind, Delta, EncoderOptions, SseFrame, StreamDecoder, StreamEncoder, StreamEvent};

// ---------------------------------------------------------------------------
// Encoding a client stream
// ---------------------------------------------------------------------------

/// The output item being streamed to the client.
enum OpenItem {
    /// A message; its item is announced with the first text, so that an
    /// empty text block leaves no empty message behind.
    Text {
        item: Option<(usize, String)>,
        text: String,
    },
    /// A reasoning item, announced with its first text, or at its end when
    /// it only has encrypted content to pass on.
    Reasoning {
        item: Option<(usize, String)>,
        text: String,
        signature: String,
        redacted: Option<String>,
    },
    /// A function call, announced at once.
    ToolCall {
        index: usize,
        id: String,
        call_id: String,
        namespace: Option<String>,
        name: String,
        arguments: String,
    },
}

/// Encodes [`StreamEvent`]s as the Responses event stream that the OpenAI
/// SDKs and Codex read.
pub struct EventEncoder {
    meta: ResponseMeta,
    request: RequestOptions,
    /// The next event's `sequence_number`.
    sequence: u64,
    /// `response.created` and `response.in_progress` are out.
    started: bool,
    /// The terminal event is out: nothing may follow.
    ended: bool,
    /// Finished output items, by output index; the open item comes next.
    output: Vec<Value>,
    open: Option<OpenItem>,
    tool_calls: usize,
    usage: Option<Usage>,
    /// The first finish reason; it picks the terminal event.
    finish_reason: Option<FinishReason>,
}

impl EventEncoder {
    /// An encoder for one response; `request` supplies what the Response
    /// object echoes and whether reasoning carries encrypted content.
    /// `options.include_usage` and `options.sse` do not apply: a Responses
    /// stream is always SSE and always ends with usage.
    pub fn new(options: EncoderOptions, request: RequestOptions) -> Self {
        EventEncoder {
            meta: options.meta,
            request,
            sequence: 0,
            started: false,
            ended: false,
            output: Vec::new(),
            open: None,
            tool_calls: 0,
            usage: None,
            finish_reason: None,
        }
    }

    /// Writes one event: `type` and `sequence_number` first, then `fields`.
    fn emit(&mut self, out: &mut BytesMut, kind: &str, fields: Value) {
        let mut data = Map::new();
        data.insert("type".into(), json!(kind));
        data.insert("sequence_number".into(), json!(self.sequence));
        if let Value::Object(fields) = fields {
            data.extend(fields);
        }
        self.sequence += 1;
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        // Serializing a map of JSON values into memory cannot fail.
        let _ = serde_json::to_writer(out.writer(), &data);
        out.extend_from_slice(b"\n\n");
    }

    fn snapshot(&self, status: Status<'_>) -> Value {
        response_object(&self.meta, &self.request, status, &self.output, self.usage.as_ref())
    }

    fn ensure_started(&mut self, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        let response = response_object(&self.meta, &self.request, Status::InProgress, &[], None);
        self.emit(out, "response.created", json!({"response": response}));
        self.emit(out, "response.in_progress", json!({"response": response}));
    }

    fn item_added(&mut self, out: &mut BytesMut, index: usize, item: Value) {
        self.emit(
            out,
            "response.output_item.added",
            json!({"output_index": index, "item": item}),
        );
    }

    fn item_done(&mut self, out: &mut BytesMut, index: usize, item: Value) {
        self.emit(
            out,
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
        );
        self.output.push(item);
    }

    /// A reasoning item that only carries encrypted content, added and done.
    fn encrypted_only_item(&mut self, out: &mut BytesMut, encrypted: &str) {
        let index = self.output.len();
        let id = item_id("rs", &self.meta.id, index);
        self.item_added(out, index, reasoning_item(&id, "", None));
        self.item_done(out, index, reasoning_item(&id, "", Some(encrypted)));
    }

    fn start_block(&mut self, kind: &BlockKind, out: &mut BytesMut) {
        self.close(out);
        self.open = Some(match kind {
            BlockKind::Text => OpenItem::Text {
                item: None,
                text: String::new(),
            },
            BlockKind::Reasoning => OpenItem::Reasoning {
                item: None,
                text: String::new(),
                signature: String::new(),
                redacted: None,
            },
            BlockKind::RedactedReasoning { data } => OpenItem::Reasoning {
                item: None,
                text: String::new(),
                signature: String::new(),
                redacted: Some(data.clone()),
            },
            BlockKind::ToolCall { id, name, signature } => {
                if let Some(signature) = signature.as_deref().filter(|s| !s.is_empty())
                    && self.request.include_encrypted_reasoning
                {
                    // A call's signature (Gemini) rides in a reasoning item
                    // just before it, as in the non-streamed Response.
                    self.encrypted_only_item(out, signature);
                }
                let call_id = if id.is_empty() {
                    self.meta.tool_call_id(self.tool_calls)
                } else {
                    id.clone()
                };
                self.tool_calls += 1;
                let (namespace, client_name) = self.request.client_name(name);
                let (namespace, client_name) = (namespace.map(str::to_owned), client_name.to_owned());
                let index = self.output.len();
                let item_id = item_id("fc", &self.meta.id, index);
                let call = CallItem {
                    id: &item_id,
                    call_id: &call_id,
                    namespace: namespace.as_deref(),
                    name: &client_name,
                };
                let item = function_call_item(&call, None);
                self.item_added(out, index, item);
                OpenItem::ToolCall {
                    index,
                    id: item_id,
                    call_id,
                    namespace,
                    name: client_name,
                    arguments: String::new(),
                }
            }
        });
    }

    fn text_delta(&mut self, delta: &str, out: &mut BytesMut) {
        if !matches!(self.open, Some(OpenItem::Text { .. })) {
            // Text without a block of its own still reaches the client.
            self.start_block(&BlockKind::Text, out);
        }
        let next_index = self.output.len();
        let Some(OpenItem::Text { item, text }) = &mut self.open else {
            return;
        };
        let announce = item.is_none();
        let (index, id) = item
            .get_or_insert_with(|| (next_index, item_id("msg", &self.meta.id, next_index)))
            .clone();
        text.push_str(delta);
        if announce {
            self.item_added(out, index, message_item(&id, None));
            self.emit(
                out,
                "response.content_part.added",
                json!({"item_id": id, "output_index": index, "content_index": 0, "part": output_text("")}),
            );
        }
        self.emit(
            out,
            "response.output_text.delta",
            json!({"item_id": id, "output_index": index, "content_index": 0, "delta": delta, "logprobs": []}),
        );
    }

    fn reasoning_delta(&mut self, delta: &str, out: &mut BytesMut) {
        if !matches!(self.open, Some(OpenItem::Reasoning { .. })) {
            self.start_block(&BlockKind::Reasoning, out);
        }
        let next_index = self.output.len();
        let Some(OpenItem::Reasoning { item, text, .. }) = &mut self.open else {
            return;
        };
        let announce = item.is_none();
        let open_part = text.is_empty();
        let (index, id) = item
            .get_or_insert_with(|| (next_index, item_id("rs", &self.meta.id, next_index)))
            .clone();
        text.push_str(delta);
        if announce {
            self.item_added(out, index, reasoning_item(&id, "", None));
        }
        if open_part {
            self.emit(
                out,
                "response.reasoning_summary_part.added",
                json!({"item_id": id, "output_index": index, "summary_index": 0,
                    "part": {"type": "summary_text", "text": ""}}),
            );
        }
        self.emit(
            out,
            "response.reasoning_summary_text.delta",
            json!({"item_id": id, "output_index": index, "summary_index": 0, "delta": delta}),
        );
    }

    fn arguments_delta(&mut self, fragment: &str, out: &mut BytesMut) {
        // Arguments belong to a named call: without one they cannot be placed.
        let Some(OpenItem::ToolCall {
            index, id, arguments, ..
        }) = &mut self.open
        else {
            return;
        };
        arguments.push_str(fragment);
        let fields = json!({"item_id": id, "output_index": *index, "delta": fragment});
        self.emit(out, "response.function_call_arguments.delta", fields);
    }

    /// Finishes the open item with its done events.
    fn close(&mut self, out: &mut BytesMut) {
        match self.open.take() {
            None => {}
            Some(OpenItem::Text { item: None, .. }) => {}
            Some(OpenItem::Text {
                item: Some((index, id)),
                text,
            }) => {
                self.emit(
                    out,
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": []}),
                );
                self.emit(
                    out,
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "part": output_text(&text)}),
                );
                self.item_done(out, index, message_item(&id, Some(&text)));
            }
            Some(OpenItem::Reasoning {
                item,
                text,
                signature,
                redacted,
            }) => {
                let encrypted = match redacted {
                    Some(data) => Some(format!("{REDACTED_PREFIX}{data}")),
                    None => Some(signature).filter(|s| !s.is_empty()),
                }
                .filter(|_| self.request.include_encrypted_reasoning);
                match item {
                    None => {
                        if let Some(encrypted) = encrypted {
                            self.encrypted_only_item(out, &encrypted);
                        }
                    }
                    Some((index, id)) => {
                        let part = json!({"item_id": id, "output_index": index, "summary_index": 0});
                        let mut text_done = part.clone();
                        text_done["text"] = json!(text);
                        self.emit(out, "response.reasoning_summary_text.done", text_done);
                        let mut part_done = part;
                        part_done["part"] = json!({"type": "summary_text", "text": text});
                        self.emit(out, "response.reasoning_summary_part.done", part_done);
                        self.item_done(out, index, reasoning_item(&id, &text, encrypted.as_deref()));
                    }
                }
            }
            Some(OpenItem::ToolCall {
                index,
                id,
                call_id,
                namespace,
                name,
                mut arguments,
            }) => {
                if arguments.trim().is_empty() {
                    // A call whose arguments never came still needs a JSON object.
                    arguments = "{}".to_owned();
                    let fields = json!({"item_id": id, "output_index": index, "delta": arguments});
                    self.emit(out, "response.function_call_arguments.delta", fields);
                }
                self.emit(
                    out,
                    "response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": index, "name": name, "arguments": arguments}),
                );
                let call = CallItem {
                    id: &id,
                    call_id: &call_id,
                    namespace: namespace.as_deref(),
                    name: &name,
                };
                self.item_done(out, index, function_call_item(&call, Some(&arguments)));
            }
        }
    }
}

impl StreamEncoder for EventEncoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut BytesMut) {
        if self.ended {
            return;
        }
        self.ensure_started(out);
        match event {
            StreamEvent::BlockStart(kind) => self.start_block(kind, out),
            StreamEvent::Delta(Delta::Text(text)) if !text.is_empty() => self.text_delta(text, out),
            StreamEvent::Delta(Delta::Reasoning(text)) if !text.is_empty() => self.reasoning_delta(text, out),
            StreamEvent::Delta(Delta::ToolArguments(fragment)) if !fragment.is_empty() => {
                self.arguments_delta(fragment, out)
            }
            StreamEvent::Delta(Delta::Signature(part)) => {
                // A signature on a text block has no place in a message item.
                if let Some(OpenItem::Reasoning { signature, .. }) = &mut self.open {
                    signature.push_str(part);
                }
            }
            StreamEvent::Delta(_) => {}
            StreamEvent::BlockStop => self.close(out),
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
            StreamEvent::Finish(reason) => {
                self.finish_reason.get_or_insert_with(|| reason.clone());
            }
            StreamEvent::Error(error) => {
                // The open item never completes; the Response lists the
                // finished ones. Codex and the SDKs stop at this event.
                self.ended = true;
                let response = self.snapshot(Status::Failed(error));
                self.emit(out, "response.failed", json!({"response": response}));
            }
        }
    }

    fn finish(&mut self, out: &mut BytesMut) {
        if self.ended {
            return;
        }
        self.ensure_started(out);
        self.close(out);
        self.ended = true;
        let status = self
            .finish_reason
            .as_ref()
            .map(finished_status)
            .unwrap_or(Status::Completed);
        // The item was announced done before the finish reason came; the
        // final Response can still say it was cut short.
        mark_cut_short(&mut self.output, status);
        let kind = match status {
            Status::Incomplete(_) => "response.incomplete",
            _ => "response.completed",
        };
        let response = self.snapshot(status);
        self.emit(out, kind, json!({"response": response}));
    }

    fn keep_alive(&mut self, out: &mut BytesMut) {
        // A comment: the SDKs' and Codex's SSE readers skip it anywhere.
        out.extend_from_slice(b": keep-alive\n\n");
    }
}

// ---------------------------------------------------------------------------
// Decoding an upstream stream
// ---------------------------------------------------------------------------

/// Every field the events the decoder reads carry; which ones matter depends
/// on the type. Deltas stay JSON so that an event type this codec ignores
/// cannot fail the stream with a differently typed `delta`.
#[derive(Deserialize)]
struct WireEvent {
    #[serde(rename = "type")]
    kind: Option<String>,
    item: Option<Value>,
    delta: Option<Value>,
    summary_index: Option<i64>,
    response: Option<Value>,
    message: Option<Value>,
    code: Option<Value>,
    error: Option<Value>,
}

/// The item the upstream is streaming.
enum OpenBlock {
    /// A message; the text block starts with its first text.
    Text { started: bool },
    /// A reasoning item; its block starts with its first text, or at its
    /// end when it holds only encrypted content.
    Reasoning { started: bool, summary_index: Option<i64> },
    /// A function call; its block started with the item.
    ToolCall { streamed: bool },
    /// An item the model cannot carry (built-in tool calls).
    Ignored,
}

/// Decodes a Responses upstream's event stream into [`StreamEvent`]s.
pub struct EventDecoder {
    meta: ResponseMeta,
    open: Option<OpenBlock>,
    tool_calls: usize,
    /// A terminal event, an error or `finish()` came: nothing more is emitted.
    done: bool,
}

impl EventDecoder {
    /// A decoder for one response; `meta` names calls that come without an id.
    pub fn new(meta: &ResponseMeta) -> Self {
        EventDecoder {
            meta: meta.clone(),
            open: None,
            tool_calls: 0,
            done: false,
        }
    }

    fn close(&mut self, out: &mut Vec<StreamEvent>) {
        match self.open.take() {
            Some(OpenBlock::Text { started: true }) | Some(OpenBlock::Reasoning { started: true, .. }) => {
                out.push(StreamEvent::BlockStop)
            }
            Some(OpenBlock::ToolCall { streamed }) => {
                if !streamed {
                    out.push(StreamEvent::Delta(Delta::ToolArguments("{}".to_owned())));
                }
                out.push(StreamEvent::BlockStop);
            }
            _ => {}
        }
    }

    /// Opens the block for a new item (`output_item.added`).
    fn add_item(&mut self, item: &Value, out: &mut Vec<StreamEvent>) {
        self.close(out);
        self.open = Some(match item.get("type").and_then(Value::as_str) {
            Some("message") => OpenBlock::Text { started: false },
            Some("reasoning") => OpenBlock::Reasoning {
                started: false,
                summary_index: None,
            },
            Some("function_call") => {
                let text = |key: &str| item.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
                let id = text("call_id")
                    .map(str::to_owned)
                    .unwrap_or_else(|| self.meta.tool_call_id(self.tool_calls));
                self.tool_calls += 1;
                let name = text("name").unwrap_or_default();
                let name = match text("namespace") {
                    Some(space) => flat_name(space, name),
                    None => name.to_owned(),
                };
                out.push(StreamEvent::BlockStart(BlockKind::ToolCall {
                    id,
                    name,
                    signature: None,
                }));
                OpenBlock::ToolCall { streamed: false }
            }
            _ => OpenBlock::Ignored,
        });
    }

    fn text(&mut self, text: &str, out: &mut Vec<StreamEvent>) {
        if self.open.is_none() {
            // A server that skips `output_item.added` still gets its text through.
            self.open = Some(OpenBlock::Text { started: false });
        }
        if let Some(OpenBlock::Text { started }) = &mut self.open
            && !text.is_empty()
        {
            if !*started {
                *started = true;
                out.push(StreamEvent::BlockStart(BlockKind::Text));
            }
            out.push(StreamEvent::Delta(Delta::Text(text.to_owned())));
        }
    }

    fn reasoning(&mut self, text: &str, index: Option<i64>, out: &mut Vec<StreamEvent>) {
        if self.open.is_none() {
            self.open = Some(OpenBlock::Reasoning {
                started: false,
                summary_index: None,
            });
        }
        if let Some(OpenBlock::Reasoning { started, summary_index }) = &mut self.open
            && !text.is_empty()
        {
            if !*started {
                *started = true;
                out.push(StreamEvent::BlockStart(BlockKind::Reasoning));
            } else if index.is_some() && *summary_index != index {
                // Summary parts are paragraphs, joined as the request decoder joins them.
                out.push(StreamEvent::Delta(Delta::Reasoning("\n\n".to_owned())));
            }
            *summary_index = index;
            out.push(StreamEvent::Delta(Delta::Reasoning(text.to_owned())));
        }
    }

    /// Completes an item (`output_item.done`), taking from the finished item
    /// whatever the upstream did not stream.
    fn finish_item(&mut self, item: Value, out: &mut Vec<StreamEvent>) {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or("").to_owned();
        let matches_open = matches!(
            (&self.open, kind.as_str()),
            (Some(OpenBlock::Text { .. }), "message")
                | (Some(OpenBlock::Reasoning { .. }), "reasoning")
                | (Some(OpenBlock::ToolCall { .. }), "function_call")
        );
        if !matches_open {
            // A done without its added: treat it as both.
            self.add_item(&item, out);
        }
        match kind.as_str() {
            "message" => {
                if let Some(OpenBlock::Text { started: false }) = self.open {
                    let parts = item
                        .get("content")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    for part in parts {
                        let text = part.get("text").or_else(|| part.get("refusal")).and_then(Value::as_str);
                        self.text(text.unwrap_or_default(), out);
                    }
                }
            }
            "reasoning" => self.finish_reasoning(item, out),
            "function_call" => {
                if let Some(OpenBlock::ToolCall { streamed }) = &mut self.open
                    && !*streamed
                {
                    *streamed = true;
                    let arguments = arguments_text(item.get("arguments").cloned());
                    out.push(StreamEvent::Delta(Delta::ToolArguments(arguments)));
                }
            }
            _ => {}
        }
        self.close(out);
    }

    fn finish_reasoning(&mut self, item: Value, out: &mut Vec<StreamEvent>) {
        #[derive(Deserialize)]
        struct Item {
            summary: Option<Vec<super::request::WireReasoningText>>,
            content: Option<Vec<super::request::WireReasoningText>>,
            encrypted_content: Option<String>,
        }
        let Ok(item) = serde_json::from_value::<Item>(item) else {
            return;
        };
        let Some(reasoning) = reasoning_of(item.summary, item.content, item.encrypted_content) else {
            return;
        };
        let started = matches!(self.open, Some(OpenBlock::Reasoning { started: true, .. }));
        if let Some(data) = reasoning.redacted.filter(|_| !started) {
            out.push(StreamEvent::BlockStart(BlockKind::RedactedReasoning { data }));
            self.open = Some(OpenBlock::Reasoning {
                started: true,
                summary_index: None,
            });
            return;
        }
        if !started {
            self.reasoning(&reasoning.text, None, out);
        }
        if let Some(signature) = reasoning.signature {
            if let Some(OpenBlock::Reasoning { started, .. }) = &mut self.open
                && !*started
            {
                *started = true;
                out.push(StreamEvent::BlockStart(BlockKind::Reasoning));
            }
            out.push(StreamEvent::Delta(Delta::Signature(signature)));
        }
    }

    /// A terminal Response: usage, then the finish reason its status implies.
    fn complete(&mut self, response: Option<&Value>, out: &mut Vec<StreamEvent>) {
        self.close(out);
        self.done = true;
        if let Some(usage) = response.and_then(|r| r.get("usage")).filter(|u| u.is_object()) {
            out.push(StreamEvent::Usage(merge_usage(Usage::default(), usage)));
        }
        let status = response.and_then(|r| r.get("status")).and_then(Value::as_str);
        let reason = response
            .and_then(|r| r.pointer("/incomplete_details/reason"))
            .and_then(Value::as_str);
        out.push(StreamEvent::Finish(finish_from_status(
            status,
            reason,
            self.tool_calls > 0,
        )));
    }
}

impl StreamDecoder for EventDecoder {
    fn decode(&mut self, frame: SseFrame<'_>, out: &mut Vec<StreamEvent>) -> Result<(), ApiError> {
        let data = frame.data.trim();
        if self.done || data.is_empty() || data == "[DONE]" {
            return Ok(());
        }
        let event: WireEvent = serde_json::from_str(data)
            .map_err(|err| ApiError::upstream(502, format!("the upstream sent an unreadable stream event: {err}")))?;
        // The data's `type` is authoritative; the SSE name covers servers that omit it.
        let kind = event.kind.as_deref().or(frame.event).unwrap_or("");
        let delta = event.delta.as_ref().and_then(Value::as_str).unwrap_or("");
        match kind {
            "response.output_item.added" => {
                if let Some(item) = &event.item {
                    self.add_item(item, out);
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => self.text(delta, out),
            "response.reasoning_summary_text.delta" => self.reasoning(delta, event.summary_index, out),
            "response.reasoning_text.delta" => self.reasoning(delta, None, out),
            "response.function_call_arguments.delta" => {
                if let Some(OpenBlock::ToolCall { streamed }) = &mut self.open
                    && !delta.is_empty()
                {
                    *streamed = true;
                    out.push(StreamEvent::Delta(Delta::ToolArguments(delta.to_owned())));
                }
            }
            "response.output_item.done" => {
                if let Some(item) = event.item {
                    self.finish_item(item, out);
                }
            }
            "response.completed" | "response.incomplete" => self.complete(event.response.as_ref(), out),
            "response.failed" => {
                self.done = true;
                let error = event
                    .response
                    .as_ref()
                    .and_then(|r| r.get("error"))
                    .filter(|e| e.is_object());
                out.push(StreamEvent::Error(match error {
                    Some(error) => error_from_value(error),
                    None => ApiError::upstream(502, "the upstream's response failed without an error"),
                }));
            }
            "error" => {
                self.done = true;
                // The API puts `code` and `message` on the event; some servers nest them.
                let error = match event.error.filter(|e| e.is_object()) {
                    Some(nested) => nested,
                    None => json!({"code": event.code, "message": event.message}),
                };
                out.push(StreamEvent::Error(error_from_value(&error)));
            }
            // Lifecycle events, part events (their content comes as deltas)
            // and event types newer than this codec.
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        if !self.done {
            self.close(out);
            self.done = true;
            out.push(StreamEvent::Finish(finish_from_status(None, None, self.tool_calls > 0)));
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "stream_encode_tests.rs"]
mod encode_tests;
