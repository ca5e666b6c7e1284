//! The record of one API call as it happens: timings, the account that
//! served, tokens, outcome. It travels with the call (into the stream pump
//! for streamed answers) and hands the record to the monitor when the call
//! ends — or, if the call is dropped because the client went away, when it
//! is dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Endpoint;
use crate::keys::Meters;
use crate::monitor::{Monitor, RequestRecord, now_ms};
use crate::pool::Member;
use crate::protocol::model::Usage;

/// The most tokens one call is recorded with (2^40, a million times any
/// real context window).
pub const MAX_RECORDED_TOKENS: u64 = 1 << 40;

/// One call's record in the making; inactive when no monitor is attached.
#[derive(Debug, Default)]
pub struct Trace {
    monitor: Option<Arc<Monitor>>,
    started: Option<Instant>,
    upstream_since: Option<Instant>,
    upstream: Duration,
    record: RequestRecord,
    /// Where the call's tokens count, for a call made with a client key.
    meter: Option<(Arc<str>, Arc<Meters>)>,
}

impl Trace {
    /// Starts the record of a call to `endpoint` at `path`.
    pub fn start(monitor: Option<Arc<Monitor>>, endpoint: &Endpoint, path: &str) -> Trace {
        let model = match endpoint {
            Endpoint::GeminiGenerate { model, .. }
            | Endpoint::GeminiCountTokens { model }
            | Endpoint::GeminiEmbed { model, .. } => model.clone(),
            _ => String::new(),
        };
        Trace {
            started: monitor.as_ref().map(|_| Instant::now()),
            monitor,
            upstream_since: None,
            upstream: Duration::ZERO,
            meter: None,
            record: RequestRecord {
                time_ms: now_ms(),
                client: endpoint.dialect().name().to_string(),
                route: path.to_string(),
                model,
                ..RequestRecord::default()
            },
        }
    }

    /// The call came with the client key `name`: recorded under that
    /// name, its tokens counted in `meters` when it ends.
    pub fn key(&mut self, name: Arc<str>, meters: Arc<Meters>) {
        self.record.key = Some(name.to_string());
        self.meter = Some((name, meters));
    }

    /// Whether anything reads the call's usage (a monitor takes the
    /// record, or a client key's tokens are counted).
    pub fn active(&self) -> bool {
        self.monitor.is_some() || self.meter.is_some()
    }

    /// The decoded request: id, model, stream flag, body (when stored).
    pub fn request(&mut self, id: &str, model: &str, stream: bool, body: &[u8]) {
        let Some(monitor) = &self.monitor else { return };
        self.record.id = id.to_string();
        self.record.model = model.to_string();
        self.record.stream = stream;
        self.record.request_body = monitor.body(body);
    }

    /// An account is tried.
    pub fn attempt(&mut self, member: &Member, served_model: &str) {
        self.record.attempts += 1;
        self.record.account = Some(member.config.display_name().to_string());
        self.record.account_id = Some(member.config.id.clone());
        self.record.served_model = Some(served_model.to_string());
    }

    /// The call moved on to the next model of its fallback chain.
    pub fn fell_back(&mut self) {
        self.record.fell_back = true;
    }

    /// A request to the upstream starts.
    pub fn upstream_started(&mut self) {
        self.upstream_since = Some(Instant::now());
    }

    /// The upstream's part is over (answer read, or the attempt failed).
    pub fn upstream_ended(&mut self) {
        if let Some(since) = self.upstream_since.take() {
            self.upstream += since.elapsed();
        }
    }

    /// The first byte of the answer goes to the client.
    pub fn first_byte(&mut self) {
        if let (Some(started), None) = (self.started, self.record.ttfb_ms) {
            self.record.ttfb_ms = Some(ms(started.elapsed()));
        }
    }

    /// The latest usage the upstream reported. Counts are capped at
    /// [`MAX_RECORDED_TOKENS`]: an upstream that reports absurd numbers
    /// (2e28, say) must not overflow the day's budget, the totals or the
    /// log's SQLite integers.
    pub fn usage(&mut self, usage: Usage) {
        self.record.input_tokens = usage.input_tokens.min(MAX_RECORDED_TOKENS);
        self.record.output_tokens = usage.output_tokens.min(MAX_RECORDED_TOKENS);
        self.record.cached_tokens = usage.cached_input_tokens.min(MAX_RECORDED_TOKENS);
        self.record.cache_write_tokens = usage.cache_creation_input_tokens.min(MAX_RECORDED_TOKENS);
    }

    /// The recorded input tokens are a local estimate: the upstream
    /// reported none (Gemini's embeddings).
    pub fn estimated(&mut self) {
        self.record.estimated_tokens = true;
    }

    /// The complete answer's body (kept only when body storage is on).
    pub fn response_body(&mut self, body: &[u8]) {
        if let Some(monitor) = &self.monitor {
            self.record.response_body = monitor.body(body);
        }
    }

    /// Ends the call with the client's status and, for failures, what went wrong.
    pub fn finish(&mut self, status: u16, error: Option<String>) {
        if let Some((name, meters)) = self.meter.take() {
            let tokens = self.record.input_tokens.saturating_add(self.record.output_tokens);
            meters.spend(&name, tokens, now_ms());
        }
        let (Some(monitor), Some(started)) = (self.monitor.take(), self.started) else {
            return;
        };
        self.upstream_ended();
        let total = started.elapsed();
        let record = &mut self.record;
        record.status = status;
        record.error = error;
        record.total_ms = ms(total);
        if record.ttfb_ms.is_none() && status < 300 {
            record.ttfb_ms = Some(record.total_ms);
        }
        if record.attempts > 0 {
            record.upstream_ms = Some(ms(self.upstream));
            record.overhead_ms = Some(ms(total.saturating_sub(self.upstream)));
        }
        monitor.record(std::mem::take(record));
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        // A call dropped unfinished: the client closed the connection.
        self.finish(
            499,
            Some("the client closed the connection before the answer was complete".into()),
        );
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_counts_are_recorded_capped() {
        let mut trace = Trace::default();
        trace.usage(Usage {
            input_tokens: u64::MAX,
            output_tokens: 7,
            cached_input_tokens: u64::MAX,
            ..Usage::default()
        });
        assert_eq!(trace.record.input_tokens, MAX_RECORDED_TOKENS);
        assert_eq!(trace.record.output_tokens, 7);
        assert_eq!(trace.record.cached_tokens, MAX_RECORDED_TOKENS);
        // Inactive (no monitor): finishing records nothing and never panics.
        trace.finish(200, None);
    }
}
