//! Sending requests to upstream providers.
//!
//! Each provider is one module behind the [`Provider`] trait: it knows its
//! wire protocol, its default endpoint and how to address and authenticate
//! a request. This module owns the shared HTTP client (one connection pool
//! with keep-alive for every upstream) and turns transport and HTTP failures
//! into [`Failure`]s the pool can act on.

mod anthropic;
mod gemini;
pub mod google;
pub mod oauth;
mod openai;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::HeaderMap;

pub use anthropic::Anthropic;
pub use gemini::Gemini;
pub use google::{Google, GoogleSession};
pub use openai::{OpenAi, bearer};

use crate::config::ProviderKind;
use crate::monitor::redact::{Redactor, SharedRedactor};
use crate::protocol::Protocol;

/// How a stream is asked of an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One JSON response.
    Complete,
    /// A stream of server-sent events.
    Sse,
    /// Gemini's streamed JSON array (`streamGenerateContent` without `alt=sse`),
    /// only asked for when relaying a Gemini client's own request unchanged.
    JsonArray,
}

/// What is sent: the model, the body and its mode.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The upstream's model name.
    pub model: String,
    /// The encoded body in the provider's protocol.
    pub body: Bytes,
    /// Complete or streamed.
    pub mode: Mode,
    /// Client headers to forward when relaying a same-protocol request
    /// (`anthropic-beta`, `anthropic-version`, ...).
    pub forward_headers: HeaderMap,
}

/// The account-specific part of a request.
#[derive(Clone)]
pub struct Credentials {
    /// The endpoint, without a trailing slash.
    pub base_url: String,
    /// The API key or access token.
    pub secret: Arc<str>,
    /// The Cloud project (Google accounts).
    pub project: Option<String>,
}

/// How an account authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    /// A fixed API key.
    Key(Credentials),
    /// Google OAuth: tokens refreshed as they expire.
    Google(Arc<GoogleSession>),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// One kind of upstream.
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// The wire protocol of its bodies.
    fn protocol(&self) -> Protocol;
    /// The endpoint used when an account names none.
    fn default_base_url(&self) -> &'static str;
    /// Builds the HTTP request (URL, auth, headers, body).
    fn request(
        &self,
        http: &reqwest::Client,
        credentials: &Credentials,
        outgoing: &Outgoing,
    ) -> reqwest::RequestBuilder;
    /// Whether a client of the same protocol may have its body relayed
    /// unchanged (false when the provider wraps bodies in an envelope).
    fn relays_raw(&self) -> bool {
        true
    }
    /// The protocol's own answer (or stream event) inside the provider's
    /// envelope, if it has one.
    fn unwrap<'a>(&self, body: &'a [u8]) -> Cow<'a, [u8]> {
        Cow::Borrowed(body)
    }
    /// A request to the provider's free token-counting endpoint for the
    /// generate request in `outgoing`; `None` when it has no such endpoint.
    fn count_tokens(
        &self,
        _http: &reqwest::Client,
        _credentials: &Credentials,
        _outgoing: &Outgoing,
    ) -> Option<reqwest::RequestBuilder> {
        None
    }
    /// The count in the counting endpoint's answer.
    fn read_count(&self, _body: &[u8]) -> Option<u64> {
        None
    }
    /// Whether it serves embeddings (then [`Provider::embed`] is `Some`).
    fn serves_embeddings(&self) -> bool {
        false
    }
    /// A request to the provider's embeddings endpoint with `body` (in its
    /// protocol's embeddings shape, see `protocol::embed`) for `model`;
    /// `None` when it serves no embeddings (Anthropic, Code Assist).
    fn embed(
        &self,
        _http: &reqwest::Client,
        _credentials: &Credentials,
        _model: &str,
        _body: Bytes,
    ) -> Option<reqwest::RequestBuilder> {
        None
    }
}

/// The provider implementation for a kind.
pub fn provider(kind: ProviderKind) -> Arc<dyn Provider> {
    match kind {
        ProviderKind::Gemini => Arc::new(Gemini),
        ProviderKind::Openai => Arc::new(OpenAi),
        ProviderKind::Anthropic => Arc::new(Anthropic),
        ProviderKind::Google => Arc::new(Google),
    }
}

