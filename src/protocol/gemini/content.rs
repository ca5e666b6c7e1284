//! Gemini `Content` and `Part`, shared by requests (`contents[]`,
//! `systemInstruction`) and responses (`candidates[].content`), and their
//! translation to and from the model's [`Part`]s.
//!
//! Field names are Gemini's camelCase; every multi-word field also accepts
//! the snake_case spelling, because the REST API accepts both and the Python
//! SDK sends nested objects in snake_case.
//!
//! Thought signatures: Gemini may put a `thoughtSignature` on any part. The
//! model carries one on [`ToolCall::signature`] and [`Reasoning::signature`];
//! a signature on a part that has no room for it (text, inline data) becomes
//! an empty [`Reasoning`] holding the signature, placed right before that
//! part, and the encoders fold such an empty signed reasoning back onto the
//! part that follows it, so that the signature returns where it came from.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};

use crate::protocol::data_url::DataUrl;
use crate::protocol::model::{Image, Part, Reasoning, ToolCall, ToolResult};

/// The signature Gemini documents for function calls it did not produce
/// itself (history from another provider): Gemini 3 refuses a model turn
/// whose first function call carries no signature at all.
pub(super) const FOREIGN_CALL_SIGNATURE: &str = "skip_thought_signature_validator";

/// One turn: `{role, parts}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Content {
    /// The turn's parts, in order (a single part object is accepted too, a
    /// shape some REST clients send for `systemInstruction`).
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "one_or_many")]
    pub parts: Vec<WirePart>,
    /// `user` or `model` (`function` from old clients); clients may leave it
    /// out, meaning `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// One part; exactly one of the data fields is set on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WirePart {
    /// Text (or thought summary text when `thought` is true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Marks the text as the model's reasoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
    /// Media by value.
    #[serde(default, alias = "inline_data", skip_serializing_if = "Option::is_none")]
    pub inline_data: Option<Blob>,
    /// Media by URI.
    #[serde(default, alias = "file_data", skip_serializing_if = "Option::is_none")]
    pub file_data: Option<FileData>,
    /// A call the model makes.
    #[serde(default, alias = "function_call", skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
    /// The client's answer to a call.
    #[serde(default, alias = "function_response", skip_serializing_if = "Option::is_none")]
    pub function_response: Option<FunctionResponse>,
    /// Opaque signature of the model's reasoning up to this part.
    #[serde(default, alias = "thought_signature", skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<String>,
}

/// `inlineData`: base64 bytes with their MIME type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Blob {
    /// MIME type of the decoded bytes.
    #[serde(alias = "mime_type")]
    pub mime_type: String,
    /// Base64 of the bytes.
    pub data: String,
}

/// `fileData`: a URI the API fetches (Files API or a public URL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FileData {
    /// MIME type, optional on the wire.
    #[serde(default, alias = "mime_type", skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Where the data is.
    #[serde(alias = "file_uri")]
    pub file_uri: String,
}

/// `functionCall`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct FunctionCall {
    /// Call id; the Gemini API often leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Function name.
    pub name: String,
    /// Arguments object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
}

/// `functionResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct FunctionResponse {
    /// The id of the call answered, when the call had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Function name (required by the API).
    #[serde(default)]
    pub name: Option<String>,
    /// The result object (`{"output": ...}` / `{"error": ...}` by convention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
    /// Media returned by the function (Gemini 3 multimodal function responses).
    #[serde(default, skip_serializing, deserialize_with = "null_as_default")]
    pub parts: Vec<WirePart>,
}

/// Treats an explicit JSON `null` like an absent field.
pub(super) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Accepts a list of parts or a single part object.
pub(super) fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<WirePart>, D::Error> {
    struct PartsVisitor;

    impl<'de> Visitor<'de> for PartsVisitor {
        type Value = Vec<WirePart>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of parts")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut parts = Vec::new();
            while let Some(part) = seq.next_element()? {
                parts.push(part);
            }
            Ok(parts)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let part = WirePart::deserialize(de::value::MapAccessDeserializer::new(map))?;
            Ok(vec![part])
        }
    }

    deserializer.deserialize_any(PartsVisitor)
}

/// Hands out ids for function calls that arrive without one, and matches
/// function responses without an id to the call they answer.
pub(super) struct CallIds<'a> {
    /// `None` for client requests (ids `call_{n}`), the response's meta for
    /// upstream responses (ids from [`ResponseMeta::tool_call_id`](crate::protocol::model::ResponseMeta::tool_call_id)).
    make: &'a dyn Fn(usize) -> String,
    /// How many calls were seen so far.
    count: usize,
    /// Calls not answered yet, oldest first: (name, id).
    unanswered: Vec<(String, String)>,
}

impl<'a> CallIds<'a> {
    /// Ids made by `make(n)` for the `n`th call (counting from 0).
    pub fn new(make: &'a dyn Fn(usize) -> String) -> Self {
        CallIds {
            make,
            count: 0,
            unanswered: Vec::new(),
        }
    }

