//! Balancing strategies (issue 18): `[pool] strategy` chooses the account
//! within a tier: spread (the least busy, in turn), fill-first (one account
//! until it cools) and weighted (smooth weighted round-robin). Sticky
//! sessions hold under each; the strategy reloads live; `accounts list`
//! and `/api/accounts` show it with each account's share of the hour.

use crate::common;

use common::clients::Client;
use common::conversation::{Ask, Canned, Finish};
use common::upstreams;
use common::{Mock, MockReply, TestAccount, TestGateway, eventually};
use serde_json::json;
use switchyard::config::ProviderKind;

/// Two OpenAI accounts serving `gpt-*`, each on its own mock.
async fn two_accounts(strategy: &str, weights: [u32; 2]) -> (TestGateway, [Mock; 2]) {
    let answer = || upstreams::answering(ProviderKind::Openai, Canned::text(Finish::Stop));
    let first = Mock::start(answer()).await;
    let second = Mock::start(answer()).await;
    let accounts = vec![
        TestAccount::new(ProviderKind::Openai, first.url())
            .models(&["gpt-*"])
            .label("first")
            .weight(weights[0]),
        TestAccount::new(ProviderKind::Openai, second.url())
            .models(&["gpt-*"])
            .label("second")
            .weight(weights[1]),
    ];
    let gw = TestGateway::start(accounts, &format!("[pool]\nstrategy = \"{strategy}\"\n")).await;
    (gw, [first, second])
}

/// Makes one call; returns which account served it (0 or 1).
async fn call(gw: &TestGateway, mocks: &[Mock; 2], session: Option<&str>) -> usize {
    let before = [mocks[0].count(), mocks[1].count()];
    let mut request = Client::OpenAi.request(&gw.base(), &Ask::hello("gpt-4.1", false));
    if let Some(session) = session {
        request = request.header("x-session-id", session);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    // Only the first account ever fails in these tests: when both were
    // asked, the call rotated to the second, which served.
    usize::from(mocks[1].count() > before[1])
}

#[tokio::test]
async fn fill_first_keeps_one_account_until_it_cools_then_moves() {
    let (gw, mocks) = two_accounts("fill-first", [1, 1]).await;
    for _ in 0..5 {
        assert_eq!(call(&gw, &mocks, None).await, 0, "every call to the first account");
    }
    mocks[0].set(|_| MockReply::Json {
        status: 429,
        body: json!({"error": {"message": "slow down", "type": "rate_limit_error"}}),
        headers: vec![("retry-after", "60".to_string())],
    });
    assert_eq!(call(&gw, &mocks, None).await, 1, "the cooled account's call rotates");
    let asked = mocks[0].count();
    for _ in 0..3 {
        assert_eq!(
            call(&gw, &mocks, None).await,
            1,
            "then the second, while the first cools"
        );
    }
    assert_eq!(mocks[0].count(), asked, "the cooling account is left alone");
}

#[tokio::test]
async fn weighted_is_a_deterministic_smooth_round_robin() {
    let (gw, mocks) = two_accounts("weighted", [3, 1]).await;
    let mut served = Vec::new();
    for _ in 0..8 {
        served.push(call(&gw, &mocks, None).await);
    }
    assert_eq!(
        served,
        vec![0, 0, 1, 0, 0, 0, 1, 0],
        "three to the first, one to the second, in every four"
    );
}

#[tokio::test]
async fn spread_alternates_and_sessions_stick_under_every_strategy() {
    let (gw, mocks) = two_accounts("spread", [1, 1]).await;
    let served: Vec<usize> = {
        let mut served = Vec::new();
        for _ in 0..4 {
            served.push(call(&gw, &mocks, None).await);
        }
        served
    };
    assert_eq!(served.iter().filter(|&&s| s == 0).count(), 2, "{served:?}");
    for strategy in ["spread", "fill-first", "weighted"] {
        let (gw, mocks) = two_accounts(strategy, [1, 3]).await;
        let first = call(&gw, &mocks, Some("conversation-1")).await;
        for _ in 0..4 {
            assert_eq!(call(&gw, &mocks, Some("conversation-1")).await, first, "{strategy}");
        }
    }
}

#[tokio::test]
async fn the_strategy_reloads_live_and_the_accounts_show_their_share() {
    let (mut gw, mocks) = two_accounts("spread", [1, 1]).await;
    for _ in 0..4 {
        call(&gw, &mocks, None).await;
    }
    let config = std::fs::read_to_string(gw.home.config_file()).unwrap();
    std::fs::write(
        gw.home.config_file(),
        config.replace("strategy = \"spread\"", "strategy = \"fill-first\""),
    )
    .unwrap();
    gw.gateway.reload(std::time::Duration::from_secs(1)).await.unwrap();
    assert_eq!(gw.admin_json("/api/accounts").await["strategy"], "fill-first");
    // The shares come from the request log, which is written in rounds.
    eventually("each account's share is half", async || {
        let shares: Vec<Option<f64>> = gw.admin_json("/api/accounts").await["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["share_last_hour"].as_f64())
            .collect();
        shares == [Some(0.5), Some(0.5)]
    })
    .await;
    let before = mocks[1].count();
    for _ in 0..3 {
        assert_eq!(call(&gw, &mocks, None).await, 0);
    }
    assert_eq!(mocks[1].count(), before);
}
