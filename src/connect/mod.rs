//! `switchyard connect`: writes a tool's own configuration so that it uses
//! this home's gateway, and takes it back out again.
//!
//! Each tool is one small module that says which files hold which settings
//! (`files`); everything else is shared:
//!
//! - `format.rs` edits one setting of a JSON/JSONC, TOML, dotenv or flat
//!   YAML file and keeps every other byte;
//! - `ledger.rs` remembers, in the home's `connect.json`, what connect did to
//!   each file: whether it existed, its backup, what each setting held before,
//!   and a hash of the bytes connect wrote. That is what lets `--undo` restore
//!   the exact bytes when the file is as connect left it, and otherwise take
//!   out only connect's settings;
//! - `engine.rs` plans, diffs, writes and undoes.
//!
//! Each tool gets a client key named after it (`keys.json`); a key is shown
//! once and only its hash is kept, so connect finds the key again in the
//! tool's own file, and when it cannot, it rotates that named key.

mod aider;
mod claude_code;
mod codex;
pub mod engine;
pub mod format;
mod gemini_cli;
pub mod ledger;
mod llm;
mod opencode;
mod qwen_code;

use std::path::{Path, PathBuf};

use serde_json::Value;

use format::Format;

/// A tool connect knows how to configure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Tool {
    /// Anthropic's Claude Code (`claude`).
    #[value(name = "claude-code", alias = "claude")]
    ClaudeCode,
    /// OpenAI's Codex CLI (`codex`).
    Codex,
    /// Google's Gemini CLI (`gemini`).
    #[value(name = "gemini-cli", alias = "gemini")]
    GeminiCli,
    /// OpenCode (`opencode`).
    #[value(name = "opencode")]
    OpenCode,
    /// Qwen Code (`qwen`).
    #[value(name = "qwen-code", alias = "qwen")]
    QwenCode,
    /// Aider (`aider`).
    Aider,
    /// Simon Willison's `llm`.
    Llm,
}

impl Tool {
    /// Every tool, in the order `--list` shows them.
    pub const ALL: [Tool; 7] = [
        Tool::ClaudeCode,
        Tool::Codex,
        Tool::GeminiCli,
        Tool::OpenCode,
        Tool::QwenCode,
        Tool::Aider,
        Tool::Llm,
    ];

    /// The name on the command line, and of the tool's client key.
    pub fn id(self) -> &'static str {
        match self {
            Tool::ClaudeCode => "claude-code",
            Tool::Codex => "codex",
            Tool::GeminiCli => "gemini-cli",
            Tool::OpenCode => "opencode",
            Tool::QwenCode => "qwen-code",
            Tool::Aider => "aider",
            Tool::Llm => "llm",
        }
    }

    /// The tool's name for people.
    pub fn title(self) -> &'static str {
        match self {
            Tool::ClaudeCode => "Claude Code",
            Tool::Codex => "Codex",
            Tool::GeminiCli => "Gemini CLI",
            Tool::OpenCode => "OpenCode",
            Tool::QwenCode => "Qwen Code",
            Tool::Aider => "Aider",
            Tool::Llm => "llm",
        }
    }

    /// The program that says the tool is installed.
    pub fn program(self) -> &'static str {
        match self {
            Tool::ClaudeCode => "claude",
            Tool::Codex => "codex",
            Tool::GeminiCli => "gemini",
            Tool::OpenCode => "opencode",
            Tool::QwenCode => "qwen",
            Tool::Aider => "aider",
            Tool::Llm => "llm",
        }
    }

    /// The tool by its id.
    pub fn from_id(id: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|tool| tool.id() == id)
    }

    /// Whether the tool cannot work without a model name in its config.
    pub fn needs_model(self) -> bool {
        matches!(self, Tool::OpenCode | Tool::QwenCode | Tool::Aider | Tool::Llm)
    }

    /// The files and settings that point the tool at the gateway.
    pub fn files(self, ctx: &Context) -> Vec<FileEdit> {
        match self {
            Tool::ClaudeCode => claude_code::files(ctx),
            Tool::Codex => codex::files(ctx),
            Tool::GeminiCli => gemini_cli::files(ctx),
            Tool::OpenCode => opencode::files(ctx),
            Tool::QwenCode => qwen_code::files(ctx),
            Tool::Aider => aider::files(ctx),
            Tool::Llm => llm::files(ctx),
        }
    }

    /// What the user should know after connecting, besides the files.
    pub fn note(self) -> Option<&'static str> {
        match self {
            Tool::GeminiCli => Some(
                "Gemini CLI asks to trust a folder before it runs there; headless runs (`gemini -p`) need a trusted \
                 folder or GEMINI_CLI_TRUST_WORKSPACE=true. A GEMINI_API_KEY set in your shell wins over ~/.gemini/.env.",
            ),
            Tool::Codex => Some(
                "Codex uses the `switchyard` provider from now on; `-c model_provider=openai` goes back for one run.",
            ),
            _ => None,
        }
    }

    /// Whether the tool's program is on `PATH`.
    pub fn installed(self) -> bool {
        on_path(self.program())
    }
}

