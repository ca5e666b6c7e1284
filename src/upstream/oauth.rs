//! Google OAuth: access tokens from a refresh token, and the sign-in flow
//! that obtains the refresh token (authorization code with PKCE and a
//! loopback redirect, RFC 8252).
//!
//! The OAuth client and every endpoint come from `[providers.google]` in the
//! configuration; nothing is built in.
//!
//! The redirect is served by a small hyper server on 127.0.0.1 (a random
//! port) for the length of the sign-in: it answers every request the
//! browser makes (a favicon, a preconnect, a request that arrives in
//! pieces), accepts only a callback that carries this sign-in's `state`,
//! and ends when the provider sends a code or an error.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{Mutex, mpsc};
use tokio::time::Instant;

use super::Failure;
use crate::config::GoogleProviderConfig;

/// A token is refreshed this long before it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(120);

/// The lifetime assumed when the token endpoint gives none (Google's is an hour).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// The range a token endpoint's `expires_in` is clamped to: a zero or
/// negative value must not make every request refresh in a loop faster than
/// this, and a huge one must neither overflow the clock nor keep a token
/// (which Google revokes within the hour anyway) for ever.
const LIFETIME_RANGE: (Duration, Duration) = (Duration::from_secs(60), Duration::from_secs(24 * 3600));

/// Longest time a browser connection to the redirect listener may take to
/// send its request's headers.
const CALLBACK_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest time the last answer page gets to reach the browser once the
/// sign-in is decided.
const CALLBACK_DRAIN: Duration = Duration::from_secs(2);

/// Longest time a replica holds the team's refresh lock for one account
/// (team mode); the others wait for its token at most this long, then
/// refresh themselves.
const REFRESH_LOCK: Duration = Duration::from_secs(10);

/// Turns a refresh token into access tokens, refreshing once per expiry
/// however many requests ask at the same time (in team mode, however many
/// replicas ask: the token is kept in Redis and one replica refreshes
/// under a lock).
pub struct TokenSource {
    refresh_token: Arc<str>,
    client: Arc<GoogleProviderConfig>,
    current: Mutex<Option<AccessToken>>,
    refreshes: AtomicU64,
    /// The team's shared state and this account's id (team mode).
    shared: std::sync::OnceLock<(crate::cluster::Cluster, String)>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.client.token_url)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct AccessToken {
    token: Arc<str>,
    expires_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// Seconds; a number or a numeric string, any sign or size (see
    /// [`token_lifetime`]).
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl TokenSource {
    /// A source for `refresh_token` with the configured OAuth client.
    pub fn new(refresh_token: Arc<str>, client: Arc<GoogleProviderConfig>) -> TokenSource {
        TokenSource {
            refresh_token,
            client,
            current: Mutex::new(None),
            refreshes: AtomicU64::new(0),
            shared: std::sync::OnceLock::new(),
        }
    }

    /// Shares this account's access token with the other replicas of
    /// `cluster` (a local cluster changes nothing).
    pub fn share(&self, cluster: &crate::cluster::Cluster, account: &str) {
        if cluster.is_shared() {
            let _ = self.shared.set((cluster.clone(), account.to_string()));
        }
    }

    /// The refresh token (for redaction lists; never logged).
    pub fn refresh_token(&self) -> &str {
        &self.refresh_token
    }

    /// How many times the token endpoint was called (for tests and the dashboard).
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// A valid access token. Concurrent callers wait on one refresh: the
    /// lock is held across it, so the second caller finds the new token.
    /// The token endpoint's answer is read up to `body_limit` bytes.
    pub async fn access_token(&self, http: &reqwest::Client, body_limit: usize) -> Result<Arc<str>, Failure> {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref()
            && token.expires_at > Instant::now() + EXPIRY_MARGIN
        {
            return Ok(token.token.clone());
        }
        let token = match self.shared.get() {
            Some((cluster, account)) => self.refresh_shared(cluster, account, http, body_limit).await?,
            None => self.refresh(http, body_limit).await?,
        };
        *current = Some(token.clone());
        Ok(token.token)
    }

    /// Team mode: the token another replica refreshed, or a refresh by this
    /// one under the team's lock. Without Redis, a refresh of its own.
    async fn refresh_shared(
        &self,
        cluster: &crate::cluster::Cluster,
        account: &str,
        http: &reqwest::Client,
        body_limit: usize,
    ) -> Result<AccessToken, Failure> {
        let usable = |shared: Option<(String, Duration)>| {
            shared
                .filter(|(_, left)| *left > EXPIRY_MARGIN)
                .map(|(token, left)| AccessToken {
                    token: Arc::from(token),
                    expires_at: Instant::now() + left,
                })
        };
        if let Some(token) = usable(cluster.access_token(account).await) {
            return Ok(token);
        }
        match cluster.lock_refresh(account, REFRESH_LOCK).await {
            Some(Some(lock)) => {
                let fresh = self.refresh(http, body_limit).await;
                if let Ok(token) = &fresh {
                    let left = token.expires_at.saturating_duration_since(Instant::now());
                    cluster.keep_access_token(account, &token.token, left).await;
                }
                cluster.unlock_refresh(account, &lock).await;
                fresh
            }
            Some(None) => {
                let deadline = Instant::now() + REFRESH_LOCK;
                while Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if let Some(token) = usable(cluster.access_token(account).await) {
                        return Ok(token);
                    }
                }
                self.refresh(http, body_limit).await
            }
            None => self.refresh(http, body_limit).await,
        }
    }

    /// Asks the token endpoint for a new access token.
    async fn refresh(&self, http: &reqwest::Client, body_limit: usize) -> Result<AccessToken, Failure> {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", &*self.refresh_token),
            ("client_id", &self.client.client_id),
            ("client_secret", &self.client.client_secret),
        ];
        let fresh = exchange(http, &self.client.token_url, &form, body_limit).await?;
        Ok(AccessToken {
            token: Arc::from(fresh.access_token),
            expires_at: Instant::now() + token_lifetime(fresh.expires_in.as_ref()),
        })
    }
}

