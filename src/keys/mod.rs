//! Client keys: one key per tool, device or colleague, each with its own
//! models, limits and usage.
//!
//! The gateway key stays the admin key. A client key reaches only the API
//! routes, and only the models its globs allow (after aliases), within its
//! requests per minute and tokens per UTC day, from its addresses, until it
//! expires. Every call it makes is recorded under its name.
//!
//! The home keeps only each key's SHA-256 hash, in `keys.json` (0600,
//! written atomically under the home's lock: [`file`]); the key itself is
//! printed once, when made. A running gateway looks presented keys up in
//! a [`KeyRing`] built from that file and swapped whole when it changes,
//! and counts each key's use in [`Meters`], which outlive the swaps.

pub mod file;
mod meter;

pub use file::{KeyEntry, KeyFile, KeysError, Limits, Revoked};
pub use meter::{Limited, Meters, Usage};

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine;
use ipnet::IpNet;
use sha2::{Digest, Sha256};

/// What every client key starts with.
pub const PREFIX: &str = "sk-";

/// Random bytes in a new key: 32, which is 43 URL-safe characters.
const KEY_BYTES: usize = 32;

/// A new random client key: `sk-` and 43 URL-safe base64 characters.
pub fn generate() -> Result<String, KeysError> {
    let mut bytes = [0u8; KEY_BYTES];
    // A key from a failed random source would be guessable: refuse instead.
    getrandom::fill(&mut bytes).map_err(|err| KeysError::Random(err.to_string()))?;
    Ok(format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The SHA-256 of a key, as kept in `keys.json` (hex). Keys are long and
/// random, so a fast hash is as safe as a slow one, and costs a
/// microsecond per request.
pub fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// One client key as the gateway enforces it.
#[derive(Debug)]
pub struct ClientKey {
    /// Its name (in records, metrics, messages; never the key).
    pub name: Arc<str>,
    /// The models it may use (globs over the upstream model, after
    /// aliases); empty for any.
    models: Vec<glob::Pattern>,
    /// The globs as written, for messages.
    pub model_globs: Vec<String>,
    /// Most requests per minute.
    pub rpm: Option<u32>,
    /// Most tokens (input and output) per UTC day.
    pub tokens_per_day: Option<u64>,
    /// When it stops working, seconds since the Unix epoch.
    pub expires: Option<u64>,
    /// The networks it may be used from; empty for any.
    pub allow_ip: Vec<IpNet>,
    /// Its SHA-256 in hex (team mode: checked against the revocations of
    /// every replica).
    pub hash: String,
}

impl ClientKey {
    fn from_entry(entry: &KeyEntry) -> ClientKey {
        ClientKey {
            name: Arc::from(entry.name.as_str()),
            // Globs were checked when the key was added; one edited into
            // something that no longer parses becomes the empty pattern,
            // which matches only the empty name no call has.
            models: entry
                .models
                .iter()
                .map(|glob| glob::Pattern::new(glob).unwrap_or_default())
                .collect(),
            model_globs: entry.models.clone(),
            rpm: entry.rpm,
            tokens_per_day: entry.tokens_per_day,
            expires: entry.expires,
            allow_ip: entry.allow_ip.clone(),
            hash: entry.hash.clone(),
        }
    }

    /// Whether it may use the upstream model `model`.
    pub fn allows_model(&self, model: &str) -> bool {
        self.models.is_empty() || self.models.iter().any(|glob| glob.matches(model))
    }

    /// Whether it may be used from `ip` (an unknown address only when no
    /// network is named).
    pub fn allows_ip(&self, ip: Option<IpAddr>) -> bool {
        if self.allow_ip.is_empty() {
            return true;
        }
        let Some(ip) = ip else { return false };
        // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.allow_ip.iter().any(|net| net.contains(&ip))
    }

    /// Whether it has expired at `now` (seconds since the Unix epoch).
    pub fn expired(&self, now: u64) -> bool {
        self.expires.is_some_and(|expires| now >= expires)
    }
}

/// What a presented key is.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// A live client key.
    Key(Arc<ClientKey>),
    /// A key that was revoked (or rotated away), by name.
    Revoked(Arc<str>),
    /// Not a client key.
    Unknown,
}

/// The client keys of a running gateway, by hash.
#[derive(Debug, Default)]
pub struct KeyRing {
    live: HashMap<[u8; 32], Arc<ClientKey>>,
    revoked: HashMap<[u8; 32], Arc<str>>,
}

impl KeyRing {
    /// The ring for the keys of `file`.
    pub fn new(file: &KeyFile) -> KeyRing {
        let mut ring = KeyRing::default();
        for entry in &file.keys {
            if let Some(hash) = parse_hash(&entry.hash) {
                ring.live.insert(hash, Arc::new(ClientKey::from_entry(entry)));
            }
        }
        for revoked in &file.revoked {
            if let Some(hash) = parse_hash(&revoked.hash) {
                ring.revoked.insert(hash, Arc::from(revoked.name.as_str()));
            }
        }
        ring
    }

    /// Whether no client key was ever made.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty() && self.revoked.is_empty()
    }

    /// What `candidate` is.
    pub fn lookup(&self, candidate: &str) -> Lookup {
        if self.is_empty() || !candidate.starts_with(PREFIX) {
            return Lookup::Unknown;
        }
        let hash = hash(candidate);
        if let Some(key) = self.live.get(&hash) {
            return Lookup::Key(key.clone());
        }
        match self.revoked.get(&hash) {
            Some(name) => Lookup::Revoked(name.clone()),
            None => Lookup::Unknown,
        }
    }

    /// The names of the live keys.
    pub fn names(&self) -> Vec<Arc<str>> {
        let mut names: Vec<Arc<str>> = self.live.values().map(|key| key.name.clone()).collect();
        names.sort();
        names
    }
}

