//! Watching `config.toml` (and `keys.json`), so that edits apply while the
//! gateway runs.
//!
//! The directory is watched rather than the file: `config::edit` and most
//! editors replace the file by renaming a new one over it, which a watch on
//! the old file's inode would never see. A burst of events (write, rename,
//! chmod) within the debounce window becomes one call, and only a change of
//! the file itself (its inode, size or modification time) counts: inotify
//! also reports every *opening* of the file, so reading it after a change
//! would otherwise report a change again, and again. The stamp is taken with
//! `stat`, which opens nothing.

use std::path::PathBuf;
use std::time::Duration;

use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};

use crate::home::Home;

/// How long the file must be quiet before a change is reported.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// Watches one file of a home (`config.toml`, `keys.json`) until dropped.
pub struct ConfigWatcher {
    _debouncer: Debouncer<RecommendedWatcher>,
}

impl std::fmt::Debug for ConfigWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfigWatcher")
    }
}

/// The watch could not be set up (no inotify instances left, ...).
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {path} for changes ({message}); edits apply at the next start")]
pub struct WatchError {
    /// The directory that could not be watched.
    pub path: PathBuf,
    /// The watcher's error.
    pub message: String,
}

impl ConfigWatcher {
    /// Calls `changed` (on the watcher's own thread) after each burst of
    /// changes to `config.toml`. Changes to other files in the directory
    /// (`secrets.json`, the lock file, temporary files) are ignored.
    pub fn start(home: &Home, changed: impl Fn() + Send + 'static) -> Result<ConfigWatcher, WatchError> {
        ConfigWatcher::file(home, home.config_file(), changed)
    }

    /// Calls `changed` after each burst of changes to `keys.json`, the
    /// client keys (a running gateway applies them at once).
    pub fn keys(home: &Home, changed: impl Fn() + Send + 'static) -> Result<ConfigWatcher, WatchError> {
        ConfigWatcher::file(home, home.keys_file(), changed)
    }

    /// Watches `file`, in the home's config directory.
    fn file(home: &Home, file: PathBuf, changed: impl Fn() + Send + 'static) -> Result<ConfigWatcher, WatchError> {
        let dir = home.config_dir.clone();
        let error = |err: &dyn std::fmt::Display| WatchError {
            path: dir.clone(),
            message: err.to_string(),
        };
        home.ensure().map_err(|err| error(&err))?;
        let name = file.file_name().map(|n| n.to_os_string());
        let mut seen = stamp(&file);
        let mut debouncer = new_debouncer(DEBOUNCE, move |events: DebounceEventResult| match events {
            Ok(events) => {
                if !events.iter().any(|event| event.path.file_name() == name.as_deref()) {
                    return;
                }
                let now = stamp(&file);
                if now != seen {
                    seen = now;
                    changed();
                }
            }
            Err(err) => tracing::warn!(error = %err, "watching the home for changes failed"),
        })
        .map_err(|err| error(&err))?;
        debouncer
            .watcher()
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(|err| error(&err))?;
        Ok(ConfigWatcher { _debouncer: debouncer })
    }
}

/// What identifies one version of the file: inode (on Unix), size and
/// modification time. `None` while it does not exist.
fn stamp(path: &std::path::Path) -> Option<(u64, u64, std::time::SystemTime)> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    Some((inode, metadata.len(), metadata.modified().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn reports_replacements_of_config_toml_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let (tx, rx) = mpsc::channel();
        let _watcher = ConfigWatcher::start(&home, move || {
            let _ = tx.send(());
        })
        .unwrap();
        std::fs::write(dir.path().join("secrets.json"), "{}").unwrap();
        assert!(
            rx.recv_timeout(DEBOUNCE * 4).is_err(),
            "another file in the directory is not a config change"
        );
        crate::home::write_atomic(&home.config_file(), b"[proxy]\nport = 9000\n", 0o644).unwrap();
        rx.recv_timeout(Duration::from_secs(5))
            .expect("an atomic replacement of config.toml is reported");
        std::fs::write(home.config_file(), "[proxy]\nport = 9001\n").unwrap();
        rx.recv_timeout(Duration::from_secs(5))
            .expect("an in-place write is reported");
        // Reading the file (as a reload does) opens it, which inotify
        // reports; that must not count as a change, or a reload would
        // trigger the next one forever.
        for _ in 0..3 {
            std::fs::read(home.config_file()).unwrap();
            assert!(rx.recv_timeout(DEBOUNCE * 3).is_err(), "a read is not a change");
        }
    }
}
