//! Team mode's cost: the passthrough load through a second gateway whose
//! shared state is in Redis and whose request log is in Postgres (both
//! started here, on loopback, as the team tests start them), beside the
//! in-process gateway of the same run.
//!
//! With the gateway key, no Redis call is on the request path (the sync
//! task runs twice a second; records go to Postgres in batches): what team
//! mode adds there is the background work. A client key with a
//! per-minute limit is checked in Redis on every call (one Lua script, see
//! `cluster::admit_minute`): that row shows the one round trip team mode
//! puts on a request.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use mock_upstream::engines::{Postgres, Redis};
use serde_json::{Value, json};

use crate::procs::{self, Home};
use crate::scenarios::Scenario;
use crate::{Options, Timing, measure_pair, saturate, say};

/// The team gateway's per-minute limit: high enough never to refuse.
const TEAM_KEY_RPM: &str = "100000000";

/// Runs the team phase beside `passthrough` (the default gateway's
/// passthrough path and the same request straight to the mock `fast`),
/// with the gateway pinned to `core`.
pub async fn measure(
    options: &Options,
    switchyard: &Path,
    fast: SocketAddr,
    core: Option<usize>,
    passthrough: &Scenario,
    timing: Timing,
) -> Result<Value, String> {
    let (in_process, direct) = (&passthrough.gateway, &passthrough.direct);
    let (rate, runs, quick) = (options.rate, options.runs.max(1), options.quick);
    let redis = Redis::start();
    let postgres = Postgres::start();
    let home = Home::create(options.work_dir.join("home-team"), switchyard)?
        .with_env("SWITCHYARD_REDIS_URL", &redis.url())
        .with_env("SWITCHYARD_DATABASE_URL", &postgres.url());
    home.add_account("openai", &format!("http://{fast}/v1"), "gpt-*")?;
    home.add_account("gemini", &format!("http://{fast}"), "gemini-*")?;
    let limited_key = home.add_key("bench-team", &["--rpm", TEAM_KEY_RPM])?;
    let port = procs::free_port()?;
    let mut gateway = home.serve(port, core)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    procs::wait_listening(addr, &mut gateway, Duration::from_secs(10))?;
    // The first sync round and the Postgres migrations.
    tokio::time::sleep(Duration::from_secs(2)).await;
    say(format!(
        "team gateway on {addr} (Redis {}, Postgres {})",
        redis.url(),
        postgres.url()
    ));
    let team = in_process.at(addr);
    let subjects = [
        ("in-process (default)", in_process.clone()),
        ("team mode, gateway key", team.clone()),
        (
            "team mode, client key with --rpm (Redis on every call)",
            team.with_bearer(&limited_key),
        ),
    ];
    let mut rows = Vec::new();
    for (label, subject) in &subjects {
        let mut added = Vec::new();
        for run in 0..runs {
            let pair = measure_pair(direct, subject, rate, timing, timing.measure).await?;
            say(format!(
                "{label} at {rate} req/s, run {}: added p50 {:.0} µs, p99 {:.0} µs",
                run + 1,
                pair.added.p50 / 1000.0,
                pair.added.p99 / 1000.0
            ));
            added.push(pair.added);
        }
        let median = crate::report::Percentiles::median(&added);
        let mut found = saturate("team", direct, subject, timing, quick).await?;
        say(format!("{label} saturates at {} req/s", found["rate"]));
        found["label"] = json!(label);
        rows.push(json!({
            "label": label,
            "rate": rate,
            "added_us": median.micros(),
            "added_p50_per_run_us": added.iter().map(|p| p.p50 / 1000.0).collect::<Vec<_>>(),
            "saturation": found["rate"],
        }));
    }
    if gateway.exited() {
        return Err("the team gateway exited during the benchmark".into());
    }
    let logged = postgres.try_sql("SELECT count(*) FROM requests").unwrap_or_default();
    say(format!("the team gateway's Postgres log holds {logged} records"));
    Ok(json!({
        "rows": rows,
        "postgres_records": logged.parse::<u64>().unwrap_or(0),
        "engines": "redis-server and postgres started by the bench on loopback, on the load generator's core and priority (they inherit both)",
    }))
}
