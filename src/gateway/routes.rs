//! The HTTP surface of SPEC §4: one warp filter reads each request's head
//! and body and hands them to [`dispatch`], which looks the request up in
//! the route table (`table.rs`).
//!
//! A route found runs its handler behind the one key check ([`admit`]),
//! and the handler always produces a response (401, 413, 400 included). A
//! known path with another method gets a 405 naming the route's method; any
//! other path a 404 with guidance, in the protocol the path belongs to.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use tokio::time::{Instant, timeout_at};
use warp::Filter;
use warp::filters::path::FullPath;
use warp::reply::Response;

use super::auth::{Caller, Denied, KeyCheck, denial_message};
use super::guidance;
use super::models;
use super::reply::{self, error_response, json_response};
use super::server::ClientAddr;
use super::state::Shared;
use super::table::{self, Access, Found, Handler, Methods, Route, Speaks, decode};
use super::throttle::Admission;
use crate::keys::{ClientKey, Limited};
use crate::protocol::{ApiError, ErrorKind, Protocol};
use crate::relay::{ClientCall, Endpoint};

/// What every handler knows about a request besides its body.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// Request method.
    pub method: Method,
    /// Path, percent-encoded as received.
    pub path: String,
    /// Raw query string ("" when none).
    pub query: String,
    /// Request headers.
    pub headers: HeaderMap,
    /// The client's address.
    pub client: Option<SocketAddr>,
}

impl RequestHead {
    /// `http://host:port` as the client addressed us, for advice that
    /// should name the URL the client can actually reach.
    pub fn origin(&self, shared: &Shared) -> String {
        match self.headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
            Some(host) if !host.is_empty() && host.chars().all(|c| c.is_ascii_graphic()) => format!("http://{host}"),
            _ => shared.origin.clone(),
        }
    }

    /// The value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        query_param(&self.query, name)
    }
}

/// The value of parameter `name` in the raw query string `query`.
fn query_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn head() -> impl Filter<Extract = (RequestHead,), Error = std::convert::Infallible> + Clone {
    warp::method()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<ClientAddr>())
        .map(
            |method, path: FullPath, query, headers, client: Option<ClientAddr>| RequestHead {
                method,
                path: path.as_str().to_string(),
                query,
                headers,
                client: client.map(|c| c.0),
            },
        )
}

type Body = Pin<Box<dyn Stream<Item = Result<Bytes, warp::Error>> + Send + Sync>>;

fn body() -> impl Filter<Extract = (Body,), Error = warp::Rejection> + Clone {
    warp::body::stream().map(|chunks| -> Body { Box::pin(futures_util::TryStreamExt::map_ok(chunks, into_bytes)) })
}

fn into_bytes<B: warp::Buf>(mut buf: B) -> Bytes {
    let len = buf.remaining();
    buf.copy_to_bytes(len)
}

/// All routes, for the shared state of one running gateway: one filter that
/// reads the request's head and body and hands them to [`dispatch`].
pub fn routes(shared: Arc<Shared>) -> impl Filter<Extract = (Response,), Error = std::convert::Infallible> + Clone {
    warp::any()
        .map(move || shared.clone())
        .and(head())
        .and(body())
        .then(dispatch)
        .recover(|_| async { Ok::<_, std::convert::Infallible>(server_error()) })
        .unify()
}

