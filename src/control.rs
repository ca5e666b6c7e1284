//! Driving a [`Gateway`] from a user interface: commands in, state and
//! notices out.
//!
//! The tray's GUI thread must never wait for the network, the keychain or a
//! draining listener, so the gateway lives on a tokio task that owns it: the
//! GUI sends [`Command`]s and gets [`Update`]s back through a [`Sink`] (the
//! tray's event-loop proxy). Edits of config.toml — from the menu, the CLI or
//! an editor — reach the same task through the [`ConfigWatcher`] and apply
//! live. Nothing here knows about menus or icons, so all of it is tested
//! without a display.
//!
//! `switchyard serve` drives the same task: the log is its notifier, its
//! sink needs no GUI, and it asks for the start with [`Remote::start`] to
//! print the banner, or the reason, itself.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::config::ConfigError;
use crate::config::{self, AuthMode, Config, SecretStoreKind};
use crate::gateway::{BindCause, DEFAULT_GRACE, Gateway, Overrides, Reloaded, StartError, Status};
use crate::home::Home;
use crate::notify::{Notice, Notifier};
use crate::pool::{AccountState, AccountStatus};
use crate::secrets::{self, SecretError, SecretStore};
use crate::watch::ConfigWatcher;

/// How often a running gateway's accounts are looked at for "every account
/// is cooling down".
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(3);

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Start the gateway.
    Start,
    /// Stop it (in-flight requests get a grace period).
    Stop,
    /// Turn LAN access on or off (edits config.toml, then rebinds).
    SetLan(bool),
    /// Read config.toml again and apply it.
    Reload,
    /// Fetch the gateway's API key for the clipboard.
    CopyKey,
    /// Fetch the gateway's API key to open the dashboard with it.
    OpenDashboard,
    /// Keep secrets in `secrets.json` from now on (when the keychain is out of reach).
    UseFileStore,
    /// Point a tool at this gateway (`switchyard connect TOOL`) and say how it went.
    Connect(crate::connect::Tool),
    /// Stop the gateway and end the task.
    Quit,
}

/// Where the gateway is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Not serving.
    Stopped,
    /// Binding and reading secrets.
    Starting,
    /// Serving.
    Running {
        /// The bound address.
        address: SocketAddr,
        /// Active accounts.
        accounts: usize,
    },
    /// Closing the listener and draining.
    Stopping,
    /// The last start (or rebind) failed; a short reason (`port 8045 in use`).
    Failed(String),
}

/// Everything a user interface shows about the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Where the gateway is.
    pub phase: Phase,
    /// The port clients use (the bound one when running, else the configured one).
    pub port: u16,
    /// LAN access as config.toml has it.
    pub lan: bool,
    /// The keychain is out of reach and the `file` store is not chosen:
    /// the interface offers to switch.
    pub keychain_unavailable: bool,
    /// The tools `switchyard connect` has configured on this home.
    pub connected: Vec<crate::connect::Tool>,
    /// One line per account of the running gateway: its state and what
    /// its quota has left (the tray's Accounts submenu).
    pub accounts: Vec<String>,
}

impl Snapshot {
    /// `http://127.0.0.1:PORT`: the root Anthropic and Gemini SDKs take
    /// (OpenAI SDKs add `/v1`).
    pub fn base_url(&self) -> String {
        crate::config::local_base_url(self.port)
    }
}

/// The gateway key, on its way to the clipboard. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(pub String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

/// What the task tells the interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The state changed.
    State(Snapshot),
    /// The key asked for with [`Command::CopyKey`].
    ApiKey(ApiKey),
    /// The key asked for with [`Command::OpenDashboard`]: the interface
    /// opens `/ui` with it in the URL's fragment (never the query, which
    /// would reach the server's and the browser's logs).
    DashboardKey(ApiKey),
    /// The task ended after [`Command::Quit`].
    Exited,
}

