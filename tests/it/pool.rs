//! The pool through the gateway: rotation on 429/401/5xx/connection
//! errors, cooldowns honouring the upstream's hints, immediate 429 when all
//! cool, no retry after the first byte, spreading, tiers, proxies, and
//! `accounts list` showing it all.

use crate::common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::clients::Client;
use common::command::{run, switchyard};
use common::raw::{free_port, refused_url};
use common::{Mock, MockReply, Recorded, TestAccount, TestGateway, client, sse_events};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;

fn openai_answer(text: &str) -> MockReply {
    MockReply::json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}
    }))
}

fn rate_limit(retry_after: &str) -> MockReply {
    MockReply::Json {
        status: 429,
        body: json!({"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}),
        headers: vec![("retry-after", retry_after.to_string())],
    }
}

async fn ask(gw: &TestGateway) -> (u16, Value, Option<String>) {
    let response = Client::OpenAi
        .request_json(
            &gw.base(),
            &json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, response.json().await.unwrap(), retry_after)
}

fn answer(body: &Value) -> &str {
    body["choices"][0]["message"]["content"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_rate_limited_account_rests_while_the_other_serves() {
    let limited = Mock::start(|_| rate_limit("30")).await;
    let healthy = Mock::start(|_| openai_answer("from b")).await;
    let gw = TestGateway::start(
        vec![
            TestAccount::new(ProviderKind::Openai, limited.url()).label("a"),
            TestAccount::new(ProviderKind::Openai, healthy.url()).label("b"),
        ],
        "",
    )
    .await;
    for _ in 0..8 {
        let (status, body, _) = ask(&gw).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(answer(&body), "from b");
    }
    assert_eq!(
        limited.count(),
        1,
        "the limited account is not called again during its cooldown"
    );
    assert_eq!(healthy.count(), 8);
    let accounts = gw.gateway.accounts().unwrap();
    let a = accounts.iter().find(|s| s.label == "a").unwrap();
    assert_eq!(a.state, "cooling");
    assert_eq!(a.cooldowns[0].model, "m");
    assert!((29..=30).contains(&a.cooldowns[0].remaining_secs), "{a:?}");
}

/// `Retry-After` as an HTTP date: the account cools until that date, and a
/// date already past lets it be tried again at once.
#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let until = std::time::SystemTime::now() + Duration::from_secs(40);
    let limited = Mock::start(move |_| rate_limit(&httpdate::fmt_http_date(until))).await;
    let healthy = Mock::start(|_| openai_answer("from b")).await;
    let gw = TestGateway::start(
        vec![
            TestAccount::new(ProviderKind::Openai, limited.url()).label("a"),
            TestAccount::new(ProviderKind::Openai, healthy.url()).label("b"),
        ],
        "",
    )
    .await;
    for _ in 0..4 {
        let (status, body, _) = ask(&gw).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(answer(&body), "from b");
    }
    assert_eq!(limited.count(), 1, "not called again before the date");
    let accounts = gw.gateway.accounts().unwrap();
    let a = accounts.iter().find(|s| s.label == "a").unwrap();
    assert_eq!(a.state, "cooling");
    // The date has whole seconds: 39 s and a fraction to 40 s remain.
    assert!((38..=40).contains(&a.cooldowns[0].remaining_secs), "{a:?}");

    // A date in the past: retry now. The only account is asked again at
    // once instead of the gateway answering that every account cools.
    let past = Mock::start(|_| rate_limit("Wed, 21 Oct 2015 07:28:00 GMT")).await;
    let gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, past.url()).label("p")], "").await;
    let (status, body, _) = ask(&gw).await;
    assert_eq!(status, 429, "{body}");
    let p = &gw.gateway.accounts().unwrap()[0];
    assert_eq!(p.state, "ready", "{p:?}");
    assert!(p.cooldowns.is_empty(), "{p:?}");
    past.set(|_| openai_answer("again"));
    let (status, body, _) = ask(&gw).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(answer(&body), "again");
    assert_eq!(past.count(), 2);
}

