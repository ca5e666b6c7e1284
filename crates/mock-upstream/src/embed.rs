//! Embeddings, as OpenAI (`POST /v1/embeddings`) and Gemini
//! (`:embedContent`, `:batchEmbedContents`) answer them, with vectors
//! derived from the input alone ([`vector`]), so that a test through a
//! gateway can check every value and the order.
//!
//! - A vector has `dimensions` / `outputDimensionality` values, else
//!   [`DEFAULT_DIMENSIONS`].
//! - OpenAI token-id inputs embed as the text `tokens:1,2,3`; `usage` counts
//!   each text's words (each token-id input's ids). Vectors are always
//!   floats (the mock ignores `encoding_format`).
//! - Gemini refuses a batch of more than 100 requests, and a request whose
//!   `model` is not the path's, in its own words; it reports no tokens.
//! - Only models whose name holds `embed` embed; others get each API's 404.

use http::{HeaderMap, Method, StatusCode};
use serde_json::Value;

use crate::reply::Reply;
use crate::respond::{Wire, check_credentials, error};

/// Values per vector when the request names no size.
pub const DEFAULT_DIMENSIONS: usize = 8;

/// The mock's vector for `text`: `dimensions` values in [-1, 1] in steps
/// of 0.001, from an FNV-1a hash of the text and the position.
pub fn vector(text: &str, dimensions: usize) -> Vec<f32> {
    (0..dimensions)
        .map(|at| {
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            for byte in text.bytes().chain((at as u64).to_le_bytes()) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
            ((hash >> 11) % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// The text an OpenAI token-id input is embedded as.
pub fn tokens_text(tokens: &[u64]) -> String {
    let ids: Vec<String> = tokens.iter().map(u64::to_string).collect();
    format!("tokens:{}", ids.join(","))
}

/// The answer when `path` is an embeddings route; `None` otherwise.
pub(crate) fn route(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    api_key: Option<&str>,
) -> Option<Reply> {
    let call = if path == "/v1/embeddings" {
        Call::OpenAi
    } else {
        let rest = path.strip_prefix("/v1beta/models/")?;
        let (model, method) = rest.rsplit_once(':')?;
        let model = percent_encoding::percent_decode_str(model)
            .decode_utf8_lossy()
            .into_owned();
        match method {
            "embedContent" => Call::Gemini { model, batch: false },
            "batchEmbedContents" => Call::Gemini { model, batch: true },
            _ => return None,
        }
    };
    let wire = match call {
        Call::OpenAi => Wire::OpenAi,
        Call::Gemini { .. } => Wire::Gemini,
    };
    if method != Method::POST {
        return Some(error(
            wire,
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("`{path}` takes POST"),
        ));
    }
    if let Some(denied) = check_credentials(wire, headers, api_key) {
        return Some(denied);
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(err) => {
            return Some(error(
                wire,
                StatusCode::BAD_REQUEST,
                &format!("invalid JSON body: {err}"),
            ));
        }
    };
    let answer = match call {
        Call::OpenAi => openai(&value),
        Call::Gemini { model, batch } => gemini(&value, &model, batch),
    };
    Some(answer.unwrap_or_else(|(status, message)| error(wire, status, &message)))
}

enum Call {
    OpenAi,
    Gemini { model: String, batch: bool },
}

type Refused = (StatusCode, String);

fn floats(values: &[f32]) -> String {
    serde_json::to_string(values).unwrap_or_default()
}

fn openai(body: &Value) -> Result<Reply, Refused> {
    let bad = |message: &str| (StatusCode::BAD_REQUEST, message.to_string());
    let model = body["model"]
        .as_str()
        .ok_or_else(|| bad("you must provide a model parameter"))?;
    if !model.contains("embed") {
        return Err((
            StatusCode::NOT_FOUND,
            format!("The model `{model}` does not exist or you do not have access to it."),
        ));
    }
    let dimensions = match &body["dimensions"] {
        Value::Null => DEFAULT_DIMENSIONS,
        value => value
            .as_u64()
            .filter(|d| *d > 0)
            .ok_or_else(|| bad("dimensions must be a positive integer"))? as usize,
    };
    let ids = |value: &Value| -> Option<Vec<u64>> { value.as_array()?.iter().map(Value::as_u64).collect() };
    // (text embedded, tokens counted) per input.
    let inputs: Vec<(String, u64)> = match &body["input"] {
        Value::String(text) => vec![(text.clone(), words(text))],
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|text| (text.to_string(), words(text)))
            .collect(),
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_u64) => {
            let tokens = ids(&body["input"]).unwrap_or_default();
            vec![(tokens_text(&tokens), tokens.len() as u64)]
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_array) => {
            let mut inputs = Vec::new();
            for item in items {
                let tokens = ids(item).ok_or_else(|| bad("'$.input' is invalid"))?;
                inputs.push((tokens_text(&tokens), tokens.len() as u64));
            }
            inputs
        }
        _ => {
            return Err(bad(
                "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
            ));
        }
    };
    if inputs.len() > 2048 {
        return Err(bad("'$.input' is invalid: at most 2048 inputs per request"));
    }
    let tokens: u64 = inputs.iter().map(|(_, tokens)| tokens).sum();
    let data: Vec<String> = inputs
        .iter()
        .enumerate()
        .map(|(index, (text, _))| {
            format!(
                r#"{{"object":"embedding","index":{index},"embedding":{}}}"#,
                floats(&vector(text, dimensions))
            )
        })
        .collect();
    let model = serde_json::to_string(model).unwrap_or_default();
    Ok(Reply::json(
        StatusCode::OK,
        format!(
            r#"{{"object":"list","data":[{}],"model":{model},"usage":{{"prompt_tokens":{tokens},"total_tokens":{tokens}}}}}"#,
            data.join(",")
        ),
    ))
}

fn gemini(body: &Value, model: &str, batch: bool) -> Result<Reply, Refused> {
    if !model.contains("embed") {
        return Err((
            StatusCode::NOT_FOUND,
            format!("models/{model} is not found for API version v1beta, or is not supported for embedContent."),
        ));
    }
    let requests: Vec<&Value> = if batch {
        let list = body["requests"].as_array().ok_or_else(|| {
            (
                StatusCode::BAD_REQUEST,
                "* BatchEmbedContentsRequest.requests: requests is required\n".to_string(),
            )
        })?;
        if list.len() > 100 {
            return Err((
                StatusCode::BAD_REQUEST,
                "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n".to_string(),
            ));
        }
        list.iter().collect()
    } else {
        vec![body]
    };
    let mut vectors = Vec::with_capacity(requests.len());
    for (at, request) in requests.iter().enumerate() {
        if batch && request["model"].as_str() != Some(&format!("models/{model}")) {
            return Err((
                StatusCode::BAD_REQUEST,
                format!(
                    "* BatchEmbedContentsRequest.requests[{at}].model: model must be models/{model}, the batch's\n"
                ),
            ));
        }
        let text: Vec<&str> = request["content"]["parts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|part| part["text"].as_str())
            .collect();
        if text.is_empty() {
            return Err((
                StatusCode::BAD_REQUEST,
                "* EmbedContentRequest.content: content is required\n".to_string(),
            ));
        }
        let dimensions = request["outputDimensionality"]
            .as_u64()
            .map_or(DEFAULT_DIMENSIONS, |d| d as usize);
        vectors.push(format!(
            r#"{{"values":{}}}"#,
            floats(&vector(&text.join("\n"), dimensions))
        ));
    }
    let body = if batch {
        format!(r#"{{"embeddings":[{}]}}"#, vectors.join(","))
    } else {
        format!(r#"{{"embedding":{}}}"#, vectors.concat())
    };
    Ok(Reply::json(StatusCode::OK, body))
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count().max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(path: &str, wire_header: (&'static str, &'static str), body: &str) -> (u16, Value) {
        let mut headers = HeaderMap::new();
        headers.insert(wire_header.0, wire_header.1.parse().unwrap());
        let reply = route(&Method::POST, path, &headers, body.as_bytes(), None).expect("an embeddings route");
        (reply.status.as_u16(), serde_json::from_str(&reply.text()).unwrap())
    }

    #[test]
    fn vectors_depend_on_the_text_and_size_only() {
        assert_eq!(vector("a", 8), vector("a", 8));
        assert_ne!(vector("a", 8), vector("b", 8));
        assert_eq!(vector("a", 3).len(), 3);
        assert!(vector("some text", 64).iter().all(|v| (-1.0..=1.0).contains(v)));
    }

    #[test]
    fn openai_and_gemini_answer_in_order() {
        let bearer = ("authorization", "Bearer k");
        let (status, body) = call(
            "/v1/embeddings",
            bearer,
            r#"{"model":"text-embedding-3-small","input":["a","b c"],"dimensions":4}"#,
        );
        assert_eq!(status, 200);
        let second: Vec<f32> = serde_json::from_value(body["data"][1]["embedding"].clone()).unwrap();
        assert_eq!(second, vector("b c", 4));
        assert_eq!(body["usage"]["prompt_tokens"], 3);
        let (_, body) = call(
            "/v1/embeddings",
            bearer,
            r#"{"model":"text-embedding-3-small","input":[[1,2]]}"#,
        );
        let first: Vec<f32> = serde_json::from_value(body["data"][0]["embedding"].clone()).unwrap();
        assert_eq!(first, vector("tokens:1,2", DEFAULT_DIMENSIONS));
        let (status, _) = call("/v1/embeddings", bearer, r#"{"model":"gpt-4o","input":"a"}"#);
        assert_eq!(status, 404);

        let key = ("x-goog-api-key", "k");
        let path = "/v1beta/models/gemini-embedding-001:batchEmbedContents";
        let one = r#"{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"x"}]}}"#;
        let (status, body) = call(path, key, &format!(r#"{{"requests":[{one},{one}]}}"#));
        assert_eq!(status, 200);
        let values: Vec<f32> = serde_json::from_value(body["embeddings"][1]["values"].clone()).unwrap();
        assert_eq!(values, vector("x", DEFAULT_DIMENSIONS));
        let many = vec![one; 101].join(",");
        let (status, body) = call(path, key, &format!(r#"{{"requests":[{many}]}}"#));
        assert_eq!(status, 400);
        assert!(body["error"]["message"].as_str().unwrap().contains("at most 100"));
        let (status, body) = call(
            "/v1beta/models/gemini-embedding-001:embedContent",
            key,
            r#"{"content":{"parts":[{"text":"x"}]},"outputDimensionality":2}"#,
        );
        assert_eq!(status, 200);
        assert_eq!(body["embedding"]["values"].as_array().unwrap().len(), 2);
    }
}
