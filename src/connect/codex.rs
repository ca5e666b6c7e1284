//! Codex: `~/.codex/config.toml` (or `$CODEX_HOME`): a model provider of its
//! own, `[model_providers.switchyard]`, chosen by `model_provider`.
//!
//! Codex reads a provider's key from an environment variable (`env_key`)
//! by default; `experimental_bearer_token` carries it in the file instead,
//! so no variable is needed. `auth.json` (the user's own OpenAI login) is
//! never touched. `wire_api = "responses"`: Codex posts to
//! `{base_url}/responses`, hence the `/v1`.

use serde_json::json;

use super::{Context, FileEdit, Setting, format::Format};

/// The provider id in `model_providers`.
pub const PROVIDER: &str = "switchyard";

/// The files and settings.
pub fn files(ctx: &Context) -> Vec<FileEdit> {
    let dir = ctx
        .dirs
        .codex_home
        .clone()
        .unwrap_or_else(|| ctx.dirs.home.join(".codex"));
    let provider = |key: &'static str| ["model_providers", PROVIDER, key];
    let mut settings = vec![Setting::new(&["model_provider"], json!(PROVIDER))];
    if let Some(model) = &ctx.model {
        settings.push(Setting::new(&["model"], json!(model)));
    }
    settings.extend([
        Setting::new(&provider("name"), json!("Switchyard")),
        Setting::new(&provider("base_url"), json!(format!("{}/v1", ctx.base_url))),
        Setting::new(&provider("wire_api"), json!("responses")),
        Setting::secret(&provider("experimental_bearer_token"), &ctx.key),
    ]);
    vec![FileEdit {
        path: dir.join("config.toml"),
        format: Format::Toml,
        settings,
    }]
}
