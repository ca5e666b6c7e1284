//! Content blocks, the part of the wire format that messages, tool results
//! and responses share, in both directions.
//!
//! Blocks are read in two steps — the block as JSON, then the typed block its
//! `type` names — so that unknown block types (server tool use and results,
//! search results, container uploads, ...) are skipped without being
//! validated, while a malformed known block still names its bad field.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Unexpected, Visitor};
use serde_json::{Map, Value, json};

use crate::protocol::data_url::DataUrl;
use crate::protocol::model::{Image, Part, Reasoning, ToolCall, ToolResult};

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

/// A field that is either a plain string or an array of blocks (`system`,
/// `content`, `tool_result.content`). Hand-written rather than `untagged` so
/// that an error inside a block keeps its path.
#[derive(Debug)]
pub(super) enum TextOrBlocks<B> {
    /// The string shorthand.
    Text(String),
    /// The block array.
    Blocks(Vec<B>),
}

impl<'de, B: Deserialize<'de>> Deserialize<'de> for TextOrBlocks<B> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextOrBlocksVisitor<B>(PhantomData<B>);

        impl<'de, B: Deserialize<'de>> Visitor<'de> for TextOrBlocksVisitor<B> {
            type Value = TextOrBlocks<B>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of content blocks")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(TextOrBlocks::Text(text.to_owned()))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
                Ok(TextOrBlocks::Text(text))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut blocks = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(block) = seq.next_element()? {
                    blocks.push(block);
                }
                Ok(TextOrBlocks::Blocks(blocks))
            }
        }

        deserializer.deserialize_any(TextOrBlocksVisitor(PhantomData))
    }
}

/// Deserializes an already-parsed JSON value as `T`, prefixing an error with
/// the field inside the value that failed (the outer path stops at the value).
pub(super) fn typed<T: DeserializeOwned, E: de::Error>(value: Value) -> Result<T, E> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path.is_empty() || path == "." {
            E::custom(inner)
        } else {
            E::custom(format!("`{path}`: {inner}"))
        }
    })
}

/// Checks that `value` is a JSON object (an `expected` one) and reads its
/// `type` tag, `None` when it has none.
pub(super) fn object_tag<E: de::Error>(value: &Value, expected: &'static str) -> Result<Option<String>, E> {
    let Value::Object(object) = value else {
        return Err(E::invalid_type(unexpected(value), &expected));
    };
    match object.get("type") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(tag)) => Ok(Some(tag.clone())),
        Some(other) => Err(E::custom(format_args!(
            "`type`: invalid type: {}, expected a string",
            unexpected(other)
        ))),
    }
}

/// What a value is, for error messages that must not echo what a client
/// sent (it may be large, or private).
fn unexpected(value: &Value) -> Unexpected<'static> {
    match value {
        Value::Null => Unexpected::Other("null"),
        Value::Bool(flag) => Unexpected::Bool(*flag),
        Value::Number(_) => Unexpected::Other("number"),
        Value::String(_) => Unexpected::Other("string"),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// One content block of a message, a tool result or a response.
#[derive(Debug)]
pub(super) enum WireBlock {
    /// `{"type":"text","text"}` (citations are dropped).
    Text { text: String },
    /// `{"type":"image","source"}`.
    Image { source: ImageSource },
    /// `{"type":"document","source"}`.
    Document { source: DocumentSource },
    /// `{"type":"tool_use","id","name","input"}`.
    ToolUse { id: String, name: String, input: Value },
    /// `{"type":"tool_result","tool_use_id","content","is_error"}`.
    ToolResult {
        tool_use_id: String,
        content: Option<TextOrBlocks<WireBlock>>,
        is_error: Option<bool>,
    },
    /// `{"type":"thinking","thinking","signature"}`.
    Thinking {
        thinking: String,
        signature: Option<String>,
    },
    /// `{"type":"redacted_thinking","data"}`.
    RedactedThinking { data: String },
    /// `{"type":"mid_conv_system","content"}`: system instructions placed
    /// inside a turn.
    MidConversationSystem { content: TextOrBlocks<TextBlock> },
    /// Any block the model cannot carry (server tool use and results, search
    /// results, container uploads, ...).
    Other,
}

/// A block that must be text (`system` entries, `mid_conv_system` content).
#[derive(Debug, Deserialize)]
pub(super) struct TextBlock {
    /// The text.
    text: String,
}

/// Where an image comes from.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(super) enum ImageSource {
    /// Inline base64 data.
    Base64 { media_type: String, data: String },
    /// A URL Anthropic fetches.
    Url { url: String },
    /// Files API references and future kinds: nothing the model can carry.
    #[serde(other)]
    Other,
}

