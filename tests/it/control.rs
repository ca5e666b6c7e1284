//! The tray's controller without a display: commands in, states and
//! notices out, against a real gateway on 127.0.0.1 and mock upstreams.
//! Everything the tray does that is not drawing is here.

use crate::common;

use std::net::TcpListener;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::clients::Client;
use common::raw::free_port;
use common::{Mock, MockReply, client};
use serde_json::json;
use switchyard::config::{self, AccountConfig, Config, ProviderKind};
use switchyard::control::{self, ApiKey, Command, Controller, Launch, Options, Phase, Remote, Sink, Snapshot, Update};
use switchyard::gateway::{Overrides, StartError};
use switchyard::home::Home;
use switchyard::notify::{Notice, Notifier};
use switchyard::secrets::{self, MemoryStore, SecretError, SecretStore};

const WAIT: Duration = Duration::from_secs(15);

/// Everything the controller reported, with a way to wait for more.
#[derive(Default)]
struct Recorder {
    updates: Mutex<Vec<Update>>,
    notices: Mutex<Vec<Notice>>,
    changed: Condvar,
}

impl Sink for Recorder {
    fn update(&self, update: Update) {
        self.updates.lock().unwrap().push(update);
        self.changed.notify_all();
    }
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recorder")
    }
}

/// The notifier's end of a [`Recorder`].
#[derive(Debug)]
struct Notices(Arc<Recorder>);

impl Notifier for Notices {
    fn notify(&self, notice: &Notice) {
        // Taken in the same order as `wait_for` takes them.
        let _updates = self.0.updates.lock().unwrap();
        self.0.notices.lock().unwrap().push(notice.clone());
        self.0.changed.notify_all();
    }
}

impl Recorder {
    /// Waits until `pick` finds something in the updates (checked against
    /// the latest state first) and returns it.
    fn wait_for<T>(&self, what: &str, mut pick: impl FnMut(&[Update], &[Notice]) -> Option<T>) -> T {
        let deadline = std::time::Instant::now() + WAIT;
        let mut updates = self.updates.lock().unwrap();
        loop {
            let notices = self.notices.lock().unwrap().clone();
            if let Some(found) = pick(&updates, &notices) {
                return found;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; updates: {updates:#?}; notices: {notices:#?}"
            );
            updates = self.changed.wait_timeout(updates, left).unwrap().0;
        }
    }

    /// Waits until a state whose phase matches has been reported (since
    /// the last [`Recorder::clear`]); returns the latest such state.
    fn wait_phase(&self, what: &str, matches: impl Fn(&Phase) -> bool) -> Snapshot {
        self.wait_for(what, |updates, _| {
            updates.iter().rev().find_map(|u| match u {
                Update::State(s) if matches(&s.phase) => Some(s.clone()),
                _ => None,
            })
        })
    }

    fn wait_notice(&self, what: &str, matches: impl Fn(&Notice) -> bool) -> Notice {
        self.wait_for(what, |_, notices| notices.iter().find(|n| matches(n)).cloned())
    }

    fn notices(&self) -> Vec<Notice> {
        self.notices.lock().unwrap().clone()
    }

    fn clear(&self) {
        self.updates.lock().unwrap().clear();
        self.notices.lock().unwrap().clear();
    }
}

/// A controller on a temporary home whose secrets live in memory.
struct Rig {
    remote: Remote,
    recorder: Arc<Recorder>,
    home: Home,
    store: Arc<MemoryStore>,
    port: u16,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn openai_account(id: &str, base_url: &str) -> AccountConfig {
    AccountConfig {
        id: id.into(),
        provider: ProviderKind::Openai,
        label: id.into(),
        base_url: Some(base_url.into()),
        models: vec![],
        priority: 0,
        enabled: true,
        project: None,
        proxy_url: None,
        no_key: false,
        weight: 1,
    }
}

impl Rig {
    /// `proxy` is the body of `[proxy]` (the port is added); each upstream
    /// URL becomes an account.
    fn start(proxy: &str, upstreams: &[&str]) -> Rig {
        Rig::start_with(proxy, upstreams, None)
    }

