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
