//! Open-loop, constant-rate load with latency measured from the scheduled
//! send time, and closed-loop load for throughput at saturation.
//!
//! A [`Ticker`] thread releases slots at their scheduled instants; a fixed
//! set of keep-alive HTTP/1.1 connections take slots from a shared queue and
//! send one request each. A slot waits in the queue while every connection
//! is busy, and its latency still counts from the instant it was scheduled
//! for, so a server that stalls is charged for every request it delayed
//! (no coordinated omission). Latencies go into an HDR histogram.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{HeaderName, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::ticker::Ticker;

/// One kind of request, sent over and over.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where to connect.
    pub addr: SocketAddr,
    /// Path and query.
    pub path: String,
    /// Extra request headers (auth, versions).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The JSON body (every request is a POST).
    pub body: Bytes,
}

impl Target {
    /// The same request sent to `addr` instead (to nginx in front of the
    /// mock, say).
    pub fn at(&self, addr: SocketAddr) -> Arc<Target> {
        Arc::new(Target { addr, ..self.clone() })
    }

    /// The same target with `Authorization: Bearer KEY` instead of any
    /// authorization it had.
    pub fn with_bearer(&self, key: &str) -> Arc<Target> {
        let mut target = self.clone();
        target.headers.retain(|(name, _)| name != http::header::AUTHORIZATION);
        target.headers.push((
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {key}")).expect("a key is a valid header value"),
        ));
        Arc::new(target)
    }

    /// The request for this target.
    pub fn request(&self) -> Request<Full<Bytes>> {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(&self.path)
            .header(http::header::HOST, self.addr.to_string())
            .header(http::header::CONTENT_TYPE, "application/json");
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        builder
            .body(Full::new(self.body.clone()))
            .expect("a request built from a valid target")
    }
}

/// How requests are paced.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// Open loop: this many requests per second, whatever the answers do.
    Rate(f64),
    /// Closed loop: every connection sends its next request as soon as the
    /// previous answer is in.
    Closed,
}

/// One load run.
#[derive(Debug, Clone)]
pub struct Run {
    /// What to send.
    pub target: Arc<Target>,
    /// The pace.
    pub pace: Pace,
    /// Connections kept open.
    pub connections: usize,
    /// Sent but not measured: connection pools and caches warm up.
    pub warmup: Duration,
    /// Measured.
    pub duration: Duration,
    /// A request still unanswered after this counts as an error.
    pub request_timeout: Duration,
}

/// What a run measured.
#[derive(Debug)]
pub struct Outcome {
    /// Latencies in nanoseconds, from the scheduled send (open loop) or the
    /// actual send (closed loop), of measured requests that succeeded.
    pub latency: Histogram<u64>,
    /// Measured requests answered 200.
    pub ok: u64,
    /// Measured requests that failed (status, transport, timeout, never sent).
    pub errors: u64,
    /// A few failures, for the report.
    pub error_samples: Vec<String>,
    /// Successful measured requests per second of measured time.
    pub throughput: f64,
}

impl Outcome {
    /// Adds another run's measurements to these (the slices of one
    /// interleaved measurement); the throughput is over both durations.
    pub fn absorb(&mut self, other: Outcome, duration: Duration, other_duration: Duration) -> Result<(), String> {
        self.add(&other.latency, other.ok, other.errors, other.error_samples)?;
        self.throughput = self.ok as f64 / (duration + other_duration).as_secs_f64();
        Ok(())
    }

    /// Counts these latencies, successes, failures and (the first five)
    /// failure samples in.
    fn add(&mut self, latency: &Histogram<u64>, ok: u64, errors: u64, samples: Vec<String>) -> Result<(), String> {
        self.latency.add(latency).map_err(|err| err.to_string())?;
        self.ok += ok;
        self.errors += errors;
        for sample in samples {
            if self.error_samples.len() < 5 {
                self.error_samples.push(sample);
            }
        }
        Ok(())
    }
}

/// A histogram for nanosecond latencies from 1 µs to 5 minutes.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1_000, 300_000_000_000, 3).expect("valid histogram bounds")
}

