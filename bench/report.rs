//! Results: percentiles, the targets of issue 7, `results.json` and the
//! Markdown table the README quotes.

use std::fmt::Write as _;
use std::path::Path;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::load::Outcome;
use crate::streams::StreamOutcome;

/// The percentiles reported, in nanoseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th.
    pub p90: f64,
    /// 99th.
    pub p99: f64,
    /// 99.9th.
    pub p999: f64,
}

impl Percentiles {
    /// The percentiles of `histogram` (zeros when it is empty).
    pub fn of(histogram: &Histogram<u64>) -> Percentiles {
        if histogram.is_empty() {
            return Percentiles::default();
        }
        let at = |q: f64| histogram.value_at_quantile(q) as f64;
        Percentiles {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            p999: at(0.999),
        }
    }

    /// As JSON, in microseconds with one decimal.
    pub fn micros(&self) -> Value {
        let us = |ns: f64| (ns / 100.0).round() / 10.0;
        json!({"p50": us(self.p50), "p90": us(self.p90), "p99": us(self.p99), "p99.9": us(self.p999)})
    }
}

/// `subject − direct` per percentile.
pub fn added(direct: &Percentiles, subject: &Percentiles) -> Percentiles {
    Percentiles {
        p50: subject.p50 - direct.p50,
        p90: subject.p90 - direct.p90,
        p99: subject.p99 - direct.p99,
        p999: subject.p999 - direct.p999,
    }
}

/// Bytes in megabytes (10^6, the unit of the targets).
pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// A load run as JSON.
pub fn outcome_json(outcome: &Outcome) -> Value {
    let mut latency = Percentiles::of(&outcome.latency).micros();
    latency["max"] = json!((outcome.latency.max() as f64 / 100.0).round() / 10.0);
    json!({
        "ok": outcome.ok,
        "errors": outcome.errors,
        "error_samples": outcome.error_samples,
        "throughput": (outcome.throughput * 10.0).round() / 10.0,
        "latency_us": latency,
    })
}

/// A streaming run as JSON.
pub fn stream_json(outcome: &StreamOutcome) -> Value {
    json!({
        "intact": outcome.ok,
        "errors": outcome.errors,
        "damaged": outcome.damaged,
        "text_events_per_stream": outcome.text_events,
        "peak_open": outcome.peak_open,
        "ttfb_us": Percentiles::of(&outcome.ttfb).micros(),
        "gap_us": Percentiles::of(&outcome.gaps).micros(),
        "samples": outcome.samples,
    })
}

/// What the benchmark ran on.
pub fn machine(cores: &crate::Cores) -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or(0.0, |kib| (kib as f64 / 1024.0 / 1024.0).round());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_default();
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    json!({
        "cpu": cpu,
        "cores": crate::procs::cores(),
        "memory_gib": memory,
        "os": os,
        "kernel": kernel,
        "rustc": rustc,
        "pinning": match (cores.harness, cores.mock, cores.subject) {
            (Some(h), Some(m), Some(s)) => format!(
                "load generator on core {h}, mocks on core {m}, gateway (or LiteLLM) on core {s}"
            ),
            _ => "none (one core)".to_string(),
        },
    })
}

/// One target of issue 7 and whether it held.
fn target(name: &str, goal: &str, measured: String, held: bool) -> Value {
    json!({"target": name, "goal": goal, "measured": measured, "held": held})
}

/// An added latency for the targets table; a negative one means the direct
/// run's percentile was the larger, i.e. the difference is below the noise.
fn added_us(value: f64) -> String {
    if value < 0.0 {
        format!("{value:.0} µs (direct run's tail was larger: below the noise)")
    } else {
        format!("{value:.0} µs")
    }
}

