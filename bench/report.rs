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

    /// The median of each percentile over several runs.
    pub fn median(runs: &[Percentiles]) -> Percentiles {
        let of = |pick: fn(&Percentiles) -> f64| crate::median(runs.iter().map(pick).collect());
        Percentiles {
            p50: of(|p| p.p50),
            p90: of(|p| p.p90),
            p99: of(|p| p.p99),
            p999: of(|p| p.p999),
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

fn num(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

/// The target rows a latency scenario's medians are judged by: against
/// nginx's added latency in the same run.
fn latency_targets(run: &Value, targets: &mut Vec<Value>) {
    let label = run["label"].as_str().unwrap_or("");
    let rate = num(&run["rate"]);
    let ours = |p: &str| num(&run["added_us"][p]);
    let nginx = |p: &str| num(&run["nginx_added_us"][p]);
    let clean = run["errors"].as_u64() == Some(0);
    let (p50, n50) = (ours("p50"), nginx("p50"));
    if run["scenario"] == "openai_to_openai" {
        let ratio = p50 / n50;
        targets.push(target(
            &format!("added p50 at {rate} req/s, {label}"),
            "≤ 1.3× nginx's",
            format!("{p50:.0} µs vs nginx {n50:.0} µs ({ratio:.2}×)"),
            clean && p50 <= 1.3 * n50.max(0.0),
        ));
    } else {
        targets.push(target(
            &format!("added p50 at {rate} req/s, {label}"),
            "≤ nginx's + 25 µs",
            format!("{p50:.0} µs vs nginx {n50:.0} µs ({:+.0} µs)", p50 - n50),
            clean && p50 <= n50.max(0.0) + 25.0,
        ));
    }
    let (p99, n99) = (ours("p99"), nginx("p99"));
    targets.push(target(
        &format!("added p99 at {rate} req/s, {label}"),
        "≤ 2× nginx's, or ≤ nginx's + 300 µs",
        format!(
            "{p99:.0} µs vs nginx {n99:.0} µs ({:.2}×, {:+.0} µs)",
            p99 / n99,
            p99 - n99
        ),
        // A negative difference is below the noise: nginx then counts as 0.
        clean && p99 <= (2.0 * n99.max(0.0)).max(n99.max(0.0) + 300.0),
    ));
}

/// `results` with a `targets` list: each target of issue 22 (Switchyard
/// against nginx in the same run), measured.
pub fn with_targets(mut results: Value) -> Value {
    let mut targets = Vec::new();
    for run in results["latency"].as_array().cloned().unwrap_or_default() {
        if run["runs"].is_array() {
            latency_targets(&run, &mut targets);
        }
    }
    let closed = &results["closed_loop"];
    if closed["nginx"]["throughput"].is_number() {
        let ours = num(&closed["gateway"]["throughput"]);
        let nginx = num(&closed["nginx"]["throughput"]);
        targets.push(target(
            "closed-loop throughput, passthrough, 64 connections",
            "≥ 0.6× nginx's",
            format!("{ours:.0} vs nginx {nginx:.0} req/s ({:.2}×)", ours / nginx),
            ours >= 0.6 * nginx,
        ));
    }
    if results["litellm"].is_object() {
        let ours = num(&results["closed_loop"]["gateway"]["throughput"]);
        let theirs = num(&results["litellm"]["closed_loop"]["throughput"]);
        let ratio = ours / theirs;
        targets.push(target(
            "closed-loop throughput vs LiteLLM (same machine, same run)",
            "≥ 10×",
            format!("{ratio:.0}× ({ours:.0} vs {theirs:.0} req/s)"),
            ratio >= 10.0,
        ));
    }
    for stream in results["streaming"].as_array().cloned().unwrap_or_default() {
        let label = stream["label"].as_str().unwrap_or("").to_string();
        let p99 = num(&stream["added_ttfb_us"]["p99"]);
        let n99 = num(&stream["nginx_added_ttfb_us"]["p99"]);
        targets.push(target(
            &format!("streaming added TTFB p99, {label}"),
            "≤ nginx's + 1 ms",
            format!("{p99:.0} µs vs nginx {n99:.0} µs ({:+.0} µs)", p99 - n99),
            p99 <= n99.max(0.0) + 1000.0,
        ));
        let n = stream["streams"].as_u64().unwrap_or(0);
        let intact = stream["intact"].as_u64().unwrap_or(0);
        targets.push(target(
            &format!("{n} concurrent streams intact, {label}"),
            "no dropped or reordered events",
            format!(
                "{intact}/{n} intact in every run (peak {} open)",
                stream["peak_open"].as_u64().unwrap_or(0)
            ),
            intact == n && n > 0,
        ));
    }
    let memory = &results["memory"];
    let bytes = |at: &str, what: &str| memory[at][what].as_u64().unwrap_or(0);
    let streams = memory["streams"].as_u64().unwrap_or(0);
    if streams > 0 && bytes("streams_peak", "rss_bytes") > 0 {
        let per =
            bytes("streams_peak", "rss_bytes").saturating_sub(bytes("idle", "rss_bytes")) as f64 / streams as f64 / 1e3;
        targets.push(target(
            &format!("memory per open stream ({streams} open, RSS above idle)"),
            "≤ 48 KB",
            format!("{per:.1} KB"),
            per <= 48.0,
        ));
    }
    let idle_anon = mb(bytes("idle", "anon_bytes"));
    targets.push(target(
        "idle anonymous memory, serve",
        "≤ 6 MB",
        format!(
            "{idle_anon:.1} MB (RSS {:.1} MB, PSS {:.1} MB)",
            mb(bytes("idle", "rss_bytes")),
            mb(bytes("idle", "pss_bytes"))
        ),
        idle_anon <= 6.0,
    ));
    let settled_anon = mb(bytes("settled", "anon_bytes"));
    targets.push(target(
        &format!("anonymous memory {} s after load", memory["settle_secs"]),
        "within 20% of idle",
        format!(
            "{settled_anon:.1} MB ({:+.0}%)",
            (settled_anon / idle_anon - 1.0) * 100.0
        ),
        settled_anon <= idle_anon * 1.2,
    ));
    let size = mb(results["binary_size_bytes"].as_u64().unwrap_or(0));
    targets.push(target(
        "stripped release binary (tray build)",
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

/// The per-run values of `field` (a path into each run) as "[a, b, c]".
fn per_run(runs: &Value, field: &[&str]) -> String {
    let values: Vec<String> = runs
        .as_array()
        .map(|runs| {
            runs.iter()
                .map(|run| us(field.iter().fold(run, |value: &Value, key| &value[*key])))
                .collect()
        })
        .unwrap_or_default();
    format!("[{}]", values.join(", "))
}

/// The Markdown report.
pub fn markdown(results: &Value) -> String {
    let mut out = String::new();
    let machine = &results["machine"];
    let _ = writeln!(
        out,
        "Machine: {} · {} cores · {} GiB · {} · kernel {} · {}; {}. nginx {}; medians of {} runs.{}\n",
        machine["cpu"].as_str().unwrap_or(""),
        machine["cores"],
        machine["memory_gib"],
        machine["os"].as_str().unwrap_or(""),
        machine["kernel"].as_str().unwrap_or(""),
        machine["rustc"].as_str().unwrap_or(""),
        machine["pinning"].as_str().unwrap_or(""),
        results["nginx_version"].as_str().unwrap_or("?"),
        results["method"]["runs"],
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
        "\nAdded latency (µs, subject's percentile − direct percentile; open loop, from the scheduled send time; \
         medians over the runs, each run's p50 in brackets):\n"
    );
    let _ = writeln!(
        out,
        "| path | rate (req/s) | nginx p50 / p99 | Switchyard p50 | p90 | p99 | p99.9 | Switchyard ÷ nginx, p50 | nginx p50 per run | Switchyard p50 per run | errors |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for run in results["latency"].as_array().cloned().unwrap_or_default() {
        let a = &run["added_us"];
        let n = &run["nginx_added_us"];
        let errors = run["errors"]
            .as_u64()
            .or_else(|| run["gateway"]["errors"].as_u64())
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "| {} | {} | {} / {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            run["label"].as_str().unwrap_or(""),
            run["rate"],
            us(&n["p50"]),
            us(&n["p99"]),
            us(&a["p50"]),
            us(&a["p90"]),
            us(&a["p99"]),
            us(&a["p99.9"]),
            if n["p50"].is_number() {
                format!("{:.2}×", num(&a["p50"]) / num(&n["p50"]))
            } else {
                "–".into()
            },
            if run["runs"].is_array() {
                per_run(&run["runs"], &["nginx_added_us", "p50"])
            } else {
                "–".into()
            },
            if run["runs"].is_array() {
                per_run(&run["runs"], &["added_us", "p50"])
            } else {
                "–".into()
            },
            errors
        );
    }
    let _ = writeln!(out, "\nThroughput:\n\n| measure | req/s |\n| --- | --- |");
    for found in results["saturation"].as_array().cloned().unwrap_or_default() {
        let _ = writeln!(
            out,
            "| saturation through {}, {} (highest open-loop rate with no error and added p99 ≤ 2 ms){} | {} |",
            found["subject"].as_str().unwrap_or("switchyard"),
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
    for (side, name) in [
        ("direct", "straight to the mock"),
        ("nginx", "through nginx"),
        ("gateway", "through Switchyard"),
    ] {
        if closed[side]["throughput"].is_number() {
            let _ = writeln!(
                out,
                "| closed loop, 64 connections, {}, {name} (median; runs {}) | {:.0} |",
                closed["label"].as_str().unwrap_or("passthrough"),
                per_run(&closed["runs"], &[side, "throughput"]),
                num(&closed[side]["throughput"])
            );
        }
    }
    if let Some(litellm) = results["litellm"].as_object() {
        let _ = writeln!(
            out,
            "| closed loop, 64 connections, passthrough, through LiteLLM {} | {} |",
            litellm["version"].as_str().unwrap_or(""),
            litellm["closed_loop"]["throughput"]
        );
    }
    let _ = writeln!(
        out,
        "\nStreaming ({} concurrent streams, {} text events {} ms apart each; added µs, medians over the runs):\n",
        results["streaming"][0]["streams"],
        results["method"]["stream_text_events"],
        results["method"]["stream_event_gap_ms"]
    );
    let _ = writeln!(
        out,
        "| path | nginx TTFB p50 / p99 | Switchyard TTFB p50 / p99 | Switchyard inter-chunk p50 / p99 | intact in every run | peak open |\n\
         | --- | --- | --- | --- | --- | --- |"
    );
    for s in results["streaming"].as_array().cloned().unwrap_or_default() {
        let _ = writeln!(
            out,
            "| {} | {} / {} | {} / {} | {} / {} | {}/{} | {} |",
            s["label"].as_str().unwrap_or(""),
            us(&s["nginx_added_ttfb_us"]["p50"]),
            us(&s["nginx_added_ttfb_us"]["p99"]),
            us(&s["added_ttfb_us"]["p50"]),
            us(&s["added_ttfb_us"]["p99"]),
            us(&s["added_gap_us"]["p50"]),
            us(&s["added_gap_us"]["p99"]),
            s["intact"],
            s["streams"],
            s["peak_open"]
        );
    }
    // Results from before the split was measured (no CPU per stream) skip its table.
    if results["streaming"][0]["cpu_us_per_stream"].is_number() {
        let _ = writeln!(
            out,
            "\nThe first byte split at the send (p99, µs; medians over the runs): what is added after the request \
             is handed to the connection, and how late the load generator itself sent it while streaming \
             through Switchyard; and the CPU each proxy used per stream (all its threads, from /proc):\n\n\
             | path | added after the send, nginx / Switchyard | sent late, Switchyard's runs | CPU per stream, nginx / Switchyard |\n\
             | --- | --- | --- | --- |"
        );
        for s in results["streaming"].as_array().cloned().unwrap_or_default() {
            let _ = writeln!(
                out,
                "| {} | {} / {} | {} | {} / {} |",
                s["label"].as_str().unwrap_or(""),
                us(&s["nginx_added_after_send_us"]["p99"]),
                us(&s["added_after_send_us"]["p99"]),
                us(&s["sent_late_us"]["p99"]),
                us(&s["nginx_cpu_us_per_stream"]),
                us(&s["cpu_us_per_stream"]),
            );
        }
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
    let team = &results["team"];
    if team.is_object() {
        let _ = writeln!(
            out,
            "\nTeam mode (passthrough, open loop at {} req/s; added µs, medians over the runs; saturation: highest \
             open-loop rate with no error and added p99 ≤ 2 ms; {}):\n\n| gateway | added p50 | added p99 | p50 per run | saturation (req/s) |\n| --- | --- | --- | --- | --- |",
            team["rows"][0]["rate"],
            team["engines"].as_str().unwrap_or("")
        );
        for row in team["rows"].as_array().cloned().unwrap_or_default() {
            let per_run: Vec<String> = row["added_p50_per_run_us"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|v| format!("{:.0}", v.as_f64().unwrap_or(0.0)))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | [{}] | {} |",
                row["label"].as_str().unwrap_or(""),
                us(&row["added_us"]["p50"]),
                us(&row["added_us"]["p99"]),
                per_run.join(", "),
                row["saturation"]
            );
        }
        let _ = writeln!(
            out,
            "\nThe team gateway's Postgres log held {} records at the end.",
            team["postgres_records"]
        );
    }
    let memory = &results["memory"];
    let _ = writeln!(
        out,
        "\nMemory (MB; RSS counts every resident page, PSS divides shared pages among the processes mapping them, \
         anonymous is the process's own heap and stacks):\n\n| when | RSS | PSS | anonymous |\n| --- | --- | --- | --- |"
    );
    for (at, name) in [
        ("idle", "idle".to_string()),
        ("after_rate_runs", "after the rate and closed-loop runs".to_string()),
        ("streams_peak", format!("peak with {} streams open", memory["streams"])),
        ("settled", format!("{} s after the load", memory["settle_secs"])),
    ] {
        let _ = writeln!(
            out,
            "| {name} | {:.1} | {:.1} | {:.1} |",
            mb(memory[at]["rss_bytes"].as_u64().unwrap_or(0)),
            mb(memory[at]["pss_bytes"].as_u64().unwrap_or(0)),
            mb(memory[at]["anon_bytes"].as_u64().unwrap_or(0)),
        );
    }
    let _ = writeln!(
        out,
        "\nBinary {:.1} MB. Start to listening {:.1} ms median.",
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
    fn targets_judge_against_nginx() {
        let results = json!({
            "latency": [
                {"scenario": "openai_to_openai", "label": "pass", "rate": 2000.0, "runs": [],
                 "added_us": {"p50": 100.0, "p99": 400.0}, "nginx_added_us": {"p50": 80.0, "p99": 150.0}, "errors": 0},
                {"scenario": "openai_to_gemini", "label": "tr", "rate": 2000.0, "runs": [],
                 "added_us": {"p50": 110.0, "p99": 700.0}, "nginx_added_us": {"p50": 80.0, "p99": 150.0}, "errors": 0},
            ],
            "closed_loop": {"gateway": {"throughput": 5000.0}, "nginx": {"throughput": 10000.0}},
            "streaming": [{"label": "s", "streams": 10, "intact": 10, "peak_open": 10,
                           "added_ttfb_us": {"p99": 2500.0}, "nginx_added_ttfb_us": {"p99": 1000.0}}],
            "memory": {"idle": {"rss_bytes": 10_000_000u64, "anon_bytes": 4_000_000u64},
                       "streams_peak": {"rss_bytes": 10_400_000u64},
                       "settled": {"anon_bytes": 5_000_000u64}, "streams": 10, "settle_secs": 60},
            "binary_size_bytes": 16_000_000u64,
            "startup_ms": {"median": 12.0, "max": 20.0},
        });
        let targets = with_targets(results)["targets"].as_array().cloned().unwrap();
        let held = |prefix: &str| {
            targets
                .iter()
                .find(|t| t["target"].as_str().unwrap().starts_with(prefix))
                .map(|t| t["held"] == true)
                .unwrap_or_else(|| panic!("no target {prefix}"))
        };
        assert!(held("added p50 at 2000 req/s, pass"), "100 ≤ 1.3 × 80");
        assert!(!held("added p50 at 2000 req/s, tr"), "110 > 80 + 25");
        assert!(held("added p99 at 2000 req/s, pass"), "400 ≤ 150 + 300");
        assert!(!held("added p99 at 2000 req/s, tr"), "700 > 2 × 150 and > 150 + 300");
        assert!(!held("closed-loop throughput, passthrough"), "0.5× < 0.6×");
        assert!(!held("streaming added TTFB p99, s"), "2.5 ms > 1 ms + 1 ms");
        assert!(held("10 concurrent streams intact, s"));
        assert!(held("memory per open stream"), "0.4 MB over 10 streams is 40 KB each");
        assert!(held("idle anonymous memory"));
        assert!(!held("anonymous memory 60 s after load"), "+25% > +20%");
        assert!(!held("stripped release binary"));
        assert!(held("start to listening"));
        let md = markdown(&with_targets(json!({"targets": []})));
        assert!(md.contains("| target | goal | measured | held |"));
    }

    #[test]
    fn the_median_of_each_percentile() {
        let p = |v: f64| Percentiles {
            p50: v,
            p90: v * 2.0,
            p99: v * 3.0,
            p999: v * 4.0,
        };
        let m = Percentiles::median(&[p(3.0), p(1.0), p(2.0)]);
        assert_eq!((m.p50, m.p90, m.p99, m.p999), (2.0, 4.0, 6.0, 8.0));
        assert_eq!(crate::median(vec![4.0, 1.0]), 2.5);
        assert!(crate::median(Vec::new()).is_nan());
    }
}
