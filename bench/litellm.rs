//! LiteLLM's proxy under the same load, for comparison (`--litellm`).
//!
//! Installs `litellm[proxy]` from PyPI into a private venv under the work
//! directory (reused on later runs), starts it with one worker on the
//! gateway's core, its OpenAI-compatible provider pointing at the same
//! zero-latency mock, and runs the passthrough load through it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::procs;
use crate::report::mb;
use crate::scenarios::{self, FAST_OPENAI_MODEL};
use crate::{Timing, closed_loop, measure_pair, say};

/// The open-loop rate both are compared at: LiteLLM holds it, Switchyard
/// runs it too.
pub const RATE: f64 = 50.0;

/// Installs LiteLLM when needed and measures it; the JSON for `results.json`.
pub async fn measure(work_dir: &Path, mock: SocketAddr, core: Option<usize>, timing: Timing) -> Result<Value, String> {
    let venv = work_dir.join("litellm-venv");
    let python = venv.join("bin/python");
    let litellm = venv.join("bin/litellm");
    if !litellm.exists() {
        say(format!("installing litellm[proxy] into {}", venv.display()));
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
        run(Command::new(venv.join("bin/pip")).args(["install", "-q", "litellm[proxy]"]))?;
    }
    let version = Command::new(&python)
        .args(["-c", "import importlib.metadata as m; print(m.version('litellm'))"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let config = work_dir.join("litellm.yaml");
    std::fs::write(
        &config,
        format!(
            "model_list:\n  - model_name: {FAST_OPENAI_MODEL}\n    litellm_params:\n      model: openai/{FAST_OPENAI_MODEL}\n      \
             api_base: http://{mock}/v1\n      api_key: {}\n",
            procs::MOCK_KEY
        ),
    )
    .map_err(|err| format!("{}: {err}", config.display()))?;
    let port = procs::free_port()?;
    let mut command = Command::new(&litellm);
    command
        .arg("--config")
        .arg(&config)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--num_workers", "1"])
        // No network but loopback here: use the bundled model cost map.
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        // Recent versions refuse to start without a master key; clients
        // then present it, as the benchmark's requests do.
        .env("LITELLM_MASTER_KEY", scenarios::LITELLM_KEY)
        .env("LITELLM_LOG", "ERROR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut process = procs::start_other("litellm", command, core)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let startup = procs::wait_listening(addr, &mut process, Duration::from_secs(180))?;
    say(format!(
        "LiteLLM {version} listening on {addr} after {:.1} s",
        startup.as_secs_f64()
    ));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = procs::tree_rss(process.pid()).unwrap_or(0);

    let target = scenarios::litellm(addr);
    let direct = scenarios::complete(addr, mock)[0].direct.clone();
    let pair = measure_pair(&direct, &target, RATE, timing, timing.measure).await?;
    say(format!(
        "LiteLLM at {RATE} req/s: added p50 {:.1} ms, p99 {:.1} ms, errors {}",
        pair.added.p50 / 1e6,
        pair.added.p99 / 1e6,
        pair.gateway["errors"]
    ));
    let closed = closed_loop(&target, timing).await?;
    say(format!("LiteLLM closed loop: {} req/s", closed["throughput"]));
    let loaded_rss = procs::tree_rss(process.pid()).unwrap_or(0);
    drop(process);
    Ok(json!({
        "version": version,
        "workers": 1,
        "startup_secs": startup.as_secs_f64(),
        "latency": {
            "rate": RATE,
            "direct": pair.direct,
            "gateway": pair.gateway,
            "added_us": pair.added.micros(),
        },
        "closed_loop": closed,
        "idle_rss_bytes": idle_rss,
        "loaded_rss_bytes": loaded_rss,
    }))
}

fn run(command: &mut Command) -> Result<(), String> {
    procs::normal_priority(command);
    let status = command
        .status()
        .map_err(|err| format!("cannot run {command:?}: {err}"))?;
    if !status.success() {
        return Err(format!("{command:?} failed ({status}); is PyPI reachable?"));
    }
    Ok(())
}

/// Adds `litellm.comparison`: Switchyard and LiteLLM side by side, with ratios.
pub fn compare(results: &mut Value) {
    if !results["litellm"].is_object() {
        return;
    }
    let ours = results["latency"]
        .as_array()
        .and_then(|runs| {
            runs.iter()
                .find(|r| r["scenario"] == "openai_to_openai" && r["rate"].as_f64() == Some(RATE))
        })
        .cloned()
        .unwrap_or(Value::Null);
    let theirs = results["litellm"]["latency"].clone();
    let mut rows = Vec::new();
    for (key, name) in [("p50", "p50"), ("p99", "p99")] {
        let a = ours["added_us"][key].as_f64().unwrap_or(f64::NAN);
        let b = theirs["added_us"][key].as_f64().unwrap_or(f64::NAN);
        rows.push(json!({
            "measure": format!("added latency {name} at {RATE} req/s, passthrough"),
            "switchyard": format!("{a:.0} µs"),
            "litellm": format!("{:.1} ms", b / 1000.0),
            "ratio": format!("{:.0}× less", b / a.max(1.0)),
        }));
    }
    let a = results["closed_loop"]["gateway"]["throughput"]
        .as_f64()
        .unwrap_or(f64::NAN);
    let b = results["litellm"]["closed_loop"]["throughput"]
        .as_f64()
        .unwrap_or(f64::NAN);
    rows.push(json!({
        "measure": "throughput, closed loop, 64 connections",
        "switchyard": format!("{a:.0} req/s"),
        "litellm": format!("{b:.0} req/s"),
        "ratio": format!("{:.0}× more", a / b),
    }));
    let a = mb(results["memory"]["idle"]["rss_bytes"].as_u64().unwrap_or(0));
    let b = mb(results["litellm"]["idle_rss_bytes"].as_u64().unwrap_or(0));
    rows.push(json!({
        "measure": "idle RSS",
        "switchyard": format!("{a:.1} MB"),
        "litellm": format!("{b:.0} MB"),
        "ratio": format!("{:.0}× less", b / a),
    }));
    let a = results["startup_ms"]["median"].as_f64().unwrap_or(f64::NAN);
    let b = results["litellm"]["startup_secs"].as_f64().unwrap_or(f64::NAN) * 1000.0;
    rows.push(json!({
        "measure": "start to listening",
        "switchyard": format!("{a:.1} ms"),
        "litellm": format!("{:.1} s", b / 1000.0),
        "ratio": format!("{:.0}× faster", b / a),
    }));
    results["litellm"]["comparison"] = Value::Array(rows);
}
