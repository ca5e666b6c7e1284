//! Google OAuth accounts: token refresh (once, however many requests), the
//! Code Assist envelope, project discovery, `invalid_grant`, and the
//! sign-in flow with PKCE and a loopback redirect.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use common::clients::Client;
use common::{Mock, MockReply, Recorded, TestAccount, TestGateway, client, sse_events};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use switchyard::config::{GoogleProviderConfig, ProviderKind};
use switchyard::upstream::oauth::Login;

/// The forms a token endpoint received, in order.
type Forms = Arc<std::sync::Mutex<Vec<Vec<(String, String)>>>>;

/// A token endpoint that counts refreshes and answers with `expires_in`.
pub(crate) async fn token_endpoint(expires_in: u64) -> (Mock, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let mock = Mock::start(move |request: &Recorded| {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&request.body).into_owned().collect();
        let get = |k: &str| {
            form.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        if get("refresh_token") == "revoked-token" {
            return MockReply::status(
                400,
                json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}),
            );
        }
        assert_eq!(get("grant_type"), "refresh_token");
        assert_eq!(get("client_id"), "test-client.apps.googleusercontent.com");
        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
        // Refreshing takes a moment, so concurrent callers overlap.
        std::thread::sleep(std::time::Duration::from_millis(50));
        MockReply::json(
            json!({"access_token": format!("ya29.access-{n}"), "expires_in": expires_in, "token_type": "Bearer"}),
        )
    })
    .await;
    (mock, count)
}

/// A Code Assist endpoint answering in the `{response: ...}` envelope.
pub(crate) async fn code_assist() -> Mock {
    Mock::start(|request: &Recorded| {
        if request.path == "/v1internal:loadCodeAssist" {
            return MockReply::json(json!({"currentTier": {"id": "free-tier"}, "cloudaicompanionProject": "discovered-proj"}));
        }
        let inner = json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "hello from code assist"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 5, "totalTokenCount": 9},
            "modelVersion": "gemini-2.5-pro"
        });
        if request.path.contains("streamGenerateContent") {
            let chunk = |text: &str, last: bool| {
                let mut response = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}}]});
                if last {
                    response["candidates"][0]["finishReason"] = json!("STOP");
                    response["usageMetadata"] = json!({"promptTokenCount": 4, "candidatesTokenCount": 5, "totalTokenCount": 9});
                }
                format!("data: {}\r\n\r\n", json!({"response": response, "traceId": "t1"}))
            };
            return MockReply::sse([chunk("hello ", false), chunk("stream", true)]);
        }
        MockReply::json(json!({"response": inner, "traceId": "t1"}))
    })
    .await
}

pub(crate) fn providers_config(token_url: &str) -> String {
    format!(
        "[providers.google]\nclient_id = \"test-client.apps.googleusercontent.com\"\nclient_secret = \"test-secret\"\ntoken_url = \"{token_url}/token\"\n"
    )
}

pub(crate) fn google_account(base: &str, refresh: &str, project: Option<&str>) -> TestAccount {
    let mut account = TestAccount::new(ProviderKind::Google, base);
    account.secret = refresh.to_string();
    account.project = project.map(str::to_string);
    account
}