/// The interface's end of the updates.
pub trait Sink: Send + Sync + 'static {
    /// Called from the task for every update; must not block.
    fn update(&self, update: Update);
}

/// Opens the secret store a configuration selects (injected, so that tests
/// never touch the OS keychain).
pub type StoreOpener = Arc<dyn Fn(&Home, &Config) -> Result<Arc<dyn SecretStore>, SecretError> + Send + Sync>;

/// The platform's stores, as `switchyard serve` opens them.
pub fn platform_stores() -> StoreOpener {
    Arc::new(|home: &Home, config: &Config| secrets::open(home, config))
}

/// How the task begins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Launch {
    /// Read config.toml at once, show the secret store's state, and start
    /// when `auto_start = true` (the tray).
    #[default]
    AsConfigured,
    /// Touch nothing until the driver asks with [`Remote::start`], which
    /// hands it what failed (`switchyard serve` prints it and exits).
    OnRequest,
}

/// What a driver chooses besides its notifier and its sink.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// How the task begins.
    pub launch: Launch,
    /// Command-line overrides of `[proxy]` (`serve --port`, `--lan`, ...).
    pub overrides: Overrides,
}

/// What reaches the task: a command, or a start whose outcome someone awaits.
#[derive(Debug)]
enum Message {
    Command(Command),
    Start(oneshot::Sender<Result<Status, StartError>>),
}

/// Sends commands to a running [`Controller`].
#[derive(Debug, Clone)]
pub struct Remote {
    messages: mpsc::UnboundedSender<Message>,
}

impl Remote {
    /// Queues `command`; ignored once the task has ended.
    pub fn send(&self, command: Command) {
        let _ = self.messages.send(Message::Command(command));
    }

    /// Starts the gateway and waits for the outcome: its status, or the
    /// error itself. Unlike [`Command::Start`], a failure is handed to the
    /// caller instead of the notifier (the states are reported as usual).
    pub async fn start(&self) -> Result<Status, StartError> {
        let (reply, outcome) = oneshot::channel();
        let ended = || StartError::Internal("the controller has ended".into());
        self.messages.send(Message::Start(reply)).map_err(|_| ended())?;
        outcome.await.map_err(|_| ended())?
    }
}

/// The task that owns the gateway.
pub struct Controller {
    home: Home,
    opener: StoreOpener,
    notifier: Arc<dyn Notifier>,
    sink: Arc<dyn Sink>,
    /// `None` while the selected secret store cannot be opened.
    gateway: Option<Gateway>,
    store_kind: Option<SecretStoreKind>,
    /// Handed to every gateway it makes.
    overrides: Overrides,
    snapshot: Snapshot,
    /// Whether the last look found every account cooling (notify on the edge only).
    all_cooling: bool,
    /// Quota, budget and credential crossings already notified.
    alerts: crate::alerts::Alerts,
    grace: Duration,
}

impl Controller {
    /// Starts the task on `runtime`: opens the secret store, watches
    /// config.toml, and starts the gateway at once when `auto_start = true`.
    pub fn spawn(
        runtime: &tokio::runtime::Handle,
        home: Home,
        opener: StoreOpener,
        notifier: Arc<dyn Notifier>,
        sink: Arc<dyn Sink>,
    ) -> Remote {
        Controller::spawn_with(runtime, home, opener, notifier, sink, Options::default())
    }

    /// [`Controller::spawn`], beginning as `options` say.
    pub fn spawn_with(
        runtime: &tokio::runtime::Handle,
        home: Home,
        opener: StoreOpener,
        notifier: Arc<dyn Notifier>,
        sink: Arc<dyn Sink>,
        options: Options,
    ) -> Remote {
        let (tx, rx) = mpsc::unbounded_channel();
        let remote = Remote { messages: tx };
        let controller = Controller {
            home,
            opener,
            notifier,
            sink,
            gateway: None,
            store_kind: None,
            overrides: options.overrides,
            snapshot: Snapshot {
                phase: Phase::Stopped,
                port: crate::config::DEFAULT_PORT,
                lan: false,
                keychain_unavailable: false,
                connected: Vec::new(),
                accounts: Vec::new(),
            },
            all_cooling: false,
            alerts: crate::alerts::Alerts::default(),
            grace: DEFAULT_GRACE,
        };
        runtime.spawn(controller.run(options.launch, remote.clone(), rx));
        remote
    }

