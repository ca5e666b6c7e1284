//! Embeddings: a request for vectors and its answer, apart from the
//! conversation model (an embedding call has no messages, no stream, no
//! output tokens).
//!
//! Two client shapes decode into [`EmbedRequest`] and two upstream shapes
//! are written from it: OpenAI's `/v1/embeddings` (`openai.rs`) and Gemini's
//! `:embedContent` / `:batchEmbedContents` (`gemini.rs`). The choices where
//! the wire leaves room:
//!
//! - Every input is an [`EmbedItem`] with its own Gemini options (`taskType`,
//!   `title`, `outputDimensionality`): a Gemini batch may vary them per
//!   request. An OpenAI request's `dimensions` is given to every item.
//! - Vectors are `f32`, as both APIs make them: OpenAI's `base64` is the
//!   little-endian bytes of each `f32`, exact both ways, and a JSON number
//!   read into an `f32` is written back in the same shortest form.
//! - A Gemini content of several text parts is one input, its parts joined
//!   by a newline (OpenAI has no parts).
//! - Token arrays (OpenAI's `input: [[1, 2]]`) stay tokens for an OpenAI
//!   upstream; for Gemini the relay decodes them first (`tokens::decode`).
//! - An upstream call carries at most [`batch_limit`] inputs (Gemini refuses
//!   more than 100 requests in one batch); longer requests are split in
//!   order, and a run never mixes output dimensions, since an OpenAI call
//!   has one `dimensions`.

pub mod gemini;
pub mod openai;

use std::ops::Range;

use serde_json::Value;

use super::{ApiError, Protocol};

/// The client's side of an embeddings call: its shape, and what shaping
/// its answer needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedClient {
    /// `POST /v1/embeddings`, answered in this encoding.
    OpenAi(openai::Encoding),
    /// `:embedContent` (`batch` false) or `:batchEmbedContents`.
    Gemini {
        /// Whether the client sent a batch.
        batch: bool,
    },
}

impl EmbedClient {
    /// Decodes an OpenAI client's body.
    pub fn decode_openai(body: &[u8]) -> Result<(EmbedClient, EmbedRequest), ApiError> {
        let (request, encoding) = openai::decode_request(body)?;
        Ok((EmbedClient::OpenAi(encoding), request))
    }

    /// Decodes a Gemini client's body for `model` (from its path).
    pub fn decode_gemini(body: &[u8], model: &str, batch: bool) -> Result<(EmbedClient, EmbedRequest), ApiError> {
        let request = gemini::decode_request(body, model, batch)?;
        Ok((EmbedClient::Gemini { batch }, request))
    }

    /// The client's answer: the vectors in its shape, `model` the name it
    /// asked for, `input_tokens` in OpenAI's `usage`.
    pub fn encode_response(&self, embeddings: &Embeddings, model: &str, input_tokens: u64) -> String {
        match *self {
            EmbedClient::OpenAi(encoding) => openai::encode_response(embeddings, model, encoding, input_tokens),
            EmbedClient::Gemini { batch } => gemini::encode_response(embeddings, batch),
        }
    }
}

/// The body of one upstream call in `wire`'s shape: `items` (one run of
/// [`batches`]) for `model`.
pub fn encode_upstream(wire: Protocol, items: &[EmbedItem], model: &str, user: Option<&str>) -> Value {
    match wire {
        Protocol::Gemini => gemini::encode_request(items, model),
        _ => openai::encode_request(items, model, user),
    }
}

/// The vectors of an upstream's answer in `wire`'s shape to `expected` inputs.
pub fn decode_upstream(wire: Protocol, body: &[u8], expected: usize) -> Result<Embeddings, String> {
    match wire {
        Protocol::Gemini => gemini::decode_response(body, expected),
        _ => openai::decode_response(body, expected),
    }
}

/// Whether `wire` takes token ids as input (Gemini takes text only).
pub fn takes_tokens(wire: Protocol) -> bool {
    wire != Protocol::Gemini
}

