//! The command line end to end, in a temporary `SWITCHYARD_HOME` with the
//! file secret store.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::command::{run, run_with_stdin, stderr, stdout, switchyard};
use crate::common::raw::free_port;

fn account_ids(home: &Path) -> Vec<String> {
    let output = run(home, &["accounts", "list", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let list: Value = serde_json::from_slice(&output.stdout).unwrap();
    list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn accounts_add_list_disable_enable_remove() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let added = run_with_stdin(
        home,
        &[
            "accounts",
            "add",
            "gemini",
            "--label",
            "work",
            "--api-key-stdin",
            "--models",
            "gemini-*",
        ],
        "AIzaSecretOne\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(
        stdout(&added).contains("Added gemini account acc_"),
        "{}",
        stdout(&added)
    );
    let added = switchyard(home)
        .args([
            "accounts",
            "add",
            "anthropic",
            "--label",
            "z.ai",
            "--base-url",
            "https://api.z.ai/api/anthropic",
            "--api-key-env",
            "ZAI_KEY",
            "--priority",
            "1",
        ])
        .env("ZAI_KEY", "zai-secret-two")
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", stderr(&added));

    let ids = account_ids(home);
    assert_eq!(ids.len(), 2);
    let list = run(home, &["accounts", "list"]);
    let text = stdout(&list);
    assert!(
        text.contains(&ids[0]) && text.contains("work") && text.contains("z.ai") && text.contains("ready"),
        "{text}"
    );

    // Secrets are in secrets.json, never in config.toml.
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert!(
        !config.contains("AIzaSecretOne") && !config.contains("zai-secret-two"),
        "{config}"
    );
    assert!(
        config.contains("https://api.z.ai/api/anthropic") && config.contains("priority = 1"),
        "{config}"
    );
    let secrets = std::fs::read_to_string(home.join("secrets.json")).unwrap();
    assert!(secrets.contains("AIzaSecretOne") && secrets.contains("zai-secret-two"));

    assert!(run(home, &["accounts", "disable", &ids[0]]).status.success());
    let json: Value = serde_json::from_slice(&run(home, &["accounts", "list", "--json"]).stdout).unwrap();
    assert_eq!(json["accounts"][0]["enabled"], false);
    assert_eq!(json["accounts"][0]["state"], "disabled");
    assert!(run(home, &["accounts", "enable", &ids[0]]).status.success());

    let removed = run(home, &["accounts", "remove", &ids[0]]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert_eq!(account_ids(home), vec![ids[1].clone()]);
    let secrets = std::fs::read_to_string(home.join("secrets.json")).unwrap();
    assert!(
        !secrets.contains("AIzaSecretOne"),
        "the removed account's secret is deleted"
    );

    let missing = run(home, &["accounts", "remove", "acc_nothere"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("accounts list"), "{}", stderr(&missing));
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let cases: &[&[&str]] = &[
        &["accounts", "add", "azure", "--api-key-stdin"],
        &["accounts", "add", "gemini"],
        &["accounts", "add", "gemini", "--api-key-env", "SURELY_NOT_SET_ANYWHERE"],
        &["accounts", "add", "openai", "--api-key-stdin", "--base-url", "ftp://x"],
        &["serve", "--port", "0"],
        &["serve", "--auth-mode", "foo"],
        &["frobnicate"],
    ];
    for args in cases {
        let output = run(home, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(!stderr(&output).trim().is_empty(), "{args:?} printed no message");
    }
    assert!(account_ids(home).is_empty());
}

#[test]
fn the_gateway_key_is_generated_rotated_and_set() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let first = stdout(&run(home, &["key", "show"])).trim().to_string();
    assert!(first.starts_with("sk-") && first.len() == 35, "{first}");
    assert_eq!(stdout(&run(home, &["key", "show"])).trim(), first, "the key is stable");

    let rotated = stdout(&run(home, &["key", "rotate"])).trim().to_string();
    assert_ne!(rotated, first);
    assert_eq!(stdout(&run(home, &["key", "show"])).trim(), rotated);

    let bad = run_with_stdin(home, &["key", "set"], "not-a-key\n");
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("sk-"), "{}", stderr(&bad));
    let short = run_with_stdin(home, &["key", "set"], "sk-abc\n");
    assert_eq!(short.status.code(), Some(2));
    let set = run_with_stdin(home, &["key", "set"], "sk-my-own-key-42\n");
    assert!(set.status.success(), "{}", stderr(&set));
    assert_eq!(stdout(&run(home, &["key", "show"])).trim(), "sk-my-own-key-42");
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap_or_default();
    assert!(!config.contains("sk-my-own-key-42"));
}

#[test]
fn config_path_and_show_mask_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::write(
        home.join("config.toml"),
        "[proxy]\nport = 9123\napi_key = \"sk-handset-secret-key\"\n",
    )
    .unwrap();
    let path = stdout(&run(home, &["config", "path"]));
    assert!(path.contains(&home.join("config.toml").display().to_string()), "{path}");
    let shown = run(home, &["config", "show"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let text = stdout(&shown);
    assert!(text.contains("port = 9123"), "{text}");
    assert!(!text.contains("sk-handset-secret-key"), "{text}");
    assert!(text.contains("sk-han…"), "{text}");
}

#[test]
fn config_show_masks_the_oauth_client_secret_and_proxy_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::write(
        home.join("config.toml"),
        "[providers.google]\nclient_id = \"client.apps.googleusercontent.com\"\n\
         client_secret = \"GOCSPX-oauth-client-secret\"\n\n\
         [[accounts]]\nid = \"acc_00000001\"\nprovider = \"gemini\"\n\
         proxy_url = \"http://proxyuser:proxy-password-42@proxy.example:3128\"\n\n\
         [[accounts]]\nid = \"acc_00000002\"\nprovider = \"openai\"\n\
         base_url = \"https://baseuser:base-password-43@llm.example/v1\"\n",
    )
    .unwrap();
    let shown = run(home, &["config", "show"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let (text, errors) = (stdout(&shown), stderr(&shown));
    for secret in [
        "oauth-client-secret",
        "proxyuser",
        "proxy-password-42",
        "baseuser",
        "base-password-43",
    ] {
        assert!(
            !text.contains(secret) && !errors.contains(secret),
            "{secret} shown:\n{text}{errors}"
        );
    }
    assert!(text.contains("http://***:***@proxy.example:3128"), "{text}");
    assert!(text.contains("https://***:***@llm.example/v1"), "{text}");
    assert!(text.contains("client.apps.googleusercontent.com"), "{text}");
}

/// A home that other users may write to is made 0700, with a warning that
/// names it; one that is only readable is tightened quietly.
#[cfg(unix)]
#[test]
fn an_open_home_is_tightened_and_a_writable_one_reported() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).unwrap();
    let output = run(&home, &["config", "show"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let warning = stderr(&output);
    assert!(
        warning.contains(&home.display().to_string()) && warning.contains("writable by other users"),
        "{warning}"
    );
    assert_eq!(mode(&home), 0o700);

    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = run(&home, &["config", "show"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("WARN"), "{}", stderr(&output));
    assert_eq!(mode(&home), 0o700);
}

#[test]
fn a_broken_config_is_reported_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let broken = "[proxy]\nauth_mode = \"foo\"\n";
    std::fs::write(home.join("config.toml"), broken).unwrap();
    let output = run_with_stdin(home, &["accounts", "add", "gemini", "--api-key-stdin"], "k\n");
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("auth_mode") && message.contains("all_except_health") && message.contains("line 2"),
        "{message}"
    );
    assert_eq!(std::fs::read_to_string(home.join("config.toml")).unwrap(), broken);
}

#[test]
fn serve_without_accounts_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &["serve", "--port", "18599"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("No accounts available — add an account first (switchyard accounts add ...)"),
        "{}",
        stderr(&output)
    );
}

/// A `serve` child process, killed on drop if still running.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_serving(home: &Path, port: u16) -> Served {
    start_serving_with(home, port, &[])
}

fn start_serving_with(home: &Path, port: u16, args: &[&str]) -> Served {
    let mut child = switchyard(home)
        .args(["serve", "--port", &port.to_string()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains(&format!("127.0.0.1:{port}")), "{first}");
    Served(child)
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).ok()?;
    Some(response)
}

#[cfg(unix)]
#[test]
fn serve_answers_health_reports_status_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    assert!(
        run_with_stdin(home, &["accounts", "add", "openai", "--api-key-stdin"], "sk-upstream\n")
            .status
            .success()
    );
    let port = free_port();
    let mut served = start_serving(home, port);

    let response = get(port, "/healthz").expect("healthz answers");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");

    let status = run(home, &["status", "--json"]);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["running"], true);
    assert_eq!(status["base_url"], format!("http://127.0.0.1:{port}"));
    assert_eq!(status["accounts"], 1);
    assert_eq!(status["auth_mode"], "off");

    // A second gateway on the same port fails with a named error, no panic.
    let busy = run(home, &["serve", "--port", &port.to_string()]);
    assert_eq!(busy.status.code(), Some(1));
    let message = stderr(&busy);
    assert!(
        message.contains("already in use") && message.contains(&port.to_string()),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");

    let pid = served.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let code = loop {
        if let Some(status) = served.0.try_wait().unwrap() {
            break status.code();
        }
        assert!(Instant::now() < deadline, "serve did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
    assert!(get(port, "/healthz").is_none(), "the port is closed after exit");
    let status: Value = serde_json::from_slice(&run(home, &["status", "--json"]).stdout).unwrap();
    assert_eq!(status["running"], false);
}

/// `serve` with its log collected as it comes (for the notices).
struct Logged {
    served: Served,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Logged {
    /// Starts `command` (a `serve`) and waits for its banner.
    fn start(mut command: Command, port: u16) -> Logged {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(first.contains(&format!("127.0.0.1:{port}")), "{first}");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Logged {
            served: Served(child),
            log,
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits up to 15 seconds for `check` to hold of the log.
    #[cfg(target_os = "linux")] // its one caller is Linux-only
    fn wait_log(&self, what: &str, check: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !check(&self.log()) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits up to 15 seconds for the exit; the code.
    fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.served.0.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "serve did not exit: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Replaces `from` with `to` in config.toml, as an editor would.
fn edit_config(home: &Path, from: &str, to: &str) {
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert!(config.contains(from), "{config}");
    std::fs::write(home.join("config.toml"), config.replace(from, to)).unwrap();
}

/// A reload that cannot serve the new settings and cannot put the old ones
/// back either (the secrets became unreadable) leaves nothing listening:
/// `serve` says so and exits 1 instead of running on with no listener.
#[cfg(unix)]
#[test]
fn serve_exits_1_when_a_reload_leaves_the_gateway_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::write(home.join("config.toml"), "[proxy]\nrequest_timeout_secs = 300\n").unwrap();
    assert!(
        run_with_stdin(home, &["accounts", "add", "openai", "--api-key-stdin"], "sk-upstream\n")
            .status
            .success()
    );
    let port = free_port();
    let mut serve = switchyard(home);
    serve.args(["serve", "--port", &port.to_string()]);
    let mut served = Logged::start(serve, port);

    std::fs::write(home.join("secrets.json"), "not json").unwrap();
    edit_config(home, "request_timeout_secs = 300", "request_timeout_secs = 301");

    let code = served.exit_code();
    let log = served.log();
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("not a valid secrets file"), "the cause is logged: {log}");
    assert!(log.contains("Switchyard is stopped."), "{log}");
    assert!(
        log.contains("switchyard: the gateway is stopped (secret store failed)"),
        "{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    assert!(get(port, "/healthz").is_none(), "nothing listens");
}

/// `secret_store` edited while serving: the newly selected store is opened
/// with the reload; when it is out of reach (no keychain here: the session
/// bus is made unreachable) the notice says how to keep secrets in a file
/// and the gateway serves on from the store it had.
#[cfg(target_os = "linux")]
#[test]
fn serve_applies_a_secret_store_switch_and_keeps_serving_when_the_store_is_out_of_reach() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::write(home.join("config.toml"), "[proxy]\nsecret_store = \"file\"\n").unwrap();
    let keychainless = |args: &[&str]| {
        let mut command = switchyard(home);
        command
            .args(args)
            .env_remove("SWITCHYARD_SECRET_STORE")
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/switchyard-test-bus")
            .env("XDG_RUNTIME_DIR", home);
        command
    };
    let mut add = keychainless(&["accounts", "add", "openai", "--api-key-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin.take().unwrap().write_all(b"sk-upstream\n").unwrap();
    assert!(add.wait().unwrap().success());
    let port = free_port();
    let mut served = Logged::start(keychainless(&["serve", "--port", &port.to_string()]), port);

    edit_config(home, "secret_store = \"file\"", "secret_store = \"keychain\"");
    served.wait_log("the keychain notice", |log| {
        log.contains("The keychain is not available")
    });
    let log = served.log();
    assert!(log.contains("secret_store = \"file\""), "{log}");
    assert!(!log.contains("sk-upstream"), "{log}");
    let response = get(port, "/healthz").expect("serves on");
    assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");
    assert!(served.served.0.try_wait().unwrap().is_none(), "{log}");

    let pid = served.served.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert_eq!(served.exit_code(), Some(0), "{}", served.log());
}

/// `GET /healthz` carrying the CLI's challenge header; the raw response.
fn get_challenged(port: u16, challenge: &[u8]) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nx-switchyard-challenge: {}\r\nConnection: close\r\n\r\n",
        hex::encode(challenge)
    )
    .unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    response
}

/// A response header's value, from a raw HTTP/1.1 response.
fn header_value(response: &str, name: &str) -> Option<String> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
    })
}

/// A program squatting a port after the gateway died: answers every request
/// `200 {"status":"ok"}` (plus `proof`, when set, as an `x-switchyard-proof`
/// header) and keeps every request it got, head and body.
struct Squatter {
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    proof: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Squatter {
    fn start(port: u16) -> Squatter {
        // The dead gateway's port may take a moment to come free.
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match std::net::TcpListener::bind(("127.0.0.1", port)) {
                Ok(listener) => break listener,
                Err(err) => {
                    assert!(Instant::now() < deadline, "cannot squat port {port}: {err}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        };
        let squatter = Squatter {
            requests: Default::default(),
            proof: Default::default(),
        };
        let (requests, proof) = (squatter.requests.clone(), squatter.proof.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut request = Vec::new();
                let mut byte = [0u8; 1024];
                while let Ok(n) = std::io::Read::read(&mut stream, &mut byte) {
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&byte[..n]);
                    if request.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                requests
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&request).into_owned());
                let extra = match proof.lock().unwrap().as_deref() {
                    Some(proof) => format!("x-switchyard-proof: {proof}\r\n"),
                    None => String::new(),
                };
                let body = r#"{"status":"ok"}"#;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        squatter
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// The CLI hands the gateway key only to this home's gateway: it proves
/// itself on `/healthz` with the identity it wrote into `gateway.json`
/// (0600). A program that takes the port after the gateway died gets a
/// challenge and nothing else, even when it replays a real proof.
#[cfg(unix)]
#[test]
fn the_cli_sends_the_key_only_to_a_gateway_that_proves_it_is_this_homes() {
    use std::os::unix::fs::PermissionsExt;
    use switchyard::home::Home;

    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    assert!(
        run_with_stdin(home, &["accounts", "add", "openai", "--api-key-stdin"], "sk-upstream\n")
            .status
            .success()
    );
    let key = stdout(&run(home, &["key", "show"])).trim().to_string();
    let id = account_ids(home).remove(0);
    let port = free_port();
    let mut served = start_serving_with(home, port, &["--auth-mode", "strict"]);

    // gateway.json holds the identity: only the owner may read it.
    let mode = std::fs::metadata(home.join("gateway.json"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "gateway.json is {mode:o}");

    // The real gateway proves itself, even to a challenge without the key
    // (auth strict: the answer is a 401), and its health body is unchanged.
    let identity = switchyard::gateway::read_runtime(&Home::at(home))
        .and_then(|record| record.identity)
        .expect("gateway.json records the identity");
    let seen = [7u8; 32];
    let response = get_challenged(port, &seen);
    let replayed = header_value(&response, "x-switchyard-proof").expect("the gateway answers the challenge");
    assert!(identity.verify(&seen, &replayed), "{response}");
    assert!(!identity.verify(&[8u8; 32], &replayed));
    let health = get(port, "/healthz").unwrap();
    assert!(health.starts_with("HTTP/1.1 401"), "{health}");
    assert!(
        header_value(&health, "x-switchyard-proof").is_none(),
        "no challenge, no proof"
    );

    // The commands work against it.
    let status: Value = serde_json::from_slice(&run(home, &["status", "--json"]).stdout).unwrap();
    assert_eq!(status["running"], true, "{status}");
    assert_eq!(status["auth_mode"], "strict");
    let list: Value = serde_json::from_slice(&run(home, &["accounts", "list", "--json"]).stdout).unwrap();
    assert_eq!(list["gateway_running"], true, "{list}");
    let enabled = run(home, &["accounts", "enable", &id]);
    assert!(enabled.status.success(), "{}", stderr(&enabled));
    assert!(
        stdout(&enabled).contains("The running gateway uses it again"),
        "{}",
        stdout(&enabled)
    );

    // The gateway dies without removing gateway.json; another program takes the port.
    served.0.kill().unwrap();
    served.0.wait().unwrap();
    let squatter = Squatter::start(port);
    let commands: &[&[&str]] = &[
        &["accounts", "list"],
        &["accounts", "list", "--json"],
        &["status"],
        &["accounts", "enable", &id],
    ];
    let mut asked = 0;
    for replay in [false, true] {
        // A replayed proof answers the challenge it was made for, not the CLI's.
        *squatter.proof.lock().unwrap() = replay.then(|| replayed.clone());
        for args in commands {
            let output = run(home, args);
            let message = stderr(&output);
            assert_eq!(output.status.code(), Some(1), "{args:?} (replay: {replay}): {message}");
            assert!(
                message.contains(&format!(
                    "Something is listening on 127.0.0.1:{port} but it is not this home's Switchyard gateway"
                )) && message.contains("the key was not sent"),
                "{args:?}: {message}"
            );
            assert!(!message.contains(&key), "{message}");
        }
        let requests = squatter.requests();
        assert!(requests.len() > asked, "the squatter was asked (replay: {replay})");
        asked = requests.len();
    }
    for request in squatter.requests() {
        assert!(
            request.starts_with("GET /healthz ") && request.contains("x-switchyard-challenge: "),
            "{request}"
        );
        assert!(!request.contains(&key), "the squatter got the key: {request}");
        assert!(!request.to_ascii_lowercase().contains("authorization"), "{request}");
    }

    // Commands that only mention a running gateway warn and still do their work.
    let rotated = run(home, &["key", "rotate"]);
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    assert!(
        stderr(&rotated).contains("not this home's Switchyard gateway"),
        "{}",
        stderr(&rotated)
    );
    let new_key = stdout(&rotated).trim().to_string();
    for request in squatter.requests() {
        assert!(!request.contains(&key) && !request.contains(&new_key), "{request}");
    }
}
