//! Gemini's `:embedContent` (one content) and `:batchEmbedContents` (a list
//! of such requests), client and upstream side.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{EmbedInput, EmbedItem, EmbedRequest, Embeddings};
use crate::protocol::{ApiError, parse_json};

/// One `EmbedContentRequest`.
#[derive(Deserialize)]
struct One {
    content: Content,
    #[serde(default, alias = "task_type")]
    #[serde(rename = "taskType")]
    task_type: Option<TaskType>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default, alias = "output_dimensionality")]
    #[serde(rename = "outputDimensionality")]
    dimensions: Option<u32>,
}

/// `taskType` by name, or by number as the legacy `google-generativeai`
/// SDK sends it (`$alt=json;enum-encoding=int`).
#[derive(Deserialize)]
#[serde(untagged)]
enum TaskType {
    Name(String),
    Number(u32),
}

/// The task types in the order of Gemini's `TaskType` enum (its numbers).
const TASK_TYPES: &[&str] = &[
    "TASK_TYPE_UNSPECIFIED",
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
];

impl TaskType {
    fn name(self) -> Result<String, ApiError> {
        match self {
            TaskType::Name(name) => Ok(name),
            TaskType::Number(number) => TASK_TYPES
                .get(number as usize)
                .map(|name| (*name).to_string())
                .ok_or_else(|| ApiError::invalid_request(format!("`taskType` {number} is not a task type."))),
        }
    }
}

