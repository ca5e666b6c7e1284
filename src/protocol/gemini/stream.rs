//! `streamGenerateContent`: every chunk is a whole `GenerateContentResponse`
//! holding the parts generated since the previous one.
//!
//! Upstream, Switchyard always asks for `alt=sse`, so the decoder sees one
//! response object per SSE `data:` frame. Clients get SSE (`data: {...}` and a
//! blank line, CRLF as the Gemini API writes it) when they asked for
//! `alt=sse`, otherwise one JSON array streamed element by element.

use bytes::BytesMut;

use super::content::{Audience, Content, FunctionCall, WirePart, arguments_object};
use super::response::{Candidate, GenerateContentResponse, UsageMetadata, decode_finish_reason, encode_finish_reason};
use crate::protocol::ApiError;
use crate::protocol::model::{FinishReason, ResponseMeta, Usage};
use crate::protocol::stream::{BlockKind, Delta, EncoderOptions, SseFrame, StreamDecoder, StreamEncoder, StreamEvent};

/// The kind of the block a decoder has open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenBlock {
    Text,
    Reasoning,
}

/// Turns the Gemini API's SSE chunks into [`StreamEvent`]s.
///
/// Text parts continue an open text block (thought parts a reasoning block);
/// a function call arrives whole in one part and becomes a complete tool-call
/// block; a signature on a text or thought part is a [`Delta::Signature`] on
/// its block (an empty text part carrying only a signature, which Gemini
/// sends at the end of a turn, becomes an empty reasoning block, as in the
/// non-streamed decoding). Usage is merged across chunks and emitted when it
/// changes; `finishReason` ends the content.
pub struct ChunkDecoder {
    /// For the ids of calls that come without one.
    meta: ResponseMeta,
    /// The block that is open, if any.
    open: Option<OpenBlock>,
    /// Function calls seen, for ids and for `ToolCalls`.
    calls: usize,
    /// Usage merged over all chunks so far.
    usage: UsageMetadata,
    /// The last usage emitted, so that unchanged snapshots are not repeated.
    last_usage: Option<Usage>,
    /// A finish reason was emitted; later content is ignored.
    finished: bool,
    /// An error was emitted; nothing follows it.
    failed: bool,
}

impl ChunkDecoder {
    /// A decoder for one response.
    pub fn new(meta: &ResponseMeta) -> Self {
        ChunkDecoder {
            meta: meta.clone(),
            open: None,
            calls: 0,
            usage: UsageMetadata::default(),
            last_usage: None,
            finished: false,
            failed: false,
        }
    }

    fn close(&mut self, out: &mut Vec<StreamEvent>) {
        if self.open.take().is_some() {
            out.push(StreamEvent::BlockStop);
        }
    }

    fn ensure_open(&mut self, kind: OpenBlock, out: &mut Vec<StreamEvent>) {
        if self.open != Some(kind) {
            self.close(out);
            out.push(StreamEvent::BlockStart(match kind {
                OpenBlock::Text => BlockKind::Text,
                OpenBlock::Reasoning => BlockKind::Reasoning,
            }));
            self.open = Some(kind);
        }
    }

    fn decode_part(&mut self, part: WirePart, out: &mut Vec<StreamEvent>) {
        let signature = part.thought_signature.filter(|signature| !signature.is_empty());
        if let Some(call) = part.function_call {
            self.close(out);
            let id = match call.id {
                Some(id) if !id.is_empty() => id,
                _ => self.meta.tool_call_id(self.calls),
            };
            self.calls += 1;
            let arguments = match call.args {
                None | Some(serde_json::Value::Null) => "{}".to_string(),
                Some(args) => args.to_string(),
            };
            out.push(StreamEvent::BlockStart(BlockKind::ToolCall {
                id,
                name: call.name,
                signature,
            }));
            out.push(StreamEvent::Delta(Delta::ToolArguments(arguments)));
            out.push(StreamEvent::BlockStop);
            return;
        }
        let Some(text) = part.text else {
            // Media and code-execution parts have no stream form in the model.
            return;
        };
        if part.thought == Some(true) {
            self.ensure_open(OpenBlock::Reasoning, out);
            if !text.is_empty() {
                out.push(StreamEvent::Delta(Delta::Reasoning(text)));
            }
        } else if !text.is_empty() {
            self.ensure_open(OpenBlock::Text, out);
            out.push(StreamEvent::Delta(Delta::Text(text)));
        } else if signature.is_some() && self.open.is_none() {
            self.ensure_open(OpenBlock::Reasoning, out);
        }
        if let Some(signature) = signature {
            out.push(StreamEvent::Delta(Delta::Signature(signature)));
        }
    }
}

