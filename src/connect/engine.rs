//! Connect, undo, and the state of each tool.
//!
//! Connect reads every file of the tool first, and nothing is written (no
//! key made either) when one does not parse. Then it settles the key (the
//! tool's own, found again in its file; else a new or rotated client key),
//! computes each file's new text, and writes only the files that change,
//! each atomically, after a backup of its first state.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::format::{self, Change};
use super::ledger::{self, Connection, FileRecord, Ledger, SettingRecord};
use super::{Context, FileEdit, Tool, ToolDirs};
use crate::config;
use crate::home::{self, Home};
use crate::keys::{self, KeyFile, KeysError, file::Limits};

/// Why connect or undo failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// A tool's file does not parse; nothing was written.
    #[error("{path} does not parse ({message}); nothing was changed. Fix the file, or move it away, and run again")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's words, with the line.
        message: String,
    },
    /// A file could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was tried.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The tool needs a model name and none was given or found.
    #[error("{0} needs a model name: run `switchyard connect {1} --model NAME` (a model your accounts serve)")]
    NeedsModel(&'static str, &'static str),
    /// The client key could not be made.
    #[error(transparent)]
    Keys(#[from] KeysError),
}

/// What connect is asked to do.
#[derive(Debug, Clone)]
pub struct Request {
    /// The tool.
    pub tool: Tool,
    /// `--model`.
    pub model: Option<String>,
    /// With `--admin-key`: the gateway key, written instead of a client key.
    pub admin_key: Option<String>,
    /// `--dry-run`: print the diff, write nothing.
    pub dry_run: bool,
    /// The port the gateway listens on.
    pub port: u16,
}

/// What happened, for the command line to print.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Lines for the user (stderr).
    pub messages: Vec<String>,
    /// The unified diff (`--dry-run`), for stdout.
    pub diff: String,
    /// A client key was made or rotated: a running gateway should reload.
    pub keys_changed: bool,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ConnectError + 'a {
    move |source| ConnectError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A file's text, `None` when it does not exist.
fn read_text(path: &Path) -> Result<Option<String>, ConnectError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io("read", path)(err)),
    }
}

fn parse_error(path: &Path) -> impl FnOnce(String) -> ConnectError + '_ {
    move |message| ConnectError::Parse {
        path: path.to_path_buf(),
        message,
    }
}

/// The key found in the tool's files, if any.
fn key_in_files(edits: &[FileEdit]) -> Result<Option<String>, ConnectError> {
    for edit in edits {
        let Some(text) = read_text(&edit.path)? else { continue };
        for setting in edit.settings.iter().filter(|s| s.secret) {
            if let Some(Value::String(key)) =
                format::read(edit.format, &text, &setting.path).map_err(parse_error(&edit.path))?
            {
                return Ok(Some(key));
            }
        }
    }
    Ok(None)
}

/// How the tool's key was settled.
enum KeyNote {
    Admin,
    Reused,
    Made,
    Rotated,
}

/// The placeholder a dry run shows where a new key would go.
fn placeholder(tool: Tool) -> String {
    format!("<new client key `{}`>", tool.id())
}

/// Whether `key` is the live client key named `name`.
fn is_client_key(file: &KeyFile, name: &str, key: &str) -> bool {
    let hash = hex::encode(keys::hash(key));
    file.keys.iter().any(|entry| entry.name == name && entry.hash == hash)
}

fn settle_key(home: &Home, request: &Request, found: Option<String>) -> Result<(String, KeyNote), ConnectError> {
    if let Some(key) = &request.admin_key {
        return Ok((key.clone(), KeyNote::Admin));
    }
    let name = request.tool.id();
    let file = KeyFile::load(home)?;
    if let Some(key) = found.filter(|key| is_client_key(&file, name, key)) {
        return Ok((key, KeyNote::Reused));
    }
    let exists = file.keys.iter().any(|entry| entry.name == name);
    if request.dry_run {
        let note = if exists { KeyNote::Rotated } else { KeyNote::Made };
        return Ok((placeholder(request.tool), note));
    }
    if exists {
        Ok((KeyFile::update(home, |file| file.rotate(name))?, KeyNote::Rotated))
    } else {
        Ok((
            KeyFile::update(home, |file| file.add(name, Limits::default()))?,
            KeyNote::Made,
        ))
    }
}

