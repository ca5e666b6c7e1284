//! Where Switchyard keeps its files.
//!
//! `SWITCHYARD_HOME`, when set, holds everything (config, secrets file,
//! state). Otherwise the platform's directories are used: the config dir for
//! `config.toml` and `secrets.json`, the data dir for state such as the
//! running gateway's status file.
//!
//! On Unix everything here is private to the user: the directories are
//! 0700 and the files 0600 (see [`Home::secure`] and [`write_atomic`]), so
//! no other local account can read the request log or change the config.

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

    /// `keys.json`: the client keys, as hashes.
    pub fn keys_file(&self) -> PathBuf {
        self.config_dir.join("keys.json")
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

    /// Creates the directories if they do not exist yet (0700 on Unix) and
    /// checks their owner and mode ([`Home::secure`]).
    pub fn ensure(&self) -> io::Result<()> {
        create_private_dir(&self.config_dir)?;
        create_private_dir(&self.state_dir)?;
        self.secure();
        Ok(())
    }

    /// Makes the existing parts of this home private, once per process: a
    /// directory of ours that other users may enter is tightened to 0700
    /// (and `config.toml`, `secrets.json` to at most 0600); a directory
    /// others may write, or one owned by another user, is reported with a
    /// warning that says what to do. Nothing is created, and a directory of
    /// another user is never changed. Does nothing off Unix, where the
    /// user's profile directory's ACL keeps the files private.
    pub fn secure(&self) {
        #[cfg(unix)]
        {
            if private::first_look(&self.config_dir) {
                private::secure_dir(&self.config_dir);
                for file in [self.config_file(), self.secrets_file(), self.keys_file()] {
                    if let Err(err) = restrict_to_owner(&file) {
                        tracing::warn!(
                            path = %file.display(),
                            error = %err,
                            "cannot make the file private: run `chmod 600` on it"
                        );
                    }
                }
            }
            if self.state_dir != self.config_dir && private::first_look(&self.state_dir) {
                private::secure_dir(&self.state_dir);
            }
        }
    }

    /// Takes the exclusive write lock of this home, released when the guard
    /// drops. Every read-modify-write of the config or secrets file holds it,
    /// so two CLI commands run at once cannot lose each other's change.
    pub fn lock(&self) -> io::Result<HomeLock> {
        self.ensure()?;
        let mut options = File::options();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(self.lock_file())?;
        // A lock file from an older version may be 0644; it holds nothing,
        // but every file of the home is private.
        restrict_file_to_owner(&file)?;
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
/// either the old file or the new one, never a torn one.
///
/// On Unix the file gets `mode` (0600 for the config and secrets), or the
/// existing file's mode where that is stricter: a config.toml the user made
/// 0400 stays 0400, one left 0644 by an older version becomes 0600. The mode
/// is set explicitly, so the umask cannot widen it. A missing directory is
/// created 0700.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tmp-");
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        let mode = match fs::metadata(path) {
            Ok(existing) => kept_mode(existing.permissions().mode(), mode),
            Err(_) => mode & 0o7777,
        };
        // The temporary file is private from its creation on.
        builder.permissions(fs::Permissions::from_mode(mode & 0o700));
        mode
    };
    // Windows has no mode bits; the file inherits the ACL of the user's
    // profile directory, which only that user can read.
    #[cfg(not(unix))]
    let _ = mode;
    let mut tmp = builder.tempfile_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The umask applies when a file is created; fchmod sets the mode exactly.
        tmp.as_file().set_permissions(fs::Permissions::from_mode(mode))?;
    }
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|err| err.error)?;
    Ok(())
}

/// The mode a rewritten file gets: `wanted`, without the bits the existing
/// file's mode lacks (a stricter existing mode is kept).
#[cfg(unix)]
fn kept_mode(existing: u32, wanted: u32) -> u32 {
    existing & wanted & 0o7777
}

