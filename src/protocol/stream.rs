//! The stream form of a model turn, and the traits of the per-protocol
//! stream codecs.
//!
//! A stream is a sequence of [`StreamEvent`]s. Content arrives in *blocks*
//! (a text run, a reasoning run, one tool call) that open, receive deltas
//! and close; at most one block is open at a time, so every encoder can map
//! blocks to its own indices. After the blocks come (in any order) the usage
//! snapshots and one finish reason; an [`StreamEvent::Error`] may end a
//! stream at any point.

use bytes::BytesMut;

use super::error::ApiError;
use super::model::{ChatResponse, FinishReason, Part, Reasoning, ResponseMeta, ToolCall, Usage};

/// One step of a streamed model turn.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A content block begins.
    BlockStart(BlockKind),
    /// More content for the open block.
    Delta(Delta),
    /// The open block is complete.
    BlockStop,
    /// Token accounting so far: a full snapshot that replaces earlier ones.
    Usage(Usage),
    /// Why generation stopped. Sent at most once.
    Finish(FinishReason),
    /// The upstream failed mid-stream; nothing follows.
    Error(ApiError),
}

/// What kind of content a block holds.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockKind {
    /// Visible text.
    Text,
    /// Readable reasoning ("thinking").
    Reasoning,
    /// Encrypted reasoning, complete in the start event.
    RedactedReasoning {
        /// The opaque data.
        data: String,
    },
    /// A tool call; its arguments arrive as [`Delta::ToolArguments`] fragments.
    ToolCall {
        /// Call id.
        id: String,
        /// Function name.
        name: String,
        /// Opaque signature on the call (Gemini `thoughtSignature`).
        signature: Option<String>,
    },
}

/// Content added to the open block.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    /// Text for a text block.
    Text(String),
    /// Text for a reasoning block.
    Reasoning(String),
    /// The signature of the open block (reasoning or text).
    Signature(String),
    /// A fragment of a tool call's JSON arguments; the concatenation of all
    /// fragments of a block is the complete arguments object.
    ToolArguments(String),
}

/// One server-sent event as read from an upstream: the `event:` field (if
/// any) and the joined `data:` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseFrame<'a> {
    /// The event name, when the stream names its events (Anthropic does).
    pub event: Option<&'a str>,
    /// The data payload.
    pub data: &'a str,
}

/// Turns an upstream's stream frames into [`StreamEvent`]s.
///
/// Decoders are stateful: they track the open block and merge partial usage.
pub trait StreamDecoder: Send {
    /// Decodes one frame, appending the resulting events to `out`.
    /// An `Err` means the frame could not be understood; the caller ends the
    /// stream with an error event.
    fn decode(&mut self, frame: SseFrame<'_>, out: &mut Vec<StreamEvent>) -> Result<(), ApiError>;

    /// Called once when the upstream stream ends, to close what it left
    /// open (a stream that ends without a finish reason still ends well-formed).
    fn finish(&mut self, out: &mut Vec<StreamEvent>);
}

/// Turns [`StreamEvent`]s into a client's wire bytes.
///
/// Encoders are stateful: they emit the protocol's preamble before the first
/// event and its epilogue on [`StreamEncoder::finish`], and number blocks.
pub trait StreamEncoder: Send {
    /// Encodes one event, appending the bytes to `out`.
    fn encode(&mut self, event: &StreamEvent, out: &mut BytesMut);

    /// Writes whatever ends the stream (`data: [DONE]`, `message_stop`, the
    /// closing `]`), including the preamble if no event came at all.
    fn finish(&mut self, out: &mut BytesMut);

    /// Writes a keep-alive that the client's SDK ignores (an SSE comment or an
    /// Anthropic `ping`), for long silent upstream phases. Must be valid at
    /// any point between events.
    fn keep_alive(&mut self, out: &mut BytesMut);
}

/// Everything a stream encoder needs at construction.
#[derive(Debug, Clone)]
pub struct EncoderOptions {
    /// Ids, model name and timestamp to report.
    pub meta: ResponseMeta,
    /// OpenAI `stream_options.include_usage`.
    pub include_usage: bool,
    /// Gemini only: SSE (`?alt=sse`) rather than one streamed JSON array.
    pub sse: bool,
}

/// The events that would have streamed `response`: used when an upstream
/// answers a stream request in one piece.
pub fn events_from_response(response: &ChatResponse) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    for part in &response.content {
        match part {
            Part::Text(text) => {
                events.push(StreamEvent::BlockStart(BlockKind::Text));
                events.push(StreamEvent::Delta(Delta::Text(text.clone())));
            }
            Part::Reasoning(reasoning) => {
                match &reasoning.redacted {
                    Some(data) => events.push(StreamEvent::BlockStart(BlockKind::RedactedReasoning {
                        data: data.clone(),
                    })),
                    None => {
                        events.push(StreamEvent::BlockStart(BlockKind::Reasoning));
                        if !reasoning.text.is_empty() {
                            events.push(StreamEvent::Delta(Delta::Reasoning(reasoning.text.clone())));
                        }
                    }
                }
                if let Some(signature) = &reasoning.signature {
                    events.push(StreamEvent::Delta(Delta::Signature(signature.clone())));
                }
            }
            Part::ToolCall(call) => {
                events.push(StreamEvent::BlockStart(BlockKind::ToolCall {
                    id: call.id.clone(),
                    name: call.name.clone(),
                    signature: call.signature.clone(),
                }));
                events.push(StreamEvent::Delta(Delta::ToolArguments(call.arguments.clone())));
            }
            // Models do not answer with images or tool results.
            Part::Image(_) | Part::ToolResult(_) => continue,
        }
        events.push(StreamEvent::BlockStop);
    }
    events.push(StreamEvent::Usage(response.usage));
    events.push(StreamEvent::Finish(response.finish_reason.clone()));
    events
}

