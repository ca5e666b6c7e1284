//! Streamed answers: a pump task per stream, translating event by event.
//!
//! The pump reads the upstream as bytes arrive and writes the client's
//! encoding into a small bounded channel that backs the response body, so a
//! slow client slows the upstream read instead of growing a buffer, and a
//! client that goes away drops the channel, which ends the pump and with it
//! the upstream request. The response is only returned to the client once
//! the pump has bytes for it: an upstream that fails before that is reported
//! back to the dispatcher, which may still rotate to another account.

use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::{StatusCode, header};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, Sleep, sleep, timeout};

use super::responses::PendingKeep;
use super::trace::Trace;
use super::{Answer, Prepared, Relay};
use crate::monitor::Redactor;
use crate::pool::{Lease, Pool, Verdict};
use crate::protocol::sse::{self, Splitter};
use crate::protocol::stream::{BlockKind, events_from_response};
use crate::protocol::{
    ApiError, EncoderOptions, ErrorKind, Protocol, SseFrame, StreamDecoder, StreamEncoder, StreamEvent,
};
use crate::protocol::{members, signature};
use crate::upstream::{self, Failure, ReadError};

/// Encoded chunks waiting for the client; small, so memory stays bounded.
const CHANNEL_DEPTH: usize = 16;

type Early = Result<(), (Failure, Verdict, Trace)>;

impl Relay {
    /// Starts the pump for an upstream stream and waits until it either has
    /// bytes for the client (then answers 200 with the stream) or failed
    /// before any (then returns the failure for rotation).
    pub(super) async fn stream(
        &self,
        call: &Prepared,
        lease: Lease,
        response: reqwest::Response,
        trace: &mut Trace,
    ) -> Result<Answer, (Failure, Verdict)> {
        let provider = lease.member().provider.clone();
        let wire = provider.protocol();
        // The client's framing, which a translated stream does not share
        // with the upstream's (always SSE).
        let sse = call.sse;
        let encoder = call.codec.stream_encoder(EncoderOptions {
            meta: call.meta.clone(),
            include_usage: call.request.stream_include_usage,
            sse,
        });
        let (tx, rx) = mpsc::channel::<Bytes>(CHANNEL_DEPTH);
        let (early_tx, early_rx) = oneshot::channel::<Early>();
        let pump = Pump {
            pool: call.pool.clone(),
            lease,
            model: call.upstream_model.clone(),
            client: call.family(),
            keep_alive: self.settings.keep_alive,
            idle_timeout: self.settings.stream_idle_timeout,
            tx,
            early: Some(early_tx),
            encoder,
            sse,
            signatures: self.signatures.clone(),
            keep: call.codec.keeps_as(&call.meta).map(|id| PendingKeep {
                store: self.responses.clone(),
                id,
                input: call.request.messages.clone(),
                accumulator: Default::default(),
            }),
            // The pump owns the record from here; it hands it back if the
            // attempt fails before the first byte.
            trace: std::mem::take(trace),
            sniffer: None,
            hide_usage: call.passthrough(provider.as_ref()) && call.hides_usage(),
            relabel: (call.passthrough(provider.as_ref()) && call.relabels()).then(|| call.request.model.clone()),
            redactor: self.upstream.redactor(),
            body_limit: self.upstream.body_limit(),
        };
        let is_event_stream = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let is_json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        // Relayed only when the upstream answers in the framing the client
        // reads; anything else (an HTML page from a proxy, a complete JSON
        // answer) is read as a complete answer, and fails cleanly if it is none.
        let relayable = if sse { is_event_stream } else { is_json };
        if call.passthrough(provider.as_ref()) && relayable {
            let mut pump = pump;
            if pump.trace.active() {
                // Usage is read from the relayed events without re-encoding them.
                pump.sniffer = Some(wire.stream_decoder(&call.meta));
            }
            tokio::spawn(pump.relay(response));
        } else if is_event_stream {
            tokio::spawn(pump.translate(response, wire.stream_decoder(&call.meta)));
        } else {
            // Some compatible servers ignore `stream: true` and answer in
            // one piece: replay that answer as a stream.
            let meta = call.meta.clone();
            tokio::spawn(pump.replay(response, wire, meta, self.upstream.timeout()));
        }
        match early_rx.await {
            Ok(Ok(())) => Ok(Answer::Stream {
                status: StatusCode::OK,
                content_type: if sse { "text/event-stream" } else { "application/json" },
                chunks: rx,
                served_model: None,
            }),
            Ok(Err((failure, verdict, returned))) => {
                *trace = returned;
                Err((failure, verdict))
            }
            Err(_) => Err((
                Failure::Connect("the stream ended unexpectedly".into()),
                Verdict::Rotate,
            )),
        }
    }
}