/// Answers one request from the route table: the route's handler behind
/// the one key check ([`admit`]), a 405 naming the route's method, or a 404
/// with guidance.
async fn dispatch(shared: Arc<Shared>, mut head: RequestHead, body: Body) -> Response {
    if let Some(peer) = head.client {
        head.client = Some(super::forwarded::client_address(
            peer,
            &head.headers,
            &shared.trusted_proxies,
        ));
    }
    // A CORS preflight never gets here: the guard grants or refuses it.
    if head.method == Method::OPTIONS {
        let mut response = Response::new(Bytes::new().into());
        *response.status_mut() = StatusCode::NO_CONTENT;
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, POST, HEAD, OPTIONS"));
        return response;
    }
    let response = match table::find(&head.method, &head.path) {
        Found::Route { route, params } => {
            // Owned (none on most routes), so that the head can move on to
            // the handler: an API call keeps its headers instead of a copy.
            let params: Vec<String> = params.into_iter().map(str::to_owned).collect();
            let admitted = match admit(&shared, route, &head) {
                Ok(caller) => team_admit(&shared, route, &head, caller).await,
                refused => refused,
            };
            // The CLI's challenge is answered whatever the auth mode (see identity.rs).
            let proof = if route.handler == Handler::Health {
                shared.identity.answer(&head.headers)
            } else {
                None
            };
            let mut response = match admitted {
                Err(refused) => *refused,
                Ok(caller) => serve(route.handler, &shared, head, &params, body, caller).await,
            };
            if let Some(proof) = proof {
                response.headers_mut().insert(super::identity::PROOF_HEADER, proof);
            }
            response
        }
        Found::WrongMethod(route) => wrong_method(&head, route.methods.allow()),
        Found::Unknown => not_found(&shared, &head),
    };
    release(response).await
}

/// The one key check in front of every handler: who the caller is, or
/// the answer that refuses it. The key is needed as `route`'s access class
/// and the auth mode say; a client key is honoured on API routes only, and
/// there even where no key is needed, so that its calls are attributed and
/// limited (and a revoked one refused) with auth off too.
fn admit(shared: &Shared, route: &Route, head: &RequestHead) -> Result<Caller, Refused> {
    let protocol = protocol_of(route, head);
    let caller = if route.access.needs_key(shared.auth.mode()) {
        checked_key(shared, head, protocol)?
    } else if route.access == Access::Api && !shared.auth.keys().is_empty() {
        match shared.auth.check_key(&head.headers, gemini_query(head)) {
            KeyCheck::Right => Caller::Gateway,
            KeyCheck::Client(key) => Caller::Client(key),
            KeyCheck::Revoked(name) => return Err(Box::new(refusal(protocol, &Denied::Revoked(name)))),
            KeyCheck::Wrong { .. } | KeyCheck::Missing => Caller::Anonymous,
        }
    } else {
        Caller::Anonymous
    };
    match caller {
        Caller::Client(key) if route.access == Access::Admin => {
            Err(Box::new(refusal(protocol, &Denied::AdminOnly(key.name.clone()))))
        }
        Caller::Client(key) if route.access == Access::Api => client_admitted(shared, head, protocol, key),
        caller => Ok(caller),
    }
}

/// A client key's own rules: not expired, from an allowed address, within
/// its requests per minute and tokens per day.
fn client_admitted(
    shared: &Shared,
    head: &RequestHead,
    protocol: Protocol,
    key: Arc<ClientKey>,
) -> Result<Caller, Refused> {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    if let Some(at) = key.expires
        && key.expired(now.as_secs())
    {
        let name = key.name.clone();
        return Err(Box::new(refusal(protocol, &Denied::Expired { name, at })));
    }
    if shared.relay.cluster().is_revoked(&key.hash) {
        return Err(Box::new(refusal(protocol, &Denied::Revoked(key.name.clone()))));
    }
    let ip = head.client.map(|client| client.ip());
    if !key.allows_ip(ip) {
        let name = key.name.clone();
        return Err(Box::new(refusal(protocol, &Denied::Network { name, ip })));
    }
    let unix_ms = i64::try_from(now.as_millis()).unwrap_or(i64::MAX);
    if let Err(limited) = shared.meters.admit(&key, Instant::now(), unix_ms) {
        return Err(Box::new(over_limit(protocol, &key, &limited)));
    }
    Ok(Caller::Client(key))
}

/// The 429 for a client key over one of its limits.
fn over_limit(protocol: Protocol, key: &ClientKey, limited: &Limited) -> Response {
    tracing::info!(key = %key.name, "refused a request over a client key's limit");
    let error = ApiError::new(ErrorKind::RateLimited, limited.message(&key.name));
    let mut response = error_response(protocol, &error);
    let wait = limited.retry_after().as_secs().max(1);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    response
}