/// Why an upstream call failed. Every text in it has been redacted: no
/// secret of the gateway's, in any encoding, leaves the upstream layer.
#[derive(Debug, Clone)]
pub enum Failure {
    /// No connection: refused, DNS, TLS.
    Connect(String),
    /// No answer in time.
    Timeout,
    /// An HTTP error status.
    Status {
        /// The status.
        status: u16,
        /// How long the upstream asks us to wait (`Retry-After`, Google's
        /// `retryDelay` / `quotaResetDelay`).
        retry_after: Option<Duration>,
        /// The upstream's error message.
        message: String,
    },
    /// The upstream refused the account itself: its key or token is
    /// invalid (see [`rejects_credentials`]), or a Google account has no
    /// Code Assist project. Nothing the client chose causes it, so the
    /// account is taken out of rotation until it is fixed.
    Rejected {
        /// The upstream's status.
        status: u16,
        /// The upstream's error message.
        message: String,
    },
    /// The answer (or one event of a stream) was longer than the limit
    /// (`[proxy] max_upstream_body_mib`); its reading stopped there.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl Failure {
    /// A short description for logs and errors (never contains a secret).
    pub fn describe(&self) -> String {
        match self {
            Failure::Connect(why) => format!("could not connect: {why}"),
            Failure::Timeout => "timed out".to_string(),
            Failure::Status { status, message, .. } | Failure::Rejected { status, message } => {
                format!("HTTP {status}: {message}")
            }
            Failure::TooLarge { limit } => format!("the answer was {}", over_limit(*limit)),
        }
    }

    /// The same failure with every secret `redactor` knows, and `extra`
    /// ones, removed from its texts.
    pub fn redacted(self, redactor: &Redactor, extra: &[&str]) -> Failure {
        match self {
            Failure::Connect(why) => Failure::Connect(redactor.redact_with(&why, extra)),
            Failure::Status {
                status,
                retry_after,
                message,
            } => Failure::Status {
                status,
                retry_after,
                message: redactor.redact_with(&message, extra),
            },
            Failure::Rejected { status, message } => Failure::Rejected {
                status,
                message: redactor.redact_with(&message, extra),
            },
            other => other,
        }
    }
}

/// "larger than the limit of N MiB (...)": what a client and the log are
/// told about an answer over the limit, naming the setting that raises it.
pub fn over_limit(limit: usize) -> String {
    const MIB: usize = 1024 * 1024;
    let size = if limit.is_multiple_of(MIB) {
        format!("{} MiB", limit / MIB)
    } else {
        format!("{limit} bytes")
    };
    format!(
        "larger than the limit of {size} (`max_upstream_body_mib` under [proxy] in config.toml; raise it if answers \
         this large are expected)"
    )
}

/// Why a body could not be read whole.
#[derive(Debug)]
pub enum ReadError {
    /// It is longer than the limit; the rest was not read.
    TooLarge,
    /// The transport failed.
    Transport(reqwest::Error),
}

/// Reads a whole body, but no more than `limit` bytes of it: an answer
/// longer than that is refused as soon as that is known (from its
/// `Content-Length`, or once the limit is passed), and dropping the
/// response then closes its connection.
pub async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Bytes, ReadError> {
    if response.content_length().is_some_and(|length| length > limit as u64) {
        return Err(ReadError::TooLarge);
    }
    // Most answers arrive as one chunk: that chunk is the body, uncopied.
    let Some(first) = response.chunk().await.map_err(ReadError::Transport)? else {
        return Ok(Bytes::new());
    };
    if first.len() > limit {
        return Err(ReadError::TooLarge);
    }
    let Some(second) = response.chunk().await.map_err(ReadError::Transport)? else {
        return Ok(first);
    };
    let mut body = bytes::BytesMut::with_capacity(first.len() + second.len());
    body.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
        next = response.chunk().await.map_err(ReadError::Transport)?;
    }
    Ok(body.freeze())
}