/// Where a document comes from.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(super) enum DocumentSource {
    /// Inline base64 data (a PDF).
    Base64 { media_type: String, data: String },
    /// Plain text.
    Text { data: String },
    /// Content blocks given as the document.
    Content { content: TextOrBlocks<WireBlock> },
    /// URL PDFs and Files API references: dropped, since the model cannot tell
    /// a PDF link from an image link.
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for WireBlock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Text {
            text: String,
        }
        #[derive(Deserialize)]
        struct WithSource<S> {
            source: S,
        }
        #[derive(Deserialize)]
        struct ToolUse {
            id: String,
            name: String,
            input: Value,
        }
        #[derive(Deserialize)]
        struct ToolResult {
            tool_use_id: String,
            content: Option<TextOrBlocks<WireBlock>>,
            is_error: Option<bool>,
        }
        #[derive(Deserialize)]
        struct Thinking {
            thinking: String,
            signature: Option<String>,
        }
        #[derive(Deserialize)]
        struct Redacted {
            data: String,
        }
        #[derive(Deserialize)]
        struct MidConversationSystem {
            content: TextOrBlocks<TextBlock>,
        }

        let value = Value::deserialize(deserializer)?;
        let Some(tag) = object_tag::<D::Error>(&value, "a content block object")? else {
            return Err(de::Error::missing_field("type"));
        };
        Ok(match tag.as_str() {
            "text" => {
                let Text { text } = typed(value)?;
                WireBlock::Text { text }
            }
            "image" => {
                let WithSource { source } = typed(value)?;
                WireBlock::Image { source }
            }
            "document" => {
                let WithSource { source } = typed(value)?;
                WireBlock::Document { source }
            }
            "tool_use" => {
                let ToolUse { id, name, input } = typed(value)?;
                WireBlock::ToolUse { id, name, input }
            }
            "tool_result" => {
                let ToolResult {
                    tool_use_id,
                    content,
                    is_error,
                } = typed(value)?;
                WireBlock::ToolResult {
                    tool_use_id,
                    content,
                    is_error,
                }
            }
            "thinking" => {
                let Thinking { thinking, signature } = typed(value)?;
                WireBlock::Thinking { thinking, signature }
            }
            "redacted_thinking" => {
                let Redacted { data } = typed(value)?;
                WireBlock::RedactedThinking { data }
            }
            "mid_conv_system" => {
                let MidConversationSystem { content } = typed(value)?;
                WireBlock::MidConversationSystem { content }
            }
            _ => WireBlock::Other,
        })
    }
}

