//! Switchyard's benchmark: what the gateway adds, measured against a
//! zero-latency mock upstream on loopback, optionally beside LiteLLM.
//!
//! ```text
//! bench/run [--quick] [--litellm]          # builds in release, then runs this
//! ```
//!
//! It starts `examples/mock_upstream` twice (one answering at once, one
//! spacing its stream events) and `switchyard serve` with accounts on both,
//! pins them to cores, and measures, each time straight to the mock and
//! through the gateway at the same rate: added latency (p50/p90/p99/p99.9) of
//! the passthrough and translated paths under open-loop constant load,
//! saturation throughput, streaming time-to-first-byte and inter-chunk
//! latency with 1000 concurrent streams (checked for lost or reordered
//! events), memory, binary size and start-up time. `--litellm` installs
//! LiteLLM's proxy into a private venv and runs the passthrough load through
//! it against the same mock. Results go to `bench/results.json` and
//! `bench/results.md`. Not a test: `cargo test` only builds it and runs its
//! unit tests.

mod keys;
mod litellm;
mod load;
mod nginx;
mod procs;
mod report;
mod scenarios;
mod streams;
mod team;
mod ticker;
mod versus;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};

use crate::load::{Pace, Run, Target};
use crate::procs::Process;
use crate::report::{Percentiles, added, mb};
use crate::scenarios::{FAST_GEMINI_MODEL, FAST_OPENAI_MODEL, STREAM_GEMINI_MODEL, STREAM_OPENAI_MODEL};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Measures what Switchyard adds over a zero-latency upstream, optionally beside LiteLLM")]
struct Options {
    /// Where `switchyard` and `examples/mock_upstream` were built (release).
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Where results.json and results.md are written.
    #[arg(long, default_value = "bench")]
    results_dir: PathBuf,
    /// Scratch space: the gateway's home, LiteLLM's venv and config.
    #[arg(long, default_value = "bench/out")]
    work_dir: PathBuf,
    /// Short runs, for checking the harness itself (numbers are rough).
    #[arg(long)]
    quick: bool,
    /// Also install LiteLLM's proxy (PyPI, private venv) and measure it.
    #[arg(long)]
    litellm: bool,
    /// The open-loop rate of the added-latency runs, in requests per second.
    #[arg(long, default_value_t = 2000.0)]
    rate: f64,
    /// Concurrent streams in the streaming runs.
    #[arg(long, default_value_t = 1000)]
    streams: usize,
    /// How many times each latency, closed-loop and streaming measurement
    /// is repeated (direct, nginx and Switchyard in turn); the report gives
    /// the medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The path of the closed-loop runs (`openai_to_openai`, the
    /// passthrough, by default; `bench/flame` also profiles `openai_to_gemini`).
    #[arg(long, default_value = "openai_to_openai")]
    closed_path: String,
    /// Seconds to wait after the load before the last memory reading.
    #[arg(long, default_value_t = 60)]
    settle_secs: u64,
    /// The phases to run (default: all), e.g. `--phases latency,streams`.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "latency,saturation,closed,streams,keys,team"
    )]
    phases: Vec<Phase>,
    /// Cores of the load generator, the mocks and the gateway (or LiteLLM).
    /// By default the load generator has core 0 to itself, so it never
    /// competes with what it measures, and the mocks share core 1 with the
    /// gateway: a direct request and a gateway request then both cross
    /// cores once (client to server), and the difference is the gateway's
    /// own work and its extra hop, not an extra cross-core wake-up.
    #[arg(long, value_delimiter = ',', default_value = "0,1,1")]
    cores: Vec<usize>,
    /// Run at normal priority. By default the harness and everything it
    /// starts run at real-time priority (SCHED_FIFO 1, needs root), so that
    /// other work on a shared machine delays them less; the kernel keeps 5%
    /// of each core for other processes even then.
    #[arg(long)]
    no_realtime: bool,
    /// Let idle cores sleep. By default the harness holds a CPU latency
    /// bound of 0 µs for the whole run (needs root), so that a core waiting
    /// for the next request polls instead of halting: on a VM, waking a
    /// halted vCPU adds a delay that varies from run to run.
    #[arg(long)]
    allow_idle: bool,
    /// A `config.toml` for the gateway's home (copied in before the
    /// accounts are added), to measure what a setting costs: e.g.
    /// `[monitor] persist = false` for the gateway without its request log.
    #[arg(long)]
    gateway_config: Option<PathBuf>,
    /// Another `switchyard` build, measured against this one in the same
    /// interleaved rounds by the `versus` phase (`bench/compare`).
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Measure nothing: rewrite results.md (and the targets in
    /// results.json) from the results.json already in --results-dir.
    #[arg(long)]
    report_only: bool,
}

