//! A Gemini client that streams without `alt=sse` reads one JSON array, as
//! the Gemini API sends it, whichever protocol the upstream speaks.

mod common;

use common::{Mock, MockReply, TestAccount, TestGateway, client};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;

/// An OpenAI upstream streaming "Hello there" in two chunks.
async fn openai_stream() -> Mock {
    Mock::start(|_| {
        let chunk = |delta: Value, finish: Value| {
            let chunk = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
            format!("data: {chunk}\n\n")
        };
        let usage = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x", "choices": [],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}});
        MockReply::sse([
            chunk(json!({"role": "assistant", "content": "Hello"}), Value::Null),
            chunk(json!({"content": " there"}), Value::Null),
            chunk(json!({}), json!("stop")),
            format!("data: {usage}\n\n"),
            "data: [DONE]\n\n".to_string(),
        ])
    })
    .await
}

fn text_of(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c.pointer("/candidates/0/content/parts/0/text").and_then(Value::as_str))
        .collect()
}

#[tokio::test]
async fn a_translated_stream_without_alt_sse_is_a_json_array() {
    let mock = openai_stream().await;
    let gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, mock.url())], "").await;
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});

    let response = client()
        .post(gw.url("/v1beta/models/gpt-x:streamGenerateContent"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    let chunks: Vec<Value> =
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("not a JSON array ({err}): {text}"));
    assert_eq!(text_of(&chunks), "Hello there");
    let last = chunks.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["totalTokenCount"], 5);

    // The same request with `alt=sse` is SSE.
    let response = client()
        .post(gw.url("/v1beta/models/gpt-x:streamGenerateContent?alt=sse"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.unwrap();
    let chunks: Vec<Value> = common::sse_events(&text)
        .into_iter()
        .map(|(_, data)| serde_json::from_str(&data).unwrap())
        .collect();
    assert_eq!(text_of(&chunks), "Hello there");
}
