//! Client faults (issue 9): a client that goes away mid-stream cancels its
//! upstream request and frees its account's slot; a client that reads
//! slowly holds back the upstream instead of growing a buffer; a client
//! that sends its request slowly (slowloris: headers or body trickled) is
//! cut off after `client_timeout_secs`, with a 408 in its protocol once
//! the route is known.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::clients::{ALL_CLIENTS, Client};
use common::conversation::{ANSWER, Ask, Canned, Finish};
use common::raw::closed_within;
use common::rig::{each_parallel, model_of};
use common::upstreams::{self, UPSTREAMS, anthropic_event, gemini_chunk, gemini_usage, openai_chunk, sse_frame};
use common::{Mock, MockReply, TestAccount, TestGateway, fed};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};

/// Longest wait for anything a test expects.
const PATIENCE: Duration = Duration::from_secs(5);

/// Every caller against every upstream, streaming.
fn stream_cells() -> Vec<(String, (Client, ProviderKind))> {
    let mut cells = Vec::new();
    for caller in ALL_CLIENTS {
        for upstream in UPSTREAMS {
            cells.push((format!("{} → {upstream}", caller.name()), (caller, upstream)));
        }
    }
    cells
}

/// One more text delta in `upstream`'s stream format.
fn text_frame(upstream: ProviderKind, text: &str) -> String {
    let model = model_of(upstream);
    match upstream {
        ProviderKind::Openai => sse_frame(
            upstream,
            None,
            &openai_chunk(model, json!({"content": text}), None, true),
        ),
        ProviderKind::Anthropic => anthropic_event(
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
        ),
        _ => sse_frame(
            upstream,
            None,
            &gemini_chunk(
                model,
                json!([{"text": text}]),
                None,
                gemini_usage(&Default::default(), false),
            ),
        ),
    }
}

/// Reads `response` until its body holds `needle`.
async fn read_until(response: &mut reqwest::Response, needle: &str) -> Vec<u8> {
    let mut body = Vec::new();
    let found = timeout(PATIENCE, async {
        while !String::from_utf8_lossy(&body).contains(needle) {
            match response.chunk().await.expect("the stream is readable") {
                Some(chunk) => body.extend_from_slice(&chunk),
                None => return false,
            }
        }
        true
    })
    .await;
    assert_eq!(
        found,
        Ok(true),
        "{needle:?} did not arrive: {}",
        String::from_utf8_lossy(&body)
    );
    body
}

/// The in-flight count of the gateway's only account.
fn in_flight(gw: &TestGateway) -> usize {
    gw.gateway.accounts().expect("running")[0].in_flight
}

