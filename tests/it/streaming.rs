//! Streams across the matrix (SPEC §5): bytes reach the client as the
//! upstream sends them, fragmented arguments reassemble, and every way an
//! upstream stream can go wrong (reset, error event, no finish reason, an
//! error before the first byte) ends in something the client's SDK reads.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::clients::{CLIENTS, Client};
use common::conversation::{ANSWER, Ask, Canned, CannedCall, Finish, USAGE, weather_tool};
use common::rig::{Pair, Rig, each, pairs};
use common::upstreams::{
    self, UPSTREAMS, Wanted, call_id, error_frame, error_frame_message, gemini_chunk, gemini_usage, openai_chunk,
    openai_reason, openai_usage, sse_frame,
};
use common::{MockReply, fed};
use serde_json::json;
use switchyard::config::ProviderKind;

/// Longest wait for anything a test expects to arrive: a hang fails, it does not stall the suite.
const PATIENCE: Duration = Duration::from_secs(5);

/// The streamed text answer as `pair`'s upstream sends it (OpenAI with the
/// usage chunk the gateway always asks for).
fn text_frames(pair: &Pair) -> Vec<String> {
    upstreams::frames(
        pair.upstream,
        &Canned::text(Finish::Stop),
        pair.model(),
        Wanted::Sse { usage: true },
    )
}

/// The frames up to and including the one carrying `piece` of the text.
fn frames_through(frames: &[String], piece: &str) -> Vec<String> {
    let end = frames
        .iter()
        .position(|f| f.contains(piece))
        .expect("the piece is in a frame");
    frames[..=end].to_vec()
}

fn bytes_of(frames: &[String]) -> Vec<Bytes> {
    frames.iter().map(|f| Bytes::from(f.clone())).collect()
}

/// Every client against every upstream, streaming, plus the Gemini client
/// that reads one JSON array where its stream is translated (a relayed
/// array is the upstream's own bytes, with no event boundary to end on).
fn stream_pairs() -> Vec<(String, Pair)> {
    let array = Client::Gemini { v1: false, sse: false };
    let mut all = pairs(&CLIENTS, &[true]);
    all.extend(
        pairs(&[array], &[true])
            .into_iter()
            .filter(|(_, pair)| !pair.passthrough()),
    );
    all
}

/// Reads `response` until its body holds `needle`, failing after [`PATIENCE`].
async fn read_until(response: &mut reqwest::Response, body: &mut Vec<u8>, needle: &str) {
    let found = tokio::time::timeout(PATIENCE, async {
        while !String::from_utf8_lossy(body).contains(needle) {
            match response.chunk().await.expect("the stream is readable") {
                Some(chunk) => body.extend_from_slice(&chunk),
                None => return false,
            }
        }
        true
    })
    .await;
    assert!(
        found == Ok(true),
        "{needle:?} did not arrive while the upstream held the stream open; got {:?}",
        String::from_utf8_lossy(body)
    );
}

#[tokio::test]
async fn the_first_event_reaches_the_client_while_the_upstream_is_still_sending() {
    let rig = Rig::start().await;
    each(pairs(&CLIENTS, &[true]), |pair| {
        let rig = Arc::clone(&rig);
        async move {
            let frames = text_frames(&pair);
            let first = frames_through(&frames, ANSWER[0]);
            let (feed, handler) = fed("text/event-stream");
            rig.mock(pair.upstream).set(handler);
            for frame in &first {
                feed.send(frame.clone());
            }
            let ask = Ask::new(pair.model(), "Say hello.").streamed(true);
            let mut response = tokio::time::timeout(PATIENCE, pair.client.request(&rig.base(), &ask).send())
                .await
                .expect("the response starts before the upstream finishes")
                .unwrap();
            assert_eq!(response.status(), 200);
            let mut body = Vec::new();
            read_until(&mut response, &mut body, ANSWER[0]).await;

            // Now the upstream finishes; the client's stream completes.
            for frame in &frames[first.len()..] {
                feed.send(frame.clone());
            }
            drop(feed);
            let rest = tokio::time::timeout(PATIENCE, response.bytes())
                .await
                .expect("the stream ends")
                .unwrap();
            body.extend_from_slice(&rest);
            let reply = pair
                .client
                .parse(200, "text/event-stream".into(), String::from_utf8(body).unwrap(), true);
            assert_eq!(reply.answer.text, ANSWER.concat());
            assert_eq!(reply.answer.finish, Some(Finish::Stop));
            assert_eq!(reply.answer.usage, Some(USAGE));
        }
    })
    .await;
}