/// The model to write for `tool`: `explicit` (`--model`), else the one it
/// was connected with before, else, for a tool that needs one, the first
/// `[models]` alias or the first exact (not glob) model of an enabled account.
pub fn model_for(
    home: &crate::home::Home,
    tool: Tool,
    config: &crate::config::Config,
    explicit: Option<String>,
) -> Option<String> {
    explicit
        .or_else(|| {
            engine::connected(home)
                .into_iter()
                .find(|(t, _)| *t == tool)
                .and_then(|(_, connection)| connection.model)
        })
        .or_else(|| tool.needs_model().then(|| default_model(config)).flatten())
}

fn default_model(config: &crate::config::Config) -> Option<String> {
    config.models.keys().next().cloned().or_else(|| {
        config
            .enabled_accounts()
            .flat_map(|account| account.models.iter())
            .find(|model| !model.contains(['*', '?', '[']))
            .cloned()
    })
}

/// Whether `program` is an executable file in one of `PATH`'s directories.
fn on_path(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| executable(&dir.join(program)))
}

#[cfg(unix)]
fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn executable(path: &Path) -> bool {
    ["exe", "cmd", "bat"]
        .iter()
        .any(|ext| path.with_extension(ext).is_file())
        || path.is_file()
}

/// Where the tools keep their configuration, from the environment the way
/// the tools themselves read it.
#[derive(Debug, Clone)]
pub struct ToolDirs {
    /// `$HOME`.
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME`, else `~/.config` (OpenCode, llm).
    pub config_home: PathBuf,
    /// `$CODEX_HOME`.
    pub codex_home: Option<PathBuf>,
    /// `$CLAUDE_CONFIG_DIR`.
    pub claude_config_dir: Option<PathBuf>,
    /// `$LLM_USER_PATH`.
    pub llm_user_path: Option<PathBuf>,
}

impl ToolDirs {
    /// From this process's environment.
    pub fn from_env() -> Option<ToolDirs> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = var("HOME").or_else(dirs::home_dir)?;
        Some(ToolDirs {
            config_home: var("XDG_CONFIG_HOME").unwrap_or_else(|| home.join(".config")),
            codex_home: var("CODEX_HOME"),
            claude_config_dir: var("CLAUDE_CONFIG_DIR"),
            llm_user_path: var("LLM_USER_PATH"),
            home,
        })
    }
}

/// What a tool's settings are made of.
#[derive(Debug, Clone)]
pub struct Context {
    /// Where the tools keep their files.
    pub dirs: ToolDirs,
    /// The gateway's base URL, without `/v1`.
    pub base_url: String,
    /// The key the tool sends.
    pub key: String,
    /// The model the tool asks for, when one is set.
    pub model: Option<String>,
}

/// One setting in one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// Keys from the top of the file.
    pub path: Vec<String>,
    /// The value connect writes.
    pub value: Value,
    /// True for the key: connect reads it back to reuse it, `--list` checks it.
    pub secret: bool,
}

impl Setting {
    /// A plain setting.
    pub fn new(path: &[&str], value: Value) -> Setting {
        Setting::at(path.iter().map(|k| k.to_string()).collect(), value)
    }

    /// A plain setting at an owned path.
    pub fn at(path: Vec<String>, value: Value) -> Setting {
        Setting {
            path,
            value,
            secret: false,
        }
    }

    /// The setting that holds the key.
    pub fn secret(path: &[&str], key: &str) -> Setting {
        Setting::new(path, Value::String(key.to_string())).as_secret()
    }

    /// Marks this setting as the one holding the key.
    pub fn as_secret(mut self) -> Setting {
        self.secret = true;
        self
    }
}

/// One file of a tool and the settings connect makes in it.
#[derive(Debug, Clone)]
pub struct FileEdit {
    /// The file.
    pub path: PathBuf,
    /// Its syntax.
    pub format: Format,
    /// What connect sets there.
    pub settings: Vec<Setting>,
}
