//! Upstream faults (issue 9): every way an upstream can fail, for every
//! client protocol (Chat Completions, Messages, Gemini, Responses), complete
//! and streamed, against every upstream provider. Whatever happens, the
//! client gets a well-formed error in its own protocol — an HTTP error
//! body, or an error event once its stream has started — within a bounded
//! time, and never the upstream's secret.
//!
//! The gateway runs with `request_timeout_secs = 1`, which bounds both the
//! wait for an upstream's headers and a stream's silence; faults that time
//! out therefore end after about a second.

use crate::common;

use std::time::Duration;

use bytes::Bytes;
use common::clients::{ALL_CLIENTS, Client, Reply};
use common::conversation::{ANSWER, Ask, Canned, Finish};
use common::raw::{Behaviour, RawUpstream, refused_url};
use common::rig::{each_parallel, model_of};
use common::upstreams::{self, UPSTREAMS, Wanted};
use common::{Mock, MockReply, TestAccount, TestGateway, fed};
use switchyard::config::ProviderKind;
use tokio::time::Instant;

/// The gateway's timeouts for these tests: one second.
const CONFIG: &str = "[proxy]\nrequest_timeout_secs = 1\n";

/// Longest a faulty exchange may take: the one-second timeout, plus slack
/// for a loaded machine. A hang fails the test instead of stalling it.
const BOUND: Duration = Duration::from_secs(6);

/// How many cases run at once (they mostly wait).
const PARALLEL: usize = 6;

/// One cell of the fault matrix.
#[derive(Debug, Clone, Copy)]
struct Cell {
    caller: Client,
    upstream: ProviderKind,
    stream: bool,
}

impl Cell {
    fn model(&self) -> &'static str {
        model_of(self.upstream)
    }

    /// Same protocol on both sides: relayed rather than translated.
    fn passthrough(&self) -> bool {
        self.caller.speaks() == Some(self.upstream)
    }
}

/// Every caller against every upstream, in each of `streams`.
fn cells(streams: &[bool]) -> Vec<(String, Cell)> {
    let mut cells = Vec::new();
    for caller in ALL_CLIENTS {
        for upstream in UPSTREAMS {
            for &stream in streams {
                let label = format!(
                    "{} → {upstream}{}",
                    caller.name(),
                    if stream { " (stream)" } else { "" }
                );
                cells.push((
                    label,
                    Cell {
                        caller,
                        upstream,
                        stream,
                    },
                ));
            }
        }
    }
    cells
}

/// A gateway whose only account of `cell`'s provider is at `base_url`.
async fn gateway(cell: &Cell, base_url: String) -> TestGateway {
    let account = TestAccount::new(cell.upstream, base_url).label("faulty");
    TestGateway::start(vec![account], CONFIG).await
}

/// Calls through `gw` and checks the bound.
async fn call(gw: &TestGateway, cell: &Cell) -> Reply {
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        BOUND,
        cell.caller.call(&gw.base(), &Ask::hello(cell.model(), cell.stream)),
    )
    .await
    .unwrap_or_else(|_| panic!("no answer within {BOUND:?}: the client was left hanging"));
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
    outcome
}

/// The outcome is an error in the caller's protocol: an HTTP error whose
/// status is one of `statuses`, or — for a stream that had started — an
/// error event after a 200. Its message contains `needle` and never the
/// account's secret.
fn expect_error(outcome: &Reply, statuses: &[u16], needle: &str) {
    let error = outcome
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("no error reached the client: {}", outcome.body));
    if outcome.status != 200 {
        assert!(
            statuses.contains(&outcome.status),
            "HTTP {} not in {statuses:?}: {}",
            outcome.status,
            outcome.body
        );
    }
    assert!(
        error.message.contains(needle),
        "the message does not say {needle:?}: {error:?}"
    );
    assert!(!outcome.body.contains("upstream-secret"), "{}", outcome.body);
}

/// An HTTP error, not a started stream.
fn expect_http_error(outcome: &Reply, statuses: &[u16], needle: &str) {
    assert_ne!(outcome.status, 200, "{}", outcome.body);
    expect_error(outcome, statuses, needle);
}

/// The stream started, carried the first text piece, and ended in an error event.
fn expect_error_event(outcome: &Reply, needle: &str) {
    assert_eq!(outcome.status, 200, "{}", outcome.body);
    assert_eq!(
        outcome.answer.text, ANSWER[0],
        "what came before the fault arrives: {}",
        outcome.body
    );
    expect_error(outcome, &[], needle);
}

/// The first half of `cell`'s upstream's complete answer.
fn half_a_body(cell: &Cell) -> Bytes {
    let body = upstreams::complete_body(cell.upstream, &Canned::text(Finish::Stop), cell.model()).to_string();
    Bytes::from(body[..body.len() / 2].to_string())
}

