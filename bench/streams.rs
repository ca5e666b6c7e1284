//! Many concurrent streams, timed event by event and checked for loss.
//!
//! Each stream has its own connection, opened before the clock starts. The
//! streams start open loop at evenly spaced scheduled instants; the time to
//! the first event counts from that instant. Every text event's arrival is
//! stamped, and the gaps between consecutive text events of a stream are the
//! inter-chunk latencies. The text of each stream must come out exactly as the
//! mock wrote it, in order, and end with the protocol's last event: a stream
//! that loses, duplicates or reorders an event fails that check.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use http_body_util::BodyStream;
use serde_json::Value;

use crate::load::{Target, connect, histogram};
use crate::ticker;

/// The wire format a stream comes back in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Chat Completions chunks ending in `[DONE]`.
    OpenAi,
    /// Anthropic events ending in `message_stop`.
    Anthropic,
    /// Gemini `GenerateContentResponse`s, the last with a `finishReason`.
    Gemini,
}

/// What one event contributes.
#[derive(Debug, Default, PartialEq)]
struct Reading {
    /// Answer text it carries.
    text: Option<String>,
    /// Whether it is the stream's last event.
    last: bool,
}

impl Wire {
    /// Reads one SSE event.
    fn read(self, event: &str, data: &str) -> Reading {
        if self == Wire::OpenAi && data == "[DONE]" {
            return Reading { text: None, last: true };
        }
        let Ok(value) = serde_json::from_str::<Value>(data) else {
            return Reading::default();
        };
        match self {
            Wire::OpenAi => Reading {
                text: value
                    .pointer("/choices/0/delta/content")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string),
                last: false,
            },
            Wire::Anthropic => {
                let kind = if event.is_empty() {
                    value.get("type").and_then(Value::as_str).unwrap_or("")
                } else {
                    event
                };
                Reading {
                    text: (kind == "content_block_delta")
                        .then(|| value.pointer("/delta/text").and_then(Value::as_str))
                        .flatten()
                        .map(str::to_string),
                    last: kind == "message_stop",
                }
            }
            Wire::Gemini => {
                let text: String = value
                    .pointer("/candidates/0/content/parts")
                    .and_then(Value::as_array)
                    .map(|parts| {
                        parts
                            .iter()
                            .filter_map(|p| p.get("text").and_then(Value::as_str))
                            .collect()
                    })
                    .unwrap_or_default();
                Reading {
                    text: (!text.is_empty()).then_some(text),
                    last: value.pointer("/candidates/0/finishReason").is_some(),
                }
            }
        }
    }
}

/// One streaming run.
#[derive(Debug, Clone)]
pub struct StreamRun {
    /// The streaming request.
    pub target: Arc<Target>,
    /// The wire format of the answer.
    pub wire: Wire,
    /// The answer text every stream must carry.
    pub expected_text: String,
    /// How many streams.
    pub streams: usize,
    /// Over how long their starts are spread.
    pub ramp: Duration,
    /// A stream not finished after this fails.
    pub timeout: Duration,
}

/// What a streaming run measured.
#[derive(Debug)]
pub struct StreamOutcome {
    /// Nanoseconds from a stream's scheduled start to its first event.
    pub ttfb: Histogram<u64>,
    /// The part of `ttfb` that is the load generator's own: nanoseconds
    /// from the scheduled start until the request is handed to the
    /// connection (a busy load generator sends late).
    pub late: Histogram<u64>,
    /// The rest: nanoseconds from that hand-over to the first event.
    pub served: Histogram<u64>,
    /// Nanoseconds between consecutive text events of one stream.
    pub gaps: Histogram<u64>,
    /// Streams complete and intact.
    pub ok: u64,
    /// Streams that failed to start or broke off (status, transport, timeout).
    pub errors: u64,
    /// Streams that ended with text lost, added or out of order, or without
    /// their last event.
    pub damaged: u64,
    /// Text events per intact stream (the smallest seen).
    pub text_events: u64,
    /// Most streams open at once.
    pub peak_open: usize,
    /// A few failures, for the report.
    pub samples: Vec<String>,
}