/// Folds a stream back into the complete turn it describes, for the
/// features that need the whole answer after streaming it (the Responses
/// store, usage accounting).
#[derive(Debug, Default)]
pub struct Accumulator {
    content: Vec<Part>,
    open: Option<Part>,
    usage: Usage,
    finish: Option<FinishReason>,
    error: Option<ApiError>,
}

impl Accumulator {
    /// Takes in one event.
    pub fn push(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::BlockStart(kind) => {
                self.close();
                self.open = Some(match kind {
                    BlockKind::Text => Part::Text(String::new()),
                    BlockKind::Reasoning => Part::Reasoning(Reasoning::default()),
                    BlockKind::RedactedReasoning { data } => Part::Reasoning(Reasoning {
                        redacted: Some(data.clone()),
                        ..Reasoning::default()
                    }),
                    BlockKind::ToolCall { id, name, signature } => Part::ToolCall(ToolCall {
                        id: id.clone(),
                        name: name.clone(),
                        arguments: String::new(),
                        signature: signature.clone(),
                    }),
                });
            }
            StreamEvent::Delta(delta) => match (&mut self.open, delta) {
                (Some(Part::Text(text)), Delta::Text(more)) => text.push_str(more),
                (Some(Part::Reasoning(reasoning)), Delta::Reasoning(more)) => reasoning.text.push_str(more),
                (Some(Part::Reasoning(reasoning)), Delta::Signature(signature)) => {
                    reasoning.signature.get_or_insert_with(String::new).push_str(signature)
                }
                (Some(Part::ToolCall(call)), Delta::ToolArguments(more)) => call.arguments.push_str(more),
                _ => {}
            },
            StreamEvent::BlockStop => self.close(),
            StreamEvent::Usage(usage) => self.usage = *usage,
            StreamEvent::Finish(reason) => self.finish = Some(reason.clone()),
            StreamEvent::Error(error) => self.error = Some(error.clone()),
        }
    }

    fn close(&mut self) {
        if let Some(part) = self.open.take() {
            self.content.push(part);
        }
    }

    /// The usage reported so far.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// The complete turn, or the error that ended the stream.
    pub fn finish(mut self, model: &str) -> Result<ChatResponse, ApiError> {
        self.close();
        if let Some(error) = self.error {
            return Err(error);
        }
        Ok(ChatResponse {
            model: model.to_string(),
            content: self.content,
            finish_reason: self.finish.unwrap_or(FinishReason::Stop),
            usage: self.usage,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::model::{Reasoning, ToolCall};

    #[test]
    fn a_stream_accumulates_back_into_its_response() {
        let response = ChatResponse {
            model: "m".into(),
            content: vec![
                Part::Reasoning(Reasoning {
                    text: "hmm".into(),
                    signature: Some("s".into()),
                    redacted: None,
                }),
                Part::Text("answer".into()),
                Part::ToolCall(ToolCall {
                    id: "c".into(),
                    name: "f".into(),
                    arguments: "{\"a\":1}".into(),
                    signature: None,
                }),
            ],
            finish_reason: FinishReason::ToolCalls,
            usage: Usage {
                input_tokens: 9,
                output_tokens: 3,
                ..Usage::default()
            },
        };
        let mut accumulator = Accumulator::default();
        for event in events_from_response(&response) {
            accumulator.push(&event);
        }
        assert_eq!(accumulator.usage().input_tokens, 9);
        assert_eq!(accumulator.finish("m").unwrap(), response);

        let mut failed = Accumulator::default();
        failed.push(&StreamEvent::Error(ApiError::invalid_request("x")));
        assert!(failed.finish("m").is_err());
    }

    #[test]
    fn a_complete_response_replays_as_blocks() {
        let response = ChatResponse {
            model: "m".into(),
            content: vec![
                Part::Reasoning(Reasoning {
                    text: "think".into(),
                    signature: Some("sig".into()),
                    redacted: None,
                }),
                Part::Text("hi".into()),
                Part::ToolCall(ToolCall {
                    id: "c1".into(),
                    name: "f".into(),
                    arguments: "{}".into(),
                    signature: None,
                }),
            ],
            finish_reason: FinishReason::ToolCalls,
            usage: Usage {
                input_tokens: 3,
                output_tokens: 4,
                ..Usage::default()
            },
        };
        let events = events_from_response(&response);
        assert_eq!(
            events,
            vec![
                StreamEvent::BlockStart(BlockKind::Reasoning),
                StreamEvent::Delta(Delta::Reasoning("think".into())),
                StreamEvent::Delta(Delta::Signature("sig".into())),
                StreamEvent::BlockStop,
                StreamEvent::BlockStart(BlockKind::Text),
                StreamEvent::Delta(Delta::Text("hi".into())),
                StreamEvent::BlockStop,
                StreamEvent::BlockStart(BlockKind::ToolCall {
                    id: "c1".into(),
                    name: "f".into(),
                    signature: None
                }),
                StreamEvent::Delta(Delta::ToolArguments("{}".into())),
                StreamEvent::BlockStop,
                StreamEvent::Usage(response.usage),
                StreamEvent::Finish(FinishReason::ToolCalls),
            ]
        );
    }
}
