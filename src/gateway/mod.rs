//! The gateway as a library type: start, stop, status.
//!
//! `switchyard serve` and the tray drive the same [`Gateway`]. Starting
//! reads the configuration and the secrets afresh, builds the pool, binds the
//! listener and serves; stopping closes the listener at once and gives
//! in-flight requests a bounded grace period.

pub mod admin;
pub mod auth;
pub mod dashboard;
mod forwarded;
pub mod guard;
pub mod guidance;
pub mod identity;
mod memory;
mod models;
pub mod reload;
pub mod reply;
pub mod routes;
pub mod server;
pub mod state;
pub mod table;
pub mod throttle;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::Refresher;
use crate::config::ProviderKind;
use crate::config::{AuthMode, Config, ConfigError};
use crate::home::{self, Home};
use crate::monitor::{Monitor, MonitorSettings, Retention};
use crate::pool::{AccountStatus, Member, Pool};
use crate::relay::{Relay, RelaySettings};
use crate::secrets::{self, SecretError, SecretStore};
use crate::upstream::oauth::TokenSource;
use crate::upstream::{self, Auth, Credentials, GoogleSession, Upstream};

pub use reload::{Plan, ReloadError, Reloaded};
pub use server::{BindCause, BindError};

/// The shortest gateway key accepted with LAN access on (on loopback the
/// floor is `sk-` and 10 characters, see `config::validate_api_key`).
pub const MIN_LAN_KEY: usize = 24;

/// How long stop waits for in-flight requests before cutting them.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// Command-line overrides of the `[proxy]` settings.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--port`.
    pub port: Option<u16>,
    /// `--lan`.
    pub allow_lan_access: Option<bool>,
    /// `--auth-mode`.
    pub auth_mode: Option<AuthMode>,
    /// `--insecure-lan`: allow LAN access with auth off.
    pub insecure_lan: bool,
}

/// Why the gateway did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// config.toml is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The secret store failed.
    #[error(transparent)]
    Secrets(#[from] SecretError),
    /// No enabled account.
    #[error("No accounts available — add an account first (switchyard accounts add ...)")]
    NoAccounts,
    /// LAN access with auth off, not forced.
    #[error(
        "Refusing to listen on the network with auth_mode = \"off\": anyone on your network could use your accounts. \
         Use auth_mode \"auto\" or \"all_except_health\" (clients then need the key from `switchyard key show`), or pass \
         --insecure-lan if you really mean it"
    )]
    InsecureLan,
    /// LAN access with a gateway key too short to withstand guessing from
    /// the network.
    #[error(
        "Refusing to listen on the network with a {length}-character gateway key: on a LAN the key must have at least \
         {MIN_LAN_KEY} characters. Run `switchyard key rotate` for a new random key (then give your clients the key \
         `switchyard key show` prints), or set a longer one with `switchyard key set`"
    )]
    ShortLanKey {
        /// The key's length in characters.
        length: usize,
    },
    /// `keys.json` is unreadable or invalid: starting without it would let
    /// revoked client keys pass where auth is off.
    #[error(transparent)]
    Keys(#[from] crate::keys::KeysError),
    /// The listener could not be bound.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot set up the upstream HTTP client: {0}")]
    Client(String),
    /// A blocking task failed.
    #[error("internal error while starting: {0}")]
    Internal(String),
}

/// What a running gateway looks like from outside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Whether it is serving.
    pub running: bool,
    /// The bound address.
    pub address: Option<SocketAddr>,
    /// Where clients point: `http://127.0.0.1:PORT` (the host clients on this
    /// machine use, even when bound to all interfaces).
    pub base_url: Option<String>,
    /// Accounts enabled and not disabled at run time.
    pub accounts: usize,
    /// The effective auth mode (never `auto`).
    pub auth_mode: AuthMode,
    /// Whether the gateway listens on all interfaces.
    pub lan: bool,
    /// Team mode: how the shared state is doing (absent for a single user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<crate::cluster::ClusterStatus>,
    /// Team mode: how the Postgres request log is doing (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_log: Option<crate::monitor::pg::PgStatus>,
}

