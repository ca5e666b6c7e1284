//! Team mode against a real Redis: two replicas (gateways with their own
//! homes and one config) share account health, sticky sessions and the
//! Responses store, keep serving when Redis dies, and recover.

use crate::common;

use std::time::{Duration, Instant};

use common::clients::Client;
use common::conversation::Ask;
use common::{Mock, MockReply, TestAccount, TestGateway, eventually};
use mock_upstream::engines::Redis;
use serde_json::{Value, json};
use switchyard::config::ProviderKind;
use switchyard::keys::{KeyFile, Limits};

pub(crate) fn openai_answer(text: &str) -> MockReply {
    MockReply::json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}
    }))
}

/// The `[cluster]` section of every replica of one team.
fn cluster(redis: &Redis, extra: &str) -> String {
    format!(
        "[cluster]\nredis_url = \"{}\"\nkey_prefix = \"t:\"\n{extra}",
        redis.url()
    )
}

/// Two accounts in config order, the first always chosen while available.
fn accounts(first: &Mock, second: &Mock) -> Vec<TestAccount> {
    vec![
        TestAccount::new(ProviderKind::Openai, first.url()).label("a"),
        TestAccount::new(ProviderKind::Openai, second.url()).label("b"),
    ]
}

pub(crate) async fn ask(gw: &TestGateway) -> (u16, Value) {
    let response = Client::OpenAi
        .request_json(
            &gw.base(),
            &json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

pub(crate) async fn status(gw: &TestGateway) -> Value {
    gw.admin_json("/api/status").await
}

fn cooling_secs(gw: &TestGateway, label: &str) -> Option<u64> {
    let accounts = gw.gateway.accounts().unwrap();
    let account = accounts.iter().find(|a| a.label == label).unwrap();
    account.cooldowns.iter().map(|c| c.remaining_secs).max()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_seen_by_one_replica_keeps_the_other_off_that_account() {
    let redis = Redis::start();
    let limited = Mock::start(|_| MockReply::Json {
        status: 429,
        body: json!({"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}),
        headers: vec![("retry-after", "30".to_string())],
    })
    .await;
    let healthy = Mock::start(|_| openai_answer("from b")).await;
    let config = cluster(&redis, "[pool]\nstrategy = \"fill-first\"\n");
    let a = TestGateway::start(accounts(&limited, &healthy), &config).await;
    let b = TestGateway::start(accounts(&limited, &healthy), &config).await;

    let (code, body) = ask(&a).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(limited.count(), 1);
    eventually("replica B has adopted A's cooldown", async || {
        cooling_secs(&b, "a").is_some()
    })
    .await;
    let secs = cooling_secs(&b, "a").unwrap();
    assert!(
        (27..=30).contains(&secs),
        "B cools the account for A's 30 s, not {secs} s"
    );
    for _ in 0..3 {
        let (code, body) = ask(&b).await;
        assert_eq!(code, 200, "{body}");
    }
    assert_eq!(
        limited.count(),
        1,
        "replica B never called the account A saw rate limited"
    );
    assert_eq!(healthy.count(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_responses_conversation_continues_on_another_replica() {
    let redis = Redis::start();
    let upstream = Mock::start(|_| openai_answer("the first answer")).await;
    let config = cluster(&redis, "");
    let one = vec![TestAccount::new(ProviderKind::Openai, upstream.url())];
    let a = TestGateway::start(one, &config).await;
    let one = vec![TestAccount::new(ProviderKind::Openai, upstream.url())];
    let b = TestGateway::start(one, &config).await;

    let first: Value = common::post(&a.base(), "/v1/responses")
        .json(&json!({"model": "m", "input": "remember the word pelican"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = first["id"].as_str().expect("a response id").to_string();
    let mut response = None;
    // The first replica keeps it in Redis in the background.
    eventually("replica B finds the response", async || {
        let sent = common::post(&b.base(), "/v1/responses")
            .json(&json!({"model": "m", "input": "which word?", "previous_response_id": id}))
            .send()
            .await
            .unwrap();
        let found = sent.status() == 200;
        response = Some(sent);
        found
    })
    .await;
    assert_eq!(response.unwrap().status(), 200);
    let sent = upstream.last().json();
    let messages = sent["messages"].to_string();
    assert!(messages.contains("pelican"), "the conversation went along: {messages}");
    assert!(messages.contains("the first answer"), "{messages}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_stays_on_its_account_across_replicas() {
    let redis = Redis::start();
    let first = Mock::start(|_| openai_answer("from a")).await;
    let second = Mock::start(|_| openai_answer("from b")).await;
    let config = cluster(&redis, "");
    let a = TestGateway::start(accounts(&first, &second), &config).await;
    let b = TestGateway::start(accounts(&first, &second), &config).await;
    let session = |gw: &TestGateway| {
        Client::OpenAi
            .request_json(
                &gw.base(),
                &json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
            )
            .header("x-session-id", "conversation-7")
    };
    // A serves one call without a session first, so the session lands on
    // the second account there, where B on its own would begin with the first.
    assert_eq!(ask(&a).await.0, 200);
    let body: Value = session(&a).send().await.unwrap().json().await.unwrap();
    let chosen = body["choices"][0]["message"]["content"].as_str().unwrap().to_string();
    assert_eq!(chosen, "from b");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Spread would alternate; the session keeps B on A's account.
    for _ in 0..4 {
        let body: Value = session(&b).send().await.unwrap().json().await.unwrap();
        assert_eq!(body["choices"][0]["message"]["content"], chosen.as_str());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_dying_degrades_the_replica_which_keeps_serving_and_recovers() {
    let mut redis = Redis::start();
    let upstream = Mock::start(|_| openai_answer("ok")).await;
    let one = vec![TestAccount::new(ProviderKind::Openai, upstream.url())];
    let gw = TestGateway::start(one, &cluster(&redis, "")).await;
    assert_eq!(status(&gw).await["cluster"]["state"], "ok");

    redis.kill();
    for _ in 0..5 {
        let (code, body) = ask(&gw).await;
        assert_eq!(code, 200, "no request fails because of Redis: {body}");
    }
    eventually("the replica reads degraded", async || {
        status(&gw).await["cluster"]["state"] == "degraded"
    })
    .await;
    let health = common::client().get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(health.text().await.unwrap(), r#"{"status":"ok"}"#);
    let metrics = gw.admin_get("/metrics").send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("switchyard_cluster_degraded 1"), "{metrics}");
    let started = Instant::now();
    let (code, _) = ask(&gw).await;
    assert_eq!(code, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a degraded replica does not wait on Redis"
    );

    redis.restart();
    eventually("the replica recovers", async || {
        status(&gw).await["cluster"]["state"] == "ok"
    })
    .await;
    let metrics = gw.admin_get("/metrics").send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("switchyard_cluster_degraded 0"), "{metrics}");
}

#[tokio::test]
async fn a_single_user_gateway_reports_no_cluster() {
    let upstream = Mock::start(|_| openai_answer("ok")).await;
    let gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, upstream.url())], "").await;
    assert_eq!(status(&gw).await.get("cluster"), None);
    let metrics = gw.admin_get("/metrics").send().await.unwrap().text().await.unwrap();
    assert!(!metrics.contains("switchyard_cluster"), "{metrics}");
}

/// Has a running gateway apply its `keys.json` now (as the CLI does).
async fn reload_keys(gw: &TestGateway) {
    let response = common::post(&gw.base(), "/api/keys/reload")
        .bearer_auth(gw.key())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_keys_requests_per_minute_hold_across_replicas() {
    let redis = Redis::start();
    let upstream = Mock::start(|_| openai_answer("ok")).await;
    let config = cluster(&redis, "");
    let a = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, upstream.url())], &config).await;
    let b = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, upstream.url())], &config).await;
    let limits = Limits {
        rpm: Some(4),
        ..Limits::default()
    };
    let key = KeyFile::update(&a.home, |file| file.add("team-ci", limits)).unwrap();
    // One keys.json deployed to every replica.
    std::fs::copy(a.home.keys_file(), b.home.keys_file()).unwrap();
    reload_keys(&a).await;
    reload_keys(&b).await;

    let calls = (0..10).map(|i| {
        let base = if i % 2 == 0 { a.base() } else { b.base() };
        let key = key.clone();
        async move {
            Client::OpenAi
                .request_keyed(&base, &Ask::hello("m", false), &key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let codes = futures_util::future::join_all(calls).await;
    let served = codes.iter().filter(|&&c| c == 200).count();
    assert!(codes.iter().all(|&c| c == 200 || c == 429), "{codes:?}");
    assert!(
        (4..=5).contains(&served),
        "the team served {served} calls of a key limited to 4 per minute: {codes:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_revoked_through_one_replica_is_refused_by_the_others() {
    let redis = Redis::start();
    let upstream = Mock::start(|_| openai_answer("ok")).await;
    let config = cluster(&redis, "");
    let a = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, upstream.url())], &config).await;
    let b = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, upstream.url())], &config).await;
    let key = KeyFile::update(&a.home, |file| file.add("laptop", Limits::default())).unwrap();
    std::fs::copy(a.home.keys_file(), b.home.keys_file()).unwrap();
    reload_keys(&a).await;
    reload_keys(&b).await;
    let call = |gw: &TestGateway| {
        Client::OpenAi
            .request_keyed(&gw.base(), &Ask::hello("m", false), &key)
            .send()
    };
    assert_eq!(call(&b).await.unwrap().status(), 200);

    // Revoked on A's machine only: B's keys.json still lists the key.
    KeyFile::update(&a.home, |file| file.revoke("laptop")).unwrap();
    reload_keys(&a).await;
    assert_eq!(call(&a).await.unwrap().status(), 401);
    eventually("replica B refuses the revoked key", async || {
        call(&b).await.unwrap().status() == 401
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_refreshes_on_three_replicas_make_one_token_call() {
    let redis = Redis::start();
    let (tokens, refreshes) = crate::google::token_endpoint(3600).await;
    let upstream = crate::google::code_assist().await;
    let config = cluster(&redis, &crate::google::providers_config(&tokens.url()));
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let account = crate::google::google_account(&upstream.url(), "1//refresh-good", Some("p"));
        replicas.push(TestGateway::start(vec![account], &config).await);
    }
    let calls = replicas
        .iter()
        .flat_map(|gw| (0..4).map(move |_| crate::google::chat(gw, false)));
    for response in futures_util::future::join_all(calls).await {
        assert_eq!(response.status(), 200);
    }
    assert_eq!(
        refreshes.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one replica refreshed; the others took its token from Redis"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_keys_tokens_per_day_add_up_across_replicas() {
    let redis = Redis::start();
    // Every answer costs 3 tokens (2 in, 1 out).
    let upstream = Mock::start(|_| openai_answer("ok")).await;
    let config = cluster(&redis, "");
    let a = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, upstream.url())], &config).await;
    let b = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, upstream.url())], &config).await;
    let limits = Limits {
        tokens_per_day: Some(5),
        ..Limits::default()
    };
    let key = KeyFile::update(&a.home, |file| file.add("budgeted", limits)).unwrap();
    std::fs::copy(a.home.keys_file(), b.home.keys_file()).unwrap();
    reload_keys(&a).await;
    reload_keys(&b).await;
    let call = |gw: &TestGateway| {
        Client::OpenAi
            .request_keyed(&gw.base(), &Ask::hello("m", false), &key)
            .send()
    };
    assert_eq!(call(&a).await.unwrap().status(), 200);
    assert_eq!(call(&b).await.unwrap().status(), 200);
    // Each replica alone has seen 3 of the 5; together the team spent 6.
    eventually("replica A refuses the spent key", async || {
        call(&a).await.unwrap().status() == 429
    })
    .await;
    assert_eq!(upstream.count(), 2, "no third call reached the upstream");
}

#[tokio::test]
async fn behind_a_trusted_balancer_a_keys_networks_see_the_clients_own_address() {
    let upstream = Mock::start(|_| openai_answer("ok")).await;
    let account = vec![TestAccount::new(ProviderKind::Openai, upstream.url())];
    let gw = TestGateway::start(account, "[proxy]\ntrusted_proxies = [\"127.0.0.1/32\"]\n").await;
    let limits = Limits {
        allow_ip: vec!["198.51.100.0/24".parse().unwrap()],
        ..Limits::default()
    };
    let key = KeyFile::update(&gw.home, |file| file.add("office", limits)).unwrap();
    reload_keys(&gw).await;
    let call = |forwarded: &str| {
        Client::OpenAi
            .request_keyed(&gw.base(), &Ask::hello("m", false), &key)
            .header("x-forwarded-for", forwarded)
            .send()
    };
    assert_eq!(call("198.51.100.7").await.unwrap().status(), 200);
    assert_eq!(call("203.0.113.9").await.unwrap().status(), 403);
    // A client's own claim, left of what the balancer saw, is not believed.
    assert_eq!(call("198.51.100.7, 203.0.113.9").await.unwrap().status(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_keys_spread_over_replicas_are_braked_as_if_sent_to_one() {
    let redis = Redis::start();
    let upstream = Mock::start(|_| openai_answer("ok")).await;
    let config = cluster(
        &redis,
        "[proxy]\nauth_mode = \"strict\"\napi_key = \"sk-team-gateway-key\"\n",
    );
    let a = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, upstream.url())], &config).await;
    let b = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, upstream.url())], &config).await;
    let guess = |gw: &TestGateway| {
        Client::OpenAi
            .request_keyed(&gw.base(), &Ask::hello("m", false), "sk-a-wrong-guess")
            .send()
    };
    // The five free wrong keys, all spent on A.
    for _ in 0..5 {
        assert_eq!(guess(&a).await.unwrap().status(), 401);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // B has seen none itself, but counts the team's: its first wrong key
    // already learns the total, its second waits for a slot.
    assert_eq!(guess(&b).await.unwrap().status(), 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    assert_eq!(guess(&b).await.unwrap().status(), 401);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "the seventh wrong key of the team is held, wherever it lands ({:?})",
        started.elapsed()
    );
}

