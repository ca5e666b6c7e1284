//! The admin JSON API the dashboard uses, also for scripts: status,
//! accounts, the request log, usage, a live event feed, and Prometheus
//! metrics, one function per endpoint. Everything here, reads included,
//! needs the gateway key in every auth mode (the route table's
//! `Access::Admin`, checked before any of these runs): the log holds the
//! user's prompts and the state changes reach the pool. The dashboard's
//! shell (`/ui`) loads without the key and reads everything through these
//! routes.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use warp::reply::{Reply, Response};

use super::reply::{error_response, json_value};
use super::routes::RequestHead;
use super::state::Shared;
use super::table::decode;
use crate::config;
use crate::monitor::{LogFilter, UsageBy, now_ms};
use crate::protocol::{ApiError, ErrorKind, Protocol};
use crate::secrets;

/// Query parameters of the log and usage endpoints.
#[derive(Debug, Default, Deserialize)]
struct Query {
    limit: Option<usize>,
    /// A duration back from now (`90s`, `15m`, `24h`, `7d`) or a time in ms since the epoch.
    since: Option<String>,
    model: Option<String>,
    account: Option<String>,
    key: Option<String>,
    by: Option<String>,
    bucket: Option<String>,
}

impl Query {
    fn since_ms(&self) -> Result<Option<i64>, ApiError> {
        self.since.as_deref().map(parse_since).transpose()
    }

    fn by(&self) -> Result<UsageBy, ApiError> {
        match self.by.as_deref().unwrap_or("model") {
            "model" => Ok(UsageBy::Model),
            "account" => Ok(UsageBy::Account),
            "day" => Ok(UsageBy::Day),
            "key" => Ok(UsageBy::Key),
            other => Err(ApiError::invalid_request(format!(
                "by={other} is not a grouping; use model, account, day or key"
            ))),
        }
    }

    /// The grouping and the start of the usage asked for.
    fn usage_window(&self) -> Result<(UsageBy, Option<i64>), ApiError> {
        Ok((self.by()?, self.since_ms()?))
    }
}

/// `15m`, `24h`, `7d` back from now, or ms since the epoch.
pub fn parse_since(text: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    humantime::parse_duration(text)
        .map(|ago| now_ms() - ago.as_millis() as i64)
        .map_err(|_| {
            ApiError::invalid_request(format!(
                "since={text} is neither a duration (15m, 24h, 7d) nor a time in ms"
            ))
        })
}

/// The admin endpoints, one function each. The key is checked before any
/// of them runs (the table's `Access::Admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /api/status`.
    Status,
    /// `GET /api/accounts`.
    Accounts,
    /// `GET /api/models`: the served models with their accounts, tiers and
    /// limits (`switchyard models`, the dashboard).
    Models,
    /// `POST /api/accounts/{id}/{enable|disable}`.
    Switch,
    /// `POST /api/key/rotate`.
    Rotate,
    /// `GET /api/logs`.
    Logs,
    /// `GET /api/usage`.
    Usage,
    /// `GET /api/usage/timeline`.
    Timeline,
    /// `GET /api/events`.
    Events,
    /// `GET /api/keys`.
    Keys,
    /// `POST /api/keys/reload`.
    ReloadKeys,
    /// `GET /api/connect`: each tool `switchyard connect` knows, and its state.
    ConnectList,
    /// `POST /api/connect/{tool}`: connect it (loopback peers only).
    Connect,
    /// `GET /metrics`.
    Metrics,
}

/// The answer of `endpoint`; `params` are the path's parameter segments
/// (raw), the key already checked.
pub async fn serve(endpoint: Endpoint, shared: &Shared, head: &RequestHead, params: &[String]) -> Response {
    match endpoint {
        Endpoint::Status => status(shared, head),
        Endpoint::Accounts => accounts(shared),
        Endpoint::Models => json_value(StatusCode::OK, json!({ "models": shared.relay.served_models(None) })),
        Endpoint::Switch => match params {
            [id, action] => switch(shared, id, action).await,
            _ => failed(ApiError::new(ErrorKind::NotFound, "name an account and an action")),
        },
        Endpoint::Rotate => rotate_key(shared).await,
        Endpoint::Logs => logs(shared, query(head)),
        Endpoint::Usage => usage(shared, query(head)),
        Endpoint::Timeline => timeline(shared, query(head)),
        Endpoint::Events => events(shared),
        Endpoint::Keys => keys(shared),
        Endpoint::ReloadKeys => reload_keys(shared),
        Endpoint::ConnectList => connect_list(shared),
        Endpoint::Connect => match params {
            [tool] => connect_tool(shared, head, tool).await,
            _ => failed(ApiError::new(ErrorKind::NotFound, "name a tool")),
        },
        Endpoint::Metrics => metrics(shared),
    }
}

