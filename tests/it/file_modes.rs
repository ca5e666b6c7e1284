//! The home's files are private to the user (issue 13, point 5): the
//! directories 0700, config.toml, secrets.json, the lock file and the
//! request log's SQLite files 0600; older, looser files are tightened and a
//! stricter mode the user chose is kept.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use switchyard::config::{self, AuthMode};
use switchyard::home::Home;
use switchyard::monitor::Store;
use switchyard::secrets::{FileStore, SecretStore};

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn set_port(home: &Home, port: i64) -> config::Config {
    config::edit(home, |doc| {
        config::set_proxy(doc, "port", port);
        Ok(())
    })
    .unwrap()
}

#[test]
fn a_new_home_and_its_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path().join("nested").join("home"));
    config::init(&home).unwrap();
    assert_eq!(mode(&home.config_dir), 0o700);
    assert_eq!(mode(&home.config_file()), 0o600);
    assert_eq!(mode(&home.lock_file()), 0o600);
    set_port(&home, 9001);
    assert_eq!(mode(&home.config_file()), 0o600);
    FileStore::new(home.clone()).set("acc_1", "upstream-secret").unwrap();
    assert_eq!(mode(&home.secrets_file()), 0o600);
}

#[test]
fn an_open_home_of_ours_is_tightened_with_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path().join("home"));
    fs::create_dir(&home.config_dir).unwrap();
    fs::write(home.config_file(), "[proxy]\nport = 9002\n").unwrap();
    fs::write(home.lock_file(), "").unwrap();
    chmod(&home.config_dir, 0o755);
    chmod(&home.config_file(), 0o644);
    chmod(&home.lock_file(), 0o644);
    let _lock = home.lock().unwrap();
    assert_eq!(mode(&home.config_dir), 0o700);
    assert_eq!(mode(&home.config_file()), 0o600);
    assert_eq!(mode(&home.lock_file()), 0o600);
}

#[test]
fn an_edit_tightens_a_0644_config_and_keeps_a_0400_one() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    fs::write(home.config_file(), "[proxy]\nport = 9003\n").unwrap();
    chmod(&home.config_file(), 0o644);
    assert_eq!(set_port(&home, 9004).proxy.port, 9004);
    assert_eq!(mode(&home.config_file()), 0o600);

    chmod(&home.config_file(), 0o400);
    let config = config::edit(&home, |doc| {
        config::set_proxy(doc, "auth_mode", "strict");
        Ok(())
    })
    .unwrap();
    assert_eq!(config.proxy.auth_mode, AuthMode::Strict);
    assert_eq!(
        mode(&home.config_file()),
        0o400,
        "a stricter mode the user chose is kept"
    );
    assert!(fs::read_to_string(home.config_file()).unwrap().contains("strict"));
}

#[test]
fn the_request_log_is_created_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state").join("requests.sqlite3");
    fs::create_dir(path.parent().unwrap()).unwrap();
    let store = Store::open(&path).unwrap();
    assert_eq!(store.count().unwrap(), 0);
    assert_eq!(mode(&path), 0o600);
    let mut siblings = 0;
    for suffix in ["-wal", "-shm", "-journal"] {
        let sibling = dir.path().join("state").join(format!("requests.sqlite3{suffix}"));
        if sibling.exists() {
            siblings += 1;
            assert_eq!(mode(&sibling), 0o600, "{}", sibling.display());
        }
    }
    assert!(siblings > 0, "WAL mode keeps a -wal or -shm file while open");
}

#[test]
fn an_existing_0644_request_log_is_tightened_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("requests.sqlite3");
    drop(Store::open(&path).unwrap());
    let wal = dir.path().join("requests.sqlite3-wal");
    // As an older version left them.
    chmod(&path, 0o644);
    if !wal.exists() {
        fs::write(&wal, "").unwrap();
    }
    chmod(&wal, 0o644);
    let _store = Store::open(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&wal), 0o600);
}