/// Creates `dir` and its missing parents, 0700 on Unix.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Takes the group's and others' permissions off an existing file (0644
/// becomes 0600; a stricter mode such as 0400 is kept). A missing file is
/// fine. Does nothing off Unix.
pub fn restrict_to_owner(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match fs::metadata(path) {
            Ok(meta) => meta.permissions().mode(),
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(err),
        };
        if mode & 0o077 != 0 {
            fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o7700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// [`restrict_to_owner`] of an open file.
fn restrict_file_to_owner(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(fs::Permissions::from_mode(mode & 0o7700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// What to do about one directory of the home, given its mode and owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirVerdict {
    /// The mode to set (the directory is ours and others may enter it).
    pub chmod_to: Option<u32>,
    /// A warning for the user: what is wrong and what to do.
    pub warning: Option<String>,
}

/// Decides what to do about a home directory at `path` with permission
/// bits `mode`, owned by user `owner`, when this process runs as user `me`.
///
/// - Ours, and nobody else may enter it: nothing to do.
/// - Ours, and others may read or enter it: tighten to 0700.
/// - Ours, and others may write it: tighten to 0700, and warn, because
///   another user may already have changed or added files.
/// - Another user's: warn, and leave it alone (we may not chmod it, and
///   should not try).
pub fn judge_dir(path: &Path, mode: u32, owner: u32, me: u32) -> DirVerdict {
    let mode = mode & 0o7777;
    let writable_by_others = mode & 0o022 != 0;
    if owner != me {
        let also = if writable_by_others {
            format!(", and other users may write to it (mode {mode:04o})")
        } else {
            String::new()
        };
        return DirVerdict {
            chmod_to: None,
            warning: Some(format!(
                "the Switchyard home {} belongs to another user (uid {owner}){also}: that user can read and change                  your configuration, secrets and request log. Use a directory of your own: set SWITCHYARD_HOME to                  one, or have the owner give you this one (chown)",
                path.display()
            )),
        };
    }
    if mode & 0o077 == 0 {
        return DirVerdict {
            chmod_to: None,
            warning: None,
        };
    }
    let tightened = mode & !0o077;
    DirVerdict {
        chmod_to: Some(tightened),
        warning: writable_by_others.then(|| {
            format!(
                "the Switchyard home {} was writable by other users (mode {mode:04o}); it is now {tightened:04o}. \
                 Another user could have changed its files: check config.toml (accounts, base_url, proxy_url) \
                 before you rely on it",
                path.display()
            )
        }),
    }
}

/// The Unix side of [`Home::secure`]: each directory is looked at once per
/// process, so a command that takes the lock several times warns once.
#[cfg(unix)]
mod private {
    use std::collections::HashSet;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    use super::judge_dir;

    static CHECKED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

    /// True the first time this process asks about `dir`.
    pub(super) fn first_look(dir: &Path) -> bool {
        let mut checked = CHECKED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        checked.get_or_insert_with(HashSet::new).insert(dir.to_path_buf())
    }

    /// Tightens or reports `dir` as [`judge_dir`] decides.
    pub(super) fn secure_dir(dir: &Path) {
        // A home reached through a symlink is judged by the directory itself.
        let meta = match std::fs::metadata(dir) {
            Ok(meta) => meta,
            Err(_) => return,
        };
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        let verdict = judge_dir(dir, meta.permissions().mode(), meta.uid(), me);
        if let Some(mode) = verdict.chmod_to {
            match std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)) {
                Ok(()) => tracing::info!(
                    path = %dir.display(),
                    "the Switchyard home was open to other users (mode {:04o}); made it {mode:04o}",
                    meta.permissions().mode() & 0o7777
                ),
                Err(err) => tracing::warn!(
                    path = %dir.display(),
                    error = %err,
                    "the Switchyard home is open to other users (mode {:04o}) and could not be made private; \
                     run `chmod 700 {}`",
                    meta.permissions().mode() & 0o7777,
                    dir.display()
                ),
            }
        }
        if let Some(warning) = verdict.warning {
            tracing::warn!("{warning}");
        }
    }
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

    #[test]
    fn a_home_others_may_enter_is_tightened_and_a_writable_one_reported() {
        let path = Path::new("/home/me/.config/switchyard");
        let me = 1000;
        let fine = judge_dir(path, 0o40700, me, me);
        assert_eq!(
            fine,
            DirVerdict {
                chmod_to: None,
                warning: None
            }
        );
        // Readable by others: tightened without a fuss.
        let readable = judge_dir(path, 0o40755, me, me);
        assert_eq!(readable.chmod_to, Some(0o700));
        assert_eq!(readable.warning, None);
        // Writable by others: tightened, and the user is told to look.
        for mode in [0o777, 0o775, 0o1777, 0o720] {
            let verdict = judge_dir(path, mode, me, me);
            assert_eq!(verdict.chmod_to, Some(mode & 0o7700), "{mode:o}");
            let warning = verdict.warning.unwrap_or_else(|| panic!("{mode:o}: no warning"));
            assert!(warning.contains("/home/me/.config/switchyard"), "{warning}");
            assert!(warning.contains("writable by other users"), "{warning}");
            assert!(warning.contains("config.toml"), "{warning}");
        }
    }

    #[test]
    fn a_home_of_another_user_is_reported_and_left_alone() {
        let path = Path::new("/srv/shared");
        for mode in [0o700, 0o755, 0o777] {
            let verdict = judge_dir(path, mode, 0, 1000);
            assert_eq!(verdict.chmod_to, None, "{mode:o}");
            let warning = verdict.warning.unwrap();
            assert!(warning.contains("/srv/shared"), "{warning}");
            assert!(warning.contains("another user (uid 0)"), "{warning}");
            assert!(warning.contains("SWITCHYARD_HOME"), "{warning}");
            assert_eq!(warning.contains("0777"), mode == 0o777, "{warning}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_rewrite_keeps_a_stricter_mode_only() {
        assert_eq!(kept_mode(0o100644, 0o600), 0o600);
        assert_eq!(kept_mode(0o100400, 0o600), 0o400);
        assert_eq!(kept_mode(0o100600, 0o600), 0o600);
        assert_eq!(kept_mode(0o100777, 0o600), 0o600);
    }
}
