//! Pieces that requests, responses and streams share: typed parsing of one
//! JSON value with its path, message content parts, the `encrypted_content`
//! envelope that carries reasoning signatures, namespaced tool names and
//! item ids.

use std::fmt;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::protocol::ApiError;
use crate::protocol::data_url::{self, DataUrl, DataUrlError};
use crate::protocol::model::{Image, Part, Reasoning};

/// Marks an `encrypted_content` that holds redacted reasoning rather than a
/// signature. Signatures are base64 (Anthropic, Gemini), which has no `:`,
/// so the two can never be confused.
pub(super) const REDACTED_PREFIX: &str = "redacted:";

/// A 400 that points at one field of the body.
pub(super) fn invalid(path: &str, message: impl fmt::Display) -> ApiError {
    ApiError::invalid_request(format!("invalid request at `{path}`: {message}"))
}

/// Deserializes `value`, which sits at `path` in the body, naming the exact
/// field on error as [`crate::protocol::parse_json`] does for whole bodies.
///
/// Items, parts and tools are read as JSON first so that unknown types can
/// be skipped before their fields are checked (an unknown item may reuse a
/// known field name with another type); this keeps the error path intact
/// for the known ones.
pub(super) fn parse_at<T: DeserializeOwned>(value: Value, path: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let inner = err.path().to_string();
        let full = if inner.is_empty() || inner == "." {
            path.to_owned()
        } else if inner.starts_with('[') {
            format!("{path}{inner}")
        } else {
            format!("{path}.{inner}")
        };
        ApiError::invalid_request(format!("invalid JSON body at `{full}`: {}", err.into_inner()))
    })
}

/// The `type` of an item, part or tool, when it has a string one.
pub(super) fn type_of(value: &Value) -> Option<&str> {
    value.get("type").and_then(Value::as_str)
}

#[derive(Debug, Deserialize)]
struct TextPart {
    text: String,
}

#[derive(Deserialize)]
struct RefusalPart {
    refusal: String,
}

#[derive(Deserialize)]
struct ImagePart {
    image_url: Option<String>,
}

#[derive(Deserialize)]
struct FilePart {
    file_data: Option<String>,
    filename: Option<String>,
}

/// Decodes message content (or a function call's output): a string, or an
/// array of typed parts. Images by file id, files by URL or id, audio and
/// unknown part types are dropped: no upstream can read them.
pub(super) fn decode_content(content: Value, path: &str) -> Result<Vec<Part>, ApiError> {
    let parts = match content {
        Value::String(text) => return Ok(vec![Part::Text(text)]),
        Value::Array(parts) => parts,
        _ => return Err(invalid(path, "expected a string or an array of content parts")),
    };
    let mut out = Vec::with_capacity(parts.len());
    for (j, part) in parts.into_iter().enumerate() {
        let part_path = format!("{path}[{j}]");
        let Some(kind) = type_of(&part).map(str::to_owned) else {
            return Err(invalid(
                &format!("{part_path}.type"),
                "a content part needs a string `type`",
            ));
        };
        match kind.as_str() {
            "input_text" | "output_text" | "text" => out.push(Part::Text(parse_at::<TextPart>(part, &part_path)?.text)),
            "refusal" => out.push(Part::Text(parse_at::<RefusalPart>(part, &part_path)?.refusal)),
            "input_image" => match parse_at::<ImagePart>(part, &part_path)?.image_url {
                Some(url) => out.push(Part::Image(decode_image_url(&url, &format!("{part_path}.image_url"))?)),
                None => tracing::warn!("dropping an input_image given by file_id: uploaded files cannot travel"),
            },
            "input_file" => match decode_file(parse_at(part, &part_path)?) {
                Some(image) => out.push(Part::Image(image)),
                None => tracing::warn!("dropping an input_file that is neither inline PDF nor image data"),
            },
            other => tracing::warn!(part_type = other, "dropping a content part type the model cannot carry"),
        }
    }
    Ok(out)
}

/// `data:` URLs become inline data; anything else is a link for the upstream.
fn decode_image_url(url: &str, path: &str) -> Result<Image, ApiError> {
    data_url::image_from_url(url).map_err(|err| invalid(path, err))
}

