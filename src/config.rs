//! `config.toml`: the human-editable configuration.
//!
//! Reading is strict: an unknown key or an invalid value is an error that
//! names the key, its line and the allowed values, and a file that cannot be
//! parsed is never overwritten. Writing goes through [`edit`], which edits
//! the document in place (keeping the user's comments and layout), checks
//! that the result is still a valid configuration, and replaces the file
//! atomically while holding the home's write lock.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::home::{self, Home};

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The local endpoint.
    #[serde(default)]
    pub proxy: ProxyConfig,
    /// Upstream accounts (metadata only; secrets are in the secret store).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountConfig>,
    /// Model aliases: requested name → upstream model.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, String>,
    /// Fallback chains: requested name → the models to try next, in order,
    /// when no account of the one before can serve.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fallbacks: BTreeMap<String, Vec<String>>,
    /// Per-provider settings (OAuth clients and endpoints).
    #[serde(default, skip_serializing_if = "ProvidersConfig::is_empty")]
    pub providers: ProvidersConfig,
    /// The Responses API's store of recent responses.
    #[serde(default)]
    pub responses: ResponsesConfig,
    /// The request log, usage statistics and metrics.
    #[serde(default)]
    pub monitor: MonitorConfig,
    /// How requests rotate between accounts.
    #[serde(default)]
    pub pool: PoolConfig,
    /// Asking the accounts' upstreams for their model lists.
    #[serde(default)]
    pub catalog: CatalogConfig,
    /// Prices over the built-in table: model → USD per million tokens.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prices: BTreeMap<String, crate::pricing::Price>,
    /// Budgets: account id or label → USD and token caps per UTC day and month.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub budgets: BTreeMap<String, crate::pool::budget::BudgetConfig>,
    /// Team mode: several replicas sharing their state through Redis.
    #[serde(default, skip_serializing_if = "ClusterConfig::is_default")]
    pub cluster: ClusterConfig,
}

/// `[cluster]`: team mode. With a Redis URL (here, without a password, or
/// in `SWITCHYARD_REDIS_URL` or the secret store) the replicas of a team
/// share cooldowns, sticky sessions, the Responses store and client-key
/// limits; without one everything stays in this process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// `redis://host:port/db` (no password: a URL with one comes from the
    /// environment or the secret store, see `secrets::TeamUrl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<String>,
    /// Every key this team writes starts with it.
    pub key_prefix: String,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            redis_url: None,
            key_prefix: "switchyard:".to_string(),
        }
    }
}

impl ClusterConfig {
    fn is_default(&self) -> bool {
        *self == ClusterConfig::default()
    }
}

/// Whether a database URL carries a password (`scheme://user:password@host`):
/// such a URL belongs in the environment, never in
/// config.toml.
pub fn url_has_password(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.password().is_some_and(|p| !p.is_empty()))
}

/// `[catalog]`: the upstreams' own model lists, fetched at start, on every
/// reload and then periodically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// Ask the upstreams for their model lists at all (off: only aliases
    /// and exact `models` names are listed, and routing goes by globs).
    pub fetch: bool,
    /// Minutes between two fetches of every list.
    #[serde(deserialize_with = "refresh_mins")]
    pub refresh_mins: u64,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        CatalogConfig {
            fetch: true,
            refresh_mins: 60,
        }
    }
}

fn refresh_mins<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = i64::deserialize(d)?;
    if (1..=10_080).contains(&n) {
        Ok(n as u64)
    } else {
        Err(serde::de::Error::custom(format!(
            "{n} is out of range; allowed: 1 to 10080 (a week)"
        )))
    }
}

/// `[pool]`: how far a request rotates before it gives up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolConfig {
    /// Most accounts tried for one request (1 = no retries).
    #[serde(deserialize_with = "attempts")]
    pub max_attempts: usize,
    /// Longest time one request spends rotating, in seconds.
    #[serde(deserialize_with = "positive_secs")]
    pub retry_budget_secs: u64,
    /// How calls are spread over the accounts of one tier.
    pub strategy: Strategy,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_attempts: 3,
            retry_budget_secs: 120,
            strategy: Strategy::Spread,
        }
    }
}

