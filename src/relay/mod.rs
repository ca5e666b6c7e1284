//! One API call, from the client's bytes to the client's answer.
//!
//! `gateway` hands over a decoded route and the body; the relay decodes the
//! request (`protocol`), resolves the model alias, asks the `pool` for an
//! account, sends through `upstream` (relaying the body untouched but for
//! the model name when client and upstream speak the same protocol), and
//! encodes the answer in the client's protocol, streamed event by event.
//! Failures before the first byte reaches the client rotate to another
//! account; after it, they become an error event in the stream.
//!
//! The relay knows no HTTP framework: a call comes in as plain data
//! ([`ClientCall`]) and leaves as plain data ([`Answer`]), which the
//! gateway turns into a response.

mod answer;
mod count;
mod embed;
mod models;
mod responses;
mod signatures;
mod stream;
mod trace;

pub use answer::Answer;
use trace::Trace;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::HeaderMap;
use serde_json::Value;

use crate::cluster::Cluster;
use crate::keys::{ClientKey, Meters};
use crate::monitor::Monitor;
use crate::pool::{Lease, Pool, Unavailable, Verdict};
use crate::protocol::members::{self, Edit};
use crate::protocol::model::{Part, ToolCall};
use crate::protocol::{ApiError, ChatRequest, ClientCodec, Dialect, ErrorKind, Protocol, ResponseMeta, signature};
use crate::upstream::{self, Failure, Mode, Outgoing, Provider, ReadError, Upstream};

/// An API endpoint of the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /v1/chat/completions`.
    OpenAiChat,
    /// `POST /v1/responses`.
    Responses,
    /// `POST /v1/messages`.
    AnthropicMessages,
    /// `POST /v1/messages/count_tokens`.
    AnthropicCountTokens,
    /// `POST .../models/{model}:generateContent` / `:streamGenerateContent`.
    GeminiGenerate {
        /// The model from the path.
        model: String,
        /// `streamGenerateContent`.
        stream: bool,
        /// `alt=sse`: the stream comes as server-sent events, not as one
        /// JSON array.
        sse: bool,
    },
    /// `POST .../models/{model}:countTokens`.
    GeminiCountTokens {
        /// The model from the path.
        model: String,
    },
    /// `POST /v1/embeddings`.
    OpenAiEmbeddings,
    /// `POST .../models/{model}:embedContent` / `:batchEmbedContents`.
    GeminiEmbed {
        /// The model from the path.
        model: String,
        /// `batchEmbedContents`.
        batch: bool,
    },
}

impl Endpoint {
    /// The dialect the client speaks (and gets its errors in).
    pub fn dialect(&self) -> Dialect {
        match self {
            Endpoint::OpenAiChat | Endpoint::OpenAiEmbeddings => Dialect::Chat,
            Endpoint::Responses => Dialect::Responses,
            Endpoint::AnthropicMessages | Endpoint::AnthropicCountTokens => Dialect::Messages,
            Endpoint::GeminiGenerate { .. } | Endpoint::GeminiCountTokens { .. } | Endpoint::GeminiEmbed { .. } => {
                Dialect::Gemini
            }
        }
    }

    /// Whether the client reads a stream as server-sent events; a Gemini
    /// client that leaves out `alt=sse` reads one JSON array instead,
    /// whatever the upstream speaks.
    pub fn sse(&self) -> bool {
        match self {
            Endpoint::GeminiGenerate { sse, .. } => *sse,
            Endpoint::GeminiCountTokens { .. } | Endpoint::GeminiEmbed { .. } | Endpoint::OpenAiEmbeddings => false,
            _ => true,
        }
    }
}

/// A client's API call as the HTTP layer hands it over.
#[derive(Debug)]
pub struct ClientCall {
    /// Which endpoint, with the flags its path and query set.
    pub endpoint: Endpoint,
    /// The path, percent-encoded as received.
    pub path: String,
    /// The raw query string ("" when none).
    pub query: String,
    /// The request headers.
    pub headers: HeaderMap,
    /// The client's address, when known.
    pub client: Option<SocketAddr>,
    /// The client key the call came with: its models are the only ones
    /// served, its tokens counted, its name recorded.
    pub key: Option<Arc<ClientKey>>,
    /// The complete body.
    pub body: Bytes,
}

