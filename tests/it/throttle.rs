//! The LAN guard's brake on key guessing (issue 9), through the gateway:
//! the first wrong keys from an address are answered at once, later ones
//! each wait longer and in line, a flood is refused with a 429 before its
//! keys are looked at, and a client with the right key is never slowed.
//! (The brake's arithmetic and its memory bound are unit-tested in
//! `src/gateway/throttle.rs`.)

use crate::common;

use std::time::{Duration, Instant};

use common::{Mock, MockReply, TestAccount, TestGateway, client};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;

const KEY: &str = "sk-test-gateway-key";

async fn strict_gateway() -> (TestGateway, Mock) {
    let mock = Mock::start(|_| {
        MockReply::json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-x",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        }))
    })
    .await;
    let account = TestAccount::new(ProviderKind::Openai, mock.url());
    let extra = format!("[proxy]\nauth_mode = \"strict\"\napi_key = \"{KEY}\"\n");
    (TestGateway::start(vec![account], &extra).await, mock)
}

/// Lists the models with `key` (or none); returns the status and how long it took.
async fn models(gw: &TestGateway, key: Option<&str>) -> (u16, Duration) {
    let started = Instant::now();
    let mut request = client().get(gw.url("/v1/models"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    if status != 200 {
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    (status, started.elapsed())
}

/// A penalty would cost at least 250 ms a request; correct clients do
/// twenty requests in well under that many quarter seconds.
#[tokio::test]
async fn correct_clients_and_clients_without_a_key_are_never_slowed() {
    let (gw, _mock) = strict_gateway().await;
    let mut total = Duration::ZERO;
    for _ in 0..20 {
        let (status, took) = models(&gw, Some(KEY)).await;
        assert_eq!(status, 200);
        total += took;
    }
    // A client that forgot its key is misconfigured, not guessing.
    for _ in 0..20 {
        let (status, took) = models(&gw, None).await;
        assert_eq!(status, 401);
        total += took;
    }
    assert!(total < Duration::from_millis(40 * 250 / 2), "{total:?} for 40 requests");
}

#[tokio::test]
async fn repeated_wrong_keys_from_one_address_are_slowed_down() {
    let (gw, _mock) = strict_gateway().await;
    // The first five wrong keys: answered at once (a stale key should be
    // learnt without delay).
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(models(&gw, Some("sk-wrong-guess-0001")).await.0, 401);
    }
    assert!(
        started.elapsed() < Duration::from_millis(1250),
        "{:?}",
        started.elapsed()
    );

    // Then each waits longer, and guesses sent together wait in line:
    // slots end 0.25 s, 0.75 s and 1.75 s from now.
    let started = Instant::now();
    let guesses: Vec<_> = (0..3)
        .map(|n| {
            let url = gw.url("/v1/models");
            tokio::spawn(async move {
                let response = client()
                    .get(url)
                    .bearer_auth(format!("sk-wrong-guess-1{n:03}"))
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), Instant::now())
            })
        })
        .collect();
    let mut answered = Vec::new();
    for guess in guesses {
        let (status, at) = guess.await.unwrap();
        assert_eq!(status, 401);
        answered.push(at.duration_since(started));
    }
    answered.sort();
    assert!(answered[0] >= Duration::from_millis(240), "{answered:?}");
    assert!(
        answered[2] >= Duration::from_millis(1700),
        "parallel guesses are not answered together: {answered:?}"
    );

    // The right key passes at once even now, and clears the record.
    let (status, took) = models(&gw, Some(KEY)).await;
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(1), "held like a guess: {took:?}");
    let (status, took) = models(&gw, Some("sk-wrong-guess-2000")).await;
    assert_eq!(status, 401);
    assert!(took < Duration::from_secs(1), "counting starts again: {took:?}");
}

/// Guesses by the dozen in parallel fill the address's line past 30 s;
/// the next request is refused with a 429 and a Retry-After at once,
/// without its key being looked at.
#[tokio::test]
async fn a_flood_of_wrong_keys_is_refused_before_its_keys_are_checked() {
    let (gw, mock) = strict_gateway().await;
    let flood: Vec<_> = (0..16)
        .map(|n| {
            let base = gw.base();
            tokio::spawn(async move {
                let _ = common::post(&base, "/v1/chat/completions")
                    .bearer_auth(format!("sk-flood-guess-{n:04}"))
                    .body("{}")
                    .send()
                    .await;
            })
        })
        .collect();
    // Wait until the gateway has seen them all: the line is then over 30 s
    // long. (The probe sends no key: it is answered at once either way.)
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let response = common::post(&gw.base(), "/v1/chat/completions")
            .body("{}")
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            break;
        }
        assert_eq!(response.status(), 401);
        assert!(Instant::now() < deadline, "the flood was never refused");
    }
    // One more guess: refused at once, its key never compared.
    let retry_after = {
        let started = Instant::now();
        let response = common::post(&gw.base(), "/v1/chat/completions")
            .bearer_auth("sk-flood-guess-9999")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        assert!(started.elapsed() < Duration::from_secs(1), "refused at once, not held");
        let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "rate_limit_error", "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("wrong API key"),
            "{body}"
        );
        retry
    };
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_eq!(mock.count(), 0);
    for request in flood {
        request.abort();
    }
}
