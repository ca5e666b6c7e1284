//! What a hostile or careless upstream cannot do (issue 13, points 6–8):
//! echo an account's key back through the gateway (redacted, in every
//! encoding, from the client's error, the request log, SQLite and the
//! account list), make the gateway read an answer without end (every read
//! is capped by `[proxy] max_upstream_body_mib`), or take an account out of
//! rotation for something the client asked (only credential failures
//! disable).

use crate::common;

use std::time::Duration;

use bytes::Bytes;
use common::clients::Client;
use common::conversation::Ask;
use common::rig::{Rig, each, model_of};
use common::upstreams::{self, UPSTREAMS, error_body};
use common::{Feed, Mock, MockReply, TestAccount, TestGateway, client, fed};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;

/// The gateway key of these tests (admin reads need it).
const GATEWAY_KEY: &str = "sk-gateway-key-0123456789abcdef";

/// An account key with the characters every encoding treats differently:
/// `/` and `"` (JSON escapes them), a space (`+` in a form), `+` and `~`.
fn key_of(provider: ProviderKind) -> String {
    format!(r#"live {provider} a/b"c+d~0123456789"#)
}

/// The forms an upstream may echo a key in: raw, JSON-escaped,
/// percent-encoded (`%2F`) and form-encoded (`+` for a space).
fn forms(key: &str) -> Vec<String> {
    let json = serde_json::to_string(key).unwrap();
    let json = json[1..json.len() - 1].to_string();
    let percent = percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC).to_string();
    let form: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
    assert!(json.contains(r#"\""#) && percent.contains("%2F") && form.contains('+'));
    vec![key.to_string(), json, percent, form]
}

/// Asserts that `text` (named `what`) holds no form of `key`.
fn assert_clean(text: &str, key: &str, what: &str) {
    for form in forms(key) {
        assert!(!text.contains(&form), "{what} carries the key as `{form}`:\n{text}");
    }
}

async fn admin_get(gw: &TestGateway, path: &str) -> String {
    client()
        .get(gw.url(path))
        .bearer_auth(GATEWAY_KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The request log's files (database and write-ahead log) as text, once
/// the writer has stored `n` records.
async fn sqlite_text(gw: &TestGateway, n: u64) -> String {
    let path = gw.home.state_dir.join(switchyard::monitor::DATABASE);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let count = switchyard::monitor::Store::open_read_only(&path)
            .and_then(|store| store.count())
            .unwrap_or(0);
        if count >= n || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut bytes = std::fs::read(&path).unwrap_or_default();
    bytes.extend(std::fs::read(path.with_extension("sqlite3-wal")).unwrap_or_default());
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A gateway with one account of `provider` on `mock`, holding its hostile key.
async fn gateway_for(provider: ProviderKind, mock: &Mock, extra: &str) -> TestGateway {
    let mut account = TestAccount::new(provider, upstreams::base_url(provider, &mock.url()))
        .models(&[common::rig::glob_of(provider)]);
    account.secret = key_of(provider);
    TestGateway::start(vec![account], &format!("[proxy]\napi_key = \"{GATEWAY_KEY}\"\n{extra}")).await
}

#[tokio::test]
async fn an_upstream_error_echoing_the_key_is_redacted_everywhere_it_goes() {
    let mut cases = Vec::new();
    for provider in UPSTREAMS {
        for status in [401, 429, 500] {
            for stream in [false, true] {
                let label = format!("{provider} HTTP {status}{}", if stream { " (stream)" } else { "" });
                cases.push((label, (provider, status, stream)));
            }
        }
    }
    each(cases, |(provider, status, stream)| async move {
        let key = key_of(provider);
        let [raw, json, percent, form] = <[String; 4]>::try_from(forms(&key)).unwrap();
        let message = format!(
            "API key {raw} is invalid; you sent {{\"key\":\"{json}\"}}, in the URL as ?key={percent} or in a form as key={form}"
        );
        let body = error_body(provider, status, &message);
        let mock = Mock::start(move |_| MockReply::status(status, body.clone())).await;
        let gw = gateway_for(provider, &mock, "").await;
        let ask = Ask::new(model_of(provider), "hi").streamed(stream);
        let response = Client::OpenAi.request(&gw.base(), &ask).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status);
        let text = response.text().await.unwrap();
        assert_clean(&text, &key, "the client's error body");
        let error: Value = serde_json::from_str(&text).unwrap();
        let said = error["error"]["message"].as_str().unwrap();
        assert!(
            said.contains("API key [REDACTED] is invalid") && said.contains("in a form as key=[REDACTED]"),
            "the rest of the upstream's words survive: {said}"
        );
        assert!(mock.count() >= 1);
        let logs = admin_get(&gw, "/api/logs?limit=100").await;
        assert!(logs.contains("[REDACTED]"), "the log has the call's error: {logs}");
        assert_clean(&logs, &key, "/api/logs");
        assert_clean(&admin_get(&gw, "/api/accounts").await, &key, "/api/accounts");
        assert_clean(&sqlite_text(&gw, 1).await, &key, "requests.sqlite3");
    })
    .await;
}

#[tokio::test]
async fn an_error_event_echoing_the_key_mid_stream_is_redacted() {
    let provider = ProviderKind::Anthropic;
    let key = key_of(provider);
    let frames = vec![
        upstreams::anthropic_event(json!({"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 3, "output_tokens": 1}}})),
        upstreams::anthropic_event(json!({"type": "error", "error": {"type": "overloaded_error",
            "message": format!("overloaded while serving key {key}")}})),
    ];
    let mock = Mock::start(move |_| MockReply::sse(frames.clone())).await;
    let gw = gateway_for(provider, &mock, "").await;
    let ask = Ask::new(model_of(provider), "hi").streamed(true);
    let response = Client::OpenAi.request(&gw.base(), &ask).send().await.unwrap();
    let text = response.text().await.unwrap();
    assert!(text.contains("overloaded while serving key [REDACTED]"), "{text}");
    assert_clean(&text, &key, "the client's stream");
    assert_clean(&admin_get(&gw, "/api/logs?limit=100").await, &key, "/api/logs");
}

/// A chat completion whose answer is `size` bytes of text.
fn big_answer(size: usize) -> Bytes {
    let body = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4.1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "x".repeat(size)}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    });
    Bytes::from(body.to_string())
}

const ONE_MIB_CAP: &str = "max_upstream_body_mib = 1\n";

#[tokio::test]
async fn an_answer_over_the_cap_is_a_clean_502_naming_the_setting() {
    let mut cases = Vec::new();
    for client in [Client::OpenAi, Client::Anthropic] {
        cases.push((format!("{} client", client.name()), client));
    }
    each(cases, |client_kind| async move {
        let mock = Mock::start(|_| MockReply::Raw {
            status: 200,
            content_type: "application/json",
            body: big_answer(2 << 20),
        })
        .await;
        let gw = gateway_for(ProviderKind::Openai, &mock, ONE_MIB_CAP).await;
        let ask = Ask::new("gpt-4.1", "hi");
        let reply = client_kind.call(&gw.base(), &ask).await;
        assert_eq!(reply.status, 502, "{}", reply.body);
        let message = reply.error.expect("an error in the client's shape").message;
        assert!(
            message.contains("larger than the limit of 1 MiB") && message.contains("max_upstream_body_mib"),
            "{message}"
        );
        assert_eq!(mock.count(), 1, "an answer over the cap is not asked again elsewhere");
        // Under the cap, the same answer goes through.
        mock.set(|_| MockReply::Raw {
            status: 200,
            content_type: "application/json",
            body: big_answer(512 << 10),
        });
        assert_eq!(client_kind.call(&gw.base(), &ask).await.status, 200);
    })
    .await;
}

#[tokio::test]
async fn an_error_body_over_the_cap_is_not_read() {
    let mock = Mock::start(|_| MockReply::Raw {
        status: 500,
        content_type: "text/plain",
        body: Bytes::from("e".repeat(3 << 20)),
    })
    .await;
    let gw = gateway_for(ProviderKind::Openai, &mock, ONE_MIB_CAP).await;
    let reply = Client::OpenAi.call(&gw.base(), &Ask::new("gpt-4.1", "hi")).await;
    assert_eq!(reply.status, 500, "the upstream's status stands: {}", reply.body);
    let message = reply.error.unwrap().message;
    assert!(
        message.contains("error answer was larger than the limit of 1 MiB")
            && message.contains("max_upstream_body_mib"),
        "{message}"
    );
    assert!(reply.body.len() < 4096, "none of it is passed on");
}

/// Feeds `feed` an event that never ends (64 KiB pieces without a blank
/// line) until the gateway drops the connection, or 64 MiB went out.
fn feed_endless_event(feed: Feed, opening: &'static str) -> tokio::task::JoinHandle<bool> {
    tokio::spawn(async move {
        feed.send(opening);
        let piece = Bytes::from("x".repeat(64 << 10));
        for _ in 0..1024 {
            if feed.closed() {
                return true;
            }
            feed.send(piece.clone());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !feed.closed() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        feed.closed()
    })
}

#[tokio::test]
async fn a_stream_event_that_never_ends_is_cut_at_the_cap() {
    // Before any byte reached the client: a clean 502.
    let (feed, handler) = fed("text/event-stream");
    let mock = Mock::start(handler).await;
    let gw = gateway_for(ProviderKind::Anthropic, &mock, ONE_MIB_CAP).await;
    let feeder = feed_endless_event(feed, "event: message_start\ndata: {\"type\":\"message_start\",\"x\":\"");
    let ask = Ask::new("claude-sonnet-4-5", "hi").streamed(true);
    let reply = tokio::time::timeout(Duration::from_secs(30), Client::OpenAi.call(&gw.base(), &ask))
        .await
        .expect("the gateway answers without waiting for the event's end");
    assert_eq!(reply.status, 502, "{}", reply.body);
    let message = reply.error.unwrap().message;
    assert!(message.contains("max_upstream_body_mib"), "{message}");
    assert!(
        feeder.await.unwrap(),
        "the gateway stopped reading: the upstream saw the connection dropped"
    );

    // After the first bytes: the stream ends with the protocol's error event.
    let (feed, handler) = fed("text/event-stream");
    mock.set(handler);
    let start = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",",
        "\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,",
        "\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,",
        "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,",
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\""
    );
    let feeder = feed_endless_event(feed, start);
    let response = Client::OpenAi.request(&gw.base(), &ask).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = tokio::time::timeout(Duration::from_secs(30), response.text())
        .await
        .expect("the stream ends without waiting for the event's end")
        .unwrap();
    assert!(text.contains("Hel"), "{text}");
    let last = common::sse_events(&text)
        .into_iter()
        .map(|(_, data)| data)
        .rfind(|data| data.contains("\"error\""))
        .unwrap_or_else(|| panic!("the stream ends with an error event: {text}"));
    assert!(last.contains("max_upstream_body_mib"), "{last}");
    assert!(
        feeder.await.unwrap(),
        "the gateway stopped reading: the upstream saw the connection dropped"
    );
}

/// A relayed stream (client and upstream speak the same protocol) has the
/// same cap on an event as a translated one, and says so in the same words.
#[tokio::test]
async fn a_relayed_stream_event_that_never_ends_is_cut_at_the_cap_too() {
    let (feed, handler) = fed("text/event-stream");
    let mock = Mock::start(handler).await;
    let gw = gateway_for(ProviderKind::Anthropic, &mock, ONE_MIB_CAP).await;
    let feeder = feed_endless_event(feed, "event: message_start\ndata: {\"type\":\"message_start\",\"x\":\"");
    let ask = Ask::new("claude-sonnet-4-5", "hi").streamed(true);
    let reply = tokio::time::timeout(Duration::from_secs(30), Client::Anthropic.call(&gw.base(), &ask))
        .await
        .expect("the gateway answers without waiting for the event's end");
    assert_eq!(reply.status, 502, "{}", reply.body);
    let message = reply.error.unwrap().message;
    assert!(
        message.contains("larger than the limit of 1 MiB") && message.contains("max_upstream_body_mib"),
        "{message}"
    );
    assert!(
        feeder.await.unwrap(),
        "the gateway stopped reading: the upstream saw the connection dropped"
    );
}

/// Each provider's own words for a request its account may not make, and
/// for a key that is not valid.
fn refusals(provider: ProviderKind) -> (MockReply, MockReply) {
    match provider {
        ProviderKind::Openai => (
            MockReply::status(
                403,
                json!({"error": {"message": "Project `proj_abc` does not have access to model `gpt-4.1`", "type": "invalid_request_error", "param": null, "code": "model_not_found"}}),
            ),
            MockReply::status(
                403,
                json!({"error": {"message": "Invalid API key provided.", "type": "invalid_request_error", "param": null, "code": null}}),
            ),
        ),
        ProviderKind::Anthropic => (
            MockReply::status(
                403,
                json!({"type": "error", "error": {"type": "permission_error", "message": "Your API key does not have permission to use the specified resource."}}),
            ),
            MockReply::status(
                403,
                json!({"type": "error", "error": {"type": "permission_error", "message": "API key not valid."}}),
            ),
        ),
        _ => (
            MockReply::status(
                403,
                json!({"error": {"code": 403, "message": "Permission denied on resource project my-project. Billing is not enabled for model gemini-2.5-flash.", "status": "PERMISSION_DENIED"}}),
            ),
            MockReply::status(
                400,
                json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
                    "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"}}]}}),
            ),
        ),
    }
}