/// Tunables of the relay.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Silence after which a stream gets a keep-alive.
    pub keep_alive: Duration,
    /// Silence after which a stream is declared stalled.
    pub stream_idle_timeout: Duration,
    /// Most accounts tried for one request.
    pub max_attempts: usize,
    /// Most Responses-API answers kept for `previous_response_id`.
    pub responses_kept: usize,
    /// How long they are kept.
    pub responses_max_age: Duration,
    /// Longest time spent rotating before giving up.
    pub retry_budget: Duration,
    /// Longest upstream answer read whole, and longest event of a
    /// translated stream, in bytes (`[proxy] max_upstream_body_mib`).
    pub max_upstream_body: usize,
}

impl Default for RelaySettings {
    fn default() -> Self {
        RelaySettings {
            keep_alive: Duration::from_secs(15),
            stream_idle_timeout: Duration::from_secs(600),
            max_attempts: 3,
            responses_kept: 1000,
            responses_max_age: Duration::from_secs(3600),
            retry_budget: Duration::from_secs(120),
            max_upstream_body: crate::upstream::DEFAULT_BODY_LIMIT,
        }
    }
}

/// Serves API calls from a pool.
#[derive(Debug)]
pub struct Relay {
    /// Replaced whole when config.toml changes; each call works on the
    /// routing it started with (its retries pick from the same pool).
    routing: ArcSwap<Routing>,
    monitor: Option<Arc<Monitor>>,
    /// Where client keys' tokens are counted.
    meters: Arc<Meters>,
    signatures: Arc<signatures::SignatureCache>,
    responses: Arc<responses::ResponseStore>,
    upstream: Upstream,
    settings: RelaySettings,
    /// The state shared with other replicas (team mode), or nothing.
    cluster: Cluster,
}

/// Who serves what: the pool, the model aliases and the fallback chains.
#[derive(Debug)]
pub struct Routing {
    /// The accounts.
    pub pool: Arc<Pool>,
    /// Requested model name → upstream model.
    pub aliases: BTreeMap<String, String>,
    /// Requested model name → the models to try next, in order.
    pub fallbacks: BTreeMap<String, Vec<String>>,
}

impl Routing {
    /// The upstream model for a requested one.
    fn resolve(&self, model: &str) -> String {
        self.aliases.get(model).cloned().unwrap_or_else(|| model.to_string())
    }

    /// The upstream models to try for `requested`, in order: its own, then,
    /// with `fallback`, those of its chain, each through the aliases, none
    /// twice. Only the requested name's chain is followed, never a link's
    /// own, so a chain cannot loop.
    fn chain(&self, requested: &str, fallback: bool) -> Vec<String> {
        let mut chain = vec![self.resolve(requested)];
        if fallback && let Some(links) = self.fallbacks.get(requested) {
            for link in links {
                let model = self.resolve(link);
                if !chain.contains(&model) {
                    chain.push(model);
                }
            }
        }
        chain
    }

    /// The call's chain (see [`Routing::chain`]), fallbacks on unless the
    /// client's headers turn them off, checked against the client key: its
    /// first link must be allowed, the others it may not use are skipped.
    fn chain_for(
        &self,
        requested: &str,
        headers: &HeaderMap,
        key: Option<&ClientKey>,
    ) -> Result<Vec<String>, ApiError> {
        let fallback = header_value(headers, &[FALLBACK_HEADER]).is_none_or(|v| !v.eq_ignore_ascii_case("off"));
        let mut chain = self.chain(requested, fallback);
        if let Some(key) = key {
            if !key.allows_model(&chain[0]) {
                return Err(model_refused(key, requested, &chain[0]));
            }
            chain.retain(|model| key.allows_model(model));
        }
        Ok(chain)
    }
}

