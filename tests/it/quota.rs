//! Quota per account, from what each upstream says: OpenAI's and
//! Anthropic's rate-limit headers (by their real names) and Gemini's 429
//! retry hints, shown in `accounts list --json`, `/api/accounts` and the
//! `switchyard_account_quota_remaining` gauges.

use crate::common;

use common::command::{run, stdout};
use common::conversation::{Canned, Finish};
use common::upstreams::{self, gemini_quota_exhausted, quota_headers};
use common::{Mock, MockReply, Recorded, TestAccount, TestGateway, client};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;
use switchyard::secrets::{FileStore, GATEWAY_KEY, SecretStore};

/// A mock answering `provider`'s complete answer with its quota headers.
async fn answering_with_quota(provider: ProviderKind, reset: &'static str) -> Mock {
    Mock::start(move |request: &Recorded| MockReply::Json {
        status: 200,
        body: upstreams::complete_body(
            provider,
            &Canned::text(Finish::Stop),
            &upstreams::requested_model(provider, request),
        ),
        headers: quota_headers(provider, reset),
    })
    .await
}

fn remaining(account: &Value, model: &str, kind: &str) -> Option<u64> {
    account["quota"]
        .as_array()?
        .iter()
        .find(|reading| reading["model"] == model)?["limits"]
        .as_array()?
        .iter()
        .find(|limit| limit["kind"] == kind)?["remaining"]
        .as_u64()
}

#[tokio::test]
async fn each_providers_quota_shows_in_accounts_list_the_api_and_metrics() {
    let openai = answering_with_quota(ProviderKind::Openai, "").await;
    let anthropic = answering_with_quota(ProviderKind::Anthropic, "2099-01-01T00:00:00Z").await;
    let gemini = Mock::start(|request: &Recorded| {
        MockReply::status(
            429,
            gemini_quota_exhausted(&upstreams::requested_model(ProviderKind::Gemini, request), "37s"),
        )
    })
    .await;
    let gw = TestGateway::start(
        vec![
            TestAccount::new(
                ProviderKind::Openai,
                upstreams::base_url(ProviderKind::Openai, &openai.url()),
            )
            .label("oa")
            .models(&["gpt-*"]),
            TestAccount::new(ProviderKind::Anthropic, anthropic.url())
                .label("an")
                .models(&["claude-*"]),
            TestAccount::new(ProviderKind::Gemini, gemini.url())
                .label("ge")
                .models(&["gemini-*"]),
        ],
        "",
    )
    .await;
    for (model, status) in [("gpt-4o", 200), ("claude-sonnet-4-5", 200), ("gemini-2.5-flash", 429)] {
        let response = client()
            .post(gw.url("/v1/chat/completions"))
            .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{model}: {}", response.text().await.unwrap());
    }

    let api: Value = gw
        .admin_get("/api/accounts")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let account = |label: &str| {
        api["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["label"] == label)
            .cloned()
            .unwrap()
    };
    let oa = account("oa");
    assert_eq!(remaining(&oa, "gpt-4o", "requests"), Some(4999), "{oa}");
    assert_eq!(remaining(&oa, "gpt-4o", "tokens"), Some(8000));
    let reset = oa["quota"][0]["limits"][1]["reset_ms"].as_i64().unwrap();
    let read = oa["quota"][0]["read_ms"].as_i64().unwrap();
    assert_eq!(reset - read, 360_000, "6m0s after the reading");
    let an = account("an");
    for (kind, left) in [
        ("requests", 49),
        ("tokens", 89_000),
        ("input_tokens", 79_500),
        ("output_tokens", 9_500),
    ] {
        assert_eq!(remaining(&an, "claude-sonnet-4-5", kind), Some(left), "{kind}: {an}");
    }
    assert_eq!(an["quota"][0]["limits"][0]["reset_ms"], 4_070_908_800_000_i64);
    // Gemini names no count: none is invented; the 429 says when it comes back.
    let ge = account("ge");
    let reading = &ge["quota"][0];
    assert_eq!(reading["model"], "gemini-2.5-flash", "{ge}");
    assert!(reading.get("limits").is_none(), "{ge}");
    let until = reading["exhausted_until_ms"].as_i64().unwrap();
    assert_eq!(until - reading["read_ms"].as_i64().unwrap(), 37_000);

    let text = gw.admin_get("/metrics").send().await.unwrap().text().await.unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let gauge = |account: &str, kind: &str| {
        scrape
            .samples
            .iter()
            .find(|s| {
                s.metric == "switchyard_account_quota_remaining"
                    && s.labels.get("account") == Some(account)
                    && s.labels.get("kind") == Some(kind)
            })
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
                ref other => panic!("{other:?}"),
            })
    };
    assert_eq!(gauge("oa", "tokens"), Some(8000.0), "{text}");
    assert_eq!(gauge("an", "output_tokens"), Some(9500.0));
    assert_eq!(gauge("ge", "requests"), None, "no gauge for an unknown count");

    // The command line asks the running gateway (with the key from the
    // file store, as a user's CLI would).
    FileStore::new(gw.home.clone()).set(GATEWAY_KEY, &gw.key()).unwrap();
    let home = gw.home.config_dir.clone();
    let listed = tokio::task::spawn_blocking({
        let home = home.clone();
        move || {
            (
                run(&home, &["accounts", "list", "--json"]),
                run(&home, &["accounts", "list"]),
            )
        }
    })
    .await
    .unwrap();
    let json: Value = serde_json::from_slice(&listed.0.stdout).unwrap();
    assert_eq!(json["gateway_running"], true, "{json}");
    let oa = json["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["label"] == "oa")
        .unwrap();
    assert_eq!(remaining(oa, "gpt-4o", "tokens"), Some(8000), "{oa}");
    let table = stdout(&listed.1);
    assert!(table.contains("quota gpt-4o: requests 4999/5000"), "{table}");
    assert!(
        table.contains("quota gemini-2.5-flash: remaining unknown, rate limited for"),
        "{table}"
    );
}
