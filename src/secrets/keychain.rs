//! Secrets in the OS keychain through keyring-core: macOS Keychain,
//! Windows Credential Manager, or the Secret Service on Linux.
//!
//! Entries are made in an explicit store rather than keyring's lazily
//! installed default, so tests can hand in keyring-core's mock store and
//! nothing global can replace it.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error};

use super::{SecretError, SecretStore};
use crate::home::Home;

/// The OS keychain, under one service name per Switchyard home.
#[derive(Debug, Clone)]
pub struct KeychainStore {
    store: Arc<CredentialStore>,
    service: String,
}

impl KeychainStore {
    /// The platform's keychain. Fails with a message naming the `file` store
    /// when there is none (no Secret Service on the session bus, ...).
    pub fn platform(home: &Home) -> Result<Self, SecretError> {
        // keyring's v1 layer knows which store each platform uses; its
        // one-time initialisation installs it as keyring-core's default.
        if let Err(err) = keyring::Entry::store_status() {
            return Err(SecretError::KeychainUnavailable(err.to_string()));
        }
        let store = keyring_core::get_default_store()
            .ok_or_else(|| SecretError::KeychainUnavailable("no credential store for this platform".into()))?;
        Ok(KeychainStore::in_store(store, home))
    }

    /// A keychain backed by `store` (keyring-core's mock store in tests).
    pub fn in_store(store: Arc<CredentialStore>, home: &Home) -> Self {
        KeychainStore {
            store,
            service: service_name(home),
        }
    }

    fn entry(&self, name: &str) -> Result<Entry, SecretError> {
        Entry::new_in_store(&self.store, &self.service, name).map_err(classify)
    }
}

/// `switchyard` for the default home; a home chosen with `SWITCHYARD_HOME`
/// gets its own service so that two homes never share secrets.
fn service_name(home: &Home) -> String {
    if home.explicit {
        format!("switchyard:{}", home.config_dir.display())
    } else {
        "switchyard".to_string()
    }
}

fn classify(err: Error) -> SecretError {
    match err {
        Error::NoStorageAccess(inner) => SecretError::KeychainUnavailable(inner.to_string()),
        Error::NoDefaultStore => SecretError::KeychainUnavailable("no credential store".into()),
        // Other variants may carry the secret's bytes (BadEncoding): never print them.
        Error::BadEncoding(_) | Error::BadDataFormat(..) => {
            SecretError::Keychain("a stored secret is not valid text".into())
        }
        other => SecretError::Keychain(other.to_string()),
    }
}

impl SecretStore for KeychainStore {
    fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        match self.entry(name)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(Error::NoEntry) => Ok(None),
            Err(err) => Err(classify(err)),
        }
    }

    fn set(&self, name: &str, value: &str) -> Result<(), SecretError> {
        self.entry(name)?.set_password(value).map_err(classify)
    }

    fn delete(&self, name: &str) -> Result<(), SecretError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(err) => Err(classify(err)),
        }
    }

    fn describe(&self) -> String {
        format!("OS keychain (service `{}`)", self.service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_keyring_core() {
        let mock: Arc<CredentialStore> = keyring_core::mock::Store::new().unwrap();
        let store = KeychainStore::in_store(mock, &Home::at("/tmp/sy-a"));
        assert_eq!(store.get("acc_1").unwrap(), None);
        store.set("acc_1", "AIza-secret").unwrap();
        assert_eq!(store.get("acc_1").unwrap().as_deref(), Some("AIza-secret"));
        store.delete("acc_1").unwrap();
        store.delete("acc_1").unwrap();
        assert_eq!(store.get("acc_1").unwrap(), None);
    }

    #[test]
    fn homes_do_not_share_entries() {
        let mock: Arc<CredentialStore> = keyring_core::mock::Store::new().unwrap();
        let a = KeychainStore::in_store(mock.clone(), &Home::at("/tmp/sy-a"));
        let b = KeychainStore::in_store(mock, &Home::at("/tmp/sy-b"));
        a.set("gateway-api-key", "sk-aaaaaaaaaa").unwrap();
        assert_eq!(b.get("gateway-api-key").unwrap(), None);
    }

    #[test]
    fn a_locked_keychain_names_the_file_store() {
        let err = classify(Error::NoStorageAccess("locked".into()));
        let text = err.to_string();
        assert!(text.contains("secret_store = \"file\""), "{text}");
        assert!(text.contains("SWITCHYARD_SECRET_STORE=file"), "{text}");
    }
}
