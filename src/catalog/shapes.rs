//! The served models in each protocol's own list shape, with its paging:
//!
//! - OpenAI: `{"object":"list","data":[{"id","object":"model","created","owned_by"}]}`,
//!   not paged (the SDK's `models.list()` reads one page).
//! - Anthropic: `{"data":[{"type":"model","id","display_name","created_at"}],
//!   "has_more","first_id","last_id"}`, paged with `limit` (default 20,
//!   at most 1000), `after_id` and `before_id`.
//! - Gemini: `{"models":[{"name":"models/ID","displayName","inputTokenLimit",
//!   "outputTokenLimit","supportedGenerationMethods",...}],"nextPageToken"}`,
//!   paged with `pageSize` (default 50, at most 1000) and `pageToken` (the
//!   id of the next page's first model).
//!
//! The choices where the wire leaves room: OpenAI's shape has no field for
//! limits, so it carries none; Anthropic's `created_at` is the Unix epoch
//! when the upstream did not say; Gemini's `version` is empty.

use serde_json::{Value, json};

use super::served::ServedModel;

/// When an upstream gave no release time.
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// `GET /v1/models` for OpenAI clients.
pub fn openai_list(models: &[ServedModel]) -> Value {
    json!({"object": "list", "data": models.iter().map(openai_model).collect::<Vec<_>>()})
}

/// One model for OpenAI clients.
pub fn openai_model(model: &ServedModel) -> Value {
    json!({"id": model.id, "object": "model", "created": 0, "owned_by": model.owner()})
}

/// `GET /v1/models` for Anthropic clients (`anthropic-version` sent).
pub fn anthropic_list(
    models: &[ServedModel],
    limit: Option<&str>,
    after_id: Option<&str>,
    before_id: Option<&str>,
) -> Value {
    let limit = limit.and_then(|l| l.parse::<usize>().ok()).unwrap_or(20).clamp(1, 1000);
    let position = |id: &str| models.iter().position(|m| m.id == id);
    let (page, has_more) = match (after_id, before_id) {
        (_, Some(before)) => {
            let end = position(before).unwrap_or(0);
            let start = end.saturating_sub(limit);
            (&models[start..end], start > 0)
        }
        (Some(after), None) => {
            let start = position(after).map_or(models.len(), |i| i + 1);
            let end = (start + limit).min(models.len());
            (&models[start..end], end < models.len())
        }
        (None, None) => {
            let end = limit.min(models.len());
            (&models[..end], end < models.len())
        }
    };
    json!({
        "data": page.iter().map(anthropic_model).collect::<Vec<_>>(),
        "has_more": has_more,
        "first_id": page.first().map(|m| m.id.as_str()),
        "last_id": page.last().map(|m| m.id.as_str()),
    })
}

/// One model for Anthropic clients.
pub fn anthropic_model(model: &ServedModel) -> Value {
    json!({
        "type": "model",
        "id": model.id,
        "display_name": model.display_name,
        "created_at": model.created.as_deref().unwrap_or(EPOCH),
    })
}

/// `GET /v1beta/models` (and `/v1/models` with Google's key forms).
pub fn gemini_list(models: &[ServedModel], page_size: Option<&str>, page_token: Option<&str>) -> Value {
    let size = page_size
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|&s| s > 0)
        .unwrap_or(50)
        .min(1000);
    let start = page_token.filter(|t| !t.is_empty()).map_or(0, |token| {
        models.iter().position(|m| m.id == token).unwrap_or(models.len())
    });
    let end = (start + size).min(models.len());
    let mut list = json!({"models": models[start..end].iter().map(gemini_model).collect::<Vec<_>>()});
    if let Some(next) = models.get(end) {
        list["nextPageToken"] = json!(next.id);
    }
    list
}

/// One model for Gemini clients.
pub fn gemini_model(model: &ServedModel) -> Value {
    let mut entry = json!({
        "name": format!("models/{}", model.id),
        "baseModelId": model.id,
        "version": "",
        "displayName": model.display_name,
        "description": description(model),
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
    });
    if let Some(context) = model.context {
        entry["inputTokenLimit"] = json!(context);
    }
    if let Some(output) = model.output {
        entry["outputTokenLimit"] = json!(output);
    }
    entry
}

fn description(model: &ServedModel) -> String {
    let by: Vec<&str> = model.accounts.iter().map(|a| a.label.as_str()).collect();
    match &model.alias_of {
        Some(target) => format!("An alias of {target}, served by Switchyard"),
        None if by.is_empty() => "Served by Switchyard".to_string(),
        None => format!("Served by Switchyard through {}", by.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(ids: &[&str]) -> Vec<ServedModel> {
        ids.iter()
            .map(|id| ServedModel {
                id: id.to_string(),
                display_name: id.to_string(),
                alias_of: None,
                context: Some(1000),
                output: Some(100),
                created: None,
                accounts: Vec::new(),
            })
            .collect()
    }

    fn ids(list: &Value, field: &str, key: &str) -> Vec<String> {
        list[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m[key].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn anthropic_pages_forward_and_back() {
        let all = models(&["a", "b", "c", "d", "e"]);
        let first = anthropic_list(&all, Some("2"), None, None);
        assert_eq!(ids(&first, "data", "id"), ["a", "b"]);
        assert_eq!(first["has_more"], true);
        assert_eq!(first["first_id"], "a");
        assert_eq!(first["last_id"], "b");
        let next = anthropic_list(&all, Some("2"), Some("d"), None);
        assert_eq!(ids(&next, "data", "id"), ["e"]);
        assert_eq!(next["has_more"], false);
        let back = anthropic_list(&all, Some("2"), None, Some("d"));
        assert_eq!(ids(&back, "data", "id"), ["b", "c"]);
        assert_eq!(back["has_more"], true);
        let none = anthropic_list(&[], None, None, None);
        assert_eq!(none["first_id"], Value::Null);
        assert_eq!(none["has_more"], false);
    }

    #[test]
    fn gemini_pages_with_tokens() {
        let all = models(&["a", "b", "c"]);
        let first = gemini_list(&all, Some("2"), None);
        assert_eq!(ids(&first, "models", "name"), ["models/a", "models/b"]);
        assert_eq!(first["models"][0]["inputTokenLimit"], 1000);
        let token = first["nextPageToken"].as_str().unwrap();
        let second = gemini_list(&all, Some("2"), Some(token));
        assert_eq!(ids(&second, "models", "name"), ["models/c"]);
        assert!(second.get("nextPageToken").is_none());
        assert_eq!(ids(&gemini_list(&all, None, None), "models", "name").len(), 3);
    }
}
