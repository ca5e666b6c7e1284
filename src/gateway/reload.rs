//! Applying a changed `config.toml` to a running gateway, without a restart.
//!
//! What changed decides how: accounts, aliases and provider settings swap
//! the relay's routing in place (calls under way finish on the accounts they
//! started with); how the gateway listens or authenticates (port, LAN
//! access, auth mode, key, limits) closes the listener and binds again. A
//! file that does not parse, or settings that cannot be served, leave the
//! running configuration in force and say why.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::{Gateway, StartError, build_pool};
use crate::config::{Config, ConfigError, ProxyConfig};
use crate::relay::Routing;
use crate::secrets::SecretError;

/// What a change of the configuration asks of a running gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Nothing the running gateway uses changed (comments, `auto_start`).
    Unchanged,
    /// Accounts, aliases, fallback chains or provider settings: swap the
    /// routing in place.
    Reroute,
    /// How it listens, authenticates or relays: close the listener and bind again.
    Rebind,
}

/// Decides how to go from the `running` configuration to `new`.
pub fn plan(running: &Config, new: &Config) -> Plan {
    // `auto_start` only matters to the tray at launch.
    let served = |proxy: &ProxyConfig| ProxyConfig {
        auto_start: false,
        ..proxy.clone()
    };
    // A new `[cluster]` means another Redis (or none): the relay is built anew.
    if served(&running.proxy) != served(&new.proxy)
        || running.responses != new.responses
        || running.cluster != new.cluster
    {
        Plan::Rebind
    } else if running.accounts != new.accounts
        || running.models != new.models
        || running.fallbacks != new.fallbacks
        || running.pool.strategy != new.pool.strategy
        || running.providers != new.providers
        || running.catalog != new.catalog
        || running.budgets != new.budgets
    {
        Plan::Reroute
    } else {
        Plan::Unchanged
    }
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// The gateway is stopped; the next start reads the file anyway.
    NotRunning,
    /// Nothing the gateway uses changed.
    Unchanged,
    /// New accounts or aliases serve from now on.
    Rerouted {
        /// Active accounts after the change (0: every request will fail
        /// until an account is added or enabled).
        accounts: usize,
    },
    /// The listener was bound again with the new settings.
    Rebound {
        /// The new address.
        address: SocketAddr,
    },
}

/// Why a reload was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file does not parse or has invalid values; nothing changed.
    #[error("config.toml was not applied, the gateway keeps its running configuration: {0}")]
    Config(#[from] ConfigError),
    /// The secrets of the new accounts could not be read; nothing changed.
    #[error("the new accounts were not applied, the gateway keeps its running configuration: {0}")]
    Secrets(#[from] SecretError),
    /// The new listening settings are refused before anything is touched
    /// (LAN access with auth off).
    #[error("config.toml was not applied, the gateway keeps its running configuration: {0}")]
    Refused(StartError),
    /// Binding with the new settings failed; the previous ones were put
    /// back when `restored` names their address.
    #[error("{error}; {}", match restored {
        Some(address) => format!("the gateway is back on {address} with its previous configuration"),
        None => "the gateway is stopped".to_string(),
    })]
    Rebind {
        /// Why the new settings could not be served.
        error: StartError,
        /// Where the gateway listens again with the previous settings.
        restored: Option<SocketAddr>,
    },
}

