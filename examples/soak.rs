//! The load side of the soak run (`scripts/soak`): mixed streaming and
//! non-streaming traffic through a running gateway for a bounded time,
//! sampling the gateway's resident memory into a CSV file.
//!
//! ```text
//! cargo run --example soak -- --base http://127.0.0.1:PORT --pid PID \
//!     [--duration-secs 600] [--concurrency 16] [--sample-secs 5] [--out bench/out/soak-rss.csv]
//! ```
//!
//! Every worker cycles through the client protocols (Chat Completions,
//! Messages, Gemini, Responses) × the upstream model families (`gpt-*`,
//! `claude-*`, `gemini-*`, i.e. every translation and every passthrough) ×
//! complete and streamed answers; one streamed request in eight is dropped
//! after its first bytes, as a client that goes away does. The run stops by
//! itself after the duration; traffic goes to the given loopback address
//! only. At the end it prints the request counts and the memory figures:
//! RSS after warm-up (the mean of the second minute, or of the second
//! sixth of a shorter run), at the end (mean of the last minute), the
//! peak, and the growth between the two means.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

#[derive(Debug, Clone)]
struct Options {
    base: String,
    pid: u32,
    duration: Duration,
    concurrency: usize,
    sample: Duration,
    out: String,
}

const USAGE: &str =
    "usage: soak --base URL --pid PID [--duration-secs N] [--concurrency N] [--sample-secs N] [--out FILE]";

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        base: String::new(),
        pid: 0,
        duration: Duration::from_secs(600),
        concurrency: 16,
        sample: Duration::from_secs(5),
        out: "bench/out/soak-rss.csv".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(name) = args.next() {
        let value = args.next().ok_or_else(|| format!("{name} needs a value\n{USAGE}"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{name}: `{value}` is not a number"))
        };
        match name.as_str() {
            "--base" => options.base = value.trim_end_matches('/').to_string(),
            "--pid" => options.pid = number()? as u32,
            "--duration-secs" => options.duration = Duration::from_secs(number()?),
            "--concurrency" => options.concurrency = number()?.max(1) as usize,
            "--sample-secs" => options.sample = Duration::from_secs(number()?.max(1)),
            "--out" => options.out = value,
            _ => return Err(format!("unknown option `{name}`\n{USAGE}")),
        }
    }
    if options.base.is_empty() || options.pid == 0 {
        return Err(USAGE.to_string());
    }
    let host = options.base.trim_start_matches("http://");
    if !(host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")) {
        return Err(format!(
            "--base {}: the soak run only targets loopback addresses",
            options.base
        ));
    }
    Ok(options)
}

/// The gateway's resident set size in KiB, from /proc.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One kind of request of the mix.
#[derive(Debug, Clone, Copy)]
struct Kind {
    client: usize,
    model: &'static str,
    stream: bool,
}

const CLIENTS: [&str; 4] = ["chat", "messages", "gemini", "responses"];
const MODELS: [&str; 3] = ["gpt-4.1", "claude-sonnet-4-5", "gemini-2.5-flash"];

fn kinds() -> Vec<Kind> {
    let mut kinds = Vec::new();
    for client in 0..CLIENTS.len() {
        for model in MODELS {
            for stream in [false, true] {
                kinds.push(Kind { client, model, stream });
            }
        }
    }
    kinds
}

fn request(http: &reqwest::Client, base: &str, kind: Kind, n: u64) -> reqwest::RequestBuilder {
    let question = format!("Say hello, request {n}.");
    let (path, body) = match CLIENTS[kind.client] {
        "chat" => (
            "/v1/chat/completions".to_string(),
            json!({"model": kind.model, "stream": kind.stream, "messages": [{"role": "user", "content": question}]}),
        ),
        "messages" => (
            "/v1/messages".to_string(),
            json!({"model": kind.model, "max_tokens": 64, "stream": kind.stream, "messages": [{"role": "user", "content": question}]}),
        ),
        "gemini" => {
            let method = if kind.stream {
                "streamGenerateContent?alt=sse"
            } else {
                "generateContent"
            };
            (
                format!("/v1beta/models/{}:{method}", kind.model),
                json!({"contents": [{"role": "user", "parts": [{"text": question}]}]}),
            )
        }
        _ => (
            "/v1/responses".to_string(),
            json!({"model": kind.model, "stream": kind.stream, "input": question, "store": false}),
        ),
    };
    http.post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .body(body.to_string())
}

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