/// Turns one block into the parts it stands for (none for dropped blocks).
pub(super) fn block_parts(block: WireBlock, parts: &mut Vec<Part>) {
    match block {
        WireBlock::Text { text } => parts.push(Part::Text(text)),
        WireBlock::Image { source } => match source {
            ImageSource::Base64 { media_type, data } => parts.push(Part::Image(Image::Base64 { media_type, data })),
            ImageSource::Url { url } => parts.push(Part::Image(Image::Url(url))),
            ImageSource::Other => {}
        },
        WireBlock::Document { source } => match source {
            // A PDF is inline media like an image: Gemini reads it as such, and
            // the encoder below turns `application/pdf` back into a document.
            DocumentSource::Base64 { media_type, data } => parts.push(Part::Image(Image::Base64 { media_type, data })),
            DocumentSource::Text { data } => parts.push(Part::Text(data)),
            DocumentSource::Content { content } => text_or_block_parts(content, parts),
            DocumentSource::Other => {}
        },
        WireBlock::ToolUse { id, name, input } => parts.push(Part::ToolCall(ToolCall {
            id,
            name,
            // A client that sent the arguments as JSON text keeps them as is.
            arguments: match input {
                Value::String(text) => text,
                other => other.to_string(),
            },
            signature: None,
        })),
        WireBlock::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => {
            let mut result = Vec::new();
            if let Some(content) = content {
                text_or_block_parts(content, &mut result);
            }
            // Only text and media are results; anything else has no meaning there.
            result.retain(|part| matches!(part, Part::Text(_) | Part::Image(_)));
            parts.push(Part::ToolResult(ToolResult {
                call_id: tool_use_id,
                name: None,
                content: result,
                is_error: is_error.unwrap_or(false),
            }));
        }
        WireBlock::Thinking { thinking, signature } => parts.push(Part::Reasoning(Reasoning {
            text: thinking,
            // An empty signature (a client echoing a thinking block that never
            // had one) cannot be replayed: treat it as absent.
            signature: signature.filter(|signature| !signature.is_empty()),
            redacted: None,
        })),
        WireBlock::RedactedThinking { data } => parts.push(Part::Reasoning(Reasoning {
            text: String::new(),
            signature: None,
            redacted: Some(data),
        })),
        // Handled by the message decoder, which splits the turn around it.
        WireBlock::MidConversationSystem { .. } | WireBlock::Other => {}
    }
}

/// The parts of a string-or-blocks field (a tool result, a content document).
fn text_or_block_parts(content: TextOrBlocks<WireBlock>, parts: &mut Vec<Part>) {
    match content {
        TextOrBlocks::Text(text) => parts.push(Part::Text(text)),
        TextOrBlocks::Blocks(blocks) => {
            for block in blocks {
                block_parts(block, parts);
            }
        }
    }
}

/// The texts of a `system`-like field, one per block.
pub(super) fn texts(content: TextOrBlocks<TextBlock>) -> Vec<String> {
    match content {
        TextOrBlocks::Text(text) => vec![text],
        TextOrBlocks::Blocks(blocks) => blocks.into_iter().map(|block| block.text).collect(),
    }
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

/// A text block.
pub(super) fn text_block(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

/// An image (or a PDF, which Anthropic calls a document) as a content block.
pub(super) fn media_block(image: &Image) -> Value {
    match image {
        Image::Base64 { media_type, data } => base64_block(media_type, data),
        // A `data:` URL Anthropic cannot fetch: its data travels inline.
        Image::Url(url) => match DataUrl::parse(url) {
            Ok(DataUrl {
                media_type,
                base64: true,
                data,
            }) => base64_block(media_type, data),
            _ => json!({"type": "image", "source": {"type": "url", "url": url}}),
        },
    }
}

fn base64_block(media_type: &str, data: &str) -> Value {
    let kind = if media_type == "application/pdf" {
        "document"
    } else {
        "image"
    };
    json!({"type": kind, "source": {"type": "base64", "media_type": media_type, "data": data}})
}

/// Tool-call arguments as the object Anthropic requires: text that is not a
/// JSON object (truncated output, a stray string) becomes `{}` rather than a
/// request Anthropic would refuse.
pub(super) fn arguments_object(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(object)) => Value::Object(object),
        _ => Value::Object(Map::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_become_base64_sources_and_other_urls_stay_links() {
        assert_eq!(
            media_block(&Image::Url("data:image/webp;base64,UklGRg==".into())),
            json!({"type": "image", "source": {"type": "base64", "media_type": "image/webp", "data": "UklGRg=="}})
        );
        assert_eq!(
            media_block(&Image::Url("https://example.com/a.png".into())),
            json!({"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}})
        );
        // Not base64: Anthropic cannot take it inline, so it stays a link.
        assert_eq!(
            media_block(&Image::Url("data:text/plain,hello".into())),
            json!({"type": "image", "source": {"type": "url", "url": "data:text/plain,hello"}})
        );
    }

    #[test]
    fn arguments_become_an_object_or_nothing() {
        assert_eq!(arguments_object(r#"{"a":[1,2]}"#), json!({"a": [1, 2]}));
        for not_an_object in ["", "[1]", "\"text\"", "{\"a\":", "null"] {
            assert_eq!(arguments_object(not_an_object), json!({}), "{not_an_object}");
        }
    }
}