/// The request header that turns fallback chains off for one call
/// (`x-switchyard-fallback: off`), for clients that must not change model.
const FALLBACK_HEADER: &str = "x-switchyard-fallback";

/// How one link of a fallback chain ended.
enum Link {
    /// An account answered.
    Served(Answer),
    /// No account of the link's model could serve (all cooling, disabled
    /// or excluded, or every attempt failed before the first byte): the
    /// next link may.
    Unserved(Refusal),
    /// The request itself failed (or the time ran out): no link would do
    /// better.
    Final(Refusal),
}

/// The request headers that carry a conversation id, best first.
const SESSION_HEADERS: &[&str] = &["x-claude-code-session-id", "session-id", "session_id", "x-session-id"];

/// The request header that names a preferred account.
const PREFERRED_ACCOUNT_HEADER: &str = "x-switchyard-account";

impl Relay {
    /// A relay over `pool`.
    pub fn new(
        pool: Arc<Pool>,
        upstream: Upstream,
        aliases: BTreeMap<String, String>,
        settings: RelaySettings,
    ) -> Relay {
        Relay {
            routing: ArcSwap::from_pointee(Routing {
                pool,
                aliases,
                fallbacks: BTreeMap::new(),
            }),
            monitor: None,
            meters: Arc::default(),
            signatures: Arc::default(),
            responses: Arc::new(responses::ResponseStore::new(
                settings.responses_kept,
                settings.responses_max_age,
            )),
            upstream: upstream.with_body_limit(settings.max_upstream_body),
            settings,
            cluster: Cluster::local(),
        }
    }

    /// Shares cooldowns, sticky sessions and the Responses store with the
    /// other replicas of `cluster` (team mode).
    pub fn with_cluster(mut self, cluster: Cluster) -> Relay {
        self.responses = Arc::new(
            responses::ResponseStore::new(self.settings.responses_kept, self.settings.responses_max_age)
                .with_cluster(cluster.clone()),
        );
        self.cluster = cluster;
        self
    }

    /// The state shared with other replicas.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Records every call in `monitor`, and redacts upstream texts with its
    /// redactor (the gateway's secrets, kept current by the gateway).
    pub fn with_monitor(mut self, monitor: Arc<Monitor>) -> Relay {
        self.upstream = self.upstream.with_redactor(monitor.redactor());
        self.monitor = Some(monitor);
        self
    }

    /// Falls back along `fallbacks` (requested name → models to try next).
    pub fn with_fallbacks(self, fallbacks: BTreeMap<String, Vec<String>>) -> Relay {
        let routing = self.routing.load();
        self.routing.store(Arc::new(Routing {
            pool: routing.pool.clone(),
            aliases: routing.aliases.clone(),
            fallbacks,
        }));
        drop(routing);
        self
    }

    /// Counts client keys' tokens in `meters` (the gateway's, which its
    /// key check reads).
    pub fn with_meters(mut self, meters: Arc<Meters>) -> Relay {
        self.meters = meters;
        self
    }

    /// The pool serving new calls.
    pub fn pool(&self) -> Arc<Pool> {
        self.routing.load().pool.clone()
    }

    /// Serves new calls from `routing`; calls already under way finish on
    /// the routing they started with.
    pub fn reroute(&self, routing: Routing) {
        self.routing.store(Arc::new(routing));
    }

    /// The monitor, when calls are recorded.
    pub fn monitor(&self) -> Option<&Arc<Monitor>> {
        self.monitor.as_ref()
    }

    /// Serves one call; every outcome is an answer in the client's protocol.
    pub async fn handle(&self, call: ClientCall) -> Answer {
        let errors = call.endpoint.dialect().family();
        let mut trace = Trace::start(self.monitor.clone(), &call.endpoint, &call.path);
        if let Some(key) = &call.key {
            trace.key(key.name.clone(), self.meters.clone());
        }
        match self.serve(call, &mut trace).await {
            Ok(answer) => {
                // A streamed answer took the trace into its pump.
                trace.finish(answer.status().as_u16(), None);
                answer
            }
            Err(Refusal { error, retry_after }) => {
                let answer = Answer::error(errors, &error).with_retry_after(retry_after);
                trace.finish(error.status, Some(error.message));
                answer
            }
        }
    }