/// `[pool] strategy`: which account of a tier serves the next call (tiers
/// come first whatever the strategy, and a sticky session keeps its
/// account under every one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// The least busy account, ties taken in turn: rate limits are spread
    /// across the accounts.
    #[default]
    Spread,
    /// The first account (in config order) until it cools, then the next:
    /// the others stay fresh and prompt caches warm.
    FillFirst,
    /// Smooth weighted round-robin by each account's `weight`.
    Weighted,
}

impl Strategy {
    /// The name config.toml uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Spread => "spread",
            Strategy::FillFirst => "fill-first",
            Strategy::Weighted => "weighted",
        }
    }
}

fn attempts<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = i64::deserialize(d)?;
    if (1..=20).contains(&n) {
        Ok(n as usize)
    } else {
        Err(serde::de::Error::custom(format!(
            "{n} is out of range; allowed: 1 to 20"
        )))
    }
}

/// `[monitor]`: what the proxy monitor records and keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorConfig {
    /// Keep the request log on disk (`requests.sqlite3` in the state dir).
    pub persist: bool,
    /// Records older than this many days are deleted.
    pub retention_days: u32,
    /// At most this many records are kept.
    pub max_rows: u64,
    /// Also keep request and response bodies (credentials redacted).
    pub store_bodies: bool,
    /// Largest body kept, in KiB (longer ones are cut).
    pub max_body_kib: usize,
    /// Team mode: the request log in Postgres instead of SQLite
    /// (`postgres://user@host/db`; a password only through
    /// `SWITCHYARD_DATABASE_URL` or the secret store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            persist: true,
            retention_days: 30,
            max_rows: 100_000,
            store_bodies: false,
            max_body_kib: 64,
            database_url: None,
        }
    }
}

/// `[responses]`: how many recent Responses-API answers are kept, and for
/// how long, so that a follow-up can name one as `previous_response_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponsesConfig {
    /// Most responses kept (the oldest are forgotten first); 0 keeps none.
    pub max_stored: usize,
    /// Longest time a response is kept, in seconds.
    pub max_age_secs: u64,
}

impl Default for ResponsesConfig {
    fn default() -> Self {
        ResponsesConfig {
            max_stored: 1000,
            max_age_secs: 3600,
        }
    }
}

/// The port the gateway listens on unless `[proxy] port` (or `serve --port`)
/// names another.
pub const DEFAULT_PORT: u16 = 8045;

/// `http://127.0.0.1:PORT`: how a program on this machine reaches a
/// Switchyard listener on `port`. It is the gateway's base URL for local
/// clients (the loopback address, even when the gateway listens on all
/// interfaces) and the origin of the sign-in redirect.
pub fn local_base_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// `[proxy]`: how the local endpoint listens and authenticates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyConfig {
    /// TCP port, 1–65535.
    #[serde(deserialize_with = "port")]
    pub port: u16,
    /// `false`: bind 127.0.0.1; `true`: bind 0.0.0.0.
    pub allow_lan_access: bool,
    /// Which requests need the gateway's API key.
    pub auth_mode: AuthMode,
    /// Start the gateway when the tray starts.
    pub auto_start: bool,
    /// Longest time one upstream request may take, in seconds.
    #[serde(deserialize_with = "positive_secs")]
    pub request_timeout_secs: u64,
    /// Where secrets live (`SWITCHYARD_SECRET_STORE` overrides).
    pub secret_store: SecretStoreKind,
    /// A gateway key set by hand; overrides the generated key kept in the
    /// secret store. Must start with `sk-` and be at least 10 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Largest accepted request body, in MiB.
    #[serde(deserialize_with = "body_limit")]
    pub max_body_mib: u64,
    /// Longest time a client may take to send a request's headers, and the
    /// longest pause while it sends the body, in seconds: a client that
    /// trickles its request (slowloris) is cut off instead of holding a
    /// connection forever.
    #[serde(deserialize_with = "positive_secs")]
    pub client_timeout_secs: u64,
    /// Extra names a request's `Host` may carry besides the loopback names
    /// (and, with LAN access on, this machine's own names and addresses):
    /// an SSH tunnel's or reverse proxy's name. Any port is accepted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    /// Browser origins (`https://app.example`, or `null` for Electron apps)
    /// that may call the gateway without a key; the gateway's own `/ui` is
    /// always allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_origins: Vec<String>,
    /// Most client connections open at once; past it a new connection gets
    /// a 503 and is closed.
    #[serde(deserialize_with = "positive_count")]
    pub max_connections: usize,
    /// Largest upstream answer read whole (a complete answer, an error
    /// body, an OAuth answer) and largest single event of a stream, in MiB.
    #[serde(deserialize_with = "body_limit")]
    pub max_upstream_body_mib: u64,
    /// Load balancers (CIDRs) whose `X-Forwarded-For` is believed: a request
    /// from one of them is taken to come from the address it names, for the
    /// wrong-key brake, client-key networks and the log.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            port: DEFAULT_PORT,
            allow_lan_access: false,
            auth_mode: AuthMode::Auto,
            auto_start: false,
            request_timeout_secs: 600,
            secret_store: SecretStoreKind::Keychain,
            api_key: None,
            max_body_mib: 32,
            client_timeout_secs: 30,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            max_connections: 4096,
            max_upstream_body_mib: 64,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Which requests need the gateway's API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// No key needed anywhere.
    Off,
    /// Every path needs the key, `/healthz` included.
    Strict,
    /// Every path but `/healthz` needs the key.
    AllExceptHealth,
    /// `all_except_health` with LAN access on, `off` otherwise.
    Auto,
}

