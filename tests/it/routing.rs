//! Which account serves a request, and what the client hears when it
//! cannot (SPEC §4, §6): upstream HTTP errors in the client's protocol with
//! the upstream's status and message, `[models]` aliases and account globs
//! choosing the account and the model name the upstream sees, priority
//! tiers, and the model lists of `GET /v1/models` and `GET /v1beta/models`.

use crate::common;

use common::clients::{CLIENTS, Client};
use common::conversation::{Ask, Canned, Finish};
use common::rig::{Rig, each, pairs};
use common::upstreams::{self, UPSTREAMS, error_body};
use common::{Mock, MockReply, TestAccount, TestGateway, client};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;

/// What an upstream says with each error status.
const UPSTREAM_ERRORS: [(u16, &str); 6] = [
    (401, "Incorrect API key provided: upstream****"),
    (403, "Your organization does not have access to this model"),
    (404, "The model does not exist or you do not have access to it"),
    (429, "Rate limit reached for requests; please retry later"),
    (500, "The server had an error while processing your request"),
    (503, "The engine is currently overloaded, please try again later"),
];

/// The error type a client reads for an upstream status.
fn error_kind(client: Client, status: u16) -> &'static str {
    match (client, status) {
        (Client::OpenAi, 401 | 404) => "invalid_request_error",
        (Client::OpenAi, 403) => "permission_error",
        (Client::OpenAi, 429) => "rate_limit_error",
        (Client::OpenAi, _) => "api_error",
        (Client::Anthropic, 401) => "authentication_error",
        (Client::Anthropic, 403) => "permission_error",
        (Client::Anthropic, 404) => "not_found_error",
        (Client::Anthropic, 429) => "rate_limit_error",
        (Client::Anthropic, 503) => "overloaded_error",
        (Client::Anthropic, _) => "api_error",
        (Client::Gemini { .. }, 401) => "UNAUTHENTICATED",
        (Client::Gemini { .. }, 403) => "PERMISSION_DENIED",
        (Client::Gemini { .. }, 404) => "NOT_FOUND",
        (Client::Gemini { .. }, 429) => "RESOURCE_EXHAUSTED",
        (Client::Gemini { .. }, 503) => "UNAVAILABLE",
        (Client::Gemini { .. }, _) => "INTERNAL",
        (Client::Responses, _) => unreachable!("the matrix has no Responses client"),
    }
}

/// The provider's error answer; a 429 says when to retry the provider's
/// way (`Retry-After`, or Google's `RetryInfo.retryDelay`).
fn error_reply(provider: ProviderKind, status: u16, message: &str) -> MockReply {
    let mut body = error_body(provider, status, message);
    let mut headers = Vec::new();
    if status == 429 {
        if provider == ProviderKind::Gemini {
            body["error"]["details"] = json!([
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}
            ]);
        } else {
            headers.push(("retry-after", "7".to_string()));
        }
    }
    MockReply::Json { status, body, headers }
}

#[tokio::test]
async fn upstream_http_errors_keep_their_status_and_message_in_the_clients_shape() {
    let mut cases = Vec::new();
    for (label, pair) in pairs(&CLIENTS, &[false, true]) {
        for (status, message) in UPSTREAM_ERRORS {
            cases.push((format!("{label}, HTTP {status}"), (pair, status, message)));
        }
    }
    each(cases, |(pair, status, message)| async move {
        let rig = Rig::start().await;
        rig.mock(pair.upstream)
            .set(move |_| error_reply(pair.upstream, status, message));
        let ask = Ask::new(pair.model(), "hi").streamed(pair.stream);
        let response = pair.client.request(&rig.base(), &ask).send().await.unwrap();
        let retry_after = response.headers().get("retry-after").cloned();
        let reply = pair.client.read(pair.stream, response).await;
        assert_eq!(reply.status, status, "{}", reply.body);
        let error = reply.error.expect("an error body");
        assert!(
            error.message.contains(message),
            "the upstream's message survives: {error:?}"
        );
        assert_eq!(error.kind, error_kind(pair.client, status), "{error:?}");
        if status == 429 {
            assert_eq!(retry_after.as_ref().and_then(|v| v.to_str().ok()), Some("7"));
        }
    })
    .await;
}