    async fn run(mut self, launch: Launch, remote: Remote, mut messages: mpsc::UnboundedReceiver<Message>) {
        let watcher = {
            let remote = remote.clone();
            ConfigWatcher::start(&self.home, move || remote.send(Command::Reload))
        };
        let _watcher = match watcher {
            Ok(watcher) => Some(watcher),
            Err(err) => {
                tracing::warn!("{err}");
                None
            }
        };
        if launch == Launch::AsConfigured {
            self.launch().await;
        }
        let mut health = tokio::time::interval(HEALTH_INTERVAL);
        health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = messages.recv() => match message {
                    None | Some(Message::Command(Command::Quit)) => break,
                    Some(Message::Command(command)) => self.handle(command).await,
                    Some(Message::Start(reply)) => {
                        let outcome = self.try_start().await;
                        self.publish();
                        let _ = reply.send(outcome);
                    }
                },
                _ = health.tick() => self.watch_health(),
            }
        }
        if let Some(gateway) = &mut self.gateway {
            gateway.stop(self.grace).await;
        }
        self.sink.update(Update::Exited);
    }

    /// Connects `tool` off the task's thread (files and `keys.json`; a
    /// running gateway applies the new key by watching that file), then
    /// notifies and republishes which tools are connected.
    async fn connect(&mut self, tool: crate::connect::Tool) {
        use crate::connect::engine::{self, Request};
        let home = self.home.clone();
        let port = self.snapshot.port;
        let config = self.read().unwrap_or_default();
        let outcome = tokio::task::spawn_blocking(move || {
            let dirs = crate::connect::ToolDirs::from_env().ok_or_else(|| "HOME is not set".to_string())?;
            let request = Request {
                tool,
                model: crate::connect::model_for(&home, tool, &config, None),
                admin_key: None,
                dry_run: false,
                port,
            };
            engine::connect(&home, &dirs, &request).map_err(|err| err.to_string())
        })
        .await
        .unwrap_or_else(|err| Err(err.to_string()));
        self.notifier.notify(&match outcome {
            Ok(outcome) => Notice::Connected(outcome.messages.join(" ")),
            Err(message) => Notice::ConnectFailed(message),
        });
        self.refresh_connected();
        self.publish();
    }

    /// Reads which tools are connected (a small file in the home).
    fn refresh_connected(&mut self) {
        self.snapshot.connected = crate::connect::engine::connected(&self.home)
            .into_iter()
            .map(|(tool, _)| tool)
            .collect();
    }

    /// Shows the secret store's state and starts when `auto_start = true`.
    async fn launch(&mut self) {
        self.refresh_connected();
        let auto_start = match self.load() {
            Some(config) => {
                self.open_store_or_notify(&config);
                config.proxy.auto_start
            }
            None => false,
        };
        self.publish();
        if auto_start {
            self.start().await;
        }
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Start => self.start().await,
            Command::Stop => self.stop().await,
            Command::SetLan(on) => self.set_lan(on).await,
            Command::Reload => self.reload().await,
            Command::CopyKey => {
                if let Some(key) = self.read_key().await {
                    self.sink.update(Update::ApiKey(key));
                }
            }
            Command::OpenDashboard => {
                if let Some(key) = self.read_key().await {
                    self.sink.update(Update::DashboardKey(key));
                }
            }
            Command::UseFileStore => self.use_file_store().await,
            Command::Connect(tool) => self.connect(tool).await,
            Command::Quit => {}
        }
    }

    /// Reads config.toml (made first when missing).
    fn read(&self) -> Result<Config, ConfigError> {
        config::init(&self.home).and_then(|()| Config::load(&self.home))
    }

    /// Reads config.toml; a broken file is reported and `None`.
    fn load(&mut self) -> Option<Config> {
        self.read()
            .inspect_err(|err| self.notifier.notify(&Notice::ConfigRejected(err.to_string())))
            .ok()
    }

    /// [`Controller::open_store`], a failure notified.
    fn open_store_or_notify(&mut self, config: &Config) {
        if let Err(err) = self.open_store(config) {
            self.notifier.notify(&Notice::secrets(&err));
        }
    }

    /// Opens the store `config` selects when it is not open yet (or another
    /// one is selected now). On failure a gateway made before keeps the
    /// store it had.
    fn open_store(&mut self, config: &Config) -> Result<(), SecretError> {
        self.snapshot.lan = self.overrides.allow_lan_access.unwrap_or(config.proxy.allow_lan_access);
        if !self.is_running() {
            self.snapshot.port = self.overrides.port.unwrap_or(config.proxy.port);
        }
        let kind = secrets::selected_kind(config).ok();
        if self.gateway.is_some() && kind == self.store_kind {
            return Ok(());
        }
        match (self.opener)(&self.home, config) {
            Ok(store) => {
                if self.snapshot.keychain_unavailable {
                    self.snapshot.phase = Phase::Stopped;
                }
                self.snapshot.keychain_unavailable = false;
                self.store_kind = kind;
                match &mut self.gateway {
                    Some(gateway) => gateway.set_secrets(store),
                    None => self.gateway = Some(Gateway::new(self.home.clone(), store, self.overrides.clone())),
                }
                Ok(())
            }
            Err(err) => {
                self.snapshot.keychain_unavailable = matches!(err, SecretError::KeychainUnavailable(_));
                if self.snapshot.keychain_unavailable {
                    self.snapshot.phase = Phase::Failed("keychain unavailable".into());
                }
                Err(err)
            }
        }
    }

    fn is_running(&self) -> bool {
        self.gateway.as_ref().is_some_and(Gateway::is_running)
    }

    async fn start(&mut self) {
        if self.is_running() {
            return;
        }
        if let Err(err) = self.try_start().await {
            self.notifier.notify(&Notice::start_failed(&err));
        }
        self.publish();
    }

    /// Starts the gateway unless it runs; the snapshot follows (published
    /// by the caller), a failure is returned rather than notified.
    async fn try_start(&mut self) -> Result<Status, StartError> {
        if let Some(gateway) = &self.gateway
            && gateway.is_running()
        {
            return Ok(gateway.status());
        }
        let config = self.read().inspect_err(|_| {
            self.snapshot.phase = Phase::Failed("config.toml is invalid".into());
        })?;
        if let Err(err) = self.open_store(&config) {
            if self.gateway.is_none() {
                return Err(err.into());
            }
            // Not fatal: the gateway starts with the store it had.
            self.notifier.notify(&Notice::secrets(&err));
        }
        let Some(gateway) = &mut self.gateway else {
            return Err(StartError::Internal("no secret store".into()));
        };
        self.snapshot.phase = Phase::Starting;
        self.sink.update(Update::State(self.snapshot.clone()));
        match gateway.start().await {
            Ok(address) => {
                let status = gateway.status();
                self.all_cooling = false;
                self.snapshot.port = address.port();
                self.snapshot.phase = Phase::Running {
                    address,
                    accounts: status.accounts,
                };
                Ok(status)
            }
            Err(err) => {
                self.snapshot.phase = Phase::Failed(summary(&err));
                Err(err)
            }
        }
    }

    async fn stop(&mut self) {
        let Some(gateway) = &mut self.gateway else {
            return;
        };
        if gateway.is_running() {
            self.snapshot.phase = Phase::Stopping;
            self.sink.update(Update::State(self.snapshot.clone()));
            gateway.stop(self.grace).await;
        }
        self.snapshot.phase = Phase::Stopped;
        self.publish();
    }

    async fn set_lan(&mut self, on: bool) {
        let Some(config) = self.load() else {
            return self.publish();
        };
        if on && config.proxy.auth_mode.effective(true) == AuthMode::Off {
            // Refused before the file is touched: the check item stays off.
            self.notifier.notify(&Notice::LanWithoutAuth);
            return self.publish();
        }
        if on {
            let mut lan = config.clone();
            lan.proxy.allow_lan_access = true;
            if let Some(gateway) = &self.gateway
                && let Err(err) = gateway.check_listening(&lan).await
            {
                // Refused before the file is touched, as above.
                self.notifier.notify(&Notice::start_failed(&err));
                return self.publish();
            }
        }
        if config.proxy.allow_lan_access != on
            && let Err(err) = config::edit(&self.home, |doc| {
                config::set_proxy(doc, "allow_lan_access", on);
                Ok(())
            })
        {
            self.notifier.notify(&Notice::ConfigRejected(err.to_string()));
            return self.publish();
        }
        // Applied now rather than when the watcher notices, so the menu
        // follows at once; the watcher's own reload then finds nothing new.
        let was = self.snapshot.lan;
        self.reload().await;
        if on && !was && self.snapshot.lan {
            // Steer the user to a client key per device, not the admin key.
            self.notifier.notify(&Notice::LanOn {
                port: self.snapshot.port,
            });
        }
    }

    async fn reload(&mut self) {
        let Some(config) = self.load() else {
            return self.publish();
        };
        // A switch of secret store applies with the reload.
        self.open_store_or_notify(&config);
        let Some(gateway) = &mut self.gateway else {
            return self.publish();
        };
        match gateway.reload(self.grace).await {
            Ok(Reloaded::NotRunning) => {
                self.snapshot.port = self.overrides.port.unwrap_or(config.proxy.port);
            }
            Ok(Reloaded::Unchanged) => {}
            Ok(Reloaded::Rerouted { accounts }) => {
                if accounts == 0 {
                    self.notifier.notify(&Notice::NoAccounts);
                }
            }
            Ok(Reloaded::Rebound { address }) => {
                self.snapshot.port = address.port();
            }
            Err(err) => {
                self.notifier.notify(&Notice::reload_failed(&err));
                if !gateway.is_running()
                    && let crate::gateway::ReloadError::Rebind { error, .. } = &err
                {
                    self.snapshot.phase = Phase::Failed(summary(error));
                }
            }
        }
        if let Some(gateway) = &self.gateway
            && gateway.is_running()
        {
            let status = gateway.status();
            if let Some(address) = status.address {
                self.snapshot.port = address.port();
                self.snapshot.phase = Phase::Running {
                    address,
                    accounts: status.accounts,
                };
            }
            self.snapshot.lan = status.lan;
        }
        self.publish();
    }

    /// The gateway's key, read from the secret store; a failure is notified.
    async fn read_key(&mut self) -> Option<ApiKey> {
        let config = self.load()?;
        self.open_store_or_notify(&config);
        let store = match (self.opener)(&self.home, &config) {
            Ok(store) => store,
            Err(err) => {
                self.notifier.notify(&Notice::secrets(&err));
                return None;
            }
        };
        let key = tokio::task::spawn_blocking(move || secrets::gateway_key(store.as_ref(), &config)).await;
        match key {
            Ok(Ok(key)) => Some(ApiKey(key)),
            Ok(Err(err)) => {
                self.notifier.notify(&Notice::secrets(&err));
                None
            }
            Err(err) => {
                tracing::warn!(error = %err, "reading the API key failed");
                None
            }
        }
    }

    async fn use_file_store(&mut self) {
        let edited = config::edit(&self.home, |doc| {
            config::set_proxy(doc, "secret_store", "file");
            Ok(())
        });
        if let Err(err) = edited {
            self.notifier.notify(&Notice::ConfigRejected(err.to_string()));
            return self.publish();
        }
        if matches!(self.snapshot.phase, Phase::Failed(_)) {
            self.snapshot.phase = Phase::Stopped;
        }
        self.reload().await;
    }

    /// Notifies once when every account starts cooling down, and keeps the
    /// account count of the status line current.
    fn watch_health(&mut self) {
        let Some(gateway) = &self.gateway else {
            return;
        };
        let Some(accounts) = gateway.accounts() else {
            self.all_cooling = false;
            if !self.snapshot.accounts.is_empty() {
                self.snapshot.accounts.clear();
                self.publish();
            }
            return;
        };
        let cooling = all_cooling(&accounts);
        if let Some(retry_after_secs) = cooling
            && !self.all_cooling
        {
            self.notifier.notify(&Notice::AllCooling { retry_after_secs });
        }
        self.all_cooling = cooling.is_some();
        let now = crate::monitor::now_ms();
        for notice in self.alerts.check(&accounts, now) {
            self.notifier.notify(&notice);
        }
        let lines: Vec<String> = accounts.iter().map(|account| account_line(account, now)).collect();
        if lines != self.snapshot.accounts {
            self.snapshot.accounts = lines;
            self.publish();
        }
        let active = gateway.status().accounts;
        if let Phase::Running { accounts: shown, .. } = &mut self.snapshot.phase
            && *shown != active
        {
            *shown = active;
            self.sink.update(Update::State(self.snapshot.clone()));
        }
    }

    fn publish(&self) {
        self.sink.update(Update::State(self.snapshot.clone()));
    }
}