impl Gateway {
    /// Reads `config.toml` again and applies it to the running gateway
    /// (see [`plan`]). On error the running configuration stays in force
    /// (or, when even rebinding the old settings fails, the gateway is stopped).
    /// In-flight requests get up to `grace` when the listener is rebound.
    pub async fn reload(&mut self, grace: Duration) -> Result<Reloaded, ReloadError> {
        let config = Config::load(&self.home)?;
        let Some(running) = &mut self.running else {
            return Ok(Reloaded::NotRunning);
        };
        if let Some(monitor) = running.shared.relay.monitor() {
            // `[prices]` applies to the calls that end from now on, whatever else changed.
            monitor.set_prices(crate::pricing::Prices::with_overrides(&config.prices));
        }
        match plan(&running.config, &config) {
            Plan::Unchanged => {
                running.config = config;
                Ok(Reloaded::Unchanged)
            }
            Plan::Reroute => {
                let store = self.secrets.clone();
                let for_pool = config.clone();
                let (pool, key) = tokio::task::spawn_blocking(move || build_pool(&for_pool, store.as_ref()))
                    .await
                    .map_err(|err| ReloadError::Refused(StartError::Internal(err.to_string())))?
                    .map_err(|err| match err {
                        StartError::Secrets(err) => ReloadError::Secrets(err),
                        other => ReloadError::Refused(other),
                    })?;
                let relay = &running.shared.relay;
                pool.inherit(&relay.pool());
                super::share_tokens(&pool, relay.cluster());
                let accounts = pool.active_count();
                let pool = match relay.monitor() {
                    Some(monitor) => {
                        // The new accounts' secrets are kept out of stored bodies too.
                        monitor.set_secrets(super::pool_secrets(&pool, &key));
                        pool.with_budgets(super::budgets(&config, monitor))
                    }
                    None => pool,
                };
                let pool = Arc::new(pool);
                relay.reroute(Routing {
                    pool: pool.clone(),
                    aliases: config.models.clone(),
                    fallbacks: config.fallbacks.clone(),
                });
                // The new pool's lists are fetched afresh; until they come,
                // unchanged accounts keep the lists they had (`inherit`).
                running.catalog = super::catalog_refresher(&config, pool);
                tracing::info!(
                    accounts,
                    "config.toml changed: accounts, aliases and fallbacks reloaded"
                );
                running.config = config;
                Ok(Reloaded::Rerouted { accounts })
            }
            Plan::Rebind => {
                let previous_config = running.config.clone();
                let previous_pool = running.shared.relay.pool();
                self.check_listening(&config).await.map_err(|err| match err {
                    StartError::Secrets(err) => ReloadError::Secrets(err),
                    other => ReloadError::Refused(other),
                })?;
                self.stop(grace).await;
                match self.start_with(config, Some(previous_pool.clone())).await {
                    Ok(address) => {
                        tracing::info!(%address, "config.toml changed: listening again with the new settings");
                        Ok(Reloaded::Rebound { address })
                    }
                    Err(error) => {
                        let restored = self.start_with(previous_config, Some(previous_pool)).await.ok();
                        Err(ReloadError::Rebind { error, restored })
                    }
                }
            }
        }
    }

    /// The configuration the running gateway serves, if it runs.
    pub fn running_config(&self) -> Option<&Config> {
        self.running.as_ref().map(|running| &running.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AccountConfig, ProviderKind};

    fn account(id: &str) -> AccountConfig {
        AccountConfig {
            id: id.into(),
            provider: ProviderKind::Gemini,
            label: String::new(),
            base_url: None,
            models: vec![],
            priority: 0,
            enabled: true,
            project: None,
            proxy_url: None,
            no_key: false,
            weight: 1,
        }
    }

    #[test]
    fn the_same_file_changes_nothing() {
        let config = Config::default();
        assert_eq!(plan(&config, &config.clone()), Plan::Unchanged);
        let mut auto = config.clone();
        auto.proxy.auto_start = true;
        assert_eq!(
            plan(&config, &auto),
            Plan::Unchanged,
            "auto_start matters only at launch"
        );
    }

    #[test]
    fn accounts_aliases_and_providers_swap_the_routing() {
        let config = Config::default();
        let mut added = config.clone();
        added.accounts.push(account("acc_1"));
        assert_eq!(plan(&config, &added), Plan::Reroute);
        let mut disabled = added.clone();
        disabled.accounts[0].enabled = false;
        assert_eq!(plan(&added, &disabled), Plan::Reroute);
        let mut aliased = config.clone();
        aliased.models.insert("gpt-4o".into(), "gemini-2.5-flash".into());
        assert_eq!(plan(&config, &aliased), Plan::Reroute);
        let mut chained = config.clone();
        chained
            .fallbacks
            .insert("gpt-4o".into(), vec!["gemini-2.5-flash".into()]);
        assert_eq!(plan(&config, &chained), Plan::Reroute);
        let mut filling = config.clone();
        filling.pool.strategy = crate::config::Strategy::FillFirst;
        assert_eq!(plan(&config, &filling), Plan::Reroute);
    }

    #[test]
    fn listening_and_auth_settings_rebind() {
        let config = Config::default();
        let changes: [fn(&mut Config); 6] = [
            |c| c.proxy.port = 9000,
            |c| c.proxy.allow_lan_access = true,
            |c| c.proxy.auth_mode = crate::config::AuthMode::Strict,
            |c| c.proxy.api_key = Some("sk-handpicked".into()),
            |c| c.proxy.max_body_mib = 1,
            |c| c.responses.max_stored = 1,
        ];
        for change in changes {
            let mut new = config.clone();
            change(&mut new);
            new.accounts.push(account("acc_1"));
            assert_eq!(plan(&config, &new), Plan::Rebind, "{:?}", new.proxy);
        }
    }
}
