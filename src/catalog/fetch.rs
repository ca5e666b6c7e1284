//! Asking one account's upstream for its model list, in its own protocol:
//! Gemini `GET {base}/v1beta/models` (paged with `pageToken`), OpenAI and
//! compatible servers `GET {base}/models` (the base ends in `/v1`),
//! Anthropic `GET {base}/v1/models` (paged with `after_id`, with
//! `anthropic-version`). Code Assist has no list endpoint: its list is data.

use std::time::Duration;

use serde_json::Value;

use super::{classify, code_assist_models, known_limits};
use crate::config::ProviderKind;
use crate::pool::{Member, ModelInfo, ModelKind};
use crate::upstream::{Credentials, Upstream, bearer, read_capped};

/// Longest wait for one page of a list.
const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

/// Most pages read of one list (a runaway `nextPageToken` stops here).
const MAX_PAGES: usize = 20;

/// Largest page read, in bytes.
const MAX_PAGE_BYTES: usize = 8 << 20;

/// The `anthropic-version` the list is asked with.
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The member's model list, under its `models` globs; the error says why
/// not, with no secret in it.
pub async fn fetch(member: &Member, upstream: &Upstream) -> Result<Vec<ModelInfo>, String> {
    let http = member.http.clone().unwrap_or_else(|| upstream.http().clone());
    let models = match member.config.provider {
        ProviderKind::Google => Ok(code_assist_models().iter().map(|id| info(id, None, None)).collect()),
        kind => {
            let credentials = upstream
                .authorize(&http, &member.auth)
                .await
                .map_err(|failure| failure.describe())?;
            let lister = Lister {
                http: &http,
                credentials: &credentials,
                upstream,
            };
            match kind {
                ProviderKind::Gemini => lister.gemini().await,
                ProviderKind::Anthropic => lister.anthropic().await,
                _ => lister.openai().await,
            }
        }
    }?;
    Ok(models
        .into_iter()
        .filter(|m| member.serves(&m.id))
        .map(with_known_limits)
        .collect())
}

/// A model the list names, with what the list says of it.
fn info(id: &str, display_name: Option<&str>, methods: Option<&[String]>) -> ModelInfo {
    ModelInfo {
        id: id.strip_prefix("models/").unwrap_or(id).to_string(),
        display_name: display_name.map(str::to_string),
        context: None,
        output: None,
        created: None,
        kind: classify(id, methods),
    }
}

/// Fills the limits the upstream did not say from the table of families.
fn with_known_limits(mut model: ModelInfo) -> ModelInfo {
    if model.kind == ModelKind::Chat
        && let Some((context, output)) = known_limits(&model.id)
    {
        model.context.get_or_insert(context);
        model.output.get_or_insert(output);
    }
    model
}

/// The models of a list page: an answer without the list is no list (a
/// server that answers every path alike must not pass for an empty one).
fn listed<'a>(page: &'a Value, field: &str) -> Result<&'a Vec<Value>, String> {
    page[field]
        .as_array()
        .ok_or_else(|| format!("the model list answer has no `{field}` array"))
}

/// One account's list requests.
struct Lister<'a> {
    http: &'a reqwest::Client,
    credentials: &'a Credentials,
    upstream: &'a Upstream,
}

impl Lister<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.credentials.base_url.trim_end_matches('/'))
    }

    /// The URL of `path` with a query (reqwest here is built without one).
    fn url_with(&self, path: &str, query: &[(&str, String)]) -> String {
        let query = serde_urlencoded::to_string(query).unwrap_or_default();
        format!("{}?{query}", self.url(path))
    }

    /// Sends one page request and reads its JSON.
    async fn page(&self, request: reqwest::RequestBuilder) -> Result<Value, String> {
        let secret: &str = &self.credentials.secret;
        let redact = |text: String| self.upstream.redactor().redact_with(&text, &[secret]);
        let response = request
            .timeout(PAGE_TIMEOUT)
            .send()
            .await
            .map_err(|err| redact(format!("cannot reach the upstream: {}", err.without_url())))?;
        let status = response.status();
        let body = read_capped(response, MAX_PAGE_BYTES)
            .await
            .map_err(|_| "the model list could not be read whole".to_string())?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            let text: String = text.chars().take(200).collect();
            return Err(redact(format!(
                "the model list answered HTTP {}: {}",
                status.as_u16(),
                text.trim()
            )));
        }
        serde_json::from_slice(&body).map_err(|err| format!("the model list is not JSON: {err}"))
    }

    async fn gemini(&self) -> Result<Vec<ModelInfo>, String> {
        let mut models = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("pageSize", "1000".to_string())];
            if let Some(token) = &token {
                query.push(("pageToken", token.clone()));
            }
            let request = self
                .http
                .get(self.url_with("v1beta/models", &query))
                .header("x-goog-api-key", &*self.credentials.secret);
            let page = self.page(request).await?;
            for model in listed(&page, "models")? {
                let Some(name) = model["name"].as_str() else { continue };
                let methods: Vec<String> = model["supportedGenerationMethods"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m.as_str().map(str::to_string))
                    .collect();
                let mut entry = info(name, model["displayName"].as_str(), Some(&methods));
                entry.context = model["inputTokenLimit"].as_u64();
                entry.output = model["outputTokenLimit"].as_u64();
                models.push(entry);
            }
            token = page["nextPageToken"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(models)
    }

    async fn anthropic(&self) -> Result<Vec<ModelInfo>, String> {
        let mut models = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("limit", "1000".to_string())];
            if let Some(after) = &after {
                query.push(("after_id", after.clone()));
            }
            let request = self
                .http
                .get(self.url_with("v1/models", &query))
                .header("x-api-key", &*self.credentials.secret)
                .header("anthropic-version", ANTHROPIC_VERSION);
            let page = self.page(request).await?;
            for model in listed(&page, "data")? {
                let Some(id) = model["id"].as_str() else { continue };
                let mut entry = info(id, model["display_name"].as_str(), None);
                entry.created = model["created_at"].as_str().map(str::to_string);
                entry.context = model["max_input_tokens"].as_u64();
                entry.output = model["max_tokens"].as_u64();
                models.push(entry);
            }
            after = page["last_id"].as_str().map(str::to_string);
            if page["has_more"].as_bool() != Some(true) || after.is_none() {
                break;
            }
        }
        Ok(models)
    }

    async fn openai(&self) -> Result<Vec<ModelInfo>, String> {
        let request = bearer(self.http.get(self.url("models")), self.credentials);
        let page = self.page(request).await?;
        let mut models = Vec::new();
        for model in listed(&page, "data")? {
            let Some(id) = model["id"].as_str() else { continue };
            let mut entry = info(id, None, None);
            // What compatible servers add: vLLM `max_model_len`, OpenRouter
            // and LM Studio `context_length`.
            entry.context = model["context_length"]
                .as_u64()
                .or_else(|| model["max_model_len"].as_u64())
                .or_else(|| model["max_context_length"].as_u64());
            models.push(entry);
        }
        Ok(models)
    }
}
