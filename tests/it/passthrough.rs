//! Same protocol on both sides (SPEC §4, §5): the client's body goes to the
//! upstream byte for byte but for the model name, unknown fields included,
//! and the upstream's answer (complete or streamed) comes back unchanged,
//! but for the model it names when the client asked by an alias (an OpenAI
//! or Anthropic answer then names the alias, as a translated one does).
//! The upstream side uses the provider captures under `tests/fixtures/`.

use crate::common;

use bytes::Bytes;
use common::MockReply;
use common::clients::{Client, GEMINI};
use common::rig::{Rig, each};
use common::upstreams::{Wanted, stream_reply};
use switchyard::config::ProviderKind;

const ALIASES: &str = r#"
[models]
"house-gpt" = "gpt-4.1-mini"
"smart" = "claude-sonnet-4-5"
"fast" = "gemini-2.5-flash"
"#;

/// A client body with fields no codec knows, odd spacing inside values, and
/// escapes; the top level compact, as SDKs send it.
fn client_body(client: Client, model: &str) -> String {
    match client {
        Client::OpenAi => format!(
            r#"{{"model":"{model}","messages":[{{"role":"user","content":"Hi","name":"ann"}}],"logit_bias":{{"50256": -100}},"metadata":{{"trace":  [1, 2.50, "x"]}},"service_tier":"flex","x_vendor":{{"nested":  true, "text": "\u00e9t\u00e9"}}}}"#
        ),
        Client::Anthropic => format!(
            r#"{{"model":"{model}","max_tokens":64,"messages":[{{"role":"user","content":[{{"type":"text","text":"Hi","cache_control":{{"type": "ephemeral"}}}}]}}],"context_management":{{"edits":[{{"type":"clear_tool_uses_20250919"}}]}},"container":"container_011","x_vendor":[1,  2.50]}}"#
        ),
        // Gemini names the model in the URL; the body is never rewritten.
        Client::Gemini { .. } => r#"{
  "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
  "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
  "cachedContent": "cachedContents/abc123",
  "labels": {"team":  "search"}
}"#
        .to_string(),
        Client::Responses => unreachable!("the matrix has no Responses client"),
    }
}

/// Each client with an alias and the model it names.
const ROUTES: [(Client, &str, &str); 3] = [
    (Client::OpenAi, "house-gpt", "gpt-4.1-mini"),
    (Client::Anthropic, "smart", "claude-sonnet-4-5"),
    (GEMINI, "fast", "gemini-2.5-flash"),
];

/// The provider's captured answer, complete and streamed.
fn capture(provider: ProviderKind, stream: bool) -> &'static str {
    match (provider, stream) {
        (ProviderKind::Openai, false) => include_str!("../fixtures/openai/response_text.json"),
        (ProviderKind::Openai, true) => include_str!("../fixtures/openai/stream_text.sse"),
        (ProviderKind::Anthropic, false) => include_str!("../fixtures/anthropic/response_text.json"),
        (ProviderKind::Anthropic, true) => include_str!("../fixtures/anthropic/stream_text.sse"),
        (_, false) => include_str!("../fixtures/gemini/response_text.json"),
        (_, true) => include_str!("../fixtures/gemini/stream_text.sse"),
    }
}

/// A complete answer's JSON, or a stream's events (name and data JSON).
fn read(text: &str, stream: bool) -> Vec<(Option<String>, serde_json::Value)> {
    if !stream {
        return vec![(None, serde_json::from_str(text).unwrap())];
    }
    common::sse_events(text)
        .into_iter()
        .map(|(event, data)| {
            (
                event,
                serde_json::from_str(&data).unwrap_or(serde_json::Value::String(data)),
            )
        })
        .collect()
}

/// `capture` as read by [`read`], each `model` it names (at the top, or in
/// Anthropic's `message_start`) replaced by `model`.
fn relabelled(capture: &str, stream: bool, model: &str) -> Vec<(Option<String>, serde_json::Value)> {
    let mut events = read(capture, stream);
    for (_, value) in &mut events {
        if value.get("model").is_some() {
            value["model"] = model.into();
        }
        if value.pointer("/message/model").is_some() {
            value["message"]["model"] = model.into();
        }
    }
    events
}

/// `text` cut every 37 bytes, wherever that falls.
fn cut(text: &str) -> Vec<Bytes> {
    text.as_bytes().chunks(37).map(Bytes::copy_from_slice).collect()
}