/// The `[budgets]` reason an account is out of the pool for, as a replica's
/// `/api/accounts` says it (`None`: in the pool).
async fn over_budget(gw: &TestGateway, label: &str) -> Option<String> {
    let api = gw.admin_json("/api/accounts").await;
    let account = api["accounts"]
        .as_array()?
        .iter()
        .find(|a| a["label"] == label)?
        .clone();
    account["over_budget"]["reason"].as_str().map(str::to_string)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_budget_counts_every_replicas_spending() {
    let redis = Redis::start();
    // Every answer counts 3 tokens (2 in, 1 out).
    let first = Mock::start(|_| openai_answer("from a")).await;
    let second = Mock::start(|_| openai_answer("from b")).await;
    let config = cluster(
        &redis,
        "[pool]\nstrategy = \"fill-first\"\n[budgets.a]\ntokens_per_day = 5\n",
    );
    let a = TestGateway::start(accounts(&first, &second), &config).await;
    let b = TestGateway::start(accounts(&first, &second), &config).await;

    // Three tokens on each replica: under the budget on either alone, over
    // it for the team.
    assert_eq!(ask(&a).await.0, 200);
    assert_eq!(ask(&b).await.0, 200);
    assert_eq!(first.count(), 2, "both calls went to the first account");
    for (name, replica) in [("A", &a), ("B", &b)] {
        eventually(&format!("replica {name} sees the team's 6 tokens"), async || {
            over_budget(replica, "a").await.is_some()
        })
        .await;
    }
    let reason = over_budget(&a, "a").await.unwrap();
    assert!(reason.contains("tokens_per_day 5 reached (6)"), "{reason}");
    assert_eq!(ask(&a).await.0, 200);
    assert_eq!(ask(&b).await.0, 200);
    assert_eq!(
        (first.count(), second.count()),
        (2, 2),
        "once over the team's budget, both replicas send the account's calls to the next one"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quota_reading_taken_by_one_replica_shows_on_the_other() {
    let redis = Redis::start();
    let upstream = Mock::start(|_| match openai_answer("ok") {
        MockReply::Json { status, body, .. } => MockReply::Json {
            status,
            body,
            headers: vec![
                ("x-ratelimit-limit-requests", "5000".to_string()),
                ("x-ratelimit-remaining-requests", "4321".to_string()),
                ("x-ratelimit-reset-requests", "12s".to_string()),
            ],
        },
        other => other,
    })
    .await;
    let config = cluster(&redis, "");
    let a = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, upstream.url())], &config).await;
    let b = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, upstream.url())], &config).await;
    let remaining = |gw: &TestGateway| {
        let accounts = gw.gateway.accounts().unwrap();
        accounts[0]
            .quota
            .iter()
            .find(|reading| reading.model == "m")
            .and_then(|reading| reading.limits.first().and_then(|limit| limit.remaining))
    };
    assert_eq!(remaining(&b), None);
    assert_eq!(ask(&a).await.0, 200);
    assert_eq!(remaining(&a), Some(4321));
    eventually("replica B shows A's quota reading", async || {
        remaining(&b) == Some(4321)
    })
    .await;
    assert_eq!(upstream.count(), 1, "B learnt it without calling the upstream");
}