async fn worker(id: usize, options: Arc<Options>, counts: Arc<Counts>, until: Instant) {
    let http = switchyard::upstream::http_client()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let kinds = kinds();
    let mut n = id as u64;
    while Instant::now() < until {
        n += 1;
        let kind = kinds[(n as usize) % kinds.len()];
        // Every eighth pass through the mix, the streams are dropped early.
        let drop_early = kind.stream && (n / kinds.len() as u64).is_multiple_of(8);
        let outcome = async {
            let mut response = request(&http, &options.base, kind, n).send().await.ok()?;
            if !response.status().is_success() {
                return None;
            }
            if drop_early {
                response.chunk().await.ok()?;
                return Some(true);
            }
            let body = response.bytes().await.ok()?;
            (!body.is_empty()).then_some(false)
        }
        .await;
        match outcome {
            Some(true) => counts.dropped.fetch_add(1, Ordering::Relaxed),
            Some(false) => counts.ok.fetch_add(1, Ordering::Relaxed),
            None => counts.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

fn mean(values: &[u64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<u64>() as f64 / values.len() as f64
}

#[tokio::main]
async fn main() {
    let options = match parse_args() {
        Ok(options) => Arc::new(options),
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if rss_kib(options.pid).is_none() {
        eprintln!(
            "soak: no process {} to measure (/proc/{}/status)",
            options.pid, options.pid
        );
        std::process::exit(1);
    }
    if let Some(dir) = std::path::Path::new(&options.out).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut csv = std::fs::File::create(&options.out).unwrap_or_else(|err| {
        eprintln!("soak: cannot write {}: {err}", options.out);
        std::process::exit(1);
    });
    writeln!(csv, "elapsed_s,rss_kib,requests_ok,requests_failed,streams_dropped").unwrap();

    let started = Instant::now();
    let until = started + options.duration;
    let counts = Arc::new(Counts::default());
    let workers: Vec<_> = (0..options.concurrency)
        .map(|id| tokio::spawn(worker(id, options.clone(), counts.clone(), until)))
        .collect();

    let mut samples: Vec<(f64, u64)> = Vec::new();
    loop {
        let elapsed = started.elapsed();
        let Some(rss) = rss_kib(options.pid) else {
            eprintln!("soak: the gateway (pid {}) is gone after {elapsed:?}", options.pid);
            std::process::exit(1);
        };
        samples.push((elapsed.as_secs_f64(), rss));
        writeln!(
            csv,
            "{:.1},{rss},{},{},{}",
            elapsed.as_secs_f64(),
            counts.ok.load(Ordering::Relaxed),
            counts.failed.load(Ordering::Relaxed),
            counts.dropped.load(Ordering::Relaxed)
        )
        .unwrap();
        let _ = csv.flush();
        if elapsed >= options.duration {
            break;
        }
        tokio::time::sleep(options.sample.min(options.duration - elapsed)).await;
    }
    for worker in workers {
        let _ = worker.await;
    }
    // One last sample once the load has stopped.
    let idle = rss_kib(options.pid).unwrap_or(0);

    let total = options.duration.as_secs_f64();
    let window = if total >= 180.0 { 60.0 } else { total / 6.0 };
    let in_range = |from: f64, to: f64| -> Vec<u64> {
        samples
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, rss)| *rss)
            .collect()
    };
    let warm = mean(&in_range(window, 2.0 * window));
    let end = mean(&in_range(total - window, total + 1.0));
    let peak = samples.iter().map(|(_, rss)| *rss).max().unwrap_or(0);
    let ok = counts.ok.load(Ordering::Relaxed);
    let failed = counts.failed.load(Ordering::Relaxed);
    let dropped = counts.dropped.load(Ordering::Relaxed);
    let summary = json!({
        "duration_s": total,
        "concurrency": options.concurrency,
        "requests_ok": ok,
        "requests_failed": failed,
        "streams_dropped_by_client": dropped,
        "requests_per_s": ((ok + failed + dropped) as f64 / total).round(),
        "rss_after_warmup_mib": (warm / 1024.0 * 10.0).round() / 10.0,
        "rss_at_end_mib": (end / 1024.0 * 10.0).round() / 10.0,
        "rss_peak_mib": (peak as f64 / 1024.0 * 10.0).round() / 10.0,
        "rss_idle_after_mib": (idle as f64 / 1024.0 * 10.0).round() / 10.0,
        "growth_mib": ((end - warm) / 1024.0 * 10.0).round() / 10.0,
        "samples": samples.len(),
        "csv": options.out,
    });
    println!("{}", serde_json::to_string_pretty(&summary).unwrap());
    let summary_path = format!("{}.summary.json", options.out.trim_end_matches(".csv"));
    let _ = std::fs::write(&summary_path, format!("{summary:#}\n"));
    if failed > 0 && failed * 100 > ok {
        eprintln!("soak: more than 1% of the requests failed");
        std::process::exit(1);
    }
}