/// A gateway that can be started and stopped repeatedly.
#[derive(Debug)]
pub struct Gateway {
    home: Home,
    secrets: Arc<dyn SecretStore>,
    overrides: Overrides,
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    server: server::Server,
    shared: Arc<state::Shared>,
    /// Applies changes to `keys.json` while running; stops when dropped.
    _keys: Option<crate::watch::ConfigWatcher>,
    /// The configuration it was started (or last reloaded) with.
    config: Config,
    /// Releases memory after bursts; stops when dropped.
    _memory: memory::Releaser,
    /// Keeps the pool's model lists fresh; replaced with the pool, stops
    /// when dropped.
    catalog: Refresher,
    /// Shares account health with the other replicas (team mode); stops
    /// when dropped.
    _cluster: Option<crate::cluster::SyncTask>,
}

impl Gateway {
    /// A stopped gateway for `home`, reading secrets from `secrets`.
    pub fn new(home: Home, secrets: Arc<dyn SecretStore>, overrides: Overrides) -> Gateway {
        Gateway {
            home,
            secrets,
            overrides,
            running: None,
        }
    }

    /// Whether it is serving.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Replaces the secret store (after `secret_store` changed); used from
    /// the next start or reload on.
    pub fn set_secrets(&mut self, secrets: Arc<dyn SecretStore>) {
        self.secrets = secrets;
    }

    /// Starts serving; returns the bound address. Starting a running
    /// gateway returns its address.
    pub async fn start(&mut self) -> Result<SocketAddr, StartError> {
        if let Some(running) = &self.running {
            return Ok(running.server.local_addr());
        }
        let config = Config::load(&self.home)?;
        self.start_with(config, None).await
    }