    /// The id of a call: its own, or a made one.
    pub fn call(&mut self, id: Option<&str>, name: &str) -> String {
        let id = match id {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => (self.make)(self.count),
        };
        self.count += 1;
        self.unanswered.push((name.to_string(), id.clone()));
        id
    }

    /// The call id a response answers: its own, else the oldest unanswered
    /// call of that name, else one derived from the name.
    pub fn answer(&mut self, id: Option<&str>, name: Option<&str>) -> String {
        if let Some(id) = id.filter(|id| !id.is_empty()) {
            self.unanswered.retain(|(_, pending)| pending != id);
            return id.to_string();
        }
        let name = name.unwrap_or_default();
        if let Some(index) = self.unanswered.iter().position(|(pending, _)| pending == name) {
            return self.unanswered.remove(index).1;
        }
        format!("call_{name}")
    }
}

/// Converts wire parts into model parts (see the module docs for signatures).
/// Executable code, code results and other part kinds are dropped.
pub(super) fn decode_parts(parts: Vec<WirePart>, ids: &mut CallIds<'_>) -> Vec<Part> {
    let mut out = Vec::new();
    for part in parts {
        let WirePart {
            text,
            thought,
            inline_data,
            file_data,
            function_call,
            function_response,
            thought_signature,
        } = part;
        let signature = thought_signature
            .filter(|signature| !signature.is_empty())
            .map(standard_base64);
        if let Some(call) = function_call {
            let id = ids.call(call.id.as_deref(), &call.name);
            out.push(Part::ToolCall(ToolCall {
                id,
                name: call.name,
                arguments: arguments_text(call.args),
                signature,
            }));
        } else if let Some(response) = function_response {
            out.push(Part::ToolResult(decode_function_response(response, ids)));
        } else if let Some(text) = text {
            if thought == Some(true) {
                out.push(Part::Reasoning(Reasoning {
                    text,
                    signature,
                    redacted: None,
                }));
            } else {
                push_signature(&mut out, signature);
                if !text.is_empty() {
                    out.push(Part::Text(text));
                }
            }
        } else if let Some(image) = decode_media(inline_data, file_data) {
            push_signature(&mut out, signature);
            out.push(Part::Image(image));
        }
    }
    out
}

/// Signatures are base64 bytes, and google-genai (Python) sends them back in
/// the URL-safe alphabet whatever alphabet it received. Gemini accepts both
/// (proto3 JSON), but Anthropic compares its signatures byte for byte, so
/// they are put back into the standard alphabet. The placeholders Gemini
/// documents for foreign history are words, not base64, and stay as they are.
fn standard_base64(signature: String) -> String {
    let placeholder = signature == FOREIGN_CALL_SIGNATURE || signature == "context_engineering_is_the_way_to_go";
    let url_safe = signature.contains(['-', '_'])
        && signature
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'='));
    if placeholder || !url_safe {
        return signature;
    }
    signature.replace('-', "+").replace('_', "/")
}

fn push_signature(out: &mut Vec<Part>, signature: Option<String>) {
    if let Some(signature) = signature {
        out.push(Part::Reasoning(Reasoning {
            text: String::new(),
            signature: Some(signature),
            redacted: None,
        }));
    }
}

fn decode_media(inline_data: Option<Blob>, file_data: Option<FileData>) -> Option<Image> {
    if let Some(blob) = inline_data {
        return Some(Image::Base64 {
            media_type: blob.mime_type,
            data: blob.data,
        });
    }
    file_data.map(|file| Image::Url(file.file_uri))
}

/// Arguments object as JSON text; a missing or `null` one is `{}`.
fn arguments_text(args: Option<Value>) -> String {
    match args {
        None | Some(Value::Null) => "{}".to_string(),
        Some(args) => args.to_string(),
    }
}

fn decode_function_response(response: FunctionResponse, ids: &mut CallIds<'_>) -> ToolResult {
    let call_id = ids.answer(response.id.as_deref(), response.name.as_deref());
    // By Gemini's convention an `error` key without an `output` key reports a failure.
    let is_error = response
        .response
        .as_ref()
        .and_then(Value::as_object)
        .is_some_and(|object| object.contains_key("error") && !object.contains_key("output"));
    let mut content = vec![Part::Text(arguments_text(response.response))];
    for part in response.parts {
        if let Some(image) = decode_media(part.inline_data, part.file_data) {
            content.push(Part::Image(image));
        }
    }
    ToolResult {
        call_id,
        name: response.name,
        content,
        is_error,
    }
}

/// Who the encoded parts are for; the two directions differ in what they
/// can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Audience {
    /// The Gemini API (a request's history): reasoning without a signature is
    /// dropped (Gemini cannot verify foreign reasoning) and unparsable
    /// arguments become `{}`.
    Upstream,
    /// A google-genai client (a response): reasoning text is shown as
    /// `thought` parts and unparsable arguments are kept as `{"_raw": text}`
    /// so that the tool sees what the model wrote.
    Client,
}

