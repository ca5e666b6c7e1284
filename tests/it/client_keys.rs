//! Client keys (issue 16), end to end: each limit and each refusal in the
//! four client protocols, complete and streamed; attribution in the log,
//! the usage totals and the metrics; a key revoked mid-stream; the admin
//! surface closed to client keys; and no key anywhere it should not be.

use crate::common;

use std::sync::Arc;

use common::clients::{ALL_CLIENTS, Client};
use common::conversation::Ask;
use common::rig::{Rig, each, every_call, model_of};
use common::{Mock, TestAccount, TestGateway, client, eventually, fed};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;
use switchyard::keys::{KeyEntry, KeyFile, Limits, hash};

/// Makes a client key in `gw`'s home and has the gateway apply it.
async fn add_key(gw: &TestGateway, name: &str, limits: Limits) -> String {
    let key = KeyFile::update(&gw.home, |file| file.add(name, limits)).unwrap();
    apply(gw).await;
    key
}

/// Has the running gateway apply `keys.json` now (as the CLI does).
async fn apply(gw: &TestGateway) {
    let response = common::post(&gw.base(), "/api/keys/reload")
        .bearer_auth(gw.key())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// A key name fit for one case: `prefix-openai-stream`.
fn case_name(prefix: &str, client: Client, stream: bool) -> String {
    let client = client.name().replace(['(', ')', ','], "");
    format!("{prefix}-{client}{}", if stream { "-stream" } else { "" })
}

#[tokio::test]
async fn a_key_may_use_only_its_models_after_aliases_in_every_protocol() {
    let rig = Arc::new(Rig::with_config("[models]\nfast = \"gemini-2.5-flash\"\nsmart = \"gpt-4.1\"\n").await);
    let key = Arc::new(
        add_key(
            &rig.gw,
            "gemini-only",
            Limits {
                models: vec!["gemini-*".into()],
                ..Limits::default()
            },
        )
        .await,
    );
    each(every_call(), |(client, stream)| {
        let rig = rig.clone();
        let key = key.clone();
        async move {
            let base = rig.base();
            for allowed in [model_of(ProviderKind::Gemini), "fast"] {
                let reply = client.call_keyed(&base, &Ask::hello(allowed, stream), &key).await;
                assert_eq!(reply.status, 200, "{allowed}: {}", reply.body);
            }
            for refused in [model_of(ProviderKind::Openai), "smart"] {
                let reply = client.call_keyed(&base, &Ask::hello(refused, stream), &key).await;
                assert_eq!(reply.status, 403, "{refused}: {}", reply.body);
                let error = reply.error.expect("an error in the protocol's shape");
                assert!(
                    error.message.contains("`gemini-only` may not use the model"),
                    "{error:?}"
                );
                assert!(error.message.contains("gemini-*"), "{error:?}");
                assert!(!reply.body.contains(key.as_str()), "the key is never echoed");
            }
        }
    })
    .await;
    // Counting tokens keeps to the key's models too.
    let count = common::post(&rig.base(), "/v1/messages/count_tokens")
        .header("x-api-key", key.as_str())
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "smart", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(count.status(), 403);
    // Nothing reached the OpenAI upstream.
    assert_eq!(rig.mock(ProviderKind::Openai).count(), 0);
}

#[tokio::test]
async fn the_model_list_shows_a_key_only_its_models() {
    let rig = Rig::with_config("[models]\nfast = \"gemini-2.5-flash\"\nsmart = \"gpt-4.1\"\n").await;
    let key = add_key(
        &rig.gw,
        "lister",
        Limits {
            models: vec!["gemini-*".into()],
            ..Limits::default()
        },
    )
    .await;
    let ids = |body: Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all: Value = client()
        .get(rig.gw.url("/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ids(all).contains(&"smart".to_string()));
    let mine: Value = client()
        .get(rig.gw.url("/v1/models"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ids(mine), vec!["fast".to_string()]);
    let one = client()
        .get(rig.gw.url("/v1/models/smart"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 404);
    let gemini: Value = client()
        .get(rig.gw.url("/v1beta/models"))
        .header("x-goog-api-key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gemini["models"].as_array().unwrap().len(), 1, "{gemini}");
}

#[tokio::test]
async fn over_its_requests_per_minute_a_key_gets_a_429_naming_the_limit_in_every_protocol() {
    let rig = Rig::start().await;
    each(every_call(), |(client, stream)| {
        let rig = rig.clone();
        async move {
            let name = case_name("rpm", client, stream);
            let key = add_key(
                &rig.gw,
                &name,
                Limits {
                    rpm: Some(2),
                    ..Limits::default()
                },
            )
            .await;
            let ask = Ask::hello(model_of(ProviderKind::Gemini), stream);
            for _ in 0..2 {
                let reply = client.call_keyed(&rig.base(), &ask, &key).await;
                assert_eq!(reply.status, 200, "{}", reply.body);
            }
            let response = client.request_keyed(&rig.base(), &ask, &key).send().await.unwrap();
            let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry_after), "{retry_after}");
            let reply = client.read(stream, response).await;
            assert_eq!(reply.status, 429, "{}", reply.body);
            let error = reply.error.unwrap();
            assert!(
                error
                    .message
                    .contains(&format!("`{name}` is limited to 2 requests per minute")),
                "{error:?}"
            );
            assert!(!reply.body.contains(&key));
        }
    })
    .await;
}

#[tokio::test]
async fn the_call_that_crosses_the_day_budget_completes_and_the_next_is_refused_in_every_protocol() {
    let rig = Rig::start().await;
    each(every_call(), |(client, stream)| {
        let rig = rig.clone();
        async move {
            let name = case_name("tpd", client, stream);
            let key = add_key(
                &rig.gw,
                &name,
                Limits {
                    tokens_per_day: Some(5),
                    ..Limits::default()
                },
            )
            .await;
            let ask = Ask::hello(model_of(ProviderKind::Anthropic), stream);
            let first = client.call_keyed(&rig.base(), &ask, &key).await;
            assert_eq!(
                first.status, 200,
                "the call that crosses the budget completes: {}",
                first.body
            );
            // A streamed call's tokens count when its pump ends, just after
            // the last byte: wait for the record.
            wait_for_usage(&rig.gw, &name).await;
            let response = client.request_keyed(&rig.base(), &ask, &key).send().await.unwrap();
            assert!(response.headers().contains_key("retry-after"));
            let reply = client.read(stream, response).await;
            assert_eq!(reply.status, 429, "{}", reply.body);
            let error = reply.error.unwrap();
            assert!(
                error
                    .message
                    .contains(&format!("`{name}` is limited to 5 tokens per day")),
                "{error:?}"
            );
        }
    })
    .await;
}

/// Waits until the gateway has counted tokens for the key `name`.
async fn wait_for_usage(gw: &TestGateway, name: &str) {
    for _ in 0..100 {
        let keys: Value = gw.admin_get("/api/keys").send().await.unwrap().json().await.unwrap();
        let used = keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == name)
            .map(|k| k["tokens_today"].as_u64().unwrap())
            .unwrap_or(0);
        if used > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no tokens were counted for {name}");
}

#[tokio::test]
async fn expired_revoked_and_fenced_keys_are_refused_saying_why_in_every_protocol() {
    let rig = Arc::new(Rig::with_config("[proxy]\nauth_mode = \"all_except_health\"\n").await);
    let fenced = add_key(
        &rig.gw,
        "office-only",
        Limits {
            allow_ip: vec!["10.0.0.0/8".parse().unwrap()],
            ..Limits::default()
        },
    )
    .await;
    let expired = "sk-expired-key-for-the-test-0123456789abcdef";
    KeyFile::update(&rig.gw.home, |file| {
        file.keys.push(KeyEntry {
            name: "old-laptop".into(),
            hash: hex::encode(hash(expired)),
            created: 1_700_000_000,
            expires: Some(1_700_000_001),
            models: Vec::new(),
            rpm: None,
            tokens_per_day: None,
            allow_ip: Vec::new(),
        });
        Ok(())
    })
    .unwrap();
    let revoked = add_key(&rig.gw, "lost-phone", Limits::default()).await;
    KeyFile::update(&rig.gw.home, |file| file.revoke("lost-phone")).unwrap();
    apply(&rig.gw).await;
    let fenced = Arc::new(fenced);
    let revoked = Arc::new(revoked);
    each(every_call(), |(client, stream)| {
        let rig = rig.clone();
        let (fenced, revoked) = (fenced.clone(), revoked.clone());
        async move {
            let ask = Ask::hello(model_of(ProviderKind::Gemini), stream);
            for (key, status, says) in [
                (expired, 401, "`old-laptop` expired at 2023-11-14T22:13:21Z"),
                (revoked.as_str(), 401, "`lost-phone` was revoked"),
                (fenced.as_str(), 403, "`office-only` may not be used from 127.0.0.1"),
            ] {
                let reply = client.call_keyed(&rig.base(), &ask, key).await;
                assert_eq!(reply.status, status, "{}", reply.body);
                let error = reply.error.unwrap();
                assert!(error.message.contains(says), "{error:?}");
                assert!(!reply.body.contains(key));
            }
        }
    })
    .await;
}

#[tokio::test]
async fn client_keys_reach_the_api_routes_only() {
    let rig = Rig::with_config("[proxy]\nauth_mode = \"all_except_health\"\n").await;
    let key = add_key(&rig.gw, "editor", Limits::default()).await;
    let ask = Ask::hello(model_of(ProviderKind::Openai), false);
    let reply = Client::OpenAi.call_keyed(&rig.base(), &ask, &key).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    for path in ["/api/logs", "/api/status", "/api/keys", "/metrics"] {
        let response = client().get(rig.gw.url(path)).bearer_auth(&key).send().await.unwrap();
        assert_eq!(response.status(), 403, "{path}");
        let body: Value = response.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("reaches only the API routes"), "{message}");
    }
    let reload = common::post(&rig.base(), "/api/keys/reload")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 403, "key management takes the gateway key");
    // An unknown key is still a wrong key.
    let wrong = Client::OpenAi
        .request_keyed(&rig.base(), &ask, "sk-not-a-key-of-this-gateway-0000")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
}

#[tokio::test]
async fn with_auth_off_a_client_key_is_still_attributed_and_limited_and_a_revoked_one_refused() {
    let rig = Rig::with_config("[proxy]\nauth_mode = \"off\"\n").await;
    let limited = add_key(
        &rig.gw,
        "script",
        Limits {
            rpm: Some(1),
            ..Limits::default()
        },
    )
    .await;
    let ask = Ask::hello(model_of(ProviderKind::Gemini), false);
    let status = |key: String| {
        let base = rig.base();
        let ask = ask.clone();
        async move {
            Client::OpenAi
                .request_keyed(&base, &ask, &key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(status("anything-at-all".into()).await, 200, "any other string passes");
    assert_eq!(status(limited.clone()).await, 200);
    assert_eq!(status(limited.clone()).await, 429, "limited as that key");
    let revoked = add_key(&rig.gw, "gone", Limits::default()).await;
    KeyFile::update(&rig.gw.home, |file| file.revoke("gone")).unwrap();
    apply(&rig.gw).await;
    assert_eq!(
        status(revoked).await,
        401,
        "a revoked key is refused even with auth off"
    );
    let logs: Value = rig
        .gw
        .admin_get("/api/logs?key=script")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let records = logs["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{logs}");
    assert_eq!(records[0]["key"], "script");
}

#[tokio::test]
async fn usage_is_attributed_per_key_in_the_log_the_totals_and_the_metrics() {
    let rig = Rig::start().await;
    let editor = add_key(&rig.gw, "editor", Limits::default()).await;
    let phone = add_key(&rig.gw, "phone", Limits::default()).await;
    let base = rig.base();
    for (key, times) in [(&editor, 2), (&phone, 1)] {
        for _ in 0..times {
            let ask = Ask::hello(model_of(ProviderKind::Openai), false);
            let reply = Client::Anthropic.call_keyed(&base, &ask, key).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
    }
    // One call without a client key.
    let reply = Client::OpenAi
        .call(&base, &Ask::hello(model_of(ProviderKind::Openai), false))
        .await;
    assert_eq!(reply.status, 200);
    // Usage is read from the log on disk, which is written in rounds.
    eventually("the four calls are in the log", async || {
        let usage = rig.gw.admin_json("/api/usage?by=key").await;
        let rows = usage["usage"].as_array().cloned().unwrap_or_default();
        rows.iter().filter_map(|row| row["requests"].as_u64()).sum::<u64>() == 4
    })
    .await;
    let usage = rig.gw.admin_json("/api/usage?by=key").await;
    let requests = |name: &str| {
        usage["usage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["key"] == name)
            .map(|row| row["requests"].as_u64().unwrap())
    };
    assert_eq!(requests("editor"), Some(2), "{usage}");
    assert_eq!(requests("phone"), Some(1), "{usage}");
    assert_eq!(requests("-"), Some(1), "{usage}");
    let metrics = rig.gw.admin_get("/metrics").send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("key=\"editor\""), "{metrics}");
    assert!(metrics.contains("key=\"phone\""));
    let keys: Value = rig
        .gw
        .admin_get("/api/keys")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let editor_row = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "editor")
        .unwrap()
        .clone();
    assert_eq!(editor_row["requests_today"], 2, "{keys}");
    assert!(editor_row["tokens_today"].as_u64().unwrap() > 0, "{keys}");
    for text in [metrics, keys.to_string(), usage.to_string()] {
        assert!(!text.contains(&editor) && !text.contains(&phone));
    }
}

#[tokio::test]
async fn a_key_revoked_mid_stream_lets_the_stream_finish_and_the_next_call_is_refused() {
    let (feed, handler) = fed("text/event-stream");
    let mock = Mock::start(handler).await;
    let gw = TestGateway::start(
        vec![TestAccount::new(ProviderKind::Openai, mock.url()).models(&["gpt-*"])],
        "",
    )
    .await;
    let key = add_key(&gw, "ci-job", Limits::default()).await;
    let chunk = |content: &str| {
        format!(
            "data: {}\n\n",
            json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4.1",
                   "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
        )
    };
    feed.send(chunk("Hello"));
    let ask = Ask::hello("gpt-4.1", true);
    let mut response = Client::OpenAi
        .request_keyed(&gw.base(), &ask, &key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let first = response.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("Hello"));
    KeyFile::update(&gw.home, |file| file.revoke("ci-job")).unwrap();
    apply(&gw).await;
    feed.send(chunk(" world"));
    feed.send(format!(
        "data: {}\n\ndata: [DONE]\n\n",
        json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4.1",
               "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}})
    ));
    drop(feed);
    let mut rest = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        rest.extend_from_slice(&chunk);
    }
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        rest.contains(" world") && rest.contains("[DONE]"),
        "the stream finished: {rest}"
    );
    let next = Client::OpenAi
        .request_keyed(&gw.base(), &ask, &key)
        .send()
        .await
        .unwrap();
    assert_eq!(next.status(), 401);
}

#[tokio::test]
async fn no_key_is_ever_written_anywhere_under_the_home() {
    let rig = Rig::with_config("[monitor]\nstore_bodies = true\n").await;
    let canaries = [
        add_key(&rig.gw, "canary-one", Limits::default()).await,
        add_key(&rig.gw, "canary-two", Limits::default()).await,
    ];
    let rotated = KeyFile::update(&rig.gw.home, |file| file.rotate("canary-two")).unwrap();
    apply(&rig.gw).await;
    for key in canaries.iter().chain([&rotated]) {
        for client in ALL_CLIENTS {
            let ask = Ask::hello(model_of(ProviderKind::Gemini), false);
            // The rotated-away key is refused; the others are served. Each
            // is sent the way its protocol sends keys.
            let _ = client.request_keyed(&rig.base(), &ask, key).send().await.unwrap();
        }
    }
    // Let the log's writer flush.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let logs = rig
        .gw
        .admin_get("/api/logs")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let metrics = rig.gw.admin_get("/metrics").send().await.unwrap().text().await.unwrap();
    let keys = rig
        .gw
        .admin_get("/api/keys")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(logs.contains("canary-one"), "the calls were recorded: {logs}");
    let mut files = Vec::new();
    let mut dirs = vec![rig.gw.home.config_dir.clone(), rig.gw.home.state_dir.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(files.iter().any(|p| p.ends_with("keys.json")));
    for key in canaries.iter().chain([&rotated]) {
        for text in [&logs, &metrics, &keys] {
            assert!(!text.contains(key.as_str()));
        }
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            assert!(
                !bytes.windows(key.len()).any(|window| window == key.as_bytes()),
                "{} holds a client key",
                file.display()
            );
        }
    }
}

#[tokio::test]
async fn the_keys_commands_print_a_key_once_and_a_running_gateway_applies_them_at_once() {
    use common::command::{run, stderr, stdout};
    let mock = Mock::start(common::upstreams::answering(
        ProviderKind::Openai,
        common::conversation::Canned::text(common::conversation::Finish::Stop),
    ))
    .await;
    let gw = TestGateway::start(
        vec![TestAccount::new(ProviderKind::Openai, mock.url()).models(&["gpt-*"])],
        "[proxy]\napi_key = \"sk-admin-key-for-the-cli-test-0123456789\"\nauth_mode = \"all_except_health\"\n",
    )
    .await;
    let home = gw.home.config_dir.clone();
    let cli = move |args: &'static [&'static str]| {
        let home = home.clone();
        async move { tokio::task::spawn_blocking(move || run(&home, args)).await.unwrap() }
    };
    let ask = Ask::hello("gpt-4.1", false);
    let status = |key: String| {
        let base = gw.base();
        let ask = ask.clone();
        async move {
            Client::OpenAi
                .request_keyed(&base, &ask, &key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };

    let added = cli(&["keys", "add", "tool", "--rpm", "50", "--models", "gpt-*"]).await;
    assert!(added.status.success(), "{}", stderr(&added));
    let key = stdout(&added).trim().to_string();
    assert!(key.starts_with("sk-") && key.len() >= 35, "{key}");
    assert!(!stderr(&added).contains(&key), "printed once, on stdout");
    assert_eq!(status(key.clone()).await, 200, "in force when the command returns");

    let list = cli(&["keys", "list"]).await;
    let text = stdout(&list);
    assert!(
        text.contains("tool") && text.contains("gpt-*") && text.contains("50"),
        "{text}"
    );
    assert!(!text.contains(&key));
    let json = cli(&["keys", "list", "--json"]).await;
    let listing: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(listing["keys"][0]["name"], "tool");
    assert_eq!(listing["keys"][0]["requests_today"], 1, "{listing}");
    assert!(!stdout(&json).contains(&key));

    // The call is in the request log under the key's name.
    let mut logged = String::new();
    for _ in 0..100 {
        logged = stdout(&cli(&["logs", "--key", "tool", "--json"]).await);
        if !logged.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let record: Value = serde_json::from_str(logged.lines().next().unwrap_or("null")).unwrap();
    assert_eq!(record["key"], "tool", "{logged}");
    assert!(!logged.contains(&key));
    assert!(stdout(&cli(&["logs", "--key", "someone-else", "--json"]).await).is_empty());
    let usage: Value = serde_json::from_str(&stdout(&cli(&["usage", "--by", "key", "--json"]).await)).unwrap();
    assert!(
        usage
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["key"] == "tool" && row["requests"] == 1),
        "{usage}"
    );

    let rotated = cli(&["keys", "rotate", "tool"]).await;
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    let new_key = stdout(&rotated).trim().to_string();
    assert_ne!(new_key, key);
    assert_eq!(status(key.clone()).await, 401, "the old key stops at once");
    assert_eq!(status(new_key.clone()).await, 200);

    let revoked = cli(&["keys", "revoke", "tool"]).await;
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert_eq!(status(new_key).await, 401);

    let bad = cli(&["keys", "add", "two words"]).await;
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("not a usable key name"));
    let past = cli(&["keys", "add", "late", "--expires", "2020-01-01"]).await;
    assert_eq!(past.status.code(), Some(2));
    assert!(stderr(&past).contains("in the past"), "{}", stderr(&past));
    let missing = cli(&["keys", "revoke", "nobody"]).await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("no client key is named `nobody`"));
}