    fn start_with(proxy: &str, upstreams: &[&str], opener: Option<control::StoreOpener>) -> Rig {
        Rig::start_as(proxy, upstreams, opener, Options::default())
    }

    /// As `switchyard serve` drives it: nothing happens until asked.
    fn serving(proxy: &str, upstreams: &[&str], overrides: Overrides) -> Rig {
        let options = Options {
            launch: Launch::OnRequest,
            overrides,
        };
        Rig::start_as(proxy, upstreams, None, options)
    }

    fn start_as(proxy: &str, upstreams: &[&str], opener: Option<control::StoreOpener>, options: Options) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let port = free_port();
        let store = Arc::new(MemoryStore::default());
        let mut text = format!("[proxy]\nport = {port}\n{proxy}\n");
        for (i, url) in upstreams.iter().enumerate() {
            let account = openai_account(&format!("acc_{i}"), url);
            store.set(&account.id, "upstream-secret").unwrap();
            text.push_str("\n[[accounts]]\n");
            text.push_str(&toml::to_string(&account).unwrap());
        }
        std::fs::write(home.config_file(), text).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let recorder = Arc::new(Recorder::default());
        let notices = Notices(recorder.clone());
        let opener = opener.unwrap_or_else(|| {
            let store = store.clone();
            Arc::new(move |_: &Home, _: &Config| -> Result<Arc<dyn SecretStore>, SecretError> { Ok(store.clone()) })
        });
        let remote = Controller::spawn_with(
            runtime.handle(),
            home.clone(),
            opener,
            Arc::new(notices),
            recorder.clone(),
            options,
        );
        Rig {
            remote,
            recorder,
            home,
            store,
            port,
            _runtime: runtime,
            _dir: dir,
        }
    }

    fn healthy(&self, port: u16) -> bool {
        self._runtime.block_on(async {
            match client()
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
            {
                Ok(response) => response.text().await.unwrap_or_default() == r#"{"status":"ok"}"#,
                Err(_) => false,
            }
        })
    }

    fn wait_running(&self) -> Snapshot {
        self.recorder
            .wait_phase("Running", |p| matches!(p, Phase::Running { .. }))
    }

    fn config(&self) -> Config {
        Config::load(&self.home).unwrap()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.remote.send(Command::Quit);
        self.recorder.wait_for("the controller to exit", |updates, _| {
            updates.contains(&Update::Exited).then_some(())
        });
    }
}

fn answering_mock(rt: &tokio::runtime::Runtime) -> Mock {
    rt.block_on(Mock::start(|_| {
        MockReply::json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]
        }))
    }))
}

/// A runtime for the mock upstreams, apart from the controller's.
fn mock_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn auto_start_serves_stop_frees_the_port_and_start_binds_it_again() {
    let mocks = mock_runtime();
    let mock = answering_mock(&mocks);
    let rig = Rig::start("auto_start = true", &[&mock.url()]);
    let running = rig.wait_running();
    assert_eq!(
        running.phase,
        Phase::Running {
            address: format!("127.0.0.1:{}", rig.port).parse().unwrap(),
            accounts: 1
        }
    );
    assert_eq!(running.base_url(), format!("http://127.0.0.1:{}", rig.port));
    assert!(rig.healthy(rig.port));

    rig.recorder.clear();
    rig.remote.send(Command::Stop);
    rig.recorder.wait_phase("Stopping", |p| *p == Phase::Stopping);
    rig.recorder.wait_phase("Stopped", |p| *p == Phase::Stopped);
    TcpListener::bind(("127.0.0.1", rig.port)).expect("Stop frees the port");
    assert!(!rig.healthy(rig.port));

    rig.recorder.clear();
    rig.remote.send(Command::Start);
    rig.recorder.wait_phase("Starting", |p| *p == Phase::Starting);
    rig.wait_running();
    assert!(rig.healthy(rig.port));
    assert!(rig.recorder.notices().is_empty(), "{:?}", rig.recorder.notices());
}

#[test]
fn without_auto_start_the_tray_waits_for_start() {
    let mocks = mock_runtime();
    let mock = answering_mock(&mocks);
    let rig = Rig::start("", &[&mock.url()]);
    rig.recorder.wait_phase("Stopped", |p| *p == Phase::Stopped);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!rig.healthy(rig.port), "auto_start = false leaves the gateway stopped");
    rig.remote.send(Command::Start);
    rig.wait_running();
}