fn context(dirs: &ToolDirs, port: u16, key: String, model: Option<String>) -> Context {
    Context {
        dirs: dirs.clone(),
        base_url: config::local_base_url(port),
        key,
        model,
    }
}

/// The file's text after connect's settings.
fn connected_text(edit: &FileEdit, text: &str) -> Result<String, ConnectError> {
    let changes: Vec<Change> = edit
        .settings
        .iter()
        .map(|s| Change::Set(s.path.clone(), s.value.clone()))
        .collect();
    format::edit(edit.format, text, &changes).map_err(parse_error(&edit.path))
}

/// A unified diff of one file.
fn diff(path: &Path, old: &str, new: &str) -> String {
    let name = path.display().to_string();
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .header(&name, &name)
        .to_string()
}

/// One file's text before and after connect.
struct Planned {
    edit: FileEdit,
    old: Option<String>,
    new: String,
}

impl Planned {
    fn changes(&self) -> bool {
        self.old.as_deref() != Some(self.new.as_str())
    }
}

/// `switchyard connect TOOL`.
pub fn connect(home: &Home, dirs: &ToolDirs, request: &Request) -> Result<Outcome, ConnectError> {
    let tool = request.tool;
    if tool.needs_model() && request.model.is_none() {
        return Err(ConnectError::NeedsModel(tool.title(), tool.id()));
    }
    let (planned, note) = plan(home, dirs, request)?;
    let changed = planned.iter().any(Planned::changes);
    if request.dry_run {
        return Ok(dry_run(tool, &planned, changed, note));
    }
    let mut outcome = Outcome {
        keys_changed: matches!(note, KeyNote::Made | KeyNote::Rotated),
        messages: write(home, request, &planned)?,
        ..Outcome::default()
    };
    outcome.messages.extend(summary(request, changed, note));
    Ok(outcome)
}

/// Reads and edits every file in memory. Every file parses before anything
/// (a key included) is made.
fn plan(home: &Home, dirs: &ToolDirs, request: &Request) -> Result<(Vec<Planned>, KeyNote), ConnectError> {
    let probe = request
        .tool
        .files(&context(dirs, request.port, String::new(), request.model.clone()));
    for edit in &probe {
        if let Some(text) = read_text(&edit.path)? {
            connected_text(edit, &text)?;
        }
    }
    let (key, note) = settle_key(home, request, key_in_files(&probe)?)?;
    let mut planned = Vec::new();
    for mut edit in request
        .tool
        .files(&context(dirs, request.port, key, request.model.clone()))
    {
        // A config file linked from a dotfiles repository stays a link: the
        // file it points at is the one edited (and backed up, and undone).
        if let Ok(target) = std::fs::canonicalize(&edit.path) {
            edit.path = target;
        }
        let old = read_text(&edit.path)?;
        let new = connected_text(&edit, old.as_deref().unwrap_or(""))?;
        planned.push(Planned { edit, old, new });
    }
    Ok((planned, note))
}

/// `--dry-run`: the diffs, nothing written.
fn dry_run(tool: Tool, planned: &[Planned], changed: bool, note: KeyNote) -> Outcome {
    let mut outcome = Outcome::default();
    for file in planned.iter().filter(|file| file.changes()) {
        let old = file.old.as_deref().unwrap_or("");
        outcome.diff.push_str(&diff(&file.edit.path, old, &file.new));
    }
    outcome.messages.push(match (changed, note) {
        (false, _) => format!("{} already points at this gateway; nothing would change.", tool.title()),
        (true, KeyNote::Made) => "Dry run: nothing written. A client key would be made for it.".to_string(),
        (true, KeyNote::Rotated) => format!(
            "Dry run: nothing written. Client key `{}` would be rotated (its key is not in the file).",
            tool.id()
        ),
        (true, _) => "Dry run: nothing written.".to_string(),
    });
    outcome
}

