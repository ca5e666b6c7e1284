//! `switchyard autostart on|off|status`: launch at login, as the tray's
//! check item sets it.

use super::{AutostartAction, Failure};

/// Turns launch at login on or off, or prints whether it is on.
#[cfg(feature = "tray")]
pub fn run(action: AutostartAction) -> Result<(), Failure> {
    use crate::autostart::{self, Autostart};
    let login = Autostart::for_current_exe().map_err(Failure::runtime)?;
    let place = autostart::location()
        .map(|path| format!(" ({})", path.display()))
        .unwrap_or_default();
    match action {
        AutostartAction::On => {
            login.enable().map_err(Failure::runtime)?;
            println!("Switchyard starts at login{place}");
        }
        AutostartAction::Off => {
            login.disable().map_err(Failure::runtime)?;
            println!("Switchyard no longer starts at login");
        }
        AutostartAction::Status => {
            let on = login.is_enabled().map_err(Failure::runtime)?;
            println!("{}", if on { format!("on{place}") } else { "off".to_string() });
        }
    }
    Ok(())
}

/// Without the tray there is nothing to start at login.
#[cfg(not(feature = "tray"))]
pub fn run(_action: AutostartAction) -> Result<(), Failure> {
    Err(Failure::runtime(
        "this build of Switchyard has no tray (built without the `tray` feature), so there is nothing to start at \
         login. Run the gateway with `switchyard serve`, e.g. from a systemd user unit.",
    ))
}
