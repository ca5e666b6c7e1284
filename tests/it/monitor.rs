//! The proxy monitor: a record for every call (success, upstream error,
//! rotation, client disconnect) with the right tokens, persisted without
//! slowing requests, metrics that parse, the admin API, and no credential
//! anywhere it writes.

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::clients::Client;
use common::{Mock, MockReply, Recorded, TestAccount, TestGateway, client, fed};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;
use switchyard::monitor::{DATABASE, LogFilter, Store};

fn openai_answer(text: &str) -> MockReply {
    MockReply::json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 31, "completion_tokens": 9, "total_tokens": 40, "prompt_tokens_details": {"cached_tokens": 12}}
    }))
}

fn openai_stream_with_usage() -> MockReply {
    MockReply::sse(openai_usage_frames("\n"))
}

/// The events of that stream, their lines ending in `line_end`.
fn openai_usage_frames(line_end: &str) -> [String; 4] {
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":delta,"finish_reason":finish}]})
        )
    };
    let frames = [
        chunk(json!({"role": "assistant", "content": "hel"}), Value::Null),
        chunk(json!({"content": "lo"}), json!("stop")),
        format!(
            "data: {}\n\n",
            json!({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],
            "usage":{"prompt_tokens":21,"completion_tokens":4,"total_tokens":25,"prompt_tokens_details":{"cached_tokens":3}}})
        ),
        "data: [DONE]\n\n".to_string(),
    ];
    frames.map(|frame| frame.replace('\n', line_end))
}

/// The samples of one metric.
fn named<'a>(
    scrape: &'a prometheus_parse::Scrape,
    metric: &'a str,
) -> impl Iterator<Item = &'a prometheus_parse::Sample> + 'a {
    scrape.samples.iter().filter(move |s| s.metric == metric)
}

/// The records the API shows, newest first, once `n` exist.
async fn records(gw: &TestGateway, n: usize) -> Vec<Value> {
    records_with_key(gw, n, &gw.key()).await
}

