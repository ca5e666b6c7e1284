//! Can a tray run here? Asked before any GUI code runs, because the GUI
//! crates panic where the answer is no: tao when there is no display,
//! tray-icon when the appindicator library cannot be loaded.

/// Why the tray cannot run here.
#[derive(Debug, thiserror::Error)]
pub enum TrayError {
    /// No display to connect to.
    #[error("no display: the tray needs a desktop session ({0}). Run the gateway headless instead: `switchyard serve`")]
    NoDisplay(String),
    /// No appindicator library, so no tray icon.
    #[error(
        "no tray support: neither libayatana-appindicator3 nor libappindicator3 is installed (on Debian/Ubuntu: \
         `sudo apt install libayatana-appindicator3-1`). Run the gateway headless instead: `switchyard serve`"
    )]
    NoTrayLibrary,
    /// The tray icon could not be created.
    #[error("cannot create the tray icon ({0}). Run the gateway headless instead: `switchyard serve`")]
    Icon(String),
    /// The runtime for the gateway could not be built.
    #[error("cannot start the gateway's runtime: {0}")]
    Runtime(String),
}

/// Checks that a tray can be shown.
pub fn check() -> Result<(), TrayError> {
    #[cfg(target_os = "linux")]
    {
        if !appindicator_available() {
            return Err(TrayError::NoTrayLibrary);
        }
        gtk::init().map_err(|err| {
            let display = std::env::var("DISPLAY").unwrap_or_default();
            let wayland = std::env::var("WAYLAND_DISPLAY").unwrap_or_default();
            let why = if display.is_empty() && wayland.is_empty() {
                "neither DISPLAY nor WAYLAND_DISPLAY is set".to_string()
            } else {
                format!("{err}")
            };
            TrayError::NoDisplay(why)
        })?;
    }
    Ok(())
}

/// Whether one of the libraries tray-icon loads at run time is present
/// (the same names, in the same order, as libappindicator-sys tries).
#[cfg(target_os = "linux")]
fn appindicator_available() -> bool {
    [
        "libayatana-appindicator3.so.1",
        "libappindicator3.so.1",
        "libayatana-appindicator3.so",
        "libappindicator3.so",
    ]
    .iter()
    // SAFETY: loading these libraries runs no code of ours; they are the
    // ones tray-icon itself loads next, and the handle is closed at once.
    .any(|name| unsafe { libloading::Library::new(name) }.is_ok())
}