pub(crate) async fn chat(gw: &TestGateway, stream: bool) -> reqwest::Response {
    Client::OpenAi
        .request_json(
            &gw.base(),
            &json!({"model": "gemini-2.5-pro", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn requests_use_the_envelope_and_a_refreshed_token() {
    let (tokens, refreshes) = token_endpoint(3600).await;
    let upstream = code_assist().await;
    let gw = TestGateway::start(
        vec![google_account(&upstream.url(), "1//refresh-good", Some("my-proj"))],
        &providers_config(&tokens.url()),
    )
    .await;

    let body: Value = chat(&gw, false).await.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"], "hello from code assist",
        "{body}"
    );
    assert_eq!(body["usage"]["total_tokens"], 9);
    let sent = upstream.last();
    assert_eq!(sent.path, "/v1internal:generateContent");
    assert_eq!(sent.header("authorization"), Some("Bearer ya29.access-1"));
    let envelope = sent.json();
    assert_eq!(envelope["model"], "gemini-2.5-pro");
    assert_eq!(envelope["project"], "my-proj");
    assert_eq!(envelope["request"]["contents"][0]["parts"][0]["text"], "hi");

    let text = chat(&gw, true).await.text().await.unwrap();
    let events = sse_events(&text);
    let streamed: String = events
        .iter()
        .filter_map(|(_, data)| serde_json::from_str::<Value>(data).ok())
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str().map(str::to_string))
        .collect();
    assert_eq!(streamed, "hello stream", "{text}");
    assert_eq!(upstream.last().path, "/v1internal:streamGenerateContent");
    assert_eq!(upstream.last().query, "alt=sse");
    assert_eq!(
        refreshes.load(Ordering::SeqCst),
        1,
        "the token is reused until it nears expiry"
    );
}

#[tokio::test]
async fn concurrent_requests_share_one_refresh() {
    let (tokens, refreshes) = token_endpoint(3600).await;
    let upstream = code_assist().await;
    let gw = TestGateway::start(
        vec![google_account(&upstream.url(), "1//refresh-good", Some("p"))],
        &providers_config(&tokens.url()),
    )
    .await;
    let calls: Vec<_> = (0..12).map(|_| chat(&gw, false)).collect();
    for response in futures_util::future::join_all(calls).await {
        assert_eq!(response.status(), 200);
    }
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_first() {
    // 60 s is inside the refresh margin: every request refreshes.
    let (tokens, refreshes) = token_endpoint(60).await;
    let upstream = code_assist().await;
    let gw = TestGateway::start(
        vec![google_account(&upstream.url(), "1//refresh-good", Some("p"))],
        &providers_config(&tokens.url()),
    )
    .await;
    chat(&gw, false).await;
    chat(&gw, false).await;
    assert_eq!(refreshes.load(Ordering::SeqCst), 2);
    assert_eq!(upstream.last().header("authorization"), Some("Bearer ya29.access-2"));
}

#[tokio::test]
async fn the_project_is_discovered_once_when_not_configured() {
    let (tokens, _) = token_endpoint(3600).await;
    let upstream = code_assist().await;
    let gw = TestGateway::start(
        vec![google_account(&upstream.url(), "1//refresh-good", None)],
        &providers_config(&tokens.url()),
    )
    .await;
    chat(&gw, false).await;
    chat(&gw, false).await;
    let load_calls: Vec<_> = upstream
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1internal:loadCodeAssist")
        .collect();
    assert_eq!(load_calls.len(), 1);
    assert_eq!(load_calls[0].json()["metadata"]["pluginType"], "GEMINI");
    assert_eq!(upstream.last().json()["project"], "discovered-proj");
}

#[tokio::test]
async fn invalid_grant_disables_the_account_with_a_reason() {
    let (tokens, _) = token_endpoint(3600).await;
    let upstream = code_assist().await;
    let gw = TestGateway::start(
        vec![google_account(&upstream.url(), "revoked-token", Some("p"))],
        &providers_config(&tokens.url()),
    )
    .await;
    let response = chat(&gw, false).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    // The client learns that the account's own credentials failed, and how to fix them.
    assert_eq!(status, 401, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("invalid_grant") && message.contains("accounts login google"),
        "{body}"
    );
    assert!(message.contains("not your gateway key"), "{body}");
    assert_eq!(upstream.count(), 0, "no request goes out without a token");
    let accounts = gw.gateway.accounts().unwrap();
    assert_eq!(accounts[0].state, "disabled");
    assert!(
        accounts[0].reason.as_deref().unwrap().contains("invalid_grant"),
        "{accounts:?}"
    );
    // The refresh token never appears in what the client or the status shows.
    assert!(!body.to_string().contains("revoked-token"));
    assert!(!format!("{accounts:?}").contains("revoked-token"));
}

#[tokio::test]
async fn sign_in_with_pkce_and_a_loopback_redirect() {
    let token_requests: Forms = Arc::default();
    let recorded = token_requests.clone();
    let tokens = Mock::start(move |request: &Recorded| {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&request.body).into_owned().collect();
        recorded.lock().unwrap().push(form);
        MockReply::json(json!({"access_token": "ya29.a", "expires_in": 3600, "refresh_token": "1//new-refresh"}))
    })
    .await;
    let client_config = GoogleProviderConfig {
        client_id: "test-client".into(),
        client_secret: "s".into(),
        token_url: format!("{}/token", tokens.url()),
        auth_url: "https://accounts.example/auth".into(),
        base_url: "https://cloudcode.example".into(),
        scopes: vec!["scope-a".into(), "scope-b".into()],
    };
    let login = Login::start(Arc::new(client_config)).await.unwrap();
    let url = url::Url::parse(&login.authorization_url()).unwrap();
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["scope"], "scope-a scope-b");
    assert_eq!(query["access_type"], "offline");
    let redirect = query["redirect_uri"].clone();
    assert!(
        redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/oauth2callback"),
        "{redirect}"
    );

    let http = client();
    let finishing = tokio::spawn(async move { login.finish(&client(), std::time::Duration::from_secs(10)).await });
    // A request with the wrong state is refused and the flow keeps waiting.
    let wrong = http
        .get(format!("{redirect}?code=stolen&state=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
    // The browser comes back with the code.
    let page = http
        .get(format!("{redirect}?code=the-code&state={}", query["state"]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(finishing.await.unwrap().unwrap(), "1//new-refresh");

    let forms = token_requests.lock().unwrap();
    assert_eq!(forms.len(), 1, "the stolen code was never exchanged");
    let get = |k: &str| forms[0].iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(get("grant_type"), "authorization_code");
    assert_eq!(get("code"), "the-code");
    assert_eq!(get("redirect_uri"), redirect);
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
    assert_eq!(challenge, query["code_challenge"], "the verifier matches the challenge");
}

/// A token endpoint for sign-ins: records each form and answers with a
/// refresh token.
async fn sign_in_token_endpoint() -> (Mock, Forms) {
    let forms: Forms = Arc::default();
    let recorded = forms.clone();
    let mock = Mock::start(move |request: &Recorded| {
        recorded
            .lock()
            .unwrap()
            .push(url::form_urlencoded::parse(&request.body).into_owned().collect());
        MockReply::json(json!({"access_token": "ya29.a", "expires_in": 3600, "refresh_token": "1//new-refresh"}))
    })
    .await;
    (mock, forms)
}

/// A sign-in against `tokens`, with its redirect URI and state.
async fn started_login(tokens: &Mock) -> (Login, String, String) {
    let client_config = GoogleProviderConfig {
        client_id: "test-client".into(),
        client_secret: "s".into(),
        token_url: format!("{}/token", tokens.url()),
        auth_url: "https://accounts.example/auth".into(),
        base_url: "https://cloudcode.example".into(),
        scopes: vec!["scope-a".into()],
    };
    let login = Login::start(Arc::new(client_config)).await.unwrap();
    let url = url::Url::parse(&login.authorization_url()).unwrap();
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    (login, query["redirect_uri"].clone(), query["state"].clone())
}

fn exchanged_code(forms: &Forms) -> Vec<String> {
    forms
        .lock()
        .unwrap()
        .iter()
        .map(|form| form.iter().find(|(k, _)| k == "code").map(|(_, v)| v.clone()).unwrap())
        .collect()
}

#[tokio::test]
async fn the_callback_server_answers_a_favicon_first_then_the_code() {
    let (tokens, forms) = sign_in_token_endpoint().await;
    let (login, redirect, state) = started_login(&tokens).await;
    let finishing = tokio::spawn(async move { login.finish(&client(), std::time::Duration::from_secs(10)).await });
    let origin = redirect.trim_end_matches("/oauth2callback").to_string();
    let http = client();
    let favicon = http.get(format!("{origin}/favicon.ico")).send().await.unwrap();
    assert_eq!(favicon.status(), 404);
    let page = http
        .get(format!("{redirect}?state={state}&code=4%2F0A-the-code&scope=scope-a"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.text().await.unwrap().contains("Signed in"));
    assert_eq!(finishing.await.unwrap().unwrap(), "1//new-refresh");
    assert_eq!(exchanged_code(&forms), vec!["4/0A-the-code"]);
}

#[tokio::test]
async fn the_callback_server_reads_a_request_split_across_writes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (tokens, forms) = sign_in_token_endpoint().await;
    let (login, redirect, state) = started_login(&tokens).await;
    let finishing = tokio::spawn(async move { login.finish(&client(), std::time::Duration::from_secs(10)).await });
    let address = redirect
        .trim_start_matches("http://")
        .trim_end_matches("/oauth2callback")
        .to_string();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    socket.set_nodelay(true).unwrap();
    let request = format!("GET /oauth2callback?code=split-code&state={state} HTTP/1.1\r\nHost: {address}\r\n\r\n");
    // The target, the state and the end of the headers arrive separately.
    let cut = request.find("&state=").unwrap() + 4;
    for piece in [&request[..cut], &request[cut..cut + 20], &request[cut + 20..]] {
        socket.write_all(piece.as_bytes()).await.unwrap();
        socket.flush().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(finishing.await.unwrap().unwrap(), "1//new-refresh");
    assert_eq!(exchanged_code(&forms), vec!["split-code"]);
}

#[tokio::test]
async fn a_silent_connection_does_not_hold_up_the_callback() {
    let (tokens, _forms) = sign_in_token_endpoint().await;
    let (login, redirect, state) = started_login(&tokens).await;
    let finishing = tokio::spawn(async move { login.finish(&client(), std::time::Duration::from_secs(5)).await });
    let address = redirect
        .trim_start_matches("http://")
        .trim_end_matches("/oauth2callback")
        .to_string();
    // A browser's speculative preconnect: opened, never used.
    let _idle = tokio::net::TcpStream::connect(&address).await.unwrap();
    let page = client()
        .get(format!("{redirect}?code=c&state={state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(finishing.await.unwrap().unwrap(), "1//new-refresh");
}

#[tokio::test]
async fn a_refused_sign_in_ends_with_the_providers_error() {
    let (tokens, forms) = sign_in_token_endpoint().await;
    let (login, redirect, state) = started_login(&tokens).await;
    let finishing = tokio::spawn(async move { login.finish(&client(), std::time::Duration::from_secs(10)).await });
    let http = client();
    // Without this sign-in's state an error is ignored, like a code would be.
    let forged = http
        .get(format!("{redirect}?error=access_denied&state=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    let page = http
        .get(format!("{redirect}?error=access_denied&state={state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    let err = finishing.await.unwrap().unwrap_err().to_string();
    assert!(err.contains("access_denied"), "{err}");
    assert!(err.contains("switchyard accounts login google"), "{err}");
    assert!(forms.lock().unwrap().is_empty(), "nothing was exchanged");
}
