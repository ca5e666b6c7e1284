//! The test hook: with `SWITCHYARD_TRAY_TEST=1`, menu commands are read
//! from standard input (one action id per line, e.g. `toggle`, `lan`,
//! `copy-key`, `quit`) and each state change is printed on standard output
//! (`state: Running on 127.0.0.1:8045 · 1 account`). The commands take the
//! same path as a click, so a headless test drives the real menu code; the
//! API key itself is never printed.

use std::io::{BufRead, Write};

/// The environment variable that turns the hook on.
pub const ENV: &str = "SWITCHYARD_TRAY_TEST";

/// Whether the hook is on.
pub fn enabled() -> bool {
    std::env::var_os(ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Reads commands from standard input until it closes, handing each action
/// id to `click` (the same path as a menu click); stops early once `click`
/// returns `false` (the event loop is gone).
pub fn spawn(click: impl Fn(String) -> bool + Send + 'static) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let id = line.trim();
            if id.is_empty() {
                continue;
            }
            if !click(id.to_string()) {
                break;
            }
        }
    });
}

/// Prints one line for the test to wait on.
pub fn report(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