    async fn serve(&self, call: ClientCall, trace: &mut Trace) -> Result<Answer, Refusal> {
        let (codec, mut request) = match &call.endpoint {
            Endpoint::AnthropicCountTokens | Endpoint::GeminiCountTokens { .. } => return self.count(call).await,
            Endpoint::OpenAiEmbeddings | Endpoint::GeminiEmbed { .. } => return self.embed(call, trace).await,
            endpoint => endpoint.dialect().decode(&call.body)?,
        };
        if let Endpoint::GeminiGenerate { model, stream, .. } = &call.endpoint {
            request.model = model.clone();
            request.stream = *stream;
        }
        if let Some(previous) = codec.continues() {
            let Some(mut conversation) = self.responses.recall(previous).await else {
                return Err(ApiError::new(
                    ErrorKind::NotFound,
                    format!(
                        "Previous response with id '{previous}' not found. Switchyard keeps recent responses \
                         in memory only (see [responses] in config.toml); send the whole conversation instead."
                    ),
                )
                .into());
            };
            conversation.append(&mut request.messages);
            request.messages = conversation;
        }
        if request.model.is_empty() {
            return Err(ApiError::invalid_request("The request names no model: set the `model` field.").into());
        }
        let routing = self.routing.load_full();
        let chain = routing.chain_for(&request.model, &call.headers, call.key.as_deref())?;
        let upstream_model = chain[0].clone();
        self.signatures.restore(&mut request);
        if request.session_key.is_none() {
            request.session_key = header_value(&call.headers, SESSION_HEADERS);
        }
        let meta = ResponseMeta {
            id: new_id(),
            model: request.model.clone(),
            created: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        let call = Prepared {
            pool: routing.pool.clone(),
            codec,
            upstream_model,
            chain,
            request,
            meta,
            sse: call.endpoint.sse(),
            headers: call.headers,
            raw_body: call.body,
        };
        trace.request(&call.meta.id, &call.request.model, call.request.stream, &call.raw_body);
        self.dispatch(call, trace).await
    }

    /// Serves the call from the first link of its fallback chain that can:
    /// each link's model gets its own `max_attempts`; the retry budget
    /// (time) covers the whole chain. Only a failure before the first byte
    /// moves on, so a stream never falls back.
    async fn dispatch(&self, mut call: Prepared, trace: &mut Trace) -> Result<Answer, Refusal> {
        let started = tokio::time::Instant::now();
        let mut preferred = header_value(&call.headers, &[PREFERRED_ACCOUNT_HEADER]);
        if preferred.is_none()
            && self.cluster.is_shared()
            && let Some(session) = call.request.session_key.as_deref()
            && call.pool.bound_session(session).is_none()
        {
            // A conversation another replica began stays on its account.
            preferred = self.cluster.session(session).await;
        }
        let chain = std::mem::take(&mut call.chain);
        let mut unserved = Vec::new();
        for (at, model) in chain.iter().enumerate() {
            if at > 0 {
                if started.elapsed() >= self.settings.retry_budget {
                    break;
                }
                tracing::info!(requested = %call.request.model, model = %model, "falling back to the next model of the chain");
                trace.fell_back();
            }
            call.upstream_model = model.clone();
            match self.dispatch_link(&call, trace, started, preferred.as_deref()).await {
                Link::Served(answer) => return Ok(answer.served_by(model)),
                Link::Final(refusal) => return Err(refusal),
                Link::Unserved(refusal) => unserved.push((model.clone(), refusal)),
            }
        }
        Err(chain_refusal(&call.request.model, unserved))
    }

    /// Tries the accounts of the call's current model until one answers,
    /// or the attempts run out.
    async fn dispatch_link(
        &self,
        call: &Prepared,
        trace: &mut Trace,
        started: tokio::time::Instant,
        preferred: Option<&str>,
    ) -> Link {
        let mut tried = Vec::new();
        let mut last_failure: Option<(Failure, String)> = None;
        loop {
            let lease = match call.pool.select(
                &call.upstream_model,
                call.request.session_key.as_deref(),
                preferred,
                &tried,
            ) {
                Ok(lease) => lease,
                Err(unavailable) => {
                    return Link::Unserved(self.unavailable(
                        &call.request.model,
                        &call.upstream_model,
                        unavailable,
                        last_failure,
                    ));
                }
            };
            tried.push(lease.index());
            let member = lease.member().clone();
            if self.cluster.is_shared()
                && let Some(session) = call.request.session_key.as_deref()
                && preferred != Some(member.config.id.as_str())
            {
                self.cluster.bind_session(session, &member.config.id);
            }
            trace.attempt(&member, &call.upstream_model);
            trace.upstream_started();
            let outgoing = call.outgoing(member.provider.as_ref());
            let http = member.http.as_ref().unwrap_or(self.upstream.http());
            let sent = match self.upstream.authorize(http, &member.auth).await {
                Ok(credentials) => {
                    self.upstream
                        .send(http, member.provider.as_ref(), &credentials, &outgoing)
                        .await
                }
                Err(failure) => Err(failure),
            };
            if let Ok(response) = &sent {
                call.pool
                    .observe_quota(&lease, &call.upstream_model, response.headers());
            }
            let attempt = match sent {
                Err(failure) => {
                    let verdict = call.pool.failed(&lease, &call.upstream_model, &failure);
                    self.cluster.publish_health(&call.pool, &member.config.id);
                    Err((failure, verdict))
                }
                Ok(response) if call.request.stream => self.stream(call, lease, response, trace).await,
                Ok(response) => self.complete(call, &lease, response, trace).await,
            };
            let (failure, verdict) = match attempt {
                Ok(answer) => return Link::Served(answer),
                Err(failed) => failed,
            };
            trace.upstream_ended();
            let account = member.config.display_name().to_string();
            tracing::info!(account = %member.config.id, model = %call.upstream_model, failure = %failure.describe(), "upstream attempt failed");
            if verdict != Verdict::Rotate || started.elapsed() >= self.settings.retry_budget {
                return Link::Final(failure_refusal(&failure, &account));
            }
            if tried.len() >= self.settings.max_attempts {
                return Link::Unserved(failure_refusal(&failure, &account));
            }
            last_failure = Some((failure, account));
        }
    }

    /// A non-streamed answer.
    async fn complete(
        &self,
        call: &Prepared,
        lease: &Lease,
        response: reqwest::Response,
        trace: &mut Trace,
    ) -> Result<Answer, (Failure, Verdict)> {
        // Every failure of this attempt passes here: what it quotes of the
        // upstream's answer is redacted before the pool, the log or the
        // client sees it.
        let fail = |failure: Failure| {
            let failure = failure.redacted(&self.upstream.redactor(), &[]);
            let verdict = call.pool.failed(lease, &call.upstream_model, &failure);
            self.cluster.publish_health(&call.pool, &lease.member().config.id);
            (failure, verdict)
        };
        let limit = self.upstream.body_limit();
        let body = match tokio::time::timeout(self.upstream.timeout(), upstream::read_capped(response, limit)).await {
            Err(_) => return Err(fail(Failure::Timeout)),
            // reqwest's own deadline (the request timeout) ran out mid-body.
            Ok(Err(ReadError::Transport(err))) if err.is_timeout() => return Err(fail(Failure::Timeout)),
            Ok(Err(ReadError::Transport(err))) => {
                return Err(fail(Failure::Connect(format!(
                    "the response broke off: {}",
                    err.without_url()
                ))));
            }
            Ok(Err(ReadError::TooLarge)) => return Err(fail(Failure::TooLarge { limit })),
            Ok(Ok(body)) => body,
        };
        trace.upstream_ended();
        let provider = lease.member().provider.as_ref();
        let out = if call.passthrough(provider) {
            // Relayed untouched, but only if it is JSON at all: an upstream
            // (or a proxy in front of it) answering 200 with an HTML page or
            // a cut-off body gets the client an error it can read. When the
            // call is traced, the usage decode is that check (one parse).
            let usage = trace
                .active()
                .then(|| provider.protocol().decode_usage(&body).ok())
                .flatten();
            match usage {
                Some(usage) => trace.usage(usage),
                None => {
                    if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
                        let start: String = String::from_utf8_lossy(&body).chars().take(80).collect();
                        return Err(fail(Failure::Status {
                            status: 502,
                            retry_after: None,
                            message: format!("the upstream's answer is not JSON ({err}): `{}`", start.trim()),
                        }));
                    }
                }
            }
            if call.relabels()
                && let Some(relabelled) = members::relabel_model(&body, provider.protocol(), &call.request.model)
            {
                Bytes::from(relabelled)
            } else {
                body
            }
        } else {
            let body = provider.unwrap(&body);
            let mut decoded = provider.protocol().decode_response(&body, &call.meta).map_err(|err| {
                fail(Failure::Status {
                    status: 502,
                    retry_after: None,
                    message: format!("the upstream's answer could not be read: {}", err.message),
                })
            })?;
            signature::response_for_client(&mut decoded, provider.protocol(), call.family());
            for part in &decoded.content {
                if let Part::ToolCall(ToolCall {
                    id,
                    signature: Some(signature),
                    ..
                }) = part
                {
                    self.signatures.remember(id, signature);
                }
            }
            trace.usage(decoded.usage);
            let encoded = call.codec.encode_response(&decoded, &call.meta);
            if let Some(id) = call.codec.keeps_as(&call.meta) {
                self.responses.keep(id, call.request.messages.clone(), &decoded);
            }
            crate::protocol::json_bytes(&encoded)
        };
        call.pool.succeeded(lease, &call.upstream_model);
        trace.response_body(&out);
        Ok(Answer::ok(out))
    }

