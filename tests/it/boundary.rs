//! The browser boundary and the admin key, end to end (issue 13): the
//! guard in front of every route refuses foreign `Host` names (DNS
//! rebinding), foreign origins and cross-site loads before auth, before the
//! brake and before any upstream sees a byte; the admin surface needs the
//! key in every auth mode; the brake cannot be turned against the user; the
//! connection count and the metric labels are bounded.
//!
//! These tests talk HTTP only, so they hold whatever the routes look like
//! behind the guard.

use crate::common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Mock, MockReply, TestAccount, TestGateway, client};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "sk-boundary-test-key-0123456789";
const EVIL: &str = "https://evil.example";

async fn gemini_mock() -> Mock {
    Mock::start(|_| {
        MockReply::json(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}
        }))
    })
    .await
}

/// A gateway in front of a Gemini mock; `proxy` is extra `[proxy]` text.
async fn gateway(proxy: &str) -> (TestGateway, Mock) {
    let mock = gemini_mock().await;
    let account = TestAccount::new(ProviderKind::Gemini, mock.url());
    let extra = format!("[proxy]\napi_key = \"{KEY}\"\n{proxy}");
    (TestGateway::start(vec![account], &extra).await, mock)
}

fn chat_body() -> String {
    json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}).to_string()
}

/// Status, headers and JSON body (Null when not JSON).
async fn send(request: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn message(body: &Value) -> String {
    body["error"]["message"].as_str().unwrap_or_default().to_string()
}

fn assert_no_wildcard(headers: &reqwest::header::HeaderMap) {
    assert_ne!(
        headers.get("access-control-allow-origin").map(|v| v.to_str().unwrap()),
        Some("*"),
        "never a wildcard"
    );
}

/// A client that sends `host` (resolved to the gateway) as its Host.
fn client_for_host(host: &str, gw: &TestGateway) -> reqwest::Client {
    switchyard::upstream::http_client()
        .no_proxy()
        .resolve(host, gw.addr)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_foreign_host_is_refused_in_the_routes_protocol_and_healthz_still_answers() {
    let (gw, mock) = gateway("").await;
    let port = gw.addr.port();
    let host = "rebind.attacker.tld";
    let rebind = client_for_host(host, &gw);
    let url = |path: &str| format!("http://{host}:{port}{path}");

    let (status, _, body) = send(rebind.get(url("/api/logs")).bearer_auth(KEY)).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        message(&body).contains("allowed_hosts = [\"rebind.attacker.tld\"]"),
        "{body}"
    );

    let (status, _, body) = send(rebind.post(url("/v1/chat/completions")).body(chat_body())).await;
    assert_eq!(status, 403);
    assert!(body["error"]["message"].is_string(), "OpenAI shape: {body}");
    let (status, _, body) = send(rebind.post(url("/v1/messages")).body("{}")).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (403, Some("error")),
        "Anthropic shape: {body}"
    );
    let (status, _, body) = send(
        rebind
            .post(url("/v1beta/models/gemini-2.5-flash:generateContent"))
            .body("{}"),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_u64()),
        (403, Some(403)),
        "Gemini shape: {body}"
    );
    assert_eq!(mock.count(), 0, "the upstream saw nothing");

    // Probes get exactly the health answer, whatever name they use.
    let response = rebind.get(url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), r#"{"status":"ok"}"#);

    // Loopback names pass, with any port in the Host header.
    for host in ["localhost", "127.0.0.1", "[::1]"] {
        let request = client()
            .get(gw.url("/v1/models"))
            .header("host", format!("{host}:9999"));
        assert_eq!(send(request).await.0, 200, "{host}");
    }
}

#[tokio::test]
async fn allowed_hosts_admit_a_tunnels_name_with_any_port() {
    let (gw, _mock) = gateway("allowed_hosts = [\"Tunnel.Example\"]\n").await;
    let tunnel = client_for_host("tunnel.example", &gw);
    let url = format!("http://tunnel.example:{}/v1/models", gw.addr.port());
    assert_eq!(send(tunnel.get(&url)).await.0, 200);
    let other = client().get(gw.url("/v1/models")).header("host", "other.example:443");
    assert_eq!(send(other).await.0, 403);
}