impl StreamDecoder for ChunkDecoder {
    fn decode(&mut self, frame: SseFrame<'_>, out: &mut Vec<StreamEvent>) -> Result<(), ApiError> {
        let data = frame.data.trim();
        if data.is_empty() || self.failed {
            return Ok(());
        }
        let chunk: GenerateContentResponse = serde_json::from_str(data).map_err(|err| {
            // 502 as the other decoders say it: the upstream, not the
            // gateway, sent something unreadable.
            ApiError::upstream(
                502,
                format!("the Gemini upstream sent a stream chunk that is not a GenerateContentResponse: {err}"),
            )
        })?;
        if let Some(error) = chunk.error {
            self.failed = true;
            out.push(StreamEvent::Error(error.to_api_error()));
            return Ok(());
        }

        let mut finish = None;
        if let Some(candidate) = chunk
            .candidates
            .into_iter()
            .find(|candidate| candidate.index.unwrap_or(0) == 0)
        {
            if !self.finished {
                for part in candidate.content.map(|content| content.parts).unwrap_or_default() {
                    self.decode_part(part, out);
                }
            }
            finish = candidate
                .finish_reason
                .map(|reason| decode_finish_reason(&reason, self.calls > 0));
        } else if chunk
            .prompt_feedback
            .and_then(|feedback| feedback.block_reason)
            .is_some()
        {
            finish = Some(FinishReason::ContentFilter);
        }

        if finish.is_some() {
            self.close(out);
        }
        if let Some(usage) = chunk.usage_metadata {
            self.usage.merge(usage);
            let usage = self.usage.to_usage();
            if self.last_usage != Some(usage) {
                self.last_usage = Some(usage);
                out.push(StreamEvent::Usage(usage));
            }
        }
        if let Some(reason) = finish
            && !self.finished
        {
            self.finished = true;
            out.push(StreamEvent::Finish(reason));
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        if self.failed {
            return;
        }
        self.close(out);
        if !self.finished {
            self.finished = true;
            let reason = if self.calls > 0 {
                FinishReason::ToolCalls
            } else {
                FinishReason::Stop
            };
            out.push(StreamEvent::Finish(reason));
        }
    }
}

/// The block an encoder is inside, as far as the wire cares.
#[derive(Debug)]
enum Block {
    Text,
    Reasoning,
    /// A tool call, held back until its arguments are complete: a Gemini
    /// `functionCall` part carries its whole `args` object.
    Call {
        id: String,
        name: String,
        signature: Option<String>,
        arguments: String,
    },
    /// Content Gemini clients cannot receive (redacted reasoning).
    Dropped,
}

/// Writes a google-genai client's stream.
///
/// Each text or reasoning delta is its own chunk with one part; a tool call
/// is one `functionCall` chunk written when its block stops (arguments that
/// do not parse as an object are sent as `{"_raw": "<text>"}` rather than
/// lost); usage and the finish reason go in a last chunk written by
/// [`StreamEncoder::finish`], whose content is one empty text part because
/// google-genai's chat history drops chunks without parts.
pub struct ChunkEncoder {
    /// Ids and model name to report.
    meta: ResponseMeta,
    /// SSE frames rather than a JSON array.
    sse: bool,
    /// Chunks written so far (array mode needs it for `[` and `,`).
    written: usize,
    /// Any event arrived (an empty stream is `[]` / nothing).
    started: bool,
    /// The open block.
    block: Option<Block>,
    /// The latest usage snapshot.
    usage: Option<Usage>,
    /// The finish reason, when it came.
    finish: Option<FinishReason>,
    /// The stream is over (finished or failed): nothing more is written.
    done: bool,
}

impl ChunkEncoder {
    /// An encoder for one response.
    pub fn new(options: EncoderOptions) -> Self {
        ChunkEncoder {
            meta: options.meta,
            sse: options.sse,
            written: 0,
            started: false,
            block: None,
            usage: None,
            finish: None,
            done: false,
        }
    }

    fn write(&mut self, json: &str, out: &mut BytesMut) {
        if self.sse {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(json.as_bytes());
            out.extend_from_slice(b"\r\n\r\n");
        } else {
            out.extend_from_slice(if self.written == 0 { b"[" } else { b",\r\n" });
            out.extend_from_slice(json.as_bytes());
        }
        self.written += 1;
    }

    fn write_chunk(&mut self, chunk: &GenerateContentResponse, out: &mut BytesMut) {
        match serde_json::to_string(chunk) {
            Ok(json) => self.write(&json, out),
            Err(err) => tracing::error!(%err, "could not serialize a Gemini stream chunk"),
        }
    }

