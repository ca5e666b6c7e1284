//! The command line of SPEC §2.
//!
//! Every command is a thin layer over the library: it parses, calls, and
//! prints. Errors print one message that names what failed and what to do
//! next; the exit code is 0 on success, 1 on a runtime failure and 2 on a
//! usage error (clap's own code for bad arguments).

mod accounts;
mod autostart;
mod client;
mod connect;
mod env;
mod key;
mod keys;
mod logs;
mod models;
mod serve;
mod status;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::config::{AuthMode, Config, ProviderKind};
use crate::home::Home;
use crate::secrets::{self, SecretStore};

/// Switchyard: one local endpoint for the OpenAI, Anthropic and Gemini APIs,
/// served by your pool of upstream accounts.
#[derive(Debug, Parser)]
#[command(name = "switchyard", version, about, long_about = None)]
pub struct Cli {
    /// What to do; without a command the tray agent starts.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway in the foreground until Ctrl-C / SIGTERM.
    Serve(ServeArgs),
    /// Manage the upstream accounts.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Show or change the gateway's own API key.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Client keys: one per tool, device or colleague, each with its own models, limits and usage.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Is a gateway running? Its base URL, accounts and auth mode.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Where the configuration lives, and what it says.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The request log: every API call with its account, model, latency and tokens.
    Logs(LogsArgs),
    /// Token usage and requests, grouped by model, account or day.
    Usage(UsageArgs),
    /// The served models: the accounts and tiers serving each, and its limits.
    Models {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Point a tool (Claude Code, Codex, Gemini CLI, OpenCode, ...) at this gateway: writes its own config.
    Connect(ConnectArgs),
    /// Print the variables the OpenAI, Anthropic and Gemini SDKs read: `eval "$(switchyard env)"`.
    Env {
        /// The shell whose syntax to print.
        #[arg(long, value_enum, default_value = "bash")]
        shell: EnvShell,
    },
    /// Start the tray at login: on, off, or status.
    Autostart {
        /// on, off or status.
        #[arg(value_enum)]
        action: AutostartAction,
    },
}

/// `switchyard connect` options.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The tool: claude-code, codex, gemini-cli, opencode, qwen-code, aider, llm.
    #[arg(value_enum)]
    pub tool: Option<crate::connect::Tool>,
    /// The model the tool asks for (needed by opencode, qwen-code, aider and llm).
    #[arg(long)]
    pub model: Option<String>,
    /// Print a unified diff of what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Take the tool's configuration back to what it was.
    #[arg(long, conflicts_with_all = ["admin_key", "model", "list", "refresh"])]
    pub undo: bool,
    /// Write the gateway key instead of a client key of the tool's own.
    #[arg(long)]
    pub admin_key: bool,
    /// Each known tool: installed, connected, or stale.
    #[arg(long, conflicts_with_all = ["tool", "refresh", "dry_run", "model", "admin_key"])]
    pub list: bool,
    /// Connect every connected tool again (after a key rotation or a port change).
    #[arg(long, conflicts_with_all = ["tool", "model", "admin_key"])]
    pub refresh: bool,
}

/// `switchyard env --shell`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EnvShell {
    /// bash (also sh).
    Bash,
    /// zsh.
    Zsh,
    /// fish.
    Fish,
    /// PowerShell.
    Powershell,
}

/// `switchyard logs` options.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Keep printing new calls as they are recorded.
    #[arg(long, short)]
    pub follow: bool,
    /// One JSON object per line.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// CSV with a header line (an unpriced call's cost_usd is empty).
    #[arg(long)]
    pub csv: bool,
    /// Only calls since this long ago (90s, 15m, 24h, 7d) or since an RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only calls for this model (requested or served).
    #[arg(long)]
    pub model: Option<String>,
    /// Only calls served by this account (label or id).
    #[arg(long)]
    pub account: Option<String>,
    /// Only calls made with the client key of this name.
    #[arg(long)]
    pub key: Option<String>,
    /// At most this many calls (the newest).
    #[arg(long, short = 'n', default_value_t = 50)]
    pub limit: usize,
}

