//! Talking to a gateway that runs on the same home, for `status`,
//! `accounts list` and `accounts enable`.

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::gateway::{self, Status};
use crate::home::Home;
use crate::pool::AccountStatus;

/// A running gateway found from the CLI.
pub struct Running {
    base_url: String,
    key: String,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Running {
    /// Finds the gateway this home's `gateway.json` names, or else one on the
    /// configured port, and checks that it answers `/healthz`.
    pub fn find(home: &Home, config: &Config, key: String) -> Option<Running> {
        let port = gateway::read_runtime(home)
            .and_then(|record| record.status.address)
            .map(|address| address.port())
            .unwrap_or(config.proxy.port);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        let http = crate::upstream::http_client()
            .timeout(Duration::from_secs(3))
            .no_proxy()
            .build()
            .ok()?;
        let running = Running {
            base_url: format!("http://127.0.0.1:{port}"),
            key,
            runtime,
            http,
        };
        let healthy = running.runtime.block_on(async {
            let response = running
                .http
                .get(format!("{}/healthz", running.base_url))
                .bearer_auth(&running.key)
                .send()
                .await
                .ok()?;
            let body = response.text().await.ok()?;
            Some(body == r#"{"status":"ok"}"#)
        });
        healthy.unwrap_or(false).then_some(running)
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Option<T> {
        self.runtime.block_on(async {
            let response = self
                .http
                .get(format!("{}{path}", self.base_url))
                .bearer_auth(&self.key)
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
    pub fn status(&self) -> Option<Status> {
        self.get("/api/status")
    }

    /// The live state of its accounts.
    pub fn accounts(&self) -> Option<Vec<AccountStatus>> {
        #[derive(serde::Deserialize)]
        struct Accounts {
            accounts: Vec<AccountStatus>,
        }
        self.get::<Accounts>("/api/accounts").map(|a| a.accounts)
    }

    /// Clears the gateway's run-time disablement of an account.
    pub fn reenable(&self, id: &str) -> bool {
        self.runtime.block_on(async {
            self.http
                .post(format!("{}/api/accounts/{id}/enable", self.base_url))
                .bearer_auth(&self.key)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
    }
}
