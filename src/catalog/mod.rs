//! The model catalogue: what the accounts' upstreams really serve.
//!
//! Each enabled account's upstream is asked for its model list at start,
//! on every reload and then every `[catalog] refresh_mins` (`refresh.rs`),
//! by a task of its own: no request ever waits for a fetch. A failed fetch
//! keeps the last good list and is shown in `accounts list`. The lists are
//! kept in the pool's members (`pool::catalog`), where routing reads them.
//!
//! - `fetch.rs` asks one account's upstream in its own protocol (Gemini and
//!   Anthropic paged, OpenAI-compatible in one answer, Code Assist from
//!   `code_assist.toml` as it has no list endpoint).
//! - `served.rs` is the union served to clients: the catalogues, the exact
//!   `models` names and the aliases, each with the accounts and tiers that
//!   serve it and its limits.
//! - `shapes.rs` writes that union as OpenAI, Anthropic and Gemini lists
//!   (with their paging) and single models.
//! - Limits (context window, output) come from the upstream where it says
//!   them (Gemini), else from `limits.toml`, a table of well-known families.

mod fetch;
mod refresh;
mod served;
pub mod shapes;

use std::sync::OnceLock;

use serde::Deserialize;

pub use fetch::fetch;
pub use refresh::{Refresher, refresh};
pub use served::{ServedBy, ServedModel, find, lookup, served};

use crate::pool::{ModelKind, catalog::normalise};

/// One row of `limits.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Family {
    prefix: String,
    context: u64,
    output: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Families {
    family: Vec<Family>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeAssist {
    models: Vec<String>,
}

fn families() -> &'static [Family] {
    static TABLE: OnceLock<Vec<Family>> = OnceLock::new();
    TABLE.get_or_init(|| {
        toml::from_str::<Families>(include_str!("limits.toml"))
            .map(|f| f.family)
            .unwrap_or_default()
    })
}

/// `(context window, output limit)` of a well-known family, in tokens.
pub fn known_limits(model: &str) -> Option<(u64, u64)> {
    let name = normalise(model);
    families()
        .iter()
        .filter(|f| name.starts_with(&f.prefix))
        .max_by_key(|f| f.prefix.len())
        .map(|f| (f.context, f.output))
}

/// The models Code Assist serves (it has no list endpoint).
pub fn code_assist_models() -> Vec<String> {
    toml::from_str::<CodeAssist>(include_str!("code_assist.toml"))
        .map(|c| c.models)
        .unwrap_or_default()
}

/// What a model is for, from its name and (Gemini) its generation methods.
/// Speech, image, moderation and embedding models are not chat models.
pub fn classify(id: &str, methods: Option<&[String]>) -> ModelKind {
    let name = id.to_ascii_lowercase();
    let has = |method: &str| methods.is_some_and(|m| m.iter().any(|x| x == method));
    if name.contains("embed") || (methods.is_some() && has("embedContent") && !has("generateContent")) {
        return ModelKind::Embedding;
    }
    const NOT_CHAT: &[&str] = &[
        "tts",
        "whisper",
        "dall-e",
        "imagen",
        "veo-",
        "moderation",
        "transcribe",
        "-image",
        "audio",
        "realtime",
        "sora",
        "aqa",
    ];
    if NOT_CHAT.iter().any(|word| name.contains(word)) {
        return ModelKind::Other;
    }
    match methods {
        Some(_) if !has("generateContent") => ModelKind::Other,
        _ => ModelKind::Chat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_files_parse() {
        assert!(families().len() > 10, "limits.toml must parse");
        assert!(!code_assist_models().is_empty(), "code_assist.toml must parse");
    }

    #[test]
    fn limits_come_from_the_longest_matching_family() {
        assert_eq!(known_limits("gpt-4o-mini-2024-07-18"), Some((128_000, 16_384)));
        assert_eq!(known_limits("claude-sonnet-4-5-20250929"), Some((200_000, 64_000)));
        assert_eq!(known_limits("models/gemini-2.5-flash"), Some((1_048_576, 65_536)));
        assert_eq!(known_limits("llama3.2:3b"), None);
    }

    #[test]
    fn only_models_that_chat_are_chat_models() {
        let generate = vec!["generateContent".to_string(), "countTokens".to_string()];
        let embed = vec!["embedContent".to_string()];
        let predict = vec!["predict".to_string()];
        assert_eq!(classify("gemini-2.5-flash", Some(&generate)), ModelKind::Chat);
        assert_eq!(classify("text-embedding-004", Some(&embed)), ModelKind::Embedding);
        assert_eq!(classify("imagen-4.0-generate-001", Some(&predict)), ModelKind::Other);
        assert_eq!(
            classify("gemini-2.5-flash-preview-tts", Some(&generate)),
            ModelKind::Other
        );
        assert_eq!(classify("gpt-4o", None), ModelKind::Chat);
        assert_eq!(classify("text-embedding-3-small", None), ModelKind::Embedding);
        assert_eq!(classify("whisper-1", None), ModelKind::Other);
        assert_eq!(classify("llama3.2:3b", None), ModelKind::Chat);
    }
}
