//! OpenAI's `POST /v1/embeddings`, client and upstream side.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{EmbedInput, EmbedItem, EmbedRequest, Embeddings, from_base64, to_base64};
use crate::protocol::{ApiError, parse_json};

/// How the client wants its vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// JSON arrays of numbers.
    #[default]
    Float,
    /// Base64 of the little-endian `f32`s (the OpenAI SDKs' default).
    Base64,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    model: String,
    input: Input,
    #[serde(default)]
    dimensions: Option<u32>,
    #[serde(default)]
    encoding_format: Option<Encoding>,
    #[serde(default)]
    user: Option<String>,
}

/// `input`: a string, strings, tokens, or token arrays.
#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    Text(String),
    Texts(Vec<String>),
    Tokens(Vec<u32>),
    TokenArrays(Vec<Vec<u32>>),
}

/// Decodes a client's embeddings request and the encoding it asks for.
pub fn decode_request(body: &[u8]) -> Result<(EmbedRequest, Encoding), ApiError> {
    let body: Body = parse_json(body).map_err(|err| {
        if err.message.contains("`input`") || err.message.contains("did not match any variant") {
            ApiError::invalid_request(
                "`input` must be a string, an array of strings, an array of token ids or an array of token arrays.",
            )
        } else {
            err
        }
    })?;
    let inputs: Vec<EmbedInput> = match body.input {
        Input::Text(text) => vec![EmbedInput::Text(text)],
        Input::Texts(texts) => texts.into_iter().map(EmbedInput::Text).collect(),
        Input::Tokens(tokens) => vec![EmbedInput::Tokens(tokens)],
        Input::TokenArrays(arrays) => arrays.into_iter().map(EmbedInput::Tokens).collect(),
    };
    if inputs.is_empty() {
        return Err(ApiError::invalid_request(
            "`input` is empty: send at least one text to embed.",
        ));
    }
    if inputs.iter().any(|input| match input {
        EmbedInput::Text(text) => text.is_empty(),
        EmbedInput::Tokens(tokens) => tokens.is_empty(),
    }) {
        return Err(ApiError::invalid_request(
            "`input` holds an empty text or token array: every input must have content.",
        ));
    }
    if body.dimensions == Some(0) {
        return Err(ApiError::invalid_request("`dimensions` must be at least 1."));
    }
    let items = inputs
        .into_iter()
        .map(|input| EmbedItem {
            input,
            dimensions: body.dimensions,
            task_type: None,
            title: None,
        })
        .collect();
    let request = EmbedRequest {
        model: body.model,
        items,
        user: body.user,
    };
    Ok((request, body.encoding_format.unwrap_or_default()))
}

/// The body for an OpenAI(-compatible) upstream: `items` (one run of
/// [`super::batches`], so one `dimensions`) as `model`. Vectors are asked
/// as floats, which every compatible server writes.
pub fn encode_request(items: &[EmbedItem], model: &str, user: Option<&str>) -> Value {
    let all_text = items.iter().all(|item| matches!(item.input, EmbedInput::Text(_)));
    let input: Vec<Value> = items
        .iter()
        .map(|item| match &item.input {
            EmbedInput::Text(text) if all_text => json!(text),
            // A mixed run cannot come from one client; tokens win.
            EmbedInput::Text(text) => json!(text),
            EmbedInput::Tokens(tokens) => json!(tokens),
        })
        .collect();
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("input".into(), Value::Array(input));
    body.insert("encoding_format".into(), json!("float"));
    if let Some(dimensions) = items.first().and_then(|item| item.dimensions) {
        body.insert("dimensions".into(), json!(dimensions));
    }
    if let Some(user) = user {
        body.insert("user".into(), json!(user));
    }
    Value::Object(body)
}

