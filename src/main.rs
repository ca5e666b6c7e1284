//! The `switchyard` binary: parses the command line and calls the library.

// With the tray, Windows runs the binary as a GUI program: no console
// window flashes up at login. Commands typed in a terminal attach to it.
#![cfg_attr(all(windows, feature = "tray"), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    #[cfg(all(windows, feature = "tray"))]
    attach_console();
    switchyard::cli::run()
}

/// Writes to the console of the terminal we were started from, if any (a
/// GUI-subsystem program has none of its own).
#[cfg(all(windows, feature = "tray"))]
fn attach_console() {
    use windows_sys::Win32::System::Console::{ATTACH_PARENT_PROCESS, AttachConsole};
    // SAFETY: AttachConsole takes a process id constant and has no other
    // preconditions; failure (no parent console) leaves us without one.
    unsafe {
        AttachConsole(ATTACH_PARENT_PROCESS);
    }
}