/// A part of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Phase {
    /// Added latency at the open-loop rate.
    Latency,
    /// The saturation search.
    Saturation,
    /// Closed-loop throughput.
    Closed,
    /// Concurrent streams.
    Streams,
    /// Client keys: added latency with a client key beside the gateway
    /// key, and a burst of concurrent calls against a key's limit.
    Keys,
    /// Team mode: a second gateway on Redis and Postgres beside the
    /// in-process one (starts redis-server and postgres on loopback).
    Team,
    /// This build against `--baseline`: added latency and closed-loop
    /// throughput, both gateways in the same interleaved rounds (not in the
    /// default phases).
    Versus,
}

/// Concurrent calls in the client-key burst, each on its own connection
/// (well within the gateway's connection cap of 4096).
const BURST_CALLS: usize = 2000;
/// The burst key's `--rpm`: half the burst must be served, half refused.
const BURST_RPM: u32 = 1000;

/// Text events of each benchmark stream, and the mock's pause between
/// events: 1000 streams opened over a second then all stay open together
/// for more than a second, at ~10 000 events a second in all.
const STREAM_TEXT_EVENTS: u32 = 20;
/// See [`STREAM_TEXT_EVENTS`].
const STREAM_EVENT_GAP_MS: u32 = 100;

/// Durations of one measurement.
#[derive(Debug, Clone, Copy)]
struct Timing {
    warmup: Duration,
    measure: Duration,
    saturation_measure: Duration,
}

/// Which core each process runs on (`None`: not pinned).
struct Cores {
    /// The load generator.
    harness: Option<usize>,
    /// The mock upstreams.
    mock: Option<usize>,
    /// The gateway, or LiteLLM.
    subject: Option<usize>,
}

fn main() {
    let options = Options::parse();
    if options.report_only {
        if let Err(message) = rewrite_report(&options.results_dir) {
            eprintln!("bench: {message}");
            std::process::exit(1);
        }
        return;
    }
    let cores = match options.cores.as_slice() {
        _ if procs::cores() < 2 => Cores {
            harness: None,
            mock: None,
            subject: None,
        },
        [harness, mock, subject] => Cores {
            harness: Some(*harness),
            mock: Some(*mock),
            subject: Some(*subject),
        },
        _ => {
            eprintln!("bench: --cores takes three core numbers: load generator, mocks, gateway");
            std::process::exit(2);
        }
    };
    // Pin and prioritise before the runtime starts, so that every thread of
    // ours and every process we start inherits both.
    procs::pin_self(cores.harness);
    let realtime = !options.no_realtime && procs::realtime();
    let awake = if options.allow_idle {
        None
    } else {
        procs::hold_cpus_awake()
    };
    raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(options, cores, realtime, awake.is_some())) {
        Ok(()) => {}
        Err(message) => {
            eprintln!("bench: {message}");
            std::process::exit(1);
        }
    }
}

/// `--report-only`: the targets and results.md again, from results.json.
fn rewrite_report(dir: &std::path::Path) -> Result<(), String> {
    let path = dir.join("results.json");
    let text = std::fs::read_to_string(&path).map_err(|err| format!("{}: {err}", path.display()))?;
    let results: Value = serde_json::from_str(&text).map_err(|err| format!("{}: {err}", path.display()))?;
    report::write(dir, &report::with_targets(results))?;
    say(format!("rewrote {}", dir.join("results.md").display()));
    Ok(())
}

/// 1000 streams through the gateway hold 2000 sockets in the gateway and
/// 2000 here: lift the soft descriptor limit to the hard one (children inherit it).
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit with a valid resource and a pointer to a
    // struct on our stack.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn say(message: impl AsRef<str>) {
    eprintln!("bench: {}", message.as_ref());
}

