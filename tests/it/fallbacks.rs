//! Fallback chains (issue 18): when no account of the requested model can
//! serve, the next model of its chain does, across providers, in every
//! client protocol, complete and streamed; the body keeps the requested
//! name and `x-switchyard-served-model` names what served; a stream that
//! already sent bytes never falls back; a chain of cooling models is one
//! 429 with the shortest wait.

use crate::common;

use std::sync::Arc;

use common::clients::Client;
use common::conversation::{ANSWER, Ask};
use common::raw::refused_url;
use common::rig::{Rig, each, every_call, glob_of};
use common::upstreams::{self, UPSTREAMS};
use common::{Mock, MockReply, TestAccount, TestGateway};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;

const REQUESTED: &str = "claude-sonnet-4-5";
const FALLBACK: &str = "gemini-2.5-flash";
const CHAIN: &str = "[fallbacks]\n\"claude-sonnet-4-5\" = [\"gemini-2.5-flash\", \"gpt-4.1\"]\n";

fn rate_limited(retry_after: &str) -> MockReply {
    MockReply::Json {
        status: 429,
        body: json!({"error": {"message": "quota exceeded", "type": "rate_limit_error"}}),
        headers: vec![("retry-after", retry_after.to_string())],
    }
}

/// Asks for the chain's first model in every protocol and checks that the
/// fallback served, well formed, under the requested name.
async fn falls_back_in_every_protocol(rig: Arc<Rig>) {
    each(every_call(), |(client, stream)| {
        let rig = rig.clone();
        async move {
            let response = client
                .request(&rig.base(), &Ask::hello(REQUESTED, stream))
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.headers()["x-switchyard-served-model"].to_str().unwrap(),
                FALLBACK,
                "the header names what served"
            );
            let reply = client.read(stream, response).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            assert_eq!(reply.answer.text, ANSWER.concat(), "{}", reply.body);
            // The body keeps the requested name; a Gemini client relayed
            // Gemini's answer reads the served version in `modelVersion`,
            // as Google's own aliases answer.
            let named = if matches!(client, Client::Gemini { .. }) {
                FALLBACK
            } else {
                REQUESTED
            };
            if let Some(model) = &reply.answer.model {
                assert_eq!(model, named, "{}", reply.body);
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_rate_limited_model_falls_back_across_providers_in_every_protocol() {
    let rig = Arc::new(Rig::with_config(CHAIN).await);
    rig.mock(ProviderKind::Anthropic).set(|_| rate_limited("1"));
    falls_back_in_every_protocol(rig.clone()).await;
    // The cooling account is skipped from then on, and the log says which
    // calls fell back.
    let logs: Value = rig
        .gw
        .admin_get("/api/logs")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let records = logs["records"].as_array().unwrap();
    assert!(records.iter().all(|r| r["fell_back"] == true), "{logs}");
    assert!(
        records
            .iter()
            .all(|r| r["model"] == REQUESTED && r["served_model"] == FALLBACK)
    );
}

#[tokio::test]
async fn a_model_failing_before_the_first_byte_falls_back() {
    let rig = Arc::new(Rig::with_config(CHAIN).await);
    rig.mock(ProviderKind::Anthropic).set(|_| {
        MockReply::status(
            500,
            json!({"type": "error", "error": {"type": "api_error", "message": "boom"}}),
        )
    });
    falls_back_in_every_protocol(rig).await;
}

#[tokio::test]
async fn a_model_whose_upstream_refuses_connections_falls_back() {
    let mut accounts = Vec::new();
    let mut mocks = Vec::new();
    for provider in UPSTREAMS {
        let mock = Mock::start(upstreams::answering(
            provider,
            common::conversation::Canned::text(common::conversation::Finish::Stop),
        ))
        .await;
        let url = if provider == ProviderKind::Anthropic {
            refused_url()
        } else {
            upstreams::base_url(provider, &mock.url())
        };
        accounts.push(TestAccount::new(provider, url).models(&[glob_of(provider)]));
        mocks.push(mock);
    }
    let gw = TestGateway::start(accounts, CHAIN).await;
    for client in [Client::OpenAi, Client::Anthropic] {
        for stream in [false, true] {
            let response = client
                .request(&gw.base(), &Ask::hello(REQUESTED, stream))
                .send()
                .await
                .unwrap();
            assert_eq!(response.headers()["x-switchyard-served-model"], FALLBACK);
            let reply = client.read(stream, response).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
    }
}

#[tokio::test]
async fn a_chain_whose_links_all_cool_is_one_429_with_the_shortest_wait() {
    let rig = Rig::with_config(CHAIN).await;
    rig.mock(ProviderKind::Anthropic).set(|_| rate_limited("300"));
    rig.mock(ProviderKind::Gemini).set(|_| rate_limited("40"));
    rig.mock(ProviderKind::Openai).set(|_| rate_limited("120"));
    let client = Client::OpenAi;
    // The first call finds each link's account and is rate limited by it;
    // the next finds every link cooling without asking an upstream.
    for round in 0..2 {
        let response = client
            .request(&rig.base(), &Ask::hello(REQUESTED, false))
            .send()
            .await
            .unwrap();
        let wait: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        let reply = client.read(false, response).await;
        assert_eq!(reply.status, 429, "round {round}: {}", reply.body);
        assert!(
            (30..=40).contains(&wait),
            "round {round}: the shortest wait, got {wait}"
        );
        let error = reply.error.unwrap();
        for model in [REQUESTED, FALLBACK, "gpt-4.1"] {
            assert!(error.message.contains(model), "round {round}: {}", error.message);
        }
    }
    assert_eq!(
        rig.mock(ProviderKind::Gemini).count(),
        1,
        "a cooling link is not asked again"
    );
}

#[tokio::test]
async fn the_fallback_header_off_keeps_the_requested_model() {
    let rig = Rig::with_config(CHAIN).await;
    rig.mock(ProviderKind::Anthropic).set(|_| rate_limited("5"));
    let response = Client::Anthropic
        .request(&rig.base(), &Ask::hello(REQUESTED, false))
        .header("x-switchyard-fallback", "off")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(rig.mock(ProviderKind::Gemini).count(), 0);
}

#[tokio::test]
async fn a_stream_that_fails_after_its_first_bytes_never_falls_back() {
    let rig = Rig::with_config(CHAIN).await;
    rig.mock(ProviderKind::Anthropic).set(|_| MockReply::Aborted {
        chunks: upstreams::first_frames(ProviderKind::Anthropic, REQUESTED)
            .into_iter()
            .map(bytes::Bytes::from)
            .collect(),
        content_type: "text/event-stream",
    });
    let reply = Client::Anthropic.call(&rig.base(), &Ask::hello(REQUESTED, true)).await;
    assert_eq!(reply.status, 200, "the stream had started: {}", reply.body);
    assert!(reply.error.is_some(), "it ends with an error event: {}", reply.body);
    assert_eq!(
        rig.mock(ProviderKind::Gemini).count(),
        0,
        "no fallback after bytes went out"
    );
}

#[tokio::test]
async fn an_alias_answers_with_the_served_model_header_too() {
    let rig = Rig::with_config("[models]\nfast = \"gemini-2.5-flash\"\n").await;
    let response = Client::OpenAi
        .request(&rig.base(), &Ask::hello("fast", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-switchyard-served-model"], FALLBACK);
}
