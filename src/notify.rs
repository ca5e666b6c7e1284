//! Notices: what the gateway must tell a user who is not watching a
//! terminal — it could not bind, it has no account, every account is
//! cooling down, LAN access was asked with auth off, an edit of
//! config.toml was refused, the keychain is out of reach.
//!
//! A [`Notice`] is plain data with its words; a [`Notifier`] delivers it.
//! The tray shows desktop notifications (`DesktopNotifier`, through the
//! freedesktop notification service, Notification Center or toasts); every
//! notice is also logged, so nothing is lost where no notification daemon
//! runs. No notice ever contains a secret.

use crate::gateway::{BindError, ReloadError, StartError};
use crate::secrets::SecretError;

/// Something the user should know and act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The listener could not be bound; the message names the address, the
    /// cause and what to do.
    BindFailed(String),
    /// Start refused, or a reload left the pool empty.
    NoAccounts,
    /// Every account is cooling down after rate limits.
    AllCooling {
        /// Seconds until the first one is ready again.
        retry_after_secs: u64,
    },
    /// LAN access was asked for while auth is off.
    LanWithoutAuth,
    /// LAN access is on: other devices can reach the gateway on `port`.
    LanOn {
        /// The port they use.
        port: u16,
    },
    /// An edit of config.toml was not applied.
    ConfigRejected(String),
    /// The OS keychain cannot be reached.
    KeychainUnavailable(String),
    /// Anything else that stopped the gateway from starting.
    StartFailed(String),
    /// Launch at login could not be changed.
    Autostart(String),
    /// A tool was pointed at the gateway (`Connect a tool`): what was written.
    Connected(String),
    /// A tool could not be connected: why.
    ConnectFailed(String),
    /// An account's quota for a model fell under 10%.
    QuotaLow {
        /// The account's label (or id).
        account: String,
        /// The model the reading came with.
        model: String,
        /// What is left of the tightest limit, in percent.
        percent_left: u8,
        /// The reading, as `accounts list` shows it.
        detail: String,
    },
    /// An account spent a budget and is out of the pool until `until`.
    BudgetReached {
        /// The account's label (or id).
        account: String,
        /// When its window ends (`2026-12-07 00:00 UTC`).
        until: String,
        /// Which budget.
        reason: String,
    },
    /// An account was disabled because its upstream rejected its credentials.
    AccountRejected {
        /// The account's label (or id).
        account: String,
        /// What the upstream said.
        reason: String,
    },
}

impl Notice {
    /// The notice for a failed start.
    pub fn start_failed(err: &StartError) -> Notice {
        match err {
            StartError::Bind(err) => Notice::BindFailed(bind_message(err)),
            StartError::NoAccounts => Notice::NoAccounts,
            StartError::InsecureLan => Notice::LanWithoutAuth,
            StartError::Config(err) => Notice::ConfigRejected(err.to_string()),
            StartError::Secrets(err) => Notice::secrets(err),
            other => Notice::StartFailed(other.to_string()),
        }
    }

    /// The notice for a reload that was not applied.
    pub fn reload_failed(err: &ReloadError) -> Notice {
        match err {
            ReloadError::Rebind { error, restored } => {
                let mut notice = Notice::start_failed(error);
                let tail = match restored {
                    Some(address) => format!(" Switchyard is back on {address} with its previous settings."),
                    None => " Switchyard is stopped.".to_string(),
                };
                match &mut notice {
                    Notice::BindFailed(text) | Notice::ConfigRejected(text) | Notice::StartFailed(text) => {
                        text.push_str(&tail)
                    }
                    _ => {}
                }
                notice
            }
            ReloadError::Refused(StartError::InsecureLan) => Notice::LanWithoutAuth,
            ReloadError::Secrets(err) => Notice::secrets(err),
            other => Notice::ConfigRejected(other.to_string()),
        }
    }

    /// The notice for a failing secret store.
    pub fn secrets(err: &SecretError) -> Notice {
        match err {
            SecretError::KeychainUnavailable(_) => Notice::KeychainUnavailable(err.to_string()),
            other => Notice::StartFailed(other.to_string()),
        }
    }

