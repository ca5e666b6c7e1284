//! The tray menu as plain data: the gateway's state in, the entries (labels,
//! checks, what is clickable) and the icon out. Pure, so every state and
//! transition is unit-tested without a display; `menu.rs` turns it into
//! native menu items.

use crate::connect::Tool;
use crate::control::{Phase, Snapshot};

/// What a menu entry does when clicked. The id is what the test hook
/// (`SWITCHYARD_TRAY_TEST`) reads on standard input, too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Start or Stop, following the state.
    Toggle,
    /// Copy `http://127.0.0.1:PORT/v1`.
    CopyOpenAiUrl,
    /// Copy `http://127.0.0.1:PORT`.
    CopyRootUrl,
    /// Copy the gateway's API key.
    CopyKey,
    /// Toggle LAN access.
    Lan,
    /// Toggle launch at login.
    Autostart,
    /// Open the dashboard (`/ui`) in the browser.
    OpenDashboard,
    /// Open the folder holding config.toml.
    OpenConfig,
    /// Switch to the `file` secret store (offered when the keychain is out of reach).
    UseFileStore,
    /// Point a tool at the gateway (`switchyard connect TOOL`).
    Connect(Tool),
    /// Stop the gateway and leave.
    Quit,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 17] = [
        Action::Toggle,
        Action::CopyOpenAiUrl,
        Action::CopyRootUrl,
        Action::CopyKey,
        Action::Lan,
        Action::Autostart,
        Action::OpenDashboard,
        Action::OpenConfig,
        Action::UseFileStore,
        Action::Connect(Tool::ClaudeCode),
        Action::Connect(Tool::Codex),
        Action::Connect(Tool::GeminiCli),
        Action::Connect(Tool::OpenCode),
        Action::Connect(Tool::QwenCode),
        Action::Connect(Tool::Aider),
        Action::Connect(Tool::Llm),
        Action::Quit,
    ];

    /// The menu item id.
    pub fn id(self) -> &'static str {
        match self {
            Action::Toggle => "toggle",
            Action::CopyOpenAiUrl => "copy-url-openai",
            Action::CopyRootUrl => "copy-url-root",
            Action::CopyKey => "copy-key",
            Action::Lan => "lan",
            Action::Autostart => "autostart",
            Action::OpenDashboard => "open-dashboard",
            Action::OpenConfig => "open-config",
            Action::UseFileStore => "use-file-store",
            Action::Connect(tool) => match tool {
                Tool::ClaudeCode => "connect-claude-code",
                Tool::Codex => "connect-codex",
                Tool::GeminiCli => "connect-gemini-cli",
                Tool::OpenCode => "connect-opencode",
                Tool::QwenCode => "connect-qwen-code",
                Tool::Aider => "connect-aider",
                Tool::Llm => "connect-llm",
            },
            Action::Quit => "quit",
        }
    }

    /// The action with this id.
    pub fn from_id(id: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|action| action.id() == id)
    }
}

/// One entry of the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A line of text that cannot be clicked (the status line).
    Text(String),
    /// A clickable item.
    Item {
        /// What it does.
        action: Action,
        /// Its label.
        label: String,
        /// Whether it can be clicked now.
        enabled: bool,
    },
    /// An item with a check mark.
    Check {
        /// What it does.
        action: Action,
        /// Its label.
        label: String,
        /// Whether it is checked.
        checked: bool,
        /// Whether it can be clicked now.
        enabled: bool,
    },
    /// A submenu.
    Submenu {
        /// Its label.
        label: String,
        /// Its entries.
        entries: Vec<Entry>,
    },
    /// A line between groups.
    Separator,
}

/// Which icon the tray shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icon {
    /// Serving.
    Running,
    /// Not serving (also while starting or stopping).
    Stopped,
    /// The last start failed.
    Error,
}

/// The whole menu and icon for one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    /// The entries, top to bottom.
    pub entries: Vec<Entry>,
    /// The icon.
    pub icon: Icon,
    /// The tooltip (where the platform shows one).
    pub tooltip: String,
}

/// What the tray shows: the gateway's state and launch at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayState {
    /// The gateway, as the controller reports it.
    pub gateway: Snapshot,
    /// Launch at login: `None` when it cannot be read on this system.
    pub autostart: Option<bool>,
}