/// Whether an error answer says that the account's own key or token is
/// invalid: every 401, and a 400 or 403 that says so in the providers'
/// structured fields (Google's `ErrorInfo.reason` such as `API_KEY_INVALID`,
/// which Gemini sends with a 400; `UNAUTHENTICATED`; OpenAI's
/// `invalid_api_key`; Anthropic's `authentication_error`) or, for a 403,
/// whose message starts with such words ("API key not valid"). A 403 about
/// a model, a region, billing or a content policy, and any other 400, is
/// about the request or the account's rights, never its credentials: a
/// client must not be able to take an account out of rotation by what it
/// asks for. Only the start of a message is read, since upstreams quote
/// parts of the request further on.
pub fn rejects_credentials(status: u16, body: &[u8]) -> bool {
    /// Google `ErrorInfo` reasons that mean the key or token itself is bad.
    const REASONS: [&str; 5] = [
        "API_KEY_INVALID",
        "ACCESS_TOKEN_EXPIRED",
        "ACCESS_TOKEN_TYPE_UNSUPPORTED",
        "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
        "ACCOUNT_STATE_INVALID",
    ];
    /// How a 403's message starts when it is about the key or token.
    const OPENINGS: [&str; 11] = [
        "api key not valid",
        "api key not found",
        "api key expired",
        "invalid api key",
        "incorrect api key",
        "invalid x-api-key",
        "invalid authentication",
        "request had invalid authentication credentials",
        "invalid access token",
        "access token expired",
        "invalid bearer token",
    ];
    if status == 401 {
        return true;
    }
    if status != 400 && status != 403 {
        return false;
    }
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let error = value
        .get("error")
        .or_else(|| value.get(0).and_then(|v| v.get("error")))
        .unwrap_or(&serde_json::Value::Null);
    let text = |pointer: &str| error.pointer(pointer).and_then(|v| v.as_str()).unwrap_or_default();
    let reason = error
        .get("details")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
        .filter_map(|detail| detail.get("reason").and_then(|r| r.as_str()))
        .any(|reason| REASONS.contains(&reason));
    let structured = reason
        || text("/status") == "UNAUTHENTICATED"
        || text("/code") == "invalid_api_key"
        || text("/type") == "authentication_error";
    if structured || status != 403 {
        return structured;
    }
    let message = crate::protocol::error::upstream_message(body).to_lowercase();
    let message = message.trim_start();
    OPENINGS.iter().any(|opening| message.starts_with(opening))
}

/// The shared client for all upstream calls.
#[derive(Debug, Clone)]
pub struct Upstream {
    http: reqwest::Client,
    /// Longest time to wait for a complete response or a stream's headers.
    timeout: Duration,
    /// Longest upstream answer read whole, and longest stream event, in bytes.
    body_limit: usize,
    /// Removes the gateway's secrets from every upstream text.
    redactor: SharedRedactor,
}

/// The default of `[proxy] max_upstream_body_mib`, in bytes.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024 * 1024;

impl Upstream {
    /// A client whose requests time out after `timeout`. Proxies come from
    /// the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`).
    pub fn new(timeout: Duration) -> Result<Upstream, reqwest::Error> {
        Ok(Upstream {
            http: client_builder().build()?,
            timeout,
            body_limit: DEFAULT_BODY_LIMIT,
            redactor: SharedRedactor::default(),
        })
    }

    /// Reads no answer longer than `bytes` (nor any stream event).
    pub fn with_body_limit(mut self, bytes: usize) -> Upstream {
        self.body_limit = bytes;
        self
    }

    /// Redacts upstream texts with `redactor` (the monitor's, which follows
    /// the gateway's secrets as accounts and keys change).
    pub fn with_redactor(mut self, redactor: SharedRedactor) -> Upstream {
        self.redactor = redactor;
        self
    }

    /// The longest answer read whole, in bytes.
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// The redactor of the moment.
    pub fn redactor(&self) -> std::sync::Arc<Redactor> {
        self.redactor.load()
    }

    /// The shared client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A client that sends everything through `proxy_url` (http, https,
    /// socks5), for an account configured with one.
    pub fn client_with_proxy(proxy_url: &str) -> Result<reqwest::Client, String> {
        let proxy =
            reqwest::Proxy::all(proxy_url).map_err(|err| format!("invalid proxy_url: {}", err.without_url()))?;
        client_builder()
            .proxy(proxy)
            .build()
            .map_err(|err| format!("cannot use proxy_url: {}", err.without_url()))
    }

    /// The credentials for the next request of an account (refreshing a
    /// Google access token when it is about to expire).
    pub async fn authorize(&self, http: &reqwest::Client, auth: &Auth) -> Result<Credentials, Failure> {
        match auth {
            Auth::Key(credentials) => Ok(credentials.clone()),
            Auth::Google(session) => session
                .credentials(http, self.body_limit)
                .await
                .map_err(|failure| failure.redacted(&self.redactor(), &[])),
        }
    }

