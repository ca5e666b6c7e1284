//! The client-key burst: many calls at once, each on its own connection,
//! against a key whose `--rpm` admits only part of them. The figure is
//! whether the limit holds under that concurrency (exactly `rpm` served,
//! the rest refused with 429, nothing else) and what the burst costs.

use std::sync::Arc;
use std::time::Instant;

use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::load::{Target, connect, histogram};
use crate::report::Percentiles;

/// Sends `calls` requests to `target` at once (every connection open
/// first, then all released together) and counts the answers.
pub async fn burst(target: &Arc<Target>, calls: usize) -> Value {
    let barrier = Arc::new(Barrier::new(calls + 1));
    let mut tasks = Vec::with_capacity(calls);
    for _ in 0..calls {
        let target = target.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let sender = connect(target.addr).await;
            barrier.wait().await;
            let mut sender = sender?;
            let started = Instant::now();
            let response = sender
                .send_request(target.request())
                .await
                .map_err(|err| format!("send: {err}"))?;
            let status = response.status().as_u16();
            let _ = response.into_body().collect().await;
            Ok::<_, String>((status, started.elapsed()))
        }));
    }
    barrier.wait().await;
    let started = Instant::now();
    let (mut served, mut refused, mut other) = (0u64, 0u64, 0u64);
    let mut samples = Vec::new();
    let mut latency = histogram();
    for task in tasks {
        match task.await {
            Ok(Ok((status, took))) => {
                let _ = latency.record(took.as_nanos() as u64);
                match status {
                    200 => served += 1,
                    429 => refused += 1,
                    status => {
                        other += 1;
                        if samples.len() < 3 {
                            samples.push(format!("HTTP {status}"));
                        }
                    }
                }
            }
            Ok(Err(err)) => {
                other += 1;
                if samples.len() < 3 {
                    samples.push(err);
                }
            }
            Err(err) => {
                other += 1;
                if samples.len() < 3 {
                    samples.push(err.to_string());
                }
            }
        }
    }
    json!({
        "calls": calls,
        "served": served,
        "refused": refused,
        "other": other,
        "other_samples": samples,
        "wall_ms": started.elapsed().as_secs_f64() * 1000.0,
        "latency_us": Percentiles::of(&latency).micros(),
    })
}