    /// The refusal when no account of `model` (the link `requested`
    /// resolved to) could be chosen, after `last`, the link's last failure.
    fn unavailable(
        &self,
        requested: &str,
        model: &str,
        unavailable: Unavailable,
        last: Option<(Failure, String)>,
    ) -> Refusal {
        let named = if model == requested {
            format!("`{model}`")
        } else {
            format!("`{requested}` (alias of `{model}`)")
        };
        match (unavailable, last) {
            (Unavailable::AllCooling { retry_after }, _) => Refusal {
                error: ApiError::new(
                    ErrorKind::RateLimited,
                    format!(
                        "Every account that serves {named} is cooling down after rate limits; the first is available again in {}s. \
                         `switchyard accounts list` shows each account's state.",
                        retry_after.as_secs().max(1)
                    ),
                ),
                retry_after: Some(retry_after),
            },
            // This request already failed on every account it could use (a
            // rejected key even disables its account): the client hears
            // what the upstream said, not the pool state it left behind.
            (_, Some((failure, account))) => failure_refusal(&failure, &account),
            (Unavailable::Exhausted, None) => {
                ApiError::new(ErrorKind::Overloaded, format!("No account could serve {named}.")).into()
            }
            (Unavailable::NoAccount { disabled }, None) if !disabled.is_empty() => {
                let list: Vec<String> = disabled.iter().map(|(name, why)| format!("{name}: {why}")).collect();
                ApiError {
                    status: 503,
                    kind: ErrorKind::Overloaded,
                    message: format!(
                        "Every account that serves {named} is disabled ({}). Fix the account and run `switchyard accounts enable ID`.",
                        list.join("; ")
                    ),
                }
                .into()
            }
            (Unavailable::NoAccount { .. }, None) => ApiError::new(
                ErrorKind::NotFound,
                format!(
                    "No account serves the model {named}. Add an account whose `models` globs match it \
                     (`switchyard accounts add PROVIDER --models 'GLOB'`), or map it to a served model with an alias \
                     under [models] in config.toml."
                ),
            )
            .into(),
        }
    }
}