fn num(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

/// `results` with a `targets` list: each target of issue 7, measured.
pub fn with_targets(mut results: Value) -> Value {
    let mut targets = Vec::new();
    let main_rate = results["latency"]
        .as_array()
        .and_then(|runs| runs.iter().map(|r| num(&r["rate"])).reduce(f64::max))
        .unwrap_or(0.0);
    for run in results["latency"].as_array().cloned().unwrap_or_default() {
        if num(&run["rate"]) != main_rate {
            continue;
        }
        let label = run["label"].as_str().unwrap_or("").to_string();
        let p50 = num(&run["added_us"]["p50"]);
        let p99 = num(&run["added_us"]["p99"]);
        let clean = run["gateway"]["errors"].as_u64() == Some(0);
        if run["scenario"] == "openai_to_openai" {
            targets.push(target(
                &format!("added p99 at {main_rate} req/s, {label}"),
                "≤ 500 µs",
                added_us(p99),
                p99 <= 500.0 && clean,
            ));
        } else {
            targets.push(target(
                &format!("added p50 at {main_rate} req/s, {label}"),
                "≤ 100 µs",
                added_us(p50),
                p50 <= 100.0 && clean,
            ));
            targets.push(target(
                &format!("added p99 at {main_rate} req/s, {label}"),
                "≤ 1 ms",
                added_us(p99),
                p99 <= 1000.0 && clean,
            ));
        }
    }
    for found in results["saturation"].as_array().cloned().unwrap_or_default() {
        if found["scenario"] == "openai_to_openai" {
            let rate = num(&found["rate"]);
            targets.push(target(
                "saturation, passthrough (no error, added p99 ≤ 2 ms)",
                "≥ 5000 req/s",
                format!("{rate:.0} req/s"),
                rate >= 5000.0,
            ));
        }
    }
    if results["litellm"].is_object() {
        let ours = num(&results["closed_loop"]["gateway"]["throughput"]);
        let theirs = num(&results["litellm"]["closed_loop"]["throughput"]);
        let ratio = ours / theirs;
        targets.push(target(
            "saturation vs LiteLLM (closed loop, same machine, same run)",
            "≥ 10×",
            format!("{ratio:.0}× ({ours:.0} vs {theirs:.0} req/s)"),
            ratio >= 10.0,
        ));
    }
    for stream in results["streaming"].as_array().cloned().unwrap_or_default() {
        let label = stream["label"].as_str().unwrap_or("").to_string();
        let p99 = num(&stream["added_ttfb_us"]["p99"]);
        targets.push(target(
            &format!("streaming added TTFB p99, {label}"),
            "≤ 1 ms",
            added_us(p99),
            p99 <= 1000.0,
        ));
        let n = stream["streams"].as_u64().unwrap_or(0);
        let intact = stream["gateway"]["intact"].as_u64().unwrap_or(0);
        targets.push(target(
            &format!("{n} concurrent streams intact, {label}"),
            "no dropped or reordered events",
            format!(
                "{intact}/{n} intact (peak {} open)",
                stream["gateway"]["peak_open"].as_u64().unwrap_or(0)
            ),
            intact == n && n > 0,
        ));
    }
    let memory = &results["memory"];
    let idle = mb(memory["idle_rss_bytes"].as_u64().unwrap_or(0));
    let peak = mb(memory["streams_peak_rss_bytes"].as_u64().unwrap_or(0));
    let settled = mb(memory["settled_rss_bytes"].as_u64().unwrap_or(0));
    targets.push(target(
        "idle RSS, serve",
        "≤ 15 MB",
        format!("{idle:.1} MB"),
        idle <= 15.0,
    ));
    targets.push(target(
        "RSS with 1000 open streams",
        "≤ 80 MB",
        format!("{peak:.1} MB"),
        peak <= 80.0,
    ));
    targets.push(target(
        &format!("RSS {} s after load", memory["settle_secs"]),
        "within 10% of idle",
        format!("{settled:.1} MB ({:+.0}%)", (settled / idle - 1.0) * 100.0),
        settled <= idle * 1.1,
    ));
    let size = mb(results["binary_size_bytes"].as_u64().unwrap_or(0));
    targets.push(target(
        "stripped release binary",
        "≤ 15 MB",
        format!("{size:.1} MB"),
        size <= 15.0,
    ));
    let startup = num(&results["startup_ms"]["median"]);
    targets.push(target(
        "start to listening (median)",
        "≤ 50 ms",
        format!("{startup:.1} ms (max {:.1})", num(&results["startup_ms"]["max"])),
        startup <= 50.0,
    ));
    results["targets"] = Value::Array(targets);
    results
}

/// Writes `results.json` and `results.md` into `dir`.
pub fn write(dir: &Path, results: &Value) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    let json = serde_json::to_string_pretty(results).map_err(|err| err.to_string())?;
    std::fs::write(dir.join("results.json"), json + "\n").map_err(|err| format!("results.json: {err}"))?;
    std::fs::write(dir.join("results.md"), markdown(results)).map_err(|err| format!("results.md: {err}"))?;
    Ok(())
}

fn us(value: &Value) -> String {
    match value.as_f64() {
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
        None => "–".into(),
    }
}