/// Runs `run` and returns what it measured.
pub async fn drive(run: &StreamRun) -> Result<StreamOutcome, String> {
    let mut senders = Vec::with_capacity(run.streams);
    for _ in 0..run.streams {
        senders.push(connect(run.target.addr).await?);
    }
    let started = Instant::now() + Duration::from_millis(50);
    let spacing = run.ramp / u32::try_from(run.streams.max(1)).unwrap_or(u32::MAX);
    let instants: Vec<Instant> = (0..run.streams)
        .map(|i| started + spacing * u32::try_from(i).unwrap_or(u32::MAX))
        .collect();
    let (tx, rx) = async_channel::unbounded();
    let ticker = ticker::release_at(instants, tx);
    let open = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(senders.len());
    for mut sender in senders {
        let rx = rx.clone();
        let run = run.clone();
        let open = open.clone();
        let peak = peak.clone();
        tasks.push(tokio::spawn(async move {
            let Ok((_, scheduled)) = rx.recv().await else {
                return Err("no start slot".to_string());
            };
            let now_open = open.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now_open, Ordering::SeqCst);
            let result = tokio::time::timeout(run.timeout, one_stream(&mut sender, &run, scheduled)).await;
            open.fetch_sub(1, Ordering::SeqCst);
            match result {
                Ok(result) => result,
                Err(_) => Err(format!("stream not finished within {:?}", run.timeout)),
            }
        }));
    }
    drop(rx);
    let mut outcome = StreamOutcome {
        ttfb: histogram(),
        late: histogram(),
        served: histogram(),
        gaps: histogram(),
        ok: 0,
        errors: 0,
        damaged: 0,
        text_events: u64::MAX,
        peak_open: 0,
        samples: Vec::new(),
    };
    for task in tasks {
        match task.await.map_err(|err| format!("a stream task failed: {err}"))? {
            Ok(stream) if stream.intact => {
                outcome.ok += 1;
                outcome.ttfb.saturating_record(stream.ttfb);
                outcome.late.saturating_record(stream.late);
                outcome
                    .served
                    .saturating_record(stream.ttfb.saturating_sub(stream.late));
                outcome.gaps.add(&stream.gaps).map_err(|err| err.to_string())?;
                outcome.text_events = outcome.text_events.min(stream.text_events);
            }
            Ok(stream) => {
                outcome.damaged += 1;
                if outcome.samples.len() < 5 {
                    outcome.samples.push(stream.problem);
                }
            }
            Err(why) => {
                outcome.errors += 1;
                if outcome.samples.len() < 5 {
                    outcome.samples.push(why);
                }
            }
        }
    }
    ticker.join();
    if outcome.text_events == u64::MAX {
        outcome.text_events = 0;
    }
    outcome.peak_open = peak.load(Ordering::SeqCst);
    Ok(outcome)
}

/// One finished stream.
struct Stream {
    ttfb: u64,
    late: u64,
    gaps: Histogram<u64>,
    text_events: u64,
    intact: bool,
    problem: String,
}

async fn one_stream(
    sender: &mut hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>,
    run: &StreamRun,
    scheduled: Instant,
) -> Result<Stream, String> {
    sender.ready().await.map_err(|err| format!("connection lost: {err}"))?;
    let late = nanos_since(scheduled);
    let response = sender
        .send_request(run.target.request())
        .await
        .map_err(|err| format!("request failed: {err}"))?;
    let status = response.status();
    if status != http::StatusCode::OK {
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        return Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
    }
    let chunks = BodyStream::new(response.into_body()).filter_map(|frame| async move {
        match frame {
            Ok(frame) => frame.into_data().ok().map(Ok),
            Err(err) => Some(Err(err)),
        }
    });
    let mut events = Box::pin(chunks.eventsource());
    let mut first: Option<Instant> = None;
    let mut previous_text: Option<Instant> = None;
    let mut gaps = histogram();
    let mut text = String::new();
    let mut text_events = 0;
    let mut ended = false;
    let mut after_end = false;
    while let Some(event) = events.next().await {
        let now = Instant::now();
        let event = event.map_err(|err| format!("stream broke off: {err}"))?;
        first.get_or_insert(now);
        if ended {
            after_end = true;
        }
        let reading = run.wire.read(&event.event, &event.data);
        if let Some(piece) = reading.text {
            if let Some(before) = previous_text {
                gaps.saturating_record(u64::try_from((now - before).as_nanos()).unwrap_or(u64::MAX).max(1_000));
            }
            previous_text = Some(now);
            text.push_str(&piece);
            text_events += 1;
        }
        ended |= reading.last;
    }
    let first = first.ok_or("the stream had no event")?;
    let ttfb = u64::try_from((first - scheduled).as_nanos()).unwrap_or(u64::MAX);
    let late = late.min(ttfb);
    let problem = if text != run.expected_text {
        format!("text differs: got {text:?}, expected {:?}", run.expected_text)
    } else if !ended {
        "the stream ended without its last event".to_string()
    } else if after_end {
        "events after the last event".to_string()
    } else {
        String::new()
    };
    Ok(Stream {
        ttfb,
        late,
        gaps,
        text_events,
        intact: problem.is_empty(),
        problem,
    })
}

/// Nanoseconds from `instant` to now (0 if it is still ahead).
fn nanos_since(instant: Instant) -> u64 {
    u64::try_from(instant.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wire_yields_its_text_and_its_end() {
        let openai = r#"{"choices":[{"index":0,"delta":{"content":"hi "}}]}"#;
        assert_eq!(Wire::OpenAi.read("", openai).text.as_deref(), Some("hi "));
        assert!(Wire::OpenAi.read("", "[DONE]").last);
        let delta = r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"yo"}}"#;
        assert_eq!(
            Wire::Anthropic.read("content_block_delta", delta).text.as_deref(),
            Some("yo")
        );
        assert_eq!(Wire::Anthropic.read("", delta).text.as_deref(), Some("yo"));
        assert!(Wire::Anthropic.read("message_stop", r#"{"type":"message_stop"}"#).last);
        let gemini = r#"{"candidates":[{"content":{"parts":[{"text":"a"},{"text":"b"}]},"finishReason":"STOP"}]}"#;
        let reading = Wire::Gemini.read("", gemini);
        assert_eq!(reading.text.as_deref(), Some("ab"));
        assert!(reading.last);
        assert_eq!(Wire::Gemini.read("", "not json"), Reading::default());
    }
}