/// Inline file data, as the anthropic codec does for documents: PDFs (and
/// images sent as files) travel as inline media, other documents cannot.
fn decode_file(file: FilePart) -> Option<Image> {
    let data = file.file_data?;
    let (media_type, data) = match DataUrl::parse(&data) {
        Ok(url) if url.base64 => (url.media_type.to_owned(), url.data.to_owned()),
        // Bare base64: the API documents PDFs as the one such file type.
        Err(DataUrlError::NotDataUrl)
            if file
                .filename
                .as_deref()
                .is_none_or(|name| name.to_ascii_lowercase().ends_with(".pdf")) =>
        {
            ("application/pdf".to_owned(), data)
        }
        _ => return None,
    };
    (media_type == "application/pdf" || media_type.starts_with("image/")).then_some(Image::Base64 { media_type, data })
}

/// One content part as a request's input item carries it: `input_text` for
/// what the user and system say, `output_text` for what the model said.
pub(super) fn encode_input_part(part: &Part, assistant: bool) -> Option<Value> {
    match part {
        Part::Text(text) if assistant => Some(json!({"type": "output_text", "text": text})),
        Part::Text(text) => Some(json!({"type": "input_text", "text": text})),
        Part::Image(Image::Url(url)) => Some(json!({"type": "input_image", "image_url": url, "detail": "auto"})),
        Part::Image(Image::Base64 { media_type, data }) => {
            let url = data_url::base64_url(media_type, data);
            if media_type.starts_with("image/") {
                Some(json!({"type": "input_image", "image_url": url, "detail": "auto"}))
            } else if media_type == "application/pdf" {
                Some(json!({"type": "input_file", "filename": "document.pdf", "file_data": url}))
            } else {
                None
            }
        }
        Part::ToolCall(_) | Part::ToolResult(_) | Part::Reasoning(_) => None,
    }
}

/// The model's reasoning for a wire reasoning item: `text` is its readable
/// summary (or content) and `encrypted` its `encrypted_content`, which holds
/// a signature, or redacted reasoning behind [`REDACTED_PREFIX`]. `None`
/// when there is nothing to replay.
pub(super) fn reasoning_from_wire(text: String, encrypted: Option<String>) -> Option<Reasoning> {
    let encrypted = encrypted.filter(|e| !e.is_empty());
    if text.is_empty() && encrypted.is_none() {
        return None;
    }
    let mut reasoning = Reasoning {
        text,
        ..Reasoning::default()
    };
    if let Some(value) = encrypted {
        match value.strip_prefix(REDACTED_PREFIX) {
            Some(data) => reasoning.redacted = Some(data.to_owned()),
            None => reasoning.signature = Some(value),
        }
    }
    Some(reasoning)
}

/// The `encrypted_content` that carries a reasoning part's signature or
/// redacted data back to the gateway on the client's next turn.
pub(super) fn encrypted_of(reasoning: &Reasoning) -> Option<String> {
    match (&reasoning.redacted, &reasoning.signature) {
        (Some(data), _) => Some(format!("{REDACTED_PREFIX}{data}")),
        (None, Some(signature)) if !signature.is_empty() => Some(signature.clone()),
        _ => None,
    }
}

/// Joins reasoning summary (or content) texts the way a client shows them:
/// one paragraph each.
pub(super) fn join_texts(texts: impl IntoIterator<Item = String>) -> String {
    texts
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The one flat function name the upstream sees for a function inside a
/// `namespace` tool. Codex names MCP namespaces `mcp__server__`, so joining
/// gives the familiar `mcp__server__tool`; other namespaces get the same
/// `__` separator.
pub(super) fn flat_name(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_owned()
    } else if namespace.ends_with("__") {
        format!("{namespace}{name}")
    } else {
        format!("{namespace}__{name}")
    }
}