/// Writes the files that change (a backup of each first, the first time)
/// and records it all in the ledger; returns what was written.
fn write(home: &Home, request: &Request, planned: &[Planned]) -> Result<Vec<String>, ConnectError> {
    let tool = request.tool;
    let mut messages = Vec::new();
    let _lock = home.lock().map_err(io("lock the home of", &home.config_dir))?;
    let mut ledger = Ledger::load(home).map_err(io("read", &home.config_dir.join(ledger::FILE)))?;
    let previous = ledger.tools.remove(tool.id());
    let mut records = Vec::new();
    for file in planned {
        let (edit, old) = (&file.edit, file.old.as_deref());
        let known = previous
            .as_ref()
            .and_then(|c| c.files.iter().find(|f| f.path == edit.path).cloned());
        let mut record = match known {
            Some(record) => record,
            None => first_record(home, tool, edit, old)?,
        };
        note_settings(&mut record, edit, old.unwrap_or(""))?;
        if file.changes() {
            // A file connect creates holds a key: 0600. An existing one keeps its mode.
            let mode = if old.is_some() { 0o7777 } else { 0o600 };
            home::write_atomic(&edit.path, file.new.as_bytes(), mode).map_err(io("write", &edit.path))?;
            messages.push(format!("wrote {}", edit.path.display()));
        }
        record.written = ledger::digest(file.new.as_bytes());
        records.push(record);
    }
    ledger.tools.insert(
        tool.id().to_string(),
        Connection {
            admin_key: request.admin_key.is_some(),
            model: request.model.clone(),
            port: request.port,
            files: records,
        },
    );
    ledger
        .save(home)
        .map_err(io("write", &home.config_dir.join(ledger::FILE)))?;
    Ok(messages)
}

/// What the user is told after the files: the key, undo, notes.
fn summary(request: &Request, changed: bool, note: KeyNote) -> Vec<String> {
    let tool = request.tool;
    let mut messages = Vec::new();
    if !changed {
        messages.push(format!(
            "{} already points at this gateway; nothing changed.",
            tool.title()
        ));
    }
    messages.push(match note {
        KeyNote::Admin => "It uses the gateway key (--admin-key).".to_string(),
        KeyNote::Reused => format!("It keeps its client key `{}`.", tool.id()),
        KeyNote::Made => format!(
            "It has a client key of its own, `{}` (`switchyard keys revoke {}` ends it).",
            tool.id(),
            tool.id()
        ),
        KeyNote::Rotated => format!(
            "Client key `{}` was rotated: its key is shown once and was not found in the tool's files, so it has a new \
             one (same name and limits); the old one no longer works.",
            tool.id()
        ),
    });
    if changed {
        messages.push(format!(
            "{} now uses the gateway at {}. `switchyard connect {} --undo` takes it back.",
            tool.title(),
            config::local_base_url(request.port),
            tool.id()
        ));
    }
    if let Some(text) = tool.note() {
        messages.push(text.to_string());
    }
    if !tool.installed() {
        messages.push(format!(
            "Note: `{}` is not on PATH; {} is configured for when it is installed.",
            tool.program(),
            tool.title()
        ));
    }
    messages
}

fn empty_record(edit: &FileEdit) -> FileRecord {
    FileRecord {
        path: edit.path.clone(),
        format: edit.format,
        existed: false,
        mode: None,
        backup: None,
        written: String::new(),
        settings: Vec::new(),
        created: Vec::new(),
    }
}

/// The record of a file connect has not touched before: whether it exists,
/// its mode and a backup.
fn first_record(home: &Home, tool: Tool, edit: &FileEdit, old: Option<&str>) -> Result<FileRecord, ConnectError> {
    let mut record = empty_record(edit);
    if old.is_some() {
        let bytes = std::fs::read(&edit.path).map_err(io("read", &edit.path))?;
        let mode = file_mode(&edit.path);
        record.existed = true;
        record.mode = mode;
        record.backup =
            Some(ledger::backup(home, tool.id(), &edit.path, &bytes, mode).map_err(io("back up", &edit.path))?);
    }
    Ok(record)
}