/// `base_url` as an account of `cell`'s provider names it (OpenAI's with `/v1`).
fn base_of(cell: &Cell, url: &str) -> String {
    upstreams::base_url(cell.upstream, url)
}

#[tokio::test]
async fn connection_refused() {
    each_parallel(PARALLEL, cells(&[false, true]), |cell| async move {
        let gw = gateway(&cell, base_of(&cell, &refused_url())).await;
        let outcome = call(&gw, &cell).await;
        expect_http_error(&outcome, &[502], "Could not reach the upstream of account `faulty`");
    })
    .await;
}

#[tokio::test]
async fn dns_failure() {
    each_parallel(PARALLEL, cells(&[false, true]), |cell| async move {
        // `.invalid` never resolves (RFC 2606). Should a resolver hang
        // instead of failing, the request timeout still bounds the wait.
        let gw = gateway(&cell, base_of(&cell, "http://upstream.invalid")).await;
        let outcome = call(&gw, &cell).await;
        expect_http_error(&outcome, &[502, 504], "account `faulty`");
    })
    .await;
}

#[tokio::test]
async fn tls_failure() {
    // An https base URL whose server speaks plain HTTP: the handshake fails.
    let mock = Mock::start(|_| MockReply::status(500, serde_json::json!({"error": "must not be reached"}))).await;
    let plain = mock.addr;
    each_parallel(PARALLEL, cells(&[false, true]), move |cell| async move {
        let gw = gateway(&cell, base_of(&cell, &format!("https://{plain}"))).await;
        let outcome = call(&gw, &cell).await;
        expect_http_error(&outcome, &[502], "Could not reach the upstream of account `faulty`");
    })
    .await;
    assert_eq!(mock.count(), 0, "no HTTP request got through the failed handshake");
}

#[tokio::test]
async fn the_upstream_hangs_up_before_answering() {
    each_parallel(PARALLEL, cells(&[false, true]), |cell| async move {
        let raw = RawUpstream::start(Behaviour::HangUp).await;
        let gw = gateway(&cell, base_of(&cell, &raw.url())).await;
        let outcome = call(&gw, &cell).await;
        expect_http_error(&outcome, &[502], "Could not reach the upstream of account `faulty`");
    })
    .await;
}

#[tokio::test]
async fn slow_headers_time_out() {
    each_parallel(PARALLEL, cells(&[false, true]), |cell| async move {
        let raw = RawUpstream::start(Behaviour::Silent).await;
        let gw = gateway(&cell, base_of(&cell, &raw.url())).await;
        let outcome = call(&gw, &cell).await;
        expect_http_error(&outcome, &[504], "did not answer in time");
    })
    .await;
}

/// A slow account is left for the next one: the client gets its answer
/// from the healthy account once the timeout passes.
#[tokio::test]
async fn slow_headers_rotate_to_the_next_account() {
    each_parallel(PARALLEL, cells(&[false, true]), |cell| async move {
        let raw = RawUpstream::start(Behaviour::Silent).await;
        let healthy = Mock::start(upstreams::answering(cell.upstream, Canned::text(Finish::Stop))).await;
        let accounts = vec![
            TestAccount::new(cell.upstream, base_of(&cell, &raw.url())).label("slow"),
            TestAccount::new(cell.upstream, base_of(&cell, &healthy.url()))
                .label("healthy")
                .priority(1),
        ];
        let gw = TestGateway::start(accounts, CONFIG).await;
        let started = Instant::now();
        let outcome = call(&gw, &cell).await;
        assert_eq!(outcome.status, 200, "{}", outcome.body);
        assert_eq!(outcome.error, None, "{}", outcome.body);
        assert_eq!(outcome.answer.text, ANSWER.concat());
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "the slow account was tried first"
        );
        assert_eq!(raw.accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(healthy.count(), 1);
    })
    .await;
}

/// Refused connections rotate at once.
#[tokio::test]
async fn a_refused_account_rotates_to_the_next() {
    each_parallel(PARALLEL, cells(&[false, true]), |cell| async move {
        let healthy = Mock::start(upstreams::answering(cell.upstream, Canned::text(Finish::Stop))).await;
        let accounts = vec![
            TestAccount::new(cell.upstream, base_of(&cell, &refused_url())).label("down"),
            TestAccount::new(cell.upstream, base_of(&cell, &healthy.url()))
                .label("healthy")
                .priority(1),
        ];
        let gw = TestGateway::start(accounts, CONFIG).await;
        let outcome = call(&gw, &cell).await;
        assert_eq!(outcome.status, 200, "{}", outcome.body);
        assert_eq!(outcome.answer.text, ANSWER.concat());
    })
    .await;
}