#[tokio::test]
async fn a_relayed_request_keeps_every_byte_but_the_model() {
    let rig = std::sync::Arc::new(Rig::with_config(ALIASES).await);
    let mut cases = Vec::new();
    for (client, alias, target) in ROUTES {
        for stream in [false, true] {
            for aliased in [true, false] {
                let label = format!(
                    "{}{}{}",
                    client.name(),
                    if aliased { " via alias" } else { "" },
                    if stream { " (stream)" } else { "" }
                );
                cases.push((label, (client, if aliased { alias } else { target }, target, stream)));
            }
        }
    }
    each(cases, |(client, model, target, stream)| {
        let rig = std::sync::Arc::clone(&rig);
        async move {
            let upstream = client.speaks().expect("a matrix client");
            let mut body = client_body(client, model);
            if stream && client == Client::OpenAi {
                // The capture carries a usage chunk, which an OpenAI client
                // only gets when it asks (otherwise the gateway asks for it
                // itself and keeps it back: tests/it/monitor.rs).
                body = body.replacen('{', r#"{"stream":true,"stream_options":{"include_usage":true},"#, 1);
            } else if stream && client != GEMINI {
                body = body.replacen('{', r#"{"stream":true,"#, 1);
            }
            let capture = capture(upstream, stream);
            let wanted = if stream {
                Wanted::Sse { usage: true }
            } else {
                Wanted::Complete
            };
            rig.mock(upstream).set(move |_| match wanted {
                Wanted::Complete => MockReply::Raw {
                    status: 200,
                    content_type: "application/json",
                    body: Bytes::from_static(capture.as_bytes()),
                },
                _ => stream_reply(cut(capture), wanted),
            });
            let request = client
                .request_raw(&rig.base(), model, stream, body.clone())
                .header("anthropic-beta", "context-management-2025-06-27");
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            let answer = response.text().await.unwrap();
            if model == target || upstream == ProviderKind::Gemini {
                assert_eq!(answer, capture, "the answer comes back unchanged");
            } else {
                // Asked for by an alias: the same answer, but named after
                // the model the client asked for.
                assert_eq!(relabelled(capture, stream, model), read(&answer, stream), "{answer}");
            }

            let got = rig.last(upstream);
            let expected = body.replacen(&format!(r#""model":"{model}""#), &format!(r#""model":"{target}""#), 1);
            assert_eq!(
                String::from_utf8_lossy(&got.body),
                expected,
                "only the model is rewritten"
            );
            if upstream == ProviderKind::Gemini {
                let method = if stream {
                    "streamGenerateContent"
                } else {
                    "generateContent"
                };
                assert_eq!(got.path, format!("/v1beta/models/{target}:{method}"));
            }
            if upstream == ProviderKind::Anthropic {
                assert_eq!(got.header("anthropic-version"), Some("2023-06-01"));
                assert_eq!(got.header("anthropic-beta"), Some("context-management-2025-06-27"));
                assert_eq!(got.header("x-api-key"), Some("upstream-secret-anthropic"));
            }
        }
    })
    .await;
}

/// Without `alt=sse` a Gemini client gets the upstream's JSON array as it came.
#[tokio::test]
async fn a_relayed_gemini_array_stream_arrives_unchanged() {
    let rig = Rig::with_config(ALIASES).await;
    let elements: Vec<String> = switchyard::protocol::sse::events(capture(ProviderKind::Gemini, true).as_bytes())
        .into_iter()
        .filter_map(|fields| fields.data)
        .map(|data| data.trim_end().to_owned())
        .collect();
    let array = format!("[{}]", elements.join(",\r\n"));
    let chunks = cut(&array);
    rig.mock(ProviderKind::Gemini)
        .set(move |_| stream_reply(chunks.clone(), Wanted::Array));
    for v1 in [false, true] {
        let client = Client::Gemini { v1, sse: false };
        let body = client_body(client, "fast");
        let response = client
            .request_raw(&rig.base(), "fast", true, body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(response.text().await.unwrap(), array);
        let got = rig.last(ProviderKind::Gemini);
        assert_eq!(got.path, "/v1beta/models/gemini-2.5-flash:streamGenerateContent");
        assert_eq!(got.query, "", "no alt=sse: the array is asked for");
    }
}

/// A body meant for relaying is still read first: malformed JSON is the
/// client's 400, never the upstream's problem.
#[tokio::test]
async fn a_malformed_body_is_refused_before_it_is_relayed() {
    let rig = Rig::with_config(ALIASES).await;
    for (client, model, _) in ROUTES {
        let body = client_body(client, model).replacen('{', "{\"oops\": ,", 1);
        let response = client
            .request_raw(&rig.base(), model, false, body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{}", client.name());
        assert_eq!(rig.mock(client.speaks().expect("a matrix client")).count(), 0);
    }
}