/// Applies `keys.json` now (the CLI calls this after a change, so that it
/// is in force when the command returns).
fn reload_keys(shared: &Shared) -> Response {
    match super::reload_keys(&shared.home, shared) {
        Ok(count) => json_value(StatusCode::OK, json!({ "keys": count })),
        Err(err) => failed(ApiError::new(ErrorKind::Api, err.to_string())),
    }
}

/// The port tools are pointed at: the one this gateway listens on.
fn own_port(shared: &Shared) -> u16 {
    shared
        .status()
        .address
        .map_or(config::DEFAULT_PORT, |address| address.port())
}

/// Each tool: installed, connected, stale (with why) or not connected.
fn connect_list(shared: &Shared) -> Response {
    use crate::connect::engine::{self, State};
    let Some(dirs) = crate::connect::ToolDirs::from_env() else {
        return failed(ApiError::new(
            ErrorKind::Api,
            "the gateway cannot tell its user's home directory",
        ));
    };
    let tools: Vec<_> = engine::status(
        &shared.home,
        &dirs,
        own_port(shared),
        Some(shared.auth.gateway_key().as_str()),
    )
    .into_iter()
    .map(|status| {
        let (state, why) = match status.state {
            State::NotConnected => ("not_connected", None),
            State::Connected => ("connected", None),
            State::Stale(why) => ("stale", Some(why)),
        };
        json!({
            "tool": status.tool.id(),
            "title": status.tool.title(),
            "installed": status.installed,
            "state": state,
            "why": why,
        })
    })
    .collect();
    json_value(StatusCode::OK, json!({ "tools": tools }))
}

