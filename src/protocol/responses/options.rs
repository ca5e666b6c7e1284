//! [`RequestOptions`]: what a Responses request says that the model has no
//! place for, kept for the encoders. The Response object echoes the request
//! (with the API's defaults where the client set nothing), and the encoders
//! need to know whether reasoning carries encrypted content and how
//! namespaced functions were named.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// The parts of a Responses request that [`ChatRequest`](crate::protocol::model::ChatRequest) has no place for:
/// what the gateway must echo in the Response object, and what changes how
/// the response is encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestOptions {
    /// `previous_response_id`: the client continues a stored response.
    /// Switchyard stores nothing, so it is only echoed.
    pub previous_response_id: Option<String>,
    /// `store` (default `true`), echoed.
    pub store: bool,
    /// `include` asked for `reasoning.encrypted_content`: reasoning items
    /// then carry their signatures, which the client sends back next turn.
    pub include_encrypted_reasoning: bool,
    /// `instructions` as given, echoed.
    pub instructions: Option<String>,
    /// `tools` exactly as given, echoed (built-in tools included).
    pub tools: Vec<Value>,
    /// `tool_choice` as given, `"auto"` when absent.
    pub tool_choice: Value,
    /// `text` with the API's defaults filled in.
    pub text: Value,
    /// `reasoning` with the API's defaults filled in.
    pub reasoning: Value,
    /// `parallel_tool_calls` (default `true`).
    pub parallel_tool_calls: bool,
    /// `metadata` as given, `{}` when absent.
    pub metadata: Value,
    /// `max_output_tokens`, echoed.
    pub max_output_tokens: Option<u32>,
    /// `temperature`, echoed (the API reports 1.0 when unset).
    pub temperature: Option<f64>,
    /// `top_p`, echoed (the API reports 1.0 when unset).
    pub top_p: Option<f64>,
    /// `truncation` as given, `"disabled"` when absent.
    pub truncation: Value,
    /// `user`, echoed.
    pub user: Option<String>,
    /// `prompt_cache_key`, echoed.
    pub prompt_cache_key: Option<String>,
    /// Functions declared inside `namespace` tools, by the flat name the
    /// upstream sees: their calls go back to the client split into
    /// `namespace` and `name`, which Codex dispatches on.
    pub namespaced_tools: BTreeMap<String, NamespacedName>,
}

/// Where a flattened function came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacedName {
    /// The `namespace` tool's name (`mcp__server__`).
    pub namespace: String,
    /// The function's own name inside it.
    pub name: String,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions {
            previous_response_id: None,
            store: true,
            include_encrypted_reasoning: false,
            instructions: None,
            tools: Vec::new(),
            tool_choice: json!("auto"),
            text: default_text(),
            reasoning: default_reasoning(),
            parallel_tool_calls: true,
            metadata: json!({}),
            max_output_tokens: None,
            temperature: None,
            top_p: None,
            truncation: json!("disabled"),
            user: None,
            prompt_cache_key: None,
            namespaced_tools: BTreeMap::new(),
        }
    }
}

impl RequestOptions {
    /// The `(namespace, name)` a client expects for the function the
    /// upstream called `flat`: namespaced functions are split again, other
    /// names pass unchanged.
    pub fn client_name<'a>(&'a self, flat: &'a str) -> (Option<&'a str>, &'a str) {
        match self.namespaced_tools.get(flat) {
            Some(original) => (Some(original.namespace.as_str()), original.name.as_str()),
            None => (None, flat),
        }
    }
}

pub(super) fn default_text() -> Value {
    json!({"format": {"type": "text"}, "verbosity": "medium"})
}

pub(super) fn default_reasoning() -> Value {
    json!({"effort": null, "summary": null})
}

/// `given` laid over the API's defaults, as the API reports it back.
pub(super) fn with_defaults(mut defaults: Value, given: Option<&Value>) -> Value {
    if let (Some(target), Some(Value::Object(given))) = (defaults.as_object_mut(), given) {
        for (key, value) in given {
            target.insert(key.clone(), value.clone());
        }
    }
    defaults
}
