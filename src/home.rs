//! Where Switchyard keeps its files.
//!
//! `SWITCHYARD_HOME`, when set, holds everything (config, secrets file,
//! state). Otherwise the platform's directories are used: the config dir for
//! `config.toml` and `secrets.json`, the data dir for state such as the
//! running gateway's status file.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The directories of one Switchyard installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// Holds `config.toml` and `secrets.json`.
    pub config_dir: PathBuf,
    /// Holds runtime state (`gateway.json`, logs).
    pub state_dir: PathBuf,
    /// True when chosen by `SWITCHYARD_HOME` rather than the platform default.
    pub explicit: bool,
}

impl Home {
    /// The home selected by the environment: `SWITCHYARD_HOME` or the
    /// platform defaults.
    pub fn from_env() -> Result<Home, io::Error> {
        match std::env::var_os("SWITCHYARD_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => Ok(Home::at(PathBuf::from(dir))),
            None => {
                let config = dirs::config_dir().ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        "cannot find the user's config directory; set SWITCHYARD_HOME to a directory Switchyard may use",
                    )
                })?;
                let state = dirs::data_local_dir().unwrap_or_else(|| config.clone());
                Ok(Home {
                    config_dir: config.join("switchyard"),
                    state_dir: state.join("switchyard"),
                    explicit: false,
                })
            }
        }
    }

    /// A home rooted at `dir` (everything in one directory), as
    /// `SWITCHYARD_HOME` selects.
    pub fn at(dir: impl Into<PathBuf>) -> Home {
        let dir = dir.into();
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        Home {
            config_dir: dir.clone(),
            state_dir: dir,
            explicit: true,
        }
    }

    /// `config.toml`.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    /// `secrets.json`, used by the `file` secret store.
    pub fn secrets_file(&self) -> PathBuf {
        self.config_dir.join("secrets.json")
    }

    /// The lock file that serialises writers of `config.toml` and `secrets.json`.
    pub fn lock_file(&self) -> PathBuf {
        self.config_dir.join(".lock")
    }

    /// Where a running gateway records its address, so that `status` and
    /// `accounts list` can find it.
    pub fn runtime_file(&self) -> PathBuf {
        self.state_dir.join("gateway.json")
    }

    /// Creates the directories if they do not exist yet.
    pub fn ensure(&self) -> io::Result<()> {
        fs::create_dir_all(&self.config_dir)?;
        fs::create_dir_all(&self.state_dir)
    }

    /// Takes the exclusive write lock of this home, released when the guard
    /// drops. Every read-modify-write of the config or secrets file holds it,
    /// so two CLI commands run at once cannot lose each other's change.
    pub fn lock(&self) -> io::Result<HomeLock> {
        self.ensure()?;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.lock_file())?;
        file.lock()?;
        Ok(HomeLock { _file: file })
    }
}

/// Holds a [`Home`]'s write lock until dropped.
#[derive(Debug)]
pub struct HomeLock {
    _file: File,
}

/// Writes `contents` to `path` atomically: a temporary file in the same
/// directory, flushed to disk, then renamed over the target. A crash leaves
/// either the old file or the new one, never a torn one. The file gets
/// `mode` on Unix (0600 for secrets).
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(mode));
    }
    // Windows has no mode bits; the file inherits the ACL of the user's
    // profile directory, which only that user can read.
    #[cfg(not(unix))]
    let _ = mode;
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|err| err.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_home_holds_everything() {
        let home = Home::at("/tmp/sy-home");
        assert_eq!(home.config_file(), PathBuf::from("/tmp/sy-home/config.toml"));
        assert_eq!(home.secrets_file(), PathBuf::from("/tmp/sy-home/secrets.json"));
        assert_eq!(home.runtime_file(), PathBuf::from("/tmp/sy-home/gateway.json"));
        assert!(home.explicit);
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_replaces_and_sets_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("s.json")]);
    }
}
