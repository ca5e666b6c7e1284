//! Two builds of the gateway in the same run (`bench/compare`): a second
//! gateway from `--baseline` beside the one measured, with the same
//! accounts on the same mock, pinned to the same core. Every latency and
//! closed-loop round interleaves the direct path, the baseline and this
//! build slice by slice, so that the VM's swings fall on both builds alike
//! (run minutes apart, one build's spread was larger than the difference
//! looked for).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::load::Pace;
use crate::procs::{self, Home};
use crate::report::{Percentiles, added};
use crate::{Options, Timing, measure_sliced, median, say, scenarios};

/// Runs the comparison: the three latency paths at `--rate` and the
/// passthrough closed loop, `--runs` rounds each, through `gateway` (this
/// build) and through a gateway started from `baseline`.
pub async fn measure(
    options: &Options,
    baseline: &Path,
    gateway: SocketAddr,
    fast: SocketAddr,
    core: Option<usize>,
    timing: Timing,
) -> Result<Value, String> {
    let runs = options.runs.max(1);
    let home = Home::create(options.work_dir.join("home-baseline"), baseline)?;
    home.add_account("openai", &format!("http://{fast}/v1"), "gpt-*")?;
    home.add_account("gemini", &format!("http://{fast}"), "gemini-*")?;
    let port = procs::free_port()?;
    let mut process = home.serve(port, core)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    procs::wait_listening(addr, &mut process, Duration::from_secs(10))?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    say(format!("baseline gateway ({}) on {addr}", baseline.display()));

    let paths = scenarios::complete(gateway, fast);
    let mut latency = Vec::new();
    for scenario in &paths {
        let theirs = scenario.gateway.at(addr);
        let (mut old, mut new, mut rounds) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            let [direct, before, after] = measure_sliced(
                [&scenario.direct, &theirs, &scenario.gateway],
                Pace::Rate(options.rate),
                timing,
            )
            .await?;
            let direct_p = Percentiles::of(&direct.latency);
            let (before_added, after_added) = (
                added(&direct_p, &Percentiles::of(&before.latency)),
                added(&direct_p, &Percentiles::of(&after.latency)),
            );
            let errors = direct.errors + before.errors + after.errors;
            say(format!(
                "{} at {} req/s, run {}: added p50 baseline {:.0} µs, this build {:.0} µs ({errors} errors)",
                scenario.label,
                options.rate,
                run + 1,
                before_added.p50 / 1000.0,
                after_added.p50 / 1000.0
            ));
            old.push(before_added);
            new.push(after_added);
            rounds.push(json!({
                "baseline_added_us": before_added.micros(),
                "added_us": after_added.micros(),
                "errors": errors,
            }));
        }
        latency.push(json!({
            "scenario": scenario.key,
            "label": scenario.label,
            "rate": options.rate,
            "baseline_added_us": Percentiles::median(&old).micros(),
            "added_us": Percentiles::median(&new).micros(),
            "runs": rounds,
        }));
    }

    let passthrough = paths.first().ok_or("no passthrough path")?;
    let theirs = passthrough.gateway.at(addr);
    let mut rounds = Vec::new();
    for run in 0..runs {
        let [direct, before, after] = measure_sliced(
            [&passthrough.direct, &theirs, &passthrough.gateway],
            Pace::Closed,
            timing,
        )
        .await?;
        say(format!(
            "closed loop, run {}: direct {:.0} req/s, baseline {:.0} req/s, this build {:.0} req/s",
            run + 1,
            direct.throughput,
            before.throughput,
            after.throughput
        ));
        rounds.push(json!({
            "direct": direct.throughput,
            "baseline": before.throughput,
            "gateway": after.throughput,
            "errors": direct.errors + before.errors + after.errors,
        }));
    }
    if process.exited() {
        return Err("the baseline gateway exited during the benchmark".into());
    }
    let median_of = |side: &str| median(rounds.iter().map(|r| r[side].as_f64().unwrap_or(f64::NAN)).collect());
    Ok(json!({
        "baseline": baseline.display().to_string(),
        "latency": latency,
        "closed_loop": {
            "scenario": passthrough.key,
            "direct": median_of("direct"),
            "baseline": median_of("baseline"),
            "gateway": median_of("gateway"),
            "runs": rounds,
        },
    }))
}
