//! Team mode's request log in a real Postgres: replicas sharing one
//! database each read every replica's calls (`/api/logs`, `logs`, `usage`
//! and its daily totals), the schema is migrated once, and a Postgres that
//! dies costs no request: the records wait in memory and arrive when it is
//! back.

use crate::common;
use crate::team::{ask, openai_answer, status};

use common::command::{run, run_with_stdin, stdout};
use common::{Mock, TestAccount, TestGateway, eventually};
use mock_upstream::engines::Postgres;
use serde_json::Value;
use switchyard::config::ProviderKind;

/// The `[monitor]` section of every replica of one team.
fn monitor(postgres: &Postgres) -> String {
    format!("[monitor]\ndatabase_url = \"{}\"\n", postgres.url())
}

async fn replica(upstream: &Mock, config: &str) -> TestGateway {
    TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, upstream.url())], config).await
}

/// The ids `/api/logs` of `gw` shows, sorted.
async fn logged_ids(gw: &TestGateway) -> Vec<String> {
    let body: Value = gw
        .admin_get("/api/logs?limit=50")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ids: Vec<String> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// The calls Postgres holds (none before a replica has made the table).
fn stored(postgres: &Postgres) -> usize {
    postgres
        .try_sql("SELECT count(*) FROM requests")
        .map_or(0, |count| count.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_replica_reads_every_replicas_calls_from_postgres() {
    let postgres = Postgres::start();
    let upstream = Mock::start(|_| openai_answer("hello")).await;
    let config = monitor(&postgres);
    let a = replica(&upstream, &config).await;
    let b = replica(&upstream, &config).await;

    for gw in [&a, &a, &b] {
        let (code, body) = ask(gw).await;
        assert_eq!(code, 200, "{body}");
    }
    eventually("the three calls are in Postgres", async || stored(&postgres) == 3).await;
    let ids = logged_ids(&a).await;
    assert_eq!(ids.len(), 3, "replica A shows both replicas' calls: {ids:?}");
    assert_eq!(logged_ids(&b).await, ids, "replica B shows the same calls");

    for gw in [&a, &b] {
        let logs = run(&gw.home.config_dir, &["logs", "--json"]);
        assert!(logs.status.success(), "{logs:?}");
        let mut cli: Vec<String> = stdout(&logs)
            .lines()
            .map(|line| {
                serde_json::from_str::<Value>(line).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        cli.sort();
        assert_eq!(cli, ids, "`switchyard logs` on either home reads the shared log");
        let usage = run(&gw.home.config_dir, &["usage", "--json"]);
        assert!(usage.status.success(), "{usage:?}");
        let rows: Value = serde_json::from_str(&stdout(&usage)).unwrap();
        assert_eq!(rows[0]["requests"], 3, "the daily totals count both replicas: {rows}");
        assert_eq!(rows[0]["input_tokens"], 6, "{rows}");
    }
    for gw in [&a, &b] {
        let body: Value = gw
            .admin_get("/api/usage?by=model")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["usage"][0]["requests"], 3, "{body}");
    }
    assert_eq!(
        postgres.sql("SELECT count(*) FROM daily_totals"),
        "1",
        "one day, account, model and key"
    );
    assert_eq!(
        postgres.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"),
        "1,2",
        "two replicas started, each migration ran once"
    );
    assert_eq!(status(&a).await["request_log"]["state"], "ok");

    // A home whose config.toml names no database, its URL (which may hold
    // a password) kept in the secret store instead: `logs` reads the team's
    // log all the same, and neither the command nor `config show` repeats it.
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config.toml"), "[proxy]\nsecret_store = \"file\"\n").unwrap();
    let stored_url = run_with_stdin(
        home.path(),
        &["config", "store-url", "database"],
        &format!("{}\n", postgres.url()),
    );
    assert!(stored_url.status.success(), "{stored_url:?}");
    assert!(!stdout(&stored_url).contains(&postgres.url()), "{stored_url:?}");
    let logs = run(home.path(), &["logs", "--json"]);
    assert!(logs.status.success(), "{logs:?}");
    assert_eq!(
        stdout(&logs).lines().count(),
        3,
        "the stored URL led `logs` to the team's log"
    );
    let show = run(home.path(), &["config", "show"]);
    assert!(!stdout(&show).contains(&postgres.url()), "{show:?}");
    let refused = run_with_stdin(home.path(), &["config", "store-url", "redis"], "postgres://not-redis\n");
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(run(home.path(), &["config", "forget-url", "database"]).status.success());
    let local = run(home.path(), &["logs", "--json"]);
    assert!(
        !local.status.success(),
        "without the URL, `logs` looks for this home's own SQLite log: {local:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn records_wait_in_memory_while_postgres_is_down_and_arrive_when_it_returns() {
    let mut postgres = Postgres::start();
    let upstream = Mock::start(|_| openai_answer("hello")).await;
    let gw = replica(&upstream, &monitor(&postgres)).await;
    let (code, body) = ask(&gw).await;
    assert_eq!(code, 200, "{body}");
    eventually("the first call is in Postgres", async || stored(&postgres) == 1).await;

    postgres.kill();
    for _ in 0..3 {
        let (code, body) = ask(&gw).await;
        assert_eq!(code, 200, "no request fails because Postgres is down: {body}");
    }
    eventually("the log reads down with three records kept", async || {
        let log = &status(&gw).await["request_log"];
        log["state"] == "down" && log["buffered"] == 3
    })
    .await;
    let metrics = gw.admin_get("/metrics").send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("switchyard_request_log_buffered 3"), "{metrics}");
    // What `switchyard status` prints from.
    let log = gw.gateway.status().request_log.expect("a Postgres log");
    assert_eq!((log.state.as_str(), log.buffered), ("down", 3), "{log:?}");

    postgres.restart();
    eventually("the kept records reach Postgres", async || stored(&postgres) == 4).await;
    let log = &status(&gw).await["request_log"];
    assert_eq!(
        (log["state"].as_str(), log["buffered"].as_u64()),
        (Some("ok"), Some(0)),
        "{log}"
    );
    assert_eq!(log["dropped"], 0);
    assert_eq!(postgres.sql("SELECT sum(requests) FROM daily_totals"), "4");
}