/// Headers arrive, the body does not: a complete answer times out, a
/// stream that has sent nothing yet is declared stalled before it started.
#[tokio::test]
async fn slow_body_times_out() {
    each_parallel(PARALLEL, cells(&[false, true]), |cell| async move {
        let content_type = if cell.stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let (feed, handler) = fed(content_type);
        if !cell.stream {
            feed.send(half_a_body(&cell));
        }
        let mock = Mock::start(handler).await;
        let gw = gateway(&cell, base_of(&cell, &mock.url())).await;
        let outcome = call(&gw, &cell).await;
        expect_http_error(&outcome, &[504], "");
        let message = &outcome.error.as_ref().unwrap().message;
        assert!(
            message.contains("did not answer in time") || message.contains("stalled"),
            "{message}"
        );
        drop(feed);
    })
    .await;
}

/// A body that arrives slowly but within the timeout is no fault.
#[tokio::test]
async fn a_slow_body_within_the_timeout_is_served() {
    each_parallel(PARALLEL, cells(&[false, true]), |cell| async move {
        let wanted = if cell.stream {
            Wanted::Sse { usage: true }
        } else {
            Wanted::Complete
        };
        let canned = Canned::text(Finish::Stop);
        let pieces: Vec<Bytes> = if cell.stream {
            upstreams::wire_chunks(
                &upstreams::frames(cell.upstream, &canned, cell.model(), wanted),
                wanted,
                true,
            )
        } else {
            let body = upstreams::complete_body(cell.upstream, &canned, cell.model()).to_string();
            let third = body.len() / 3;
            vec![
                Bytes::from(body[..third].to_string()),
                Bytes::from(body[third..2 * third].to_string()),
                Bytes::from(body[2 * third..].to_string()),
            ]
        };
        let chunks: Vec<(Duration, Bytes)> = pieces
            .into_iter()
            .map(|piece| (Duration::from_millis(if cell.stream { 60 } else { 250 }), piece))
            .collect();
        let mock = Mock::start(move |_| MockReply::Stream {
            chunks: chunks.clone(),
            hold: None,
            content_type: upstreams::content_type(wanted),
        })
        .await;
        let gw = gateway(&cell, base_of(&cell, &mock.url())).await;
        let outcome = call(&gw, &cell).await;
        assert_eq!(outcome.status, 200, "{}", outcome.body);
        assert_eq!(outcome.error, None, "{}", outcome.body);
        assert_eq!(outcome.answer.text, ANSWER.concat());
    })
    .await;
}

/// The upstream goes silent after its first text: the idle timeout ends
/// the client's stream with an error event.
#[tokio::test]
async fn a_stall_mid_stream_ends_in_an_error_event() {
    each_parallel(PARALLEL, cells(&[true]), |cell| async move {
        let (feed, handler) = fed("text/event-stream");
        for frame in upstreams::first_frames(cell.upstream, cell.model()) {
            feed.send(frame);
        }
        let mock = Mock::start(handler).await;
        let gw = gateway(&cell, base_of(&cell, &mock.url())).await;
        let outcome = call(&gw, &cell).await;
        expect_error_event(&outcome, "stalled");
        drop(feed);
    })
    .await;
}

/// The connection breaks off in the middle of the body: a stream ends in
/// an error event, a complete answer is a 502.
#[tokio::test]
async fn a_reset_mid_body() {
    each_parallel(PARALLEL, cells(&[false, true]), |cell| async move {
        let (chunks, content_type) = if cell.stream {
            let frames = upstreams::first_frames(cell.upstream, cell.model())
                .into_iter()
                .map(Bytes::from)
                .collect();
            (frames, "text/event-stream")
        } else {
            (vec![half_a_body(&cell)], "application/json")
        };
        let mock = Mock::start(move |_| MockReply::Aborted {
            chunks: chunks.clone(),
            content_type,
        })
        .await;
        let gw = gateway(&cell, base_of(&cell, &mock.url())).await;
        let outcome = call(&gw, &cell).await;
        if cell.stream {
            expect_error_event(&outcome, "broke off");
        } else {
            expect_http_error(&outcome, &[502], "broke off");
        }
    })
    .await;
}

/// `200 OK` with JSON that breaks off (a truncating proxy): a 502 in the
/// client's protocol, whether the body was to be translated or relayed.
#[tokio::test]
async fn malformed_json_from_the_upstream() {
    each_parallel(PARALLEL, cells(&[false]), |cell| async move {
        let body = half_a_body(&cell);
        let mock = Mock::start(move |_| MockReply::Raw {
            status: 200,
            content_type: "application/json",
            body: body.clone(),
        })
        .await;
        let gw = gateway(&cell, base_of(&cell, &mock.url())).await;
        let outcome = call(&gw, &cell).await;
        expect_http_error(&outcome, &[502], "account `faulty`");
    })
    .await;
}

