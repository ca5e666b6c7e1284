//! `keys.json`: the client keys of a home, as hashes.
//!
//! The file is private (0600) and replaced atomically, always under the
//! home's write lock, so a `keys add` racing a `keys revoke` loses neither.
//! A running gateway watches it and applies every change.

use std::io;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::home::{self, Home};

/// The file's format version.
const VERSION: u32 = 1;

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// Reading or writing `keys.json` failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
    /// `keys.json` is not what this version writes.
    #[error("{path} is not a valid keys file ({message}); fix or remove it (removing it revokes every client key)")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        message: String,
    },
    /// The random source failed.
    #[error("cannot make a random key: {0}")]
    Random(String),
    /// A name `keys add` does not take.
    #[error(
        "`{0}` is not a usable key name: use 1 to 64 letters, digits, `-`, `_`, `.` or `@` (the name shows in logs and metrics)"
    )]
    BadName(String),
    /// `keys add` with a name already in use.
    #[error("a client key named `{0}` exists already: `switchyard keys rotate {0}` gives it a new key")]
    Exists(String),
    /// A name no key has.
    #[error("no client key is named `{0}`: `switchyard keys list` shows the names")]
    NoSuchKey(String),
    /// A bad `--models`, `--allow-ip` or `--expires`.
    #[error("{0}")]
    BadOption(String),
}

/// One live client key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    /// Its name.
    pub name: String,
    /// The SHA-256 of the key, in hex. The key itself is never stored.
    pub hash: String,
    /// When it was made, seconds since the Unix epoch.
    pub created: u64,
    /// When it stops working, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
    /// Globs of the upstream models it may use; empty for any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Most requests per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
    /// Most tokens per UTC day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_day: Option<u64>,
    /// The networks it may be used from; empty for any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_ip: Vec<IpNet>,
}

/// A revoked (or rotated-away) key, kept so that a gateway with auth off
/// still refuses it rather than letting it pass as an unknown string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    /// The name it had.
    pub name: String,
    /// Its SHA-256, in hex.
    pub hash: String,
    /// When it was revoked, seconds since the Unix epoch.
    pub revoked: u64,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFile {
    /// The format version.
    pub version: u32,
    /// The live keys.
    #[serde(default)]
    pub keys: Vec<KeyEntry>,
    /// Keys no longer valid.
    #[serde(default)]
    pub revoked: Vec<Revoked>,
}

impl Default for KeyFile {
    fn default() -> Self {
        KeyFile {
            version: VERSION,
            keys: Vec::new(),
            revoked: Vec::new(),
        }
    }
}

/// What `keys add` is told besides the name.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// `--models`.
    pub models: Vec<String>,
    /// `--rpm`.
    pub rpm: Option<u32>,
    /// `--tokens-per-day`.
    pub tokens_per_day: Option<u64>,
    /// `--expires`, already parsed.
    pub expires: Option<u64>,
    /// `--allow-ip`.
    pub allow_ip: Vec<IpNet>,
}

