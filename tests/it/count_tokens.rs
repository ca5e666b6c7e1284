//! Token counting: by the serving account's free counting endpoint, else
//! estimated locally; never a generate call, never zero.

use crate::common;

use common::{Mock, MockReply, Recorded, TestAccount, TestGateway};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;

/// A mock that answers counting requests with `n` and records everything.
async fn counting_mock(n: u64) -> Mock {
    Mock::start(move |request: &Recorded| {
        if request.path.ends_with("/count_tokens") {
            MockReply::json(json!({"input_tokens": n}))
        } else if request.path.ends_with(":countTokens") {
            MockReply::json(json!({"totalTokens": n}))
        } else {
            MockReply::status(500, json!({"error": {"message": "not a counting request"}}))
        }
    })
    .await
}

fn anthropic_count_body() -> Value {
    json!({"model": "m", "system": "Be brief.", "messages": [{"role": "user", "content": "How many tokens is this?"}],
        "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}]})
}

async fn anthropic_count(gw: &TestGateway) -> Value {
    let response = common::post(&gw.base(), "/v1/messages/count_tokens")
        .header("anthropic-version", "2023-06-01")
        .json(&anthropic_count_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn gemini_count(gw: &TestGateway, body: Value) -> Value {
    let response = common::post(&gw.base(), "/v1beta/models/m:countTokens")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_anthropic_account_counts_with_its_own_endpoint() {
    let mock = counting_mock(42).await;
    let gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Anthropic, mock.url())], "").await;
    assert_eq!(anthropic_count(&gw).await, json!({"input_tokens": 42}));
    let sent = mock.last();
    assert_eq!(sent.path, "/v1/messages/count_tokens");
    let body = sent.json();
    assert!(
        body.get("max_tokens").is_none() && body.get("stream").is_none(),
        "{body}"
    );
    assert_eq!(body["tools"][0]["name"], "get_weather");

    let counted = gemini_count(&gw, json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})).await;
    assert_eq!(counted, json!({"totalTokens": 42}));
    assert_eq!(mock.count(), 2, "no generate call");
}

#[tokio::test]
async fn a_gemini_account_counts_with_count_tokens() {
    let mock = counting_mock(17).await;
    let gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Gemini, mock.url())], "").await;
    assert_eq!(anthropic_count(&gw).await, json!({"input_tokens": 17}));
    let sent = mock.last();
    assert_eq!(sent.path, "/v1beta/models/m:countTokens");
    let body = sent.json();
    let inner = &body["generateContentRequest"];
    assert_eq!(inner["model"], "models/m");
    assert_eq!(inner["systemInstruction"]["parts"][0]["text"], "Be brief.");
    assert_eq!(inner["contents"][0]["parts"][0]["text"], "How many tokens is this?");
    // The wrapped form of Gemini's own request is understood too.
    let counted = gemini_count(
        &gw,
        json!({"generateContentRequest": {"model": "models/m", "contents": [{"role": "user", "parts": [{"text": "hi"}]}]}}),
    )
    .await;
    assert_eq!(counted, json!({"totalTokens": 17}));
}

#[tokio::test]
async fn an_openai_account_is_estimated_locally() {
    let mock = counting_mock(999).await;
    let gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, mock.url())], "").await;
    let counted = anthropic_count(&gw).await["input_tokens"].as_u64().unwrap();
    // Text, system, one tool declaration and the framing: a few dozen tokens.
    assert!((15..80).contains(&counted), "{counted}");
    let short = gemini_count(&gw, json!({"contents": [{"parts": [{"text": "hi"}]}]})).await["totalTokens"]
        .as_u64()
        .unwrap();
    assert!(short > 0 && short < counted, "{short} vs {counted}");
    assert_eq!(mock.count(), 0, "nothing is sent to an OpenAI account");
}

#[tokio::test]
async fn a_failing_count_falls_back_to_the_estimate() {
    let mock = Mock::start(|_| MockReply::status(500, json!({"error": {"message": "down"}}))).await;
    let gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Anthropic, mock.url())], "").await;
    let counted = anthropic_count(&gw).await["input_tokens"].as_u64().unwrap();
    assert!(counted > 0);
    assert_eq!(mock.count(), 1);
}