/// `switchyard usage` options.
#[derive(Debug, Args)]
pub struct UsageArgs {
    /// How to group.
    #[arg(long, value_enum, default_value = "model")]
    pub by: UsageGrouping,
    /// Only the UTC days from the one this long ago (90s, 15m, 24h, 7d) or
    /// this RFC 3339 time falls in (usage is kept per day, beyond the log's retention).
    #[arg(long)]
    pub since: Option<String>,
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV with a header line.
    #[arg(long)]
    pub csv: bool,
}

/// `usage --by`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum UsageGrouping {
    /// Per model.
    Model,
    /// Per account.
    Account,
    /// Per UTC day.
    Day,
    /// Per client key (`-`: calls without one).
    Key,
}

/// `switchyard autostart ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AutostartAction {
    /// Start the tray at login.
    On,
    /// Do not start it at login.
    Off,
    /// Print whether it starts at login.
    Status,
}

/// `switchyard serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on (overrides `port` in config.toml).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
    /// Listen on all interfaces (LAN access) instead of 127.0.0.1.
    #[arg(long)]
    pub lan: bool,
    /// Which requests need the API key: off, strict, all_except_health, auto.
    #[arg(long, value_parser = parse_auth_mode)]
    pub auth_mode: Option<AuthMode>,
    /// Allow LAN access with auth off (anyone on the network can use your accounts).
    #[arg(long)]
    pub insecure_lan: bool,
}

fn parse_auth_mode(value: &str) -> Result<AuthMode, String> {
    value.parse()
}

/// `switchyard accounts ...`.
#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Add an upstream account; its secret goes to the secret store.
    Add(AddArgs),
    /// Sign in with Google (OAuth in the browser) and add the account.
    Login(LoginArgs),
    /// List the accounts, with live state when a gateway is running.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove an account and its secret.
    Remove {
        /// The account id (see `accounts list`).
        id: String,
    },
    /// Enable an account (and clear a running gateway's disablement of it).
    Enable {
        /// The account id.
        id: String,
    },
    /// Disable an account without removing it.
    Disable {
        /// The account id.
        id: String,
    },
}

/// `switchyard accounts add` options.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The provider: gemini, openai, anthropic (also z.ai and other compatible endpoints), google;
    /// or a local model server, keyless: ollama, lmstudio (openai accounts with their base URL).
    #[arg(value_enum)]
    pub provider: AddProvider,
    /// A name for the account.
    #[arg(long)]
    pub label: Option<String>,
    /// The provider endpoint, when not the default (e.g. https://api.z.ai/api/anthropic).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Read the API key from standard input.
    #[arg(long, group = "secret")]
    pub api_key_stdin: bool,
    /// Read the API key from this environment variable.
    #[arg(long, value_name = "VAR", group = "secret")]
    pub api_key_env: Option<String>,
    /// Read an OAuth refresh token from standard input (google accounts).
    #[arg(long, group = "secret")]
    pub refresh_token_stdin: bool,
    /// Model globs this account serves, comma-separated (e.g. 'gemini-*,gemma-*'); default: any model.
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
    /// Tier: lower numbers are preferred; higher ones serve only when better tiers cannot.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i32,
    /// Google accounts: the Cloud project for Code Assist (looked up when omitted).
    #[arg(long)]
    pub project: Option<String>,
    /// Send this account's requests through a proxy (http://, https:// or socks5://).
    #[arg(long)]
    pub proxy_url: Option<String>,
    /// Its share under `strategy = "weighted"` (an account of weight 3 gets three calls for every one of weight 1).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub weight: u32,
    /// The server takes no key (a local OpenAI-compatible server): nothing is stored, nothing sent.
    #[arg(long, conflicts_with = "secret")]
    pub no_key: bool,
}

