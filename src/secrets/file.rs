//! Secrets in `secrets.json`, for headless machines and CI.
//!
//! The file is a JSON object of name → secret, mode 0600, replaced
//! atomically under the home's write lock. A corrupt file is reported with
//! its path and line and never overwritten.

use std::collections::BTreeMap;

use super::{SecretError, SecretStore};
use crate::home::{self, Home};

/// `secrets.json` in a Switchyard home.
#[derive(Debug, Clone)]
pub struct FileStore {
    home: Home,
}

impl FileStore {
    /// The file store of `home`.
    pub fn new(home: Home) -> Self {
        FileStore { home }
    }

    fn error(&self, message: impl Into<String>) -> SecretError {
        SecretError::File {
            path: self.home.secrets_file(),
            message: message.into(),
        }
    }

    fn read(&self) -> Result<BTreeMap<String, String>, SecretError> {
        let path = self.home.secrets_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(err) => return Err(self.error(format!("cannot read: {err}"))),
        };
        // serde_json's message names line and column only, never the content.
        serde_json::from_str(&text).map_err(|err| {
            self.error(format!(
                "not a valid secrets file ({err}); it was left untouched: fix or remove it, then add the secrets again"
            ))
        })
    }

    fn update(&self, change: impl FnOnce(&mut BTreeMap<String, String>)) -> Result<(), SecretError> {
        let _lock = self
            .home
            .lock()
            .map_err(|err| self.error(format!("cannot lock: {err}")))?;
        let mut secrets = self.read()?;
        change(&mut secrets);
        let text = serde_json::to_vec_pretty(&secrets).map_err(|err| self.error(err.to_string()))?;
        home::write_atomic(&self.home.secrets_file(), &text, 0o600)
            .map_err(|err| self.error(format!("cannot write: {err}")))
    }
}

impl SecretStore for FileStore {
    fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        Ok(self.read()?.remove(name))
    }

    fn set(&self, name: &str, value: &str) -> Result<(), SecretError> {
        self.update(|secrets| {
            secrets.insert(name.to_string(), value.to_string());
        })
    }

    fn delete(&self, name: &str) -> Result<(), SecretError> {
        if self.read()?.contains_key(name) {
            self.update(|secrets| {
                secrets.remove(name);
            })?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        self.home.secrets_file().display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(Home::at(dir.path()));
        assert_eq!(store.get("a").unwrap(), None);
        store.set("a", "secret-1").unwrap();
        store.set("b", "secret-2").unwrap();
        assert_eq!(store.get("a").unwrap().as_deref(), Some("secret-1"));
        store.delete("a").unwrap();
        store.delete("missing").unwrap();
        assert_eq!(store.get("a").unwrap(), None);
        assert_eq!(store.get("b").unwrap().as_deref(), Some("secret-2"));
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        FileStore::new(home.clone()).set("k", "v").unwrap();
        let mode = std::fs::metadata(home.secrets_file()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_corrupt_file_is_reported_with_its_line_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let corrupt = "{\n  \"a\": \"top-secret-value\",\n  oops\n}";
        std::fs::write(home.secrets_file(), corrupt).unwrap();
        let store = FileStore::new(home.clone());
        let err = store.set("b", "x").unwrap_err().to_string();
        assert!(err.contains("secrets.json"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(!err.contains("top-secret-value"), "{err}");
        assert_eq!(std::fs::read_to_string(home.secrets_file()).unwrap(), corrupt);
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let store = FileStore::new(home.clone());
                std::thread::spawn(move || {
                    for j in 0..10 {
                        store.set(&format!("k{i}-{j}"), "v").unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let store = FileStore::new(home);
        assert_eq!(store.read().unwrap().len(), 80);
    }
}
