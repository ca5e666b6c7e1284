//! What an account's upstream says it serves: its catalogue, as the pool
//! keeps it, and how a requested name is matched against it.
//!
//! The catalogue is fetched by `crate::catalog` (never on a request's
//! path); the pool only reads the last good list. Names are compared after
//! [`normalise`], because upstreams and users spell one model several ways:
//! Gemini lists `models/gemini-2.5-flash`, Anthropic lists the dated
//! `claude-sonnet-4-5-20250929` while users write `claude-sonnet-4-5`, and
//! `-latest` names whatever is newest.

use std::collections::HashSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// What a listed model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Generates text: served on the chat endpoints and listed to clients.
    Chat,
    /// Embeddings: kept for the embeddings endpoint, not listed for chat.
    Embedding,
    /// Anything else (speech, images, moderation): never listed.
    Other,
}

/// One model of an upstream's catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The upstream's id, without Gemini's `models/` prefix.
    pub id: String,
    /// A name for humans, when the upstream gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Context window (input tokens), from the upstream or the table of
    /// well-known families.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<u64>,
    /// Most output tokens, likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<u64>,
    /// When it was released (RFC 3339), when the upstream says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// What it is for.
    pub kind: ModelKind,
}

/// An account's catalogue: the last good list and how the last fetch went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// The last list fetched successfully (under the account's globs);
    /// `None` until one was.
    pub models: Option<Arc<[ModelInfo]>>,
    /// When that list was fetched (Unix seconds).
    pub fetched_unix: Option<u64>,
    /// Why the latest fetch failed, if it did (the list above is kept).
    pub error: Option<String>,
    /// The list's chat models by [`normalise`]d name, made once per fetch
    /// so that routing a request normalises only the requested name.
    chat_names: Option<Arc<HashSet<String>>>,
    /// The list's embedding models likewise, for the embeddings endpoints.
    embedding_names: Option<Arc<HashSet<String>>>,
}

impl Catalog {
    /// The catalogue of a list fetched at `unix`.
    pub fn fetched(models: Vec<ModelInfo>, unix: Option<u64>) -> Catalog {
        let names = |kind: ModelKind| -> HashSet<String> {
            models
                .iter()
                .filter(|m| m.kind == kind)
                .map(|m| normalise(&m.id))
                .collect()
        };
        Catalog {
            chat_names: Some(Arc::new(names(ModelKind::Chat))),
            embedding_names: Some(Arc::new(names(ModelKind::Embedding))),
            models: Some(models.into()),
            fetched_unix: unix,
            error: None,
        }
    }

    /// Whether the list names `model` (after [`normalise`]); `None` while
    /// no list is known.
    pub fn lists(&self, model: &str) -> Option<bool> {
        self.lists_as(model, ModelKind::Chat)
    }

    /// Whether the list names `model` as a model of `kind` (chat models
    /// for the chat endpoints, embedding models for the embeddings ones);
    /// `None` while no list is known.
    pub fn lists_as(&self, model: &str, kind: ModelKind) -> Option<bool> {
        let names = match kind {
            ModelKind::Embedding => self.embedding_names.as_ref()?,
            _ => self.chat_names.as_ref()?,
        };
        Some(names.contains(&normalise(model)))
    }

    /// The listed chat model that `model` names, if any.
    pub fn find(&self, model: &str) -> Option<&ModelInfo> {
        let models = self.models.as_ref()?;
        let wanted = normalise(model);
        models
            .iter()
            .filter(|m| m.kind == ModelKind::Chat)
            .find(|m| m.id == model)
            .or_else(|| {
                models
                    .iter()
                    .find(|m| m.kind == ModelKind::Chat && normalise(&m.id) == wanted)
            })
    }
}