impl AuthMode {
    /// The mode in force given the LAN setting (`auto` resolved).
    pub fn effective(self, allow_lan_access: bool) -> AuthMode {
        match self {
            AuthMode::Auto if allow_lan_access => AuthMode::AllExceptHealth,
            AuthMode::Auto => AuthMode::Off,
            other => other,
        }
    }

    /// The name used in config.toml and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Off => "off",
            AuthMode::Strict => "strict",
            AuthMode::AllExceptHealth => "all_except_health",
            AuthMode::Auto => "auto",
        }
    }
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for AuthMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(AuthMode::Off),
            "strict" => Ok(AuthMode::Strict),
            "all_except_health" => Ok(AuthMode::AllExceptHealth),
            "auto" => Ok(AuthMode::Auto),
            other => Err(format!(
                "unknown auth mode `{other}`; allowed: off, strict, all_except_health, auto"
            )),
        }
    }
}

/// Where secrets are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretStoreKind {
    /// The OS keychain (macOS Keychain, Windows Credential Manager, Secret Service).
    Keychain,
    /// `secrets.json` in the home, mode 0600.
    File,
}

impl std::str::FromStr for SecretStoreKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "keychain" => Ok(SecretStoreKind::Keychain),
            "file" => Ok(SecretStoreKind::File),
            other => Err(format!("unknown secret store `{other}`; allowed: keychain, file")),
        }
    }
}

/// An upstream provider type (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Gemini API with an API key.
    Gemini,
    /// OpenAI Chat Completions (OpenAI and compatible servers).
    Openai,
    /// Anthropic Messages (Anthropic, z.ai and compatible servers).
    Anthropic,
    /// Gemini through Google OAuth (Code Assist endpoint).
    Google,
}

