//! Claude Code: `~/.claude/settings.json` (or `$CLAUDE_CONFIG_DIR`), whose
//! `env` object Claude Code applies to itself at start.
//!
//! `ANTHROPIC_AUTH_TOKEN` is sent as `Authorization: Bearer`, which the
//! gateway accepts, and unlike `ANTHROPIC_API_KEY` it needs no "use this
//! custom API key?" approval in an interactive session. The base URL has no
//! `/v1`: Claude Code appends `/v1/messages` itself.

use serde_json::json;

use super::{Context, FileEdit, Setting, format::Format};

/// The files and settings.
pub fn files(ctx: &Context) -> Vec<FileEdit> {
    let dir = ctx
        .dirs
        .claude_config_dir
        .clone()
        .unwrap_or_else(|| ctx.dirs.home.join(".claude"));
    let mut settings = vec![
        Setting::new(&["env", "ANTHROPIC_BASE_URL"], json!(ctx.base_url)),
        Setting::secret(&["env", "ANTHROPIC_AUTH_TOKEN"], &ctx.key),
    ];
    if let Some(model) = &ctx.model {
        settings.push(Setting::new(&["model"], json!(model)));
    }
    vec![FileEdit {
        path: dir.join("settings.json"),
        format: Format::Json,
        settings,
    }]
}