/// How well an account fits a requested model: the pool tries every
/// account of a better rank, across all tiers, before a worse one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    /// Its catalogue lists the model, its `models` name it exactly, or its
    /// catalogue is not known yet (it serves every model its globs admit,
    /// as before catalogues).
    Listed,
    /// Its globs admit the model but its catalogue lacks it: a last resort,
    /// since the upstream will likely answer 404.
    Unlisted,
}

/// The form names are compared in: without a `models/` prefix, a `-latest`
/// suffix or a date suffix (`-20250929`, `-2025-09-29`, `@20250929`), in
/// lower case.
pub fn normalise(name: &str) -> String {
    let mut name = name.trim().to_ascii_lowercase();
    if let Some(rest) = name.strip_prefix("models/") {
        name = rest.to_string();
    }
    if let Some(rest) = name.strip_suffix("-latest") {
        name = rest.to_string();
    }
    for separator in ['-', '@'] {
        if let Some((head, tail)) = name.rsplit_once(separator)
            && is_compact_date(tail)
        {
            name = head.to_string();
        }
    }
    // `-2025-09-29`: three numeric parts at the end.
    let parts: Vec<&str> = name.rsplitn(4, '-').collect();
    if parts.len() == 4
        && parts[2].len() == 4
        && parts[2].starts_with("20")
        && [parts[1], parts[0]].iter().all(|p| p.len() == 2)
        && parts[..3].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        name = parts[3].to_string();
    }
    name
}

/// `20250929`: eight digits starting with `20`.
fn is_compact_date(text: &str) -> bool {
    text.len() == 8 && text.starts_with("20") && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(id: &str) -> ModelInfo {
        ModelInfo {
            id: id.into(),
            display_name: None,
            context: None,
            output: None,
            created: None,
            kind: ModelKind::Chat,
        }
    }

    #[test]
    fn names_lose_prefixes_dates_and_latest() {
        assert_eq!(normalise("models/gemini-2.5-flash"), "gemini-2.5-flash");
        assert_eq!(normalise("claude-sonnet-4-5-20250929"), "claude-sonnet-4-5");
        assert_eq!(normalise("claude-3-5-haiku-latest"), "claude-3-5-haiku");
        assert_eq!(normalise("gpt-4o-2024-08-06"), "gpt-4o");
        assert_eq!(normalise("claude-opus-4-1@20250805"), "claude-opus-4-1");
        assert_eq!(normalise("Llama3.2:3b"), "llama3.2:3b");
        // Version numbers are not dates.
        assert_eq!(normalise("gemini-2.0-flash-001"), "gemini-2.0-flash-001");
        assert_eq!(normalise("claude-sonnet-4-5"), "claude-sonnet-4-5");
    }

    #[test]
    fn a_catalogue_lists_a_model_by_any_of_its_names() {
        let unknown = Catalog::default();
        assert_eq!(unknown.lists("anything"), None);
        let mut embedding = chat("text-embedding-004");
        embedding.kind = ModelKind::Embedding;
        let catalog = Catalog::fetched(vec![chat("claude-sonnet-4-5-20250929"), embedding], None);
        assert_eq!(catalog.lists("claude-sonnet-4-5"), Some(true));
        assert_eq!(catalog.lists("claude-sonnet-4-5-20250929"), Some(true));
        assert_eq!(catalog.lists("claude-opus-4-1"), Some(false));
        // Embedding models are kept, not served on the chat endpoints.
        assert_eq!(catalog.lists("text-embedding-004"), Some(false));
        // They serve the embeddings endpoints, where chat models do not.
        assert_eq!(
            catalog.lists_as("models/text-embedding-004", ModelKind::Embedding),
            Some(true)
        );
        assert_eq!(catalog.lists_as("claude-sonnet-4-5", ModelKind::Embedding), Some(false));
        assert_eq!(unknown.lists_as("text-embedding-004", ModelKind::Embedding), None);
        assert_eq!(
            catalog.find("claude-sonnet-4-5").map(|m| m.id.as_str()),
            Some("claude-sonnet-4-5-20250929")
        );
    }
}