impl KeyFile {
    /// The keys of `home`; none when the file does not exist.
    pub fn load(home: &Home) -> Result<KeyFile, KeysError> {
        let path = home.keys_file();
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(KeyFile::default()),
            Err(source) => {
                return Err(KeysError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        serde_json::from_slice(&text).map_err(|err| KeysError::Invalid {
            path,
            message: err.to_string(),
        })
    }

    /// Changes the keys of `home` under its write lock: loads the file,
    /// applies `change`, and writes the result atomically (0600) if
    /// `change` succeeded.
    pub fn update<T>(home: &Home, change: impl FnOnce(&mut KeyFile) -> Result<T, KeysError>) -> Result<T, KeysError> {
        let path = home.keys_file();
        let _lock = home.lock().map_err(|source| KeysError::Io {
            action: "lock the home of",
            path: path.clone(),
            source,
        })?;
        let mut file = KeyFile::load(home)?;
        let result = change(&mut file)?;
        let mut text = serde_json::to_vec_pretty(&file).map_err(|err| KeysError::Invalid {
            path: path.clone(),
            message: err.to_string(),
        })?;
        text.push(b'\n');
        home::write_atomic(&path, &text, 0o600).map_err(|source| KeysError::Io {
            action: "write",
            path,
            source,
        })?;
        Ok(result)
    }

    /// Adds a key named `name`; returns the key, which is shown once.
    pub fn add(&mut self, name: &str, limits: Limits) -> Result<String, KeysError> {
        super::check_name(name)?;
        if self.keys.iter().any(|entry| entry.name == name) {
            return Err(KeysError::Exists(name.to_string()));
        }
        let key = super::generate()?;
        self.keys.push(KeyEntry {
            name: name.to_string(),
            hash: hex::encode(super::hash(&key)),
            created: now(),
            expires: limits.expires,
            models: limits.models,
            rpm: limits.rpm,
            tokens_per_day: limits.tokens_per_day,
            allow_ip: limits.allow_ip,
        });
        Ok(key)
    }

    /// Revokes the key named `name`.
    pub fn revoke(&mut self, name: &str) -> Result<(), KeysError> {
        let at = self
            .keys
            .iter()
            .position(|entry| entry.name == name)
            .ok_or_else(|| KeysError::NoSuchKey(name.to_string()))?;
        let entry = self.keys.remove(at);
        self.retire(entry.name, entry.hash);
        Ok(())
    }

    /// Gives the key named `name` a new key (its limits stay); the old one
    /// stops working. Returns the new key.
    pub fn rotate(&mut self, name: &str) -> Result<String, KeysError> {
        let key = super::generate()?;
        let entry = self
            .keys
            .iter_mut()
            .find(|entry| entry.name == name)
            .ok_or_else(|| KeysError::NoSuchKey(name.to_string()))?;
        let old = std::mem::replace(&mut entry.hash, hex::encode(super::hash(&key)));
        self.retire(name.to_string(), old);
        Ok(key)
    }

    fn retire(&mut self, name: String, hash: String) {
        self.revoked.push(Revoked {
            name,
            hash,
            revoked: now(),
        });
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `--expires`: a date (`2027-01-31`, the key stops working when that day
/// begins, UTC), an RFC 3339 time, or a duration from now (`30d`, `12h`).
pub fn parse_expiry(text: &str, now: u64) -> Result<u64, KeysError> {
    let text = text.trim();
    let bad = || {
        KeysError::BadOption(format!(
            "--expires `{text}` is not a date (2027-01-31), a time (2027-01-31T18:00:00Z) or a duration (30d, 12h)"
        ))
    };
    let at = if text.len() == 10 && text.as_bytes().get(4) == Some(&b'-') {
        humantime::parse_rfc3339(&format!("{text}T00:00:00Z")).map_err(|_| bad())?
    } else if text.contains('T') || text.contains(':') {
        humantime::parse_rfc3339_weak(text).map_err(|_| bad())?
    } else {
        let duration: Duration = humantime::parse_duration(text).map_err(|_| bad())?;
        return Ok(now.saturating_add(duration.as_secs()));
    };
    let at = at.duration_since(UNIX_EPOCH).map_err(|_| bad())?.as_secs();
    if at <= now {
        return Err(KeysError::BadOption(format!(
            "--expires `{text}` is in the past: the key would never work"
        )));
    }
    Ok(at)
}

/// `--models`: comma-separated globs, each checked.
pub fn parse_models(text: &str) -> Result<Vec<String>, KeysError> {
    let globs: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|glob| !glob.is_empty())
        .map(str::to_string)
        .collect();
    for glob in &globs {
        glob::Pattern::new(glob)
            .map_err(|err| KeysError::BadOption(format!("--models: `{glob}` is not a glob ({err})")))?;
    }
    Ok(globs)
}

/// `--allow-ip`: comma-separated networks (`192.168.1.0/24`) or addresses
/// (`10.0.0.7`, taken as a single host).
pub fn parse_networks(text: &str) -> Result<Vec<IpNet>, KeysError> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .or_else(|_| part.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    KeysError::BadOption(format!(
                        "--allow-ip: `{part}` is neither a network (192.168.1.0/24) nor an address (192.168.1.7)"
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_rotate_revoke_keep_hashes_only() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let key = KeyFile::update(&home, |file| file.add("editor", Limits::default())).unwrap();
        let text = std::fs::read_to_string(home.keys_file()).unwrap();
        assert!(!text.contains(&key), "the key itself is never stored");
        assert!(text.contains(&hex::encode(super::super::hash(&key))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(home.keys_file()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let duplicate = KeyFile::update(&home, |file| file.add("editor", Limits::default()));
        assert!(matches!(duplicate, Err(KeysError::Exists(_))));
        let rotated = KeyFile::update(&home, |file| file.rotate("editor")).unwrap();
        assert_ne!(rotated, key);
        let file = KeyFile::load(&home).unwrap();
        assert_eq!(file.keys.len(), 1);
        assert_eq!(file.revoked.len(), 1);
        assert_eq!(file.revoked[0].hash, hex::encode(super::super::hash(&key)));
        KeyFile::update(&home, |file| file.revoke("editor")).unwrap();
        let file = KeyFile::load(&home).unwrap();
        assert!(file.keys.is_empty());
        assert_eq!(file.revoked.len(), 2);
        assert!(matches!(
            KeyFile::update(&home, |file| file.revoke("editor")),
            Err(KeysError::NoSuchKey(_))
        ));
    }

    #[test]
    fn expiry_forms() {
        let now = 1_800_000_000; // 2027-01-15
        assert_eq!(parse_expiry("2027-02-01", now).unwrap(), 1_801_440_000);
        assert_eq!(parse_expiry("2027-02-01T12:00:00Z", now).unwrap(), 1_801_483_200);
        assert_eq!(parse_expiry("30d", now).unwrap(), now + 30 * 86_400);
        assert!(parse_expiry("2020-01-01", now).is_err());
        assert!(parse_expiry("soon", now).is_err());
    }

    #[test]
    fn model_and_network_options() {
        assert_eq!(
            parse_models("gemini-*, gpt-4.1,").unwrap(),
            vec!["gemini-*".to_string(), "gpt-4.1".to_string()]
        );
        assert!(parse_models("gpt-[").is_err());
        let nets = parse_networks("192.168.1.0/24, 10.0.0.7,::1").unwrap();
        assert_eq!(nets.len(), 3);
        assert!(nets[1].contains(&"10.0.0.7".parse::<std::net::IpAddr>().unwrap()));
        assert!(!nets[1].contains(&"10.0.0.8".parse::<std::net::IpAddr>().unwrap()));
        assert!(parse_networks("192.168.1.0/33").is_err());
        assert!(parse_networks("lan").is_err());
    }
}
