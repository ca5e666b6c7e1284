//! A gateway in front of one mock per provider, and the runner that plays a
//! list of cases against it.

use std::future::Future;
use std::sync::Arc;

use switchyard::config::ProviderKind;

use super::clients::{ALL_CLIENTS, Client};
use super::conversation::{Canned, Finish, Received};
use super::received;
use super::upstreams::{self, UPSTREAMS};
use super::{Mock, Recorded, TestAccount, TestGateway};

/// The model each provider's account serves in the rig (by its `models` glob).
pub fn model_of(provider: ProviderKind) -> &'static str {
    match provider {
        ProviderKind::Openai => "gpt-4.1",
        ProviderKind::Anthropic => "claude-sonnet-4-5",
        _ => "gemini-2.5-flash",
    }
}

/// The account glob that routes a provider's models to it.
pub fn glob_of(provider: ProviderKind) -> &'static str {
    match provider {
        ProviderKind::Openai => "gpt-*",
        ProviderKind::Anthropic => "claude-*",
        _ => "gemini-*",
    }
}

/// One cell of the matrix: a client protocol, an upstream provider, and
/// whether the answer streams.
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    pub client: Client,
    pub upstream: ProviderKind,
    pub stream: bool,
}

impl Pair {
    /// Same protocol on both sides: the body is relayed, not translated.
    pub fn passthrough(&self) -> bool {
        self.client.speaks() == Some(self.upstream)
    }

    /// The model that routes to the upstream.
    pub fn model(&self) -> &'static str {
        model_of(self.upstream)
    }
}

/// Every client of `clients` against every upstream, in each of `streams`,
/// labelled for failure reports (`anthropic → gemini (stream)`).
pub fn pairs(clients: &[Client], streams: &[bool]) -> Vec<(String, Pair)> {
    let mut pairs = Vec::new();
    for &client in clients {
        for upstream in UPSTREAMS {
            for &stream in streams {
                let label = format!(
                    "{} → {upstream}{}",
                    client.name(),
                    if stream { " (stream)" } else { "" }
                );
                pairs.push((
                    label,
                    Pair {
                        client,
                        upstream,
                        stream,
                    },
                ));
            }
        }
    }
    pairs
}

/// Every client protocol of [`ALL_CLIENTS`], complete and streamed,
/// labelled (`anthropic (stream)`).
pub fn every_call() -> Vec<(String, (Client, bool))> {
    let mut cases = Vec::new();
    for client in ALL_CLIENTS {
        for stream in [false, true] {
            let label = format!("{}{}", client.name(), if stream { " (stream)" } else { "" });
            cases.push((label, (client, stream)));
        }
    }
    cases
}

/// A gateway with one account per provider, each on its own mock and
/// serving its provider's model family.
pub struct Rig {
    pub gw: TestGateway,
    mocks: Vec<(ProviderKind, Mock)>,
}

impl Rig {
    /// A rig whose mocks answer with text until told otherwise.
    pub async fn start() -> Arc<Rig> {
        Arc::new(Rig::with_config("").await)
    }

    /// A rig with extra config text (aliases, ...).
    pub async fn with_config(extra: &str) -> Rig {
        let mut mocks = Vec::new();
        let mut accounts = Vec::new();
        for provider in UPSTREAMS {
            let mock = Mock::start(upstreams::answering(provider, Canned::text(Finish::Stop))).await;
            accounts.push(
                TestAccount::new(provider, upstreams::base_url(provider, &mock.url())).models(&[glob_of(provider)]),
            );
            mocks.push((provider, mock));
        }
        let gw = TestGateway::start(accounts, extra).await;
        Rig { gw, mocks }
    }

    /// The mock behind `provider`'s account.
    pub fn mock(&self, provider: ProviderKind) -> &Mock {
        &self
            .mocks
            .iter()
            .find(|(p, _)| *p == provider)
            .expect("a mock per provider")
            .1
    }

    /// The gateway's origin.
    pub fn base(&self) -> String {
        self.gw.base()
    }

    /// Makes `provider`'s mock answer every request with `canned`.
    pub fn answer(&self, provider: ProviderKind, canned: Canned) {
        self.mock(provider).set(upstreams::answering(provider, canned));
    }

    /// The last request `provider`'s mock received.
    pub fn last(&self, provider: ProviderKind) -> Recorded {
        self.mock(provider).last()
    }

    /// What `provider`'s mock last received, read into the neutral form.
    pub fn received(&self, provider: ProviderKind) -> Received {
        received::received(provider, &self.last(provider))
    }
}

/// Runs each case in a task of its own, one after the other, and fails at
/// the end naming every case that failed, so that one broken pair does not
/// hide the others.
pub async fn each<T, F, Fut>(cases: impl IntoIterator<Item = (String, T)>, run: F)
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut failed = Vec::new();
    let mut count = 0;
    for (label, case) in cases {
        count += 1;
        if let Err(err) = tokio::spawn(run(case)).await {
            let panic = err.into_panic();
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let short: String = message.chars().take(1500).collect();
            failed.push(format!("[{label}] {short}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {count} cases failed:\n{}",
        failed.len(),
        failed.join("\n\n")
    );
}

/// Like [`each`], but runs up to `parallel` cases at once: for cases that
/// mostly wait (on timeouts), so that the suite stays quick.
pub async fn each_parallel<T, F, Fut>(parallel: usize, cases: impl IntoIterator<Item = (String, T)>, run: F)
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    use futures_util::StreamExt;
    let results: Vec<(String, Result<(), tokio::task::JoinError>)> =
        // Lazily mapped: a case is spawned only when the buffer has room.
        futures_util::stream::iter(cases.into_iter().map(|(label, case)| {
            let task = tokio::spawn(run(case));
            async move { (label, task.await) }
        }))
        .buffer_unordered(parallel)
        .collect()
        .await;
    let count = results.len();
    let failed: Vec<String> = results
        .into_iter()
        .filter_map(|(label, result)| {
            let panic = result.err()?.into_panic();
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let short: String = message.chars().take(1500).collect();
            Some(format!("[{label}] {short}"))
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {count} cases failed:\n{}",
        failed.len(),
        failed.join("\n\n")
    );
}