/// One stream's pump.
struct Pump {
    pool: std::sync::Arc<Pool>,
    lease: Lease,
    model: String,
    client: Protocol,
    keep_alive: Duration,
    idle_timeout: Duration,
    tx: mpsc::Sender<Bytes>,
    /// Present until the first bytes are sent (or the stream failed first).
    early: Option<oneshot::Sender<Early>>,
    encoder: Box<dyn StreamEncoder>,
    sse: bool,
    /// Where signed tool calls are remembered for clients that drop them.
    signatures: std::sync::Arc<super::signatures::SignatureCache>,
    /// A Responses answer to keep for `previous_response_id` once complete.
    keep: Option<PendingKeep>,
    /// The call's record; finished when the stream ends (dropping the pump
    /// unfinished records a client that went away).
    trace: Trace,
    /// Reads usage from relayed events, when the call is recorded.
    sniffer: Option<Box<dyn StreamDecoder>>,
    /// The gateway asked for a usage chunk the client did not: keep it back.
    hide_usage: bool,
    /// The model the client asked for, when a relayed stream's events name
    /// another (an alias, a fallback): they are relabelled with it.
    relabel: Option<String>,
    /// Removes the gateway's secrets from the upstream's error texts.
    redactor: std::sync::Arc<Redactor>,
    /// The longest event of a translated stream (and a replayed answer), in bytes.
    body_limit: usize,
}

/// What the upstream did next.
enum Next<T> {
    Item(T),
    End,
    Broken(String),
    Stalled,
    KeepAlive,
}

/// The two deadlines a pump waits on beside the upstream: the idle one
/// (the upstream is declared stalled) and the next keep-alive. Their timers
/// live as long as the stream and are moved on, not made anew for every
/// event: moving a registered timer later is a store, where a new timer
/// goes into the runtime's timer wheel and out again.
struct Deadlines {
    idle: Pin<Box<Sleep>>,
    idle_timeout: Duration,
    /// `None` where keep-alives cannot be sent (a client reading JSON).
    keep_alive: Option<(Pin<Box<Sleep>>, Duration)>,
}

impl Deadlines {
    fn new(idle_timeout: Duration, keep_alive: Option<Duration>) -> Deadlines {
        Deadlines {
            idle: Box::pin(sleep(idle_timeout)),
            idle_timeout,
            keep_alive: keep_alive.map(|every| (Box::pin(sleep(every)), every)),
        }
    }

    /// The upstream sent something: only that pushes the idle deadline back,
    /// never a keep-alive sent meanwhile.
    fn upstream_spoke(&mut self) {
        self.idle.as_mut().reset(Instant::now() + self.idle_timeout);
    }

    /// Bytes (or a keep-alive) went to the client: the next keep-alive is
    /// due a whole interval from now.
    fn client_written(&mut self) {
        if let Some((timer, every)) = &mut self.keep_alive {
            timer.as_mut().reset(Instant::now() + *every);
        }
    }
}

/// Waits for the next keep-alive (forever when there are none).
async fn keep_alive_due(keep_alive: &mut Option<(Pin<Box<Sleep>>, Duration)>) {
    match keep_alive {
        Some((timer, _)) => timer.as_mut().await,
        None => std::future::pending().await,
    }
}

/// Waits for the upstream's next item, the idle deadline or a keep-alive
/// deadline, in that order when several are ready at once.
async fn next<S, T, E>(source: &mut S, deadlines: &mut Deadlines) -> Next<T>
where
    S: futures_util::Stream<Item = Result<T, E>> + Unpin,
    E: std::fmt::Display,
{
    let Deadlines { idle, keep_alive, .. } = deadlines;
    tokio::select! {
        biased;
        next = source.next() => match next {
            None => Next::End,
            Some(Err(err)) => Next::Broken(err.to_string()),
            Some(Ok(item)) => Next::Item(item),
        },
        () = idle.as_mut() => Next::Stalled,
        () = keep_alive_due(keep_alive) => Next::KeepAlive,
    }
}

impl Pump {
    /// Makes an upstream event fit for the client: signatures the client's
    /// protocol does not share are tagged, signed tool calls remembered,
    /// and a Responses answer to keep accumulated.
    fn prepare(&mut self, event: &mut StreamEvent) {
        let upstream = self.lease.member().provider.protocol();
        signature::event_for_client(event, upstream, self.client);
        if let StreamEvent::BlockStart(BlockKind::ToolCall {
            id,
            signature: Some(signature),
            ..
        }) = event
        {
            self.signatures.remember(id, signature);
        }
        if let Some(keep) = &mut self.keep {
            keep.accumulator.push(event);
        }
        if let StreamEvent::Usage(usage) = event {
            self.trace.usage(*usage);
        }
    }