/// The largest token answer read at sign-in (the gateway's own limit,
/// `max_upstream_body_mib`, applies to refreshes).
const SIGN_IN_ANSWER_LIMIT: usize = 1024 * 1024;

/// How long a fresh access token is used: the endpoint's `expires_in`
/// clamped to [`LIFETIME_RANGE`], or [`DEFAULT_LIFETIME`] when it gave no
/// number.
fn token_lifetime(expires_in: Option<&serde_json::Value>) -> Duration {
    let secs = match expires_in {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match secs.filter(|s| !s.is_nan()) {
        Some(secs) => {
            let (min, max) = LIFETIME_RANGE;
            Duration::from_secs_f64(secs.clamp(min.as_secs_f64(), max.as_secs_f64()))
        }
        None => DEFAULT_LIFETIME,
    }
}

/// Posts a token request and reads the answer; OAuth errors become
/// failures the pool understands (`invalid_grant` disables the account).
async fn exchange(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
    limit: usize,
) -> Result<TokenResponse, Failure> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let response = http
        .post(url)
        .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|err| {
            if err.is_timeout() {
                Failure::Timeout
            } else {
                Failure::Connect(format!(
                    "the OAuth token endpoint is unreachable ({})",
                    err.without_url()
                ))
            }
        })?;
    let status = response.status().as_u16();
    // A token answer is a few hundred bytes: a hostile endpoint cannot make
    // the gateway hold more than `limit`.
    let bytes = match super::read_capped(response, limit).await {
        Ok(bytes) => bytes,
        Err(super::ReadError::TooLarge) => return Err(Failure::TooLarge { limit }),
        Err(super::ReadError::Transport(_)) => bytes::Bytes::new(),
    };
    if (200..300).contains(&status) {
        return serde_json::from_slice(&bytes).map_err(|_| Failure::Status {
            status: 502,
            retry_after: None,
            message: "the OAuth token endpoint answered without an access token".into(),
        });
    }
    let (code, description) = match serde_json::from_slice::<TokenError>(&bytes) {
        Ok(err) => (err.error, err.error_description.unwrap_or_default()),
        Err(_) => (format!("HTTP {status}"), String::new()),
    };
    let message = if code == "invalid_grant" {
        format!(
            "Google refused the refresh token (invalid_grant: {description}); sign in again with \
             `switchyard accounts login google`"
        )
    } else {
        format!("the OAuth token endpoint refused the refresh ({code}: {description})")
    };
    // invalid_grant and invalid_client are credential problems: 401 takes the
    // account out of rotation; anything else is treated as the endpoint's fault.
    let status = match code.as_str() {
        "invalid_grant" | "invalid_client" | "unauthorized_client" => 401,
        _ if status >= 500 => status,
        _ => 502,
    };
    Err(Failure::Status {
        status,
        retry_after: None,
        message,
    })
}

