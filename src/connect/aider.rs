//! Aider: `~/.aider.conf.yml`, whose keys are Aider's long options:
//! `openai-api-base` (with `/v1`), `openai-api-key`, and `model` as
//! `openai/NAME` (LiteLLM's prefix for an OpenAI-compatible server). Needs a
//! model.

use serde_json::json;

use super::{Context, FileEdit, Setting, format::Format};

/// The files and settings.
pub fn files(ctx: &Context) -> Vec<FileEdit> {
    let model = ctx.model.clone().unwrap_or_default();
    vec![FileEdit {
        path: ctx.dirs.home.join(".aider.conf.yml"),
        format: Format::Yaml,
        settings: vec![
            Setting::new(&["openai-api-base"], json!(format!("{}/v1", ctx.base_url))),
            Setting::secret(&["openai-api-key"], &ctx.key),
            Setting::new(&["model"], json!(format!("openai/{model}"))),
        ],
    }]
}