/// Connects a tool, as `switchyard connect TOOL` would. It writes files in
/// the home of the user the gateway runs as, so only a caller on this
/// machine may ask (a LAN peer with the key may not).
async fn connect_tool(shared: &Shared, head: &RequestHead, tool: &str) -> Response {
    use crate::connect::engine::{self, Request};
    if !head.client.is_some_and(|address| address.ip().is_loopback()) {
        return failed(ApiError::new(
            ErrorKind::PermissionDenied,
            "connecting a tool writes files on the gateway's machine: ask from that machine (loopback), or run \
             `switchyard connect TOOL` there",
        ));
    }
    let Some(tool) = crate::connect::Tool::from_id(&decode(tool)) else {
        return failed(ApiError::new(
            ErrorKind::NotFound,
            "unknown tool; one of claude-code, codex, gemini-cli, opencode, qwen-code, aider, llm",
        ));
    };
    let home = shared.home.clone();
    let port = own_port(shared);
    let outcome = tokio::task::spawn_blocking(move || -> Result<Vec<String>, String> {
        let dirs = crate::connect::ToolDirs::from_env().ok_or("the gateway cannot tell its user's home directory")?;
        let config = config::Config::load(&home).map_err(|e| e.to_string())?;
        let request = Request {
            tool,
            model: crate::connect::model_for(&home, tool, &config, None),
            admin_key: None,
            dry_run: false,
            port,
        };
        engine::connect(&home, &dirs, &request)
            .map(|outcome| outcome.messages)
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|err| Err(err.to_string()));
    match outcome {
        Ok(messages) => {
            // The tool's client key may be new: in force before the answer.
            let _ = super::reload_keys(&shared.home, shared);
            json_value(StatusCode::OK, json!({ "tool": tool.id(), "messages": messages }))
        }
        Err(message) => failed(ApiError::new(ErrorKind::InvalidRequest, message)),
    }
}

/// The client keys (never a key itself: names, dates, limits) with their
/// use today, as the gateway counts it.
fn keys(shared: &Shared) -> Response {
    let file = match crate::keys::KeyFile::load(&shared.home) {
        Ok(file) => file,
        Err(err) => return failed(ApiError::new(ErrorKind::Api, err.to_string())),
    };
    let usage = shared.meters.usage(now_ms());
    json_value(StatusCode::OK, crate::keys::listing(&file, &usage))
}

/// The query parameters, or none when they do not parse (as warp's
/// `query` filter with a default did).
fn query(head: &RequestHead) -> Query {
    serde_urlencoded::from_str(&head.query).unwrap_or_default()
}

fn failed(error: ApiError) -> Response {
    error_response(Protocol::OpenAi, &error)
}

/// The gateway's status, with the origin the client reached.
fn status(shared: &Shared, head: &RequestHead) -> Response {
    let mut status = serde_json::to_value(shared.status()).unwrap_or_default();
    status["origin"] = json!(head.origin(shared));
    status["key_required"] = json!(shared.auth.required_for("/api/status"));
    json_value(StatusCode::OK, status)
}

/// Every account's live state.
/// The accounts' live state, each with its share of the last hour's calls,
/// and the pool's strategy.
fn accounts(shared: &Shared) -> Response {
    let pool = shared.relay.pool();
    let mut accounts = pool.status();
    if let Some(monitor) = shared.relay.monitor() {
        let hour = monitor.usage(UsageBy::Account, Some(now_ms() - 3_600_000));
        let total: u64 = hour.iter().map(|row| row.requests).sum();
        for account in &mut accounts {
            let name = if account.label.is_empty() {
                &account.id
            } else {
                &account.label
            };
            let calls = hour.iter().find(|row| &row.key == name).map_or(0, |row| row.requests);
            account.share_last_hour = (total > 0).then(|| calls as f64 / total as f64);
        }
    }
    json_value(
        StatusCode::OK,
        json!({ "strategy": pool.strategy().as_str(), "accounts": accounts }),
    )
}

/// `enable` or `disable` the account `id` (percent-encoded).
async fn switch(shared: &Shared, id: &str, action: &str) -> Response {
    let enabled = match action {
        "enable" => true,
        "disable" => false,
        other => {
            return failed(ApiError::new(
                ErrorKind::NotFound,
                format!("`{other}` is not an account action; use enable or disable"),
            ));
        }
    };
    set_enabled(shared, &decode(id), enabled).await
}

/// The newest records of the request log.
fn logs(shared: &Shared, query: Query) -> Response {
    let Some(monitor) = shared.relay.monitor() else {
        return json_value(StatusCode::OK, json!({ "records": [] }));
    };
    let since_ms = match query.since_ms() {
        Ok(since) => since,
        Err(err) => return failed(err),
    };
    let filter = LogFilter {
        since_ms,
        model: query.model,
        account: query.account,
        key: query.key,
        after_row: None,
        limit: query.limit.unwrap_or(100).min(1000),
    };
    json_value(StatusCode::OK, json!({ "records": monitor.logs(&filter) }))
}

/// Usage totals grouped by model, account or day.
fn usage(shared: &Shared, query: Query) -> Response {
    let (by, since) = match query.usage_window() {
        Ok(window) => window,
        Err(err) => return failed(err),
    };
    let rows = shared.relay.monitor().map(|m| m.usage(by, since)).unwrap_or_default();
    json_value(StatusCode::OK, json!({ "usage": rows }))
}

/// Usage in time buckets (an hour unless `bucket` says otherwise).
fn timeline(shared: &Shared, query: Query) -> Response {
    let (by, since) = match query.usage_window() {
        Ok(window) => window,
        Err(err) => return failed(err),
    };
    let bucket_ms = match query.bucket.as_deref().map(humantime::parse_duration) {
        None => 3_600_000,
        Some(Ok(bucket)) if bucket.as_millis() >= 60_000 => bucket.as_millis() as i64,
        Some(_) => {
            return failed(ApiError::invalid_request(
                "bucket must be a duration of at least 1m (15m, 1h, 1d)",
            ));
        }
    };
    let rows = shared
        .relay
        .monitor()
        .map(|m| m.timeline(by, bucket_ms, since))
        .unwrap_or_default();
    json_value(StatusCode::OK, json!({ "bucket_ms": bucket_ms, "timeline": rows }))
}

/// The live feed of request records, as server-sent events.
fn events(shared: &Shared) -> Response {
    let Some(monitor) = shared.relay.monitor() else {
        return failed(ApiError::new(ErrorKind::NotFound, "the monitor is off"));
    };
    // Records a slow reader missed are skipped, not buffered.
    let feed = tokio_stream::wrappers::BroadcastStream::new(monitor.subscribe()).filter_map(|record| async move {
        let record = record.ok()?;
        let data = serde_json::to_string(&*record).ok()?;
        Some(Ok::<_, Infallible>(
            warp::sse::Event::default().event("request").data(data),
        ))
    });
    warp::sse::reply(warp::sse::keep_alive().stream(feed)).into_response()
}

/// Prometheus metrics.
fn metrics(shared: &Shared) -> Response {
    let text = match shared.relay.monitor() {
        Some(monitor) => monitor.metrics().render(&shared.relay.pool().status()),
        None => String::new(),
    };
    let text = match shared.relay.monitor() {
        Some(monitor) => monitor.with_log_metrics(text),
        None => text,
    };
    let text = shared.relay.cluster().with_metrics(text);
    let mut response = Response::new(Bytes::from(text).into());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        // prometheus-client writes OpenMetrics text (`# EOF`, counters named
        // without `_total` in their family line): labelled as the 0.0.4
        // text format, strict parsers misread every counter.
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// Enables or disables an account: in config.toml (so it lasts) and in the
/// running pool (so it applies at once).
async fn set_enabled(shared: &Shared, id: &str, enabled: bool) -> Response {
    if !shared.relay.pool().members().iter().any(|m| m.config.id == id) {
        return failed(ApiError::new(
            ErrorKind::NotFound,
            format!("The running gateway has no account `{id}`."),
        ));
    }
    let home = shared.home.clone();
    let edit_id = id.to_string();
    let edited = tokio::task::spawn_blocking(move || {
        config::edit(&home, |doc| {
            config::account_table(doc, &edit_id)?["enabled"] = toml_edit::value(enabled);
            Ok(())
        })
    })
    .await;
    match edited {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => {
            return failed(ApiError::new(
                ErrorKind::Api,
                format!("config.toml could not be changed: {err}"),
            ));
        }
        Err(err) => return failed(ApiError::new(ErrorKind::Api, err.to_string())),
    }
    let pool = shared.relay.pool();
    if enabled {
        pool.reenable(id);
        shared.relay.cluster().publish_enabled(id);
    } else {
        pool.disable(id, "disabled by the user".to_string());
        shared.relay.cluster().publish_health(&pool, id);
    }
    json_value(StatusCode::OK, json!({ "id": id, "enabled": enabled }))
}

/// A new random gateway key, stored and in force at once.
async fn rotate_key(shared: &Shared) -> Response {
    let home = shared.home.clone();
    let store = shared.secrets.clone();
    let rotated = tokio::task::spawn_blocking(move || -> Result<String, String> {
        let config = config::Config::load(&home).map_err(|e| e.to_string())?;
        if config.proxy.api_key.is_some() {
            return Err("`api_key` under [proxy] in config.toml sets the key; change it there".into());
        }
        let key = secrets::generate_api_key().map_err(|e| e.to_string())?;
        store.set(secrets::GATEWAY_KEY, &key).map_err(|e| e.to_string())?;
        Ok(key)
    })
    .await;
    match rotated {
        Ok(Ok(key)) => {
            shared.auth.set_key(key.clone());
            if let Some(monitor) = shared.relay.monitor() {
                monitor.add_secret(&key);
            }
            json_value(StatusCode::OK, json!({ "key": key }))
        }
        Ok(Err(why)) => failed(ApiError {
            status: 409,
            kind: ErrorKind::InvalidRequest,
            message: why,
        }),
        Err(err) => failed(ApiError::new(ErrorKind::Api, err.to_string())),
    }
}