/// The keys of `file` with their use, as `keys list --json` and `GET
/// /api/keys` show them: names, dates and limits, never a key or a hash.
pub fn listing(file: &KeyFile, usage: &[Usage]) -> serde_json::Value {
    let keys: Vec<serde_json::Value> = file
        .keys
        .iter()
        .map(|entry| {
            let used = usage
                .iter()
                .find(|row| row.name == entry.name)
                .cloned()
                .unwrap_or_default();
            serde_json::json!({
                "name": entry.name,
                "created": entry.created,
                "expires": entry.expires,
                "models": entry.models,
                "rpm": entry.rpm,
                "tokens_per_day": entry.tokens_per_day,
                "allow_ip": entry.allow_ip.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "tokens_today": used.tokens_today,
                "requests_today": used.requests_today,
                "last_used_ms": used.last_used_ms,
            })
        })
        .collect();
    serde_json::json!({ "keys": keys })
}

fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let mut hash = [0u8; 32];
    hex::decode_to_slice(text, &mut hash).ok()?;
    Some(hash)
}

/// A key name: what `keys add` accepts. Names go into records, metric
/// labels and messages, so they are short and plain.
pub fn check_name(name: &str) -> Result<(), KeysError> {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if plain {
        Ok(())
    } else {
        Err(KeysError::BadName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, key: &str) -> KeyEntry {
        KeyEntry {
            name: name.into(),
            hash: hex::encode(hash(key)),
            created: 0,
            expires: None,
            models: Vec::new(),
            rpm: None,
            tokens_per_day: None,
            allow_ip: Vec::new(),
        }
    }

    #[test]
    fn new_keys_are_long_random_and_url_safe() {
        let one = generate().unwrap();
        let two = generate().unwrap();
        assert_ne!(one, two);
        let body = one.strip_prefix(PREFIX).unwrap();
        assert!(body.len() >= 32, "{one}");
        assert!(body.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn the_ring_finds_live_and_revoked_keys_by_hash_only() {
        let file = KeyFile {
            keys: vec![entry("editor", "sk-live-one")],
            revoked: vec![Revoked {
                name: "phone".into(),
                hash: hex::encode(hash("sk-old-one")),
                revoked: 0,
            }],
            ..KeyFile::default()
        };
        let ring = KeyRing::new(&file);
        assert!(matches!(ring.lookup("sk-live-one"), Lookup::Key(key) if &*key.name == "editor"));
        assert!(matches!(ring.lookup("sk-old-one"), Lookup::Revoked(name) if &*name == "phone"));
        assert!(matches!(ring.lookup("sk-live-two"), Lookup::Unknown));
        assert!(matches!(ring.lookup("live-one"), Lookup::Unknown));
    }

    #[test]
    fn models_ips_and_expiry() {
        let mut limited = entry("ci", "sk-x");
        limited.models = vec!["gemini-*".into(), "gpt-4.1".into()];
        limited.allow_ip = vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        limited.expires = Some(1000);
        let key = ClientKey::from_entry(&limited);
        assert!(key.allows_model("gemini-2.5-pro"));
        assert!(key.allows_model("gpt-4.1"));
        assert!(!key.allows_model("gpt-4.1-mini"));
        assert!(key.allows_ip(Some("10.1.2.3".parse().unwrap())));
        assert!(key.allows_ip(Some("::ffff:10.1.2.3".parse().unwrap())));
        assert!(key.allows_ip(Some("::1".parse().unwrap())));
        assert!(!key.allows_ip(Some("192.168.1.5".parse().unwrap())));
        assert!(!key.allows_ip(None));
        assert!(!key.expired(999));
        assert!(key.expired(1000));
        let open = ClientKey::from_entry(&entry("any", "sk-y"));
        assert!(open.allows_model("anything"));
        assert!(open.allows_ip(None));
        assert!(!open.expired(u64::MAX));
    }

    #[test]
    fn names_are_plain() {
        for good in ["editor", "phone-1", "ci_job", "anna@laptop", "v1.2"] {
            check_name(good).unwrap();
        }
        for bad in ["", "a b", "x\"y", "k=v", &"n".repeat(65), "ünï"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
