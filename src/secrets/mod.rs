//! Where secrets live: upstream API keys, OAuth refresh tokens and the
//! gateway's own API key.
//!
//! Secrets are named strings. Three stores keep them: the OS keychain (the
//! default), a `secrets.json` file with mode 0600 for headless machines, and
//! memory (tests). `config.toml` only ever holds the *names* (account ids).

mod file;
mod keychain;
mod memory;

use std::sync::Arc;

pub use file::FileStore;
pub use keychain::KeychainStore;
pub use memory::MemoryStore;

use crate::config::{Config, SecretStoreKind};
use crate::home::Home;

/// The secret name under which the gateway's generated API key is kept.
pub const GATEWAY_KEY: &str = "gateway-api-key";

/// The environment variable that overrides `proxy.secret_store`.
pub const STORE_ENV: &str = "SWITCHYARD_SECRET_STORE";

/// A store of named secrets.
///
/// Calls may block (the keychain talks to a system service): async code calls
/// them from `spawn_blocking` or at start-up.
pub trait SecretStore: Send + Sync + std::fmt::Debug {
    /// The secret called `name`, if there is one.
    fn get(&self, name: &str) -> Result<Option<String>, SecretError>;
    /// Stores `value` under `name`, replacing any previous value.
    fn set(&self, name: &str, value: &str) -> Result<(), SecretError>;
    /// Deletes the secret; deleting a missing secret succeeds.
    fn delete(&self, name: &str) -> Result<(), SecretError>;
    /// A short description for messages (`OS keychain`, `/path/secrets.json`).
    fn describe(&self) -> String;
}

/// A secret store that failed. Messages never contain a secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The OS keychain cannot be reached.
    #[error(
        "the OS keychain is not available ({0}). On a machine without a desktop keyring, keep secrets in a file \
         instead: set `secret_store = \"file\"` under [proxy] in config.toml, or export SWITCHYARD_SECRET_STORE=file \
         (the file is secrets.json in the Switchyard home, readable only by you)"
    )]
    KeychainUnavailable(String),
    /// The keychain refused or failed an operation.
    #[error("the OS keychain failed: {0}")]
    Keychain(String),
    /// The secrets file is unreadable or corrupt.
    #[error("{path}: {message}")]
    File {
        /// The secrets file.
        path: std::path::PathBuf,
        /// What is wrong (never the file's content).
        message: String,
    },
    /// The operating system's random source failed, so no key could be made.
    #[error("cannot make a new key: the operating system's random number generator failed ({0}); try again")]
    Random(String),
    /// `SWITCHYARD_SECRET_STORE` names no store.
    #[error("{STORE_ENV}=`{0}` is not a secret store; allowed: keychain, file")]
    UnknownStore(String),
}

/// Which store the configuration and the environment select.
pub fn selected_kind(config: &Config) -> Result<SecretStoreKind, SecretError> {
    match std::env::var(STORE_ENV) {
        Ok(value) if !value.is_empty() => value.parse().map_err(|_| SecretError::UnknownStore(value)),
        _ => Ok(config.proxy.secret_store),
    }
}

/// Opens the store the configuration and the environment select.
pub fn open(home: &Home, config: &Config) -> Result<Arc<dyn SecretStore>, SecretError> {
    Ok(match selected_kind(config)? {
        SecretStoreKind::File => Arc::new(FileStore::new(home.clone())),
        SecretStoreKind::Keychain => Arc::new(KeychainStore::platform(home)?),
    })
}

/// A connection URL of team mode. It may hold a password, so it is read
/// from the environment first, then the secret store (`switchyard config
/// store-url`), and only then from config.toml, which refuses one with a
/// password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamUrl {
    /// `[cluster] redis_url`: the shared state.
    Redis,
    /// `[monitor] database_url`: the Postgres request log.
    Database,
}