/// A rejected key takes the account out of the pool: the next request is
/// told which account is disabled and why.
#[tokio::test]
async fn an_account_whose_key_is_rejected_is_named_on_later_requests() {
    let rig = Rig::start().await;
    let upstream = ProviderKind::Anthropic;
    rig.mock(upstream)
        .set(move |_| error_reply(upstream, 401, "invalid x-api-key"));
    let ask = Ask::new(common::rig::model_of(upstream), "hi");
    let first = Client::OpenAi.call(&rig.base(), &ask).await;
    assert_eq!(first.status, 401, "{}", first.body);
    let message = first.error.unwrap().message;
    assert!(
        message.contains("not your gateway key"),
        "the client learns whose key failed: {message}"
    );
    let second = Client::OpenAi.call(&rig.base(), &ask).await;
    assert_eq!(second.status, 503, "{}", second.body);
    let message = second.error.unwrap().message;
    assert!(
        message.contains("disabled") && message.contains("invalid x-api-key") && message.contains("accounts enable"),
        "{message}"
    );
    assert_eq!(rig.mock(upstream).count(), 1, "a disabled account is not asked again");
}

const ALIASES: &str = r#"
[models]
"fast" = "gemini-2.5-flash"
"smart" = "claude-sonnet-4-5"
"house-gpt" = "gpt-4.1-mini"
"gpt-4o" = "gemini-2.5-pro"
"#;

/// An alias picks the account by the model it names, and the upstream
/// sees that model; an alias wins over an account glob matching its own name.
#[tokio::test]
async fn aliases_choose_the_account_and_rename_the_model() {
    let rig = std::sync::Arc::new(Rig::with_config(ALIASES).await);
    let routes = [
        ("fast", ProviderKind::Gemini, "gemini-2.5-flash"),
        ("smart", ProviderKind::Anthropic, "claude-sonnet-4-5"),
        ("house-gpt", ProviderKind::Openai, "gpt-4.1-mini"),
        ("gpt-4o", ProviderKind::Gemini, "gemini-2.5-pro"),
    ];
    let mut cases = Vec::new();
    for client in CLIENTS {
        for stream in [false, true] {
            for (alias, upstream, target) in routes {
                let label = format!(
                    "{} asks for {alias}{}",
                    client.name(),
                    if stream { " (stream)" } else { "" }
                );
                cases.push((label, (client, stream, alias, upstream, target)));
            }
        }
    }
    each(cases, |(client, stream, alias, upstream, target)| {
        let rig = std::sync::Arc::clone(&rig);
        async move {
            for provider in UPSTREAMS {
                rig.answer(provider, Canned::text(Finish::Stop));
            }
            let counts: Vec<usize> = UPSTREAMS.iter().map(|p| rig.mock(*p).count()).collect();
            let reply = client.call(&rig.base(), &Ask::new(alias, "hi").streamed(stream)).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            for (provider, before) in UPSTREAMS.iter().zip(counts) {
                let expected = before + usize::from(*provider == upstream);
                assert_eq!(rig.mock(*provider).count(), expected, "{provider} requests");
            }
            let received = rig.received(upstream);
            assert_eq!(received.model, target, "the upstream sees the aliased model");
            // Every answer names the model the client asked for, but a
            // relayed Gemini answer: its `modelVersion` names the version
            // that served, as Google's own aliases answer.
            let named = if client.speaks() == Some(upstream) && upstream == ProviderKind::Gemini {
                target
            } else {
                alias
            };
            assert_eq!(reply.answer.model.as_deref(), Some(named), "{}", reply.body);
        }
    })
    .await;
}

#[tokio::test]
async fn a_model_no_account_serves_is_a_404_in_the_clients_shape() {
    let rig = Rig::start().await;
    for client in CLIENTS {
        let reply = client.call(&rig.base(), &Ask::new("mistral-large", "hi")).await;
        assert_eq!(reply.status, 404, "{}", reply.body);
        let error = reply.error.unwrap();
        assert!(error.message.contains("`mistral-large`"), "{error:?}");
        assert!(
            error.message.contains("[models]"),
            "the message names the fix: {error:?}"
        );
        assert_eq!(error.kind, error_kind(client, 404));
    }
    for provider in UPSTREAMS {
        assert_eq!(rig.mock(provider).count(), 0);
    }
}

