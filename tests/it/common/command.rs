//! The `switchyard` binary run by the tests: on a temporary home, with the
//! file secret store, and no log settings inherited from the caller.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The binary cargo built for these tests.
const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

/// `switchyard` on `home` with the file secret store; stdin is empty unless
/// the caller pipes it. Every request to another host than this one goes to
/// a proxy that refuses it: an account added with its provider's default
/// endpoint (whose model list `accounts add` and `serve` fetch) never
/// reaches the internet.
pub fn switchyard(home: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env("SWITCHYARD_HOME", home)
        .env("SWITCHYARD_SECRET_STORE", "file")
        .env("HTTPS_PROXY", super::raw::refused_url())
        .env("HTTP_PROXY", super::raw::refused_url())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env_remove("SWITCHYARD_LOG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    command
}

/// Runs `switchyard ARGS` on `home` to its end.
pub fn run(home: &Path, args: &[&str]) -> Output {
    switchyard(home).args(args).output().unwrap()
}

/// Runs `switchyard ARGS` on `home` with `input` on its stdin.
pub fn run_with_stdin(home: &Path, args: &[&str], input: &str) -> Output {
    let mut child = switchyard(home)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