#[test]
fn a_busy_port_is_an_error_state_and_a_notice_not_a_panic() {
    let mocks = mock_runtime();
    let mock = answering_mock(&mocks);
    let rig = Rig::start("", &[&mock.url()]);
    let squatter = TcpListener::bind(("127.0.0.1", rig.port)).unwrap();
    rig.remote.send(Command::Start);
    let failed = rig.recorder.wait_phase("Failed", |p| matches!(p, Phase::Failed(_)));
    assert_eq!(failed.phase, Phase::Failed(format!("port {} in use", rig.port)));
    let notice = rig
        .recorder
        .wait_notice("the bind notice", |n| matches!(n, Notice::BindFailed(_)));
    let body = notice.body();
    assert!(
        body.contains(&format!("127.0.0.1:{}", rig.port)) && body.contains("already in use"),
        "{body}"
    );
    // Once the port is free, Start works.
    drop(squatter);
    rig.remote.send(Command::Start);
    rig.wait_running();
}

#[test]
fn an_empty_pool_is_refused_with_the_command_that_adds_an_account() {
    let rig = Rig::start("", &[]);
    rig.remote.send(Command::Start);
    let failed = rig.recorder.wait_phase("Failed", |p| matches!(p, Phase::Failed(_)));
    assert_eq!(failed.phase, Phase::Failed("no accounts".into()));
    let notice = rig.recorder.wait_notice("no accounts", |n| *n == Notice::NoAccounts);
    assert!(notice.body().contains("switchyard accounts add"));
}

#[test]
fn lan_access_is_written_to_config_and_rebinds() {
    let mocks = mock_runtime();
    let mock = answering_mock(&mocks);
    let rig = Rig::start("auto_start = true", &[&mock.url()]);
    rig.wait_running();
    rig.recorder.clear();
    rig.remote.send(Command::SetLan(true));
    let lan = rig.recorder.wait_phase(
        "running on all interfaces",
        |p| matches!(p, Phase::Running { address, .. } if address.ip().is_unspecified()),
    );
    assert!(lan.lan);
    assert!(rig.config().proxy.allow_lan_access, "the choice is kept in config.toml");
    assert!(rig.healthy(rig.port));
    // The user is steered to a client key per device.
    let notice = rig
        .recorder
        .wait_notice("LAN on", |n| matches!(n, Notice::LanOn { .. }));
    assert!(notice.body().contains("switchyard keys add"), "{}", notice.body());

    rig.remote.send(Command::SetLan(false));
    let local = rig.recorder.wait_phase(
        "back on loopback",
        |p| matches!(p, Phase::Running { address, .. } if address.ip().is_loopback()),
    );
    assert!(!local.lan);
    assert!(!rig.config().proxy.allow_lan_access);
}

#[test]
fn lan_access_with_auth_off_is_refused_and_config_untouched() {
    let mocks = mock_runtime();
    let mock = answering_mock(&mocks);
    let rig = Rig::start("auto_start = true\nauth_mode = \"off\"", &[&mock.url()]);
    rig.wait_running();
    rig.remote.send(Command::SetLan(true));
    let notice = rig
        .recorder
        .wait_notice("LAN refused", |n| *n == Notice::LanWithoutAuth);
    assert!(notice.body().contains("auth_mode"));
    assert!(!rig.config().proxy.allow_lan_access);
    let last = rig.wait_running();
    assert!(!last.lan);
}

#[test]
fn lan_access_with_a_short_key_is_refused_and_config_untouched() {
    let mocks = mock_runtime();
    let mock = answering_mock(&mocks);
    let rig = Rig::start("auto_start = true\napi_key = \"sk-short-key-1\"", &[&mock.url()]);
    rig.wait_running();
    rig.remote.send(Command::SetLan(true));
    let notice = rig.recorder.wait_notice(
        "short LAN key refused",
        |n| matches!(n, Notice::StartFailed(text) if text.contains("switchyard key rotate")),
    );
    assert!(notice.body().contains("at least 24 characters"), "{}", notice.body());
    assert!(!notice.body().contains("sk-short-key-1"), "the key is never repeated");
    assert!(!rig.config().proxy.allow_lan_access, "config.toml is left as it was");
    let last = rig.wait_running();
    assert!(!last.lan);
}