/// A sign-in that could not be started or did not complete. Messages never
/// contain the code, the verifier or a token.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The loopback listener could not be bound or failed.
    #[error("cannot listen on 127.0.0.1 for the sign-in redirect: {0}")]
    Listen(#[source] std::io::Error),
    /// The OS random source failed; a sign-in without unguessable PKCE and
    /// state values is never started.
    #[error(
        "the operating system's random number generator failed ({0}); the sign-in needs it for its PKCE verifier \
         and state, so none was started. Try again; if it keeps failing, the system's entropy source is broken"
    )]
    Random(getrandom::Error),
    /// No callback with a code arrived in time.
    #[error(
        "no sign-in arrived within {0} seconds; run `switchyard accounts login google` again and finish the sign-in \
         in the browser"
    )]
    TimedOut(u64),
    /// The provider redirected back with `error=`.
    #[error("{}", refused_message(.error, .description.as_deref()))]
    Refused {
        /// The OAuth error code (`access_denied`, `invalid_scope`, …).
        error: String,
        /// The provider's `error_description`, if any.
        description: Option<String>,
    },
    /// The token endpoint refused the code.
    #[error("the code exchange failed: {0}")]
    Exchange(String),
    /// The token endpoint gave no refresh token.
    #[error(
        "Google returned no refresh token (remove Switchyard's access at myaccount.google.com/permissions and sign \
         in again)"
    )]
    NoRefreshToken,
}

/// The message for an `error=` redirect: what happened and what to do.
fn refused_message(error: &str, description: Option<&str>) -> String {
    let detail = match description {
        Some(text) if !text.is_empty() => format!("{error}: {text}"),
        _ => error.to_string(),
    };
    if error == "access_denied" {
        format!(
            "the sign-in was cancelled or access was not granted ({detail}); run `switchyard accounts login google` \
             again and allow access"
        )
    } else {
        format!(
            "Google refused the sign-in ({detail}); check client_id and scopes under [providers.google] in \
             config.toml and the OAuth client's consent screen, then try again"
        )
    }
}

/// A PKCE verifier and its S256 challenge.
#[derive(Debug, Clone)]
pub struct Pkce {
    /// The secret verifier (43–128 characters).
    pub verifier: String,
    /// BASE64URL(SHA256(verifier)).
    pub challenge: String,
}

impl Pkce {
    /// A fresh random verifier; fails when the OS random source does.
    pub fn new() -> Result<Pkce, LoginError> {
        let verifier = random_token(48)?;
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Ok(Pkce { verifier, challenge })
    }
}

/// `bytes` random bytes from the OS, base64url-encoded.
fn random_token(bytes: usize) -> Result<String, LoginError> {
    random_token_from(bytes, getrandom::fill)
}