/// The Markdown report.
pub fn markdown(results: &Value) -> String {
    let mut out = String::new();
    let machine = &results["machine"];
    let _ = writeln!(
        out,
        "Machine: {} · {} cores · {} GiB · {} · kernel {} · {}; {}.{}\n",
        machine["cpu"].as_str().unwrap_or(""),
        machine["cores"],
        machine["memory_gib"],
        machine["os"].as_str().unwrap_or(""),
        machine["kernel"].as_str().unwrap_or(""),
        machine["rustc"].as_str().unwrap_or(""),
        machine["pinning"].as_str().unwrap_or(""),
        if results["quick"] == true {
            " **Quick run: short measurements, rough numbers.**"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "| target | goal | measured | held |\n| --- | --- | --- | --- |");
    for t in results["targets"].as_array().cloned().unwrap_or_default() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            t["target"].as_str().unwrap_or(""),
            t["goal"].as_str().unwrap_or(""),
            t["measured"].as_str().unwrap_or(""),
            if t["held"] == true { "yes" } else { "**no**" }
        );
    }
    let _ = writeln!(
        out,
        "\nAdded latency (µs, gateway percentile − direct percentile; open loop, from the scheduled send time):\n"
    );
    let _ = writeln!(
        out,
        "| path | rate (req/s) | p50 | p90 | p99 | p99.9 | direct p50 / p99 | gateway p50 / p99 | errors |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for run in results["latency"].as_array().cloned().unwrap_or_default() {
        let a = &run["added_us"];
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} / {} | {} / {} | {} |",
            run["label"].as_str().unwrap_or(""),
            run["rate"],
            us(&a["p50"]),
            us(&a["p90"]),
            us(&a["p99"]),
            us(&a["p99.9"]),
            us(&run["direct"]["latency_us"]["p50"]),
            us(&run["direct"]["latency_us"]["p99"]),
            us(&run["gateway"]["latency_us"]["p50"]),
            us(&run["gateway"]["latency_us"]["p99"]),
            run["gateway"]["errors"]
        );
    }
    let _ = writeln!(out, "\nThroughput:\n\n| measure | req/s |\n| --- | --- |");
    for found in results["saturation"].as_array().cloned().unwrap_or_default() {
        let _ = writeln!(
            out,
            "| saturation, {} (highest open-loop rate with no error and added p99 ≤ 2 ms){} | {} |",
            found["label"].as_str().unwrap_or(""),
            if found["direct_had_errors"] == true {
                "; the direct runs had errors too: the load generator's core was the limit"
            } else {
                ""
            },
            found["rate"]
        );
    }
    let closed = &results["closed_loop"];
    let _ = writeln!(
        out,
        "| closed loop, 64 connections, passthrough: direct to the mock | {} |\n| closed loop, 64 connections, passthrough: through Switchyard | {} |",
        closed["direct"]["throughput"], closed["gateway"]["throughput"]
    );
    if let Some(litellm) = results["litellm"].as_object() {
        let _ = writeln!(
            out,
            "| closed loop, 64 connections, passthrough: through LiteLLM {} | {} |",
            litellm["version"].as_str().unwrap_or(""),
            litellm["closed_loop"]["throughput"]
        );
    }
    let _ = writeln!(
        out,
        "\nStreaming ({} concurrent streams, {} text events {} ms apart each; µs):\n",
        results["streaming"][0]["streams"],
        results["method"]["stream_text_events"],
        results["method"]["stream_event_gap_ms"]
    );
    let _ = writeln!(
        out,
        "| path | added TTFB p50 / p99 | added inter-chunk p50 / p99 | gateway TTFB p99 | intact | peak open |\n| --- | --- | --- | --- | --- | --- |"
    );
    for s in results["streaming"].as_array().cloned().unwrap_or_default() {
        let _ = writeln!(
            out,
            "| {} | {} / {} | {} / {} | {} | {}/{} | {} |",
            s["label"].as_str().unwrap_or(""),
            us(&s["added_ttfb_us"]["p50"]),
            us(&s["added_ttfb_us"]["p99"]),
            us(&s["added_gap_us"]["p50"]),
            us(&s["added_gap_us"]["p99"]),
            us(&s["gateway"]["ttfb_us"]["p99"]),
            s["gateway"]["intact"],
            s["streams"],
            s["gateway"]["peak_open"]
        );
    }
    let keys = &results["client_keys"];
    if keys.is_object() {
        let _ = writeln!(
            out,
            "\nClient keys (passthrough, open loop at {} req/s; added µs):\n\n| auth | added p50 | added p99 | errors |\n| --- | --- | --- | --- |",
            keys["auth"][0]["rate"]
        );
        for run in keys["auth"].as_array().cloned().unwrap_or_default() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                run["auth"].as_str().unwrap_or(""),
                us(&run["added_us"]["p50"]),
                us(&run["added_us"]["p99"]),
                run["gateway"]["errors"]
            );
        }
        let burst = &keys["burst"];
        let _ = writeln!(
            out,
            "\nBurst: {} concurrent calls, one connection each, with a {}-rpm client key: {} served, {} refused with 429, {} other; \
             {:.0} ms for the whole burst, latency p50 {} µs / p99 {} µs.",
            burst["calls"],
            keys["burst_rpm"],
            burst["served"],
            burst["refused"],
            burst["other"],
            burst["wall_ms"].as_f64().unwrap_or(0.0),
            us(&burst["latency_us"]["p50"]),
            us(&burst["latency_us"]["p99"])
        );
    }
    let memory = &results["memory"];
    let _ = writeln!(
        out,
        "\nMemory (RSS, MB): idle {:.1} · after the rate runs {:.1} · peak with streams open {:.1} · {} s after load {:.1}. \
         Of which anonymous (heap, stacks; the rest is code pages of the binary and shared libraries): idle {:.1}, \
         after load {:.1}. Binary {:.1} MB. Start to listening {:.1} ms median.",
        mb(memory["idle_rss_bytes"].as_u64().unwrap_or(0)),
        mb(memory["after_rate_runs_rss_bytes"].as_u64().unwrap_or(0)),
        mb(memory["streams_peak_rss_bytes"].as_u64().unwrap_or(0)),
        memory["settle_secs"],
        mb(memory["settled_rss_bytes"].as_u64().unwrap_or(0)),
        mb(memory["idle_anon_bytes"].as_u64().unwrap_or(0)),
        mb(memory["settled_anon_bytes"].as_u64().unwrap_or(0)),
        mb(results["binary_size_bytes"].as_u64().unwrap_or(0)),
        num(&results["startup_ms"]["median"]),
    );
    if let Some(litellm) = results["litellm"].as_object() {
        let _ = writeln!(
            out,
            "\nLiteLLM {} (proxy, one worker, same mock, same core as the gateway):\n",
            litellm["version"].as_str().unwrap_or("")
        );
        let _ = writeln!(
            out,
            "| measure | Switchyard | LiteLLM | ratio |\n| --- | --- | --- | --- |"
        );
        for row in litellm["comparison"].as_array().cloned().unwrap_or_default() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                row["measure"].as_str().unwrap_or(""),
                row["switchyard"].as_str().unwrap_or(""),
                row["litellm"].as_str().unwrap_or(""),
                row["ratio"].as_str().unwrap_or("")
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_is_subject_minus_direct_per_percentile() {
        let mut direct = crate::load::histogram();
        let mut subject = crate::load::histogram();
        for i in 1..=1000u64 {
            direct.record(i * 1_000).unwrap();
            subject.record(i * 1_000 + 50_000).unwrap();
        }
        let a = added(&Percentiles::of(&direct), &Percentiles::of(&subject));
        assert!((a.p50 - 50_000.0).abs() < 1_000.0, "{a:?}");
        assert!((a.p99 - 50_000.0).abs() < 1_000.0, "{a:?}");
        assert_eq!(a.micros()["p50"].as_f64().map(f64::round), Some(50.0));
    }

    #[test]
    fn targets_judge_the_numbers() {
        let results = json!({
            "latency": [
                {"scenario": "openai_to_openai", "label": "pass", "rate": 2000.0, "added_us": {"p50": 40.0, "p99": 600.0}, "gateway": {"errors": 0}},
                {"scenario": "openai_to_gemini", "label": "tr", "rate": 2000.0, "added_us": {"p50": 90.0, "p99": 900.0}, "gateway": {"errors": 0}},
            ],
            "saturation": [{"scenario": "openai_to_openai", "rate": 6000.0}],
            "streaming": [],
            "memory": {"idle_rss_bytes": 10_000_000u64, "streams_peak_rss_bytes": 90_000_000u64, "settled_rss_bytes": 10_500_000u64, "settle_secs": 60},
            "binary_size_bytes": 9_000_000u64,
            "startup_ms": {"median": 12.0, "max": 20.0},
        });
        let targets = with_targets(results)["targets"].as_array().cloned().unwrap();
        let held = |prefix: &str| {
            targets
                .iter()
                .find(|t| t["target"].as_str().unwrap().starts_with(prefix))
                .map(|t| t["held"] == true)
                .unwrap()
        };
        assert!(!held("added p99 at 2000 req/s, pass"), "600 µs misses 500 µs");
        assert!(held("added p50 at 2000 req/s, tr"));
        assert!(held("added p99 at 2000 req/s, tr"));
        assert!(held("saturation, passthrough"));
        assert!(held("idle RSS"));
        assert!(!held("RSS with 1000"));
        assert!(held("RSS 60 s after load"));
        assert!(held("stripped release binary"));
        assert!(held("start to listening"));
        let md = markdown(&with_targets(json!({"targets": []})));
        assert!(md.contains("| target | goal | measured | held |"));
    }
}