impl ProviderKind {
    /// The name used in config.toml and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Gemini => "gemini",
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Google => "google",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// `[[accounts]]`: one upstream account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// Generated id (`acc_…`); the secret store keys the account's secret by it.
    pub id: String,
    /// Provider type.
    pub provider: ProviderKind,
    /// A name for humans.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// Overrides the provider's default endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Model globs this account serves; empty serves any model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Tier: lower tiers serve only when better ones cannot.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i32,
    /// Disabled accounts are never used.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Google accounts: the Cloud project for Code Assist (discovered when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// An outbound proxy for this account's requests and token refreshes
    /// (`http://`, `https://` or `socks5://`); the environment's
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` apply otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
    /// The server takes no key (a local Ollama, LM Studio, llama.cpp or
    /// vLLM): no secret is stored and no `Authorization` is sent. OpenAI
    /// accounts only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_key: bool,
    /// Its share under `[pool] strategy = "weighted"`.
    #[serde(default = "one", skip_serializing_if = "is_one", deserialize_with = "weight")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

fn weight<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = i64::deserialize(d)?;
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=1000).contains(n))
        .ok_or_else(|| serde::de::Error::custom(format!("{n} is out of range; allowed: 1 to 1000")))
}

impl AccountConfig {
    /// The label, or the id when there is none.
    pub fn display_name(&self) -> &str {
        if self.label.is_empty() { &self.id } else { &self.label }
    }
}

/// `[providers]`: settings shared by all accounts of a provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidersConfig {
    /// Google OAuth client and endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google: Option<GoogleProviderConfig>,
}

/// `[providers.google]`: the OAuth client (a "desktop app" client of the
/// user's own Google Cloud project) and the endpoints. Nothing of it is
/// built into the program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleProviderConfig {
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret (desktop clients' secrets are not confidential,
    /// but it is still masked by `config show`).
    pub client_secret: String,
    /// Token endpoint.
    #[serde(default = "google_token_url")]
    pub token_url: String,
    /// Authorization endpoint (for `accounts login google`).
    #[serde(default = "google_auth_url")]
    pub auth_url: String,
    /// Code Assist endpoint.
    #[serde(default = "google_base_url")]
    pub base_url: String,
    /// OAuth scopes asked for at sign-in.
    #[serde(default = "google_scopes")]
    pub scopes: Vec<String>,
}

fn google_token_url() -> String {
    "https://oauth2.googleapis.com/token".into()
}

fn google_auth_url() -> String {
    "https://accounts.google.com/o/oauth2/v2/auth".into()
}

fn google_base_url() -> String {
    "https://cloudcode-pa.googleapis.com".into()
}

fn google_scopes() -> Vec<String> {
    vec![
        "https://www.googleapis.com/auth/cloud-platform".into(),
        "https://www.googleapis.com/auth/userinfo.email".into(),
    ]
}

impl ProvidersConfig {
    fn is_empty(&self) -> bool {
        self.google.is_none()
    }
}

fn yes() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let n = i64::deserialize(d)?;
    match u16::try_from(n) {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(serde::de::Error::custom(format!(
            "port {n} is out of range; allowed: 1 to 65535"
        ))),
    }
}

fn positive_secs<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = i64::deserialize(d)?;
    if n >= 1 {
        Ok(n as u64)
    } else {
        Err(serde::de::Error::custom(format!(
            "{n} is not allowed; use a number of seconds of at least 1"
        )))
    }
}

fn positive_count<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = i64::deserialize(d)?;
    match usize::try_from(n) {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(serde::de::Error::custom(format!(
            "{n} is not allowed; use a count of at least 1"
        ))),
    }
}

fn body_limit<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = i64::deserialize(d)?;
    if (1..=1024).contains(&n) {
        Ok(n as u64)
    } else {
        Err(serde::de::Error::custom(format!(
            "{n} is out of range; allowed: 1 to 1024 (MiB)"
        )))
    }
}

/// Checks a gateway API key chosen by a user: `sk-` prefix, at least 10
/// characters, no whitespace. The message never repeats the key.
pub fn validate_api_key(key: &str) -> Result<(), String> {
    if !key.starts_with("sk-") {
        return Err("the API key must start with `sk-` (for example sk-mykey123)".into());
    }
    if key.chars().count() < 10 {
        return Err("the API key must be at least 10 characters long".into());
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the API key must not contain spaces or control characters".into());
    }
    Ok(())
}

/// A configuration that could not be read, parsed or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or not a valid configuration.
    #[error("{path} is not a valid configuration (it was left untouched; fix it by hand):\n{message}")]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// What is wrong, naming the key and line.
        message: String,
    },
    /// Writing the new configuration failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The config file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The requested change is not possible.
    #[error("{0}")]
    Rejected(String),
}

/// The configuration file written on first run: the defaults, commented.
pub const DEFAULT_CONFIG: &str = r#"# Switchyard configuration. Edit freely; unknown keys are an error.
# Secrets (upstream API keys, OAuth tokens, the gateway key) are never stored here.

[proxy]
port = 8045
allow_lan_access = false      # false: listen on 127.0.0.1 only; true: 0.0.0.0
auth_mode = "auto"            # off | strict | all_except_health | auto
auto_start = false            # start the gateway when the tray starts
request_timeout_secs = 600
secret_store = "keychain"     # keychain | file  (env SWITCHYARD_SECRET_STORE overrides)
max_body_mib = 32
client_timeout_secs = 30      # longest a client may take to send headers, or pause in a body
# allowed_hosts = ["my-tunnel.example"]      # extra Host names (any port)
# allowed_origins = ["https://app.example"]  # browser origins allowed without a key ("null": Electron)
max_connections = 4096        # client connections open at once; past it: 503
max_upstream_body_mib = 64    # largest upstream answer (or one stream event) read

# Accounts are added with `switchyard accounts add PROVIDER ...`.

# [models]                    # aliases: requested name -> upstream model
# "gpt-4o" = "gemini-2.5-flash"
"#;

impl Config {
    /// Parses config text. `path` only names the file in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|err| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: err.to_string().trim_end().to_string(),
        })?;
        config.check().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(config)
    }

    /// Cross-field checks that serde cannot express.
    fn check(&self) -> Result<(), String> {
        // Checked here rather than during parsing so that the message does
        // not quote the offending line, which holds the key.
        if let Some(key) = &self.proxy.api_key {
            validate_api_key(key).map_err(|why| format!("proxy.api_key: {why}"))?;
        }
        let mut seen = std::collections::HashSet::new();
        for account in &self.accounts {
            if !seen.insert(account.id.as_str()) {
                return Err(format!(
                    "accounts: the id `{}` is used twice; ids must be unique",
                    account.id
                ));
            }
            if let Some(url) = &account.base_url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(format!(
                    "accounts `{}`: base_url `{url}` must start with http:// or https://",
                    account.id
                ));
            }
            if let Some(url) = &account.proxy_url
                && !["http://", "https://", "socks5://", "socks5h://"]
                    .iter()
                    .any(|s| url.starts_with(s))
            {
                return Err(format!(
                    "accounts `{}`: proxy_url must start with http://, https://, socks5:// or socks5h://",
                    account.id
                ));
            }
            if account.no_key && account.provider != ProviderKind::Openai {
                return Err(format!(
                    "accounts `{}`: no_key is for openai accounts (OpenAI-compatible local servers); a {} account \
                     needs its key",
                    account.id, account.provider
                ));
            }
            if account.provider == ProviderKind::Google && self.providers.google.is_none() {
                return Err(format!(
                    "accounts `{}` is a google account, but there is no [providers.google] section with the OAuth \
                     client_id and client_secret to refresh its token",
                    account.id
                ));
            }
        }
        let urls = [
            (
                "cluster.redis_url",
                &self.cluster.redis_url,
                "SWITCHYARD_REDIS_URL",
                "redis",
            ),
            (
                "monitor.database_url",
                &self.monitor.database_url,
                "SWITCHYARD_DATABASE_URL",
                "database",
            ),
        ];
        for (key, url, env, which) in urls {
            if url.as_deref().is_some_and(url_has_password) {
                return Err(format!(
                    "{key}: the URL holds a password, which config.toml must not keep; remove it here and keep \
                     the whole URL in the secret store (`switchyard config store-url {which} < url.txt`) or in the \
                     environment variable {env}"
                ));
            }
        }
        for (name, chain) in &self.fallbacks {
            if let Some(link) = chain.iter().find(|link| link.trim().is_empty()) {
                return Err(format!("fallbacks `{name}`: the chain names an empty model {link:?}"));
            }
        }
        Ok(())
    }

    /// Reads the configuration of `home`; a missing file gives the defaults.
    pub fn load(home: &Home) -> Result<Config, ConfigError> {
        let path = home.config_file();
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text, &path),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// The enabled accounts.
    pub fn enabled_accounts(&self) -> impl Iterator<Item = &AccountConfig> {
        self.accounts.iter().filter(|a| a.enabled)
    }

    /// The account with this id.
    pub fn account(&self, id: &str) -> Option<&AccountConfig> {
        self.accounts.iter().find(|a| a.id == id)
    }
}

/// The mode `config.toml` is written with on Unix: only the user reads it
/// (it may hold `proxy.api_key`, the OAuth client secret and proxy
/// credentials). A stricter mode the user set is kept.
const FILE_MODE: u32 = 0o600;

/// Writes the commented default configuration if there is no config file yet.
pub fn init(home: &Home) -> Result<(), ConfigError> {
    let path = home.config_file();
    if path.exists() {
        return Ok(());
    }
    let _lock = home.lock().map_err(|source| ConfigError::Write {
        path: path.clone(),
        source,
    })?;
    if path.exists() {
        return Ok(());
    }
    home::write_atomic(&path, DEFAULT_CONFIG.as_bytes(), FILE_MODE)
        .map_err(|source| ConfigError::Write { path, source })
}

/// Applies `change` to the config document and saves it.
///
/// The change runs on the parsed `toml_edit` document so the user's comments
/// and layout survive. The result must parse as a valid [`Config`] before it
/// replaces the file; an existing file that does not parse is never touched.
/// Returns the new configuration.
pub fn edit<F>(home: &Home, change: F) -> Result<Config, ConfigError>
where
    F: FnOnce(&mut toml_edit::DocumentMut) -> Result<(), ConfigError>,
{
    let path = home.config_file();
    let write_err = |source| ConfigError::Write {
        path: path.clone(),
        source,
    };
    let _lock = home.lock().map_err(write_err)?;
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => DEFAULT_CONFIG.to_string(),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    // Validate the current file first: a broken file is the user's to fix.
    Config::parse(&text, &path)?;
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|err: toml_edit::TomlError| ConfigError::Invalid {
        path: path.clone(),
        message: err.to_string(),
    })?;
    change(&mut doc)?;
    let new_text = doc.to_string();
    let config = Config::parse(&new_text, &path)?;
    home::write_atomic(&path, new_text.as_bytes(), FILE_MODE).map_err(write_err)?;
    Ok(config)
}

/// Appends an account to the document.
pub fn push_account(doc: &mut toml_edit::DocumentMut, account: &AccountConfig) -> Result<(), ConfigError> {
    let table = toml_edit::ser::to_document(account)
        .map_err(|err| ConfigError::Rejected(format!("cannot encode the account: {err}")))?
        .as_table()
        .clone();
    let accounts = doc
        .entry("accounts")
        .or_insert_with(|| toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()));
    let accounts = accounts.as_array_of_tables_mut().ok_or_else(|| {
        ConfigError::Rejected("`accounts` in config.toml must be written as [[accounts]] tables".into())
    })?;
    accounts.push(table);
    Ok(())
}

/// Finds the `[[accounts]]` table with this id.
pub fn account_table<'a>(
    doc: &'a mut toml_edit::DocumentMut,
    id: &str,
) -> Result<&'a mut toml_edit::Table, ConfigError> {
    doc.get_mut("accounts")
        .and_then(toml_edit::Item::as_array_of_tables_mut)
        .and_then(|tables| {
            tables
                .iter_mut()
                .find(|t| t.get("id").and_then(|v| v.as_str()) == Some(id))
        })
        .ok_or_else(|| no_such_account(id))
}

/// Removes the `[[accounts]]` table with this id.
pub fn remove_account(doc: &mut toml_edit::DocumentMut, id: &str) -> Result<(), ConfigError> {
    let tables = doc
        .get_mut("accounts")
        .and_then(toml_edit::Item::as_array_of_tables_mut)
        .ok_or_else(|| no_such_account(id))?;
    let before = tables.len();
    tables.retain(|t| t.get("id").and_then(|v| v.as_str()) != Some(id));
    if tables.len() == before {
        return Err(no_such_account(id));
    }
    if tables.is_empty() {
        doc.remove("accounts");
    }
    Ok(())
}

/// Sets `[proxy] key = value`.
pub fn set_proxy(doc: &mut toml_edit::DocumentMut, key: &str, value: impl Into<toml_edit::Value>) {
    let proxy = doc
        .entry("proxy")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
    proxy[key] = toml_edit::value(value);
}

fn no_such_account(id: &str) -> ConfigError {
    ConfigError::Rejected(format!(
        "no account with id `{id}`; `switchyard accounts list` shows the ids"
    ))
}

/// A new account id: `acc_` and 8 random hex digits.
pub fn new_account_id() -> String {
    let mut bytes = [0u8; 4];
    // The OS RNG does not fail on supported platforms; a zero id would only
    // collide, which `Config::check` reports.
    let _ = getrandom::fill(&mut bytes);
    format!("acc_{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("config.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_database_url_with_a_password_is_refused_without_quoting_it() {
        let err = parse("[cluster]\nredis_url = \"redis://:hunter2@redis.internal:6379/0\"\n").unwrap_err();
        assert!(
            err.contains("cluster.redis_url") && err.contains("SWITCHYARD_REDIS_URL"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        let cluster = parse("[cluster]\nredis_url = \"redis://redis.internal:6379/0\"\nkey_prefix = \"team:\"\n")
            .unwrap()
            .cluster;
        assert_eq!(cluster.redis_url.as_deref(), Some("redis://redis.internal:6379/0"));
        assert_eq!(cluster.key_prefix, "team:");
        let proxies = parse("[proxy]\ntrusted_proxies = [\"10.0.0.0/24\"]\n")
            .unwrap()
            .proxy
            .trusted_proxies;
        assert_eq!(proxies, vec!["10.0.0.0/24".parse::<ipnet::IpNet>().unwrap()]);
        assert!(
            parse("[cluster]\nredis = \"x\"\n")
                .unwrap_err()
                .contains("unknown field")
        );
    }

    #[test]
    fn a_postgres_url_is_taken_without_a_password_only() {
        let monitor = parse("[monitor]\ndatabase_url = \"postgres://switchyard@db.internal:5432/log\"\n")
            .unwrap()
            .monitor;
        assert_eq!(
            monitor.database_url.as_deref(),
            Some("postgres://switchyard@db.internal:5432/log")
        );
        let err = parse("[monitor]\ndatabase_url = \"postgres://switchyard:hunter2@db.internal/log\"\n").unwrap_err();
        assert!(
            err.contains("monitor.database_url") && err.contains("SWITCHYARD_DATABASE_URL"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn default_template_is_the_default_config() {
        assert_eq!(parse(DEFAULT_CONFIG).unwrap(), Config::default());
        let p = Config::default().proxy;
        assert_eq!(p.port, 8045);
        assert!(!p.allow_lan_access);
        assert_eq!(p.auth_mode, AuthMode::Auto);
        assert!(!p.auto_start);
        assert_eq!(p.request_timeout_secs, 600);
        assert_eq!(p.secret_store, SecretStoreKind::Keychain);
    }

    #[test]
    fn empty_file_is_the_default_config() {
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn round_trips_through_serialization() {
        let mut config = Config::default();
        config.proxy.port = 9000;
        config.proxy.auth_mode = AuthMode::Strict;
        config.accounts.push(AccountConfig {
            id: "acc_1".into(),
            provider: ProviderKind::Anthropic,
            label: "z.ai".into(),
            base_url: Some("https://api.z.ai/api/anthropic".into()),
            models: vec!["glm-*".into()],
            priority: 1,
            enabled: false,
            project: None,
            proxy_url: None,
            no_key: false,
            weight: 1,
        });
        config.models.insert("gpt-4o".into(), "gemini-2.5-flash".into());
        let text = toml::to_string(&config).unwrap();
        assert_eq!(parse(&text).unwrap(), config);
    }

    #[test]
    fn invalid_values_name_the_key_and_the_allowed_values() {
        let cases = [
            ("[proxy]\nport = 0", "port", "1 to 65535"),
            ("[proxy]\nport = 70000", "port", "1 to 65535"),
            ("[proxy]\nport = -1", "port", "1 to 65535"),
            ("[proxy]\nauth_mode = \"foo\"", "auth_mode", "all_except_health"),
            ("[proxy]\nsecret_store = \"vault\"", "secret_store", "keychain"),
            ("[proxy]\napi_key = \"abc123456789\"", "api_key", "sk-"),
            ("[proxy]\napi_key = \"sk-12\"", "api_key", "at least 10"),
            (
                "[proxy]\nrequest_timeout_secs = 0",
                "request_timeout_secs",
                "at least 1",
            ),
            ("[proxy]\nallow_lan_access = \"yes\"", "allow_lan_access", "bool"),
            ("[proxy]\nportt = 1", "portt", "expected one of"),
            ("colour = 1", "colour", "expected one of"),
            ("[[accounts]]\nid = \"a\"\nprovider = \"azure\"", "provider", "gemini"),
            (
                "[[accounts]]\nid = \"a\"\nprovider = \"gemini\"\nbase_url = \"ftp://x\"",
                "base_url",
                "http://",
            ),
            (
                "[[accounts]]\nid = \"a\"\nprovider = \"gemini\"\n[[accounts]]\nid = \"a\"\nprovider = \"openai\"",
                "`a`",
                "unique",
            ),
        ];
        for (text, key, allowed) in cases {
            let err = parse(text).expect_err(text);
            assert!(err.contains(key), "{text:?}: {err}");
            assert!(err.contains(allowed), "{text:?}: {err}");
            assert!(err.contains("config.toml"), "{text:?}: {err}");
            assert!(!err.contains("abc123456789"), "the key leaked into: {err}");
        }
    }

    #[test]
    fn a_valid_user_key_is_accepted() {
        let config = parse("[proxy]\napi_key = \"sk-local-dev-key\"").unwrap();
        assert_eq!(config.proxy.api_key.as_deref(), Some("sk-local-dev-key"));
    }

    #[test]
    fn auth_mode_auto_follows_lan_access() {
        assert_eq!(AuthMode::Auto.effective(false), AuthMode::Off);
        assert_eq!(AuthMode::Auto.effective(true), AuthMode::AllExceptHealth);
        assert_eq!(AuthMode::Strict.effective(false), AuthMode::Strict);
        assert_eq!(AuthMode::Off.effective(true), AuthMode::Off);
    }

    #[test]
    fn edit_keeps_comments_and_validates() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        init(&home).unwrap();
        let account = AccountConfig {
            id: "acc_x".into(),
            provider: ProviderKind::Gemini,
            label: "work".into(),
            base_url: None,
            models: vec![],
            priority: 0,
            enabled: true,
            project: None,
            proxy_url: None,
            no_key: false,
            weight: 1,
        };
        let config = edit(&home, |doc| push_account(doc, &account)).unwrap();
        assert_eq!(config.accounts, vec![account.clone()]);
        let text = std::fs::read_to_string(home.config_file()).unwrap();
        assert!(text.contains("# Switchyard configuration"), "{text}");
        assert!(text.contains("[[accounts]]"), "{text}");

        let config = edit(&home, |doc| {
            account_table(doc, "acc_x")?["enabled"] = toml_edit::value(false);
            Ok(())
        })
        .unwrap();
        assert!(!config.accounts[0].enabled);

        // A change that makes the config invalid is refused and nothing is written.
        let before = std::fs::read_to_string(home.config_file()).unwrap();
        let err = edit(&home, |doc| {
            set_proxy(doc, "port", 0);
            Ok(())
        })
        .unwrap_err();
        assert!(err.to_string().contains("port"), "{err}");
        assert_eq!(std::fs::read_to_string(home.config_file()).unwrap(), before);

        let config = edit(&home, |doc| remove_account(doc, "acc_x")).unwrap();
        assert!(config.accounts.is_empty());
        assert!(edit(&home, |doc| remove_account(doc, "acc_x")).is_err());
    }

    #[test]
    fn the_commented_settings_stay_in_proxy_when_accounts_are_added() {
        // The guard's 403 says "add it under [proxy]: allowed_hosts = [...]";
        // uncommenting the template's line must do that, also after
        // `accounts add` appended [[accounts]] tables (comments at the end of
        // the file stay at the end, below them).
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        init(&home).unwrap();
        let account = AccountConfig {
            id: "acc_x".into(),
            provider: ProviderKind::Openai,
            label: "work".into(),
            base_url: None,
            models: vec![],
            priority: 0,
            enabled: true,
            project: None,
            proxy_url: None,
            no_key: false,
            weight: 1,
        };
        edit(&home, |doc| push_account(doc, &account)).unwrap();
        let text = std::fs::read_to_string(home.config_file()).unwrap();
        let uncommented = text
            .replace("# allowed_hosts = ", "allowed_hosts = ")
            .replace("# allowed_origins = ", "allowed_origins = ");
        assert_ne!(uncommented, text);
        let config = parse(&uncommented).unwrap_or_else(|err| panic!("{err}\n{uncommented}"));
        assert_eq!(config.proxy.allowed_hosts, ["my-tunnel.example"]);
        assert_eq!(config.proxy.allowed_origins, ["https://app.example"]);
        assert_eq!(config.accounts, [account]);
    }

    #[test]
    fn an_unparseable_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let broken = "[proxy\nport = 8045\n";
        std::fs::write(home.config_file(), broken).unwrap();
        let err = edit(&home, |doc| {
            set_proxy(doc, "port", 9000);
            Ok(())
        })
        .unwrap_err();
        assert!(err.to_string().contains("left untouched"), "{err}");
        assert!(err.to_string().contains("line 1"), "{err}");
        assert_eq!(std::fs::read_to_string(home.config_file()).unwrap(), broken);
        assert!(Config::load(&home).is_err());
        init(&home).unwrap();
        assert_eq!(std::fs::read_to_string(home.config_file()).unwrap(), broken);
    }

    #[test]
    fn account_ids_are_prefixed_and_random() {
        let a = new_account_id();
        let b = new_account_id();
        assert!(a.starts_with("acc_") && a.len() == 12, "{a}");
        assert_ne!(a, b);
    }
}
