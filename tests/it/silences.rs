//! Long silent upstream phases (SPEC §5): the client gets keep-alives its
//! SDK ignores, and an upstream silent for longer than the idle timeout is
//! declared stalled instead of holding the client forever.
//!
//! These tests drive [`Relay`] directly rather than through a gateway: the
//! keep-alive interval (`RelaySettings::keep_alive`, 15 s) and the idle
//! timeout are relay settings that config.toml does not expose, and a knob
//! added only so that tests can shorten them would be product surface
//! nobody asked for. Everything that sends keep-alives and detects stalls
//! is below `Relay::handle`: the pump, the codecs, the pool and the real
//! upstream HTTP client talking to a mock on loopback all take part; only
//! warp's routing in front is left out (the gateway tests cover it).

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::clients::{CLIENTS, Client};
use common::conversation::{ANSWER, Ask, Canned, Finish};
use common::rig::{Pair, each, pairs};
use common::upstreams::{self, Wanted};
use common::{Feed, Mock, fed};
use http::HeaderMap;
use http_body_util::BodyExt;
use switchyard::config::AccountConfig;
use switchyard::gateway::reply;
use switchyard::pool::{Member, Pool};
use switchyard::relay::{ClientCall, Endpoint, Relay, RelaySettings};
use switchyard::upstream::{self as provider, Upstream};
use tokio::time::timeout;

/// Longest wait for anything a test expects.
const PATIENCE: Duration = Duration::from_secs(5);

/// A relay with one account of `provider` on `mock`.
fn relay(pair: &Pair, mock: &Mock, settings: RelaySettings) -> Relay {
    let config = AccountConfig {
        id: "acc_silence".into(),
        provider: pair.upstream,
        label: String::new(),
        base_url: Some(upstreams::base_url(pair.upstream, &mock.url())),
        models: Vec::new(),
        priority: 0,
        enabled: true,
        project: None,
        proxy_url: None,
        no_key: false,
        weight: 1,
    };
    let member = Member::new(
        config,
        provider::provider(pair.upstream),
        Arc::from("upstream-secret"),
        None,
    );
    let upstream = Upstream::new(Duration::from_secs(30)).unwrap();
    Relay::new(Arc::new(Pool::new(vec![member])), upstream, BTreeMap::new(), settings)
}

/// The call a client of `pair` makes, as the HTTP layer hands it over.
fn call(pair: &Pair, ask: &Ask) -> ClientCall {
    let target = pair.client.path(&ask.model, ask.stream);
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let endpoint = match pair.client {
        Client::OpenAi => Endpoint::OpenAiChat,
        Client::Anthropic => Endpoint::AnthropicMessages,
        Client::Gemini { .. } => Endpoint::GeminiGenerate {
            model: ask.model.clone(),
            stream: ask.stream,
            sse: query == "alt=sse",
        },
        Client::Responses => Endpoint::Responses,
    };
    ClientCall {
        endpoint,
        path: path.to_string(),
        query: query.to_string(),
        headers: HeaderMap::new(),
        client: None,
        key: None,
        body: Bytes::from(pair.client.body(ask).to_string()),
    }
}

/// What `client`'s SDK skips as a keep-alive, as the gateway writes it.
fn keep_alive(client: Client) -> &'static [u8] {
    match client {
        Client::OpenAi => b": keep-alive\n\n",
        Client::Anthropic => b"event: ping\ndata: {\"type\": \"ping\"}\n\n",
        // google-genai (Python) would try to parse an SSE comment as JSON.
        Client::Gemini { .. } => b"\r\n",
        Client::Responses => unreachable!("the matrix has no Responses client"),
    }
}

/// Starts `pair`'s stream: the upstream sends the answer up to its first
/// text piece, then goes silent until the test feeds it again.
async fn start_silent_stream(
    pair: &Pair,
    settings: RelaySettings,
) -> (Mock, Feed, Vec<String>, switchyard::relay::ClientCall, Relay) {
    let frames = upstreams::frames(
        pair.upstream,
        &Canned::text(Finish::Stop),
        pair.model(),
        Wanted::Sse { usage: true },
    );
    let (feed, handler) = fed("text/event-stream");
    let mock = Mock::start(handler).await;
    let first = frames.iter().position(|f| f.contains(ANSWER[0])).unwrap();
    for frame in &frames[..=first] {
        feed.send(frame.clone());
    }
    let relay = relay(pair, &mock, settings);
    let ask = Ask::new(pair.model(), "Say hello.").streamed(true);
    let call = call(pair, &ask);
    (mock, feed, frames[first + 1..].to_vec(), call, relay)
}

