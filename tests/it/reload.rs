//! Live reload of config.toml into a running gateway: accounts and aliases
//! swap in place, port and LAN rebind, a bad edit keeps the running
//! configuration. In-process through `Gateway::reload`, then end to end
//! through `switchyard serve`, whose watcher applies edits by itself.

use crate::common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::clients::Client;
use common::command::switchyard;
use common::raw::free_port;
use common::{Mock, MockReply, TestAccount, TestGateway, client, eventually};
use serde_json::{Value, json};
use switchyard::config::{self, AccountConfig, ProviderKind};
use switchyard::gateway::{BindCause, Gateway, Overrides, ReloadError, Reloaded, StartError};
use switchyard::home::Home;
use switchyard::secrets::{MemoryStore, SecretStore};

const GRACE: Duration = Duration::from_secs(2);

fn answer(text: &'static str) -> impl Fn(&common::Recorded) -> MockReply + Send + Sync + 'static {
    move |_| {
        MockReply::json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}
        }))
    }
}

async fn ask(base: &str, model: &str) -> (u16, Value) {
    let response = Client::OpenAi
        .request_json(
            base,
            &json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn text(body: &Value) -> &str {
    body["choices"][0]["message"]["content"].as_str().unwrap_or_default()
}

fn account(id: &str, base_url: String, models: &[&str]) -> AccountConfig {
    AccountConfig {
        id: id.into(),
        provider: ProviderKind::Openai,
        label: id.into(),
        base_url: Some(base_url),
        models: models.iter().map(|m| m.to_string()).collect(),
        priority: 0,
        enabled: true,
        project: None,
        proxy_url: None,
        no_key: false,
        weight: 1,
    }
}

/// A port that was free a moment ago.
fn set_proxy(home: &Home, key: &str, value: impl Into<toml_edit::Value>) {
    let value = value.into();
    config::edit(home, |doc| {
        config::set_proxy(doc, key, value);
        Ok(())
    })
    .unwrap();
}

#[tokio::test]
async fn an_added_account_and_an_alias_serve_at_once() {
    let a = Mock::start(answer("from a")).await;
    let b = Mock::start(answer("from b")).await;
    let mut gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, a.url()).models(&["m"])], "").await;
    let base = gw.url("");
    assert_eq!(ask(&base, "n").await.0, 404, "nobody serves `n` yet");

    gw.store.set("acc_b", "upstream-secret-b").unwrap();
    config::edit(&gw.home, |doc| {
        config::push_account(doc, &account("acc_b", b.url(), &["n"]))?;
        doc["models"]["alias-of-n"] = toml_edit::value("n");
        Ok(())
    })
    .unwrap();
    assert_eq!(
        gw.gateway.reload(GRACE).await.unwrap(),
        Reloaded::Rerouted { accounts: 2 }
    );
    let (status, body) = ask(&base, "n").await;
    assert_eq!((status, text(&body)), (200, "from b"), "{body}");
    let (status, body) = ask(&base, "alias-of-n").await;
    assert_eq!((status, text(&body)), (200, "from b"), "{body}");
    assert_eq!(b.last().json()["model"], "n", "the alias is resolved");
    let (status, body) = ask(&base, "m").await;
    assert_eq!((status, text(&body)), (200, "from a"));
    assert_eq!(gw.gateway.status().accounts, 2);
    assert_eq!(gw.gateway.status().address.unwrap().port(), gw.addr.port(), "no rebind");
}

#[tokio::test]
async fn a_reroute_keeps_the_cooldowns_of_accounts_that_did_not_change() {
    let limited = Mock::start(|_| MockReply::Json {
        status: 429,
        body: json!({"error": {"message": "slow down"}}),
        headers: vec![("retry-after", "120".into())],
    })
    .await;
    let mut gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, limited.url())], "").await;
    assert_eq!(ask(&gw.url(""), "m").await.0, 429);
    config::edit(&gw.home, |doc| {
        doc["models"]["gpt-4o"] = toml_edit::value("m");
        Ok(())
    })
    .unwrap();
    assert_eq!(
        gw.gateway.reload(GRACE).await.unwrap(),
        Reloaded::Rerouted { accounts: 1 }
    );
    let accounts = gw.gateway.accounts().unwrap();
    assert_eq!(accounts[0].state, "cooling", "{accounts:?}");
    let (status, _) = ask(&gw.url(""), "gpt-4o").await;
    assert_eq!(status, 429);
    assert_eq!(limited.count(), 1, "the cooling account is not asked again");
}