/// One embeddings call as the client asked it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmbedRequest {
    /// The requested model (from the body or, for Gemini, the path).
    pub model: String,
    /// The inputs, in order.
    pub items: Vec<EmbedItem>,
    /// OpenAI's end-user id, passed on to an OpenAI upstream.
    pub user: Option<String>,
}

/// One input and how it is to be embedded.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedItem {
    /// The text or tokens.
    pub input: EmbedInput,
    /// Output dimensions (OpenAI `dimensions`, Gemini `outputDimensionality`).
    pub dimensions: Option<u32>,
    /// Gemini's `taskType` (`RETRIEVAL_QUERY`, ...); OpenAI has none.
    pub task_type: Option<String>,
    /// Gemini's `title` (with `RETRIEVAL_DOCUMENT`); OpenAI has none.
    pub title: Option<String>,
}

impl EmbedItem {
    /// A text with no options.
    pub fn text(text: impl Into<String>) -> EmbedItem {
        EmbedItem {
            input: EmbedInput::Text(text.into()),
            dimensions: None,
            task_type: None,
            title: None,
        }
    }
}

/// What is embedded.
#[derive(Debug, Clone, PartialEq)]
pub enum EmbedInput {
    /// Text.
    Text(String),
    /// `cl100k_base` token ids (OpenAI clients such as LangChain send these).
    Tokens(Vec<u32>),
}

/// The answer: one vector per input, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Embeddings {
    /// The vectors, in the order of the request's items.
    pub vectors: Vec<Vec<f32>>,
    /// Input tokens as the upstream reported them (Gemini reports none).
    pub input_tokens: Option<u64>,
}

/// The most inputs one upstream call of `wire` carries: Gemini refuses a
/// batch of more than 100 requests; OpenAI takes 2048 inputs.
pub fn batch_limit(wire: Protocol) -> usize {
    match wire {
        Protocol::Gemini => 100,
        _ => 2048,
    }
}

/// The runs of `items` each upstream call carries, in order: at most `limit`
/// items each, and a new run wherever the output dimensions change.
pub fn batches(items: &[EmbedItem], limit: usize) -> Vec<Range<usize>> {
    let limit = limit.max(1);
    let mut runs = Vec::new();
    let mut start = 0;
    for at in 1..=items.len() {
        let ends = at == items.len() || at - start == limit || items[at].dimensions != items[start].dimensions;
        if ends {
            runs.push(start..at);
            start = at;
        }
    }
    runs
}

/// The little-endian `f32` bytes of `vector` in standard base64: what
/// OpenAI answers for `encoding_format: "base64"`.
pub fn to_base64(vector: &[f32]) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The vector in a base64 embedding; `None` when it is not base64 of whole
/// `f32`s.
pub fn from_base64(text: &str) -> Option<Vec<f32>> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).ok()?;
    if bytes.len() % 4 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(d: Option<u32>) -> EmbedItem {
        EmbedItem {
            dimensions: d,
            ..EmbedItem::text("x")
        }
    }

    #[test]
    fn batches_keep_order_under_the_limit() {
        let items = vec![dims(None); 250];
        assert_eq!(batches(&items, 100), vec![0..100, 100..200, 200..250]);
        assert_eq!(batches(&items[..100], 100), vec![0..100]);
        assert!(batches(&[], 100).is_empty());
    }

    #[test]
    fn a_change_of_dimensions_starts_a_new_batch() {
        let items = vec![dims(Some(8)), dims(Some(8)), dims(None), dims(Some(8))];
        assert_eq!(batches(&items, 100), vec![0..2, 2..3, 3..4]);
    }

    #[test]
    fn base64_is_little_endian_f32_exactly() {
        let vector = vec![1.0f32, -0.5, 0.1, f32::MIN_POSITIVE, 3.4028235e38];
        let text = to_base64(&vector);
        // 1.0f32 is 00 00 80 3f.
        assert!(text.starts_with("AACAPw"), "{text}");
        assert_eq!(from_base64(&text), Some(vector));
        assert_eq!(from_base64("AAA="), None);
        assert_eq!(from_base64("not base64!"), None);
    }
}