/// What `accounts add` adds: a provider, or a preset of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AddProvider {
    /// Gemini API key.
    Gemini,
    /// OpenAI or an OpenAI-compatible server.
    Openai,
    /// Anthropic or an Anthropic-compatible server.
    Anthropic,
    /// Google OAuth (Code Assist).
    Google,
    /// Ollama on this machine: a keyless openai account at http://127.0.0.1:11434/v1.
    Ollama,
    /// LM Studio on this machine: a keyless openai account at http://127.0.0.1:1234/v1.
    Lmstudio,
}

impl AddProvider {
    /// The provider it adds.
    pub fn kind(self) -> ProviderKind {
        match self {
            AddProvider::Gemini => ProviderKind::Gemini,
            AddProvider::Openai | AddProvider::Ollama | AddProvider::Lmstudio => ProviderKind::Openai,
            AddProvider::Anthropic => ProviderKind::Anthropic,
            AddProvider::Google => ProviderKind::Google,
        }
    }

    /// A preset's name (its default label) and base URL; keyless.
    pub fn preset(self) -> Option<(&'static str, &'static str)> {
        match self {
            AddProvider::Ollama => Some(("ollama", "http://127.0.0.1:11434/v1")),
            AddProvider::Lmstudio => Some(("lmstudio", "http://127.0.0.1:1234/v1")),
            _ => None,
        }
    }
}

/// `switchyard accounts login` options.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The provider to sign in with: google.
    #[arg(value_enum)]
    pub provider: ProviderKind,
    /// A name for the account.
    #[arg(long)]
    pub label: Option<String>,
    /// The Cloud project for Code Assist (looked up when omitted).
    #[arg(long)]
    pub project: Option<String>,
    /// Model globs this account serves, comma-separated; default: any model.
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
    /// Tier: lower numbers are preferred.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i32,
    /// Print the sign-in URL without trying to open a browser.
    #[arg(long)]
    pub no_browser: bool,
}

/// `switchyard key ...`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print the gateway's API key.
    Show,
    /// Replace the key with a new random one and print it.
    Rotate,
    /// Set the key from standard input (must start with `sk-`, 10+ characters).
    Set,
}

/// `switchyard keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a client key and print it (once).
    Add(KeysAddArgs),
    /// List the client keys: names, dates, limits and use today (never the keys).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a client key: calls made with it are refused from now on.
    Revoke {
        /// The key's name.
        name: String,
    },
    /// Give a client key a new key (its limits stay) and print it; the old one stops working.
    Rotate {
        /// The key's name.
        name: String,
    },
}

/// `switchyard keys add` options.
#[derive(Debug, Args)]
pub struct KeysAddArgs {
    /// A name for the key: the tool, device or person that holds it (letters, digits, - _ . @).
    pub name: String,
    /// The models it may use, comma-separated globs over the served model (after aliases), e.g. 'gemini-*,gpt-4.1'.
    #[arg(long)]
    pub models: Option<String>,
    /// Most requests per minute.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub rpm: Option<u32>,
    /// Most tokens (input and output) per UTC day.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub tokens_per_day: Option<u64>,
    /// When it stops working: a date (2027-01-31, at 00:00 UTC), an RFC 3339 time, or a duration (30d).
    #[arg(long)]
    pub expires: Option<String>,
    /// The networks it may be used from, comma-separated (192.168.1.0/24, 10.0.0.7).
    #[arg(long)]
    pub allow_ip: Option<String>,
}

/// `switchyard config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print where the configuration and state live.
    Path,
    /// Print the effective configuration, secrets masked.
    Show,
    /// Keep team mode's Redis or Postgres URL (it may hold a password) in
    /// the secret store: reads it from standard input, never the command line.
    StoreUrl {
        /// redis (`[cluster] redis_url`) or database (`[monitor] database_url`).
        #[arg(value_enum)]
        which: TeamUrlArg,
    },
    /// Delete a URL kept with `config store-url`.
    ForgetUrl {
        /// redis or database.
        #[arg(value_enum)]
        which: TeamUrlArg,
    },
}