    /// Starts serving `config`; the new pool takes over what `previous`
    /// knew about unchanged accounts (cooldowns survive a rebind).
    async fn start_with(&mut self, config: Config, previous: Option<Arc<Pool>>) -> Result<SocketAddr, StartError> {
        let proxy = &config.proxy;
        let (port, lan, mode) = self.listening(&config)?;
        let (pool, key, urls) = {
            let store = self.secrets.clone();
            let config = config.clone();
            tokio::task::spawn_blocking(move || {
                let (pool, key) = build_pool(&config, store.as_ref())?;
                let urls = TeamUrls::resolve(&config, store.as_ref())?;
                Ok::<_, StartError>((pool, key, urls))
            })
            .await
            .map_err(|err| StartError::Internal(err.to_string()))??
        };
        if pool.active_count() == 0 {
            return Err(StartError::NoAccounts);
        }
        if lan {
            lan_key_check(&key)?;
        }
        if let Some(previous) = previous {
            pool.inherit(&previous);
        }
        let ip = if lan {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        };
        let listener = server::bind(SocketAddr::new(ip, port)).await?;
        let local = listener
            .local_addr()
            .map_err(|err| StartError::Internal(err.to_string()))?;
        let timeout = Duration::from_secs(proxy.request_timeout_secs);
        let upstream = Upstream::new(timeout).map_err(|err| StartError::Client(err.to_string()))?;
        let settings = RelaySettings {
            stream_idle_timeout: timeout,
            max_attempts: config.pool.max_attempts,
            retry_budget: Duration::from_secs(config.pool.retry_budget_secs),
            responses_kept: config.responses.max_stored,
            responses_max_age: Duration::from_secs(config.responses.max_age_secs),
            max_upstream_body: usize::try_from(proxy.max_upstream_body_mib * 1024 * 1024).unwrap_or(usize::MAX),
            ..RelaySettings::default()
        };
        let monitor = Arc::new(Monitor::start(MonitorSettings {
            database: config
                .monitor
                .persist
                .then(|| self.home.state_dir.join(crate::monitor::DATABASE)),
            retention: Retention {
                days: config.monitor.retention_days,
                max_rows: config.monitor.max_rows,
            },
            body_limit: config
                .monitor
                .store_bodies
                .then_some(config.monitor.max_body_kib * 1024),
            secrets: pool_secrets(&pool, &key),
            postgres: urls.database.map(|(url, _)| url),
        }));
        monitor.set_prices(crate::pricing::Prices::with_overrides(&config.prices));
        let pool = pool.with_budgets(budgets(&config, &monitor));
        let cluster = match &urls.redis {
            Some((url, source)) => crate::cluster::Cluster::redis(url, source, &config.cluster.key_prefix)
                .map_err(|err| StartError::Config(ConfigError::Rejected(err.to_string())))?,
            None => crate::cluster::Cluster::local(),
        };
        let keys = crate::keys::KeyFile::load(&self.home)?;
        cluster.publish_revoked(keys.revoked.iter().map(|r| r.hash.clone()).collect());
        share_tokens(&pool, &cluster);
        let meters = Arc::new(crate::keys::Meters::default());
        meters.share(&cluster);
        let day_start = crate::monitor::now_ms() / 86_400_000 * 86_400_000;
        meters.seed(&monitor.key_usage(day_start), crate::monitor::now_ms());
        let identity = identity::Identity::generate()
            .map_err(|err| StartError::Internal(format!("cannot make the gateway's identity: {err}")))?;
        let shared = Arc::new(state::Shared {
            auth: auth::Auth::new(mode, key).with_keys(crate::keys::KeyRing::new(&keys)),
            boundary: guard::Boundary::new(proxy, lan),
            identity: identity.clone(),
            origin: crate::config::local_base_url(local.port()),
            body_limit: usize::try_from(proxy.max_body_mib * 1024 * 1024).unwrap_or(usize::MAX),
            body_pause: Duration::from_secs(proxy.client_timeout_secs),
            body_deadline: timeout,
            trusted_proxies: proxy.trusted_proxies.clone(),
            throttle: Arc::default(),
            meters: meters.clone(),
            relay: Relay::new(Arc::new(pool), upstream, config.models.clone(), settings)
                .with_fallbacks(config.fallbacks.clone())
                .with_monitor(monitor)
                .with_meters(meters)
                .with_cluster(cluster.clone()),
            address: local,
            lan,
            home: self.home.clone(),
            secrets: self.secrets.clone(),
        });
        let limits = server::Limits {
            header_timeout: Duration::from_secs(proxy.client_timeout_secs),
            max_connections: proxy.max_connections,
        };
        let service = guard::Guarded::new(warp::service(routes::routes(shared.clone())), shared.clone());
        let server =
            server::Server::spawn(listener, service, limits).map_err(|err| StartError::Internal(err.to_string()))?;
        let _memory = memory::Releaser::start(shared.relay.pool().clone());
        let _keys = watch_keys(&self.home, &shared);
        let catalog = catalog_refresher(&config, shared.relay.pool());
        let _cluster = {
            let shared = Arc::downgrade(&shared);
            cluster.start_sync(Arc::new(move || shared.upgrade().map(|s| s.relay.pool())))
        };
        self.running = Some(Running {
            server,
            shared,
            _keys,
            config,
            _memory,
            catalog,
            _cluster,
        });
        let status = self.status();
        if let Err(err) = write_runtime(&self.home, &status, &identity) {
            tracing::warn!(error = %err, "could not record the running gateway's address; `switchyard status` will not find it");
        }
        tracing::info!(address = %local, auth_mode = %mode, accounts = status.accounts, "gateway listening");
        Ok(local)
    }

    /// Port, LAN access and effective auth mode for `config` with the
    /// command-line overrides; refuses LAN access with auth off unless forced.
    fn listening(&self, config: &Config) -> Result<(u16, bool, AuthMode), StartError> {
        let proxy = &config.proxy;
        let port = self.overrides.port.unwrap_or(proxy.port);
        let lan = self.overrides.allow_lan_access.unwrap_or(proxy.allow_lan_access);
        let mode = self.overrides.auth_mode.unwrap_or(proxy.auth_mode).effective(lan);
        if lan && mode == AuthMode::Off && !self.overrides.insecure_lan {
            return Err(StartError::InsecureLan);
        }
        Ok((port, lan, mode))
    }