/// A request ready to be sent to any account.
struct Prepared {
    /// The pool the call picks its accounts from.
    pool: Arc<Pool>,
    /// The client's side of the call: its dialect and what that carries.
    codec: ClientCodec,
    /// The model of the fallback chain's link being tried.
    upstream_model: String,
    /// The upstream models to try, in order (see [`Routing::chain`]).
    chain: Vec<String>,
    request: ChatRequest,
    meta: ResponseMeta,
    /// Whether the client reads its stream as server-sent events (see
    /// [`Endpoint::sse`]).
    sse: bool,
    /// The client's request headers.
    headers: HeaderMap,
    raw_body: Bytes,
}

impl Prepared {
    /// Whether the client's body can be relayed as it is to `provider`. An
    /// answer relayed for another model than the one asked for (an alias, a
    /// fallback) is relabelled with the requested name (event by event when
    /// streamed; see `members::relabel_model`).
    fn passthrough(&self, provider: &dyn Provider) -> bool {
        self.codec.passes_through(provider.protocol()) && provider.relays_raw()
    }

    /// Whether a relayed answer must be renamed to the requested model.
    fn relabels(&self) -> bool {
        self.request.model != self.upstream_model
    }

    /// The client's protocol family (error shapes, signature conventions).
    fn family(&self) -> Protocol {
        self.codec.dialect().family()
    }