/// Server-sent events whose data is not JSON (or not even text): before
/// any content, an HTTP 502; after some, an error event.
#[tokio::test]
async fn malformed_server_sent_events() {
    let mut cases = Vec::new();
    for (label, cell) in cells(&[true]) {
        for (what, bad) in [
            (
                "truncated JSON",
                b"data: {\"choices\": [{\"delta\": {\"content\": \"Bon\n\n".to_vec(),
            ),
            (
                "bytes that are not text",
                b"data: \xff\xfe\x00\x81 garbage\n\n".to_vec(),
            ),
        ] {
            cases.push((format!("{label}, {what} first"), (cell, bad.clone(), false)));
            cases.push((format!("{label}, {what} mid-stream"), (cell, bad, true)));
        }
    }
    each_parallel(PARALLEL, cases, |(cell, bad, mid)| async move {
        let mut chunks: Vec<Bytes> = Vec::new();
        if mid {
            chunks.extend(
                upstreams::first_frames(cell.upstream, cell.model())
                    .into_iter()
                    .map(Bytes::from),
            );
        }
        chunks.push(Bytes::from(bad));
        let mock = Mock::start(move |_| upstreams::stream_reply(chunks.clone(), Wanted::Sse { usage: true })).await;
        let gw = gateway(&cell, base_of(&cell, &mock.url())).await;
        let outcome = call(&gw, &cell).await;
        if mid {
            expect_error_event(&outcome, "");
        } else {
            expect_http_error(&outcome, &[502], "");
        }
        let message = &outcome.error.as_ref().unwrap().message;
        assert!(
            [
                "could not be read",
                "cannot read",
                "unreadable",
                "not JSON",
                "not a GenerateContentResponse",
                "broke off"
            ]
            .iter()
            .any(|words| message.contains(words)),
            "the message says the stream was unreadable: {message}"
        );
    })
    .await;
}

const HTML: &str = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\
                    <body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n";

/// A proxy in front of the upstream answers `200 OK` with an HTML page
/// (a captive portal, a login page): a 502 that says so, never the page
/// relayed as if it were the answer.
#[tokio::test]
async fn an_html_page_with_200() {
    each_parallel(PARALLEL, cells(&[false, true]), |cell| async move {
        let mock = Mock::start(|_| MockReply::Raw {
            status: 200,
            content_type: "text/html",
            body: Bytes::from_static(HTML.as_bytes()),
        })
        .await;
        let gw = gateway(&cell, base_of(&cell, &mock.url())).await;
        let outcome = call(&gw, &cell).await;
        expect_http_error(&outcome, &[502], "account `faulty`");
        assert!(
            !outcome.body.contains("</html>"),
            "the page is not relayed whole: {}",
            outcome.body
        );
    })
    .await;
}

/// A proxy's own HTML error page: the upstream status and the page's gist
/// reach the client in its protocol.
#[tokio::test]
async fn an_html_error_page() {
    each_parallel(PARALLEL, cells(&[false, true]), |cell| async move {
        let mock = Mock::start(|_| MockReply::Raw {
            status: 502,
            content_type: "text/html",
            body: Bytes::from_static(HTML.as_bytes()),
        })
        .await;
        let gw = gateway(&cell, base_of(&cell, &mock.url())).await;
        let outcome = call(&gw, &cell).await;
        expect_http_error(&outcome, &[502], "HTTP 502");
        assert!(outcome.error.unwrap().message.contains("502 Bad Gateway"));
    })
    .await;
}

/// Passthrough cells are relayed byte for byte when nothing is wrong: the
/// checks above did not make the relay rewrite healthy answers.
#[tokio::test]
async fn healthy_relayed_answers_are_untouched() {
    let relayed: Vec<(String, Cell)> = cells(&[false, true])
        .into_iter()
        .filter(|(_, cell)| cell.passthrough())
        .collect();
    assert_eq!(relayed.len(), 6);
    each_parallel(PARALLEL, relayed, |cell| async move {
        let canned = Canned::text(Finish::Stop);
        let wanted = if cell.stream {
            Wanted::Sse { usage: true }
        } else {
            Wanted::Complete
        };
        let expected = if cell.stream {
            upstreams::frames(cell.upstream, &canned, cell.model(), wanted).concat()
        } else {
            upstreams::complete_body(cell.upstream, &canned, cell.model()).to_string()
        };
        let mock = Mock::start(upstreams::answering(cell.upstream, canned)).await;
        let gw = gateway(&cell, base_of(&cell, &mock.url())).await;
        let response = cell
            .caller
            .request(&gw.base(), &Ask::hello(cell.model(), cell.stream))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), expected);
    })
    .await;
}