/// Team mode: a client key's requests per minute counted across every
/// replica (this replica's own count in [`client_admitted`] stands alone
/// when Redis cannot answer).
async fn team_admit(shared: &Shared, route: &Route, head: &RequestHead, caller: Caller) -> Result<Caller, Refused> {
    let cluster = shared.relay.cluster();
    let Caller::Client(key) = &caller else {
        return Ok(caller);
    };
    if route.access != Access::Api || !cluster.is_shared() {
        return Ok(caller);
    }
    let refuse = |limited: Limited| Err(Box::new(over_limit(protocol_of(route, head), key, &limited)));
    if let Some(limit) = key.tokens_per_day {
        let unix = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let day = unix / 86_400;
        if let Some(used) = cluster.tokens_spent(&key.name, day).await
            && used >= limit
        {
            let retry_after = Duration::from_secs((day + 1) * 86_400 - unix);
            return refuse(Limited::Tokens {
                limit,
                used,
                retry_after,
            });
        }
    }
    if let Some(limit) = key.rpm
        && let Some(Err(retry_after)) = cluster.admit_minute(&key.name, limit).await
    {
        return refuse(Limited::Rpm { limit, retry_after });
    }
    Ok(caller)
}

/// An answer that refuses a request before its handler runs (boxed: a
/// response is large beside a [`Caller`]).
type Refused = Box<Response>;

/// The refusal for `denied`, in `protocol`'s shape.
fn refusal(protocol: Protocol, denied: &Denied) -> Response {
    let kind = if denied.status() == 403 {
        ErrorKind::PermissionDenied
    } else {
        ErrorKind::Authentication
    };
    let mut response = error_response(protocol, &ApiError::new(kind, denial_message(denied)));
    if denied.status() == 401 {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"switchyard\""),
        );
    }
    response
}

/// The raw query string where `?key=` counts (Gemini routes), else `None`.
fn gemini_query(head: &RequestHead) -> Option<&str> {
    (!head.query.is_empty() && super::guard::is_gemini_route(&head.path)).then_some(head.query.as_str())
}

/// The protocol `route`'s handler answers errors in.
fn protocol_of(route: &Route, head: &RequestHead) -> Protocol {
    match route.speaks {
        Speaks::Api(dialect) => dialect.family(),
        Speaks::Models => models::protocol(head),
        Speaks::Own => Protocol::OpenAi,
    }
}