#[tokio::test]
async fn http2_requests_are_checked_by_their_authority() {
    let (gw, mock) = gateway("").await;
    let h2 = switchyard::upstream::http_client()
        .no_proxy()
        .http2_prior_knowledge()
        .resolve("rebind.attacker.tld", gw.addr)
        .build()
        .unwrap();
    let url = format!("http://rebind.attacker.tld:{}/v1/chat/completions", gw.addr.port());
    let response = h2.post(&url).body(chat_body()).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 403);
    assert_eq!(mock.count(), 0);
    let local = switchyard::upstream::http_client()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = local.get(gw.url("/v1/models")).send().await.unwrap();
    assert_eq!(
        (response.version(), response.status().as_u16()),
        (reqwest::Version::HTTP_2, 200)
    );
}

#[tokio::test]
async fn a_web_page_cannot_spend_the_accounts_with_auth_off() {
    let (gw, mock) = gateway("").await;
    // The "simple" request a page sends without a preflight.
    let simple = common::post(&gw.base(), "/v1/chat/completions")
        .header("origin", EVIL)
        .header("content-type", "text/plain")
        .header("sec-fetch-site", "cross-site")
        .body(chat_body());
    let (status, headers, body) = send(simple).await;
    assert_eq!(status, 403);
    assert!(
        message(&body).contains("allowed_origins = [\"https://evil.example\"]"),
        "{body}"
    );
    assert!(message(&body).contains("turn auth on"), "{body}");
    assert!(headers.get("access-control-allow-origin").is_none());

    // A JSON POST needs a preflight first, which is refused without auth…
    let preflight = client()
        .request(reqwest::Method::OPTIONS, gw.url("/v1/chat/completions"))
        .header("origin", EVIL)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type");
    let (status, headers, _) = send(preflight).await;
    assert_eq!(status, 403);
    assert!(headers.get("access-control-allow-origin").is_none());
    // …and so is the POST itself, were a browser to send it anyway.
    let json = common::post(&gw.base(), "/v1/chat/completions")
        .header("origin", EVIL)
        .header("content-type", "application/json")
        .body(chat_body());
    assert_eq!(send(json).await.0, 403);

    // A no-cors `<img>` load carries no Origin, only fetch metadata.
    for n in 0..20 {
        let img = client()
            .get(gw.url(&format!("/v1beta/models?key=guess-{n}")))
            .header("sec-fetch-site", "cross-site")
            .header("sec-fetch-mode", "no-cors")
            .header("sec-fetch-dest", "image");
        assert_eq!(send(img).await.0, 403);
    }
    assert_eq!(mock.count(), 0, "the upstream saw nothing");

    // Clients without browser markers are served as before, text/plain or not.
    let curl = common::post(&gw.base(), "/v1/chat/completions")
        .header("content-type", "text/plain")
        .body(chat_body());
    let (status, headers, body) = send(curl).await;
    assert_eq!(status, 200, "{body}");
    assert!(headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn listed_and_own_origins_get_their_own_name_back_never_a_wildcard() {
    let (gw, _mock) = gateway("allowed_origins = [\"https://chat.example\", \"null\"]\n").await;
    for origin in ["https://chat.example", "null", &gw.base()] {
        let request = common::post(&gw.base(), "/v1/chat/completions")
            .header("origin", origin)
            .header("content-type", "application/json")
            .body(chat_body());
        let (status, headers, body) = send(request).await;
        assert_eq!(status, 200, "{origin}: {body}");
        assert_eq!(headers["access-control-allow-origin"], origin);
        assert!(headers.get_all("vary").iter().any(|v| v == "Origin"));
    }
    let preflight = client()
        .request(reqwest::Method::OPTIONS, gw.url("/v1/chat/completions"))
        .header("origin", "https://chat.example")
        .header("access-control-request-method", "POST");
    let (status, headers, _) = send(preflight).await;
    assert_eq!(status, 204);
    assert_eq!(headers["access-control-allow-origin"], "https://chat.example");
    // A browser POST that is not JSON is refused even from a listed origin.
    let form = common::post(&gw.base(), "/v1/chat/completions")
        .header("origin", "https://chat.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=b");
    assert_eq!(send(form).await.0, 415);
}

#[tokio::test]
async fn with_auth_on_a_page_holding_the_key_is_served_and_one_without_is_refused_before_the_brake() {
    let (gw, mock) = gateway("auth_mode = \"all_except_health\"\n").await;
    // A keyed route's preflight may go to any origin: the key is checked on the request.
    let preflight = client()
        .request(reqwest::Method::OPTIONS, gw.url("/v1/chat/completions"))
        .header("origin", "https://lobechat.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type");
    let (status, headers, _) = send(preflight).await;
    assert_eq!(status, 204);
    assert_eq!(headers["access-control-allow-origin"], "https://lobechat.example");
    assert_eq!(headers["access-control-allow-headers"], "authorization, content-type");
    assert_no_wildcard(&headers);

    let with_key = common::post(&gw.base(), "/v1/chat/completions")
        .header("origin", "https://lobechat.example")
        .header("content-type", "application/json")
        .bearer_auth(KEY)
        .body(chat_body());
    let (status, headers, body) = send(with_key).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["access-control-allow-origin"], "https://lobechat.example");

    // Wrong keys from a page: refused by the guard, never counted by the brake.
    for n in 0..30 {
        let guess = common::post(&gw.base(), "/v1/chat/completions")
            .header("origin", EVIL)
            .header("content-type", "application/json")
            .bearer_auth(format!("sk-guess-{n:04}"))
            .body(chat_body());
        assert_eq!(send(guess).await.0, 403);
    }
    assert_eq!(mock.count(), 1);
    // So a wrong key from a plain client afterwards is still among its free ones.
    let started = Instant::now();
    let stale = client().get(gw.url("/v1/models")).bearer_auth("sk-stale-key-000");
    assert_eq!(send(stale).await.0, 401);
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_admin_surface_needs_the_key_in_every_mode_but_the_ui_shell_does_not() {
    for mode in ["off", "auto", "all_except_health"] {
        let (gw, _mock) = gateway(&format!("auth_mode = \"{mode}\"\n")).await;
        for path in [
            "/api/status",
            "/api/accounts",
            "/api/logs",
            "/api/usage",
            "/api/usage/timeline",
            "/metrics",
        ] {
            let (status, headers, body) = send(client().get(gw.url(path))).await;
            assert_eq!(status, 401, "{mode} {path}: {body}");
            assert!(message(&body).contains("switchyard key show"), "{body}");
            assert!(headers.contains_key("www-authenticate"));
            let (status, _, _) = send(client().get(gw.url(path)).bearer_auth(KEY)).await;
            assert_eq!(status, 200, "{mode} {path} with the key");
        }
        let ui = client().get(gw.url("/ui")).send().await.unwrap();
        assert_eq!(ui.status(), 200, "{mode}: the dashboard's shell");
    }
}

#[tokio::test]
async fn metrics_are_openmetrics_with_bounded_labels() {
    let (gw, _mock) = gateway("").await;
    for model in ["gemini-a", "gemini-b", "gemini-c"] {
        let path = format!("/v1beta/models/{model}:generateContent");
        let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}).to_string();
        assert_eq!(send(common::post(&gw.base(), &path).body(body)).await.0, 200);
    }
    let response = client().get(gw.url("/metrics")).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    assert!(
        text.contains(r#"route="/v1beta/models/{model}:generateContent""#),
        "{text}"
    );
    assert!(
        !text.contains("gemini-a:generateContent"),
        "the raw path is never a label"
    );
}

/// One GET of `/v1/models` with `headers` (and `query`); its status and time.
async fn timed(gw: &TestGateway, path: &str, headers: &[(&str, &str)]) -> (u16, Duration) {
    let started = Instant::now();
    let mut request = client().get(gw.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let status = request.send().await.unwrap().status().as_u16();
    (status, started.elapsed())
}

#[tokio::test]
async fn each_wrong_form_counts_once_and_a_right_one_beside_it_counts_nothing() {
    let (gw, _mock) = gateway("auth_mode = \"strict\"\n").await;
    let bearer = format!("Bearer {KEY}");
    // The Anthropic SDK's placeholder beside the right key: never a guess.
    for _ in 0..10 {
        let (status, took) = timed(
            &gw,
            "/v1/models",
            &[("x-api-key", "placeholder"), ("authorization", &bearer)],
        )
        .await;
        assert_eq!(status, 200);
        assert!(took < Duration::from_millis(250));
    }
    // One request with a wrong key in all four forms is four guesses…
    let gemini = "/v1beta/models?key=sk-wrong-query";
    let four = [
        ("authorization", "Bearer sk-wrong-bearer"),
        ("x-api-key", "sk-wrong-x-api"),
        ("x-goog-api-key", "sk-wrong-goog"),
    ];
    assert_eq!(timed(&gw, gemini, &four).await.0, 401);
    // …so after one more request with one wrong key (5 so far, all free) the
    // next one is the sixth guess, and waits.
    assert!(timed(&gw, "/v1/models", &[("x-api-key", "sk-wrong-5")]).await.1 < Duration::from_millis(250));
    let (status, took) = timed(&gw, "/v1/models", &[("x-api-key", "sk-wrong-6")]).await;
    assert_eq!(status, 401);
    assert!(
        took >= Duration::from_millis(240),
        "the sixth guess is slowed: {took:?}"
    );
}

#[tokio::test]
async fn the_key_counts_in_the_query_only_on_gemini_routes_and_once_per_form() {
    let (gw, _mock) = gateway("auth_mode = \"strict\"\n").await;
    assert_eq!(timed(&gw, &format!("/v1beta/models?key={KEY}"), &[]).await.0, 200);
    assert_eq!(timed(&gw, &format!("/v1/models?key={KEY}"), &[]).await.0, 401);
    assert_eq!(timed(&gw, &format!("/api/status?key={KEY}"), &[]).await.0, 401);
    // Only the first header of a form is a candidate.
    let request = client()
        .get(gw.url("/v1/models"))
        .header("x-api-key", "sk-first-is-wrong")
        .header("x-api-key", KEY);
    assert_eq!(send(request).await.0, 401);
}

#[tokio::test]
async fn a_loopback_client_with_the_right_key_is_never_held_by_the_brake() {
    let (gw, _mock) = gateway("auth_mode = \"strict\"\n").await;
    // Fill this address's line with wrong keys until it is refused outright.
    let mut guesses = Vec::new();
    for n in 0..60 {
        let request = client()
            .get(gw.url("/v1/models"))
            .bearer_auth(format!("sk-guess-{n:04}"));
        guesses.push(tokio::spawn(request.send()));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, _) = timed(&gw, "/v1/models", &[("authorization", "Bearer sk-one-more-guess")]).await;
    assert_eq!(status, 429, "the address is braked");
    let (status, took) = timed(&gw, "/v1/models", &[("authorization", &format!("Bearer {KEY}"))]).await;
    assert_eq!(status, 200);
    assert!(took < Duration::from_millis(200), "{took:?}");
    for guess in guesses {
        guess.abort();
    }
}

#[tokio::test]
async fn a_connection_past_the_cap_gets_a_clean_503() {
    let (gw, _mock) = gateway("max_connections = 3\n").await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
        // A keep-alive connection that stays open after its answer.
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let mut buffer = [0u8; 512];
        let n = stream.read(&mut buffer).await.unwrap();
        assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    let answer = raw_get(gw.addr).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("max_connections"), "{answer}");
    drop(held);
    // Once they are gone, new clients are served.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if raw_get(gw.addr).await.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "the cap was not released");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn raw_get(addr: SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        .await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn lan_access_needs_a_long_key() {
    use switchyard::gateway::{Gateway, Overrides, StartError};
    use switchyard::secrets::{MemoryStore, SecretStore};
    let mock = gemini_mock().await;
    let dir = tempfile::tempdir().unwrap();
    let home = switchyard::home::Home::at(dir.path());
    let store = std::sync::Arc::new(MemoryStore::default());
    store.set("acc_00000001", "upstream").unwrap();
    let config = |key: &str| {
        format!(
            "[proxy]\nallow_lan_access = true\napi_key = \"{key}\"\n\n[[accounts]]\nid = \"acc_00000001\"\n\
             provider = \"gemini\"\nbase_url = \"{}\"\n",
            mock.url()
        )
    };
    std::fs::write(home.config_file(), config("sk-short-lan-key")).unwrap();
    let overrides = Overrides {
        port: Some(0),
        ..Overrides::default()
    };
    let mut gateway = Gateway::new(home.clone(), store.clone(), overrides.clone());
    let err = gateway.start().await.unwrap_err();
    assert!(matches!(err, StartError::ShortLanKey { length: 16 }), "{err:?}");
    assert!(err.to_string().contains("switchyard key rotate"), "{err}");
    assert!(
        !err.to_string().contains("sk-short-lan-key"),
        "the key is never repeated"
    );

    std::fs::write(home.config_file(), config("sk-a-long-enough-lan-key-0123")).unwrap();
    let mut gateway = Gateway::new(home, store, overrides);
    gateway.start().await.expect("a long key may listen on the LAN");
    gateway.stop(Duration::ZERO).await;
}