/// The state `/api/accounts` shows for `provider`'s account.
async fn state_of(rig: &Rig, provider: ProviderKind) -> String {
    let body: Value = serde_json::from_str(&admin_get(&rig.gw, "/api/accounts").await).unwrap();
    body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["provider"] == provider.as_str())
        .map(|a| a["state"].as_str().unwrap().to_string())
        .unwrap()
}

#[tokio::test]
async fn only_credential_failures_take_an_account_out_of_rotation() {
    let mut cases = Vec::new();
    for provider in UPSTREAMS {
        cases.push((format!("{provider}, key not valid"), (provider, false)));
        cases.push((format!("{provider}, HTTP 401"), (provider, true)));
    }
    each(cases, |(provider, unauthorized)| async move {
        let rig = Rig::with_config(&format!("[proxy]\napi_key = \"{GATEWAY_KEY}\"\n")).await;
        let mock = rig.mock(provider);
        let ask = Ask::new(model_of(provider), "hi");
        let base = rig.base();
        let call = || Client::OpenAi.call(&base, &ask);

        // A 403 about the request: the client hears it, the account stays.
        mock.set(move |_| refusals(provider).0);
        let refused = call().await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(!refused.body.contains("not your gateway key"), "{}", refused.body);
        assert_eq!(state_of(&rig, provider).await, "ready");
        let asked = mock.count();
        let again = call().await;
        assert_eq!(again.status, 403, "{}", again.body);
        assert_eq!(mock.count(), asked + 1, "the next request still goes to the account");

        // A key that is not valid (or any 401): the account is disabled.
        mock.set(move |_| match unauthorized {
            true => MockReply::status(401, error_body(provider, 401, "invalid x-api-key")),
            false => refusals(provider).1,
        });
        let rejected = call().await;
        assert!(rejected.body.contains("not your gateway key"), "{}", rejected.body);
        assert_eq!(state_of(&rig, provider).await, "disabled");
        let asked = mock.count();
        assert_eq!(call().await.status, 503);
        assert_eq!(mock.count(), asked, "a disabled account is not asked again");
    })
    .await;
}