#[tokio::test]
async fn a_bad_edit_is_refused_and_the_running_configuration_kept() {
    let a = Mock::start(answer("from a")).await;
    let mut gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Openai, a.url())], "").await;
    let good = std::fs::read_to_string(gw.home.config_file()).unwrap();
    std::fs::write(gw.home.config_file(), format!("{good}\n[proxy]\nprot = 9000\n")).unwrap();
    let err = gw.gateway.reload(GRACE).await.unwrap_err();
    assert!(matches!(err, ReloadError::Config(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("keeps its running configuration"), "{message}");
    assert!(message.contains("prot"), "the message names the bad key: {message}");
    let (status, body) = ask(&gw.url(""), "m").await;
    assert_eq!((status, text(&body)), (200, "from a"));
}

/// A gateway without a port override, so that config.toml's port counts.
async fn gateway_on_config_port(mock: &Mock) -> (Gateway, Home, u16, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let port = free_port();
    let store = Arc::new(MemoryStore::default());
    store.set("acc_a", "upstream-secret").unwrap();
    let mut text = format!("[proxy]\nport = {port}\n\n[[accounts]]\n");
    text.push_str(&toml::to_string(&account("acc_a", mock.url(), &[])).unwrap());
    std::fs::write(home.config_file(), text).unwrap();
    let mut gateway = Gateway::new(home.clone(), store, Overrides::default());
    gateway.start().await.unwrap();
    (gateway, home, port, dir)
}

async fn healthy(port: u16) -> bool {
    match client()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
    {
        Ok(response) => response.text().await.unwrap_or_default() == r#"{"status":"ok"}"#,
        Err(_) => false,
    }
}

#[tokio::test]
async fn a_new_port_rebinds_and_frees_the_old_one() {
    let a = Mock::start(answer("from a")).await;
    let (mut gateway, home, old, _dir) = gateway_on_config_port(&a).await;
    let new = free_port();
    set_proxy(&home, "port", i64::from(new));
    let reloaded = gateway.reload(GRACE).await.unwrap();
    assert_eq!(
        reloaded,
        Reloaded::Rebound {
            address: format!("127.0.0.1:{new}").parse().unwrap()
        }
    );
    assert!(healthy(new).await);
    assert!(!healthy(old).await, "the old port is closed");
    TcpListener::bind(("127.0.0.1", old)).expect("the old port is free again");
    let (status, body) = ask(&format!("http://127.0.0.1:{new}"), "m").await;
    assert_eq!((status, text(&body)), (200, "from a"));
    gateway.stop(GRACE).await;
}

#[tokio::test]
async fn a_busy_new_port_puts_the_old_settings_back() {
    let a = Mock::start(answer("from a")).await;
    let (mut gateway, home, old, _dir) = gateway_on_config_port(&a).await;
    let squatter = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = squatter.local_addr().unwrap().port();
    set_proxy(&home, "port", i64::from(busy));
    let err = gateway.reload(GRACE).await.unwrap_err();
    match &err {
        ReloadError::Rebind {
            error: StartError::Bind(bind),
            restored: Some(restored),
        } => {
            assert!(matches!(bind.cause, BindCause::InUse(port) if port == busy), "{bind:?}");
            assert_eq!(restored.port(), old);
        }
        other => panic!("expected a failed rebind with the old port restored, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&format!("port {busy} is already in use")) && message.contains("back on"),
        "{message}"
    );
    assert!(healthy(old).await, "still serving on the old port");
    gateway.stop(GRACE).await;
}

#[tokio::test]
async fn lan_access_with_auth_off_is_refused_before_the_listener_moves() {
    let a = Mock::start(answer("from a")).await;
    let (mut gateway, home, port, _dir) = gateway_on_config_port(&a).await;
    config::edit(&home, |doc| {
        config::set_proxy(doc, "allow_lan_access", true);
        config::set_proxy(doc, "auth_mode", "off");
        Ok(())
    })
    .unwrap();
    let err = gateway.reload(GRACE).await.unwrap_err();
    assert!(matches!(err, ReloadError::Refused(StartError::InsecureLan)), "{err:?}");
    assert!(healthy(port).await);
    assert!(!gateway.status().lan);
    gateway.stop(GRACE).await;
}

#[tokio::test]
async fn lan_access_rebinds_on_all_interfaces_and_back() {
    let a = Mock::start(answer("from a")).await;
    let (mut gateway, home, port, _dir) = gateway_on_config_port(&a).await;
    set_proxy(&home, "allow_lan_access", true);
    let reloaded = gateway.reload(GRACE).await.unwrap();
    assert_eq!(
        reloaded,
        Reloaded::Rebound {
            address: format!("0.0.0.0:{port}").parse().unwrap()
        }
    );
    let status = gateway.status();
    assert!(status.lan);
    assert_eq!(
        status.auth_mode,
        switchyard::config::AuthMode::AllExceptHealth,
        "auto needs the key on the network"
    );
    assert!(healthy(port).await);
    set_proxy(&home, "allow_lan_access", false);
    gateway.reload(GRACE).await.unwrap();
    assert_eq!(
        gateway.status().address.unwrap(),
        format!("127.0.0.1:{port}").parse().unwrap()
    );
    gateway.stop(GRACE).await;
}

/// `switchyard serve` on a temporary home (file secret store).
struct Served {
    child: Child,
    stderr: Arc<std::sync::Mutex<String>>,
}

impl Served {
    fn start(home: &std::path::Path) -> Served {
        let mut child = switchyard(home)
            .arg("serve")
            .env("SWITCHYARD_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Served { child, stderr }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn model_ids(port: u16) -> Vec<String> {
    let Ok(response) = client().get(format!("http://127.0.0.1:{port}/v1/models")).send().await else {
        return Vec::new();
    };
    let body: Value = response.json().await.unwrap_or_default();
    body["data"]
        .as_array()
        .map(|models| {
            models
                .iter()
                .filter_map(|m| m["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn serve_applies_edits_of_config_toml_as_they_happen() {
    let a = Mock::start(answer("from a")).await;
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path());
    let port = free_port();
    let mut config_text = format!("[proxy]\nport = {port}\n\n[[accounts]]\n");
    config_text.push_str(&toml::to_string(&account("acc_a", a.url(), &["m"])).unwrap());
    std::fs::write(home.config_file(), config_text).unwrap();
    switchyard::secrets::FileStore::new(home.clone())
        .set("acc_a", "upstream-secret")
        .unwrap();
    let served = Served::start(dir.path());
    eventually("serve is up", async || healthy(port).await).await;

    // An alias added by hand appears in the model list without a restart.
    config::edit(&home, |doc| {
        doc["models"]["my-alias"] = toml_edit::value("m");
        Ok(())
    })
    .unwrap();
    eventually("the alias is listed", async || {
        model_ids(port).await.contains(&"my-alias".to_string())
    })
    .await;

    // A broken edit is reported and the gateway keeps serving.
    let good = std::fs::read_to_string(home.config_file()).unwrap();
    std::fs::write(home.config_file(), format!("{good}\nthis is not toml\n")).unwrap();
    eventually("the bad edit is reported", async || {
        served.stderr().contains("config.toml was not applied")
    })
    .await;
    let (status, body) = ask(&format!("http://127.0.0.1:{port}"), "my-alias").await;
    assert_eq!((status, text(&body)), (200, "from a"), "{body}");

    // A new port: the listener moves.
    let new = free_port();
    std::fs::write(
        home.config_file(),
        good.replace(&format!("port = {port}"), &format!("port = {new}")),
    )
    .unwrap();
    eventually("serve listens on the new port", async || healthy(new).await).await;
    assert!(!healthy(port).await);
    assert!(!served.stderr().contains("panicked"), "{}", served.stderr());
}

#[tokio::test]
async fn a_reloaded_account_secret_is_redacted_from_stored_bodies() {
    // A secret with no key-like shape: only the exact list can catch it.
    const SECRET_B: &str = "plain-upstream-secret-of-b";
    let a = Mock::start(answer("from a")).await;
    let b = Mock::start(answer("from b")).await;
    let mut gw = TestGateway::start(
        vec![TestAccount::new(ProviderKind::Openai, a.url()).models(&["m"])],
        "[monitor]\nstore_bodies = true\n",
    )
    .await;
    gw.store.set("acc_b", SECRET_B).unwrap();
    config::edit(&gw.home, |doc| {
        config::push_account(doc, &account("acc_b", b.url(), &["n"]))
    })
    .unwrap();
    assert_eq!(
        gw.gateway.reload(GRACE).await.unwrap(),
        Reloaded::Rerouted { accounts: 2 }
    );
    let response = Client::OpenAi
        .request_json(
            &gw.base(),
            &json!({"model": "n", "messages": [{"role": "user", "content": format!("my key is {SECRET_B}")}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let deadline = Instant::now() + Duration::from_secs(5);
    let record = loop {
        let logs: Value = gw
            .admin_get("/api/logs?limit=10")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(record) = logs["records"].as_array().and_then(|r| r.first()).cloned() {
            break record;
        }
        assert!(Instant::now() < deadline, "no record: {logs}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let stored = record["request_body"].as_str().unwrap_or_default();
    assert!(stored.contains("[REDACTED]"), "{record}");
    assert!(
        !stored.contains(SECRET_B),
        "the new account's secret was stored: {record}"
    );
}