/// Globs decide which accounts may serve; the best priority tier that has
/// one serves; an account without globs serves anything, here as the
/// fallback tier.
#[tokio::test]
async fn globs_and_priority_tiers_decide_which_account_serves() {
    let openai = Mock::start(upstreams::answering(ProviderKind::Openai, Canned::text(Finish::Stop))).await;
    let anthropic = Mock::start(upstreams::answering(
        ProviderKind::Anthropic,
        Canned::text(Finish::Stop),
    ))
    .await;
    let fallback = Mock::start(upstreams::answering(ProviderKind::Gemini, Canned::text(Finish::Stop))).await;
    let accounts = vec![
        TestAccount::new(
            ProviderKind::Openai,
            upstreams::base_url(ProviderKind::Openai, &openai.url()),
        )
        .models(&["gpt-*", "o3"]),
        TestAccount::new(ProviderKind::Anthropic, anthropic.url()).models(&["claude-*"]),
        TestAccount::new(ProviderKind::Gemini, fallback.url()).priority(1),
    ];
    let gw = TestGateway::start(accounts, "").await;
    let ask = |model: &str| Ask::new(model, "hi");

    for (model, mock) in [
        ("gpt-4.1", &openai),
        ("o3", &openai),
        ("claude-opus-4-1", &anthropic),
        ("llama-3.3-70b", &fallback),
    ] {
        let before = mock.count();
        let reply = Client::OpenAi.call(&gw.base(), &ask(model)).await;
        assert_eq!(reply.status, 200, "{model}: {}", reply.body);
        assert_eq!(mock.count(), before + 1, "{model} is served by the expected account");
    }
    let gemini_path = fallback.last().path;
    assert_eq!(gemini_path, "/v1beta/models/llama-3.3-70b:generateContent");

    // The first tier fails: the fallback tier serves the same request.
    openai.set(|_| error_reply(ProviderKind::Openai, 500, "boom"));
    let before = fallback.count();
    let reply = Client::OpenAi.call(&gw.base(), &ask("gpt-4.1")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(fallback.count(), before + 1);
    assert_eq!(fallback.last().path, "/v1beta/models/gpt-4.1:generateContent");
}

async fn get(gw: &TestGateway, path: &str) -> (u16, Value) {
    let response = client().get(gw.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn model_lists_show_what_the_pool_serves() {
    let mock = Mock::start(|_| MockReply::json(json!({}))).await;
    let accounts = vec![
        TestAccount::new(ProviderKind::Openai, mock.url()).models(&["gpt-4.1", "gpt-4o-mini"]),
        TestAccount::new(ProviderKind::Anthropic, mock.url()).models(&["claude-sonnet-4-5", "claude-*"]),
        TestAccount::new(ProviderKind::Gemini, mock.url()).models(&["gemini-*"]),
    ];
    let extra = r#"
[[accounts]]
id = "acc_disabled"
provider = "openai"
models = ["o3"]
enabled = false

[models]
"fast" = "gemini-2.5-flash"
"smart" = "claude-opus-4-1"
"#;
    let gw = TestGateway::start(accounts, extra).await;

    // Exact names and aliases are listed; a glob names a family, not a
    // model; a disabled account lists nothing.
    let (status, list) = get(&gw, "/v1/models").await;
    assert_eq!(status, 200);
    assert_eq!(list["object"], "list");
    let entries: Vec<(String, String)> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["object"], "model");
            (m["id"].as_str().unwrap().into(), m["owned_by"].as_str().unwrap().into())
        })
        .collect();
    let expected = [
        ("claude-sonnet-4-5", "anthropic"),
        ("fast", "gemini"),
        ("gpt-4.1", "openai"),
        ("gpt-4o-mini", "openai"),
        ("smart", "anthropic"),
    ];
    assert_eq!(entries, expected.map(|(a, b)| (a.to_string(), b.to_string())).to_vec());

    let (status, list) = get(&gw, "/v1beta/models").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let methods = m["supportedGenerationMethods"].as_array().unwrap();
            assert!(methods.contains(&json!("generateContent")) && methods.contains(&json!("streamGenerateContent")));
            m["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        names,
        [
            "models/claude-sonnet-4-5",
            "models/fast",
            "models/gpt-4.1",
            "models/gpt-4o-mini",
            "models/smart"
        ]
    );

    // One model by name: anything an account or alias serves, glob-matched included.
    let (status, model) = get(&gw, "/v1/models/gemini-2.5-pro").await;
    assert_eq!(
        (status, &model["id"], &model["owned_by"]),
        (200, &json!("gemini-2.5-pro"), &json!("gemini"))
    );
    let (status, model) = get(&gw, "/v1beta/models/fast").await;
    assert_eq!((status, &model["name"]), (200, &json!("models/fast")));
    let (status, error) = get(&gw, "/v1/models/o3").await;
    assert_eq!((status, &error["error"]["code"]), (404, &json!("not_found")));
    let (status, error) = get(&gw, "/v1beta/models/o3").await;
    assert_eq!((status, &error["error"]["status"]), (404, &json!("NOT_FOUND")));
}
