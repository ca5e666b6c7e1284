//! Qwen Code (a Gemini CLI fork speaking the OpenAI API):
//! `~/.qwen/settings.json` selects the `openai` auth type and the model,
//! `~/.qwen/.env` holds `OPENAI_API_KEY`, `OPENAI_BASE_URL` (with `/v1`)
//! and `OPENAI_MODEL`. Needs a model.

use serde_json::json;

use super::{Context, FileEdit, Setting, format::Format};

/// The files and settings.
pub fn files(ctx: &Context) -> Vec<FileEdit> {
    let dir = ctx.dirs.home.join(".qwen");
    let model = ctx.model.clone().unwrap_or_default();
    vec![
        FileEdit {
            path: dir.join("settings.json"),
            format: Format::Json,
            settings: vec![
                Setting::new(&["security", "auth", "selectedType"], json!("openai")),
                Setting::new(&["model", "name"], json!(model)),
            ],
        },
        FileEdit {
            path: dir.join(".env"),
            format: Format::Dotenv,
            settings: vec![
                Setting::secret(&["OPENAI_API_KEY"], &ctx.key),
                Setting::new(&["OPENAI_BASE_URL"], json!(format!("{}/v1", ctx.base_url))),
                Setting::new(&["OPENAI_MODEL"], json!(model)),
            ],
        },
    ]
}
