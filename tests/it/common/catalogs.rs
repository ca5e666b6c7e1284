//! The upstreams' model-list endpoints, as handlers the scripted [`Mock`]
//! plugs in beside its chat answers: Gemini's paged `GET /v1beta/models`,
//! OpenAI-compatible `GET /v1/models`, Anthropic's paged `GET /v1/models`.
//!
//! [`Mock`]: super::Mock

use serde_json::{Value, json};
use switchyard::config::ProviderKind;

use std::time::{Duration, Instant};

use super::{MockReply, Recorded, TestGateway};

/// Waits until every account of `gw` has a list or a failed fetch.
pub async fn fetched(gw: &TestGateway) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let accounts = gw.gateway.accounts().unwrap();
        if accounts.iter().all(|a| a.catalog.is_some()) {
            return;
        }
        assert!(Instant::now() < deadline, "the lists were not fetched: {accounts:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One model of a mocked catalogue: its id, and for Gemini its generation
/// methods and limits.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: &'static str,
    pub methods: &'static [&'static str],
    pub limits: Option<(u64, u64)>,
}

/// A chat model with no limits given.
pub const fn chat(id: &'static str) -> Listed {
    Listed {
        id,
        methods: &["generateContent", "countTokens"],
        limits: None,
    }
}

/// A model with these Gemini generation methods.
pub const fn with_methods(id: &'static str, methods: &'static [&'static str]) -> Listed {
    Listed {
        id,
        methods,
        limits: None,
    }
}

/// A chat model whose list says its limits (as Gemini's does).
pub const fn limited(id: &'static str, context: u64, output: u64) -> Listed {
    Listed {
        id,
        methods: &["generateContent", "countTokens"],
        limits: Some((context, output)),
    }
}

/// The answer to a list request of `provider`'s, pages of `page` models;
/// `None` for any other request (the test's own handler answers it).
pub fn list(provider: ProviderKind, models: &[Listed], page: usize, request: &Recorded) -> Option<MockReply> {
    if request.method != "GET" {
        return None;
    }
    let param = |name: &str| {
        url::form_urlencoded::parse(request.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let start_after = |token: Option<String>| {
        token.map_or(0, |t| {
            models.iter().position(|m| m.id == t).map_or(models.len(), |i| i + 1)
        })
    };
    match (provider, request.path.as_str()) {
        (ProviderKind::Gemini, "/v1beta/models") => {
            let start = param("pageToken").map_or(0, |t| t.parse().unwrap_or(0));
            let end = (start + page).min(models.len());
            let mut body = json!({"models": models[start..end].iter().map(gemini_model).collect::<Vec<_>>()});
            if end < models.len() {
                body["nextPageToken"] = json!(end.to_string());
            }
            Some(MockReply::json(body))
        }
        (ProviderKind::Openai, "/v1/models") => Some(MockReply::json(json!({
            "object": "list",
            "data": models.iter().map(|m| json!({"id": m.id, "object": "model", "created": 1, "owned_by": "mock"})).collect::<Vec<_>>(),
        }))),
        (ProviderKind::Anthropic, "/v1/models") => {
            let start = start_after(param("after_id"));
            let end = (start + page).min(models.len());
            let data: Vec<Value> = models[start..end]
                .iter()
                .map(|m| {
                    json!({"type": "model", "id": m.id, "display_name": format!("Mock {}", m.id), "created_at": "2025-09-29T00:00:00Z"})
                })
                .collect();
            Some(MockReply::json(json!({
                "data": data,
                "has_more": end < models.len(),
                "first_id": models.get(start).map(|m| m.id),
                "last_id": end.checked_sub(1).filter(|&e| e >= start).map(|e| models[e].id),
            })))
        }
        _ => None,
    }
}

fn gemini_model(model: &Listed) -> Value {
    let mut entry = json!({
        "name": format!("models/{}", model.id),
        "displayName": format!("Mock {}", model.id),
        "supportedGenerationMethods": model.methods,
    });
    if let Some((context, output)) = model.limits {
        entry["inputTokenLimit"] = json!(context);
        entry["outputTokenLimit"] = json!(output);
    }
    entry
}