/// A deterministic item id: `msg_`, `rs_` or `fc_`, the response token and
/// the item's output index.
pub(super) fn item_id(prefix: &str, token: &str, index: usize) -> String {
    format!("{prefix}_{token}_{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_the_field_below_the_given_path() {
        let err = parse_at::<TextPart>(json!({"type": "input_text", "text": 5}), "input[2].content[0]")
            .expect_err("a number is not text");
        assert!(err.message.contains("`input[2].content[0].text`"), "{}", err.message);
        let err = parse_at::<TextPart>(json!({"type": "input_text"}), "input[1]").expect_err("missing");
        assert!(err.message.contains("`input[1]`"), "{}", err.message);
        assert!(err.message.contains("missing field `text`"), "{}", err.message);
        assert_eq!(err.status, 400);
    }

    #[test]
    fn content_parts_decode_and_unreadable_ones_drop() {
        let parts = decode_content(
            json!([
                {"type": "input_text", "text": "a"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "high"},
                {"type": "input_image", "image_url": "https://example.com/cat.jpg"},
                {"type": "input_image", "file_id": "file-123"},
                {"type": "input_file", "filename": "paper.pdf", "file_data": "data:application/pdf;base64,JVBERi0="},
                {"type": "input_file", "filename": "raw.pdf", "file_data": "JVBERi0="},
                {"type": "input_file", "filename": "notes.txt", "file_data": "aGVsbG8="},
                {"type": "input_file", "file_url": "https://example.com/a.pdf"},
                {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
                {"type": "refusal", "refusal": "no"}
            ]),
            "input[0].content",
        )
        .expect("decodes");
        let pdf = |data: &str| {
            Part::Image(Image::Base64 {
                media_type: "application/pdf".into(),
                data: data.into(),
            })
        };
        assert_eq!(
            parts,
            vec![
                Part::Text("a".into()),
                Part::Image(Image::Base64 {
                    media_type: "image/png".into(),
                    data: "AAAA".into()
                }),
                Part::Image(Image::Url("https://example.com/cat.jpg".into())),
                pdf("JVBERi0="),
                pdf("JVBERi0="),
                Part::Text("no".into()),
            ]
        );
    }

    #[test]
    fn malformed_content_is_a_400_with_its_path() {
        let err = decode_content(json!(5), "input[0].content").expect_err("number");
        assert!(err.message.contains("`input[0].content`"), "{}", err.message);
        let err = decode_content(json!([{"text": "no type"}]), "input[0].content").expect_err("no type");
        assert!(err.message.contains("`input[0].content[0].type`"), "{}", err.message);
        let err = decode_content(
            json!([{"type": "input_image", "image_url": "data:image/png,notbase64"}]),
            "input[3].content",
        )
        .expect_err("not base64");
        assert!(
            err.message.contains("`input[3].content[0].image_url`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn the_encrypted_envelope_tells_signatures_from_redacted_reasoning() {
        let signed = reasoning_from_wire("plan".into(), Some("c2ln".into())).expect("kept");
        assert_eq!(signed.signature.as_deref(), Some("c2ln"));
        assert_eq!(signed.redacted, None);
        assert_eq!(encrypted_of(&signed).as_deref(), Some("c2ln"));

        let redacted = reasoning_from_wire(String::new(), Some("redacted:RURBVEE=".into())).expect("kept");
        assert_eq!(redacted.redacted.as_deref(), Some("RURBVEE="));
        assert_eq!(redacted.signature, None);
        assert_eq!(encrypted_of(&redacted).as_deref(), Some("redacted:RURBVEE="));

        // Readable text alone is kept; nothing at all is not.
        assert_eq!(
            reasoning_from_wire("only text".into(), Some(String::new())),
            Some(Reasoning {
                text: "only text".into(),
                ..Reasoning::default()
            })
        );
        assert_eq!(reasoning_from_wire(String::new(), None), None);
    }

    #[test]
    fn namespaced_names_flatten_with_a_double_underscore() {
        assert_eq!(
            flat_name("mcp__weather__", "get_forecast"),
            "mcp__weather__get_forecast"
        );
        assert_eq!(flat_name("mcp__atlas", "status"), "mcp__atlas__status");
        assert_eq!(flat_name("", "shell"), "shell");
    }

    #[test]
    fn input_parts_encode_by_role_and_media_type() {
        assert_eq!(
            encode_input_part(&Part::Text("hi".into()), true),
            Some(json!({"type": "output_text", "text": "hi"}))
        );
        assert_eq!(
            encode_input_part(&Part::Text("hi".into()), false),
            Some(json!({"type": "input_text", "text": "hi"}))
        );
        let doc = Part::Image(Image::Base64 {
            media_type: "application/pdf".into(),
            data: "JVBERi0=".into(),
        });
        assert_eq!(
            encode_input_part(&doc, false),
            Some(
                json!({"type": "input_file", "filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBERi0="})
            )
        );
        let audio = Part::Image(Image::Base64 {
            media_type: "audio/wav".into(),
            data: "AAAA".into(),
        });
        assert_eq!(encode_input_part(&audio, false), None);
    }
}