#[derive(Deserialize)]
struct Batch {
    requests: Vec<One>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
struct Part {
    #[serde(default)]
    text: Option<String>,
}

/// Decodes a client's `embedContent` (`batch` false) or
/// `batchEmbedContents` body for `model` (from the path).
pub fn decode_request(body: &[u8], model: &str, batch: bool) -> Result<EmbedRequest, ApiError> {
    let requests = if batch {
        parse_json::<Batch>(body)?.requests
    } else {
        vec![parse_json::<One>(body)?]
    };
    if requests.is_empty() {
        return Err(ApiError::invalid_request(
            "`requests` is empty: send at least one content to embed.",
        ));
    }
    let mut items = Vec::with_capacity(requests.len());
    for (at, one) in requests.into_iter().enumerate() {
        let mut texts = Vec::with_capacity(one.content.parts.len());
        for part in one.content.parts {
            match part.text {
                Some(text) => texts.push(text),
                None => {
                    return Err(ApiError::invalid_request(format!(
                        "content {at} holds a part without `text`: Switchyard embeds text parts only."
                    )));
                }
            }
        }
        let text = texts.join("\n");
        if text.is_empty() {
            return Err(ApiError::invalid_request(format!(
                "content {at} has no text: every content must hold a non-empty text part."
            )));
        }
        if one.dimensions == Some(0) {
            return Err(ApiError::invalid_request("`outputDimensionality` must be at least 1."));
        }
        items.push(EmbedItem {
            input: EmbedInput::Text(text),
            dimensions: one.dimensions,
            task_type: one.task_type.map(TaskType::name).transpose()?,
            title: one.title,
        });
    }
    Ok(EmbedRequest {
        model: model.to_string(),
        items,
        user: None,
    })
}

/// The `batchEmbedContents` body for `items` as `model`. Token inputs must
/// have been decoded to text before (the relay does); any left are an
/// empty text.
pub fn encode_request(items: &[EmbedItem], model: &str) -> Value {
    let name = format!("models/{}", model.strip_prefix("models/").unwrap_or(model));
    let requests: Vec<Value> = items
        .iter()
        .map(|item| {
            let text = match &item.input {
                EmbedInput::Text(text) => text.as_str(),
                EmbedInput::Tokens(_) => "",
            };
            let mut one = Map::new();
            one.insert("model".into(), json!(name));
            one.insert("content".into(), json!({"parts": [{"text": text}]}));
            if let Some(task) = &item.task_type {
                one.insert("taskType".into(), json!(task));
            }
            if let Some(title) = &item.title {
                one.insert("title".into(), json!(title));
            }
            if let Some(dimensions) = item.dimensions {
                one.insert("outputDimensionality".into(), json!(dimensions));
            }
            Value::Object(one)
        })
        .collect();
    json!({ "requests": requests })
}

#[derive(Deserialize)]
struct Values {
    #[serde(default)]
    values: Vec<f32>,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    embeddings: Option<Vec<Values>>,
    #[serde(default)]
    embedding: Option<Values>,
}

/// Decodes an upstream's `embedContent` or `batchEmbedContents` answer for
/// `expected` inputs. Gemini reports no token counts.
pub fn decode_response(body: &[u8], expected: usize) -> Result<Embeddings, String> {
    let answer: Answer =
        serde_json::from_slice(body).map_err(|err| format!("the embeddings answer is not readable: {err}"))?;
    let vectors: Vec<Vec<f32>> = match (answer.embeddings, answer.embedding) {
        (Some(list), _) => list.into_iter().map(|v| v.values).collect(),
        (None, Some(one)) => vec![one.values],
        (None, None) => return Err("the embeddings answer has no `embeddings`".into()),
    };
    if vectors.len() != expected {
        return Err(format!(
            "the embeddings answer has {} vectors for {expected} inputs",
            vectors.len()
        ));
    }
    Ok(Embeddings {
        vectors,
        input_tokens: None,
    })
}

/// The client's answer: `{"embedding": {...}}` for `embedContent`,
/// `{"embeddings": [...]}` for a batch; the `f32`s written as they are.
pub fn encode_response(embeddings: &Embeddings, batch: bool) -> String {
    #[derive(Serialize)]
    struct OutValues<'a> {
        values: &'a [f32],
    }
    #[derive(Serialize)]
    struct OutBatch<'a> {
        embeddings: Vec<OutValues<'a>>,
    }
    #[derive(Serialize)]
    struct OutOne<'a> {
        embedding: OutValues<'a>,
    }
    let mut values = embeddings.vectors.iter().map(|v| OutValues { values: v });
    let out = if batch {
        serde_json::to_string(&OutBatch {
            embeddings: values.collect(),
        })
    } else {
        let embedding = values.next().unwrap_or(OutValues { values: &[] });
        serde_json::to_string(&OutOne { embedding })
    };
    out.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_content_and_batches_decode_with_their_options() {
        let one = decode_request(
            br#"{"model":"models/e","content":{"parts":[{"text":"a"},{"text":"b"}]},"taskType":"RETRIEVAL_DOCUMENT","title":"T","outputDimensionality":8}"#,
            "e",
            false,
        )
        .unwrap();
        assert_eq!(one.model, "e");
        assert_eq!(one.items[0].input, EmbedInput::Text("a\nb".into()));
        assert_eq!(one.items[0].task_type.as_deref(), Some("RETRIEVAL_DOCUMENT"));
        assert_eq!(one.items[0].title.as_deref(), Some("T"));
        assert_eq!(one.items[0].dimensions, Some(8));
        let batch = decode_request(
            br#"{"requests":[{"content":{"parts":[{"text":"x"}]},"task_type":"RETRIEVAL_QUERY"},{"content":{"parts":[{"text":"y"}]},"output_dimensionality":4}]}"#,
            "e",
            true,
        )
        .unwrap();
        assert_eq!(batch.items.len(), 2);
        assert_eq!(batch.items[0].task_type.as_deref(), Some("RETRIEVAL_QUERY"));
        assert_eq!(batch.items[1].dimensions, Some(4));
        // The legacy SDK sends enums as numbers.
        let numbered = decode_request(br#"{"content":{"parts":[{"text":"x"}]},"taskType":2}"#, "e", false).unwrap();
        assert_eq!(numbered.items[0].task_type.as_deref(), Some("RETRIEVAL_DOCUMENT"));
        assert!(decode_request(br#"{"content":{"parts":[{"text":"x"}]},"taskType":99}"#, "e", false).is_err());
    }

    #[test]
    fn contents_without_text_are_refused() {
        for (body, batch) in [
            (&br#"{"content":{"parts":[]}}"#[..], false),
            (
                br#"{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"AA=="}}]}}"#,
                false,
            ),
            (br#"{"requests":[]}"#, true),
            (br#"{"contents":[]}"#, false),
            (
                br#"{"content":{"parts":[{"text":"a"}]},"outputDimensionality":0}"#,
                false,
            ),
        ] {
            let err = decode_request(body, "e", batch).unwrap_err();
            assert_eq!(err.status, 400, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn upstream_batches_name_the_model_in_every_request() {
        let mut item = EmbedItem::text("a");
        item.task_type = Some("CLASSIFICATION".into());
        item.dimensions = Some(3);
        assert_eq!(
            encode_request(&[item, EmbedItem::text("b")], "gemini-embedding-001"),
            json!({"requests": [
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a"}]}, "taskType": "CLASSIFICATION", "outputDimensionality": 3},
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "b"}]}},
            ]})
        );
    }

    #[test]
    fn answers_read_and_write_both_shapes() {
        let batch = decode_response(br#"{"embeddings":[{"values":[0.1,-2]},{"values":[3]}]}"#, 2).unwrap();
        assert_eq!(batch.vectors, vec![vec![0.1, -2.0], vec![3.0]]);
        assert_eq!(batch.input_tokens, None);
        let one = decode_response(br#"{"embedding":{"values":[0.5]}}"#, 1).unwrap();
        assert_eq!(one.vectors, vec![vec![0.5]]);
        assert!(decode_response(br#"{"embeddings":[]}"#, 1).is_err());
        assert!(decode_response(br#"{}"#, 1).is_err());
        assert_eq!(
            encode_response(&batch, true),
            r#"{"embeddings":[{"values":[0.1,-2.0]},{"values":[3.0]}]}"#
        );
        assert_eq!(encode_response(&one, false), r#"{"embedding":{"values":[0.5]}}"#);
    }
}