impl Menu {
    /// The menu for `state`.
    pub fn for_state(state: &TrayState) -> Menu {
        let snapshot = &state.gateway;
        let status = status_line(&snapshot.phase);
        let busy = matches!(snapshot.phase, Phase::Starting | Phase::Stopping);
        let running = matches!(snapshot.phase, Phase::Running { .. });
        let (toggle, toggle_enabled) = match snapshot.phase {
            Phase::Stopped | Phase::Failed(_) => ("Start", true),
            Phase::Starting => ("Starting…", false),
            Phase::Running { .. } => ("Stop", true),
            Phase::Stopping => ("Stopping…", false),
        };
        let icon = match snapshot.phase {
            Phase::Running { .. } => Icon::Running,
            Phase::Failed(_) => Icon::Error,
            _ => Icon::Stopped,
        };
        let base = snapshot.base_url();
        let mut entries = vec![
            Entry::Item {
                action: Action::Toggle,
                label: toggle.into(),
                enabled: toggle_enabled,
            },
            Entry::Text(status.clone()),
            Entry::Separator,
            Entry::Submenu {
                label: "Copy base URL".into(),
                entries: vec![
                    Entry::Item {
                        action: Action::CopyOpenAiUrl,
                        label: format!("OpenAI SDKs: {base}/v1"),
                        enabled: true,
                    },
                    Entry::Item {
                        action: Action::CopyRootUrl,
                        label: format!("Anthropic and Gemini SDKs: {base}"),
                        enabled: true,
                    },
                ],
            },
            Entry::Item {
                action: Action::CopyKey,
                label: "Copy API key".into(),
                enabled: !snapshot.keychain_unavailable,
            },
            Entry::Item {
                action: Action::OpenDashboard,
                label: "Open dashboard".into(),
                enabled: running,
            },
            Entry::Submenu {
                label: "Accounts".into(),
                entries: if snapshot.accounts.is_empty() {
                    vec![Entry::Text("No account is serving".into())]
                } else {
                    snapshot.accounts.iter().map(|line| Entry::Text(line.clone())).collect()
                },
            },
            Entry::Separator,
            Entry::Check {
                action: Action::Lan,
                label: "Allow LAN access".into(),
                checked: snapshot.lan,
                enabled: !busy,
            },
            Entry::Check {
                action: Action::Autostart,
                label: "Launch at login".into(),
                checked: state.autostart.unwrap_or(false),
                enabled: state.autostart.is_some(),
            },
            Entry::Item {
                action: Action::OpenConfig,
                label: "Open config folder".into(),
                enabled: true,
            },
            Entry::Submenu {
                label: "Connect a tool".into(),
                entries: Tool::ALL
                    .into_iter()
                    .map(|tool| Entry::Check {
                        action: Action::Connect(tool),
                        label: tool.title().into(),
                        checked: snapshot.connected.contains(&tool),
                        enabled: true,
                    })
                    .collect(),
            },
        ];
        if snapshot.keychain_unavailable {
            entries.push(Entry::Item {
                action: Action::UseFileStore,
                label: "Keep secrets in a file instead of the keychain".into(),
                enabled: true,
            });
        }
        entries.push(Entry::Separator);
        entries.push(Entry::Item {
            action: Action::Quit,
            label: "Quit".into(),
            enabled: true,
        });
        Menu {
            entries,
            icon,
            tooltip: format!("Switchyard — {status}"),
        }
    }

    /// The entry for `action`, searching submenus.
    pub fn find(&self, action: Action) -> Option<&Entry> {
        fn search(entries: &[Entry], action: Action) -> Option<&Entry> {
            entries.iter().find_map(|entry| match entry {
                Entry::Item { action: a, .. } | Entry::Check { action: a, .. } if *a == action => Some(entry),
                Entry::Submenu { entries, .. } => search(entries, action),
                _ => None,
            })
        }
        search(&self.entries, action)
    }

