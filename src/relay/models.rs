//! The model lists: what the pool can serve, in OpenAI's and Gemini's shapes.
//!
//! A model is listed when an alias names it or an enabled account names it
//! exactly in its `models` globs (a glob with wildcards names a family, not
//! a model, and is not listed).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::Relay;
use crate::keys::ClientKey;

impl Relay {
    /// Every listable model name, sorted; for a client key, those it may
    /// use (after aliases).
    fn model_names(&self, key: Option<&ClientKey>) -> BTreeSet<String> {
        let routing = self.routing.load();
        let mut names: BTreeSet<String> = routing.aliases.keys().cloned().collect();
        for member in routing.pool.members() {
            if !member.config.enabled {
                continue;
            }
            for glob in &member.config.models {
                if !glob.contains(['*', '?', '[']) {
                    names.insert(glob.clone());
                }
            }
        }
        if let Some(key) = key {
            names.retain(|name| key.allows_model(&routing.resolve(name)));
        }
        names
    }

    /// Whether a request for `model` could find an account (and, for a
    /// client key, whether the key may use it).
    fn knows(&self, model: &str, key: Option<&ClientKey>) -> bool {
        let routing = self.routing.load();
        let target = routing.resolve(model);
        routing.pool.serves(&target) && key.is_none_or(|key| key.allows_model(&target))
    }

    fn owner(&self, model: &str) -> String {
        let routing = self.routing.load();
        let target = routing.resolve(model);
        routing
            .pool
            .members()
            .iter()
            .find(|m| m.config.enabled && m.serves(&target))
            .map(|m| m.config.provider.to_string())
            .unwrap_or_else(|| "switchyard".to_string())
    }

    /// `GET /v1/models`.
    pub fn openai_model_list(&self, key: Option<&ClientKey>) -> Value {
        let data: Vec<Value> = self
            .model_names(key)
            .iter()
            .map(|name| self.openai_entry(name))
            .collect();
        json!({"object": "list", "data": data})
    }

    fn openai_entry(&self, name: &str) -> Value {
        json!({"id": name, "object": "model", "created": 0, "owned_by": self.owner(name)})
    }

    /// `GET /v1/models/{id}`.
    pub fn openai_model(&self, id: &str, key: Option<&ClientKey>) -> Option<Value> {
        self.knows(id, key).then(|| self.openai_entry(id))
    }

    /// `GET /v1beta/models`.
    pub fn gemini_model_list(&self, key: Option<&ClientKey>) -> Value {
        let models: Vec<Value> = self.model_names(key).iter().map(|name| gemini_entry(name)).collect();
        json!({"models": models})
    }

    /// `GET /v1beta/models/{name}`.
    pub fn gemini_model(&self, name: &str, key: Option<&ClientKey>) -> Option<Value> {
        let name = name.strip_prefix("models/").unwrap_or(name);
        self.knows(name, key).then(|| gemini_entry(name))
    }
}

fn gemini_entry(name: &str) -> Value {
    json!({
        "name": format!("models/{name}"),
        "displayName": name,
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
    })
}