    /// Sends `outgoing` and waits for the response headers. Error statuses
    /// are read in full and returned as a [`Failure`]; success returns the
    /// response with its body unread.
    pub async fn send(
        &self,
        http: &reqwest::Client,
        provider: &dyn Provider,
        credentials: &Credentials,
        outgoing: &Outgoing,
    ) -> Result<reqwest::Response, Failure> {
        let mut request = provider.request(http, credentials, outgoing);
        if outgoing.mode == Mode::Complete {
            request = request.timeout(self.timeout);
        }
        self.execute(provider, request, credentials).await
    }

    /// Counts the input tokens of `outgoing` (a generate body) with the
    /// provider's free counting endpoint. `Ok(None)` when it has none.
    pub async fn count_tokens(
        &self,
        http: &reqwest::Client,
        provider: &dyn Provider,
        credentials: &Credentials,
        outgoing: &Outgoing,
    ) -> Result<Option<u64>, Failure> {
        let Some(request) = provider.count_tokens(http, credentials, outgoing) else {
            return Ok(None);
        };
        let response = self
            .execute(provider, request.timeout(Duration::from_secs(60)), credentials)
            .await?;
        let body = match read_capped(response, self.body_limit).await {
            Ok(body) => body,
            Err(ReadError::TooLarge) => return Err(Failure::TooLarge { limit: self.body_limit }),
            Err(ReadError::Transport(err)) => {
                return Err(Failure::Connect(transport_error(&err)).redacted(&self.redactor(), &[&credentials.secret]));
            }
        };
        let count = provider.read_count(&provider.unwrap(&body));
        count.map(Some).ok_or_else(|| Failure::Status {
            status: 502,
            retry_after: None,
            message: "the counting endpoint answered without a count".into(),
        })
    }

    /// Sends an embeddings request (see [`Provider::embed`]) and waits for
    /// the response headers, as [`Upstream::send`] does; `None` when the
    /// provider serves no embeddings.
    pub async fn embed(
        &self,
        http: &reqwest::Client,
        provider: &dyn Provider,
        credentials: &Credentials,
        model: &str,
        body: Bytes,
    ) -> Option<Result<reqwest::Response, Failure>> {
        let request = provider.embed(http, credentials, model, body)?;
        Some(self.execute(provider, request.timeout(self.timeout), credentials).await)
    }

    /// Sends a built request; error statuses become [`Failure`]s with the
    /// upstream's message (redacted) and retry hint.
    async fn execute(
        &self,
        provider: &dyn Provider,
        request: reqwest::RequestBuilder,
        credentials: &Credentials,
    ) -> Result<reqwest::Response, Failure> {
        let failure = match tokio::time::timeout(self.timeout, request.send()).await {
            Err(_) => Failure::Timeout,
            Ok(Err(err)) if err.is_timeout() => Failure::Timeout,
            Ok(Err(err)) => Failure::Connect(transport_error(&err)),
            Ok(Ok(response)) if response.status().is_success() => return Ok(response),
            Ok(Ok(response)) => self.error_status(provider, response).await,
        };
        Err(failure.redacted(&self.redactor(), &[&credentials.secret]))
    }

    /// The failure an error status stands for, read from its body (no more
    /// than the limit of it).
    async fn error_status(&self, provider: &dyn Provider, response: reqwest::Response) -> Failure {
        let status = response.status().as_u16();
        let header_delay = retry_after_header(response.headers());
        let body = tokio::time::timeout(Duration::from_secs(30), read_capped(response, self.body_limit)).await;
        let body = match body {
            Ok(Ok(body)) => body,
            Ok(Err(ReadError::TooLarge)) => {
                let message = format!(
                    "(the upstream's error answer was {}, so it was not read)",
                    over_limit(self.body_limit)
                );
                return match status {
                    401 => Failure::Rejected { status, message },
                    _ => Failure::Status {
                        status,
                        retry_after: header_delay,
                        message,
                    },
                };
            }
            Ok(Err(ReadError::Transport(_))) | Err(_) => Bytes::new(),
        };
        let body = provider.unwrap(&body);
        let message = crate::protocol::error::upstream_message(&body);
        if rejects_credentials(status, &body) {
            return Failure::Rejected { status, message };
        }
        Failure::Status {
            status,
            retry_after: header_delay.or_else(|| google_retry_delay(&body)),
            message,
        }
    }