    /// The status line.
    pub fn status(&self) -> &str {
        self.entries
            .iter()
            .find_map(|entry| match entry {
                Entry::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The entries' shape (kinds and actions, not labels or checks): when it
    /// changes, the native menu is rebuilt; otherwise it is updated in place.
    pub fn shape(&self) -> Vec<String> {
        fn walk(entries: &[Entry], out: &mut Vec<String>) {
            for entry in entries {
                match entry {
                    Entry::Text(_) => out.push("text".into()),
                    Entry::Item { action, .. } => out.push(format!("item:{}", action.id())),
                    Entry::Check { action, .. } => out.push(format!("check:{}", action.id())),
                    Entry::Separator => out.push("separator".into()),
                    Entry::Submenu { entries, .. } => {
                        out.push("submenu".into());
                        walk(entries, out);
                        out.push("end".into());
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.entries, &mut out);
        out
    }
}

/// `Running on 127.0.0.1:8045 · 3 accounts`, `Stopped`, `Error: port 8045 in use`.
pub fn status_line(phase: &Phase) -> String {
    match phase {
        Phase::Stopped => "Stopped".into(),
        Phase::Starting => "Starting…".into(),
        Phase::Running { address, accounts } => {
            let plural = if *accounts == 1 { "" } else { "s" };
            format!("Running on {address} · {accounts} account{plural}")
        }
        Phase::Stopping => "Stopping…".into(),
        Phase::Failed(reason) => format!("Error: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(phase: Phase) -> TrayState {
        TrayState {
            gateway: Snapshot {
                phase,
                port: 8045,
                lan: false,
                keychain_unavailable: false,
                connected: vec![Tool::Codex],
                accounts: Vec::new(),
            },
            autostart: Some(false),
        }
    }

    fn running(accounts: usize) -> Phase {
        Phase::Running {
            address: "127.0.0.1:8045".parse().unwrap(),
            accounts,
        }
    }

    fn item(menu: &Menu, action: Action) -> (String, bool) {
        match menu.find(action) {
            Some(Entry::Item { label, enabled, .. }) => (label.clone(), *enabled),
            other => panic!("{action:?} is not an item: {other:?}"),
        }
    }

    fn check(menu: &Menu, action: Action) -> (bool, bool) {
        match menu.find(action) {
            Some(Entry::Check { checked, enabled, .. }) => (*checked, *enabled),
            other => panic!("{action:?} is not a check item: {other:?}"),
        }
    }

    #[test]
    fn connect_a_tool_lists_every_tool_and_checks_the_connected() {
        let menu = Menu::for_state(&state(Phase::Stopped));
        let submenu = menu
            .entries
            .iter()
            .find_map(|entry| match entry {
                Entry::Submenu { label, entries } if label == "Connect a tool" => Some(entries),
                _ => None,
            })
            .expect("a Connect a tool submenu");
        assert_eq!(submenu.len(), Tool::ALL.len());
        assert_eq!(check(&menu, Action::Connect(Tool::Codex)), (true, true));
        assert_eq!(check(&menu, Action::Connect(Tool::ClaudeCode)), (false, true));
        assert_eq!(
            Action::from_id("connect-gemini-cli"),
            Some(Action::Connect(Tool::GeminiCli))
        );
    }

    #[test]
    fn stopped() {
        let menu = Menu::for_state(&state(Phase::Stopped));
        assert_eq!(item(&menu, Action::Toggle), ("Start".into(), true));
        assert_eq!(menu.status(), "Stopped");
        assert_eq!(menu.icon, Icon::Stopped);
        assert_eq!(menu.tooltip, "Switchyard — Stopped");
    }

    #[test]
    fn running_names_the_address_and_the_accounts() {
        let menu = Menu::for_state(&state(running(3)));
        assert_eq!(item(&menu, Action::Toggle), ("Stop".into(), true));
        assert_eq!(menu.status(), "Running on 127.0.0.1:8045 · 3 accounts");
        assert_eq!(menu.icon, Icon::Running);
        let one = Menu::for_state(&state(running(1)));
        assert_eq!(one.status(), "Running on 127.0.0.1:8045 · 1 account");
    }

    #[test]
    fn the_dashboard_opens_only_while_running() {
        assert_eq!(
            item(&Menu::for_state(&state(running(1))), Action::OpenDashboard),
            ("Open dashboard".into(), true)
        );
        assert!(!item(&Menu::for_state(&state(Phase::Stopped)), Action::OpenDashboard).1);
    }

    #[test]
    fn a_failed_start_shows_the_error_and_offers_to_retry() {
        let menu = Menu::for_state(&state(Phase::Failed("port 8045 in use".into())));
        assert_eq!(menu.status(), "Error: port 8045 in use");
        assert_eq!(menu.icon, Icon::Error);
        assert_eq!(item(&menu, Action::Toggle), ("Start".into(), true));
    }

    #[test]
    fn nothing_toggles_while_starting_or_stopping() {
        for (phase, label) in [(Phase::Starting, "Starting…"), (Phase::Stopping, "Stopping…")] {
            let menu = Menu::for_state(&state(phase));
            assert_eq!(item(&menu, Action::Toggle), (label.into(), false));
            assert_eq!(
                check(&menu, Action::Lan),
                (false, false),
                "LAN cannot flip mid-transition"
            );
            assert_eq!(menu.status(), label);
            assert_eq!(menu.icon, Icon::Stopped);
        }
    }

    #[test]
    fn the_base_urls_follow_the_port() {
        let mut s = state(Phase::Running {
            address: "0.0.0.0:9000".parse().unwrap(),
            accounts: 2,
        });
        s.gateway.port = 9000;
        s.gateway.lan = true;
        let menu = Menu::for_state(&s);
        assert_eq!(
            item(&menu, Action::CopyOpenAiUrl).0,
            "OpenAI SDKs: http://127.0.0.1:9000/v1"
        );
        assert_eq!(
            item(&menu, Action::CopyRootUrl).0,
            "Anthropic and Gemini SDKs: http://127.0.0.1:9000"
        );
        assert_eq!(check(&menu, Action::Lan), (true, true));
        assert_eq!(menu.status(), "Running on 0.0.0.0:9000 · 2 accounts");
    }

    #[test]
    fn launch_at_login_follows_the_system_and_greys_out_when_unknown() {
        let mut s = state(Phase::Stopped);
        s.autostart = Some(true);
        assert_eq!(check(&Menu::for_state(&s), Action::Autostart), (true, true));
        s.autostart = None;
        assert_eq!(check(&Menu::for_state(&s), Action::Autostart), (false, false));
    }

    #[test]
    fn an_unreachable_keychain_offers_the_file_store() {
        let mut s = state(Phase::Failed("keychain unavailable".into()));
        assert!(Menu::for_state(&s).find(Action::UseFileStore).is_none());
        s.gateway.keychain_unavailable = true;
        let menu = Menu::for_state(&s);
        assert_eq!(
            item(&menu, Action::UseFileStore),
            ("Keep secrets in a file instead of the keychain".into(), true)
        );
        assert!(!item(&menu, Action::CopyKey).1, "no key to copy without a store");
        assert_ne!(
            menu.shape(),
            Menu::for_state(&state(Phase::Stopped)).shape(),
            "the extra item rebuilds the menu"
        );
    }

    #[test]
    fn the_menu_has_every_item_the_issue_names_in_order() {
        let menu = Menu::for_state(&state(Phase::Stopped));
        assert_eq!(
            menu.shape(),
            [
                "item:toggle",
                "text",
                "separator",
                "submenu",
                "item:copy-url-openai",
                "item:copy-url-root",
                "end",
                "item:copy-key",
                "item:open-dashboard",
                "submenu",
                "text",
                "end",
                "separator",
                "check:lan",
                "check:autostart",
                "item:open-config",
                "submenu",
                "check:connect-claude-code",
                "check:connect-codex",
                "check:connect-gemini-cli",
                "check:connect-opencode",
                "check:connect-qwen-code",
                "check:connect-aider",
                "check:connect-llm",
                "end",
                "separator",
                "item:quit",
            ]
        );
    }

    #[test]
    fn a_state_change_keeps_the_shape_so_items_update_in_place() {
        let shapes: Vec<Vec<String>> = [
            Phase::Stopped,
            Phase::Starting,
            running(2),
            Phase::Stopping,
            Phase::Failed("x".into()),
        ]
        .into_iter()
        .map(|phase| Menu::for_state(&state(phase)).shape())
        .collect();
        assert!(shapes.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn the_accounts_submenu_has_a_line_per_account() {
        let mut serving = state(running(2));
        serving.gateway.accounts = vec!["work — ready · gpt-4o: requests 8/100".into(), "home — cooling".into()];
        let menu = Menu::for_state(&serving);
        let lines = menu
            .entries
            .iter()
            .find_map(|entry| match entry {
                Entry::Submenu { label, entries } if label == "Accounts" => Some(entries.clone()),
                _ => None,
            })
            .expect("an Accounts submenu");
        assert_eq!(
            lines,
            [
                Entry::Text("work — ready · gpt-4o: requests 8/100".into()),
                Entry::Text("home — cooling".into())
            ]
        );
        assert_ne!(
            menu.shape(),
            Menu::for_state(&state(running(2))).shape(),
            "a new account rebuilds the menu"
        );
    }

    #[test]
    fn action_ids_round_trip() {
        for action in Action::ALL {
            assert_eq!(Action::from_id(action.id()), Some(action));
        }
        assert_eq!(Action::from_id("nonsense"), None);
    }
}