#[derive(Deserialize)]
struct Answer {
    data: Vec<Datum>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Datum {
    #[serde(default)]
    index: Option<usize>,
    embedding: Vector,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Vector {
    Floats(Vec<f32>),
    Base64(String),
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
}

/// Decodes an upstream's answer for `expected` inputs: the vectors in
/// `index` order (as listed when it has none).
pub fn decode_response(body: &[u8], expected: usize) -> Result<Embeddings, String> {
    let answer: Answer =
        serde_json::from_slice(body).map_err(|err| format!("the embeddings answer is not readable: {err}"))?;
    if answer.data.len() != expected {
        return Err(format!(
            "the embeddings answer has {} vectors for {expected} inputs",
            answer.data.len()
        ));
    }
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
    for (at, datum) in answer.data.into_iter().enumerate() {
        let index = datum.index.unwrap_or(at);
        let vector = match datum.embedding {
            Vector::Floats(values) => values,
            Vector::Base64(text) => from_base64(&text).ok_or("an embedding is not base64 of float32 values")?,
        };
        match slots.get_mut(index) {
            Some(slot @ None) => *slot = Some(vector),
            _ => return Err(format!("the embeddings answer repeats or skips index {index}")),
        }
    }
    Ok(Embeddings {
        vectors: slots.into_iter().flatten().collect(),
        input_tokens: answer.usage.and_then(|usage| usage.prompt_tokens),
    })
}

/// The client's answer: `model` is the name it asked for. Written straight
/// from the `f32`s (a `serde_json::Value` would widen them to `f64`, and
/// `0.1` would come out as `0.10000000149011612`).
pub fn encode_response(embeddings: &Embeddings, model: &str, encoding: Encoding, input_tokens: u64) -> String {
    #[derive(Serialize)]
    struct Out<'a> {
        object: &'static str,
        data: Vec<OutDatum<'a>>,
        model: &'a str,
        usage: OutUsage,
    }
    #[derive(Serialize)]
    struct OutDatum<'a> {
        object: &'static str,
        index: usize,
        embedding: OutVector<'a>,
    }
    #[derive(Serialize)]
    #[serde(untagged)]
    enum OutVector<'a> {
        Floats(&'a [f32]),
        Base64(String),
    }
    #[derive(Serialize)]
    struct OutUsage {
        prompt_tokens: u64,
        total_tokens: u64,
    }
    let data = embeddings
        .vectors
        .iter()
        .enumerate()
        .map(|(index, vector)| OutDatum {
            object: "embedding",
            index,
            embedding: match encoding {
                Encoding::Float => OutVector::Floats(vector),
                Encoding::Base64 => OutVector::Base64(to_base64(vector)),
            },
        })
        .collect();
    let out = Out {
        object: "list",
        data,
        model,
        usage: OutUsage {
            prompt_tokens: input_tokens,
            total_tokens: input_tokens,
        },
    };
    serde_json::to_string(&out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_form_decodes() {
        let (request, encoding) = decode_request(br#"{"model":"m","input":"a b"}"#).unwrap();
        assert_eq!(request.items, vec![EmbedItem::text("a b")]);
        assert_eq!(encoding, Encoding::Float);
        let (request, _) = decode_request(br#"{"model":"m","input":["a","b"],"dimensions":8,"user":"u"}"#).unwrap();
        assert_eq!(request.items.len(), 2);
        assert_eq!(request.items[1].dimensions, Some(8));
        assert_eq!(request.user.as_deref(), Some("u"));
        let (request, encoding) =
            decode_request(br#"{"model":"m","input":[1,2,3],"encoding_format":"base64"}"#).unwrap();
        assert_eq!(request.items[0].input, EmbedInput::Tokens(vec![1, 2, 3]));
        assert_eq!(encoding, Encoding::Base64);
        let (request, _) = decode_request(br#"{"model":"m","input":[[1],[2,3]]}"#).unwrap();
        assert_eq!(request.items[1].input, EmbedInput::Tokens(vec![2, 3]));
    }

    #[test]
    fn bad_requests_say_what_to_send() {
        for body in [
            &br#"{"model":"m","input":[]}"#[..],
            br#"{"model":"m","input":[""]}"#,
            br#"{"model":"m","input":{"a":1}}"#,
            br#"{"model":"m","input":"a","encoding_format":"int8"}"#,
            br#"{"model":"m","input":"a","dimensions":0}"#,
            br#"{"model":"m"}"#,
            b"[",
        ] {
            let err = decode_request(body).unwrap_err();
            assert_eq!(err.status, 400, "{}", String::from_utf8_lossy(body));
        }
        let err = decode_request(br#"{"model":"m","input":{"a":1}}"#).unwrap_err();
        assert!(err.message.contains("array of strings"), "{}", err.message);
    }

    #[test]
    fn upstream_answers_are_put_in_index_order() {
        let base64 = to_base64(&[0.25, -1.0]);
        let body = format!(
            r#"{{"data":[{{"index":1,"embedding":"{base64}"}},{{"index":0,"embedding":[0.1,0.2]}}],"usage":{{"prompt_tokens":7}}}}"#
        );
        let embeddings = decode_response(body.as_bytes(), 2).unwrap();
        assert_eq!(embeddings.vectors, vec![vec![0.1, 0.2], vec![0.25, -1.0]]);
        assert_eq!(embeddings.input_tokens, Some(7));
        assert!(decode_response(body.as_bytes(), 3).is_err());
        assert!(
            decode_response(
                br#"{"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[2]}]}"#,
                2
            )
            .is_err()
        );
    }

    #[test]
    fn answers_are_written_as_openai_does() {
        let embeddings = Embeddings {
            vectors: vec![vec![0.1, 0.5]],
            input_tokens: None,
        };
        let float = encode_response(&embeddings, "text-embedding-3-small", Encoding::Float, 3);
        // The f32 is written in its own shortest form, not widened.
        assert_eq!(
            float,
            r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.5]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":3,"total_tokens":3}}"#
        );
        let base64: Value = serde_json::from_str(&encode_response(&embeddings, "m", Encoding::Base64, 3)).unwrap();
        assert_eq!(base64["data"][0]["embedding"], json!(to_base64(&[0.1, 0.5])));
    }

    #[test]
    fn upstream_requests_carry_one_run() {
        let mut item = EmbedItem::text("a");
        item.dimensions = Some(256);
        let body = encode_request(&[item, EmbedItem::text("b")], "text-embedding-3-small", Some("u"));
        assert_eq!(
            body,
            json!({"model":"text-embedding-3-small","input":["a","b"],"encoding_format":"float","dimensions":256,"user":"u"})
        );
        let tokens = EmbedItem {
            input: EmbedInput::Tokens(vec![1, 2]),
            ..EmbedItem::text("")
        };
        assert_eq!(encode_request(&[tokens], "m", None)["input"], json!([[1, 2]]));
    }
}
