//! What Gemini clients get where their wire differs from the others: a
//! stream without `alt=sse` is one JSON array, as the Gemini API sends it,
//! whichever protocol the upstream speaks; and google-genai, which uses API
//! version v1, gets Gemini's model shapes on the `/v1/models` paths it
//! shares with OpenAI.

use crate::common;

use common::clients::{Client, GEMINI};
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

    let array = Client::Gemini { v1: false, sse: false };
    let response = array
        .request_raw(&gw.base(), "gpt-x", true, body.to_string())
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
    let response = GEMINI
        .request_raw(&gw.base(), "gpt-x", true, body.to_string())
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

#[tokio::test]
async fn google_clients_get_gemini_models_on_the_v1_paths() {
    let mock = openai_stream().await;
    let account = TestAccount::new(ProviderKind::Openai, mock.url()).models(&["gpt-x"]);
    let gw = TestGateway::start(vec![account], "[models]\n\"fast\" = \"gpt-x\"\n").await;
    let get = |path: &str, header: Option<(&str, &str)>| {
        let mut request = client().get(gw.url(path));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let google = Some(("x-goog-api-client", "google-genai-sdk/3.6.1 gl-python/3.11.7"));

    let (status, list) = get("/v1/models", google).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["models"]
        .as_array()
        .unwrap_or_else(|| panic!("no Gemini model list: {list}"))
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(names, ["models/fast", "models/gpt-x"]);
    let (status, model) = get("/v1/models/fast", Some(("x-goog-api-key", "any"))).await;
    assert_eq!((status, model["name"].as_str()), (200, Some("models/fast")));
    let (status, missing) = get("/v1/models/nope", google).await;
    assert_eq!((status, missing["error"]["status"].as_str()), (404, Some("NOT_FOUND")));

    // Everyone else still gets OpenAI's shapes.
    let (_, list) = get("/v1/models", None).await;
    assert_eq!(list["object"], "list");
    assert_eq!(list["data"][0]["id"], "fast");
    let (_, model) = get("/v1/models/fast", None).await;
    assert_eq!(model["object"], "model");
}