#[tokio::test]
async fn a_client_that_disconnects_mid_stream_cancels_the_upstream_request() {
    each_parallel(4, stream_cells(), |(caller, upstream)| async move {
        let (feed, handler) = fed("text/event-stream");
        for frame in upstreams::first_frames(upstream, model_of(upstream)) {
            feed.send(frame);
        }
        let mock = Mock::start(handler).await;
        let gw = TestGateway::start(
            vec![TestAccount::new(upstream, upstreams::base_url(upstream, &mock.url()))],
            "",
        )
        .await;
        let mut response = caller
            .request(&gw.base(), &Ask::hello(model_of(upstream), true))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        read_until(&mut response, ANSWER[0]).await;
        assert_eq!(in_flight(&gw), 1, "the stream holds its account");

        drop(response);
        // The upstream keeps talking; the gateway must hang up on it at its
        // next event instead of reading it to the end.
        let started = Instant::now();
        let mut sent = 0;
        while !feed.closed() {
            assert!(
                started.elapsed() < PATIENCE,
                "the upstream connection is still open {PATIENCE:?} after the client left ({sent} events later)"
            );
            feed.send(text_frame(upstream, "still talking "));
            sent += 1;
            sleep(Duration::from_millis(20)).await;
        }
        while in_flight(&gw) != 0 {
            assert!(
                started.elapsed() < PATIENCE,
                "the account's in-flight count did not drop"
            );
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// A client that stops reading: the gateway stops reading the upstream
/// once the few buffers between them are full (the mock's writes block),
/// and resumes when the client reads again.
#[tokio::test]
async fn a_slow_reading_client_holds_back_the_upstream() {
    /// What the upstream would send in all: far more than any buffer.
    const TOTAL: usize = 512 * 1024 * 1024;
    /// The most that may sit in the socket buffers, the channel and the
    /// decoders between a stalled client and the upstream.
    const BOUND: usize = 48 * 1024 * 1024;
    let piece = "x".repeat(16 * 1024);
    each_parallel(3, stream_cells(), move |(caller, upstream)| {
        let piece = piece.clone();
        async move {
            let produced = Arc::new(AtomicUsize::new(0));
            let counter = produced.clone();
            let first = upstreams::first_frames(upstream, model_of(upstream)).concat();
            let next = text_frame(upstream, &piece);
            let mock = Mock::start(move |_| {
                let counter = counter.clone();
                let (first, next) = (Bytes::from(first.clone()), Bytes::from(next.clone()));
                let body = futures_util::stream::unfold(0usize, move |n| {
                    let chunk = if n == 0 { first.clone() } else { next.clone() };
                    let done = counter.load(Ordering::SeqCst) >= TOTAL;
                    counter.fetch_add(chunk.len(), Ordering::SeqCst);
                    async move { (!done).then_some((Ok::<Bytes, std::io::Error>(chunk), n + 1)) }
                });
                MockReply::Pulled {
                    body: Box::pin(body),
                    content_type: "text/event-stream",
                }
            })
            .await;
            let gw = TestGateway::start(
                vec![TestAccount::new(upstream, upstreams::base_url(upstream, &mock.url()))],
                "",
            )
            .await;
            let mut response = caller
                .request(&gw.base(), &Ask::hello(model_of(upstream), true))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            read_until(&mut response, ANSWER[0]).await;

            // The client reads no more. The upstream's writes soon block.
            let plateau = timeout(Duration::from_secs(20), async {
                let mut last = usize::MAX;
                loop {
                    sleep(Duration::from_millis(500)).await;
                    let now = produced.load(Ordering::SeqCst);
                    if now == last {
                        return now;
                    }
                    last = now;
                }
            })
            .await
            .expect("the upstream never stopped producing: the gateway buffers a stalled client's stream");
            assert!(
                plateau < BOUND,
                "{} MiB taken from the upstream for a client that stopped reading",
                plateau / (1024 * 1024)
            );

            // The client reads again: the upstream resumes.
            let resumed = timeout(Duration::from_secs(20), async {
                while produced.load(Ordering::SeqCst) == plateau {
                    match response.chunk().await {
                        Ok(Some(_)) => {}
                        other => panic!("the stream did not resume: {other:?}"),
                    }
                }
            })
            .await;
            assert!(
                resumed.is_ok(),
                "the upstream did not resume when the client read again"
            );
        }
    })
    .await;
}

/// A gateway whose clients must send their requests within one second.
async fn impatient_gateway(extra: &str) -> (TestGateway, Mock) {
    let mock = Mock::start(upstreams::answering(ProviderKind::Openai, Canned::text(Finish::Stop))).await;
    let gw = TestGateway::start(
        vec![TestAccount::new(ProviderKind::Openai, format!("{}/v1", mock.url()))],
        &format!("[proxy]\nclient_timeout_secs = 1\n{extra}"),
    )
    .await;
    (gw, mock)
}

#[tokio::test]
async fn slowloris_partial_headers_are_cut_off() {
    let (gw, mock) = impatient_gateway("").await;
    // Many at once, each stopping at another point of its request head.
    let partials = [
        "",
        "POST",
        "POST /v1/chat/completions HTTP/1.1\r\n",
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n",
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaa",
        // The start of the HTTP/2 preface.
        "PRI * HTTP/2",
    ];
    let mut held = Vec::new();
    for _ in 0..10 {
        for partial in partials {
            let mut socket = TcpStream::connect(gw.addr).await.unwrap();
            socket.write_all(partial.as_bytes()).await.unwrap();
            held.push((partial, socket));
        }
    }
    let started = Instant::now();
    for (partial, socket) in &mut held {
        let closed = closed_within(socket, Duration::from_secs(5)).await;
        assert!(closed.is_some(), "a client stuck at {partial:?} was not cut off");
    }
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    // The gateway serves on.
    let health = common::client().get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(mock.count(), 0);
}

/// A raw request to the gateway: the head, then the body as the test sends it.
async fn raw_request(gw: &TestGateway, path: &str, extra_headers: &str, length: usize) -> TcpStream {
    let mut socket = TcpStream::connect(gw.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra_headers}Content-Length: {length}\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket
}

/// Reads one HTTP response (status and body by Content-Length).
async fn read_response(socket: &mut TcpStream) -> (u16, Value) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let (head_end, length) = loop {
        let n = timeout(PATIENCE, socket.read(&mut buffer))
            .await
            .expect("a response within the bound")
            .unwrap();
        assert!(
            n > 0,
            "closed without a response: {}",
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&buffer[..n]);
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map(|v| v.trim().parse::<usize>().unwrap())
                .expect("a content length");
            break (end + 4, length);
        }
    };
    while received.len() < head_end + length {
        let n = timeout(PATIENCE, socket.read(&mut buffer)).await.unwrap().unwrap();
        assert!(n > 0);
        received.extend_from_slice(&buffer[..n]);
    }
    let head = String::from_utf8_lossy(&received[..head_end]).to_string();
    let status = head[9..12].parse().unwrap();
    let body = serde_json::from_slice(&received[head_end..head_end + length]).unwrap();
    (status, body)
}

/// The client's headers for `caller`'s route.
fn caller_headers(caller: Client) -> &'static str {
    match caller {
        Client::Anthropic => "anthropic-version: 2023-06-01\r\n",
        _ => "",
    }
}

/// The error message in `caller`'s protocol's error body.
fn error_message(caller: Client, status: u16, body: &Value) -> String {
    let outcome = caller.parse(status, "application/json".into(), body.to_string(), false);
    outcome.error.expect("an error body").message
}

#[tokio::test]
async fn a_body_that_stops_arriving_gets_a_408_in_the_route_protocol() {
    let (gw, mock) = impatient_gateway("").await;
    let gw = Arc::new(gw);
    each_parallel(4, every_caller(), |caller| {
        let gw = gw.clone();
        async move {
            let path = caller.path("gpt-4.1", false);
            let mut socket = raw_request(&gw, &path, caller_headers(caller), 1000).await;
            socket.write_all(b"{\"model\": \"gpt-4.1\", ").await.unwrap();
            let started = Instant::now();
            let (status, body) = read_response(&mut socket).await;
            assert_eq!(status, 408, "{body}");
            let message = error_message(caller, status, &body);
            assert!(message.contains("client_timeout_secs"), "{message}");
            assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
        }
    })
    .await;
    assert_eq!(mock.count(), 0);
}

#[tokio::test]
async fn a_body_trickled_past_the_deadline_gets_a_408() {
    // Each byte comes within the pause allowed, but the whole takes longer
    // than the request timeout.
    let (gw, mock) = impatient_gateway("request_timeout_secs = 2\n").await;
    let gw = Arc::new(gw);
    each_parallel(4, every_caller(), |caller| {
        let gw = gw.clone();
        async move {
            let path = caller.path("gpt-4.1", false);
            let mut socket = raw_request(&gw, &path, caller_headers(caller), 1000).await;
            let started = Instant::now();
            let trickle = async {
                loop {
                    if socket.write_all(b" ").await.is_err() {
                        return;
                    }
                    sleep(Duration::from_millis(300)).await;
                    if started.elapsed() > Duration::from_secs(2) {
                        return;
                    }
                }
            };
            trickle.await;
            let (status, body) = read_response(&mut socket).await;
            assert_eq!(status, 408, "{body}");
            let message = error_message(caller, status, &body);
            assert!(message.contains("request_timeout_secs"), "{message}");
            assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        }
    })
    .await;
    assert_eq!(mock.count(), 0);
}

/// A body sent at a normal pace in pieces is of course fine.
#[tokio::test]
async fn a_body_sent_in_pieces_in_time_is_served() {
    let (gw, _mock) = impatient_gateway("").await;
    let body = json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "Say hello."}]}).to_string();
    let mut socket = raw_request(&gw, "/v1/chat/completions", "", body.len()).await;
    for piece in body.as_bytes().chunks(10) {
        socket.write_all(piece).await.unwrap();
        sleep(Duration::from_millis(100)).await;
    }
    let (status, answer) = read_response(&mut socket).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["choices"][0]["message"]["content"], ANSWER.concat());
}

/// Each client protocol, named, for `each_parallel`.
fn every_caller() -> Vec<(String, Client)> {
    ALL_CLIENTS.iter().map(|c| (c.name().to_string(), *c)).collect()
}
