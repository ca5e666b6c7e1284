//! Simon Willison's `llm`: in its user directory (`$LLM_USER_PATH`, else
//! `~/.config/io.datasette.llm`), `extra-openai-models.yaml` gets a model
//! `switchyard` (an entry of its list, edited as a block of lines) whose
//! `api_key_name` names the key that `keys.json` holds. Use it with
//! `llm -m switchyard`, or make it the default with `llm models default switchyard`.
//! Needs a model.

use serde_json::json;

use super::{Context, FileEdit, Setting, format::Format};

/// The model id `llm -m` takes, and the name of its key in `keys.json`.
pub const MODEL_ID: &str = "switchyard";

/// The files and settings.
pub fn files(ctx: &Context) -> Vec<FileEdit> {
    let dir = ctx
        .dirs
        .llm_user_path
        .clone()
        .unwrap_or_else(|| ctx.dirs.config_home.join("io.datasette.llm"));
    let model = ctx.model.clone().unwrap_or_default();
    vec![
        FileEdit {
            path: dir.join("extra-openai-models.yaml"),
            format: Format::YamlList,
            settings: vec![Setting::new(
                &[MODEL_ID],
                json!({
                    "model_name": model,
                    "api_base": format!("{}/v1", ctx.base_url),
                    "api_key_name": MODEL_ID,
                }),
            )],
        },
        FileEdit {
            path: dir.join("keys.json"),
            format: Format::Json,
            settings: vec![Setting::secret(&[MODEL_ID], &ctx.key)],
        },
    ]
}