    /// The stream's deadlines, from now (keep-alives only where the
    /// client reads SSE).
    fn deadlines(&self) -> Deadlines {
        Deadlines::new(self.idle_timeout, self.sse.then_some(self.keep_alive))
    }

    /// Sends `out` to the client. `false` when the client has gone.
    async fn send(&mut self, out: &mut BytesMut) -> bool {
        if out.is_empty() {
            return true;
        }
        if let Some(early) = self.early.take() {
            let _ = early.send(Ok(()));
        }
        self.trace.first_byte();
        self.tx.send(out.split().freeze()).await.is_ok()
    }

    /// Reports a failure that happened before any byte reached the client:
    /// the dispatcher may still rotate. Returns `false` if it was too late.
    fn fail_early(&mut self, failure: Failure) -> bool {
        let failure = failure.redacted(&self.redactor, &[]);
        match self.early.take() {
            Some(early) => {
                let verdict = self.pool.failed(&self.lease, &self.model, &failure);
                let _ = early.send(Err((failure, verdict, std::mem::take(&mut self.trace))));
                true
            }
            None => false,
        }
    }

    fn finished(&mut self, failure: Option<Failure>) {
        match failure {
            None => {
                self.pool.succeeded(&self.lease, &self.model);
                if let Some(keep) = self.keep.take() {
                    keep.finish(&self.model);
                }
                self.trace.finish(200, None);
            }
            Some(failure) => {
                self.pool.failed(&self.lease, &self.model, &failure);
                // The client got 200 and then an error event.
                self.trace.finish(200, Some(failure.describe()));
            }
        }
    }

    /// Reads the usage out of a complete relayed event.
    fn sniff(&mut self, fields: &sse::Fields) {
        let Some(decoder) = self.sniffer.as_mut() else { return };
        let Some(data) = &fields.data else { return };
        let mut decoded = Vec::new();
        let _ = decoder.decode(
            SseFrame {
                event: fields.event.as_deref(),
                data,
            },
            &mut decoded,
        );
        for event in decoded {
            if let StreamEvent::Usage(usage) = event {
                self.trace.usage(usage);
            }
        }
    }

    /// Translates an upstream SSE stream into the client's protocol. The
    /// stream is split into events as it arrives; an event longer than the
    /// limit ends the stream with an error, and its reading stops there.
    async fn translate(mut self, response: reqwest::Response, mut decoder: Box<dyn StreamDecoder>) {
        let mut chunks = response.bytes_stream();
        let mut splitter = Splitter::new(self.body_limit);
        let mut raw = Vec::new();
        let mut out = BytesMut::new();
        let mut events = Vec::new();
        let mut deadlines = self.deadlines();
        let mut oversized = false;
        loop {
            let mut done = false;
            match next(&mut chunks, &mut deadlines).await {
                Next::KeepAlive => self.encoder.keep_alive(&mut out),
                Next::Item(chunk) => {
                    deadlines.upstream_spoke();
                    if splitter.push(&chunk, &mut raw).is_err() {
                        if self.fail_early(Failure::TooLarge { limit: self.body_limit }) {
                            return;
                        }
                        oversized = true;
                        events.push(StreamEvent::Error(too_large(self.body_limit)));
                    }
                }
                Next::End => {
                    raw.extend(splitter.finish());
                    done = true;
                }
                Next::Broken(why) => events.push(StreamEvent::Error(broken(&why))),
                Next::Stalled => events.push(StreamEvent::Error(stalled(self.idle_timeout))),
            }
            // Events decoded before a failure of this round still go first.
            let failures = std::mem::take(&mut events);
            for event in raw.drain(..) {
                self.decode(decoder.as_mut(), &event, &mut events);
            }
            events.extend(failures);
            if done {
                decoder.finish(&mut events);
            }
            for event in &mut events {
                if let StreamEvent::Error(err) = event {
                    err.message = self.redactor.redact(&err.message);
                }
            }
            let error = events.iter().find_map(|e| match e {
                StreamEvent::Error(err) => Some(err.clone()),
                _ => None,
            });
            if let Some(err) = &error
                && self.fail_early(failure_of(err))
            {
                return;
            }
            for mut event in events.drain(..) {
                self.prepare(&mut event);
                self.encoder.encode(&event, &mut out);
                if matches!(event, StreamEvent::Error(_)) {
                    break;
                }
            }
            done |= error.is_some();
            if done {
                self.encoder.finish(&mut out);
                // Recorded before the last bytes go out: a client that reads
                // the end and at once continues the conversation must find it.
                let failure = match &error {
                    Some(_) if oversized => Some(Failure::TooLarge { limit: self.body_limit }),
                    error => error.as_ref().map(failure_of),
                };
                self.finished(failure);
                self.send(&mut out).await;
                return;
            }
            if !self.send(&mut out).await {
                return;
            }
            deadlines.client_written();
        }
    }

