//! Images in every direction: each client protocol's inline image (OpenAI
//! and Responses data URLs, Anthropic base64 blocks, Gemini `inlineData`)
//! and image link (an `http(s)` URL, Gemini `fileData`) reach each upstream
//! in that upstream's own form.
//!
//! Every upstream accepts a link, so links stay links: OpenAI takes an
//! `image_url` with an https URL, Anthropic an image `source` of type `url`,
//! and Gemini a `fileData` whose `fileUri` is a public URL (the Gemini API
//! fetches it). Only a `data:` URL is turned into inline data for Gemini and
//! Anthropic, which cannot fetch it.

use crate::common;

use common::rig::{Rig, each, model_of};
use common::upstreams::UPSTREAMS;
use serde_json::{Value, json};
use switchyard::config::ProviderKind;

/// A 1×1 transparent PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
const URL: &str = "https://example.com/images/cat.png";

/// The client protocols that carry images.
#[derive(Debug, Clone, Copy)]
enum Client {
    OpenAi,
    Responses,
    Anthropic,
    Gemini,
}

const CLIENTS: [Client; 4] = [Client::OpenAi, Client::Responses, Client::Anthropic, Client::Gemini];

/// How the image is given.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Given {
    Inline,
    Link,
}

impl Client {
    /// The path and body of a request asking about one image.
    fn request(self, model: &str, given: Given) -> (String, Value) {
        let data_url = format!("data:image/png;base64,{PNG}");
        let question = "What is in this picture?";
        match self {
            Client::OpenAi => {
                let url = if given == Given::Inline {
                    data_url
                } else {
                    URL.to_string()
                };
                let content =
                    json!([{"type": "text", "text": question}, {"type": "image_url", "image_url": {"url": url}}]);
                (
                    "/v1/chat/completions".into(),
                    json!({"model": model, "messages": [{"role": "user", "content": content}]}),
                )
            }
            Client::Responses => {
                let url = if given == Given::Inline {
                    data_url
                } else {
                    URL.to_string()
                };
                let content = json!([{"type": "input_text", "text": question}, {"type": "input_image", "image_url": url, "detail": "auto"}]);
                (
                    "/v1/responses".into(),
                    json!({"model": model, "input": [{"role": "user", "content": content}]}),
                )
            }
            Client::Anthropic => {
                let source = match given {
                    Given::Inline => json!({"type": "base64", "media_type": "image/png", "data": PNG}),
                    Given::Link => json!({"type": "url", "url": URL}),
                };
                let content = json!([{"type": "image", "source": source}, {"type": "text", "text": question}]);
                (
                    "/v1/messages".into(),
                    json!({"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": content}]}),
                )
            }
            Client::Gemini => {
                let part = match given {
                    Given::Inline => json!({"inlineData": {"mimeType": "image/png", "data": PNG}}),
                    Given::Link => json!({"fileData": {"mimeType": "image/png", "fileUri": URL}}),
                };
                (
                    format!("/v1beta/models/{model}:generateContent"),
                    json!({"contents": [{"role": "user", "parts": [{"text": question}, part]}]}),
                )
            }
        }
    }
}

/// The image parts of what `provider` received, in its own words.
fn upstream_images(provider: ProviderKind, body: &Value) -> Vec<Value> {
    let all: Vec<Value> = match provider {
        ProviderKind::Gemini => body["contents"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["parts"].as_array().cloned().unwrap_or_default())
            .collect(),
        _ => body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
            .collect(),
    };
    all.into_iter()
        .filter(|part| {
            part.get("inlineData").is_some()
                || part.get("fileData").is_some()
                || part["type"] == "image_url"
                || part["type"] == "image"
        })
        .collect()
}

/// The one image `provider` must receive.
fn expected(provider: ProviderKind, given: Given) -> Value {
    match (provider, given) {
        (ProviderKind::Openai, Given::Inline) => {
            json!({"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG}")}})
        }
        (ProviderKind::Openai, Given::Link) => json!({"type": "image_url", "image_url": {"url": URL}}),
        (ProviderKind::Anthropic, Given::Inline) => {
            json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}})
        }
        (ProviderKind::Anthropic, Given::Link) => json!({"type": "image", "source": {"type": "url", "url": URL}}),
        (_, Given::Inline) => json!({"inlineData": {"mimeType": "image/png", "data": PNG}}),
        (_, Given::Link) => json!({"fileData": {"mimeType": "image/png", "fileUri": URL}}),
    }
}

/// `actual` has every field of `expected` with the same value (an OpenAI
/// `detail` the client sent may ride along).
fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => expected
            .iter()
            .all(|(key, value)| actual.get(key).is_some_and(|a| contains(a, value))),
        _ => actual == expected,
    }
}

#[tokio::test]
async fn images_reach_every_upstream_in_its_own_form() {
    let rig = Rig::start().await;
    let mut cases = Vec::new();
    for client in CLIENTS {
        for upstream in UPSTREAMS {
            for given in [Given::Inline, Given::Link] {
                cases.push((format!("{client:?} {given:?} → {upstream}"), (client, upstream, given)));
            }
        }
    }
    each(cases, |(protocol, upstream, given)| {
        let rig = rig.clone();
        async move {
            let (path, body) = protocol.request(model_of(upstream), given);
            let response = common::post(&rig.base(), &path)
                .header("anthropic-version", "2023-06-01")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            assert_eq!(status, 200, "{text}");
            let received = rig.last(upstream).json();
            let images = upstream_images(upstream, &received);
            assert_eq!(images.len(), 1, "one image part: {received}");
            let want = expected(upstream, given);
            assert!(contains(&images[0], &want), "got {}, want {want}", images[0]);
        }
    })
    .await;
}

#[tokio::test]
async fn a_data_url_that_is_not_base64_is_refused_with_the_field_named() {
    let rig = Rig::start().await;
    let body = json!({"model": model_of(ProviderKind::Gemini), "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png,not-base64"}}]}]});
    let response = common::post(&rig.base(), "/v1/chat/completions")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("messages[0].content[0].image_url.url") && message.contains("base64"),
        "{message}"
    );
    assert_eq!(
        rig.mock(ProviderKind::Gemini).count(),
        0,
        "nothing reached the upstream"
    );
}