/// Arguments with escapes, nesting and non-ASCII text, streamed three
/// characters at a time: fragments end between a backslash and the quote it
/// escapes, and the mock cuts frames in two inside UTF-8 sequences.
#[tokio::test]
async fn tool_arguments_in_many_small_fragments_reassemble() {
    let arguments = r#"{"city": "Zürich", "note": "say \"grüezi\"", "days": [1, 2, {"x": null}]}"#;
    let chars: Vec<char> = arguments.chars().collect();
    let fragments: Vec<String> = chars.chunks(3).map(|c| c.iter().collect()).collect();
    let expected: serde_json::Value = serde_json::from_str(arguments).unwrap();
    let rig = Rig::start().await;
    each(pairs(&CLIENTS, &[true]), |pair| {
        let rig = Arc::clone(&rig);
        let fragments = fragments.clone();
        let expected = expected.clone();
        async move {
            let canned = Canned {
                calls: vec![CannedCall {
                    name: "get_weather",
                    fragments,
                }],
                ..Canned::weather_call()
            };
            rig.answer(pair.upstream, canned);
            let mut ask = Ask::new(pair.model(), "Weather in Zürich?").streamed(true);
            ask.tools = vec![weather_tool()];
            let reply = pair.client.call(&rig.base(), &ask).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            assert_eq!(reply.answer.calls.len(), 1, "{}", reply.body);
            assert_eq!(reply.answer.calls[0].args, expected);
            assert_eq!(reply.answer.finish, Some(Finish::ToolCalls));
        }
    })
    .await;
}

#[tokio::test]
async fn an_upstream_reset_mid_stream_ends_in_an_error_event() {
    let mut cases = Vec::new();
    for (label, pair) in stream_pairs() {
        cases.push((format!("{label}, reset between events"), (pair, false)));
        cases.push((format!("{label}, reset inside an event"), (pair, true)));
    }
    each(cases, |(pair, inside)| async move {
        let rig = Rig::start().await;
        let frames = text_frames(&pair);
        let mut sent = bytes_of(&frames_through(&frames, ANSWER[0]));
        if inside {
            let next = &frames[sent.len()];
            sent.push(Bytes::from(next.as_bytes()[..next.len() / 2].to_vec()));
        }
        rig.mock(pair.upstream).set(move |_| MockReply::Aborted {
            chunks: sent.clone(),
            content_type: "text/event-stream",
        });
        let ask = Ask::new(pair.model(), "Say hello.").streamed(true);
        let reply = tokio::time::timeout(PATIENCE, pair.client.call(&rig.base(), &ask))
            .await
            .expect("a reset upstream must not leave the client hanging");
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.answer.text, ANSWER[0], "what came before the reset arrives");
        let error = reply.error.expect("the stream ends in an error event");
        assert!(error.message.contains("broke off"), "{error:?}");
    })
    .await;
}

/// The kind of error a client sees for [`error_frame`] of `upstream`:
/// OpenAI's `server_error` (500), Anthropic's `overloaded_error` (529) and
/// Gemini's `UNAVAILABLE` (503) in the client's own words.
fn error_kind(client: Client, upstream: ProviderKind) -> &'static str {
    match (client, upstream) {
        (Client::OpenAi, ProviderKind::Openai) => "server_error",
        (Client::OpenAi, _) => "api_error",
        (Client::Anthropic, ProviderKind::Openai) => "api_error",
        (Client::Anthropic, _) => "overloaded_error",
        (Client::Gemini { .. }, ProviderKind::Openai) => "INTERNAL",
        (Client::Gemini { .. }, _) => "UNAVAILABLE",
        (Client::Responses, _) => unreachable!("the matrix has no Responses client"),
    }
}

#[tokio::test]
async fn an_upstream_error_mid_stream_becomes_the_clients_error_event() {
    each(stream_pairs(), |pair| async move {
        let rig = Rig::start().await;
        let mut frames = frames_through(&text_frames(&pair), ANSWER[0]);
        frames.push(error_frame(pair.upstream));
        rig.mock(pair.upstream)
            .set(move |_| upstreams::stream_reply(bytes_of(&frames), Wanted::Sse { usage: true }));
        let ask = Ask::new(pair.model(), "Say hello.").streamed(true);
        let reply = pair.client.call(&rig.base(), &ask).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.answer.text, ANSWER[0]);
        let error = reply.error.expect("the stream ends in an error event");
        assert!(
            error.message.contains(error_frame_message(pair.upstream)),
            "the upstream's message survives: {error:?}"
        );
        assert_eq!(error.kind, error_kind(pair.client, pair.upstream), "{error:?}");
    })
    .await;
}

/// An error event before any content: a translated stream has not started
/// yet, so the client gets an HTTP error; a relayed one is passed on as the
/// upstream sent it (it is already in the client's protocol).
#[tokio::test]
async fn an_error_event_before_any_content() {
    each(pairs(&CLIENTS, &[true]), |pair| async move {
        let rig = Rig::start().await;
        let frames = vec![error_frame(pair.upstream)];
        rig.mock(pair.upstream)
            .set(move |_| upstreams::stream_reply(bytes_of(&frames), Wanted::Sse { usage: true }));
        let ask = Ask::new(pair.model(), "Say hello.").streamed(true);
        let reply = pair.client.call(&rig.base(), &ask).await;
        let error = reply.error.expect("an error");
        assert!(error.message.contains(error_frame_message(pair.upstream)), "{error:?}");
        if pair.passthrough() {
            assert_eq!(reply.status, 200);
        } else {
            let status = match pair.upstream {
                ProviderKind::Openai => 500,
                ProviderKind::Anthropic => 529,
                _ => 503,
            };
            assert_eq!(reply.status, status, "{}", reply.body);
            assert_eq!(error.kind, error_kind(pair.client, pair.upstream));
        }
    })
    .await;
}