    /// A short title.
    pub fn title(&self) -> &'static str {
        match self {
            Notice::BindFailed(_) => "Switchyard cannot listen",
            Notice::NoAccounts => "Switchyard has no accounts",
            Notice::AllCooling { .. } => "Every account is rate limited",
            Notice::LanWithoutAuth => "LAN access needs the API key",
            Notice::LanOn { .. } => "Switchyard is on your network",
            Notice::ConfigRejected(_) => "config.toml was not applied",
            Notice::KeychainUnavailable(_) => "The keychain is not available",
            Notice::StartFailed(_) => "Switchyard could not start",
            Notice::Autostart(_) => "Launch at login was not changed",
            Notice::Connected(_) => "Tool connected",
            Notice::ConnectFailed(_) => "The tool was not connected",
            Notice::QuotaLow { .. } => "An account's quota is nearly spent",
            Notice::BudgetReached { .. } => "An account reached its budget",
            Notice::AccountRejected { .. } => "An account's credentials were rejected",
        }
    }

    /// What happened and what to do next.
    pub fn body(&self) -> String {
        match self {
            Notice::BindFailed(text)
            | Notice::ConfigRejected(text)
            | Notice::KeychainUnavailable(text)
            | Notice::StartFailed(text)
            | Notice::Autostart(text)
            | Notice::Connected(text)
            | Notice::ConnectFailed(text) => text.clone(),
            Notice::NoAccounts => "No accounts available — add an account first: switchyard accounts add PROVIDER \
                                   (e.g. `switchyard accounts add gemini --api-key-env GEMINI_API_KEY`)."
                .to_string(),
            Notice::AllCooling { retry_after_secs } => format!(
                "Every account is cooling down after rate limits; the first is ready again in {retry_after_secs}s. \
                 Requests get 429 until then. `switchyard accounts list` shows each account, or add another account."
            ),
            Notice::LanOn { port } => format!(
                "Other devices reach Switchyard at http://THIS-MACHINE:{port}. Give each its own client key, fenced to \
                 your network: `switchyard keys add NAME --allow-ip 192.168.1.0/24` (one per device, revocable alone). \
                 Keep the gateway key (Copy API key) on this machine: it is the admin key."
            ),
            Notice::QuotaLow {
                account,
                model,
                percent_left,
                detail,
            } => format!(
                "{account} has {percent_left}% left for {model} ({detail}). Calls move to other accounts when it runs \
                 out; `switchyard accounts list` shows what each has left."
            ),
            Notice::BudgetReached { account, until, reason } => format!(
                "{account} is out of the pool until {until}: {reason}. Other accounts and fallbacks serve meanwhile; \
                 raise it under [budgets] in config.toml."
            ),
            Notice::AccountRejected { account, reason } => format!(
                "{account} was taken out of rotation: {reason}. Store a working key for it, then \
                 re-enable it: `switchyard accounts enable ID` (ids in `switchyard accounts list`)."
            ),
            Notice::LanWithoutAuth => "LAN access was not turned on: with auth_mode = \"off\" anyone on your network \
                                       could use your accounts. Set auth_mode = \"auto\" under [proxy] in config.toml, \
                                       then clients need the key (Copy API key)."
                .to_string(),
        }
    }
}

fn bind_message(err: &BindError) -> String {
    let mut text = err.to_string();
    if let Some(first) = text.get(..1) {
        let upper = first.to_uppercase();
        text.replace_range(..1, &upper);
    }
    text
}

/// Delivers notices.
pub trait Notifier: Send + Sync + std::fmt::Debug {
    /// Shows (or records) `notice`. Never blocks for long, never fails.
    fn notify(&self, notice: &Notice);
}

/// Logs notices (for `serve`, and as the fallback everywhere).
#[derive(Debug, Default, Clone, Copy)]
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn notify(&self, notice: &Notice) {
        tracing::warn!("{}: {}", notice.title(), notice.body());
    }
}

/// Desktop notifications (and the log), through notify-rust.
#[cfg(feature = "tray")]
#[derive(Debug, Default, Clone, Copy)]
pub struct DesktopNotifier;

#[cfg(feature = "tray")]
impl Notifier for DesktopNotifier {
    fn notify(&self, notice: &Notice) {
        LogNotifier.notify(notice);
        let title = notice.title().to_string();
        let mut body = notice.body();
        if cfg!(all(unix, not(target_os = "macos"))) {
            // Freedesktop notification servers may read the body as markup.
            body = body.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        }
        // Delivery talks to the notification service over D-Bus (or the OS
        // equivalent) and may block: keep it off the caller's thread.
        std::thread::spawn(move || {
            let shown = notify_rust::Notification::new()
                .appname("Switchyard")
                .summary(&title)
                .body(&body)
                .icon("switchyard")
                .show();
            if let Err(err) = shown {
                tracing::info!(error = %err, "no desktop notification service; the notice is in the log only");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::BindCause;

    #[test]
    fn a_busy_port_names_the_address_the_cause_and_the_way_out() {
        let err = StartError::Bind(BindError {
            addr: "127.0.0.1:8045".parse().unwrap(),
            cause: BindCause::InUse(8045),
        });
        let notice = Notice::start_failed(&err);
        let body = notice.body();
        assert!(matches!(notice, Notice::BindFailed(_)));
        assert!(body.starts_with("Cannot listen on 127.0.0.1:8045"), "{body}");
        assert!(body.contains("port 8045 is already in use"), "{body}");
        assert!(body.contains("port = N"), "{body}");
    }

    #[test]
    fn a_denied_port_says_so() {
        let err = StartError::Bind(BindError {
            addr: "0.0.0.0:80".parse().unwrap(),
            cause: BindCause::PermissionDenied,
        });
        let body = Notice::start_failed(&err).body();
        assert!(
            body.contains("0.0.0.0:80") && body.contains("permission denied"),
            "{body}"
        );
    }

    #[test]
    fn an_empty_pool_names_the_command_that_adds_an_account() {
        let body = Notice::start_failed(&StartError::NoAccounts).body();
        assert!(body.contains("switchyard accounts add"), "{body}");
    }

    #[test]
    fn a_failed_rebind_says_where_the_gateway_is_now() {
        let err = ReloadError::Rebind {
            error: StartError::Bind(BindError {
                addr: "127.0.0.1:9000".parse().unwrap(),
                cause: BindCause::InUse(9000),
            }),
            restored: Some("127.0.0.1:8045".parse().unwrap()),
        };
        let body = Notice::reload_failed(&err).body();
        assert!(body.contains("127.0.0.1:9000"), "{body}");
        assert!(
            body.ends_with("back on 127.0.0.1:8045 with its previous settings."),
            "{body}"
        );
    }

    #[test]
    fn every_notice_says_what_to_do() {
        let notices = [
            Notice::NoAccounts,
            Notice::AllCooling { retry_after_secs: 42 },
            Notice::LanWithoutAuth,
            Notice::secrets(&SecretError::KeychainUnavailable("no Secret Service".into())),
        ];
        for notice in notices {
            let body = notice.body();
            assert!(!notice.title().is_empty());
            assert!(
                ["switchyard ", "auth_mode", "secret_store", "accounts list"]
                    .iter()
                    .any(|hint| body.contains(hint)),
                "{body}"
            );
        }
    }
}