    /// Whether a relayed stream is asked for a usage chunk the client did
    /// not ask for, then kept from it (see [`ClientCodec::hides_usage`]).
    fn hides_usage(&self) -> bool {
        self.codec.hides_usage(&self.request)
    }

    fn outgoing(&self, provider: &dyn Provider) -> Outgoing {
        let wire = provider.protocol();
        let passthrough = self.passthrough(provider);
        let mode = if !self.request.stream {
            Mode::Complete
        } else if passthrough && !self.sse {
            Mode::JsonArray
        } else {
            Mode::Sse
        };
        let (body, forward_headers) = if passthrough {
            let body = if wire == Protocol::Gemini {
                self.raw_body.clone()
            } else {
                let model = (self.request.model != self.upstream_model).then_some(self.upstream_model.as_str());
                with_fields(&self.raw_body, model, self.hides_usage())
            };
            (body, forwarded_headers(&self.headers))
        } else {
            let mut request = self.request.clone();
            request.stream = mode != Mode::Complete;
            signature::request_for_upstream(&mut request, self.family(), wire);
            let body = crate::protocol::json_bytes(&wire.encode_request(&request, &self.upstream_model));
            (body, HeaderMap::new())
        };
        Outgoing {
            model: self.upstream_model.clone(),
            body,
            mode,
            forward_headers,
        }
    }
}

/// The client's body with its top-level `model` replaced and, with
/// `ask_usage`, `stream_options.include_usage` set; everything else byte for
/// byte (nested values are not re-encoded). A body that is not a JSON
/// object goes on as it came.
fn with_fields(body: &Bytes, model: Option<&str>, ask_usage: bool) -> Bytes {
    let model = model.map(|model| Value::String(model.to_string()));
    let usage = serde_json::json!({"include_usage": true});
    let mut edits = Vec::new();
    edits.extend(model.as_ref().map(|model| Edit::Set("model", model)));
    if ask_usage {
        edits.push(Edit::Set("stream_options", &usage));
    }
    if edits.is_empty() {
        return body.clone();
    }
    members::edit(body, &edits)
        .map(Bytes::from)
        .unwrap_or_else(|| body.clone())
}

/// Headers of an Anthropic client that the Anthropic upstream must see.
fn forwarded_headers(headers: &HeaderMap) -> HeaderMap {
    let mut forwarded = HeaderMap::new();
    for name in ["anthropic-version", "anthropic-beta"] {
        if let Some(value) = headers.get(name) {
            forwarded.insert(name, value.clone());
        }
    }
    forwarded
}