/// Opens an HTTP/1.1 connection to `addr`.
pub async fn connect(addr: SocketAddr) -> Result<http1::SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|err| format!("connect to {addr}: {err}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| format!("handshake with {addr}: {err}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// What one connection measured.
struct Tally {
    latency: Histogram<u64>,
    ok: u64,
    errors: u64,
    samples: Vec<String>,
}

impl Tally {
    fn error(&mut self, measured: bool, why: String) {
        if measured {
            self.errors += 1;
            if self.samples.len() < 3 {
                self.samples.push(why);
            }
        }
    }
}

/// Runs `run` and returns what it measured.
pub async fn drive(run: &Run) -> Result<Outcome, String> {
    // Connections first, so the first measured requests pay no handshakes.
    let mut senders = Vec::with_capacity(run.connections);
    for _ in 0..run.connections {
        senders.push(connect(run.target.addr).await?);
    }
    let started = Instant::now() + Duration::from_millis(20);
    let measure_from = started + run.warmup;
    let end = measure_from + run.duration;
    let (slots, ticker) = match run.pace {
        Pace::Rate(rate) => {
            let (tx, rx) = async_channel::unbounded();
            (Some(rx), Some(Ticker::start(started, rate, end, tx)))
        }
        Pace::Closed => (None, None),
    };
    // Past this, queued slots are abandoned (and counted as errors).
    let give_up = end + run.request_timeout;
    let mut tasks = Vec::with_capacity(senders.len());
    for mut sender in senders {
        let slots = slots.clone();
        let target = run.target.clone();
        let timeout = run.request_timeout;
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally {
                latency: histogram(),
                ok: 0,
                errors: 0,
                samples: Vec::new(),
            };
            loop {
                let scheduled = match &slots {
                    Some(slots) => match slots.recv().await {
                        Ok(at) => at,
                        Err(_) => break,
                    },
                    None => {
                        let now = Instant::now();
                        if now < started {
                            tokio::time::sleep_until(started.into()).await;
                            continue;
                        }
                        if now >= end {
                            break;
                        }
                        now
                    }
                };
                let measured = scheduled >= measure_from && scheduled < end;
                if Instant::now() >= give_up {
                    tally.error(measured, "never sent: the server fell too far behind".into());
                    continue;
                }
                match tokio::time::timeout(timeout, exchange(&mut sender, &target)).await {
                    Ok(Ok(())) => {
                        if measured {
                            let nanos = u64::try_from(scheduled.elapsed().as_nanos()).unwrap_or(u64::MAX);
                            tally.latency.saturating_record(nanos.max(1_000));
                            tally.ok += 1;
                        }
                    }
                    Ok(Err(why)) => {
                        tally.error(measured, why);
                        if sender.is_closed() {
                            match connect(target.addr).await {
                                Ok(fresh) => sender = fresh,
                                Err(why) => {
                                    tally.error(true, why);
                                    break;
                                }
                            }
                        }
                    }
                    Err(_) => {
                        tally.error(measured, format!("no answer within {timeout:?}"));
                        // The connection still carries the late answer: replace it.
                        match connect(target.addr).await {
                            Ok(fresh) => sender = fresh,
                            Err(why) => {
                                tally.error(true, why);
                                break;
                            }
                        }
                    }
                }
            }
            tally
        }));
    }
    drop(slots);
    let mut outcome = Outcome {
        latency: histogram(),
        ok: 0,
        errors: 0,
        error_samples: Vec::new(),
        throughput: 0.0,
    };
    for task in tasks {
        let tally = task.await.map_err(|err| format!("a load task failed: {err}"))?;
        outcome.add(&tally.latency, tally.ok, tally.errors, tally.samples)?;
    }
    if let Some(ticker) = ticker {
        ticker.join();
    }
    outcome.throughput = outcome.ok as f64 / run.duration.as_secs_f64();
    Ok(outcome)
}

/// Sends one request and reads the whole answer; `Err` unless it is a 200.
async fn exchange(sender: &mut http1::SendRequest<Full<Bytes>>, target: &Target) -> Result<(), String> {
    sender.ready().await.map_err(|err| format!("connection lost: {err}"))?;
    let response = sender
        .send_request(target.request())
        .await
        .map_err(|err| format!("request failed: {err}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|err| format!("answer broke off: {err}"))?
        .to_bytes();
    if status != http::StatusCode::OK {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        return Err(format!("HTTP {status}: {text}"));
    }
    Ok(())
}