/// Runs `handler`, the key already checked.
async fn serve(
    handler: Handler,
    shared: &Shared,
    head: RequestHead,
    params: &[String],
    body: Body,
    caller: Caller,
) -> Response {
    let param = || params.first().map(|p| decode(p)).unwrap_or_default();
    let key = caller.key().map(|key| &**key);
    match handler {
        Handler::Health => json_response(StatusCode::OK, Bytes::from_static(br#"{"status":"ok"}"#)),
        Handler::Landing => landing(shared, &head),
        Handler::OpenAiModels => models::list(shared, &head, models::protocol(&head), key),
        Handler::OpenAiModel => openai_model(shared, &head, &param(), key),
        Handler::GeminiModels => models::list(shared, &head, Protocol::Gemini, key),
        Handler::GeminiModel => models::one(shared, Protocol::Gemini, &param(), key),
        Handler::Chat => api_call(Endpoint::OpenAiChat, shared, head, body, caller).await,
        Handler::Responses => api_call(Endpoint::Responses, shared, head, body, caller).await,
        Handler::Messages => api_call(Endpoint::AnthropicMessages, shared, head, body, caller).await,
        Handler::CountTokens => api_call(Endpoint::AnthropicCountTokens, shared, head, body, caller).await,
        Handler::Embeddings => api_call(Endpoint::OpenAiEmbeddings, shared, head, body, caller).await,
        Handler::GeminiCall => {
            let sse = head.query_param("alt").as_deref() == Some("sse");
            match gemini_endpoint(&param(), sse) {
                Some(endpoint) => api_call(endpoint, shared, head, body, caller).await,
                None => not_found(shared, &head),
            }
        }
        Handler::Admin(endpoint) => super::admin::serve(endpoint, shared, &head, params).await,
        Handler::Dashboard(asset) => super::dashboard::serve(asset),
    }
}

/// A 500 for a request warp could not take apart (its body already
/// taken): never expected, never a panic.
fn server_error() -> Response {
    error_response(
        Protocol::OpenAi,
        &ApiError::new(ErrorKind::Api, "the gateway could not read this request; send it again"),
    )
}

/// The plain-text landing at `/`: where each SDK family points.
fn landing(shared: &Shared, head: &RequestHead) -> Response {
    let origin = head.origin(shared);
    let text = format!(
        "Switchyard LLM gateway. OpenAI SDKs: {origin}/v1 · Anthropic and Gemini SDKs: {origin} · health: {origin}/healthz\n"
    );
    let mut response = Response::new(Bytes::from(text).into());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// `GET /v1/models/{id}`: the model in the client's shape (for Gemini's,
/// `model:method` is the call row's path: GET is the wrong method for it).
fn openai_model(shared: &Shared, head: &RequestHead, id: &str, key: Option<&ClientKey>) -> Response {
    let protocol = models::protocol(head);
    if protocol == Protocol::Gemini && id.contains(':') {
        return wrong_method(head, Methods::Post.allow());
    }
    models::one(shared, protocol, id, key)
}

/// `models/{model}:{method}` → the Gemini endpoint it names; `sse` when
/// the query asks for server-sent events (`alt=sse`).
fn gemini_endpoint(segment: &str, sse: bool) -> Option<Endpoint> {
    let (model, method) = segment.rsplit_once(':')?;
    if model.is_empty() {
        return None;
    }
    let model = model.to_string();
    match method {
        "generateContent" => Some(Endpoint::GeminiGenerate {
            model,
            stream: false,
            sse,
        }),
        "streamGenerateContent" => Some(Endpoint::GeminiGenerate {
            model,
            stream: true,
            sse,
        }),
        "countTokens" => Some(Endpoint::GeminiCountTokens { model }),
        "embedContent" => Some(Endpoint::GeminiEmbed { model, batch: false }),
        "batchEmbedContents" => Some(Endpoint::GeminiEmbed { model, batch: true }),
        _ => None,
    }
}

/// An API call: the body read within the limits, then handed to the relay.
async fn api_call(endpoint: Endpoint, shared: &Shared, head: RequestHead, body: Body, caller: Caller) -> Response {
    let protocol = endpoint.dialect().family();
    let body = match read_body(body, shared.body_limit, shared.body_pause, shared.body_deadline).await {
        Ok(body) => body,
        Err(err) => return error_response(protocol, &err),
    };
    // JSON is UTF-8: bytes that are not would otherwise pass unnoticed in
    // fields the decoders skip, and be relayed as they are.
    if let Err(err) = std::str::from_utf8(&body) {
        let error = ApiError::invalid_request(format!(
            "invalid JSON body: it is not valid UTF-8 (at byte {}). Send the body encoded as UTF-8.",
            err.valid_up_to()
        ));
        return error_response(protocol, &error);
    }
    // The decoders refuse deep nesting where they read (serde_json's limit),
    // but skip unknown fields without looking, and a relayed body keeps
    // them: refuse it anywhere, so no upstream gets what no parser takes.
    if let Some(at) = nested_too_deep(&body, MAX_NESTING) {
        let error = ApiError::invalid_request(format!(
            "invalid JSON body: arrays and objects nest deeper than {MAX_NESTING} levels (at byte {at})."
        ));
        return error_response(protocol, &error);
    }
    let call = ClientCall {
        endpoint,
        path: head.path,
        query: head.query,
        headers: head.headers,
        client: head.client,
        key: caller.key().cloned(),
        body,
    };
    // Boxed: the relay's call is a large future, and inline it would make
    // every future that holds this one as large, each moved by copying.
    reply::answer(Box::pin(shared.relay.handle(call)).await)
}

/// serde_json's recursion limit: no decoder reads deeper values.
const MAX_NESTING: usize = 128;

/// Where `body` first nests arrays and objects deeper than `limit`
/// (brackets inside strings do not count); one pass, no allocation.
fn nested_too_deep(body: &[u8], limit: usize) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (at, &byte) in body.iter().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(at);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Collects the body, refusing more than `limit` bytes with a 413, and a
/// body that pauses longer than `pause` or is not complete after
/// `deadline` with a 408 (a client trickling its body must not hold a
/// connection forever).
async fn read_body(mut body: Body, limit: usize, pause: Duration, deadline: Duration) -> Result<Bytes, ApiError> {
    let started = Instant::now();
    let give_up = started + deadline;
    let mut collected = BytesMut::new();
    loop {
        let next = match timeout_at(give_up.min(Instant::now() + pause), body.next()).await {
            Ok(next) => next,
            Err(_) => {
                let message = if Instant::now() >= give_up {
                    format!(
                        "The request body was not complete after {} seconds. Send the body at once, or raise \
                         `request_timeout_secs` under [proxy] in config.toml.",
                        deadline.as_secs()
                    )
                } else {
                    format!(
                        "The request body stopped arriving: nothing for {} seconds ({} of its bytes had come). \
                         Send the body at once, or raise `client_timeout_secs` under [proxy] in config.toml.",
                        pause.as_secs(),
                        collected.len()
                    )
                };
                return Err(ApiError {
                    status: 408,
                    kind: ErrorKind::Timeout,
                    message,
                });
            }
        };
        let Some(chunk) = next else { break };
        let chunk =
            chunk.map_err(|err| ApiError::invalid_request(format!("could not read the request body: {err}")))?;
        if collected.len() + chunk.len() > limit {
            return Err(ApiError::new(
                ErrorKind::RequestTooLarge,
                format!(
                    "The request body is larger than the gateway's limit of {} MiB. Send less (fewer or smaller images), \
                     or raise `max_body_mib` under [proxy] in config.toml.",
                    limit / (1024 * 1024)
                ),
            ));
        }
        collected.extend_from_slice(&chunk);
    }
    Ok(collected.freeze())
}

/// Checks the key whatever the auth mode, through the address's brake: a
/// wrong key is recorded and its 401 carries a [`Hold`] when the address
/// has sent too many; the right key clears the address's record.
///
/// A loopback client with the right key is never delayed, not even while
/// its address is braked: another local program (or a page the guard let
/// through) cannot lock the user's own tools out. Elsewhere the brake
/// decides before the key is looked at, so parallel guesses learn nothing
/// faster.
fn checked_key(shared: &Shared, head: &RequestHead, protocol: Protocol) -> Result<Caller, Refused> {
    let ip = head.client.map(|client| client.ip());
    let query = gemini_query(head);
    let loopback = ip.is_some_and(|ip| ip.is_loopback());
    let mut checked = None;
    if loopback {
        let check = shared.auth.check_key(&head.headers, query);
        if let Some(caller) = Caller::of(&check) {
            if let Some(ip) = ip {
                shared.throttle.succeeded(ip);
            }
            return Ok(caller);
        }
        checked = Some(check);
    }
    if let Some(ip) = ip
        && let Admission::Refuse { retry_after } = shared.throttle.admit(ip)
    {
        tracing::warn!(client = %ip, "refused a request: too many wrong gateway keys from this address");
        let error = ApiError::new(
            ErrorKind::RateLimited,
            format!(
                "Too many requests with a wrong API key came from this address; try again in {}s with the key \
                 `switchyard key show` prints.",
                retry_after.as_secs().max(1)
            ),
        );
        let mut response = error_response(protocol, &error);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.as_secs().max(1)));
        return Err(Box::new(response));
    }
    let check = checked.unwrap_or_else(|| shared.auth.check_key(&head.headers, query));
    if let Some(caller) = Caller::of(&check) {
        if let Some(ip) = ip {
            shared.throttle.succeeded(ip);
        }
        return Ok(caller);
    }
    // Only a wrong key is a guess (each wrong candidate counts, a revoked
    // key too); a missing one is a misconfigured client.
    let (denied, guesses) = match check {
        KeyCheck::Revoked(name) => (Denied::Revoked(name), 1),
        KeyCheck::Wrong { candidates } => (Denied::Wrong, candidates),
        _ => (Denied::Missing, 0),
    };
    if let Some(client) = head.client {
        tracing::info!(%client, path = %head.path, reason = ?denied, "refused a request without a valid key");
    }
    let mut response = refusal(protocol, &denied);
    if guesses > 0
        && let Some(until) = ip.and_then(|ip| shared.throttle.failed_times(ip, guesses))
    {
        response.extensions_mut().insert(Hold(until));
    }
    if guesses > 0
        && let Some(ip) = ip
    {
        // Team mode: the address's wrong keys count on every replica.
        let throttle = shared.throttle.clone();
        shared
            .relay
            .cluster()
            .brake_failed(ip, guesses, move |total| throttle.at_least(ip, total));
    }
    Err(Box::new(response))
}

/// Marks a response that must not leave before this instant (a wrong key
/// from an address that sent too many).
#[derive(Debug, Clone, Copy)]
struct Hold(tokio::time::Instant);

/// Sends a held response when its time comes, everything else at once.
async fn release(response: Response) -> Response {
    if let Some(Hold(until)) = response.extensions().get::<Hold>().copied() {
        tokio::time::sleep_until(until).await;
    }
    response
}

/// A 405 for a path the table knows with another method: `allow` names
/// the route's, in the protocol the path belongs to.
fn wrong_method(head: &RequestHead, allow: &'static str) -> Response {
    let protocol = guidance::protocol_for(&head.path, &head.headers);
    let error = ApiError {
        status: 405,
        kind: ErrorKind::InvalidRequest,
        message: format!("`{} {}` is not supported: use {allow}.", head.method, head.path),
    };
    let mut response = error_response(protocol, &error);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// A 404 with guidance. A POST to an unknown Gemini method (`:embedContent`)
/// lands here too: it is not told to use POST.
fn not_found(shared: &Shared, head: &RequestHead) -> Response {
    let protocol = guidance::protocol_for(&head.path, &head.headers);
    let message = guidance::not_found_message(head.method.as_str(), &head.path, &head.origin(shared));
    error_response(protocol, &ApiError::new(ErrorKind::NotFound, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_segments_name_model_and_method() {
        assert_eq!(
            gemini_endpoint("gemini-2.5-flash:generateContent", false),
            Some(Endpoint::GeminiGenerate {
                model: "gemini-2.5-flash".into(),
                stream: false,
                sse: false
            })
        );
        assert_eq!(
            gemini_endpoint("gemini-2.5-pro:streamGenerateContent", false),
            Some(Endpoint::GeminiGenerate {
                model: "gemini-2.5-pro".into(),
                stream: true,
                sse: false
            })
        );
        assert_eq!(
            gemini_endpoint("gemini-2.5-pro:streamGenerateContent", true),
            Some(Endpoint::GeminiGenerate {
                model: "gemini-2.5-pro".into(),
                stream: true,
                sse: true
            })
        );
        assert_eq!(
            gemini_endpoint("g:countTokens", false),
            Some(Endpoint::GeminiCountTokens { model: "g".into() })
        );
        assert_eq!(gemini_endpoint("gemini-2.5-flash", false), None);
        assert_eq!(gemini_endpoint(":generateContent", false), None);
        assert_eq!(
            gemini_endpoint("g:embedContent", false),
            Some(Endpoint::GeminiEmbed {
                model: "g".into(),
                batch: false
            })
        );
        assert_eq!(
            gemini_endpoint("g:batchEmbedContents", false),
            Some(Endpoint::GeminiEmbed {
                model: "g".into(),
                batch: true
            })
        );
        assert_eq!(gemini_endpoint("g:embedText", false), None);
    }

    #[test]
    fn nesting_is_measured_outside_strings() {
        assert_eq!(nested_too_deep(br#"{"a":[[1]]}"#, 3), None);
        assert_eq!(nested_too_deep(br#"{"a":[[[1]]]}"#, 3), Some(7));
        assert_eq!(nested_too_deep(br#"{"a":"[[[[\"[[[["}"#, 1), None);
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert_eq!(nested_too_deep(deep.as_bytes(), MAX_NESTING), Some(128));
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(
            serde_json::from_str::<serde_json::Value>(&ok).is_ok()
                || nested_too_deep(ok.as_bytes(), MAX_NESTING).is_none()
        );
    }
}