    fn chunk(&self, content: Option<Content>, finish: Option<&FinishReason>) -> GenerateContentResponse {
        GenerateContentResponse {
            candidates: vec![Candidate {
                content,
                finish_reason: finish.map(|reason| encode_finish_reason(reason).to_string()),
                index: Some(0),
            }],
            model_version: Some(self.meta.model.clone()),
            response_id: Some(self.meta.id.clone()),
            ..GenerateContentResponse::default()
        }
    }

    fn write_part(&mut self, part: WirePart, out: &mut BytesMut) {
        let content = Content {
            parts: vec![part],
            role: Some("model".into()),
        };
        let chunk = self.chunk(Some(content), None);
        self.write_chunk(&chunk, out);
    }

    /// Writes the held-back tool call, if one is open.
    fn flush_call(&mut self, out: &mut BytesMut) {
        if let Some(Block::Call {
            id,
            name,
            signature,
            arguments,
        }) = self.block.take()
        {
            let part = WirePart {
                function_call: Some(FunctionCall {
                    id: Some(id),
                    name,
                    args: Some(arguments_object(&arguments, Audience::Client)),
                }),
                thought_signature: signature,
                ..WirePart::default()
            };
            self.write_part(part, out);
        }
    }
}

impl StreamEncoder for ChunkEncoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut BytesMut) {
        if self.done {
            return;
        }
        self.started = true;
        match event {
            StreamEvent::BlockStart(kind) => {
                self.flush_call(out);
                self.block = Some(match kind {
                    BlockKind::Text => Block::Text,
                    BlockKind::Reasoning => Block::Reasoning,
                    BlockKind::RedactedReasoning { .. } => Block::Dropped,
                    BlockKind::ToolCall { id, name, signature } => Block::Call {
                        id: id.clone(),
                        name: name.clone(),
                        signature: signature.clone(),
                        arguments: String::new(),
                    },
                });
            }
            StreamEvent::Delta(Delta::Text(text)) if !text.is_empty() => {
                self.write_part(
                    WirePart {
                        text: Some(text.clone()),
                        ..WirePart::default()
                    },
                    out,
                );
            }
            StreamEvent::Delta(Delta::Reasoning(text)) if !text.is_empty() => {
                let part = WirePart {
                    text: Some(text.clone()),
                    thought: Some(true),
                    ..WirePart::default()
                };
                self.write_part(part, out);
            }
            StreamEvent::Delta(Delta::Signature(signature)) => match &mut self.block {
                Some(Block::Call { signature: slot, .. }) => *slot = Some(signature.clone()),
                Some(Block::Dropped) => {}
                block => {
                    let thought = matches!(block, Some(Block::Reasoning)).then_some(true);
                    let part = WirePart {
                        text: Some(String::new()),
                        thought,
                        thought_signature: Some(signature.clone()),
                        ..WirePart::default()
                    };
                    self.write_part(part, out);
                }
            },
            StreamEvent::Delta(Delta::ToolArguments(fragment)) => {
                if let Some(Block::Call { arguments, .. }) = &mut self.block {
                    arguments.push_str(fragment);
                }
            }
            StreamEvent::Delta(_) => {}
            StreamEvent::BlockStop => {
                self.flush_call(out);
                self.block = None;
            }
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
            StreamEvent::Finish(reason) => self.finish = Some(reason.clone()),
            StreamEvent::Error(error) => {
                // A half-received tool call is not sent: its arguments may be incomplete.
                self.block = None;
                self.write(&error.to_google().to_string(), out);
                if !self.sse {
                    out.extend_from_slice(b"]");
                }
                self.done = true;
            }
        }
    }

    fn finish(&mut self, out: &mut BytesMut) {
        if self.done {
            return;
        }
        self.done = true;
        if !self.started {
            if !self.sse {
                out.extend_from_slice(b"[]");
            }
            return;
        }
        self.flush_call(out);
        let reason = self.finish.clone().unwrap_or(FinishReason::Stop);
        // A filtered turn has no content, as the API sends it.
        let content = (reason != FinishReason::ContentFilter).then(|| Content {
            parts: vec![WirePart {
                text: Some(String::new()),
                ..WirePart::default()
            }],
            role: Some("model".into()),
        });
        let mut chunk = self.chunk(content, Some(&reason));
        chunk.usage_metadata = self.usage.as_ref().map(UsageMetadata::from_usage);
        self.write_chunk(&chunk, out);
        if !self.sse {
            out.extend_from_slice(b"]");
        }
    }

    /// A blank line: google-genai (Python) parses every non-blank line that
    /// is not `data: ...` as JSON, so an SSE comment would break it, while
    /// an empty line is a no-op for every SSE reader. In array mode the same
    /// bytes are insignificant JSON whitespace.
    fn keep_alive(&mut self, out: &mut BytesMut) {
        if !self.done {
            out.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