    /// Decodes one raw upstream event (out of its provider's envelope).
    fn decode(&self, decoder: &mut dyn StreamDecoder, raw: &[u8], events: &mut Vec<StreamEvent>) {
        let fields = sse::fields(raw);
        let Some(data) = fields.data else { return };
        let provider = self.lease.member().provider.clone();
        let unwrapped = String::from_utf8_lossy(&provider.unwrap(data.as_bytes())).into_owned();
        let frame = SseFrame {
            event: fields.event.as_deref(),
            data: &unwrapped,
        };
        if let Err(err) = decoder.decode(frame, events) {
            events.push(StreamEvent::Error(err));
        }
    }

    /// Relays a same-protocol stream byte for byte. Server-sent events are
    /// passed on whole: the bytes of an event still arriving wait in the
    /// splitter for its end, so that keep-alives fall between events and a
    /// stream that breaks off mid-event ends with an error event the client
    /// can read instead of half an event it cannot parse. An event longer
    /// than the limit ends the stream as it does a translated one.
    async fn relay(mut self, response: reqwest::Response) {
        let mut chunks = response.bytes_stream();
        let mut out = BytesMut::new();
        let mut splitter = Splitter::new(self.body_limit);
        let mut raw = Vec::new();
        let mut deadlines = self.deadlines();
        let mut oversized = false;
        loop {
            let mut done = false;
            let failure = match next(&mut chunks, &mut deadlines).await {
                Next::KeepAlive => {
                    self.encoder.keep_alive(&mut out);
                    None
                }
                Next::Item(chunk) if self.sse => {
                    deadlines.upstream_spoke();
                    match splitter.push(&chunk, &mut raw) {
                        Ok(()) => self.pass_on(&mut raw, &mut out),
                        Err(_) => {
                            oversized = true;
                            Some(too_large(self.body_limit))
                        }
                    }
                }
                Next::Item(chunk) => {
                    deadlines.upstream_spoke();
                    out.extend_from_slice(&chunk);
                    None
                }
                Next::End => {
                    // A last event without its blank line still goes out.
                    raw.extend(splitter.finish());
                    done = true;
                    self.pass_on(&mut raw, &mut out)
                }
                Next::Broken(why) => Some(broken(&why)),
                Next::Stalled => Some(stalled(self.idle_timeout)),
            };
            if let Some(mut err) = failure {
                err.message = self.redactor.redact(&err.message);
                let limit = self.body_limit;
                // The pool's view: an oversized event is the upstream's
                // answer being too large, as on the translated path.
                let failure = || {
                    if oversized {
                        Failure::TooLarge { limit }
                    } else {
                        failure_of(&err)
                    }
                };
                if self.fail_early(failure()) {
                    return;
                }
                if self.sse {
                    error_frame(self.client, &err, &mut out);
                }
                self.send(&mut out).await;
                self.finished(Some(failure()));
                return;
            }
            if done {
                if self.send(&mut out).await {
                    self.finished(None);
                }
                return;
            }
            if !self.send(&mut out).await {
                return;
            }
            deadlines.client_written();
        }
    }

    /// Appends the complete relayed events in `raw` to `out` (draining
    /// `raw`), or none of them when one cannot be read by the client.
    fn pass_on(&mut self, raw: &mut Vec<Bytes>, out: &mut BytesMut) -> Option<ApiError> {
        if let Some(bad) = raw.iter().find_map(|event| unreadable(event)) {
            raw.clear();
            return Some(bad);
        }
        let wire = self.lease.member().provider.protocol();
        for event in raw.drain(..) {
            let fields = sse::fields(&event);
            self.sniff(&fields);
            if self.hide_usage && is_usage_chunk(&fields) {
                continue;
            }
            // An event that names no model (or is no JSON) goes on as it is.
            let relabelled = self
                .relabel
                .as_deref()
                .zip(fields.data.as_deref())
                .and_then(|(model, data)| {
                    members::relabel_model(data.as_bytes(), wire, model).map(|data| sse::with_data(&event, &data))
                });
            out.extend_from_slice(relabelled.as_deref().unwrap_or(&event));
        }
        None
    }

