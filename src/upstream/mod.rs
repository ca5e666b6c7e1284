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
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;

pub use anthropic::Anthropic;
pub use gemini::Gemini;
pub use google::{Google, GoogleSession};
pub use openai::OpenAi;

use crate::config::ProviderKind;
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

/// Why an upstream call failed.
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
}

impl Failure {
    /// A short description for logs and errors (never contains a secret).
    pub fn describe(&self) -> String {
        match self {
            Failure::Connect(why) => format!("could not connect: {why}"),
            Failure::Timeout => "timed out".to_string(),
            Failure::Status { status, message, .. } => format!("HTTP {status}: {message}"),
        }
    }
}

/// The shared client for all upstream calls.
#[derive(Debug, Clone)]
pub struct Upstream {
    http: reqwest::Client,
    /// Longest time to wait for a complete response or a stream's headers.
    timeout: Duration,
}

impl Upstream {
    /// A client whose requests time out after `timeout`. Proxies come from
    /// the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`).
    pub fn new(timeout: Duration) -> Result<Upstream, reqwest::Error> {
        Ok(Upstream {
            http: client_builder().build()?,
            timeout,
        })
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
            Auth::Google(session) => session.credentials(http).await,
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
        self.execute(provider, request).await
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
        let response = self.execute(provider, request.timeout(Duration::from_secs(60))).await?;
        let body = response
            .bytes()
            .await
            .map_err(|err| Failure::Connect(transport_error(&err)))?;
        let count = provider.read_count(&provider.unwrap(&body));
        count.map(Some).ok_or_else(|| Failure::Status {
            status: 502,
            retry_after: None,
            message: "the counting endpoint answered without a count".into(),
        })
    }

    /// Sends a built request; error statuses become [`Failure`]s with the
    /// upstream's message and retry hint.
    async fn execute(
        &self,
        provider: &dyn Provider,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Failure> {
        let response = match tokio::time::timeout(self.timeout, request.send()).await {
            Err(_) => return Err(Failure::Timeout),
            Ok(Err(err)) if err.is_timeout() => return Err(Failure::Timeout),
            Ok(Err(err)) => return Err(Failure::Connect(transport_error(&err))),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let header_delay = retry_after_header(response.headers());
        let body = tokio::time::timeout(Duration::from_secs(30), response.bytes())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let body = provider.unwrap(&body);
        let retry_after = header_delay.or_else(|| google_retry_delay(&body));
        Err(Failure::Status {
            status: status.as_u16(),
            retry_after,
            message: crate::protocol::error::upstream_message(&body),
        })
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

/// `Retry-After` in seconds (the HTTP-date form is rare from APIs and is
/// treated as absent).
fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
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
fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        total += number * factor;
        rest = &rest[unit_len..];
    }
    (total.is_finite() && total >= 0.0).then(|| Duration::from_secs_f64(total.min(86_400.0)))
}

/// Joins a base URL and a path with exactly one slash.
fn join(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
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
        headers.insert("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after_header(&headers), None);
    }

    #[test]
    fn urls_join_with_one_slash() {
        assert_eq!(
            join("https://a/v1/", "/chat/completions"),
            "https://a/v1/chat/completions"
        );
        assert_eq!(join("https://a", "v1/messages"), "https://a/v1/messages");
    }
}