#[cfg(unix)]
fn file_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn file_mode(_path: &Path) -> Option<u32> {
    None
}

/// Records the settings (and the objects on their way) connect has not
/// made in this file before, with what they held.
fn note_settings(record: &mut FileRecord, edit: &FileEdit, old: &str) -> Result<(), ConnectError> {
    for setting in &edit.settings {
        if record.settings.iter().any(|s| s.path == setting.path) {
            continue;
        }
        let prior = format::read(edit.format, old, &setting.path).map_err(parse_error(&edit.path))?;
        record.settings.push(SettingRecord {
            path: setting.path.clone(),
            prior,
        });
        for depth in (1..setting.path.len()).rev() {
            let parent = setting.path[..depth].to_vec();
            if !record.created.contains(&parent)
                && !format::has_object(edit.format, old, &parent).map_err(parse_error(&edit.path))?
            {
                record.created.push(parent);
            }
        }
    }
    record.created.sort_by_key(|path| std::cmp::Reverse(path.len()));
    Ok(())
}

/// `switchyard connect TOOL --undo`.
pub fn undo(home: &Home, tool: Tool, dry_run: bool) -> Result<Outcome, ConnectError> {
    let _lock = home.lock().map_err(io("lock the home of", &home.config_dir))?;
    let mut ledger = Ledger::load(home).map_err(io("read", &home.config_dir.join(ledger::FILE)))?;
    let mut outcome = Outcome::default();
    let Some(connection) = ledger.tools.get(tool.id()).cloned() else {
        outcome.messages.push(format!(
            "{} is not connected (by this home); nothing to undo.",
            tool.title()
        ));
        return Ok(outcome);
    };
    for record in &connection.files {
        undo_file(record, dry_run, &mut outcome)?;
    }
    if dry_run {
        outcome.messages.push("Dry run: nothing written.".to_string());
        return Ok(outcome);
    }
    for backup in connection.files.iter().filter_map(|f| f.backup.as_ref()) {
        let _ = std::fs::remove_file(backup);
    }
    ledger.tools.remove(tool.id());
    ledger
        .save(home)
        .map_err(io("write", &home.config_dir.join(ledger::FILE)))?;
    if !connection.admin_key {
        outcome.messages.push(format!(
            "The client key `{}` is kept; `switchyard keys revoke {}` ends it.",
            tool.id(),
            tool.id()
        ));
    }
    Ok(outcome)
}

fn undo_file(record: &FileRecord, dry_run: bool, outcome: &mut Outcome) -> Result<(), ConnectError> {
    let path = &record.path;
    let Some(current) = std::fs::read(path).ok() else {
        outcome
            .messages
            .push(format!("{} no longer exists; left as it is.", path.display()));
        return Ok(());
    };
    let current_text = String::from_utf8_lossy(&current).into_owned();
    if ledger::digest(&current) == record.written {
        // Untouched since connect: the exact bytes from before.
        let original = match &record.backup {
            Some(backup) => Some(std::fs::read(backup).map_err(io("read the backup", backup))?),
            None => None,
        };
        let new_text = original.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
        if dry_run {
            outcome.diff.push_str(&diff(path, &current_text, &new_text));
            return Ok(());
        }
        match original {
            Some(bytes) => {
                home::write_atomic(path, &bytes, 0o7777).map_err(io("restore", path))?;
                restore_mode(path, record.mode).map_err(io("restore the mode of", path))?;
                outcome.messages.push(format!("restored {}", path.display()));
            }
            None => {
                std::fs::remove_file(path).map_err(io("remove", path))?;
                outcome
                    .messages
                    .push(format!("removed {} (connect created it)", path.display()));
            }
        }
        return Ok(());
    }
    // Edited since: take out connect's settings only.
    let format = record.format;
    let mut changes: Vec<Change> = record
        .settings
        .iter()
        .map(|s| match &s.prior {
            Some(prior) => Change::Set(s.path.clone(), prior.clone()),
            None => Change::Remove(s.path.clone()),
        })
        .collect();
    changes.extend(record.created.iter().cloned().map(Change::Prune));
    let new_text = format::edit(format, &current_text, &changes).map_err(parse_error(path))?;
    if dry_run {
        outcome.diff.push_str(&diff(path, &current_text, &new_text));
        return Ok(());
    }
    home::write_atomic(path, new_text.as_bytes(), 0o7777).map_err(io("write", path))?;
    outcome.messages.push(format!(
        "{} was edited since connect wrote it: took out only the settings connect made, and kept your changes.",
        path.display()
    ));
    Ok(())
}