/// Reads body frames until `needle` has arrived; returns everything read.
async fn read_until<B>(body: &mut B, received: &mut Vec<u8>, needle: &[u8])
where
    B: BodyExt<Data = Bytes> + Unpin,
    B::Error: std::fmt::Debug,
{
    let found = timeout(PATIENCE, async {
        while !received.windows(needle.len()).any(|w| w == needle) {
            match body.frame().await {
                Some(frame) => received.extend_from_slice(&frame.unwrap().into_data().unwrap_or_default()),
                None => return false,
            }
        }
        true
    })
    .await;
    assert_eq!(
        found,
        Ok(true),
        "{:?} did not arrive; got {:?}",
        String::from_utf8_lossy(needle),
        String::from_utf8_lossy(received)
    );
}

#[tokio::test]
async fn a_silent_upstream_gets_the_client_keep_alives_it_ignores() {
    each(pairs(&CLIENTS, &[true]), |pair| async move {
        let settings = RelaySettings {
            keep_alive: Duration::from_millis(100),
            ..RelaySettings::default()
        };
        let (_mock, feed, rest, call, relay) = start_silent_stream(&pair, settings).await;
        let response = timeout(PATIENCE, relay.handle(call))
            .await
            .map(reply::answer)
            .expect("the stream starts");
        assert_eq!(response.status(), 200);
        let mut body = response.into_body();
        let mut received = Vec::new();
        read_until(&mut body, &mut received, ANSWER[0].as_bytes()).await;

        // The upstream is silent: a keep-alive comes after the text so far.
        let so_far = received.len();
        let tick = keep_alive(pair.client);
        let mut after = received[so_far..].to_vec();
        read_until(&mut body, &mut after, tick).await;
        received.extend_from_slice(&after);

        // The upstream resumes; the client's stream still reads cleanly.
        for frame in rest {
            feed.send(frame);
        }
        drop(feed);
        let tail = timeout(PATIENCE, body.collect())
            .await
            .expect("the stream ends")
            .unwrap();
        received.extend_from_slice(&tail.to_bytes());
        let text = String::from_utf8(received).unwrap();
        let reply = pair.client.parse(200, "text/event-stream".into(), text, true);
        assert_eq!(reply.answer.text, ANSWER.concat(), "{}", reply.body);
        assert_eq!(reply.answer.finish, Some(Finish::Stop));
    })
    .await;
}

/// Keep-alives to the client are no sign of life from the upstream: an
/// upstream silent for longer than the idle timeout is declared stalled
/// even while keep-alives flow, and the client gets an error event.
#[tokio::test]
async fn an_upstream_silent_past_the_idle_timeout_is_declared_stalled() {
    each(pairs(&CLIENTS, &[true]), |pair| async move {
        let settings = RelaySettings {
            keep_alive: Duration::from_millis(50),
            stream_idle_timeout: Duration::from_millis(300),
            ..RelaySettings::default()
        };
        let (_mock, _feed, _rest, call, relay) = start_silent_stream(&pair, settings).await;
        let response = timeout(PATIENCE, relay.handle(call))
            .await
            .map(reply::answer)
            .expect("the stream starts");
        let body = timeout(PATIENCE, response.into_body().collect())
            .await
            .expect("a stalled upstream must not hold the client forever")
            .unwrap()
            .to_bytes();
        let text = String::from_utf8(body.to_vec()).unwrap();
        let reply = pair.client.parse(200, "text/event-stream".into(), text, true);
        assert_eq!(reply.answer.text, ANSWER[0]);
        let error = reply.error.expect("the stream ends in an error event");
        assert!(error.message.contains("stalled"), "{error:?}");
    })
    .await;
}