    /// The timeout for complete responses.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// Idle keep-alive connections kept per upstream host.
const MAX_IDLE_PER_HOST: usize = 32;

/// A reqwest client builder with TLS ready. reqwest is built without a
/// crypto provider of its own (its default, aws-lc-rs, adds megabytes to
/// the binary); ring is installed as the process default first, once.
pub fn http_client() -> reqwest::ClientBuilder {
    // An error only means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

fn client_builder() -> reqwest::ClientBuilder {
    http_client()
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        // A burst of streams opens as many connections; keeping them all
        // idle afterwards holds their buffers (tens of MB after 1000 streams)
        // for no gain. Steady traffic needs far fewer per upstream host.
        .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
        .tcp_nodelay(true)
        .user_agent(concat!("switchyard/", env!("CARGO_PKG_VERSION")))
        // An upstream redirect would resend the key to another host.
        .redirect(reqwest::redirect::Policy::none())
}

/// The innermost cause of a transport error, without the URL (which could
/// carry a key in its query for some providers).
fn transport_error(err: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = err;
    while let Some(inner) = source.source() {
        source = inner;
    }
    let detail = source.to_string();
    if err.is_connect() {
        format!("connection failed ({detail})")
    } else {
        detail
    }
}

/// Longest wait taken from an upstream's hint as it stands (the pool caps
/// it again, see `pool::health::HINT_MAX`).
const HINT_CAP: Duration = Duration::from_secs(86_400);

/// `Retry-After` in either form: seconds, or an HTTP date.
fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    retry_after(value, SystemTime::now())
}

/// A `Retry-After` value at `now`: seconds (`30`, `1.5`), or an HTTP date
/// (`Wed, 21 Oct 2026 07:28:00 GMT`, and the two obsolete forms RFC 9110
/// still asks recipients to read), of which a past one means "now".
fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(HINT_CAP.as_secs_f64())));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO).min(HINT_CAP))
}

/// Google's retry hints in an error body: `RetryInfo.retryDelay` ("30s",
/// "1.5s") or `ErrorInfo.metadata.quotaResetDelay` ("4h2m1.5s", "500ms").
pub fn google_retry_delay(body: &[u8]) -> Option<Duration> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let error = value
        .get("error")
        .or_else(|| value.get(0).and_then(|v| v.get("error")))?;
    let details = error.get("details")?.as_array()?;
    details.iter().find_map(|detail| {
        detail
            .get("retryDelay")
            .and_then(|v| v.as_str())
            .or_else(|| detail.pointer("/metadata/quotaResetDelay").and_then(|v| v.as_str()))
            .and_then(parse_go_duration)
    })
}

/// Parses a Go/protobuf duration such as `30s`, `1.5s`, `500ms`, `4h2m1s`.
/// humantime reads the same units (and more); a number past its range is
/// no hint at all.
fn parse_go_duration(text: &str) -> Option<Duration> {
    humantime::parse_duration(text).ok().map(|wait| wait.min(HINT_CAP))
}

/// Joins a base URL and a path with exactly one slash.
fn join(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}