#[test]
fn edits_of_config_toml_apply_live_and_a_bad_one_is_reported() {
    let mocks = mock_runtime();
    let mock = answering_mock(&mocks);
    let rig = Rig::start("auto_start = true", &[&mock.url()]);
    rig.wait_running();

    // Another account added (as `switchyard accounts add` does) is counted at once.
    rig.store.set("acc_new", "upstream-secret").unwrap();
    config::edit(&rig.home, |doc| {
        config::push_account(doc, &openai_account("acc_new", &mock.url()))
    })
    .unwrap();
    rig.recorder
        .wait_phase("two accounts", |p| matches!(p, Phase::Running { accounts: 2, .. }));

    // A broken file: a notice, and the gateway keeps serving.
    let good = std::fs::read_to_string(rig.home.config_file()).unwrap();
    std::fs::write(rig.home.config_file(), format!("{good}\n[proxy]\nport = \"high\"\n")).unwrap();
    let notice = rig
        .recorder
        .wait_notice("the rejected edit", |n| matches!(n, Notice::ConfigRejected(_)));
    assert!(notice.body().contains("config.toml"), "{}", notice.body());
    assert!(rig.healthy(rig.port));

    // A new port: the listener moves.
    let new = free_port();
    std::fs::write(
        rig.home.config_file(),
        good.replace(&format!("port = {}", rig.port), &format!("port = {new}")),
    )
    .unwrap();
    let moved = rig.recorder.wait_phase(
        "the new port",
        |p| matches!(p, Phase::Running { address, .. } if address.port() == new),
    );
    assert_eq!(moved.port, new);
    assert!(rig.healthy(new));
    assert!(!rig.healthy(rig.port));
}