async fn records_with_key(gw: &TestGateway, n: usize, key: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let body: Value = client()
            .get(gw.url("/api/logs?limit=100"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let records = body["records"].as_array().unwrap().clone();
        if records.len() >= n || Instant::now() > deadline {
            return records;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn chat(gw: &TestGateway, body: Value) -> reqwest::Response {
    Client::OpenAi.request_json(&gw.base(), &body).send().await.unwrap()
}

#[tokio::test]
async fn successes_record_account_model_latency_and_tokens() {
    let mock = Mock::start(|request: &Recorded| {
        if request.json()["stream"] == true {
            openai_stream_with_usage()
        } else {
            openai_answer("hi")
        }
    })
    .await;
    let gw = TestGateway::start(
        vec![TestAccount::new(ProviderKind::Openai, mock.url()).label("work")],
        "[models]\n\"fast\" = \"gpt-x\"\n",
    )
    .await;
    // A translated call (Anthropic client), complete.
    let response = Client::Anthropic
        .request_json(
            &gw.base(),
            &json!({"model": "fast", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A relayed call (OpenAI client), streamed with usage.
    let text = chat(
        &gw,
        json!({"model": "gpt-x", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(text.contains("[DONE]"));

    let records = records(&gw, 2).await;
    let streamed = &records[0];
    assert_eq!(streamed["client"], "openai");
    assert_eq!(streamed["stream"], true);
    assert_eq!(streamed["status"], 200);
    assert_eq!(
        (
            streamed["input_tokens"].as_u64(),
            streamed["output_tokens"].as_u64(),
            streamed["cached_tokens"].as_u64()
        ),
        (Some(21), Some(4), Some(3))
    );
    assert!(streamed["ttfb_ms"].as_f64().unwrap() <= streamed["total_ms"].as_f64().unwrap());
    let complete = &records[1];
    assert_eq!(complete["client"], "anthropic");
    assert_eq!(complete["route"], "/v1/messages");
    assert_eq!(complete["model"], "fast");
    assert_eq!(complete["served_model"], "gpt-x");
    assert_eq!(complete["account"], "work");
    assert_eq!(complete["attempts"], 1);
    assert_eq!(
        (
            complete["input_tokens"].as_u64(),
            complete["output_tokens"].as_u64(),
            complete["cached_tokens"].as_u64()
        ),
        (Some(31), Some(9), Some(12))
    );
    let total = complete["total_ms"].as_f64().unwrap();
    let upstream = complete["upstream_ms"].as_f64().unwrap();
    let overhead = complete["overhead_ms"].as_f64().unwrap();
    assert!(
        total > 0.0 && upstream > 0.0 && (total - upstream - overhead).abs() < 0.01,
        "{complete}"
    );

    // The same calls are in the database, and in usage.
    let store = Store::open_read_only(&gw.home.state_dir.join(DATABASE)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.count().unwrap() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(store.count().unwrap(), 2);
    let usage: Value = gw
        .admin_get("/api/usage?by=account")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(usage["usage"][0]["key"], "work");
    assert_eq!(usage["usage"][0]["input_tokens"], 52);
}

#[tokio::test]
async fn upstream_errors_and_rotations_are_recorded() {
    let limited = Mock::start(|_| MockReply::Json {
        status: 429,
        body: json!({"error": {"message": "slow down"}}),
        headers: vec![("retry-after", "30".into())],
    })
    .await;
    let healthy = Mock::start(|_| openai_answer("ok")).await;
    let gw = TestGateway::start(
        vec![
            TestAccount::new(ProviderKind::Openai, limited.url()).label("limited"),
            TestAccount::new(ProviderKind::Openai, healthy.url())
                .label("healthy")
                .priority(1),
        ],
        "",
    )
    .await;
    assert_eq!(
        chat(
            &gw,
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        )
        .await
        .status(),
        200
    );
    healthy.set(|_| MockReply::status(500, json!({"error": {"message": "boom"}})));
    let failed = chat(
        &gw,
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(failed.status(), 500);

    let records = records(&gw, 2).await;
    let rotated = &records[1];
    assert_eq!(rotated["status"], 200);
    assert_eq!(rotated["attempts"], 2, "{rotated}");
    assert_eq!(rotated["account"], "healthy");
    let error = &records[0];
    assert_eq!(error["status"], 500);
    assert!(error["error"].as_str().unwrap().contains("boom"), "{error}");
    assert_eq!(error["input_tokens"], 0);

    let metrics = gw.admin_get("/metrics").send().await.unwrap().text().await.unwrap();
    let lines = metrics.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("the metrics parse as Prometheus text");
    assert!(
        named(&scrape, "switchyard_requests_total")
            .any(|s| s.labels.get("status") == Some("500") && s.labels.get("account") == Some("healthy"))
    );
    assert!(
        named(&scrape, "switchyard_account_state")
            .any(|s| s.labels.get("account") == Some("limited") && s.labels.get("state") == Some("cooling"))
    );
    let cooldown = named(&scrape, "switchyard_account_cooldown_seconds")
        .next()
        .expect("a cooldown gauge");
    assert_eq!(cooldown.labels.get("model"), Some("m"));
    assert!(
        named(&scrape, "switchyard_gateway_overhead_seconds_count")
            .next()
            .is_some()
    );
    assert!(named(&scrape, "switchyard_tokens_total").any(|s| s.labels.get("kind") == Some("cached")));
}

#[tokio::test]
async fn a_client_that_goes_away_mid_stream_is_recorded() {
    let (feed, handler) = fed("text/event-stream");
    let mock = Mock::start(handler).await;
    let gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, mock.url())], "").await;
    let chunk = json!({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"partial"},"finish_reason":null}]});
    feed.send(format!("data: {chunk}\n\n"));
    let mut response = chat(
        &gw,
        json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    let first = response.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("partial"));
    drop(response);
    // The gateway notices when it next writes.
    feed.send(format!("data: {chunk}\n\n"));
    feed.send(format!("data: {chunk}\n\n"));
    let records = records(&gw, 1).await;
    assert_eq!(records[0]["status"], 499, "{records:?}");
    assert!(records[0]["error"].as_str().unwrap().contains("client closed"));
}

#[tokio::test]
async fn a_stalled_log_writer_does_not_slow_requests() {
    let mock = Mock::start(|_| openai_answer("ok")).await;
    let gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, mock.url())], "").await;
    // One call creates the database; then another connection holds its write lock.
    chat(
        &gw,
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    let path = gw.home.state_dir.join(DATABASE);
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = Instant::now();
    for _ in 0..20 {
        let response = chat(
            &gw,
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
        assert_eq!(response.status(), 200);
    }
    // The writer waits up to 5 s per batch for the lock; the requests did not.
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(records(&gw, 21).await.len(), 21, "the live log has every call");
    blocker.execute_batch("COMMIT").unwrap();
    drop(blocker);
    let store = Store::open_read_only(&path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.count().unwrap() < 21 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        store.count().unwrap(),
        21,
        "the writer catches up once the lock is released"
    );
}

#[tokio::test]
async fn state_changes_need_the_key_even_with_auth_off() {
    let mock = Mock::start(|_| openai_answer("ok")).await;
    let gw = TestGateway::start(
        vec![TestAccount::new(ProviderKind::Openai, mock.url()).label("one")],
        "[proxy]\napi_key = \"sk-admin-test-key\"\n",
    )
    .await;
    let id = gw.gateway.accounts().unwrap()[0].id.clone();
    let denied = common::post(&gw.base(), &format!("/api/accounts/{id}/disable"))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    let done = common::post(&gw.base(), &format!("/api/accounts/{id}/disable"))
        .bearer_auth("sk-admin-test-key")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert_eq!(gw.gateway.accounts().unwrap()[0].state, "disabled");
    let config = std::fs::read_to_string(gw.home.config_file()).unwrap();
    assert!(config.contains("enabled = false"), "{config}");
    let again = common::post(&gw.base(), &format!("/api/accounts/{id}/enable"))
        .bearer_auth("sk-admin-test-key")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(gw.gateway.accounts().unwrap()[0].state, "ready");
    // The key in config.toml cannot be rotated from the API.
    let rotate = common::post(&gw.base(), "/api/key/rotate")
        .bearer_auth("sk-admin-test-key")
        .send()
        .await
        .unwrap();
    assert_eq!(rotate.status(), 409);
}

#[tokio::test]
async fn a_rotated_key_is_in_force_at_once() {
    let mock = Mock::start(|_| openai_answer("ok")).await;
    let gw = TestGateway::start(
        vec![TestAccount::new(ProviderKind::Openai, mock.url())],
        "[proxy]\nauth_mode = \"strict\"\n",
    )
    .await;
    let old = switchyard::secrets::gateway_key(gw.store.as_ref(), &switchyard::config::Config::load(&gw.home).unwrap())
        .unwrap();
    let rotated: Value = common::post(&gw.base(), "/api/key/rotate")
        .bearer_auth(&old)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new = rotated["key"].as_str().unwrap().to_string();
    assert!(new.starts_with("sk-") && new != old);
    assert_eq!(
        client()
            .get(gw.url("/healthz"))
            .bearer_auth(&old)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        client()
            .get(gw.url("/healthz"))
            .bearer_auth(&new)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// Everything `tracing` writes in this test binary.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_credential_is_written_anywhere() {
    let logs = captured_logs();
    const GATEWAY_KEY: &str = "sk-gatewaySECRETkey0123456789";
    const UPSTREAM_KEY: &str = "upstreamSECRETvalue-0001";
    const REFRESH: &str = "1//refreshSECRETtoken000";
    const ACCESS: &str = "ya29.accessSECRETtoken000";
    const IN_BODY: &str = "sk-pastedSECRETbyTheUser99";
    let tokens = Mock::start(|_| MockReply::json(json!({"access_token": ACCESS, "expires_in": 3600}))).await;
    let upstream = Mock::start(|request: &Recorded| {
        if request.path.contains("v1internal") {
            MockReply::json(json!({"response": {"candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}]}}))
        } else {
            MockReply::status(401, json!({"error": {"message": "bad key"}}))
        }
    })
    .await;
    let mut openai = TestAccount::new(ProviderKind::Openai, upstream.url()).label("openai");
    openai.secret = UPSTREAM_KEY.into();
    openai.models = vec!["gpt-*".into()];
    let mut google = TestAccount::new(ProviderKind::Google, upstream.url()).label("google");
    google.secret = REFRESH.into();
    google.project = Some("p".into());
    google.models = vec!["gemini-*".into()];
    let config = format!(
        "[proxy]\nauth_mode = \"strict\"\napi_key = \"{GATEWAY_KEY}\"\n[monitor]\nstore_bodies = true\n\
         [providers.google]\nclient_id = \"c\"\nclient_secret = \"s\"\ntoken_url = \"{}/token\"\n",
        tokens.url()
    );
    let gw = TestGateway::start(vec![openai, google], &config).await;
    for model in ["gpt-4o", "gemini-2.5-pro"] {
        let response = common::post(&gw.base(), "/v1/chat/completions")
            .bearer_auth(GATEWAY_KEY)
            .json(&json!({"model": model, "messages": [{"role": "user", "content": format!("my key is {IN_BODY}")}]}))
            .send()
            .await
            .unwrap();
        let body = response.text().await.unwrap();
        for secret in [GATEWAY_KEY, UPSTREAM_KEY, REFRESH, ACCESS] {
            assert!(!body.contains(secret), "the answer shows a secret: {body}");
        }
    }
    // A wrong key and a request naming the key in the query.
    client()
        .get(gw.url(&format!("/healthz?key={GATEWAY_KEY}x")))
        .send()
        .await
        .unwrap();

    let mut written = String::new();
    for path in [
        "/api/logs?limit=100",
        "/api/accounts",
        "/api/status",
        "/api/usage",
        "/metrics",
    ] {
        written.push_str(
            &client()
                .get(gw.url(path))
                .bearer_auth(GATEWAY_KEY)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    let records = records_with_key(&gw, 2, GATEWAY_KEY).await;
    assert!(
        records
            .iter()
            .all(|r| r["request_body"].as_str().is_some_and(|b| b.contains("[REDACTED]"))),
        "{records:?}"
    );
    let store = Store::open_read_only(&gw.home.state_dir.join(DATABASE)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.count().unwrap() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        store
            .query(&LogFilter {
                limit: 10,
                ..LogFilter::default()
            })
            .unwrap()
            .len()
            >= 2
    );
    // Every file the gateway wrote (config.toml is the test's own input).
    for entry in std::fs::read_dir(&gw.home.state_dir).unwrap() {
        let path = entry.unwrap().path();
        if path != gw.home.config_file() {
            let bytes = std::fs::read(&path).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(GATEWAY_KEY),
                "{}",
                path.display()
            );
            written.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    written.push_str(&String::from_utf8_lossy(&logs.lock().unwrap()));
    assert!(written.len() > 1000, "there is something to search");
    for secret in [GATEWAY_KEY, UPSTREAM_KEY, REFRESH, ACCESS, IN_BODY] {
        assert!(!written.contains(secret), "`{secret}` was written somewhere");
    }
}

#[tokio::test]
async fn a_relayed_openai_stream_is_counted_even_when_the_client_asks_no_usage() {
    let mock = Mock::start(|request: &Recorded| {
        assert_eq!(
            request.json()["stream_options"]["include_usage"],
            true,
            "the gateway asks for usage"
        );
        openai_stream_with_usage()
    })
    .await;
    let gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, mock.url())], "").await;
    let text = chat(
        &gw,
        json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(text.contains("hel") && text.contains("[DONE]"), "{text}");
    assert!(
        !text.contains("prompt_tokens"),
        "the client gets no usage chunk it did not ask for: {text}"
    );
    let records = records(&gw, 1).await;
    assert_eq!(
        (
            records[0]["input_tokens"].as_u64(),
            records[0]["output_tokens"].as_u64()
        ),
        (Some(21), Some(4))
    );
}

/// The same with the upstream's lines ending in `\r\n` or `\r` and the
/// whole stream in one read: the relay splits events at every line end the
/// standard allows, so the usage chunk is still found, counted and kept
/// from the client.
#[tokio::test]
async fn a_relayed_stream_with_other_line_ends_is_counted_and_filtered_alike() {
    for line_end in ["\r\n", "\r"] {
        let mock = Mock::start(move |_: &Recorded| MockReply::sse([openai_usage_frames(line_end).concat()])).await;
        let gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, mock.url())], "").await;
        let text = chat(
            &gw,
            json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await
        .text()
        .await
        .unwrap();
        assert!(text.contains("hel") && text.contains("[DONE]"), "{line_end:?}: {text}");
        assert!(
            !text.contains("prompt_tokens"),
            "{line_end:?}: the client gets no usage chunk it did not ask for: {text}"
        );
        let records = records(&gw, 1).await;
        assert_eq!(
            (
                records[0]["input_tokens"].as_u64(),
                records[0]["output_tokens"].as_u64()
            ),
            (Some(21), Some(4)),
            "{line_end:?}"
        );
    }
}
