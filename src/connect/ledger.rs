//! `connect.json` in the home: what connect did to each tool's files, so that
//! `--undo`, `--list` and `--refresh` know it later; and the backups.
//!
//! Backups live in the home's `backups/` directory, named
//! `TOOL-FILE-YYYYMMDDTHHMMSSZ`, taken before connect first changes a file.
//! They are 0600 at most (the original's mode without group and other
//! bits: they may hold keys); the original mode is recorded here and given
//! back on undo.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::format::Format;
use crate::home::{self, Home};

/// The name of the ledger file in the home.
pub const FILE: &str = "connect.json";

/// Every connected tool, by id.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ledger {
    /// Connections by tool id.
    #[serde(default)]
    pub tools: BTreeMap<String, Connection>,
}

/// One connected tool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Connection {
    /// The tool got the gateway key (`--admin-key`), not a client key.
    #[serde(default)]
    pub admin_key: bool,
    /// The model it was connected with.
    #[serde(default)]
    pub model: Option<String>,
    /// The gateway port it points at.
    pub port: u16,
    /// Its files.
    pub files: Vec<FileRecord>,
}

/// What connect did to one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileRecord {
    /// The file.
    pub path: PathBuf,
    /// Its syntax.
    pub format: Format,
    /// Whether it existed before connect first wrote it.
    pub existed: bool,
    /// Its mode then (Unix).
    #[serde(default)]
    pub mode: Option<u32>,
    /// The copy of it from then.
    #[serde(default)]
    pub backup: Option<PathBuf>,
    /// SHA-256 (hex) of the bytes connect last wrote (or found right).
    pub written: String,
    /// The settings connect made, with what each held before.
    pub settings: Vec<SettingRecord>,
    /// Objects and tables connect created on the way, deepest first: undo
    /// removes them when they are left empty.
    #[serde(default)]
    pub created: Vec<Vec<String>>,
}

/// One setting and its value before connect.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SettingRecord {
    /// Keys from the top of the file.
    pub path: Vec<String>,
    /// The value it had before; `None`: it was not there.
    #[serde(default)]
    pub prior: Option<Value>,
}

impl Ledger {
    fn path(home: &Home) -> PathBuf {
        home.config_dir.join(FILE)
    }

    /// The ledger of `home`; empty when there is none.
    pub fn load(home: &Home) -> std::io::Result<Ledger> {
        match std::fs::read(Ledger::path(home)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Ledger::default()),
            Err(err) => Err(err),
        }
    }

    /// Writes it (0600).
    pub fn save(&self, home: &Home) -> std::io::Result<()> {
        let mut text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        text.push(b'\n');
        home::write_atomic(&Ledger::path(home), &text, 0o600)
    }
}

/// SHA-256 of `bytes`, hex.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Keeps a copy of `bytes` (the file `path` of `tool` as it was) in the
/// home's `backups/`, 0600 at most.
pub fn backup(home: &Home, tool: &str, path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<PathBuf> {
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace(['-', ':'], "");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().trim_start_matches('.').to_string())
        .unwrap_or_default();
    let dir = home.config_dir.join("backups");
    let mut target = dir.join(format!("{tool}-{name}-{stamp}"));
    let mut n = 1;
    while target.exists() {
        n += 1;
        target = dir.join(format!("{tool}-{name}-{stamp}-{n}"));
    }
    home::write_atomic(&target, bytes, mode.unwrap_or(0o600) & 0o600)?;
    Ok(target)
}