/// When every usable (not disabled) account is cooling down: seconds until
/// the first is ready again. `None` while one is ready, or when there is no
/// usable account at all (that is another notice).
pub fn all_cooling(accounts: &[AccountStatus]) -> Option<u64> {
    let usable: Vec<&AccountStatus> = accounts.iter().filter(|a| a.state != AccountState::Disabled).collect();
    if usable.is_empty() || usable.iter().any(|a| a.state != AccountState::Cooling) {
        return None;
    }
    usable
        .iter()
        .filter_map(|a| a.cooldowns.iter().map(|c| c.remaining_secs).min())
        .min()
        .or(Some(0))
}

/// An account as the tray's Accounts submenu shows it: `work — ready ·
/// gpt-4o: requests 4999/5000`, `home — over budget until 2026-12-07 00:00 UTC`.
pub fn account_line(account: &AccountStatus, now_ms: i64) -> String {
    let name = if account.label.is_empty() {
        &account.id
    } else {
        &account.label
    };
    let state = match (&account.over_budget, account.state) {
        (Some(over), _) => format!(
            "over budget until {}",
            crate::pool::budget::window_end_text(over.until_ms)
        ),
        (None, AccountState::Ready) => "ready".to_string(),
        (None, AccountState::Cooling) => "cooling".to_string(),
        (None, AccountState::Disabled) => "disabled".to_string(),
    };
    // The reading with the least left says most about what remains.
    let tightest = account
        .quota
        .iter()
        .min_by(|a, b| {
            let left = |r: &crate::pool::quota::QuotaStatus| r.lowest_fraction(now_ms).unwrap_or(f64::INFINITY);
            left(a).total_cmp(&left(b))
        })
        .map(|reading| format!(" · {}: {}", reading.model, reading.describe(now_ms)))
        .unwrap_or_default();
    format!("{name} — {state}{tightest}")
}

