//! OpenCode: `$XDG_CONFIG_HOME/opencode/opencode.json` (`~/.config/...`): a
//! provider `switchyard` on `@ai-sdk/openai-compatible` with the base URL
//! (with `/v1`), the key and the model, and the top-level `model` set to it.
//! OpenCode needs its models listed, so a model is required.

use serde_json::json;

use super::{Context, FileEdit, Setting, format::Format};

/// The provider id.
pub const PROVIDER: &str = "switchyard";

/// The files and settings.
pub fn files(ctx: &Context) -> Vec<FileEdit> {
    let dir = ctx.dirs.config_home.join("opencode");
    let model = ctx.model.clone().unwrap_or_default();
    let provider = |keys: &[&str]| {
        let mut path = vec!["provider", PROVIDER];
        path.extend_from_slice(keys);
        path.iter().map(|k| k.to_string()).collect::<Vec<_>>()
    };
    let settings = vec![
        Setting::at(provider(&["npm"]), json!("@ai-sdk/openai-compatible")),
        Setting::at(provider(&["name"]), json!("Switchyard")),
        Setting::at(provider(&["options", "baseURL"]), json!(format!("{}/v1", ctx.base_url))),
        Setting::at(provider(&["options", "apiKey"]), json!(ctx.key)).as_secret(),
        Setting::at(provider(&["models", &model]), json!({ "name": model })),
        Setting::new(&["model"], json!(format!("{PROVIDER}/{model}"))),
    ];
    vec![FileEdit {
        path: dir.join("opencode.json"),
        format: Format::Json,
        settings,
    }]
}