/// [`random_token`] with the random source passed in, so that its failure
/// can be tested: an error, never a panic and never a predictable value.
fn random_token_from(
    bytes: usize,
    fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
) -> Result<String, LoginError> {
    let mut buf = vec![0u8; bytes];
    fill(&mut buf).map_err(LoginError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// A sign-in in progress: the loopback listener waiting for the browser.
pub struct Login {
    listener: tokio::net::TcpListener,
    redirect_uri: String,
    state: String,
    pkce: Pkce,
    client: Arc<GoogleProviderConfig>,
}

impl Login {
    /// Draws the PKCE verifier and state, binds the loopback redirect
    /// listener and prepares the URL.
    pub async fn start(client: Arc<GoogleProviderConfig>) -> Result<Login, LoginError> {
        let state = random_token(16)?;
        let pkce = Pkce::new()?;
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(LoginError::Listen)?;
        let port = listener.local_addr().map_err(LoginError::Listen)?.port();
        Ok(Login {
            listener,
            redirect_uri: format!("{}/oauth2callback", crate::config::local_base_url(port)),
            state,
            pkce,
            client,
        })
    }

    /// The URL the user opens to sign in.
    pub fn authorization_url(&self) -> String {
        let scope = self.client.scopes.join(" ");
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", &scope)
            .append_pair("code_challenge", &self.pkce.challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", &self.state)
            .append_pair("access_type", "offline")
            .append_pair("prompt", "consent")
            .finish();
        let separator = if self.client.auth_url.contains('?') { '&' } else { '?' };
        format!("{}{separator}{query}", self.client.auth_url)
    }

    /// Waits (up to `timeout`) for the browser to come back with a code,
    /// exchanges it, and returns the refresh token.
    pub async fn finish(self, http: &reqwest::Client, timeout: Duration) -> Result<String, LoginError> {
        let code = tokio::time::timeout(timeout, self.wait_for_code())
            .await
            .map_err(|_| LoginError::TimedOut(timeout.as_secs()))??;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("client_id", self.client.client_id.as_str()),
            ("client_secret", self.client.client_secret.as_str()),
            ("code_verifier", self.pkce.verifier.as_str()),
        ];
        let token = exchange(http, &self.client.token_url, &form, SIGN_IN_ANSWER_LIMIT)
            .await
            .map_err(|failure| LoginError::Exchange(failure.describe()))?;
        token.refresh_token.ok_or(LoginError::NoRefreshToken)
    }

    /// Serves the loopback listener with HTTP/1 until a request carries this
    /// sign-in's `state` and a `code` (or an `error`), then lets the answer
    /// pages in flight reach the browser.
    async fn wait_for_code(&self) -> Result<String, LoginError> {
        let (decided, mut decision) = mpsc::unbounded_channel::<Result<String, LoginError>>();
        let state: Arc<str> = Arc::from(self.state.as_str());
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let outcome = loop {
            tokio::select! {
                Some(outcome) = decision.recv() => break outcome,
                accepted = self.listener.accept() => {
                    let stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(err) => {
                            // Out of descriptors or an aborted handshake:
                            // wait a moment rather than spin; the overall
                            // timeout still bounds the sign-in.
                            tracing::debug!(error = %err, "accepting a sign-in redirect connection failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let state = state.clone();
                    let decided = decided.clone();
                    let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let response = answer_callback(request.uri(), &state, &decided);
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let mut builder = hyper::server::conn::http1::Builder::new();
                    builder
                        .timer(TokioTimer::new())
                        .header_read_timeout(CALLBACK_HEADER_TIMEOUT)
                        .keep_alive(false);
                    let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                }
            }
        };
        let _ = tokio::time::timeout(CALLBACK_DRAIN, graceful.shutdown()).await;
        outcome
    }
}

/// What a request to the redirect listener brought.
#[derive(Debug, PartialEq, Eq)]
enum Callback {
    /// Not the callback path (the browser's favicon, a probe): 404.
    Elsewhere,
    /// The callback with a `state` that is not this sign-in's: refused, and
    /// the sign-in keeps waiting (a forged redirect cannot end it).
    WrongState,
    /// This sign-in's callback without a code or an error.
    Incomplete,
    /// The provider refused the sign-in (`error=`).
    Refused {
        /// The OAuth error code.
        error: String,
        /// The provider's description.
        description: Option<String>,
    },
    /// The authorization code.
    Code(String),
}

/// Reads a request target (`path?query`) against this sign-in's `state`.
fn judge_callback(path: &str, query: Option<&str>, state: &str) -> Callback {
    if path != "/oauth2callback" {
        return Callback::Elsewhere;
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let state_matches = get("state").is_some_and(|given| bool::from(given.as_bytes().ct_eq(state.as_bytes())));
    if !state_matches {
        return Callback::WrongState;
    }
    if let Some(error) = get("error") {
        return Callback::Refused {
            error: printable(&error),
            description: get("error_description").map(|d| printable(&d)),
        };
    }
    match get("code") {
        Some(code) if !code.is_empty() => Callback::Code(code),
        _ => Callback::Incomplete,
    }
}

/// Provider text for the terminal: no control characters, and short.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(300).collect()
}

/// The page for one request, and the sign-in's outcome when the request
/// decides it.
fn answer_callback(
    uri: &http::Uri,
    state: &str,
    decided: &mpsc::UnboundedSender<Result<String, LoginError>>,
) -> hyper::Response<Full<Bytes>> {
    match judge_callback(uri.path(), uri.query(), state) {
        Callback::Elsewhere => page(404, "This is not the sign-in callback."),
        Callback::WrongState => page(
            400,
            "This page does not belong to the sign-in in progress. Start again with `switchyard accounts login \
             google`.",
        ),
        Callback::Incomplete => page(400, "The sign-in callback carried no code."),
        Callback::Refused { error, description } => {
            let _ = decided.send(Err(LoginError::Refused { error, description }));
            page(400, "The sign-in did not complete. Return to the terminal for details.")
        }
        Callback::Code(code) => {
            let _ = decided.send(Ok(code));
            page(200, "Signed in. You can close this tab and return to the terminal.")
        }
    }
}

/// A small HTML page (the text is ours, never the request's).
fn page(status: u16, text: &str) -> hyper::Response<Full<Bytes>> {
    let body = format!("<!doctype html><meta charset=utf-8><title>Switchyard</title><p>{text}</p>");
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The URL holds the code: nothing may cache the page or pass it on.
    headers.insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    headers.insert(
        http::header::REFERRER_POLICY,
        http::HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        http::header::CONTENT_SECURITY_POLICY,
        http::HeaderValue::from_static("default-src 'none'"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_the_s256_of_the_verifier() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let pkce = Pkce::new().unwrap();
        assert!((43..=128).contains(&pkce.verifier.len()));
        assert_eq!(
            pkce.challenge,
            URL_SAFE_NO_PAD.encode(Sha256::digest(pkce.verifier.as_bytes()))
        );
    }

    #[test]
    fn expires_in_is_clamped_to_a_sane_lifetime() {
        use serde_json::json;
        let lifetime = |v: serde_json::Value| token_lifetime(Some(&v)).as_secs();
        assert_eq!(lifetime(json!(-5)), 60);
        assert_eq!(lifetime(json!(0)), 60);
        assert_eq!(lifetime(json!(1_000_000_000_000u64)), 24 * 3600);
        assert_eq!(lifetime(json!(u64::MAX)), 24 * 3600);
        assert_eq!(lifetime(json!(-1e300)), 60);
        assert_eq!(lifetime(json!(3599)), 3599);
        assert_eq!(lifetime(json!("3599")), 3599);
        assert_eq!(lifetime(json!("NaN")), 3600);
        assert_eq!(lifetime(json!(null)), 3600);
        assert_eq!(token_lifetime(None).as_secs(), 3600);
        // Whatever the endpoint says, adding it to the clock cannot overflow.
        let _ = Instant::now() + token_lifetime(Some(&json!(1e300)));
    }

    #[test]
    fn a_failing_random_source_is_an_error_not_a_weak_value() {
        let err = random_token_from(16, |_| Err(getrandom::Error::UNSUPPORTED)).unwrap_err();
        assert!(matches!(err, LoginError::Random(_)), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("random number generator"), "{message}");
        assert!(message.contains("Try again"), "{message}");
        let token = random_token_from(16, |buf| {
            buf.fill(7);
            Ok(())
        })
        .unwrap();
        assert_eq!(token, URL_SAFE_NO_PAD.encode([7u8; 16]));
    }

    #[test]
    fn the_callback_needs_this_sign_ins_state() {
        let state = "s3cr3t-state";
        assert_eq!(judge_callback("/favicon.ico", None, state), Callback::Elsewhere);
        assert_eq!(
            judge_callback("/oauth2callback", Some("code=c&state=other"), state),
            Callback::WrongState
        );
        assert_eq!(
            judge_callback("/oauth2callback", Some("code=c"), state),
            Callback::WrongState
        );
        assert_eq!(judge_callback("/oauth2callback", None, state), Callback::WrongState);
        // A forged error without the state cannot end the sign-in either.
        assert_eq!(
            judge_callback("/oauth2callback", Some("error=access_denied"), state),
            Callback::WrongState
        );
        assert_eq!(
            judge_callback("/oauth2callback", Some("state=s3cr3t-state"), state),
            Callback::Incomplete
        );
        assert_eq!(
            judge_callback(
                "/oauth2callback",
                Some("code=4%2F0Ab&state=s3cr3t-state&scope=x"),
                state
            ),
            Callback::Code("4/0Ab".into())
        );
        assert_eq!(
            judge_callback(
                "/oauth2callback",
                Some("error=access_denied&error_description=User%20said%0Ano&state=s3cr3t-state"),
                state
            ),
            Callback::Refused {
                error: "access_denied".into(),
                description: Some("User saidno".into())
            }
        );
    }
}