/// A few words for a status line: `port 8045 in use`.
pub fn summary(err: &StartError) -> String {
    match err {
        StartError::Bind(bind) => match &bind.cause {
            BindCause::InUse(port) => format!("port {port} in use"),
            BindCause::PermissionDenied => format!("port {} needs privileges", bind.addr.port()),
            BindCause::AddrNotAvailable(_) => format!("{} not available", bind.addr.ip()),
            BindCause::Other(_) => format!("cannot listen on {}", bind.addr),
        },
        StartError::NoAccounts => "no accounts".into(),
        StartError::InsecureLan => "LAN access needs auth".into(),
        StartError::ShortLanKey { .. } => "LAN access needs a longer key".into(),
        StartError::Config(_) => "config.toml is invalid".into(),
        StartError::Keys(_) => "keys.json is invalid".into(),
        StartError::Secrets(SecretError::KeychainUnavailable(_)) => "keychain unavailable".into(),
        StartError::Secrets(_) => "secret store failed".into(),
        StartError::Client(_) | StartError::Internal(_) => "could not start".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::BindError;
    use crate::pool::CooldownStatus;

    fn account(state: AccountState, remaining: &[u64]) -> AccountStatus {
        AccountStatus {
            id: "acc".into(),
            label: String::new(),
            provider: "gemini".into(),
            state,
            reason: None,
            cooldowns: remaining
                .iter()
                .map(|&secs| CooldownStatus {
                    model: "m".into(),
                    until_unix: 0,
                    remaining_secs: secs,
                    reason: "rate limited".into(),
                })
                .collect(),
            in_flight: 0,
            requests: 0,
            errors: 0,
            catalog: None,
            share_last_hour: None,
            quota: Vec::new(),
            over_budget: None,
        }
    }

    #[test]
    fn account_lines_name_the_state_and_the_tightest_quota() {
        use crate::pool::quota::{Limit, QuotaKind, QuotaStatus};
        let mut work = account(AccountState::Ready, &[]);
        assert_eq!(account_line(&work, 0), "acc — ready");
        let reading = |model: &str, remaining: u64| QuotaStatus {
            model: model.into(),
            read_ms: 0,
            limits: vec![Limit {
                kind: QuotaKind::Requests,
                limit: Some(100),
                remaining: Some(remaining),
                reset_ms: None,
            }],
            exhausted_until_ms: None,
        };
        work.label = "work".into();
        work.quota = vec![reading("gpt-4o-mini", 90), reading("gpt-4o", 8)];
        assert_eq!(account_line(&work, 0), "work — ready · gpt-4o: requests 8/100");
        work.over_budget = Some(crate::pool::budget::OverBudget {
            until_ms: 86_400_000,
            reason: "usd_per_day 1 reached ($1.0000)".into(),
        });
        assert!(account_line(&work, 0).starts_with("work — over budget until 1970-01-02 00:00 UTC · "));
    }

    #[test]
    fn all_cooling_means_every_usable_account() {
        assert_eq!(all_cooling(&[]), None);
        assert_eq!(all_cooling(&[account(AccountState::Ready, &[])]), None);
        assert_eq!(
            all_cooling(&[account(AccountState::Cooling, &[30]), account(AccountState::Ready, &[])]),
            None
        );
        assert_eq!(
            all_cooling(&[
                account(AccountState::Cooling, &[30, 50]),
                account(AccountState::Cooling, &[12])
            ]),
            Some(12)
        );
        assert_eq!(
            all_cooling(&[
                account(AccountState::Cooling, &[7]),
                account(AccountState::Disabled, &[])
            ]),
            Some(7),
            "a disabled account does not count as available"
        );
        assert_eq!(all_cooling(&[account(AccountState::Disabled, &[])]), None);
    }

    #[test]
    fn summaries_fit_a_status_line() {
        let bind = |cause| {
            StartError::Bind(BindError {
                addr: "127.0.0.1:8045".parse().unwrap(),
                cause,
            })
        };
        assert_eq!(summary(&bind(BindCause::InUse(8045))), "port 8045 in use");
        assert_eq!(
            summary(&bind(BindCause::PermissionDenied)),
            "port 8045 needs privileges"
        );
        assert_eq!(summary(&StartError::NoAccounts), "no accounts");
        assert_eq!(
            summary(&StartError::Secrets(SecretError::KeychainUnavailable("x".into()))),
            "keychain unavailable"
        );
    }
}
