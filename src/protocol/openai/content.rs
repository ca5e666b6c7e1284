//! Message content and tool calls, shared by requests and responses:
//! content given as a string or as typed parts, images as data URLs or
//! links, tool calls whose arguments are JSON text.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::{Value, json};

use crate::protocol::ApiError;
use crate::protocol::data_url::{self, DataUrl, DataUrlError};
use crate::protocol::model::{Image, Part, ToolCall};

/// Message `content`: a plain string or an array of typed parts.
pub(super) enum WireContent {
    Text(String),
    Parts(Vec<WirePart>),
}

impl<'de> Deserialize<'de> for WireContent {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A hand-written visitor instead of `#[serde(untagged)]`: untagged
        // enums hide which array element failed, this keeps `content[3].text`.
        struct ContentVisitor;
        impl<'de> Visitor<'de> for ContentVisitor {
            type Value = WireContent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of content parts")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<WireContent, E> {
                Ok(WireContent::Text(text.to_owned()))
            }
            fn visit_string<E: de::Error>(self, text: String) -> Result<WireContent, E> {
                Ok(WireContent::Text(text))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<WireContent, A::Error> {
                let mut parts = Vec::new();
                while let Some(part) = seq.next_element()? {
                    parts.push(part);
                }
                Ok(WireContent::Parts(parts))
            }
        }
        deserializer.deserialize_any(ContentVisitor)
    }
}

/// One content part; which fields matter depends on `type`.
#[derive(Deserialize)]
pub(super) struct WirePart {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
    image_url: Option<WireImageUrl>,
    refusal: Option<String>,
    file: Option<WireFile>,
}

/// `image_url`: `{url, detail}`, or a bare URL string as some clients send.
struct WireImageUrl {
    url: String,
}

impl<'de> Deserialize<'de> for WireImageUrl {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Object {
            url: String,
        }
        struct UrlVisitor;
        impl<'de> Visitor<'de> for UrlVisitor {
            type Value = WireImageUrl;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object with a `url` or a URL string")
            }
            fn visit_str<E: de::Error>(self, url: &str) -> Result<WireImageUrl, E> {
                Ok(WireImageUrl { url: url.to_owned() })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<WireImageUrl, A::Error> {
                let object = Object::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(WireImageUrl { url: object.url })
            }
        }
        deserializer.deserialize_any(UrlVisitor)
    }
}

#[derive(Deserialize)]
struct WireFile {
    file_data: Option<String>,
}

/// A tool call in assistant history or in an upstream response. The id is
/// optional here because some upstreams omit it; client requests require it.
#[derive(Deserialize)]
pub(super) struct WireToolCall {
    pub(super) id: Option<String>,
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) function: Option<WireFunctionCall>,
    pub(super) custom: Option<WireCustomCall>,
}

#[derive(Deserialize)]
pub(super) struct WireFunctionCall {
    pub(super) name: String,
    /// JSON text per the spec; some servers send an object instead.
    pub(super) arguments: Option<Value>,
}

#[derive(Deserialize)]
pub(super) struct WireCustomCall {
    pub(super) name: String,
    pub(super) input: Option<String>,
}

/// A 400 that points at one field of the body.
pub(super) fn invalid(path: &str, message: impl fmt::Display) -> ApiError {
    ApiError::invalid_request(format!("invalid request at `{path}`: {message}"))
}

/// Converts one wire tool call, given the id to use.
pub(super) fn tool_call_from_wire(call: WireToolCall, id: String, path: &str) -> Result<ToolCall, ApiError> {
    if call.kind.as_deref() == Some("custom") {
        let custom = call
            .custom
            .ok_or_else(|| invalid(&format!("{path}.custom"), "a custom tool call needs a `custom` object"))?;
        // Custom tools take free text; the model carries JSON arguments, so
        // the text is wrapped rather than lost.
        return Ok(ToolCall {
            id,
            name: custom.name,
            arguments: json!({"input": custom.input.unwrap_or_default()}).to_string(),
            signature: None,
        });
    }
    let function = call
        .function
        .ok_or_else(|| invalid(&format!("{path}.function"), "a tool call needs a `function` object"))?;
    Ok(ToolCall {
        id,
        name: function.name,
        arguments: arguments_text(function.arguments),
        signature: None,
    })
}