    /// Refuses what `config` would listen with on the network: LAN access
    /// with auth off (unless forced) or with a short gateway key. Checked
    /// before a reload stops the listener and before the tray turns LAN
    /// access on. Reads the key from the secret store (blocking, so on a
    /// blocking thread).
    pub async fn check_listening(&self, config: &Config) -> Result<(), StartError> {
        let (_, lan, _) = self.listening(config)?;
        if !lan {
            return Ok(());
        }
        let store = self.secrets.clone();
        let config = config.clone();
        let key = tokio::task::spawn_blocking(move || secrets::gateway_key(store.as_ref(), &config))
            .await
            .map_err(|err| StartError::Internal(err.to_string()))??;
        lan_key_check(&key)
    }

    /// Stops serving: the port is free when this returns; in-flight
    /// requests get up to `grace` to finish.
    pub async fn stop(&mut self, grace: Duration) {
        if let Some(running) = self.running.take() {
            running.server.shutdown(grace).await;
            let _ = std::fs::remove_file(self.home.runtime_file());
            tracing::info!("gateway stopped");
        }
    }

    /// The current state.
    pub fn status(&self) -> Status {
        match &self.running {
            Some(running) => running.shared.status(),
            None => Status {
                running: false,
                address: None,
                base_url: None,
                accounts: 0,
                auth_mode: AuthMode::Off,
                lan: false,
                cluster: None,
                request_log: None,
            },
        }
    }

    /// The live state of every account, when running.
    pub fn accounts(&self) -> Option<Vec<AccountStatus>> {
        self.running.as_ref().map(|r| r.shared.relay.pool().status())
    }
}

/// Re-reads `keys.json` after every change, for as long as the watcher
/// lives. A file that cannot be read keeps the keys in force (and says so).
fn watch_keys(home: &Home, shared: &Arc<state::Shared>) -> Option<crate::watch::ConfigWatcher> {
    let reload = {
        let home = home.clone();
        let shared = Arc::downgrade(shared);
        move || {
            let Some(shared) = shared.upgrade() else { return };
            let _ = reload_keys(&home, &shared);
        }
    };
    match crate::watch::ConfigWatcher::keys(home, reload) {
        Ok(watcher) => Some(watcher),
        Err(err) => {
            tracing::warn!(error = %err, "client key changes apply at the next start only");
            None
        }
    }
}

/// Applies `keys.json` as it is now; returns how many live keys it holds.
/// A file that cannot be read keeps the keys in force.
fn reload_keys(home: &Home, shared: &state::Shared) -> Result<usize, crate::keys::KeysError> {
    match crate::keys::KeyFile::load(home) {
        Ok(file) => {
            shared.auth.set_keys(crate::keys::KeyRing::new(&file));
            let cluster = shared.relay.cluster();
            cluster.publish_revoked(file.revoked.iter().map(|r| r.hash.clone()).collect());
            tracing::info!(keys = file.keys.len(), "client keys reloaded");
            Ok(file.keys.len())
        }
        Err(err) => {
            tracing::warn!(error = %err, "client keys not reloaded; the previous ones stay in force");
            Err(err)
        }
    }
}

/// Refuses a gateway key shorter than [`MIN_LAN_KEY`] for LAN access.
fn lan_key_check(key: &str) -> Result<(), StartError> {
    let length = key.chars().count();
    if length < MIN_LAN_KEY {
        return Err(StartError::ShortLanKey { length });
    }
    Ok(())
}

