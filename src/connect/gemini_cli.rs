//! Gemini CLI: `~/.gemini/settings.json` selects API-key auth (without it
//! the CLI exits 41, "Invalid auth method selected"), and `~/.gemini/.env`,
//! which the CLI loads when no project `.env` is found, holds the key and
//! `GOOGLE_GEMINI_BASE_URL` (no `/v1beta`: the SDK adds it).
//!
//! A variable already set in the shell wins over the `.env` file.

use serde_json::json;

use super::{Context, FileEdit, Setting, format::Format};

/// The files and settings.
pub fn files(ctx: &Context) -> Vec<FileEdit> {
    let dir = ctx.dirs.home.join(".gemini");
    let mut settings = vec![Setting::new(
        &["security", "auth", "selectedType"],
        json!("gemini-api-key"),
    )];
    if let Some(model) = &ctx.model {
        settings.push(Setting::new(&["model", "name"], json!(model)));
    }
    vec![
        FileEdit {
            path: dir.join("settings.json"),
            format: Format::Json,
            settings,
        },
        FileEdit {
            path: dir.join(".env"),
            format: Format::Dotenv,
            settings: vec![
                Setting::secret(&["GEMINI_API_KEY"], &ctx.key),
                Setting::new(&["GOOGLE_GEMINI_BASE_URL"], json!(ctx.base_url)),
            ],
        },
    ]
}