#[tokio::test]
async fn a_stream_that_ends_without_a_finish_reason() {
    each(pairs(&CLIENTS, &[true]), |pair| async move {
        let rig = Rig::start().await;
        // Every text delta, then the connection closes cleanly: no finish
        // reason, no usage chunk, no [DONE] / message_stop.
        let frames = frames_through(&text_frames(&pair), ANSWER[2]);
        let sent: String = frames.concat();
        rig.mock(pair.upstream)
            .set(move |_| upstreams::stream_reply(bytes_of(&frames), Wanted::Sse { usage: true }));
        let ask = Ask::new(pair.model(), "Say hello.").streamed(true);
        if pair.passthrough() {
            // Relayed as it came: what the upstream sent is all the client gets.
            let response = pair.client.request(&rig.base(), &ask).send().await.unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.text().await.unwrap(), sent);
        } else {
            // Translated: closed as the client's protocol closes a stream.
            let reply = pair.client.call(&rig.base(), &ask).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            assert_eq!(reply.error, None, "{}", reply.body);
            assert_eq!(reply.answer.text, ANSWER.concat());
            assert_eq!(reply.answer.finish, Some(Finish::Stop));
        }
    })
    .await;
}

/// One chunk holding text and a whole tool call (OpenAI's delta with both
/// `content` and `tool_calls`; Gemini's parts `[text, functionCall]`).
/// Anthropic events carry one block each and cannot mix them.
#[tokio::test]
async fn text_and_a_tool_call_in_one_chunk() {
    let mixed: Vec<(String, Pair)> = pairs(&CLIENTS, &[true])
        .into_iter()
        .filter(|(_, pair)| pair.upstream != ProviderKind::Anthropic)
        .collect();
    let rig = Rig::start().await;
    each(mixed, |pair| {
        let rig = Arc::clone(&rig);
        async move {
            let model = pair.model();
            let args = json!({"city": "Paris"});
            let frames = match pair.upstream {
                ProviderKind::Openai => {
                    let delta = json!({
                        "content": "Let me check.",
                        "tool_calls": [{"index": 0, "id": call_id(pair.upstream, 0), "type": "function",
                            "function": {"name": "get_weather", "arguments": args.to_string()}}]
                    });
                    let mut usage = openai_chunk(model, json!({}), None, true);
                    usage["choices"] = json!([]);
                    usage["usage"] = openai_usage(&USAGE);
                    [
                        openai_chunk(model, json!({"role": "assistant", "content": ""}), None, true),
                        openai_chunk(model, delta, None, true),
                        openai_chunk(model, json!({}), Some(openai_reason(&Finish::ToolCalls)), true),
                        usage,
                    ]
                    .iter()
                    .map(|chunk| sse_frame(pair.upstream, None, chunk))
                    .chain(["data: [DONE]\n\n".to_string()])
                    .collect::<Vec<_>>()
                }
                _ => vec![sse_frame(
                    pair.upstream,
                    None,
                    &gemini_chunk(
                        model,
                        json!([{"text": "Let me check."}, {"functionCall": {"name": "get_weather", "args": args}}]),
                        Some("STOP"),
                        gemini_usage(&USAGE, true),
                    ),
                )],
            };
            rig.mock(pair.upstream)
                .set(move |_| upstreams::stream_reply(bytes_of(&frames), Wanted::Sse { usage: true }));
            let mut ask = Ask::new(model, "Weather in Paris?").streamed(true);
            ask.tools = vec![weather_tool()];
            let reply = pair.client.call(&rig.base(), &ask).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            assert_eq!(reply.answer.text, "Let me check.");
            assert_eq!(reply.answer.calls.len(), 1, "{}", reply.body);
            assert_eq!(reply.answer.calls[0].name, "get_weather");
            assert_eq!(reply.answer.calls[0].args, json!({"city": "Paris"}));
            assert_eq!(reply.answer.finish, Some(Finish::ToolCalls));
            assert_eq!(reply.answer.usage, Some(USAGE));
        }
    })
    .await;
}

/// Every upstream provider is asked for a stream the way it expects.
#[tokio::test]
async fn upstreams_are_asked_for_their_own_stream_format() {
    let rig = Rig::start().await;
    for upstream in UPSTREAMS {
        let client = CLIENTS.into_iter().find(|c| c.speaks() != Some(upstream)).unwrap();
        let ask = Ask::new(common::rig::model_of(upstream), "hi").streamed(true);
        let reply = client.call(&rig.base(), &ask).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let request = rig.last(upstream);
        match upstream {
            ProviderKind::Gemini => assert_eq!(request.query, "alt=sse"),
            ProviderKind::Openai => {
                assert_eq!(request.json()["stream"], true);
                // Without it OpenAI streams no usage at all.
                assert_eq!(request.json()["stream_options"], json!({"include_usage": true}));
            }
            _ => assert_eq!(request.json()["stream"], true),
        }
    }
}