/// The catalogues of `config`'s accounts fetched now, without a running
/// gateway (`switchyard models`, `accounts add`): each list waits at most
/// `timeout`. Returns the accounts' states (with their catalogue) and the
/// served models.
pub async fn fetch_catalogs(
    config: Config,
    store: Arc<dyn SecretStore>,
    timeout: Duration,
) -> Result<(Vec<AccountStatus>, Vec<crate::catalog::ServedModel>), StartError> {
    let aliases = config.models.clone();
    let (pool, _) = tokio::task::spawn_blocking(move || build_pool(&config, store.as_ref()))
        .await
        .map_err(|err| StartError::Internal(err.to_string()))??;
    let upstream = Upstream::new(timeout).map_err(|err| StartError::Client(err.to_string()))?;
    if tokio::time::timeout(timeout, crate::catalog::refresh(&pool, &upstream))
        .await
        .is_err()
    {
        for member in pool.members() {
            if member.catalog() == crate::pool::Catalog::default() {
                member.catalog_failed(format!("no answer within {} s", timeout.as_secs()));
            }
        }
    }
    Ok((pool.status(), crate::catalog::served(&pool, &aliases)))
}

/// Starts fetching `pool`'s model lists, as `[catalog]` says.
pub(crate) fn catalog_refresher(config: &Config, pool: Arc<Pool>) -> Refresher {
    let every = config
        .catalog
        .fetch
        .then(|| Duration::from_secs(config.catalog.refresh_mins * 60));
    let Some(every) = every else {
        return Refresher::idle();
    };
    match Upstream::new(Duration::from_secs(30)) {
        Ok(upstream) => Refresher::start(pool, upstream, every),
        Err(err) => {
            tracing::warn!(error = %err, "cannot set up HTTP for the model lists; routing goes by globs");
            Refresher::idle()
        }
    }
}

/// Builds the pool from the accounts and their secrets, and reads (or
/// creates) the gateway key. Blocking: the keychain may be slow.
/// The budgets of `config` over what `monitor` counts, on the real clock.
/// Team mode's URLs, each with where it came from.
struct TeamUrls {
    redis: Option<(String, String)>,
    database: Option<(String, String)>,
}

impl TeamUrls {
    /// Reads them from the environment, the secret store or config.toml;
    /// a build without the `team` feature refuses a database URL here (and
    /// a Redis URL when the cluster is made), before anything starts.
    fn resolve(config: &Config, store: &dyn SecretStore) -> Result<TeamUrls, StartError> {
        let urls = TeamUrls {
            redis: secrets::TeamUrl::Redis.resolve(config, store)?,
            database: secrets::TeamUrl::Database.resolve(config, store)?,
        };
        if !cfg!(feature = "team")
            && let Some((_, source)) = &urls.database
        {
            return Err(StartError::Config(ConfigError::Rejected(format!(
                "a Postgres URL is set (from {source}), but this build of Switchyard has no team mode: build it \
                 with the `team` feature (`cargo build --release`, which enables it by default), or remove the URL"
            ))));
        }
        Ok(urls)
    }
}

fn budgets(config: &Config, monitor: &Monitor) -> crate::pool::budget::Budgets {
    crate::pool::budget::Budgets::new(
        crate::pool::budget::limits_by_id(&config.budgets, &config.accounts),
        monitor.spending(),
        Arc::new(crate::monitor::now_ms),
    )
}

fn build_pool(config: &Config, store: &dyn SecretStore) -> Result<(Pool, String), StartError> {
    let key = secrets::gateway_key(store, config)?;
    let google = config.providers.google.clone().map(Arc::new);
    let mut members = Vec::new();
    for account in &config.accounts {
        let provider = upstream::provider(account.provider);
        // A keyless account (a local model server) has no secret to read.
        let secret = if account.no_key {
            Some(String::new())
        } else {
            store.get(&account.id)?
        };
        let mut disabled = secret.is_none().then(|| {
            format!(
                "no secret stored for this account in {}; remove it and add it again",
                store.describe()
            )
        });
        let http = match account.proxy_url.as_deref().map(Upstream::client_with_proxy) {
            Some(Ok(client)) => Some(client),
            Some(Err(why)) => {
                disabled.get_or_insert(why);
                None
            }
            None => None,
        };
        let secret: Arc<str> = Arc::from(secret.unwrap_or_default());
        let base_url = account
            .base_url
            .clone()
            .unwrap_or_else(|| provider.default_base_url().to_string());
        let auth = match (&account.provider, &google) {
            (ProviderKind::Google, Some(client)) => {
                let base_url = account.base_url.clone().unwrap_or_else(|| client.base_url.clone());
                let tokens = TokenSource::new(secret, client.clone());
                Auth::Google(Arc::new(GoogleSession::new(
                    tokens,
                    base_url.trim_end_matches('/').to_string(),
                    account.project.clone(),
                )))
            }
            _ => Auth::Key(Credentials {
                base_url: base_url.trim_end_matches('/').to_string(),
                secret,
                project: account.project.clone(),
            }),
        };
        members.push(Member::with_auth(account.clone(), provider, auth, http, disabled));
    }
    Ok((Pool::new(members).with_strategy(config.pool.strategy), key))
}