    /// Streams an upstream's complete (non-SSE) answer.
    async fn replay(
        mut self,
        response: reqwest::Response,
        wire: Protocol,
        meta: crate::protocol::ResponseMeta,
        limit: Duration,
    ) {
        let body = match timeout(limit, upstream::read_capped(response, self.body_limit)).await {
            Ok(Ok(body)) => body,
            Ok(Err(ReadError::TooLarge)) => {
                self.fail_early(Failure::TooLarge { limit: self.body_limit });
                return;
            }
            Ok(Err(ReadError::Transport(err))) => {
                self.fail_early(Failure::Connect(format!(
                    "the response broke off: {}",
                    err.without_url()
                )));
                return;
            }
            Err(_) => {
                self.fail_early(Failure::Timeout);
                return;
            }
        };
        let body = self.lease.member().provider.unwrap(&body).into_owned();
        let decoded = match wire.decode_response(&body, &meta) {
            Ok(decoded) => decoded,
            Err(err) => {
                self.fail_early(Failure::Status {
                    status: 502,
                    retry_after: None,
                    message: format!(
                        "the upstream answered a stream request with something that is not a stream: {}",
                        err.message
                    ),
                });
                return;
            }
        };
        let mut out = BytesMut::new();
        for mut event in events_from_response(&decoded) {
            self.prepare(&mut event);
            self.encoder.encode(&event, &mut out);
        }
        self.encoder.finish(&mut out);
        self.finished(None);
        self.send(&mut out).await;
    }
}

/// `Some(error)` when this complete server-sent event is not UTF-8 or
/// carries data that is neither JSON nor OpenAI's `[DONE]`: a relayed
/// stream is checked so that the client gets an error event it can read
/// instead of an event its SDK fails to parse.
fn unreadable(event: &[u8]) -> Option<ApiError> {
    if std::str::from_utf8(event).is_err() {
        return Some(not_events("bytes that are not UTF-8".into()));
    }
    let data = sse::fields(event).data?;
    if data.trim() == "[DONE]" {
        return None;
    }
    let err = serde_json::from_str::<serde::de::IgnoredAny>(&data).err()?;
    let start: String = data.chars().take(80).collect();
    Some(not_events(format!(
        "an event whose data is not JSON ({err}): `{start}`"
    )))
}

fn not_events(what: String) -> ApiError {
    ApiError {
        status: 502,
        kind: ErrorKind::Api,
        message: format!("The upstream stream could not be read: it sent {what}."),
    }
}

/// An error frame in the client's SSE dialect, for relayed streams.
fn error_frame(client: Protocol, error: &ApiError, out: &mut BytesMut) {
    let body = client.error_body(error).to_string();
    if client == Protocol::Anthropic {
        out.extend_from_slice(b"event: error\n");
    }
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(body.as_bytes());
    out.extend_from_slice(b"\n\n");
}

/// The error event of a stream whose event grew past the limit.
fn too_large(limit: usize) -> ApiError {
    ApiError {
        status: 502,
        kind: ErrorKind::Api,
        message: format!(
            "One event of the upstream's stream was {}.",
            upstream::over_limit(limit)
        ),
    }
}

fn broken(why: &str) -> ApiError {
    ApiError {
        status: 502,
        kind: ErrorKind::Api,
        message: format!("The upstream stream broke off: {why}"),
    }
}

fn stalled(after: Duration) -> ApiError {
    ApiError::new(
        ErrorKind::Timeout,
        format!(
            "The upstream stream stalled: nothing arrived for {} seconds.",
            after.as_secs()
        ),
    )
}

/// The pool's view of an error event.
fn failure_of(error: &ApiError) -> Failure {
    match error.kind {
        ErrorKind::Timeout => Failure::Timeout,
        _ => Failure::Status {
            status: error.status,
            retry_after: None,
            message: error.message.clone(),
        },
    }
}

/// Whether an OpenAI stream event is a usage-only chunk (`choices: []`
/// with `usage`), which a client that did not ask for usage must not see.
fn is_usage_chunk(fields: &sse::Fields) -> bool {
    #[derive(serde::Deserialize)]
    struct Chunk {
        choices: Option<Vec<serde::de::IgnoredAny>>,
        usage: Option<serde::de::IgnoredAny>,
    }
    fields.data.as_deref().is_some_and(|data| {
        serde_json::from_str::<Chunk>(data)
            .is_ok_and(|chunk| chunk.usage.is_some() && chunk.choices.is_some_and(|c| c.is_empty()))
    })
}