/// Converts model parts into wire parts. `names` maps call ids to function
/// names, for tool results that do not carry their name.
pub(super) fn encode_parts(parts: &[Part], audience: Audience, names: &HashMap<String, String>) -> Vec<WirePart> {
    let mut out = Vec::new();
    let mut pending_signature: Option<String> = None;
    for part in parts {
        let signature = pending_signature.take();
        match part {
            Part::Text(text) => {
                if text.is_empty() && signature.is_none() {
                    // Gemini refuses empty text parts.
                    continue;
                }
                out.push(WirePart {
                    text: Some(text.clone()),
                    thought_signature: signature,
                    ..WirePart::default()
                });
            }
            Part::Image(image) => {
                let mut wire = encode_image(image);
                wire.thought_signature = signature;
                out.push(wire);
            }
            Part::ToolCall(call) => {
                let signature = match &call.signature {
                    // The call has its own; the pending one keeps its own part.
                    Some(_) => {
                        flush_signature(&mut out, signature);
                        call.signature.clone()
                    }
                    None => signature,
                };
                out.push(WirePart {
                    function_call: Some(FunctionCall {
                        id: Some(call.id.clone()),
                        name: call.name.clone(),
                        args: Some(arguments_object(&call.arguments, audience)),
                    }),
                    thought_signature: signature,
                    ..WirePart::default()
                });
            }
            Part::ToolResult(result) => {
                flush_signature(&mut out, signature);
                encode_tool_result(result, names, &mut out);
            }
            Part::Reasoning(reasoning) => {
                flush_signature(&mut out, signature);
                match (&reasoning.signature, audience) {
                    (Some(sig), _) if reasoning.text.is_empty() => {
                        // A signature that belongs to the next part; see the module docs.
                        pending_signature = Some(sig.clone());
                    }
                    (Some(_), _) | (None, Audience::Client) if !reasoning.text.is_empty() => {
                        out.push(WirePart {
                            text: Some(reasoning.text.clone()),
                            thought: Some(true),
                            thought_signature: reasoning.signature.clone(),
                            ..WirePart::default()
                        });
                    }
                    // Unsigned (or redacted-only) reasoning: Gemini cannot use it.
                    _ => {}
                }
            }
        }
    }
    flush_signature(&mut out, pending_signature);
    out
}

/// A signature with no part to follow becomes an empty thought part.
fn flush_signature(out: &mut Vec<WirePart>, signature: Option<String>) {
    if let Some(signature) = signature {
        out.push(WirePart {
            text: Some(String::new()),
            thought: Some(true),
            thought_signature: Some(signature),
            ..WirePart::default()
        });
    }
}

fn encode_image(image: &Image) -> WirePart {
    match image {
        Image::Base64 { media_type, data } => WirePart {
            inline_data: Some(Blob {
                mime_type: media_type.clone(),
                data: data.clone(),
            }),
            ..WirePart::default()
        },
        Image::Url(url) => {
            // Gemini cannot fetch `data:` URLs, so their data travels inline.
            if let Ok(DataUrl {
                media_type,
                base64: true,
                data,
            }) = DataUrl::parse(url)
            {
                return WirePart {
                    inline_data: Some(Blob {
                        mime_type: media_type.to_owned(),
                        data: data.to_owned(),
                    }),
                    ..WirePart::default()
                };
            }
            WirePart {
                file_data: Some(FileData {
                    mime_type: Some(guess_mime_type(url).to_string()),
                    file_uri: url.clone(),
                }),
                ..WirePart::default()
            }
        }
    }
}

/// The MIME type of a URL from its extension (`fileData` needs one);
/// `image/jpeg` when the extension says nothing.
pub(super) fn guess_mime_type(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let extension = path
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        "mp3" => "audio/mp3",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "txt" => "text/plain",
        _ => "image/jpeg",
    }
}

/// The arguments JSON text as the object Gemini wants.
pub(super) fn arguments_object(text: &str, audience: Audience) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Value::Object(object),
        _ if text.trim().is_empty() => json!({}),
        _ => match audience {
            Audience::Upstream => json!({}),
            Audience::Client => json!({"_raw": text}),
        },
    }
}

fn encode_tool_result(result: &ToolResult, names: &HashMap<String, String>, out: &mut Vec<WirePart>) {
    let name = result
        .name
        .clone()
        .or_else(|| names.get(&result.call_id).cloned())
        .unwrap_or_else(|| result.call_id.clone());
    let texts: Vec<&str> = result
        .content
        .iter()
        .filter_map(|part| match part {
            Part::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let text = texts.join("\n");
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(object)) => Value::Object(object),
        // Gemini's documented convention: `output` for results, `error` for failures.
        _ => {
            let key = if result.is_error { "error" } else { "output" };
            let mut object = Map::new();
            object.insert(key.into(), Value::String(text));
            Value::Object(object)
        }
    };
    out.push(WirePart {
        function_response: Some(FunctionResponse {
            id: Some(result.call_id.clone()),
            name: Some(name),
            response: Some(response),
            parts: Vec::new(),
        }),
        ..WirePart::default()
    });
    // Images a tool returned travel as ordinary parts after the response, which every model reads.
    for part in &result.content {
        if let Part::Image(image) = part {
            out.push(encode_image(image));
        }
    }
}

#[cfg(test)]
#[path = "content_tests.rs"]
mod tests;