#[tokio::test]
async fn google_retry_delay_is_honoured_and_all_cooling_answers_at_once() {
    let gemini_429 = || {
        MockReply::status(
            429,
            json!({"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "42s"}]}}),
        )
    };
    let first = Mock::start(move |_| gemini_429()).await;
    let second = Mock::start(move |_| gemini_429()).await;
    let gw = TestGateway::start(
        vec![
            TestAccount::new(ProviderKind::Gemini, first.url()),
            TestAccount::new(ProviderKind::Gemini, second.url()),
        ],
        "",
    )
    .await;
    let (status, body, retry_after) = ask(&gw).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(first.count() + second.count(), 2, "both accounts were tried once");
    assert_eq!(retry_after.as_deref(), Some("42"));

    // Now every account is cooling: 429 at once, no upstream call, the shortest wait.
    let started = std::time::Instant::now();
    let (status, body, retry_after) = ask(&gw).await;
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(status, 429);
    assert_eq!(first.count() + second.count(), 2, "no upstream call while all cool");
    let wait: u64 = retry_after.unwrap().parse().unwrap();
    assert!((41..=42).contains(&wait), "{wait}");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("cooling down"),
        "{body}"
    );

    // In the other protocols too.
    let response = Client::Anthropic
        .request_json(
            &gw.base(),
            &json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");
}

#[tokio::test]
async fn rejected_credentials_disable_and_failures_rotate() {
    let revoked =
        Mock::start(|_| MockReply::status(401, json!({"error": {"message": "Incorrect API key provided"}}))).await;
    let broken = Mock::start(|_| MockReply::status(500, json!({"error": {"message": "boom"}}))).await;
    let healthy = Mock::start(|_| openai_answer("ok")).await;
    // Nothing listens on this port: connection refused.
    let refused = refused_url();
    let gw = TestGateway::start(
        vec![
            TestAccount::new(ProviderKind::Openai, revoked.url())
                .label("revoked")
                .priority(0),
            TestAccount::new(ProviderKind::Openai, broken.url())
                .label("broken")
                .priority(1),
            TestAccount::new(ProviderKind::Openai, refused)
                .label("refused")
                .priority(2),
            TestAccount::new(ProviderKind::Openai, healthy.url())
                .label("healthy")
                .priority(3),
        ],
        "",
    )
    .await;
    // max_attempts is 3: revoked → broken → refused, then the client gets the last failure.
    let (status, body, _) = ask(&gw).await;
    assert_eq!(status, 502, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("refused"), "{body}");
    // Next request: revoked is disabled, broken and refused cool down: healthy serves.
    let (status, body, _) = ask(&gw).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(answer(&body), "ok");
    assert_eq!(revoked.count(), 1);
    let accounts = gw.gateway.accounts().unwrap();
    let state = |label: &str| accounts.iter().find(|s| s.label == label).unwrap().clone();
    assert_eq!(state("revoked").state, "disabled");
    assert!(state("revoked").reason.unwrap().contains("Incorrect API key provided"));
    assert_eq!(state("broken").state, "cooling");
    assert_eq!(state("refused").state, "cooling");
    assert_eq!(state("refused").cooldowns[0].model, "*");
}

#[tokio::test]
async fn a_bad_request_is_not_retried_elsewhere() {
    let a = Mock::start(|_| MockReply::status(400, json!({"error": {"message": "messages: too long"}}))).await;
    let b = Mock::start(|_| openai_answer("never")).await;
    let gw = TestGateway::start(
        vec![
            TestAccount::new(ProviderKind::Openai, a.url()),
            TestAccount::new(ProviderKind::Openai, b.url()),
        ],
        "",
    )
    .await;
    let (status, body, _) = ask(&gw).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("messages: too long"),
        "{body}"
    );
    assert_eq!(a.count() + b.count(), 1);
}

#[tokio::test]
async fn a_stream_that_fails_after_its_first_byte_is_not_retried() {
    let chunk = |content: &str| {
        format!(
            "data: {}\n\n",
            json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
        )
    };
    let failing = Mock::start(move |_| {
        MockReply::sse([
            chunk("partial "),
            "data: {\"error\": {\"message\": \"upstream fell over\", \"type\": \"server_error\"}}\n\n".to_string(),
        ])
    })
    .await;
    let spare = Mock::start(|_| openai_answer("spare")).await;
    let gw = TestGateway::start(
        vec![
            TestAccount::new(ProviderKind::Openai, failing.url()).priority(0),
            TestAccount::new(ProviderKind::Openai, spare.url()).priority(1),
        ],
        "",
    )
    .await;
    let response = Client::Anthropic
        .request_json(
            &gw.base(),
            &json!({"model": "m", "max_tokens": 50, "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let events = sse_events(&text);
    let names: Vec<&str> = events.iter().filter_map(|(name, _)| name.as_deref()).collect();
    assert!(names.contains(&"content_block_delta"), "{text}");
    assert_eq!(
        names.last(),
        Some(&"error"),
        "the stream ends with a well-formed error event: {text}"
    );
    let error: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("upstream fell over")
    );
    assert_eq!(spare.count(), 0, "no retry after bytes reached the client");
}

#[tokio::test]
async fn an_error_before_the_first_byte_rotates_even_in_a_stream() {
    let failing = Mock::start(|_| {
        MockReply::sse([
            "data: {\"error\": {\"message\": \"overloaded\", \"type\": \"server_error\", \"code\": 503}}\n\n"
                .to_string(),
        ])
    })
    .await;
    let spare = Mock::start(|request: &Recorded| {
        assert_eq!(request.json()["stream"], true);
        MockReply::sse([
            format!("data: {}\n\n", json!({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"fine"},"finish_reason":"stop"}]})),
            "data: [DONE]\n\n".to_string(),
        ])
    })
    .await;
    let gw = TestGateway::start(
        vec![
            TestAccount::new(ProviderKind::Openai, failing.url()).priority(0),
            TestAccount::new(ProviderKind::Openai, spare.url()).priority(1),
        ],
        "",
    )
    .await;
    let response = Client::Anthropic
        .request_json(
            &gw.base(),
            &json!({"model": "m", "max_tokens": 50, "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    assert!(text.contains("fine") && !text.contains("overloaded"), "{text}");
    assert_eq!((failing.count(), spare.count()), (1, 1));
}

#[tokio::test]
async fn load_spreads_evenly_over_healthy_accounts() {
    let mocks = [
        Mock::start(|_| openai_answer("1")).await,
        Mock::start(|_| openai_answer("2")).await,
        Mock::start(|_| openai_answer("3")).await,
    ];
    let gw = TestGateway::start(
        mocks
            .iter()
            .map(|m| TestAccount::new(ProviderKind::Openai, m.url()))
            .collect(),
        "",
    )
    .await;
    for _ in 0..30 {
        assert_eq!(ask(&gw).await.0, 200);
    }
    let counts: Vec<usize> = mocks.iter().map(Mock::count).collect();
    assert!(counts.iter().all(|&n| (9..=11).contains(&n)), "{counts:?}");
}

#[tokio::test]
async fn a_fallback_tier_serves_only_while_the_main_tier_cools() {
    let main = Mock::start(|_| openai_answer("main")).await;
    let zai = Mock::start(|_| {
        MockReply::json(
            json!({"id":"msg_1","type":"message","role":"assistant","model":"glm-4.6",
            "content":[{"type":"text","text":"z.ai"}],"stop_reason":"end_turn","stop_sequence":null,
            "usage":{"input_tokens":2,"output_tokens":1}}),
        )
    })
    .await;
    let gw = TestGateway::start(
        vec![
            TestAccount::new(ProviderKind::Openai, main.url()),
            TestAccount::new(ProviderKind::Anthropic, zai.url())
                .priority(1)
                .label("z.ai"),
        ],
        "",
    )
    .await;
    for _ in 0..5 {
        assert_eq!(answer(&ask(&gw).await.1), "main");
    }
    assert_eq!(zai.count(), 0);
    main.set(|_| rate_limit("2"));
    // The 429 rotates within the same request to the fallback.
    assert_eq!(answer(&ask(&gw).await.1), "z.ai");
    for _ in 0..3 {
        assert_eq!(answer(&ask(&gw).await.1), "z.ai");
    }
    assert_eq!(main.count(), 6, "the main tier is not called while it cools");
    main.set(|_| openai_answer("main"));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        answer(&ask(&gw).await.1),
        "main",
        "the main tier serves again once its cooldown ends"
    );
}

#[tokio::test]
async fn a_session_stays_on_one_account() {
    let mocks = [
        Mock::start(|_| openai_answer("a")).await,
        Mock::start(|_| openai_answer("b")).await,
    ];
    let gw = TestGateway::start(
        mocks
            .iter()
            .map(|m| TestAccount::new(ProviderKind::Openai, m.url()))
            .collect(),
        "",
    )
    .await;
    let mut seen = Vec::new();
    for _ in 0..6 {
        let response = Client::Anthropic
            .request_json(
                &gw.base(),
                &json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}),
            )
            .header("x-claude-code-session-id", "session-42")
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        seen.push(body["content"][0]["text"].as_str().unwrap().to_string());
    }
    assert!(seen.iter().all(|s| s == &seen[0]), "{seen:?}");
    let mut user_bound = Vec::new();
    for _ in 0..4 {
        let body: Value = Client::OpenAi
            .request_json(
                &gw.base(),
                &json!({"model": "m", "user": "alice", "messages": [{"role": "user", "content": "hi"}]}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        user_bound.push(answer(&body).to_string());
    }
    assert!(user_bound.iter().all(|s| s == &user_bound[0]), "{user_bound:?}");
}

#[tokio::test]
async fn a_per_account_proxy_carries_the_requests() {
    // The "proxy" answers like the upstream; the upstream host does not exist.
    let proxy = Mock::start(|_| openai_answer("via proxy")).await;
    let mut account = TestAccount::new(ProviderKind::Openai, "http://upstream.invalid:9/v1");
    account.proxy_url = Some(proxy.url());
    let gw = TestGateway::start(vec![account], "").await;
    let (status, body, _) = ask(&gw).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(answer(&body), "via proxy");
    assert_eq!(proxy.last().header("host"), Some("upstream.invalid:9"));
}

#[tokio::test]
async fn accounts_list_shows_which_account_cools_until_when_and_env_proxies_apply() {
    let limited = Mock::start(|_| rate_limit("120")).await;
    let healthy = Mock::start(|_| openai_answer("ok")).await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    for (label, url) in [
        ("limited", limited.url()),
        ("healthy", "http://healthy.invalid:9".to_string()),
    ] {
        let mut child = switchyard(home)
            .args([
                "accounts",
                "add",
                "openai",
                "--label",
                label,
                "--base-url",
                &url,
                "--api-key-stdin",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"sk-upstream\n").unwrap();
        assert!(child.wait().unwrap().success());
    }
    let port = free_port();
    // HTTP_PROXY sends the second account's requests (to a host that does
    // not exist) to the healthy mock; the first account's host is excluded.
    let mut serve = switchyard(home)
        .env("HTTP_PROXY", healthy.url())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .args(["serve", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if client().get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "serve came up");
    for _ in 0..3 {
        let response = Client::OpenAi
            .request_json(
                &base,
                &json!({"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // (`serve` also asks each upstream for its model list, with a GET.)
    let posts = |mock: &Mock| mock.received().iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts(&limited), 1);
    assert!(posts(&healthy) >= 2, "the env proxy carried the requests");
    assert_eq!(healthy.last().header("host"), Some("healthy.invalid:9"));

    let output = tokio::task::spawn_blocking({
        let home = home.to_path_buf();
        move || run(&home, &["accounts", "list"])
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let limited_line = text.lines().find(|l| l.contains("limited")).unwrap();
    assert!(
        limited_line.contains("cooling until") && limited_line.contains("UTC for gpt-x"),
        "{text}"
    );
    assert!(limited_line.contains("rate limited"), "{text}");
    let healthy_line = text.lines().find(|l| l.contains("healthy")).unwrap();
    // STATE is the last column; after it, how the model list went.
    assert!(healthy_line.contains("  ready"), "{text}");
    let json_out = tokio::task::spawn_blocking({
        let home = home.to_path_buf();
        move || run(&home, &["accounts", "list", "--json"])
    })
    .await
    .unwrap();
    let list: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(list["gateway_running"], true);
    let limited_entry = list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["label"] == "limited")
        .unwrap();
    assert_eq!(limited_entry["state"], "cooling");
    assert!(limited_entry["cooldowns"][0]["remaining_secs"].as_u64().unwrap() > 100);
    assert_eq!(limited_entry["errors"], 1);
    let _ = serve.kill();
    let _ = serve.wait();
}

#[tokio::test]
async fn the_attempt_count_is_configurable() {
    let failing: Vec<Mock> = futures_util::future::join_all(
        (0..3).map(|_| Mock::start(|_| MockReply::status(503, json!({"error": {"message": "busy"}})))),
    )
    .await;
    let gw = TestGateway::start(
        failing
            .iter()
            .map(|m| TestAccount::new(ProviderKind::Openai, m.url()))
            .collect(),
        "[pool]\nmax_attempts = 2\n",
    )
    .await;
    let (status, _, _) = ask(&gw).await;
    assert_eq!(status, 503);
    assert_eq!(
        failing.iter().map(Mock::count).sum::<usize>(),
        2,
        "two accounts tried, not three"
    );
}