/// Which team-mode URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TeamUrlArg {
    /// The Redis of the shared state.
    Redis,
    /// The Postgres of the request log.
    Database,
}

impl From<TeamUrlArg> for secrets::TeamUrl {
    fn from(which: TeamUrlArg) -> Self {
        match which {
            TeamUrlArg::Redis => secrets::TeamUrl::Redis,
            TeamUrlArg::Database => secrets::TeamUrl::Database,
        }
    }
}

/// A command that failed: the message to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// What failed and what to do next.
    pub message: String,
    /// 1 runtime failure, 2 usage error.
    pub code: u8,
}

impl Failure {
    /// A runtime failure (exit code 1).
    pub fn runtime(message: impl std::fmt::Display) -> Self {
        Failure {
            message: message.to_string(),
            code: 1,
        }
    }

    /// A usage error (exit code 2).
    pub fn usage(message: impl std::fmt::Display) -> Self {
        Failure {
            message: message.to_string(),
            code: 2,
        }
    }
}

/// Errors of the library layers are runtime failures with their own message.
macro_rules! runtime_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Failure {
            fn from(err: $t) -> Self {
                Failure::runtime(err)
            }
        }
    )*};
}
runtime_from!(
    crate::config::ConfigError,
    crate::secrets::SecretError,
    crate::gateway::StartError,
    std::io::Error
);

/// Runs the command line and returns the process exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version print and succeed; bad arguments exit 2.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    init_logging(matches!(cli.command, Some(Command::Serve(_)) | None));
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("switchyard: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn dispatch(cli: Cli) -> Result<(), Failure> {
    let home = Home::from_env()?;
    // Before anything reads or writes it: tighten the home to 0700, or warn
    // when it is another user's or others may write to it.
    home.secure();
    match cli.command {
        None => tray(home),
        Some(Command::Serve(args)) => serve::run(&home, args),
        Some(Command::Accounts(command)) => accounts::run(&home, command),
        Some(Command::Key(command)) => key::run(&home, command),
        Some(Command::Keys(command)) => keys::run(&home, command),
        Some(Command::Status { json }) => status::status(&home, json),
        Some(Command::Config(ConfigCommand::Path)) => status::config_path(&home),
        Some(Command::Config(ConfigCommand::Show)) => status::config_show(&home),
        Some(Command::Config(ConfigCommand::StoreUrl { which })) => status::store_url(&home, which.into()),
        Some(Command::Config(ConfigCommand::ForgetUrl { which })) => status::forget_url(&home, which.into()),
        Some(Command::Logs(args)) => logs::logs(&home, args),
        Some(Command::Usage(args)) => logs::usage(&home, args),
        Some(Command::Models { json }) => models::models(&home, json),
        Some(Command::Connect(args)) => connect::run(&home, args),
        Some(Command::Env { shell }) => env::run(&home, shell),
        Some(Command::Autostart { action }) => autostart::run(action),
    }
}

/// `switchyard` with no command: the tray agent.
#[cfg(feature = "tray")]
fn tray(home: Home) -> Result<(), Failure> {
    crate::tray::run(home).map_err(Failure::runtime)
}

#[cfg(not(feature = "tray"))]
fn tray(_home: Home) -> Result<(), Failure> {
    Err(Failure::runtime(
        "this build of Switchyard has no tray (it was built without the `tray` feature). Run the gateway headless \
         with `switchyard serve`.",
    ))
}

/// Logs go to stderr; `SWITCHYARD_LOG` (or `RUST_LOG`) sets the filter.
/// The gateway logs at `info` by default, the other commands at `warn`.
fn init_logging(long_running: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if long_running { "info" } else { "warn" };
    let filter = std::env::var("SWITCHYARD_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// The configuration and the secret store it selects.
fn open(home: &Home) -> Result<(Config, Arc<dyn SecretStore>), Failure> {
    let config = Config::load(home)?;
    let store = secrets::open(home, &config)?;
    Ok((config, store))
}
