//! The gateway's HTTP surface (SPEC §4): health, root, auth, guidance for
//! lost clients, limits, CORS, and the start/stop lifecycle.

use crate::common;

use std::time::Duration;

use common::{Mock, MockReply, TestAccount, TestGateway, client};
use serde_json::{Value, json};
use switchyard::config::{AuthMode, ProviderKind};
use switchyard::gateway::{BindCause, Gateway, Overrides, StartError};
use switchyard::home::Home;
use switchyard::secrets::{MemoryStore, SecretStore};

async fn mock_openai() -> Mock {
    Mock::start(|_| {
        MockReply::json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-x",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        }))
    })
    .await
}

async fn gateway_with(mode: &str, lan: bool) -> (TestGateway, Mock) {
    let mock = mock_openai().await;
    let account = TestAccount::new(ProviderKind::Openai, mock.url());
    let extra = format!("[proxy]\nauth_mode = \"{mode}\"\napi_key = \"sk-test-gateway-key-0123456789\"\n");
    let overrides = Overrides {
        allow_lan_access: Some(lan),
        ..Overrides::default()
    };
    (TestGateway::start_with(vec![account], &extra, overrides).await, mock)
}

#[tokio::test]
async fn healthz_answers_exactly_and_root_describes_the_gateway() {
    let (gw, _mock) = gateway_with("off", false).await;
    let response = client().get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().await.unwrap(), r#"{"status":"ok"}"#);

    let response = client().get(gw.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("Switchyard") && text.contains("/v1"), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");

    let response = client().head(gw.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

/// A way to present a key: an optional (header name, header value) and an optional query.
type KeyForm = (Option<(&'static str, String)>, Option<String>);

/// The five ways to present a key.
fn key_forms(key: &str) -> Vec<KeyForm> {
    vec![
        (Some(("authorization", format!("Bearer {key}"))), None),
        (Some(("authorization", key.to_string())), None),
        (Some(("x-api-key", key.to_string())), None),
        (Some(("x-goog-api-key", key.to_string())), None),
        (None, Some(format!("key={key}"))),
    ]
}

async fn call(
    gw: &TestGateway,
    path: &str,
    header: Option<(&'static str, String)>,
    query: Option<String>,
) -> reqwest::Response {
    let target = match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut request = if path == "/healthz" {
        client().get(gw.url(&target))
    } else {
        common::post(&gw.base(), &target)
            .header("content-type", "application/json")
            .body(r#"{"model":"gpt-x","messages":[{"role":"user","content":"hi"}]}"#)
    };
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_auth_matrix_over_http() {
    let cases = [
        ("off", false, false, false),
        ("strict", false, true, true),
        ("all_except_health", false, false, true),
        ("auto", false, false, false),
        ("auto", true, false, true),
    ];
    for (mode, lan, health_needs_key, api_needs_key) in cases {
        if lan && mode == "off" {
            continue;
        }
        let (gw, _mock) = gateway_with(mode, lan).await;
        for (path, needs_key) in [("/healthz", health_needs_key), ("/v1/chat/completions", api_needs_key)] {
            let label = format!("{mode} lan={lan} {path}");
            let none = call(&gw, path, None, None).await;
            assert_eq!(none.status(), if needs_key { 401 } else { 200 }, "{label} without key");
            for (header, query) in key_forms("sk-test-gateway-key-0123456789") {
                let got = call(&gw, path, header.clone(), query.clone()).await;
                // `?key=` counts only on Gemini routes (tests/it/boundary.rs).
                let expected = if needs_key && query.is_some() { 401 } else { 200 };
                assert_eq!(got.status(), expected, "{label} with {header:?} {query:?}");
            }
            for (header, query) in key_forms("sk-wrong-key-123") {
                let got = call(&gw, path, header.clone(), query.clone()).await;
                assert_eq!(
                    got.status(),
                    if needs_key { 401 } else { 200 },
                    "{label} wrong {header:?} {query:?}"
                );
            }
        }
        let status = gw.gateway.status();
        let expected = AuthMode::Auto.effective(lan);
        if mode == "auto" {
            assert_eq!(status.auth_mode, expected);
        }
    }
}

#[tokio::test]
async fn a_401_is_in_the_route_protocol_and_names_the_headers() {
    let (gw, _mock) = gateway_with("strict", false).await;
    let openai: Value = call(&gw, "/v1/chat/completions", None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(openai["error"]["code"], "invalid_api_key");
    let message = openai["error"]["message"].as_str().unwrap();
    for form in ["Authorization: Bearer", "x-api-key", "x-goog-api-key", "?key="] {
        assert!(message.contains(form), "{message}");
    }

    let anthropic: Value = common::post(&gw.base(), "/v1/messages")
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(anthropic["type"], "error");
    assert_eq!(anthropic["error"]["type"], "authentication_error");

    let response = common::post(&gw.base(), "/v1beta/models/gemini-2.5-flash:generateContent")
        .header("x-goog-api-key", "sk-nope-nope-nope")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let google: Value = response.json().await.unwrap();
    assert_eq!(google["error"]["code"], 401);
    assert_eq!(google["error"]["status"], "UNAUTHENTICATED");
    assert!(google["error"]["message"].as_str().unwrap().contains("Invalid API key"));
}

#[tokio::test]
async fn a_404_explains_the_base_url() {
    let (gw, _mock) = gateway_with("off", false).await;
    let response = common::post(&gw.base(), "/v1/v1/chat/completions")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("`/v1` followed by `/v1`"), "{message}");
    assert!(message.contains(&format!("{}/v1", gw.base())), "{message}");

    let response = common::post(&gw.base(), "/v1/v1/messages")
        .header("anthropic-version", "2023-06-01")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "not_found_error");

    let response = common::post(&gw.base(), "/v1beta/v1beta/models/g:generateContent")
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["status"], "NOT_FOUND");

    let response = common::post(&gw.base(), "/v1/chat/completions/chat/completions")
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("twice"));
}

#[tokio::test]
async fn a_known_path_with_the_wrong_method_is_a_405() {
    let (gw, _mock) = gateway_with("off", false).await;
    let response = client().get(gw.url("/v1/chat/completions")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("use POST"));
}

#[tokio::test]
async fn bodies_over_the_limit_get_a_413_and_bad_json_a_400() {
    let (gw, mock) = gateway_with("off", false).await;
    let big = vec![b'a'; 33 * 1024 * 1024];
    let response = common::post(&gw.base(), "/v1/messages").body(big).send().await.unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert!(body["error"]["message"].as_str().unwrap().contains("32 MiB"));

    let response = common::post(&gw.base(), "/v1/chat/completions")
        .body("{\"model\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("line 1"), "{message}");

    let response = common::post(&gw.base(), "/v1/chat/completions")
        .body(r#"{"model":"gpt-x","messages":[{"role":"user","content":5}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("messages[0].content"),
        "{body}"
    );
    assert_eq!(mock.count(), 0, "invalid requests must not reach the upstream");
}

#[tokio::test]
async fn cors_preflight_is_answered() {
    let (gw, _mock) = gateway_with("strict", false).await;
    let response = client()
        .request(reqwest::Method::OPTIONS, gw.url("/v1/chat/completions"))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    // The origin is named, never `*`; a keyed route's preflight may go to
    // any origin since the request itself must carry the key.
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    assert_eq!(
        response.headers()["access-control-allow-headers"],
        "authorization,content-type"
    );
    assert!(
        response.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
}

#[tokio::test]
async fn claude_code_query_strings_and_headers_are_tolerated() {
    let mock = Mock::start(|_| {
        MockReply::json(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 3, "output_tokens": 1}
        }))
    })
    .await;
    let gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Anthropic, mock.url())], "").await;
    let response = common::post(&gw.base(), "/v1/messages?beta=true")
        .header("x-api-key", "anything")
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14")
        .body(r#"{"model":"claude-x","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["content"][0]["text"], "ok");
    let got = mock.last();
    assert_eq!(
        got.header("anthropic-beta"),
        Some("claude-code-20250219,interleaved-thinking-2025-05-14")
    );
    assert_eq!(
        got.header("x-api-key"),
        Some("upstream-secret-anthropic"),
        "the upstream gets the account's key"
    );
}

#[tokio::test]
async fn lan_access_binds_all_interfaces_and_local_binds_loopback() {
    let (local, _m1) = gateway_with("auto", false).await;
    assert!(local.addr.ip().is_loopback(), "{}", local.addr);
    let (lan, _m2) = gateway_with("auto", true).await;
    assert!(lan.addr.ip().is_unspecified(), "{}", lan.addr);
    assert!(lan.gateway.status().lan);
}

#[tokio::test]
async fn lan_access_with_auth_off_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let store = std::sync::Arc::new(MemoryStore::default());
    store.set("acc_1", "k").unwrap();
    std::fs::write(
        home.config_file(),
        "[proxy]\nauth_mode = \"off\"\n[[accounts]]\nid = \"acc_1\"\nprovider = \"openai\"\n",
    )
    .unwrap();
    let overrides = Overrides {
        port: Some(0),
        allow_lan_access: Some(true),
        ..Overrides::default()
    };
    let mut gateway = Gateway::new(home.clone(), store.clone(), overrides.clone());
    let err = gateway.start().await.unwrap_err();
    assert!(matches!(err, StartError::InsecureLan), "{err}");
    assert!(err.to_string().contains("--insecure-lan"));
    let mut forced = Gateway::new(
        home,
        store,
        Overrides {
            insecure_lan: true,
            ..overrides
        },
    );
    forced.start().await.expect("forced start");
    forced.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_busy_port_is_a_named_error_and_stop_frees_the_port() {
    let (mut gw, _mock) = gateway_with("off", false).await;
    let port = gw.addr.port();
    let store = std::sync::Arc::new(MemoryStore::default());
    store.set("acc_00000000", "k").unwrap();
    let overrides = Overrides {
        port: Some(port),
        ..Overrides::default()
    };
    let mut second = Gateway::new(gw.home.clone(), store.clone(), overrides.clone());
    let err = second.start().await.unwrap_err();
    match &err {
        StartError::Bind(bind) => {
            assert_eq!(bind.addr.port(), port);
            assert!(matches!(bind.cause, BindCause::InUse(p) if p == port));
        }
        other => panic!("expected a bind error, got {other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&format!("127.0.0.1:{port}")) && message.contains("already in use"),
        "{message}"
    );

    gw.gateway.stop(Duration::from_secs(1)).await;
    assert!(!gw.gateway.is_running());
    // The port is free at once: another gateway binds it.
    second.start().await.expect("the port is free after stop");
    second.stop(Duration::from_secs(1)).await;
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free after the second stop");
}

#[tokio::test]
async fn starting_with_no_enabled_account_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    std::fs::write(
        home.config_file(),
        "[[accounts]]\nid = \"acc_1\"\nprovider = \"gemini\"\nenabled = false\n",
    )
    .unwrap();
    let mut gateway = Gateway::new(
        home,
        std::sync::Arc::new(MemoryStore::default()),
        Overrides {
            port: Some(0),
            ..Overrides::default()
        },
    );
    let err = gateway.start().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "No accounts available — add an account first (switchyard accounts add ...)"
    );
}

#[tokio::test]
async fn stop_lets_an_in_flight_request_finish() {
    let mock = Mock::start(|_| MockReply::Stream {
        chunks: vec![(
            Duration::from_millis(300),
            bytes::Bytes::from(
                json!({"id":"c","object":"chat.completion","created":1,"model":"m",
                    "choices":[{"index":0,"message":{"role":"assistant","content":"late"},"finish_reason":"stop"}]})
                .to_string(),
            ),
        )],
        hold: None,
        content_type: "application/json",
    })
    .await;
    let mut gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, mock.url())], "").await;
    let base = gw.base();
    let pending = tokio::spawn(async move {
        common::post(&base, "/v1/chat/completions")
            .body(r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    gw.gateway.stop(Duration::from_secs(5)).await;
    let body = pending.await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "late");
}