#[cfg(unix)]
fn restore_mode(path: &Path, mode: Option<u32>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match mode {
        Some(mode) => std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)),
        None => Ok(()),
    }
}

#[cfg(not(unix))]
fn restore_mode(_path: &Path, _mode: Option<u32>) -> std::io::Result<()> {
    Ok(())
}

/// Where a tool stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Connect never ran for it (on this home).
    NotConnected,
    /// Its files point at this gateway with a working key.
    Connected,
    /// Connected once, but no longer right: why.
    Stale(String),
}

/// A tool's line in `connect --list`.
#[derive(Debug, Clone)]
pub struct Status {
    /// The tool.
    pub tool: Tool,
    /// Its program is on PATH.
    pub installed: bool,
    /// Connected, stale or not.
    pub state: State,
}

/// Every tool's state. `gateway_key` is the current gateway key, for tools
/// connected with `--admin-key`.
pub fn status(home: &Home, dirs: &ToolDirs, port: u16, gateway_key: Option<&str>) -> Vec<Status> {
    let ledger = Ledger::load(home).unwrap_or_default();
    let keys = KeyFile::load(home).unwrap_or_default();
    Tool::ALL
        .into_iter()
        .map(|tool| Status {
            tool,
            installed: tool.installed(),
            state: match ledger.tools.get(tool.id()) {
                None => State::NotConnected,
                Some(connection) => judge(tool, connection, dirs, port, &keys, gateway_key),
            },
        })
        .collect()
}

fn judge(
    tool: Tool,
    connection: &Connection,
    dirs: &ToolDirs,
    port: u16,
    keys: &KeyFile,
    gateway_key: Option<&str>,
) -> State {
    let probe = tool.files(&context(dirs, port, String::new(), connection.model.clone()));
    let key = match key_in_files(&probe) {
        Ok(Some(key)) => key,
        Ok(None) => return State::Stale("its key is gone from its files".into()),
        Err(err) => return State::Stale(err.to_string()),
    };
    let valid = if connection.admin_key {
        gateway_key == Some(key.as_str())
    } else {
        is_client_key(keys, tool.id(), &key)
    };
    if !valid {
        return State::Stale("its key was rotated or revoked".into());
    }
    if connection.port != port {
        return State::Stale(format!(
            "it points at port {}, the gateway is on {port}",
            connection.port
        ));
    }
    for edit in tool.files(&context(dirs, port, key, connection.model.clone())) {
        let text = match read_text(&edit.path) {
            Ok(Some(text)) => text,
            _ => return State::Stale(format!("{} is gone", edit.path.display())),
        };
        for setting in &edit.settings {
            if format::read(edit.format, &text, &setting.path).ok().flatten().as_ref() != Some(&setting.value) {
                return State::Stale(format!(
                    "`{}` in {} was changed",
                    setting.path.join("."),
                    edit.path.display()
                ));
            }
        }
    }
    State::Connected
}

/// The connected tools that no longer work with this gateway.
pub fn stale(home: &Home, dirs: &ToolDirs, port: u16, gateway_key: Option<&str>) -> Vec<Tool> {
    status(home, dirs, port, gateway_key)
        .into_iter()
        .filter(|s| matches!(s.state, State::Stale(_)))
        .map(|s| s.tool)
        .collect()
}

/// The tools connect has configured on this home, with their model and key kind.
pub fn connected(home: &Home) -> Vec<(Tool, Connection)> {
    Ledger::load(home)
        .unwrap_or_default()
        .tools
        .into_iter()
        .filter_map(|(id, connection)| Tool::from_id(&id).map(|tool| (tool, connection)))
        .collect()
}