/// Team mode: the pool's Google accounts share their access tokens (one
/// refresh for every replica).
pub(crate) fn share_tokens(pool: &Pool, cluster: &crate::cluster::Cluster) {
    for member in pool.members() {
        if let Auth::Google(session) = &member.auth {
            session.tokens.share(cluster, &member.config.id);
        }
    }
}

/// Every secret the gateway holds, for the monitor to redact from bodies.
fn pool_secrets(pool: &Pool, key: &str) -> Vec<String> {
    let mut secrets = vec![key.to_string()];
    for member in pool.members() {
        match &member.auth {
            Auth::Key(credentials) if credentials.secret.is_empty() => {}
            Auth::Key(credentials) => secrets.push(credentials.secret.to_string()),
            Auth::Google(session) => secrets.push(session.tokens.refresh_token().to_string()),
        }
    }
    secrets
}

/// What `gateway.json` records about a running gateway. The file is 0600:
/// it holds the identity the gateway proves itself with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuntimeRecord {
    /// The gateway's process id.
    pub pid: u32,
    /// Its status when it started.
    pub status: Status,
    /// The secret it proves itself with to the CLI ([`identity`]); absent in
    /// a record written by a Switchyard that had none, which cannot prove
    /// itself.
    #[serde(default)]
    pub identity: Option<identity::Identity>,
}

fn write_runtime(home: &Home, status: &Status, identity: &identity::Identity) -> std::io::Result<()> {
    let record = RuntimeRecord {
        pid: std::process::id(),
        status: status.clone(),
        identity: Some(identity.clone()),
    };
    let text = serde_json::to_vec_pretty(&record).map_err(std::io::Error::other)?;
    home::write_atomic(&home.runtime_file(), &text, 0o600)
}

/// The record of a gateway started from `home`, if one says it is running.
pub fn read_runtime(home: &Home) -> Option<RuntimeRecord> {
    let text = std::fs::read(home.runtime_file()).ok()?;
    serde_json::from_slice(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_urls_come_from_the_secret_store_before_config_toml() {
        let store = crate::secrets::MemoryStore::default();
        let mut config = Config::default();
        config.cluster.redis_url = Some("redis://redis.internal:6379/0".into());
        store
            .set(secrets::TeamUrl::Redis.secret_name(), "redis://:pw@127.0.0.1:6379/1")
            .unwrap();
        let urls = TeamUrls::resolve(&config, &store).unwrap();
        let (url, source) = urls.redis.unwrap();
        assert_eq!(url, "redis://:pw@127.0.0.1:6379/1");
        assert!(source.contains("cluster-redis-url"), "{source}");
        assert!(urls.database.is_none());
    }

    #[cfg(not(feature = "team"))]
    #[test]
    fn a_build_without_team_mode_refuses_a_postgres_url_at_start() {
        let store = crate::secrets::MemoryStore::default();
        let mut config = Config::default();
        config.monitor.database_url = Some("postgres://switchyard@db.internal/log".into());
        let err = TeamUrls::resolve(&config, &store).err().unwrap().to_string();
        assert!(
            err.contains("no team mode") && err.contains("[monitor] database_url"),
            "{err}"
        );
    }
}
