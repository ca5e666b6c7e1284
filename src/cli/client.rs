//! Talking to a gateway that runs on the same home, for `status`,
//! `accounts list` and `accounts enable`.
//!
//! The gateway key goes only to a gateway that has proved it is this home's:
//! [`Running::find`] sends a fresh challenge to the port `gateway.json` names,
//! without the key, and checks the answer against the identity recorded in
//! that file (see `gateway::identity`). A program squatting the port after the
//! gateway stopped gets the challenge and nothing else.

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::Failure;
use crate::gateway::identity::{self, CHALLENGE_HEADER, Identity, PROOF_HEADER};
use crate::gateway::{self, Status};
use crate::home::Home;
use crate::pool::AccountStatus;

/// A running gateway that has proved it is this home's; the only thing
/// the CLI hands the gateway key to.
pub struct Running {
    base_url: String,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Running {
    /// Finds the gateway this home's `gateway.json` names and has it prove
    /// itself. `Ok(None)` when none runs (no record, or nothing answers on
    /// its port); an error when something answers but cannot prove it is
    /// this home's gateway.
    pub fn find(home: &Home) -> Result<Option<Running>, Failure> {
        let Some(record) = gateway::read_runtime(home) else {
            return Ok(None);
        };
        let Some(port) = record.status.address.map(|address| address.port()) else {
            return Ok(None);
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| Failure::runtime(format!("cannot start the HTTP client: {err}")))?;
        let http = crate::upstream::http_client()
            .timeout(Duration::from_secs(3))
            .no_proxy()
            // The key must never follow a redirect to somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| Failure::runtime(format!("cannot start the HTTP client: {err}")))?;
        let running = Running {
            base_url: crate::config::local_base_url(port),
            runtime,
            http,
        };
        match running.prove(record.identity.as_ref())? {
            Proof::NoAnswer => Ok(None),
            Proof::Proved => Ok(Some(running)),
            Proof::Failed => Err(Failure::runtime(not_this_gateway(home, port))),
        }
    }

    /// Asks the gateway to prove it holds `identity`, without the key.
    fn prove(&self, identity: Option<&Identity>) -> Result<Proof, Failure> {
        let challenge =
            identity::challenge().map_err(|err| Failure::runtime(format!("cannot make a challenge: {err}")))?;
        let proof = self.runtime.block_on(async {
            let response = self
                .http
                .get(format!("{}/healthz", self.base_url))
                .header(CHALLENGE_HEADER, hex::encode(challenge))
                .send()
                .await
                .ok()?;
            Some(
                response
                    .headers()
                    .get(PROOF_HEADER)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_string),
            )
        });
        Ok(match proof {
            None => Proof::NoAnswer,
            Some(proof) => {
                let proved = identity
                    .zip(proof)
                    .is_some_and(|(identity, proof)| identity.verify(&challenge, &proof));
                if proved { Proof::Proved } else { Proof::Failed }
            }
        })
    }

    fn get<T: DeserializeOwned>(&self, key: &str, path: &str) -> Option<T> {
        self.runtime.block_on(async {
            let response = self
                .http
                .get(format!("{}{path}", self.base_url))
                .bearer_auth(key)
                .send()
                .await
                .ok()?;
            if !response.status().is_success() {
                return None;
            }
            let body = response.bytes().await.ok()?;
            serde_json::from_slice(&body).ok()
        })
    }

    /// The gateway's status.
    pub fn status(&self, key: &str) -> Option<Status> {
        self.get(key, "/api/status")
    }

    /// The live state of its accounts.
    pub fn accounts(&self, key: &str) -> Option<Vec<AccountStatus>> {
        #[derive(serde::Deserialize)]
        struct Accounts {
            accounts: Vec<AccountStatus>,
        }
        self.get::<Accounts>(key, "/api/accounts").map(|a| a.accounts)
    }

    /// Each client key's use today, as the gateway counts it.
    pub fn key_usage(&self, key: &str) -> Option<Vec<crate::keys::Usage>> {
        #[derive(serde::Deserialize)]
        struct Keys {
            keys: Vec<crate::keys::Usage>,
        }
        self.get::<Keys>(key, "/api/keys").map(|k| k.keys)
    }

    /// Has the gateway apply `keys.json` now.
    pub fn reload_keys(&self, key: &str) -> bool {
        self.runtime.block_on(async {
            self.http
                .post(format!("{}/api/keys/reload", self.base_url))
                .bearer_auth(key)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
    }

    /// The models the gateway serves, with their accounts and limits.
    pub fn models(&self, key: &str) -> Option<Vec<crate::catalog::ServedModel>> {
        #[derive(serde::Deserialize)]
        struct Models {
            models: Vec<crate::catalog::ServedModel>,
        }
        self.get::<Models>(key, "/api/models").map(|m| m.models)
    }

    /// Clears the gateway's run-time disablement of an account.
    pub fn reenable(&self, key: &str, id: &str) -> bool {
        self.runtime.block_on(async {
            self.http
                .post(format!("{}/api/accounts/{id}/enable", self.base_url))
                .bearer_auth(key)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
    }
}

/// How a port answered the challenge.
enum Proof {
    /// Nothing answers there: the gateway is not running.
    NoAnswer,
    /// This home's gateway answers.
    Proved,
    /// Something answers without a valid proof.
    Failed,
}

/// Whether a gateway runs on this home, for commands that only mention it
/// (no key is sent): prints the reason to standard error when something
/// else holds the recorded port.
pub fn is_running(home: &Home) -> bool {
    match Running::find(home) {
        Ok(found) => found.is_some(),
        Err(failure) => {
            eprintln!("{}", failure.message);
            false
        }
    }
}

/// What the CLI says when the recorded port answers without proof.
fn not_this_gateway(home: &Home, port: u16) -> String {
    format!(
        "Something is listening on 127.0.0.1:{port} but it is not this home's Switchyard gateway (it could not prove \
         it); the key was not sent. Is another program on the port? {} names that port for this home's gateway: stop \
         the other program, or start the gateway again (`switchyard serve`, or Start in the tray) so that it records \
         where it listens. A gateway of an older Switchyard cannot prove itself either: restart it.",
        home.runtime_file().display()
    )
}