/// `base` and `path` joined as [`join`] does, as a parsed URL: each base is
/// parsed once (callgrind put the URL parse of every upstream request, host
/// and IDNA checks included, at a sixth of a relayed call's instructions),
/// then only the path and query are set. `None` when the base does not parse.
fn joined_url(base: &str, path: &str) -> Option<reqwest::Url> {
    /// Parsed bases; a handful of accounts in practice, never more than this.
    const MAX_BASES: usize = 256;
    static BASES: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, reqwest::Url>>> =
        std::sync::LazyLock::new(Default::default);
    let mut url = {
        let mut bases = BASES.lock().unwrap_or_else(|p| p.into_inner());
        match bases.get(base) {
            Some(url) => url.clone(),
            None => {
                let url = reqwest::Url::parse(base).ok()?;
                if url.cannot_be_a_base() {
                    return None;
                }
                if bases.len() >= MAX_BASES {
                    bases.clear();
                }
                bases.insert(base.to_string(), url.clone());
                url
            }
        }
    };
    let (path, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
    let full = format!("{}/{}", url.path().trim_end_matches('/'), path.trim_start_matches('/'));
    url.set_path(&full);
    if query.is_some() {
        url.set_query(query);
    }
    Some(url)
}

/// A POST to `path` under the account's base URL.
pub(crate) trait PostTo {
    /// `post(join(base, path))`, with the base parsed once.
    fn post_to(&self, base: &str, path: &str) -> reqwest::RequestBuilder;
}

impl PostTo for reqwest::Client {
    fn post_to(&self, base: &str, path: &str) -> reqwest::RequestBuilder {
        match joined_url(base, path) {
            Some(url) => self.post(url),
            // reqwest reports the bad URL when the request is sent.
            None => self.post(join(base, path)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("4h2m1s"), Some(Duration::from_secs(4 * 3600 + 121)));
        assert_eq!(parse_go_duration("abc"), None);
        assert_eq!(parse_go_duration(""), None);
        assert_eq!(parse_go_duration("5x"), None);
        // What Google sends: protobuf's seconds with a fraction, Go's
        // Duration.String() with every unit down to nanoseconds.
        assert_eq!(parse_go_duration("0.5s"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("1m2s"), Some(Duration::from_secs(62)));
        assert_eq!(parse_go_duration("1h0m2.5s"), Some(Duration::from_secs_f64(3602.5)));
        assert_eq!(parse_go_duration("2m0.000000001s"), Some(Duration::new(120, 1)));
        assert_eq!(parse_go_duration("1.5ms"), Some(Duration::from_micros(1500)));
        assert_eq!(parse_go_duration("250us"), Some(Duration::from_micros(250)));
        assert_eq!(parse_go_duration("250\u{b5}s"), Some(Duration::from_micros(250)));
        assert_eq!(parse_go_duration("10ns"), Some(Duration::from_nanos(10)));
        assert_eq!(parse_go_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_go_duration(" 30s "), Some(Duration::from_secs(30)));
        // A day at most.
        assert_eq!(parse_go_duration("100h"), Some(Duration::from_secs(86_400)));
        // Not durations.
        for bad in ["5", "-1s", "+1s", "1..5s", "s", "1e3s", "  "] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn google_retry_hints() {
        let body = br#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[
            {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[]},
            {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}}"#;
        assert_eq!(google_retry_delay(body), Some(Duration::from_secs(37)));
        let body = br#"{"error":{"code":429,"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo",
            "reason":"RATE_LIMIT_EXCEEDED","metadata":{"quotaResetDelay":"1h0m2.5s"}}]}}"#;
        assert_eq!(google_retry_delay(body), Some(Duration::from_secs_f64(3602.5)));
        assert_eq!(google_retry_delay(br#"{"error":{"code":429}}"#), None);
        assert_eq!(google_retry_delay(b"not json"), None);
    }

    #[test]
    fn retry_after_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "30".parse().unwrap());
        assert_eq!(retry_after_header(&headers), Some(Duration::from_secs(30)));
        // A date long past: retry now.
        headers.insert("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after_header(&headers), Some(Duration::ZERO));
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after_header(&headers), None);
    }

    #[test]
    fn retry_after_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT").unwrap();
        let wait = |value: &str| retry_after(value, now);
        assert_eq!(wait("Wed, 21 Oct 2026 07:28:42 GMT"), Some(Duration::from_secs(42)));
        // The obsolete forms RFC 9110 still asks recipients to read.
        assert_eq!(wait("Wednesday, 21-Oct-26 07:29:00 GMT"), Some(Duration::from_secs(60)));
        assert_eq!(wait("Wed Oct 21 07:28:05 2026"), Some(Duration::from_secs(5)));
        // Now or past: retry now.
        assert_eq!(wait("Wed, 21 Oct 2026 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(wait("Tue, 20 Oct 2026 07:28:00 GMT"), Some(Duration::ZERO));
        // Far ahead: a day at most.
        assert_eq!(wait("Fri, 21 Oct 2033 07:28:00 GMT"), Some(Duration::from_secs(86_400)));
        // Seconds still read as before; anything else is no hint.
        assert_eq!(wait(" 1.5 "), Some(Duration::from_millis(1500)));
        assert_eq!(wait("1e9"), Some(Duration::from_secs(86_400)));
        for bad in [
            "-1",
            "NaN",
            "",
            "Wed, 32 Oct 2026 07:28:00 GMT",
            "21 Oct 2026",
            "tomorrow",
        ] {
            assert_eq!(wait(bad), None, "{bad}");
        }
    }

    #[test]
    fn credential_failures_are_told_from_refusals_of_the_request() {
        let gemini_invalid_key = br#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}"#;
        let code_assist_unauthenticated = br#"{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.","status":"UNAUTHENTICATED"}}"#;
        let scope = br#"{"error":{"code":403,"message":"Request had insufficient authentication scopes.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]}}"#;
        let openai_key = br#"{"error":{"message":"Incorrect API key provided: sk-abc***xyz.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
        let anthropic_key =
            br#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;
        let key_not_valid = br#"{"error":{"message":"API key not valid. Please pass a valid API key."}}"#;
        for (status, body) in [
            (400, &gemini_invalid_key[..]),
            (401, code_assist_unauthenticated),
            (403, scope),
            (401, openai_key),
            (403, openai_key),
            (401, anthropic_key),
            (403, key_not_valid),
            (403, b"Invalid API key"),
            (401, b"<html>whatever</html>"),
        ] {
            assert!(
                rejects_credentials(status, body),
                "{status} {}",
                String::from_utf8_lossy(body)
            );
        }
        let model_access = br#"{"error":{"message":"Your organization does not have access to this model","type":"invalid_request_error","code":"model_not_found"}}"#;
        let anthropic_permission = br#"{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."}}"#;
        let region = br#"{"error":{"code":403,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}"#;
        let billing = br#"{"error":{"code":403,"message":"This API method requires billing to be enabled.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"BILLING_DISABLED"}]}}"#;
        let code_assist_denied =
            br#"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}"#;
        let policy = br#"{"error":{"message":"Your request was rejected as a result of our safety system.","code":"content_policy_violation"}}"#;
        // The request's own words quoted back: not the upstream's verdict on the key.
        let quoted = br#"{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"API key not valid\" at 'contents[0]'","status":"INVALID_ARGUMENT"}}"#;
        let quoted_403 = br#"{"error":{"message":"Model 'invalid api key' is not allowed"}}"#;
        for (status, body) in [
            (403, &model_access[..]),
            (403, anthropic_permission),
            (403, region),
            (403, billing),
            (403, code_assist_denied),
            (400, policy),
            (400, quoted),
            (400, key_not_valid),
            (403, quoted_403),
            (429, openai_key),
            (500, anthropic_key),
        ] {
            assert!(
                !rejects_credentials(status, body),
                "{status} {}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn the_limit_is_named_with_its_setting() {
        assert!(
            over_limit(64 << 20).starts_with("larger than the limit of 64 MiB (`max_upstream_body_mib` under [proxy]")
        );
        assert!(over_limit(1000).contains("1000 bytes"));
    }

    #[test]
    fn failures_are_redacted_in_every_text() {
        let redactor = Redactor::new(vec!["sk-known-secret-1".into()]);
        let failure = Failure::Rejected {
            status: 401,
            message: "key sk%2Dknown%2Dsecret%2D1 and token tok/en-123 refused".into(),
        };
        let clean = failure.redacted(&redactor, &["tok/en-123"]).describe();
        assert_eq!(clean, "HTTP 401: key [REDACTED] and token [REDACTED] refused");
    }

    #[test]
    fn urls_join_with_one_slash() {
        assert_eq!(
            join("https://a/v1/", "/chat/completions"),
            "https://a/v1/chat/completions"
        );
        assert_eq!(join("https://a", "v1/messages"), "https://a/v1/messages");
        for (base, path) in [
            ("https://a/v1/", "/chat/completions"),
            ("https://a/v1", "chat/completions"),
            (
                "http://127.0.0.1:8080",
                "v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            ),
            (
                "https://generativelanguage.googleapis.com",
                "v1beta/models/a%2Fb:countTokens",
            ),
            ("https://cloudcode-pa.googleapis.com/", "v1internal:generateContent"),
            ("https://api.z.ai/api/anthropic", "v1/messages"),
            ("http://[::1]:11434/v1", "models"),
        ] {
            let slow = reqwest::Url::parse(&join(base, path)).unwrap();
            assert_eq!(joined_url(base, path).unwrap(), slow, "{base} + {path}");
            // The second time comes from the parsed base.
            assert_eq!(joined_url(base, path).unwrap(), slow, "{base} + {path}, cached");
        }
        assert!(joined_url("not a url", "x").is_none());
    }
}