async fn run(options: Options, cores: Cores, realtime: bool, awake: bool) -> Result<(), String> {
    let phase = |p: Phase| options.phases.contains(&p);
    let timing = if options.quick {
        Timing {
            warmup: Duration::from_millis(500),
            measure: Duration::from_secs(2),
            saturation_measure: Duration::from_secs(2),
        }
    } else {
        Timing {
            warmup: Duration::from_secs(2),
            measure: Duration::from_secs(10),
            saturation_measure: Duration::from_secs(5),
        }
    };
    let switchyard = options.bin_dir.join("switchyard");
    let mock_binary = options.bin_dir.join("examples/mock_upstream");
    let binary_size = std::fs::metadata(&switchyard)
        .map_err(|err| format!("{}: {err} (run bench/run, which builds it)", switchyard.display()))?
        .len();
    std::fs::create_dir_all(&options.work_dir).map_err(|err| format!("{}: {err}", options.work_dir.display()))?;

    let (_fast_mock, fast) = procs::start_mock(&mock_binary, cores.mock, &mock_upstream::Options::default())?;
    let slow_options = mock_upstream::Options {
        chunk_delay: Duration::from_millis(u64::from(STREAM_EVENT_GAP_MS)),
        stream_pieces: STREAM_TEXT_EVENTS as usize,
        ..mock_upstream::Options::default()
    };
    let (_slow_mock, slow) = procs::start_mock(&mock_binary, cores.mock, &slow_options)?;
    say(format!(
        "mocks on {fast} (zero latency) and {slow} ({STREAM_EVENT_GAP_MS} ms between stream events)"
    ));

    let home = procs::Home::create(options.work_dir.join("home"), &switchyard)?;
    if let Some(config) = &options.gateway_config {
        std::fs::copy(config, home.dir.join("config.toml")).map_err(|err| format!("{}: {err}", config.display()))?;
        say(format!("the gateway's config.toml: {}", config.display()));
    }
    say(format!("the gateway's log: {}", home.log.display()));
    home.add_account("openai", &format!("http://{fast}/v1"), "gpt-*")?;
    home.add_account("gemini", &format!("http://{fast}"), "gemini-*")?;
    home.add_account("openai", &format!("http://{slow}/v1"), "stream-gpt-*")?;
    home.add_account("gemini", &format!("http://{slow}"), "stream-gemini-*")?;
    let keys = if phase(Phase::Keys) {
        Some(BenchKeys {
            gateway: home.gateway_key()?,
            client: home.add_key("bench-client", &["--models", "gpt-*,gemini-*"])?,
            burst: home.add_key("bench-burst", &["--rpm", &BURST_RPM.to_string()])?,
        })
    } else {
        None
    };

    // Start-up: process start to a socket that accepts, several times.
    let mut startups = Vec::new();
    let mut gateway = None;
    for attempt in 0..7 {
        let port = procs::free_port()?;
        let started = Instant::now();
        let mut process = home.serve(port, cores.subject)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        procs::wait_listening(addr, &mut process, Duration::from_secs(10))?;
        startups.push(started.elapsed());
        if attempt == 6 {
            gateway = Some((process, addr));
        }
    }
    startups.sort();
    let (mut gateway, gateway_addr) = gateway.ok_or("no gateway")?;
    say(format!(
        "gateway on {gateway_addr} (pid {}); start to listening: {:.1} ms (median of {})",
        gateway.pid(),
        ms(startups[startups.len() / 2]),
        startups.len()
    ));

    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = gateway.memory().ok_or("the gateway is not running")?;
    say(format!(
        "idle: RSS {:.1} MB, PSS {:.1} MB, anonymous {:.1} MB",
        mb(idle.rss),
        mb(idle.pss),
        mb(idle.anon)
    ));

    let nginx = nginx::start(&options.work_dir, fast, slow, cores.subject)?;
    say(format!(
        "nginx {} on {} and {} (bench/nginx.conf)",
        nginx.version, nginx.fast, nginx.paced
    ));
    let runs = options.runs.max(1);

    // Added latency at the target rate: direct, nginx and the gateway in
    // turn, `runs` times; the medians are reported.
    let mut latency = Vec::new();
    let latency_scenarios = if phase(Phase::Latency) { 3 } else { 0 };
    for scenario in scenarios::complete(gateway_addr, fast)
        .into_iter()
        .take(latency_scenarios)
    {
        if options.litellm && scenario.key == "openai_to_openai" {
            // LiteLLM's own rate, for the comparison beside it.
            let rate = litellm::RATE;
            let pair = measure_pair(&scenario.direct, &scenario.gateway, rate, timing, timing.measure).await?;
            latency.push(json!({
                "scenario": scenario.key,
                "label": scenario.label,
                "rate": rate,
                "direct": pair.direct,
                "gateway": pair.gateway,
                "added_us": pair.added.micros(),
            }));
        }
        let via_nginx = scenario.direct.at(nginx.fast);
        let mut trios = Vec::new();
        for run in 0..runs {
            let trio = measure_trio(&scenario.direct, &via_nginx, &scenario.gateway, options.rate, timing).await?;
            say(format!(
                "{} at {} req/s, run {}: added p50 nginx {:.0} µs, gateway {:.0} µs; p99 nginx {:.0} µs, gateway {:.0} µs",
                scenario.label,
                options.rate,
                run + 1,
                trio.nginx_added.p50 / 1000.0,
                trio.gateway_added.p50 / 1000.0,
                trio.nginx_added.p99 / 1000.0,
                trio.gateway_added.p99 / 1000.0
            ));
            trios.push(trio);
        }
        latency.push(trio_json(&scenario, options.rate, &trios));
    }
    check_alive(&mut gateway)?;

    // Saturation: the highest open-loop rate with no error and added p99 ≤
    // 2 ms, through the gateway for two paths and through nginx for one
    // (nginx forwards every path alike). One search each: the search itself
    // runs a dozen measurements.
    let mut saturation = Vec::new();
    let searched = if phase(Phase::Saturation) { 2 } else { 0 };
    for scenario in scenarios::complete(gateway_addr, fast).into_iter().take(searched) {
        let mut subjects = vec![("switchyard", scenario.gateway.clone())];
        if scenario.key == "openai_to_openai" {
            subjects.push(("nginx", scenario.direct.at(nginx.fast)));
        }
        for (subject, target) in subjects {
            let mut found = saturate(scenario.key, &scenario.direct, &target, timing, options.quick).await?;
            say(format!(
                "{} through {subject} saturates at {} req/s",
                scenario.label, found["rate"]
            ));
            found["label"] = json!(scenario.label);
            found["subject"] = json!(subject);
            saturation.push(found);
        }
    }
    check_alive(&mut gateway)?;

    // Closed loop: throughput when every connection sends back to back.
    let paths = scenarios::complete(gateway_addr, fast);
    let passthrough = paths
        .iter()
        .find(|s| s.key == options.closed_path)
        .ok_or_else(|| format!("--closed-path {}: no such path", options.closed_path))?;
    let closed = if phase(Phase::Closed) {
        let via_nginx = passthrough.direct.at(nginx.fast);
        let mut runs_json = Vec::new();
        for run in 0..runs {
            let direct = closed_loop(&passthrough.direct, timing).await?;
            let through_nginx = closed_loop(&via_nginx, timing).await?;
            let gateway = closed_loop(&passthrough.gateway, timing).await?;
            say(format!(
                "closed loop, run {}: direct {} req/s, nginx {} req/s, gateway {} req/s",
                run + 1,
                direct["throughput"],
                through_nginx["throughput"],
                gateway["throughput"]
            ));
            runs_json.push(json!({"direct": direct, "nginx": through_nginx, "gateway": gateway}));
        }
        let median = |side: &str| median(runs_json.iter().map(|r| num(&r[side]["throughput"])).collect());
        json!({
            "scenario": passthrough.key,
            "label": passthrough.label,
            "direct": {"throughput": median("direct")},
            "nginx": {"throughput": median("nginx")},
            "gateway": {"throughput": median("gateway")},
            "runs": runs_json,
        })
    } else {
        json!({"direct": null, "nginx": null, "gateway": null})
    };
    let loaded = gateway.memory().unwrap_or_default();

    // Streams: each path straight to the mock, through nginx and through the
    // gateway, `runs` times; the gateway's memory is sampled while they are open.
    let mut streaming = Vec::new();
    let mut streams_peak = procs::Memory::default();
    let streamed = if phase(Phase::Streams) { 3 } else { 0 };
    for scenario in scenarios::streamed(gateway_addr, slow).into_iter().take(streamed) {
        let run = |target: &Arc<Target>, wire: streams::Wire| streams::StreamRun {
            target: target.clone(),
            wire,
            expected_text: scenario.expected_text.clone(),
            streams: options.streams,
            ramp: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
        };
        let (direct_target, direct_wire) = &scenario.direct;
        let via_nginx = direct_target.at(nginx.paced);
        let mut runs_json = Vec::new();
        let mut added_ttfb = Vec::new();
        let mut nginx_ttfb = Vec::new();
        let mut added_gaps = Vec::new();
        let mut served = Vec::new();
        let mut nginx_served = Vec::new();
        let mut late = Vec::new();
        let mut cpu = Vec::new();
        let mut nginx_cpu = Vec::new();
        let mut intact = u64::MAX;
        let mut peak_open = 0;
        for round in 0..runs {
            let direct = streams::drive(&run(direct_target, *direct_wire)).await?;
            // What each proxy, and the load generator beside it, spent per stream.
            let before = (nginx.process.cpu(), procs::Own::now());
            let through_nginx = streams::drive(&run(&via_nginx, *direct_wire)).await?;
            let nginx_cpu_per_stream = per_stream(nginx.process.cpu().saturating_sub(before.0), options.streams);
            let nginx_own = procs::Own::now().since(&before.1);
            let sampler = MemorySampler::start(gateway.pid());
            let before = (gateway.cpu(), procs::Own::now());
            let through = streams::drive(&run(&scenario.gateway.0, scenario.gateway.1)).await?;
            let cpu_per_stream = per_stream(gateway.cpu().saturating_sub(before.0), options.streams);
            let gateway_own = procs::Own::now().since(&before.1);
            let [nginx_load, gateway_load] = [nginx_own, gateway_own].map(|own| {
                json!({
                    "cpu_us_per_stream": per_stream(own.cpu, options.streams),
                    "wakeups_per_stream": own.wakeups as f64 / options.streams.max(1) as f64,
                })
            });
            let peak = sampler.stop().await;
            if peak.rss > streams_peak.rss {
                streams_peak = peak;
            }
            for (side, outcome) in [("direct", &direct), ("nginx", &through_nginx), ("gateway", &through)] {
                if let Some(sample) = outcome.samples.first() {
                    say(format!(
                        "  {side}: {} failed or damaged, e.g. {sample}",
                        outcome.errors + outcome.damaged
                    ));
                }
            }
            let direct_ttfb = Percentiles::of(&direct.ttfb);
            let ttfb = added(&direct_ttfb, &Percentiles::of(&through.ttfb));
            let ttfb_nginx = added(&direct_ttfb, &Percentiles::of(&through_nginx.ttfb));
            let gaps = added(&Percentiles::of(&direct.gaps), &Percentiles::of(&through.gaps));
            // The same split at the send: the load generator's own delay
            // before it, and what is added after it.
            let direct_served = Percentiles::of(&direct.served);
            let served_added = added(&direct_served, &Percentiles::of(&through.served));
            let served_added_nginx = added(&direct_served, &Percentiles::of(&through_nginx.served));
            let gateway_late = Percentiles::of(&through.late);
            say(format!(
                "{} streams, {}, run {}: added TTFB p99 nginx {:.0} µs, gateway {:.0} µs \
                 (after the send: nginx {:.0}, gateway {:.0}; sent late p99 {:.0} µs); \
                 CPU per stream nginx {:.0} µs, gateway {:.0} µs; load generator per stream \
                 (nginx / gateway) CPU {:.0} / {:.0} µs, wake-ups {:.1} / {:.1}; intact {}/{}; peak RSS {:.1} MB",
                options.streams,
                scenario.label,
                round + 1,
                ttfb_nginx.p99 / 1000.0,
                ttfb.p99 / 1000.0,
                served_added_nginx.p99 / 1000.0,
                served_added.p99 / 1000.0,
                gateway_late.p99 / 1000.0,
                nginx_cpu_per_stream,
                cpu_per_stream,
                num(&nginx_load["cpu_us_per_stream"]),
                num(&gateway_load["cpu_us_per_stream"]),
                num(&nginx_load["wakeups_per_stream"]),
                num(&gateway_load["wakeups_per_stream"]),
                through.ok,
                options.streams,
                mb(peak.rss)
            ));
            intact = intact.min(through.ok);
            peak_open = peak_open.max(through.peak_open);
            added_ttfb.push(ttfb);
            nginx_ttfb.push(ttfb_nginx);
            added_gaps.push(gaps);
            served.push(served_added);
            nginx_served.push(served_added_nginx);
            late.push(gateway_late);
            cpu.push(cpu_per_stream);
            nginx_cpu.push(nginx_cpu_per_stream);
            runs_json.push(json!({
                "direct": report::stream_json(&direct),
                "nginx": report::stream_json(&through_nginx),
                "gateway": report::stream_json(&through),
                "added_ttfb_us": ttfb.micros(),
                "nginx_added_ttfb_us": ttfb_nginx.micros(),
                "added_after_send_us": served_added.micros(),
                "nginx_added_after_send_us": served_added_nginx.micros(),
                "cpu_us_per_stream": cpu_per_stream,
                "nginx_cpu_us_per_stream": nginx_cpu_per_stream,
                "load_generator": {"nginx": nginx_load, "gateway": gateway_load},
                "gateway_peak_rss_bytes": peak.rss,
            }));
        }
        streaming.push(json!({
            "scenario": scenario.key,
            "label": scenario.label,
            "streams": options.streams,
            "intact": intact,
            "peak_open": peak_open,
            "added_ttfb_us": Percentiles::median(&added_ttfb).micros(),
            "nginx_added_ttfb_us": Percentiles::median(&nginx_ttfb).micros(),
            "added_gap_us": Percentiles::median(&added_gaps).micros(),
            "added_after_send_us": Percentiles::median(&served).micros(),
            "nginx_added_after_send_us": Percentiles::median(&nginx_served).micros(),
            "sent_late_us": Percentiles::median(&late).micros(),
            "cpu_us_per_stream": median(cpu),
            "nginx_cpu_us_per_stream": median(nginx_cpu),
            "runs": runs_json,
        }));
    }
    check_alive(&mut gateway)?;
    let nginx_version = nginx.version.clone();
    drop(nginx);

    // Client keys: the same passthrough call with the gateway key and with a
    // client key (looked up by hash, its models checked, its use metered),
    // then a burst of concurrent calls against a key's limit.
    let client_keys = match &keys {
        Some(keys) => {
            let passthrough = &scenarios::complete(gateway_addr, fast)[0];
            // Both keys in the same interleaved round, so that the VM's
            // swings do not fall on one of them (run one after the other,
            // either could come out 100 µs behind).
            let with_gateway_key = passthrough.gateway.with_bearer(&keys.gateway);
            let with_client_key = passthrough.gateway.with_bearer(&keys.client);
            let outcomes = measure_sliced(
                [&passthrough.direct, &with_gateway_key, &with_client_key],
                Pace::Rate(options.rate),
                timing,
            )
            .await?;
            let [direct, by_gateway_key, by_client_key] = &outcomes;
            let direct_p = Percentiles::of(&direct.latency);
            let mut auth = Vec::new();
            for (label, outcome) in [("gateway key", by_gateway_key), ("client key", by_client_key)] {
                let added = added(&direct_p, &Percentiles::of(&outcome.latency));
                say(format!(
                    "passthrough with the {label} at {} req/s: added p50 {:.0} µs, p99 {:.0} µs",
                    options.rate,
                    added.p50 / 1000.0,
                    added.p99 / 1000.0
                ));
                auth.push(json!({
                    "auth": label,
                    "rate": options.rate,
                    "direct": report::outcome_json(direct),
                    "gateway": report::outcome_json(outcome),
                    "added_us": added.micros(),
                }));
            }
            let burst = keys::burst(&passthrough.gateway.with_bearer(&keys.burst), BURST_CALLS).await;
            say(format!(
                "burst of {BURST_CALLS} concurrent calls with a {BURST_RPM}-rpm key: {} served, {} refused (429), {} other, in {:.0} ms",
                burst["served"],
                burst["refused"],
                burst["other"],
                burst["wall_ms"].as_f64().unwrap_or(0.0)
            ));
            check_alive(&mut gateway)?;
            json!({"auth": auth, "burst": burst, "burst_rpm": BURST_RPM})
        }
        None => Value::Null,
    };

    let team = if phase(Phase::Team) {
        let passthrough = &scenarios::complete(gateway_addr, fast)[0];
        team::measure(&options, &switchyard, fast, cores.subject, passthrough, timing).await?
    } else {
        Value::Null
    };
    check_alive(&mut gateway)?;

    let versus = match (phase(Phase::Versus), &options.baseline) {
        (false, _) => Value::Null,
        (true, Some(baseline)) => {
            versus::measure(&options, baseline, gateway_addr, fast, cores.subject, timing).await?
        }
        (true, None) => return Err("the versus phase needs --baseline BINARY".into()),
    };
    check_alive(&mut gateway)?;

    say(format!("waiting {} s for the gateway to settle", options.settle_secs));
    tokio::time::sleep(Duration::from_secs(options.settle_secs)).await;
    let settled = gateway.memory().ok_or("the gateway is gone")?;
    say(format!(
        "after {} s idle: RSS {:.1} MB, PSS {:.1} MB, anonymous {:.1} MB",
        options.settle_secs,
        mb(settled.rss),
        mb(settled.pss),
        mb(settled.anon)
    ));
    drop(gateway);

    let litellm = if options.litellm {
        Some(litellm::measure(&options.work_dir, fast, cores.subject, timing).await?)
    } else {
        None
    };

    let memory_json = |m: procs::Memory| json!({"rss_bytes": m.rss, "pss_bytes": m.pss, "anon_bytes": m.anon});
    let results = json!({
        "generated_unix": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        "quick": options.quick,
        "machine": report::machine(&cores),
        "method": {
            "load": "open loop at a constant rate, latency from each request's scheduled send time (hdrhistogram); 64 keep-alive connections",
            "interleaving": format!("direct, nginx and the gateway take turns in {SLICES} slices of the measuring time each ({} ms unmeasured at the start of each slice after the first)", SLICE_WARMUP.as_millis()),
            "warmup_secs": timing.warmup.as_secs_f64(),
            "measure_secs": timing.measure.as_secs_f64(),
            "runs": runs,
            "direct": "the request the gateway sends upstream, straight to the same mock",
            "nginx": format!("nginx {nginx_version} (bench/nginx.conf: one worker, upstream keepalive 64, HTTP/1.1 upstream, no buffering) forwarding the direct request to the same mock, pinned like the gateway"),
            "stream_text_events": STREAM_TEXT_EVENTS,
            "stream_event_gap_ms": STREAM_EVENT_GAP_MS,
            "realtime_priority": realtime,
            "cores_held_awake": awake,
            "gateway_config": options.gateway_config.as_ref().and_then(|path| std::fs::read_to_string(path).ok()),
            "models": {"openai": FAST_OPENAI_MODEL, "gemini": FAST_GEMINI_MODEL, "stream_openai": STREAM_OPENAI_MODEL, "stream_gemini": STREAM_GEMINI_MODEL},
        },
        "nginx_version": nginx_version,
        "binary_size_bytes": binary_size,
        "startup_ms": {
            "median": ms(startups[startups.len() / 2]),
            "max": ms(*startups.last().unwrap_or(&Duration::ZERO)),
            "samples": startups.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
        },
        "memory": {
            "idle": memory_json(idle),
            "after_rate_runs": memory_json(loaded),
            "streams_peak": memory_json(streams_peak),
            "settled": memory_json(settled),
            "streams": options.streams,
            "settle_secs": options.settle_secs,
        },
        "latency": latency,
        "saturation": saturation,
        "closed_loop": closed,
        "streaming": streaming,
        "client_keys": client_keys,
        "team": team,
        "versus": versus,
        "litellm": litellm,
    });
    let mut results = results;
    litellm::compare(&mut results);
    let results = report::with_targets(results);
    report::write(&options.results_dir, &results)?;
    say(format!(
        "wrote {} and {}",
        options.results_dir.join("results.json").display(),
        options.results_dir.join("results.md").display()
    ));
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn check_alive(process: &mut Process) -> Result<(), String> {
    if process.exited() {
        return Err(format!("{} exited during the benchmark", process.name));
    }
    Ok(())
}

/// The keys the client-key phase uses.
struct BenchKeys {
    /// The gateway key (the admin key).
    gateway: String,
    /// A client key without limits (but with models to check).
    client: String,
    /// A client key with `--rpm` [`BURST_RPM`].
    burst: String,
}

/// A direct run and a gateway run at one rate.
struct Pair {
    /// Straight to the mock.
    direct: Value,
    /// Through the gateway (or LiteLLM).
    gateway: Value,
    /// Gateway minus direct, per percentile (ns).
    added: Percentiles,
    /// Whether both runs had no error.
    clean: bool,
}

/// Measures `direct` then `subject` at `rate`.
async fn measure_pair(
    direct: &Arc<Target>,
    subject: &Arc<Target>,
    rate: f64,
    timing: Timing,
    measure: Duration,
) -> Result<Pair, String> {
    let spec = |target: &Arc<Target>| Run {
        target: target.clone(),
        pace: Pace::Rate(rate),
        connections: 64,
        warmup: timing.warmup,
        duration: measure,
        request_timeout: Duration::from_secs(10),
    };
    let direct_outcome = load::drive(&spec(direct)).await?;
    let subject_outcome = load::drive(&spec(subject)).await?;
    let direct_p = Percentiles::of(&direct_outcome.latency);
    let subject_p = Percentiles::of(&subject_outcome.latency);
    Ok(Pair {
        added: added(&direct_p, &subject_p),
        clean: direct_outcome.errors == 0 && subject_outcome.errors == 0 && subject_outcome.ok > 0,
        direct: report::outcome_json(&direct_outcome),
        gateway: report::outcome_json(&subject_outcome),
    })
}

/// Highest rate where the gateway has no error and adds at most 2 ms at p99:
/// steps up until a rate fails, then bisects between the last pass and it.
async fn saturate(
    key: &str,
    direct: &Arc<Target>,
    subject: &Arc<Target>,
    timing: Timing,
    quick: bool,
) -> Result<Value, String> {
    const LIMIT_NS: f64 = 2_000_000.0;
    let mut steps = Vec::new();
    let mut passed: Option<f64> = None;
    let mut failed: Option<f64> = None;
    let mut rate = 2000.0;
    let mut limited_by_harness = false;
    loop {
        let pair = measure_pair(direct, subject, rate, timing, timing.saturation_measure).await?;
        let direct_clean = pair.direct["errors"].as_u64() == Some(0);
        let pass = pair.clean && pair.added.p99 <= LIMIT_NS;
        say(format!(
            "  {key} at {rate} req/s: {} (added p99 {:.0} µs, errors {}/{})",
            if pass { "pass" } else { "fail" },
            pair.added.p99 / 1000.0,
            pair.direct["errors"],
            pair.gateway["errors"]
        ));
        steps.push(json!({"rate": rate, "pass": pass, "added_us": pair.added.micros(), "direct": pair.direct, "gateway": pair.gateway}));
        if !direct_clean {
            limited_by_harness = true;
        }
        if pass {
            passed = Some(rate);
        } else {
            failed = Some(rate);
        }
        let next = match (passed, failed) {
            (Some(lo), None) => lo + if lo < 10_000.0 { 2000.0 } else { 4000.0 },
            (lo, Some(hi)) => {
                let lo = lo.unwrap_or(0.0);
                let step = if quick { 1000.0 } else { 250.0 };
                if hi - lo <= step {
                    break;
                }
                ((lo + hi) / 2.0 / step).round() * step
            }
            (None, None) => unreachable!("every step passes or fails"),
        };
        if next > 40_000.0 || steps.len() >= 12 {
            break;
        }
        rate = next;
    }
    Ok(json!({
        "scenario": key,
        "rate": passed.unwrap_or(0.0),
        "first_failing_rate": failed,
        "direct_had_errors": limited_by_harness,
        "steps": steps,
    }))
}

/// Throughput with 64 connections each sending back to back.
async fn closed_loop(target: &Arc<Target>, timing: Timing) -> Result<Value, String> {
    let outcome = load::drive(&Run {
        target: target.clone(),
        pace: Pace::Closed,
        connections: 64,
        warmup: timing.warmup,
        duration: timing.measure,
        request_timeout: Duration::from_secs(10),
    })
    .await?;
    Ok(report::outcome_json(&outcome))
}

/// Samples a process's memory every 50 ms and keeps the reading with the
/// highest RSS.
struct MemorySampler {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<procs::Memory>,
}

impl MemorySampler {
    fn start(pid: u32) -> MemorySampler {
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut peak = procs::Memory::default();
            loop {
                if let Some(now) = procs::memory_of(pid)
                    && now.rss > peak.rss
                {
                    peak = now;
                }
                tokio::select! {
                    _ = &mut stopped => return peak,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
            }
        });
        MemorySampler { stop, task }
    }

    async fn stop(self) -> procs::Memory {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

/// CPU time per stream, in µs.
fn per_stream(cpu: Duration, streams: usize) -> f64 {
    cpu.as_secs_f64() * 1e6 / streams.max(1) as f64
}

/// The median of `values` (the mean of the middle two for an even count;
/// NaN for none).
fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| !v.is_nan());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn num(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

/// One round of the same load straight to the mock, through nginx and
/// through the gateway.
struct Trio {
    direct: Value,
    nginx: Value,
    gateway: Value,
    /// nginx minus direct, per percentile (ns).
    nginx_added: Percentiles,
    /// Gateway minus direct, per percentile (ns).
    gateway_added: Percentiles,
    /// Whether every run of the round had no error.
    clean: bool,
}

/// Slices of an interleaved measurement ([`measure_sliced`]).
const SLICES: u32 = 10;
/// Sent unmeasured at the start of each slice after the first (a slice
/// opens its own connections).
const SLICE_WARMUP: Duration = Duration::from_millis(200);

/// Measures `direct`, `nginx` and `gateway` at `rate`, interleaved (see
/// [`measure_sliced`]).
async fn measure_trio(
    direct: &Arc<Target>,
    nginx: &Arc<Target>,
    gateway: &Arc<Target>,
    rate: f64,
    timing: Timing,
) -> Result<Trio, String> {
    let [direct_outcome, nginx_outcome, gateway_outcome] =
        measure_sliced([direct, nginx, gateway], Pace::Rate(rate), timing).await?;
    let direct_p = Percentiles::of(&direct_outcome.latency);
    Ok(Trio {
        nginx_added: added(&direct_p, &Percentiles::of(&nginx_outcome.latency)),
        gateway_added: added(&direct_p, &Percentiles::of(&gateway_outcome.latency)),
        clean: [&direct_outcome, &nginx_outcome, &gateway_outcome]
            .iter()
            .all(|o| o.errors == 0 && o.ok > 0),
        direct: report::outcome_json(&direct_outcome),
        nginx: report::outcome_json(&nginx_outcome),
        gateway: report::outcome_json(&gateway_outcome),
    })
}

/// Measures every target with the same load, in turns of a tenth of the
/// measuring time each, until each has had the whole measuring time: the
/// VM's slow swings (seconds of a noisy neighbour) then fall on all of them
/// alike instead of on whichever ran during them, and a difference of two
/// subjects does not carry them. Each turn starts with the next target in
/// rotation, so that none is always the one after the same other.
async fn measure_sliced<const N: usize>(
    targets: [&Arc<Target>; N],
    pace: Pace,
    timing: Timing,
) -> Result<[load::Outcome; N], String> {
    let slice = timing.measure / SLICES;
    let spec = |target: &Arc<Target>, warmup: Duration| Run {
        target: target.clone(),
        pace,
        connections: 64,
        warmup,
        duration: slice,
        request_timeout: Duration::from_secs(10),
    };
    // The first turn, with the whole warm-up; then the other turns, each
    // slice added to its target's measurement.
    let mut outcomes = Vec::with_capacity(N);
    for target in targets {
        outcomes.push(load::drive(&spec(target, timing.warmup)).await?);
    }
    for turn in 1..SLICES {
        for i in (0..N).map(|i| (i + turn as usize) % N) {
            let more = load::drive(&spec(targets[i], SLICE_WARMUP)).await?;
            outcomes[i].absorb(more, slice * turn, slice)?;
        }
    }
    outcomes.try_into().map_err(|_| "one outcome per target".to_string())
}

/// A latency scenario's rounds as JSON: every round, and the medians of the
/// added percentiles over them.
fn trio_json(scenario: &scenarios::Scenario, rate: f64, trios: &[Trio]) -> Value {
    let gateway: Vec<Percentiles> = trios.iter().map(|t| t.gateway_added).collect();
    let nginx: Vec<Percentiles> = trios.iter().map(|t| t.nginx_added).collect();
    let errors: u64 = trios
        .iter()
        .map(|t| t.gateway["errors"].as_u64().unwrap_or(0) + t.nginx["errors"].as_u64().unwrap_or(0))
        .sum();
    json!({
        "scenario": scenario.key,
        "label": scenario.label,
        "rate": rate,
        "runs": trios.iter().map(|t| json!({
            "direct": t.direct,
            "nginx": t.nginx,
            "gateway": t.gateway,
            "nginx_added_us": t.nginx_added.micros(),
            "added_us": t.gateway_added.micros(),
            "clean": t.clean,
        })).collect::<Vec<_>>(),
        "added_us": Percentiles::median(&gateway).micros(),
        "nginx_added_us": Percentiles::median(&nginx).micros(),
        "errors": errors,
    })
}
