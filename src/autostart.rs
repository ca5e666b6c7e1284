//! Launch at login, through auto-launch: an XDG autostart entry on Linux
//! (`~/.config/autostart/Switchyard.desktop`), a LaunchAgent on macOS, the
//! `Run` registry key on Windows. The tray's check item and
//! `switchyard autostart on|off|status` both come here.
//!
//! auto-launch writes the program path into a command line without quoting
//! it, so a path with spaces (`/home/me/My Apps/switchyard`,
//! `C:\Program Files\...`) would launch nothing: the path is quoted here,
//! the way each platform's command line wants it.

use std::path::{Path, PathBuf};

use auto_launch::{AutoLaunch, AutoLaunchBuilder};

/// The name of the login item (and of the Linux `.desktop` file).
pub const APP_NAME: &str = "Switchyard";

/// Launch at login for one program path.
#[derive(Debug)]
pub struct Autostart {
    inner: AutoLaunch,
}

/// Launch at login could not be read or changed.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} launch at login: {message}")]
pub struct AutostartError {
    /// What was being done: `read`, `turn on`, `turn off`, `set up`.
    pub action: &'static str,
    /// The cause.
    pub message: String,
}

impl Autostart {
    /// Launch at login of the running program (the tray, with no arguments).
    pub fn for_current_exe() -> Result<Autostart, AutostartError> {
        let exe = std::env::current_exe().map_err(|err| AutostartError {
            action: "set up",
            message: format!("cannot tell where this program is ({err})"),
        })?;
        Autostart::for_path(&exe)
    }

    /// Launch at login of the program at `path`.
    pub fn for_path(path: &Path) -> Result<Autostart, AutostartError> {
        let command = launch_path(path);
        let mut builder = AutoLaunchBuilder::new();
        builder.set_app_name(APP_NAME).set_app_path(&command);
        #[cfg(target_os = "macos")]
        builder.set_macos_launch_mode(auto_launch::MacOSLaunchMode::LaunchAgent);
        #[cfg(target_os = "linux")]
        builder.set_linux_launch_mode(auto_launch::LinuxLaunchMode::XdgAutostart);
        // The user's own Run key (HKCU). auto-launch's default tries the
        // machine-wide key (HKLM) first, which an elevated session (and Wine,
        // where everyone is an administrator) can write: every user of the
        // machine would then start this user's tray.
        #[cfg(windows)]
        builder.set_windows_enable_mode(auto_launch::WindowsEnableMode::CurrentUser);
        let inner = builder.build().map_err(|err| AutostartError {
            action: "set up",
            message: err.to_string(),
        })?;
        Ok(Autostart { inner })
    }

    /// Whether the program starts at login.
    pub fn is_enabled(&self) -> Result<bool, AutostartError> {
        self.inner.is_enabled().map_err(|err| AutostartError {
            action: "read",
            message: err.to_string(),
        })
    }

    /// Starts the program at login from now on.
    pub fn enable(&self) -> Result<(), AutostartError> {
        self.inner.enable().map_err(|err| AutostartError {
            action: "turn on",
            message: err.to_string(),
        })
    }

    /// No longer starts the program at login.
    pub fn disable(&self) -> Result<(), AutostartError> {
        self.inner.disable().map_err(|err| AutostartError {
            action: "turn off",
            message: err.to_string(),
        })
    }

    /// Turns it on or off.
    pub fn set(&self, on: bool) -> Result<(), AutostartError> {
        if on { self.enable() } else { self.disable() }
    }
}

/// Where the login item lives, for messages (`None` where it is a registry value).
pub fn location() -> Option<PathBuf> {
    if cfg!(target_os = "linux") {
        dirs::home_dir().map(|home| home.join(".config/autostart").join(format!("{APP_NAME}.desktop")))
    } else if cfg!(target_os = "macos") {
        dirs::home_dir().map(|home| home.join("Library/LaunchAgents").join(format!("{APP_NAME}.plist")))
    } else {
        None
    }
}

/// The program path as this platform's login-item command line needs it.
fn launch_path(path: &Path) -> String {
    launch_path_for(std::env::consts::OS, &path.to_string_lossy())
}

/// The program path as the login-item command line of `os` (a
/// `std::env::consts::OS` value) needs it.
fn launch_path_for(os: &str, path: &str) -> String {
    match os {
        "linux" => desktop_exec(path),
        // The Run value is a command line: quoted, `C:\Program Files\...`
        // is one program and not `C:\Program` with arguments. A Windows
        // path cannot contain `"`.
        "windows" => format!("\"{path}\""),
        // The LaunchAgent is an XML plist with the path as one
        // ProgramArguments string: spaces are fine, markup is not.
        "macos" => path.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;"),
        _ => path.to_string(),
    }
}

/// `path` as the program of a Desktop Entry `Exec=` key: quoted when it
/// holds a reserved character, with `"`, `` ` ``, `$` and `\` escaped
/// inside the quotes, then backslashes doubled and `%` doubled for the
/// key's own string and field-code rules (Desktop Entry Specification,
/// "The Exec key").
fn desktop_exec(path: &str) -> String {
    const RESERVED: &[char] = &[
        ' ', '\t', '\n', '"', '\'', '\\', '>', '<', '~', '|', '&', ';', '$', '*', '?', '#', '(', ')', '`',
    ];
    let quoted = if path.contains(RESERVED) {
        let mut out = String::from("\"");
        for c in path.chars() {
            if matches!(c, '"' | '`' | '$' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    } else {
        path.to_string()
    };
    quoted.replace('\\', "\\\\").replace('%', "%%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_run_values_quote_the_program() {
        assert_eq!(
            launch_path_for("windows", r"C:\Program Files\Switchyard\switchyard.exe"),
            r#""C:\Program Files\Switchyard\switchyard.exe""#
        );
    }

    #[test]
    fn macos_launch_agents_escape_markup_only() {
        assert_eq!(
            launch_path_for("macos", "/Applications/A & B <x>.app/Contents/MacOS/switchyard"),
            "/Applications/A &amp; B &lt;x&gt;.app/Contents/MacOS/switchyard"
        );
    }

    #[test]
    fn linux_uses_the_desktop_entry_rules() {
        assert_eq!(
            launch_path_for("linux", "/home/me/My Apps/switchyard"),
            desktop_exec("/home/me/My Apps/switchyard")
        );
    }

    #[test]
    fn plain_paths_are_left_alone() {
        assert_eq!(desktop_exec("/usr/bin/switchyard"), "/usr/bin/switchyard");
    }

    #[test]
    fn paths_with_spaces_are_quoted() {
        assert_eq!(
            desktop_exec("/home/me/My Apps/switchyard"),
            "\"/home/me/My Apps/switchyard\""
        );
    }

    #[test]
    fn quotes_dollars_backslashes_and_percents_survive_both_escaping_rules() {
        // `$` becomes `\$` inside the quotes; the string rule then doubles
        // the backslash, so the file holds `\\$`.
        assert_eq!(desktop_exec("/opt/a$b/s"), "\"/opt/a\\\\$b/s\"");
        assert_eq!(desktop_exec("/opt/say \"hi\"/s"), "\"/opt/say \\\\\"hi\\\\\"/s\"");
        assert_eq!(desktop_exec("/opt/100%/s"), "/opt/100%%/s");
    }
}