fn header_value(headers: &HeaderMap, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// A unique response id token: 24 hex digits.
fn new_id() -> String {
    let mut bytes = [0u8; 12];
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

/// An error answer, with the wait to advertise when rate limited.
struct Refusal {
    error: ApiError,
    retry_after: Option<Duration>,
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Refusal {
            error,
            retry_after: None,
        }
    }
}

/// The client-facing error for the last upstream failure.
fn failure_refusal(failure: &Failure, account: &str) -> Refusal {
    match failure {
        Failure::Connect(why) => ApiError {
            status: 502,
            kind: ErrorKind::Api,
            message: format!("Could not reach the upstream of account `{account}`: {why}."),
        }
        .into(),
        Failure::Timeout => ApiError::new(
            ErrorKind::Timeout,
            format!("The upstream of account `{account}` did not answer in time."),
        )
        .into(),
        Failure::TooLarge { limit } => ApiError {
            status: 502,
            kind: ErrorKind::Api,
            message: format!(
                "The answer of account `{account}`'s upstream was {}.",
                upstream::over_limit(*limit)
            ),
        }
        .into(),
        Failure::Rejected { status, message } => ApiError::upstream(
            *status,
            format!("Upstream error from account `{account}` (HTTP {status}): {message}{REJECTED_HINT}"),
        )
        .into(),
        Failure::Status {
            status,
            retry_after,
            message,
        } => {
            let hint = match status {
                401 => REJECTED_HINT,
                403 => {
                    " (the upstream refused this request for the account, which stays in use: it may lack access to the model, region or feature asked for)"
                }
                _ => "",
            };
            Refusal {
                error: ApiError::upstream(
                    *status,
                    format!("Upstream error from account `{account}` (HTTP {status}): {message}{hint}"),
                ),
                retry_after: *retry_after,
            }
        }
    }
}

/// The refusal for a call no link of its chain could serve: a chain of one
/// is refused as it always was; a longer one says what was tried, and is a
/// 429 with the shortest wait when every link was only cooling.
fn chain_refusal(requested: &str, mut unserved: Vec<(String, Refusal)>) -> Refusal {
    if unserved.len() <= 1 {
        return unserved.pop().map_or_else(
            || ApiError::new(ErrorKind::Overloaded, format!("No account could serve `{requested}`.")).into(),
            |(_, refusal)| refusal,
        );
    }
    let tried: Vec<String> = unserved
        .iter()
        .map(|(model, refusal)| format!("{model} (HTTP {})", refusal.error.status))
        .collect();
    let cooling: Option<Vec<Duration>> = unserved
        .iter()
        .map(|(_, refusal)| {
            (refusal.error.kind == ErrorKind::RateLimited)
                .then_some(refusal.retry_after)
                .flatten()
        })
        .collect();
    if let Some(waits) = cooling
        && let Some(wait) = waits.into_iter().min()
    {
        return Refusal {
            error: ApiError::new(
                ErrorKind::RateLimited,
                format!(
                    "Every model of the fallback chain of `{requested}` is cooling down after rate limits (tried {}); \
                     the first is available again in {}s. `switchyard accounts list` shows each account's state.",
                    tried.join(", "),
                    wait.as_secs().max(1)
                ),
            ),
            retry_after: Some(wait),
        };
    }
    let (_, mut last) = unserved.pop().expect("two or more links");
    last.error.message = format!(
        "{} (No model of the fallback chain of `{requested}` could serve; tried {}.)",
        last.error.message,
        tried.join(", ")
    );
    last
}

/// A client key's call for a model outside its `--models`.
fn model_refused(key: &ClientKey, requested: &str, upstream: &str) -> ApiError {
    let named = if requested == upstream {
        format!("`{requested}`")
    } else {
        format!("`{requested}` (an alias of `{upstream}`)")
    };
    ApiError::new(
        ErrorKind::PermissionDenied,
        format!(
            "The client key `{}` may not use the model {named}: it may use only {}. GET /v1/models lists its models.",
            key.name,
            key.model_globs.join(", ")
        ),
    )
}

/// What a client is told when an account's own credentials were refused.
const REJECTED_HINT: &str = " (the upstream rejected the account's own credentials, not your gateway key: replace the account with `switchyard accounts add`, or `accounts login google` for Google accounts)";