/// Tool arguments as JSON text: kept verbatim (even if invalid JSON, which
/// the model may produce), `{}` when absent.
pub(super) fn arguments_text(arguments: Option<Value>) -> String {
    match arguments {
        Some(Value::String(text)) if !text.trim().is_empty() => text,
        None | Some(Value::Null) | Some(Value::String(_)) => "{}".to_owned(),
        Some(other) => other.to_string(),
    }
}

/// Decodes `content` into parts. Audio, uploaded-file references and unknown
/// part types are dropped: the model has no place for them.
pub(super) fn decode_parts(content: WireContent, path: &str) -> Result<Vec<Part>, ApiError> {
    let parts = match content {
        WireContent::Text(text) => return Ok(vec![Part::Text(text)]),
        WireContent::Parts(parts) => parts,
    };
    let mut out = Vec::with_capacity(parts.len());
    for (j, part) in parts.into_iter().enumerate() {
        let part_path = format!("{path}[{j}]");
        match part.kind.as_str() {
            "text" | "input_text" | "output_text" => {
                let text = part
                    .text
                    .ok_or_else(|| invalid(&format!("{part_path}.text"), "a text part needs `text`"))?;
                out.push(Part::Text(text));
            }
            "refusal" => {
                let refusal = part
                    .refusal
                    .ok_or_else(|| invalid(&format!("{part_path}.refusal"), "a refusal part needs `refusal`"))?;
                out.push(Part::Text(refusal));
            }
            "image_url" => {
                let image = part
                    .image_url
                    .ok_or_else(|| invalid(&format!("{part_path}.image_url"), "an image part needs `image_url`"))?;
                out.push(Part::Image(decode_image_url(
                    &image.url,
                    &format!("{part_path}.image_url.url"),
                )?));
            }
            "file" => {
                if let Some(image) = part.file.and_then(decode_file) {
                    out.push(Part::Image(image));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// `data:` URLs become inline data; anything else is a link for the upstream.
fn decode_image_url(url: &str, path: &str) -> Result<Image, ApiError> {
    data_url::image_from_url(url).map_err(|err| invalid(path, err))
}

/// A `file` part with inline data (Chat Completions takes PDFs this way);
/// parts that only reference an uploaded `file_id` cannot travel.
fn decode_file(file: WireFile) -> Option<Image> {
    let data = file.file_data?;
    match DataUrl::parse(&data) {
        // Bare base64: Chat Completions accepts no other document than a PDF.
        Err(DataUrlError::NotDataUrl) => Some(Image::Base64 {
            media_type: "application/pdf".to_owned(),
            data,
        }),
        parsed => parsed.and_then(DataUrl::into_image).ok(),
    }
}

/// A single text as a plain string (what every compatible server accepts),
/// anything else as an array of parts. Parts without a Chat Completions
/// form (documents other than PDF) are dropped.
pub(super) fn encode_content(parts: &[&Part]) -> Value {
    let mut encoded: Vec<Value> = parts.iter().filter_map(|part| encode_part(part)).collect();
    if let [only] = encoded.as_mut_slice()
        && only["type"] == "text"
    {
        return only["text"].take();
    }
    Value::Array(encoded)
}

fn encode_part(part: &Part) -> Option<Value> {
    match part {
        Part::Text(text) => Some(json!({"type": "text", "text": text})),
        Part::Image(Image::Url(url)) => Some(json!({"type": "image_url", "image_url": {"url": url}})),
        Part::Image(Image::Base64 { media_type, data }) => {
            let url = data_url::base64_url(media_type, data);
            if media_type.starts_with("image/") {
                Some(json!({"type": "image_url", "image_url": {"url": url}}))
            } else if media_type == "application/pdf" {
                // Chat Completions reads PDFs (and no other documents) from `file` parts.
                Some(json!({"type": "file", "file": {"filename": "document.pdf", "file_data": url}}))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Arguments as sent: OpenAI rejects an empty string where it wants JSON.
pub(super) fn non_empty_arguments(arguments: &str) -> &str {
    if arguments.trim().is_empty() { "{}" } else { arguments }
}