#[test]
fn every_account_cooling_down_is_notified_once() {
    let mocks = mock_runtime();
    let limited = mocks.block_on(Mock::start(|_| MockReply::Json {
        status: 429,
        body: json!({"error": {"message": "slow down"}}),
        headers: vec![("retry-after", "90".into())],
    }));
    let rig = Rig::start("auto_start = true", &[&limited.url()]);
    rig.wait_running();
    let status = mocks.block_on(async {
        Client::OpenAi
            .request_json(
                &format!("http://127.0.0.1:{}", rig.port),
                &json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
            )
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(status, 429);
    let notice = rig
        .recorder
        .wait_notice("all cooling", |n| matches!(n, Notice::AllCooling { .. }));
    let Notice::AllCooling { retry_after_secs } = notice else {
        unreachable!()
    };
    assert!((80..=90).contains(&retry_after_secs), "{retry_after_secs}");
    std::thread::sleep(control::HEALTH_INTERVAL * 2);
    let count = rig
        .recorder
        .notices()
        .iter()
        .filter(|n| matches!(n, Notice::AllCooling { .. }))
        .count();
    assert_eq!(count, 1, "notified on the change, not on every look");
}

#[test]
fn copy_key_hands_over_the_stored_gateway_key() {
    let rig = Rig::start("", &[]);
    rig.remote.send(Command::CopyKey);
    let key = rig.recorder.wait_for("the key", |updates, _| {
        updates.iter().find_map(|u| match u {
            Update::ApiKey(ApiKey(key)) => Some(key.clone()),
            _ => None,
        })
    });
    assert_eq!(Some(key.clone()), rig.store.get(secrets::GATEWAY_KEY).unwrap());
    assert!(key.starts_with("sk-"));
    assert_eq!(format!("{:?}", ApiKey(key.clone())), "ApiKey(…)", "never printed");
}

#[test]
fn an_unreachable_keychain_offers_the_file_store_and_switches() {
    let mocks = mock_runtime();
    let mock = answering_mock(&mocks);
    let dir_store: Arc<std::sync::OnceLock<Arc<dyn SecretStore>>> = Arc::default();
    let handle = dir_store.clone();
    // The "keychain" is never reachable; the file store is a real secrets.json.
    let opener: control::StoreOpener = Arc::new(
        move |home: &Home, config: &Config| -> Result<Arc<dyn SecretStore>, SecretError> {
            match secrets::selected_kind(config)? {
                config::SecretStoreKind::Keychain => Err(SecretError::KeychainUnavailable(
                    "org.freedesktop.secrets was not provided by any .service files".into(),
                )),
                config::SecretStoreKind::File => Ok(handle
                    .get_or_init(|| Arc::new(secrets::FileStore::new(home.clone())))
                    .clone()),
            }
        },
    );
    let rig = Rig::start_with("", &[&mock.url()], Some(opener));
    let offered = rig.recorder.wait_for("the keychain state", |updates, _| {
        updates.iter().rev().find_map(|u| match u {
            Update::State(s) if s.keychain_unavailable => Some(s.clone()),
            _ => None,
        })
    });
    assert_eq!(offered.phase, Phase::Failed("keychain unavailable".into()));
    let notice = rig
        .recorder
        .wait_notice("keychain notice", |n| matches!(n, Notice::KeychainUnavailable(_)));
    assert!(notice.body().contains("secret_store = \"file\""), "{}", notice.body());

    rig.remote.send(Command::UseFileStore);
    let switched = rig
        .recorder
        .wait_for("the file store", |updates, _| match updates.last() {
            Some(Update::State(s)) if !s.keychain_unavailable => Some(s.clone()),
            _ => None,
        });
    assert_eq!(switched.phase, Phase::Stopped);
    assert_eq!(rig.config().proxy.secret_store, config::SecretStoreKind::File);
    // The account's secret was in the unreachable keychain: it must be added
    // again, and nothing was written in clear behind the user's back.
    assert!(!rig.home.secrets_file().exists());
    let file = dir_store.get().unwrap();
    file.set("acc_0", "upstream-secret").unwrap();
    rig.remote.send(Command::Start);
    rig.wait_running();
}

#[test]
fn quit_stops_the_gateway_before_it_exits() {
    let mocks = mock_runtime();
    let mock = answering_mock(&mocks);
    let rig = Rig::start("auto_start = true", &[&mock.url()]);
    rig.wait_running();
    let port = rig.port;
    drop(rig);
    TcpListener::bind(("127.0.0.1", port)).expect("the port is free after Quit");
}

#[test]
fn an_asked_start_hands_back_the_error_itself_and_notifies_nothing() {
    let rig = Rig::serving("", &[], Overrides::default());
    let outcome = rig._runtime.block_on(rig.remote.start());
    assert!(matches!(outcome, Err(StartError::NoAccounts)), "{outcome:?}");
    let failed = rig.recorder.wait_phase("Failed", |p| matches!(p, Phase::Failed(_)));
    assert_eq!(failed.phase, Phase::Failed("no accounts".into()));
    assert!(
        rig.recorder.notices().is_empty(),
        "whoever asked reports it: {:?}",
        rig.recorder.notices()
    );
}

#[test]
fn serve_s_overrides_apply_and_it_starts_only_when_asked() {
    let mocks = mock_runtime();
    let mock = answering_mock(&mocks);
    let port = free_port();
    let overrides = Overrides {
        port: Some(port),
        ..Overrides::default()
    };
    let rig = Rig::serving("auto_start = true", &[&mock.url()], overrides);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!rig.healthy(rig.port), "auto_start is the tray's setting");
    assert!(!rig.healthy(port));

    let status = rig._runtime.block_on(rig.remote.start()).unwrap();
    let address = format!("127.0.0.1:{port}").parse().unwrap();
    assert_eq!(status.address, Some(address));
    assert_eq!(status.accounts, 1);
    let running = rig.wait_running();
    assert_eq!(running.phase, Phase::Running { address, accounts: 1 });
    assert_eq!(running.port, port);
    assert!(rig.healthy(port));
    assert!(!rig.healthy(rig.port), "--port wins over config.toml");

    // A start asked of a running gateway hands back where it runs.
    let again = rig._runtime.block_on(rig.remote.start()).unwrap();
    assert_eq!(again.address, Some(address));
}
