//! Config safety (issue 9): CLI commands run at once lose no account (the
//! home's write lock serialises every read-modify-write of config.toml and
//! secrets.json), and a corrupt config.toml or secrets.json is reported
//! with its path and line and never overwritten.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::command::{stderr, switchyard};

fn add(home: &Path, label: &str) -> Command {
    let mut command = switchyard(home);
    command
        .args([
            "accounts",
            "add",
            "openai",
            "--label",
            label,
            "--api-key-env",
            "UPSTREAM_KEY",
        ])
        .env("UPSTREAM_KEY", format!("sk-upstream-{label}"));
    command
}

#[test]
fn concurrent_accounts_add_lose_no_account() {
    const N: usize = 16;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    // Started together, as separate processes: each reads, changes and
    // writes both files.
    let children: Vec<_> = (0..N)
        .map(|n| {
            add(home, &format!("parallel-{n:02}"))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let list = switchyard(home).args(["accounts", "list", "--json"]).output().unwrap();
    assert!(list.status.success(), "{}", stderr(&list));
    let list: Value = serde_json::from_slice(&list.stdout).unwrap();
    let mut labels: Vec<String> = list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["label"].as_str().unwrap().to_string())
        .collect();
    labels.sort();
    let expected: Vec<String> = (0..N).map(|n| format!("parallel-{n:02}")).collect();
    assert_eq!(labels, expected, "every account is in config.toml");
    let secrets: Value = serde_json::from_str(&std::fs::read_to_string(home.join("secrets.json")).unwrap()).unwrap();
    for account in list["accounts"].as_array().unwrap() {
        let id = account["id"].as_str().unwrap();
        let label = account["label"].as_str().unwrap();
        assert_eq!(
            secrets[id],
            format!("sk-upstream-{label}"),
            "every secret is in secrets.json"
        );
    }
}

/// A config.toml that is not TOML at all (not just a bad value): the
/// error names the file and the line, and the file stays as it was.
#[test]
fn a_corrupt_config_toml_is_reported_with_path_and_line_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let corrupt = "[proxy]\nport = 8045\n\n[[accounts]\nid = \"acc_1\"\n";
    std::fs::write(home.join("config.toml"), corrupt).unwrap();
    for args in [
        &["accounts", "add", "openai", "--api-key-env", "UPSTREAM_KEY"][..],
        &["accounts", "remove", "acc_1"],
        &["key", "rotate"],
        &["serve", "--port", "18598"],
    ] {
        let output = switchyard(home).args(args).env("UPSTREAM_KEY", "k").output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", stderr(&output));
        let message = stderr(&output);
        let path = home.join("config.toml").display().to_string();
        assert!(message.contains(&path), "{args:?} names the file: {message}");
        assert!(message.contains("line 4"), "{args:?} names the line: {message}");
        assert!(!message.contains("panicked"), "{message}");
        assert_eq!(
            std::fs::read_to_string(home.join("config.toml")).unwrap(),
            corrupt,
            "{args:?}"
        );
    }
}

/// A corrupt secrets.json: reported with its path and line, never
/// overwritten, its secrets never echoed, and config.toml not changed by
/// the failed add.
#[test]
fn a_corrupt_secrets_file_is_reported_with_path_and_line_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let added = add(home, "first").output().unwrap();
    assert!(added.status.success(), "{}", stderr(&added));
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    let corrupt = "{\n  \"acc_x\": \"sk-very-secret-value\",\n  \"acc_y\": \n}\n";
    std::fs::write(home.join("secrets.json"), corrupt).unwrap();
    for args in [
        &[
            "accounts",
            "add",
            "openai",
            "--label",
            "second",
            "--api-key-env",
            "UPSTREAM_KEY",
        ][..],
        &["key", "rotate"],
    ] {
        let output = switchyard(home).args(args).env("UPSTREAM_KEY", "k").output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", stderr(&output));
        let message = stderr(&output);
        let path = home.join("secrets.json").display().to_string();
        assert!(message.contains(&path), "{args:?} names the file: {message}");
        assert!(message.contains("line 4"), "{args:?} names the line: {message}");
        assert!(!message.contains("sk-very-secret-value"), "{message}");
        assert_eq!(std::fs::read_to_string(home.join("secrets.json")).unwrap(), corrupt);
        assert_eq!(std::fs::read_to_string(home.join("config.toml")).unwrap(), config);
    }
}
