//! Google OAuth: access tokens from a refresh token, and the sign-in flow
//! that obtains the refresh token (authorization code with PKCE and a
//! loopback redirect, RFC 8252).
//!
//! The OAuth client and every endpoint come from `[providers.google]` in the
//! configuration; nothing is built in.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::Failure;
use crate::config::GoogleProviderConfig;

/// A token is refreshed this long before it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(120);

/// Turns a refresh token into access tokens, refreshing once per expiry
/// however many requests ask at the same time.
pub struct TokenSource {
    refresh_token: Arc<str>,
    client: Arc<GoogleProviderConfig>,
    current: Mutex<Option<AccessToken>>,
    refreshes: AtomicU64,
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
    #[serde(default)]
    expires_in: Option<u64>,
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
    pub async fn access_token(&self, http: &reqwest::Client) -> Result<Arc<str>, Failure> {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref()
            && token.expires_at > Instant::now() + EXPIRY_MARGIN
        {
            return Ok(token.token.clone());
        }
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", &*self.refresh_token),
            ("client_id", &self.client.client_id),
            ("client_secret", &self.client.client_secret),
        ];
        let fresh = exchange(http, &self.client.token_url, &form).await?;
        let token = AccessToken {
            token: Arc::from(fresh.access_token),
            expires_at: Instant::now() + Duration::from_secs(fresh.expires_in.unwrap_or(3600)),
        };
        *current = Some(token.clone());
        Ok(token.token)
    }
}

/// Posts a token request and reads the answer; OAuth errors become
/// failures the pool understands (`invalid_grant` disables the account).
async fn exchange(http: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> Result<TokenResponse, Failure> {
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
    let bytes = response.bytes().await.unwrap_or_default();
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

/// A PKCE verifier and its S256 challenge.
#[derive(Debug, Clone)]
pub struct Pkce {
    /// The secret verifier (43–128 characters).
    pub verifier: String,
    /// BASE64URL(SHA256(verifier)).
    pub challenge: String,
}

impl Pkce {
    /// A fresh random verifier.
    pub fn new() -> Pkce {
        let verifier = random_token(48);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Pkce { verifier, challenge }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Pkce::new()
    }
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    let _ = getrandom::fill(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
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
    /// Binds the loopback redirect listener and prepares the URL.
    pub async fn start(client: Arc<GoogleProviderConfig>) -> std::io::Result<Login> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let port = listener.local_addr()?.port();
        Ok(Login {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}/oauth2callback"),
            state: random_token(16),
            pkce: Pkce::new(),
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
    pub async fn finish(self, http: &reqwest::Client, timeout: Duration) -> Result<String, String> {
        let code = tokio::time::timeout(timeout, self.wait_for_code())
            .await
            .map_err(|_| format!("no sign-in arrived within {} seconds", timeout.as_secs()))??;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("client_id", self.client.client_id.as_str()),
            ("client_secret", self.client.client_secret.as_str()),
            ("code_verifier", self.pkce.verifier.as_str()),
        ];
        let token = exchange(http, &self.client.token_url, &form)
            .await
            .map_err(|failure| format!("the code exchange failed: {}", failure.describe()))?;
        token.refresh_token.ok_or_else(|| {
            "Google returned no refresh token (remove Switchyard's access at myaccount.google.com/permissions and \
             sign in again)"
                .to_string()
        })
    }

    /// Serves the loopback listener until a request carries `code` (or an
    /// `error`) with the right `state`.
    async fn wait_for_code(&self) -> Result<String, String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let (mut stream, _) = self.listener.accept().await.map_err(|err| err.to_string())?;
            let mut buf = vec![0u8; 8192];
            let n = match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
                Ok(Ok(n)) => n,
                _ => continue,
            };
            let request = String::from_utf8_lossy(&buf[..n]);
            let target = request.split_whitespace().nth(1).unwrap_or("");
            let Some((path, query)) = target.split_once('?') else {
                let _ = stream
                    .write_all(page(404, "Not the sign-in callback.").as_bytes())
                    .await;
                continue;
            };
            if path != "/oauth2callback" {
                let _ = stream
                    .write_all(page(404, "Not the sign-in callback.").as_bytes())
                    .await;
                continue;
            }
            let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
            let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            if get("state").as_deref() != Some(self.state.as_str()) {
                let _ = stream
                    .write_all(page(400, "The sign-in state does not match; start again.").as_bytes())
                    .await;
                continue;
            }
            if let Some(error) = get("error") {
                let _ = stream.write_all(page(400, "Sign-in was refused.").as_bytes()).await;
                return Err(format!("the sign-in was refused ({error})"));
            }
            if let Some(code) = get("code") {
                let _ = stream
                    .write_all(page(200, "Signed in. You can close this tab and return to the terminal.").as_bytes())
                    .await;
                return Ok(code);
            }
        }
    }
}

fn page(status: u16, text: &str) -> String {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        _ => "Not Found",
    };
    let body = format!("<!doctype html><meta charset=utf-8><title>Switchyard</title><p>{text}</p>");
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
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
        let pkce = Pkce::new();
        assert!((43..=128).contains(&pkce.verifier.len()));
        assert_eq!(
            pkce.challenge,
            URL_SAFE_NO_PAD.encode(Sha256::digest(pkce.verifier.as_bytes()))
        );
    }
}
