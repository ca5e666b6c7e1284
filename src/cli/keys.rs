//! `switchyard keys ...`: client keys, one per tool, device or colleague.
//!
//! Each command changes `keys.json` under the home's lock, then tells a
//! running gateway to apply it (its watcher would too, a moment later). A
//! key is printed once, when made or rotated; nothing prints it again.

use std::time::{Duration, UNIX_EPOCH};

use super::client::{self, Running};
use super::{Failure, KeysAddArgs, KeysCommand, open};
use crate::home::Home;
use crate::keys::{self, KeyFile, KeysError, Usage, file};
use crate::monitor::{DATABASE, LogReader, now_ms};
use crate::secrets;

/// Runs a `keys` subcommand.
pub fn run(home: &Home, command: KeysCommand) -> Result<(), Failure> {
    match command {
        KeysCommand::Add(args) => {
            let name = args.name.clone();
            let limits = limits(args)?;
            let key = KeyFile::update(home, |file| file.add(&name, limits))?;
            applied(home);
            eprintln!("Client key `{name}` made. It is shown this once: keep it in the tool that uses it.");
            println!("{key}");
            Ok(())
        }
        KeysCommand::Rotate { name } => {
            let key = KeyFile::update(home, |file| file.rotate(&name))?;
            applied(home);
            eprintln!("Client key `{name}` has a new key; the old one no longer works. It is shown this once:");
            println!("{key}");
            super::connect::warn_stale(home, None);
            Ok(())
        }
        KeysCommand::Revoke { name } => {
            KeyFile::update(home, |file| file.revoke(&name))?;
            applied(home);
            eprintln!("Client key `{name}` revoked: calls made with it are refused from now on.");
            Ok(())
        }
        KeysCommand::List { json } => list(home, json),
    }
}

impl From<KeysError> for Failure {
    fn from(err: KeysError) -> Self {
        match err {
            KeysError::BadName(_) | KeysError::BadOption(_) => Failure::usage(err),
            err => Failure::runtime(err),
        }
    }
}

/// `keys add`'s options, checked.
fn limits(args: KeysAddArgs) -> Result<file::Limits, Failure> {
    Ok(file::Limits {
        models: args
            .models
            .as_deref()
            .map(file::parse_models)
            .transpose()?
            .unwrap_or_default(),
        rpm: args.rpm,
        tokens_per_day: args.tokens_per_day,
        expires: args
            .expires
            .as_deref()
            .map(|text| file::parse_expiry(text, file::now()))
            .transpose()?,
        allow_ip: args
            .allow_ip
            .as_deref()
            .map(file::parse_networks)
            .transpose()?
            .unwrap_or_default(),
    })
}

/// Has a running gateway of this home apply `keys.json` now.
pub(super) fn applied(home: &Home) {
    let Some(running) = running_with_key(home) else { return };
    let (running, key) = running;
    if !running.reload_keys(&key) {
        eprintln!("The running gateway did not confirm the change; it applies it when it notices the file changed.");
    }
}

/// The running gateway and the key to talk to it with, if one runs.
fn running_with_key(home: &Home) -> Option<(Running, String)> {
    if !client::is_running(home) {
        return None;
    }
    let (config, store) = open(home).ok()?;
    let key = secrets::gateway_key(store.as_ref(), &config).ok()?;
    let running = Running::find(home).ok()??;
    Some((running, key))
}

/// `keys list`: names, dates, limits and use today; never a key.
fn list(home: &Home, json: bool) -> Result<(), Failure> {
    let file = KeyFile::load(home)?;
    let usage = usage_today(home);
    if json {
        let listing = keys::listing(&file, &usage);
        println!("{}", serde_json::to_string_pretty(&listing).unwrap_or_default());
        return Ok(());
    }
    if file.keys.is_empty() {
        println!("No client keys. `switchyard keys add NAME` makes one (one per tool, device or colleague).");
        return Ok(());
    }
    println!(
        "{:<20} {:<11} {:<11} {:<24} {:>6} {:>12} {:>12} {:>9}  LAST USE",
        "NAME", "CREATED", "EXPIRES", "MODELS", "RPM", "TOKENS/DAY", "TOKENS TODAY", "REQUESTS"
    );
    for entry in &file.keys {
        let used = usage
            .iter()
            .find(|row| row.name == entry.name)
            .cloned()
            .unwrap_or_default();
        let models = if entry.models.is_empty() {
            "any".to_string()
        } else {
            entry.models.join(",")
        };
        println!(
            "{:<20} {:<11} {:<11} {:<24} {:>6} {:>12} {:>12} {:>9}  {}",
            entry.name,
            day(entry.created),
            entry.expires.map_or_else(|| "never".to_string(), day),
            models,
            entry.rpm.map_or_else(|| "-".to_string(), |n| n.to_string()),
            entry.tokens_per_day.map_or_else(|| "-".to_string(), |n| n.to_string()),
            used.tokens_today,
            used.requests_today,
            used.last_used_ms.map_or_else(
                || "never".to_string(),
                |ms| humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
                    .to_string()
            ),
        );
    }
    Ok(())
}

/// Each key's use today: from the running gateway, which counts every
/// call, else from the request log.
fn usage_today(home: &Home) -> Vec<Usage> {
    if let Some((running, key)) = running_with_key(home)
        && let Some(usage) = running.key_usage(&key)
    {
        return usage;
    }
    let day_start = now_ms() / 86_400_000 * 86_400_000;
    super::open(home)
        .map_err(|failure| failure.message)
        .and_then(|(config, store)| LogReader::open(&config, store.as_ref(), &home.state_dir.join(DATABASE)))
        .and_then(|log| log.key_usage(day_start))
        .unwrap_or_default()
}

/// `YYYY-MM-DD` of a time in seconds since the epoch (UTC).
fn day(secs: u64) -> String {
    let text = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string();
    text.chars().take(10).collect()
}