impl TeamUrl {
    /// The environment variable that holds it.
    pub fn env(self) -> &'static str {
        match self {
            TeamUrl::Redis => "SWITCHYARD_REDIS_URL",
            TeamUrl::Database => "SWITCHYARD_DATABASE_URL",
        }
    }

    /// The name it is kept under in the secret store.
    pub fn secret_name(self) -> &'static str {
        match self {
            TeamUrl::Redis => "cluster-redis-url",
            TeamUrl::Database => "monitor-database-url",
        }
    }

    /// Where config.toml holds it (without a password).
    pub fn config_key(self) -> &'static str {
        match self {
            TeamUrl::Redis => "[cluster] redis_url",
            TeamUrl::Database => "[monitor] database_url",
        }
    }

    /// The URL and where it came from (for messages, which never repeat
    /// the URL itself): the environment, the secret store, or config.toml.
    pub fn resolve(self, config: &Config, store: &dyn SecretStore) -> Result<Option<(String, String)>, SecretError> {
        if let Ok(url) = std::env::var(self.env())
            && !url.trim().is_empty()
        {
            return Ok(Some((url.trim().to_string(), self.env().to_string())));
        }
        if let Some(url) = store.get(self.secret_name())? {
            let source = format!("`{}` in {}", self.secret_name(), store.describe());
            return Ok(Some((url.trim().to_string(), source)));
        }
        let configured = match self {
            TeamUrl::Redis => &config.cluster.redis_url,
            TeamUrl::Database => &config.monitor.database_url,
        };
        Ok(configured.clone().map(|url| (url, self.config_key().to_string())))
    }
}

/// A fresh gateway API key: `sk-` and 32 hex digits (128 random bits).
pub fn generate_api_key() -> Result<String, SecretError> {
    let mut bytes = [0u8; 16];
    // A key from a failed random source would be guessable: refuse instead.
    getrandom::fill(&mut bytes).map_err(|err| SecretError::Random(err.to_string()))?;
    Ok(format!("sk-{}", hex::encode(bytes)))
}

/// The gateway's API key: `proxy.api_key` from the config when set,
/// otherwise the stored key, generated and stored on first use.
pub fn gateway_key(store: &dyn SecretStore, config: &Config) -> Result<String, SecretError> {
    if let Some(key) = &config.proxy.api_key {
        return Ok(key.clone());
    }
    if let Some(key) = store.get(GATEWAY_KEY)? {
        return Ok(key);
    }
    let key = generate_api_key()?;
    store.set(GATEWAY_KEY, &key)?;
    Ok(key)
}

/// Shows the start and end of a secret so a user can tell keys apart
/// without the secret being revealed: `sk-1a2b…9f0e`.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return "…".to_string();
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let key = generate_api_key().unwrap();
        assert_eq!(key.len(), 35);
        assert!(key.starts_with("sk-"));
        assert!(
            key[3..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(key, generate_api_key().unwrap());
        assert!(crate::config::validate_api_key(&key).is_ok());
    }

    #[test]
    fn a_team_url_in_the_secret_store_wins_over_config_toml() {
        let store = MemoryStore::default();
        let mut config = Config::default();
        assert_eq!(TeamUrl::Database.resolve(&config, &store).unwrap(), None);
        config.monitor.database_url = Some("postgres://switchyard@db.internal/log".into());
        let (url, source) = TeamUrl::Database.resolve(&config, &store).unwrap().unwrap();
        assert_eq!(url, "postgres://switchyard@db.internal/log");
        assert_eq!(source, "[monitor] database_url");
        store
            .set(
                TeamUrl::Database.secret_name(),
                "postgres://switchyard:hunter2@db.internal/log\n",
            )
            .unwrap();
        let (url, source) = TeamUrl::Database.resolve(&config, &store).unwrap().unwrap();
        assert_eq!(url, "postgres://switchyard:hunter2@db.internal/log");
        assert!(
            source.contains("monitor-database-url") && !source.contains("hunter2"),
            "{source}"
        );
        // The Redis URL is its own secret.
        assert_eq!(TeamUrl::Redis.resolve(&config, &store).unwrap(), None);
    }

    #[test]
    fn gateway_key_is_generated_once_then_reused() {
        let store = MemoryStore::default();
        let config = Config::default();
        let first = gateway_key(&store, &config).unwrap();
        assert_eq!(store.get(GATEWAY_KEY).unwrap().as_deref(), Some(first.as_str()));
        assert_eq!(gateway_key(&store, &config).unwrap(), first);
    }

    #[test]
    fn a_configured_key_wins_and_is_not_stored() {
        let store = MemoryStore::default();
        let mut config = Config::default();
        config.proxy.api_key = Some("sk-handpicked".into());
        assert_eq!(gateway_key(&store, &config).unwrap(), "sk-handpicked");
        assert_eq!(store.get(GATEWAY_KEY).unwrap(), None);
    }

    #[test]
    fn masking_hides_the_middle() {
        assert_eq!(mask("sk-0123456789abcdef"), "sk-012…cdef");
        assert_eq!(mask("short"), "…");
    }
}
