//! `switchyard connect` and `switchyard env` end to end: each test has a
//! temporary Switchyard home and a temporary HOME (and XDG_CONFIG_HOME) for
//! the tools, with none of the tools' own variables set.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::command::{stderr, stdout, switchyard};

/// A Switchyard home and a user's HOME.
struct Homes {
    _dir: tempfile::TempDir,
    switchyard: PathBuf,
    user: PathBuf,
    /// PATH for the child: an empty directory unless a test puts a tool there.
    bin: PathBuf,
}

impl Homes {
    fn new() -> Homes {
        let dir = tempfile::tempdir().unwrap();
        let switchyard = dir.path().join("switchyard");
        let user = dir.path().join("user");
        let bin = dir.path().join("bin");
        for d in [&switchyard, &user, &bin] {
            std::fs::create_dir_all(d).unwrap();
        }
        Homes {
            _dir: dir,
            switchyard,
            user,
            bin,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        switchyard(&self.switchyard)
            .env("HOME", &self.user)
            .env("XDG_CONFIG_HOME", self.user.join(".config"))
            .env("PATH", &self.bin)
            .env_remove("CODEX_HOME")
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("LLM_USER_PATH")
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> Output {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        output
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.user.join(relative)
    }

    fn write(&self, relative: &str, text: &str, mode: u32) -> PathBuf {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn install(&self, program: &str) {
        let path = self.bin.join(program);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn keys(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.switchyard.join("keys.json")).unwrap()).unwrap()
    }

    fn backups(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(self.switchyard.join("backups")) {
            Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        }
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The hash keys.json keeps for a key.
fn hash(key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

const CODEX_CONFIG: &str = "# my Codex settings\nmodel = \"o3\"   # the one I like\napproval_policy = \"on-request\"\n\n[tui]\nnotifications = true  # keep\n\n[profiles.fast]\nmodel = \"o4-mini\"\n";

#[test]
fn codex_round_trip_keeps_comments_and_undo_restores_exact_bytes() {
    let homes = Homes::new();
    let file = homes.write(".codex/config.toml", CODEX_CONFIG, 0o640);
    homes.write(".codex/auth.json", "{\"OPENAI_API_KEY\":\"mine\"}", 0o600);
    let output = homes.ok(&["connect", "codex", "--model", "gpt-5"]);
    let text = read(&file);
    for kept in [
        "# my Codex settings\n",
        "model = \"gpt-5\"   # the one I like\n",
        "approval_policy = \"on-request\"\n",
        "[tui]\nnotifications = true  # keep\n",
        "[profiles.fast]\nmodel = \"o4-mini\"\n",
    ] {
        assert!(text.contains(kept), "lost {kept:?}:\n{text}");
    }
    let doc: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(doc["model_provider"].as_str(), Some("switchyard"));
    let provider = &doc["model_providers"]["switchyard"];
    assert_eq!(provider["base_url"].as_str(), Some("http://127.0.0.1:8045/v1"));
    assert_eq!(provider["wire_api"].as_str(), Some("responses"));
    let key = provider["experimental_bearer_token"].as_str().unwrap();
    assert_eq!(homes.keys()["keys"][0]["name"], "codex");
    assert_eq!(homes.keys()["keys"][0]["hash"], hash(key).as_str());
    assert_eq!(mode(&file), 0o640, "the file keeps its mode");
    assert_eq!(read(&homes.path(".codex/auth.json")), "{\"OPENAI_API_KEY\":\"mine\"}");
    // One backup, private, of the original bytes.
    let backups = homes.backups();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(read(&backups[0]), CODEX_CONFIG);
    assert_eq!(mode(&backups[0]), 0o600);
    assert!(
        stderr(&output).contains("`codex` is not on PATH"),
        "{}",
        stderr(&output)
    );

    homes.ok(&["connect", "codex", "--undo"]);
    assert_eq!(read(&file), CODEX_CONFIG, "undo restores the exact bytes");
    assert_eq!(mode(&file), 0o640);
    assert!(homes.backups().is_empty(), "the backup goes with the undo");
}

#[test]
fn files_connect_creates_are_private_and_undo_deletes_them() {
    let homes = Homes::new();
    homes.ok(&["connect", "gemini-cli"]);
    let settings = homes.path(".gemini/settings.json");
    let env = homes.path(".gemini/.env");
    let json: Value = serde_json::from_str(&read(&settings)).unwrap();
    assert_eq!(json["security"]["auth"]["selectedType"], "gemini-api-key");
    let env_text = read(&env);
    assert!(
        env_text.contains("GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8045\n"),
        "{env_text}"
    );
    assert!(env_text.contains("GEMINI_API_KEY=sk-"), "{env_text}");
    assert_eq!(mode(&settings), 0o600);
    assert_eq!(mode(&env), 0o600);
    homes.ok(&["connect", "gemini-cli", "--undo"]);
    assert!(!settings.exists() && !env.exists());
}

#[test]
fn second_run_changes_nothing_and_keeps_the_key() {
    let homes = Homes::new();
    homes.install("claude");
    let first = homes.ok(&["connect", "claude-code"]);
    assert!(!stderr(&first).contains("not on PATH"), "{}", stderr(&first));
    let settings = homes.path(".claude/settings.json");
    let written = read(&settings);
    let keys = homes.keys();
    let json: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(json["env"]["ANTHROPIC_BASE_URL"], "http://127.0.0.1:8045");
    let key = json["env"]["ANTHROPIC_AUTH_TOKEN"].as_str().unwrap();
    assert_eq!(keys["keys"][0]["hash"], hash(key).as_str());

    let second = homes.ok(&["connect", "claude-code"]);
    assert!(stderr(&second).contains("nothing changed"), "{}", stderr(&second));
    assert_eq!(read(&settings), written);
    assert_eq!(homes.keys(), keys, "the key is reused, not rotated");
}

#[test]
fn undo_after_a_user_edit_removes_only_connects_settings() {
    let homes = Homes::new();
    let original = "{\n  // my OpenCode\n  \"theme\": \"tokyonight\",\n  \"model\": \"anthropic/claude-sonnet-4\",\n  \"provider\": {\n    \"ollama\": { \"options\": { \"baseURL\": \"http://localhost:11434/v1\" } }, // local\n  },\n}\n";
    let file = homes.write(".config/opencode/opencode.json", original, 0o644);
    homes.ok(&["connect", "opencode", "--model", "gemini-2.5-flash"]);
    let text = read(&file);
    assert!(text.contains("// my OpenCode") && text.contains("// local"), "{text}");
    let value: Value = jsonc_value(&text);
    assert_eq!(value["model"], "switchyard/gemini-2.5-flash");
    assert_eq!(
        value["provider"]["switchyard"]["options"]["baseURL"],
        "http://127.0.0.1:8045/v1"
    );
    assert_eq!(value["provider"]["switchyard"]["npm"], "@ai-sdk/openai-compatible");
    assert_eq!(
        value["provider"]["ollama"]["options"]["baseURL"],
        "http://localhost:11434/v1"
    );

    // The user edits the file after connect.
    let edited = text.replace(
        "\"theme\": \"tokyonight\",",
        "\"theme\": \"tokyonight\",\n  \"autoupdate\": false, // added later",
    );
    std::fs::write(&file, &edited).unwrap();
    let output = homes.ok(&["connect", "opencode", "--undo"]);
    assert!(stderr(&output).contains("edited since"), "{}", stderr(&output));
    let after = read(&file);
    let value = jsonc_value(&after);
    assert!(
        after.contains("// added later") && after.contains("// my OpenCode"),
        "{after}"
    );
    assert_eq!(value["autoupdate"], false);
    assert_eq!(
        value["model"], "anthropic/claude-sonnet-4",
        "the model it had before is back"
    );
    assert!(value["provider"].get("switchyard").is_none(), "{after}");
    assert_eq!(
        value["provider"]["ollama"]["options"]["baseURL"],
        "http://localhost:11434/v1"
    );
    assert_eq!(mode(&file), 0o644);
}

fn jsonc_value(text: &str) -> Value {
    let root = jsonc_parser::cst::CstRootNode::parse(text, &Default::default()).unwrap();
    root.value().unwrap().to_serde_value().unwrap()
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let homes = Homes::new();
    let file = homes.write(".codex/config.toml", CODEX_CONFIG, 0o600);
    let output = homes.ok(&["connect", "codex", "--dry-run"]);
    let diff = stdout(&output);
    assert!(diff.starts_with("--- "), "{diff}");
    assert!(diff.contains("+model_provider = \"switchyard\""), "{diff}");
    assert!(
        diff.contains("+experimental_bearer_token = \"<new client key `codex`>\""),
        "{diff}"
    );
    assert_eq!(read(&file), CODEX_CONFIG);
    assert!(
        !homes.switchyard.join("keys.json").exists(),
        "no key is made by a dry run"
    );
    assert!(!homes.switchyard.join("connect.json").exists());
    assert!(homes.backups().is_empty());
}

#[test]
fn a_file_that_does_not_parse_is_left_untouched_and_named_with_its_line() {
    let homes = Homes::new();
    let bad = "{\n  \"env\": {\n    \"A\": 1\n  \"model\": \"x\"\n}\n";
    let file = homes.write(".claude/settings.json", bad, 0o600);
    let output = homes.run(&["connect", "claude-code"]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains(&file.display().to_string()) && message.contains("line 3"),
        "{message}"
    );
    assert_eq!(read(&file), bad);
    assert!(
        !homes.switchyard.join("keys.json").exists(),
        "no key is made for a file that cannot take it"
    );
}

#[test]
fn a_key_not_found_in_the_files_is_rotated_and_said_so() {
    let homes = Homes::new();
    homes.ok(&["connect", "codex"]);
    let before = homes.keys()["keys"][0]["hash"].clone();
    std::fs::remove_file(homes.path(".codex/config.toml")).unwrap();
    let output = homes.ok(&["connect", "codex"]);
    assert!(stderr(&output).contains("was rotated"), "{}", stderr(&output));
    let text = read(&homes.path(".codex/config.toml"));
    let doc: toml::Value = toml::from_str(&text).unwrap();
    let key = doc["model_providers"]["switchyard"]["experimental_bearer_token"]
        .as_str()
        .unwrap();
    let keys = homes.keys();
    assert_ne!(keys["keys"][0]["hash"], before);
    assert_eq!(keys["keys"][0]["hash"], hash(key).as_str());
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1, "same name, not a second key");
}

#[test]
fn admin_key_writes_the_gateway_key() {
    let homes = Homes::new();
    homes.ok(&["connect", "aider", "--model", "gpt-4.1", "--admin-key"]);
    let gateway_key = stdout(&homes.ok(&["key", "show"])).trim().to_string();
    let text = read(&homes.path(".aider.conf.yml"));
    assert_eq!(
        text,
        format!("openai-api-base: http://127.0.0.1:8045/v1\nopenai-api-key: {gateway_key}\nmodel: openai/gpt-4.1\n")
    );
    assert!(!homes.switchyard.join("keys.json").exists());

    // A new gateway key leaves it stale, and says so.
    let rotated = homes.ok(&["key", "rotate"]);
    assert!(stderr(&rotated).contains("Now stale: aider"), "{}", stderr(&rotated));
    homes.ok(&["connect", "--refresh"]);
    let new_key = stdout(&homes.ok(&["key", "show"])).trim().to_string();
    assert!(read(&homes.path(".aider.conf.yml")).contains(&format!("openai-api-key: {new_key}\n")));
}

#[test]
fn llm_gets_an_extra_model_and_its_key() {
    let homes = Homes::new();
    let models = homes.write(
        ".config/io.datasette.llm/extra-openai-models.yaml",
        "# mine\n- model_id: local\n  model_name: llama3\n  api_base: http://localhost:11434/v1\n",
        0o644,
    );
    let original = read(&models);
    homes.ok(&["connect", "llm", "--model", "gemini-2.5-flash"]);
    let text = read(&models);
    assert!(text.starts_with(&original), "{text}");
    assert!(
        text.ends_with("- model_id: switchyard\n  model_name: gemini-2.5-flash\n  api_base: http://127.0.0.1:8045/v1\n  api_key_name: switchyard\n"),
        "{text}"
    );
    let keys: Value = serde_json::from_str(&read(&homes.path(".config/io.datasette.llm/keys.json"))).unwrap();
    assert!(keys["switchyard"].as_str().unwrap().starts_with("sk-"));
    homes.ok(&["connect", "llm", "--undo"]);
    assert_eq!(read(&models), original);
    assert!(!homes.path(".config/io.datasette.llm/keys.json").exists());
}

#[test]
fn tools_that_need_a_model_say_so() {
    let homes = Homes::new();
    let output = homes.run(&["connect", "opencode"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--model"), "{}", stderr(&output));
}

#[test]
fn list_refresh_and_the_stale_notice_after_a_key_rotation() {
    let homes = Homes::new();
    homes.install("codex");
    homes.ok(&["connect", "codex"]);
    homes.ok(&["connect", "qwen-code", "--model", "qwen3-coder"]);
    let list = stdout(&homes.ok(&["connect", "--list"]));
    assert!(
        list.lines()
            .any(|l| l.starts_with("codex") && l.contains("yes") && l.ends_with("connected")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("claude-code") && l.contains("not connected")),
        "{list}"
    );

    let rotated = homes.ok(&["keys", "rotate", "codex"]);
    assert!(
        stderr(&rotated).contains("Now stale: codex") && stderr(&rotated).contains("connect --refresh"),
        "{}",
        stderr(&rotated)
    );
    let list = stdout(&homes.ok(&["connect", "--list"]));
    assert!(
        list.lines().any(|l| l.starts_with("codex") && l.contains("stale")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("qwen-code") && l.ends_with("connected")),
        "{list}"
    );

    homes.ok(&["connect", "--refresh"]);
    let list = stdout(&homes.ok(&["connect", "--list"]));
    assert!(!list.contains("stale"), "{list}");
    let env = read(&homes.path(".qwen/.env"));
    assert!(
        env.contains("OPENAI_BASE_URL=http://127.0.0.1:8045/v1\n") && env.contains("OPENAI_MODEL=qwen3-coder\n"),
        "{env}"
    );
}

#[test]
fn a_port_change_makes_tools_stale_until_refreshed() {
    let homes = Homes::new();
    homes.ok(&["connect", "claude-code"]);
    std::fs::write(homes.switchyard.join("config.toml"), "[proxy]\nport = 9123\n").unwrap();
    let list = stdout(&homes.ok(&["connect", "--list"]));
    assert!(
        list.contains("stale: it points at port 8045, the gateway is on 9123"),
        "{list}"
    );
    homes.ok(&["connect", "--refresh"]);
    let json: Value = serde_json::from_str(&read(&homes.path(".claude/settings.json"))).unwrap();
    assert_eq!(json["env"]["ANTHROPIC_BASE_URL"], "http://127.0.0.1:9123");
}

#[test]
fn env_prints_the_sdk_variables_for_each_shell() {
    let homes = Homes::new();
    let key = stdout(&homes.ok(&["key", "show"])).trim().to_string();
    let bash = stdout(&homes.ok(&["env"]));
    for line in [
        "export OPENAI_BASE_URL='http://127.0.0.1:8045/v1'".to_string(),
        format!("export OPENAI_API_KEY='{key}'"),
        "export ANTHROPIC_BASE_URL='http://127.0.0.1:8045'".to_string(),
        format!("export ANTHROPIC_API_KEY='{key}'"),
        "export GOOGLE_GEMINI_BASE_URL='http://127.0.0.1:8045'".to_string(),
        format!("export GEMINI_API_KEY='{key}'"),
        format!("export GOOGLE_API_KEY='{key}'"),
    ] {
        assert!(bash.lines().any(|l| l == line), "missing {line}:\n{bash}");
    }
    // eval "$(switchyard env)" in a real shell.
    let shell = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "eval \"$(cat <<'EOF'\n{bash}EOF\n)\"; printf %s \"$OPENAI_BASE_URL $GOOGLE_API_KEY\""
        ))
        .output()
        .unwrap();
    assert_eq!(stdout(&shell), format!("http://127.0.0.1:8045/v1 {key}"));
    let fish = stdout(&homes.ok(&["env", "--shell", "fish"]));
    assert!(
        fish.contains("set -gx OPENAI_BASE_URL 'http://127.0.0.1:8045/v1'"),
        "{fish}"
    );
    let ps = stdout(&homes.ok(&["env", "--shell", "powershell"]));
    assert!(ps.contains("$env:ANTHROPIC_BASE_URL = 'http://127.0.0.1:8045'"), "{ps}");
}

/// A `serve` child, killed on drop.
struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_on_another_port_names_the_stale_tools_and_connect_follows_it() {
    use std::io::{BufRead, BufReader, Write};
    let homes = Homes::new();
    let mut add = switchyard(&homes.switchyard)
        .args([
            "accounts",
            "add",
            "openai",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--api-key-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin.take().unwrap().write_all(b"sk-upstream").unwrap();
    assert!(add.wait().unwrap().success());
    homes.ok(&["connect", "claude-code"]);

    let port = crate::common::raw::free_port();
    let mut child = switchyard(&homes.switchyard)
        .env("HOME", &homes.user)
        .env("PATH", &homes.bin)
        .args(["serve", "--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr_pipe = child.stderr.take().unwrap();
    let served = Served(child);
    // Read on a thread, so that a missing notice fails the test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let found = BufReader::new(stderr_pipe)
            .lines()
            .map_while(Result::ok)
            .find(|line| line.contains("Now stale"));
        let _ = tx.send(found.unwrap_or_default());
    });
    let notice = rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap_or_default();
    assert!(
        notice.contains("claude-code") && notice.contains("connect --refresh"),
        "{notice}"
    );

    // With the gateway running, connect points tools at its port.
    homes.ok(&["connect", "--refresh"]);
    let json: Value = serde_json::from_str(&read(&homes.path(".claude/settings.json"))).unwrap();
    assert_eq!(
        json["env"]["ANTHROPIC_BASE_URL"],
        format!("http://127.0.0.1:{port}").as_str()
    );
    let list = stdout(&homes.ok(&["connect", "--list"]));
    assert!(
        list.lines()
            .any(|l| l.starts_with("claude-code") && l.ends_with("connected")),
        "{list}"
    );
    drop(served);
}

/// One HTTP/1.1 exchange on loopback; the whole answer.
fn http(port: u16, method: &str, path: &str, key: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn the_admin_api_lists_and_connects_tools_for_the_dashboard() {
    use std::io::{BufRead, BufReader, Write};
    let homes = Homes::new();
    let mut add = switchyard(&homes.switchyard)
        .args([
            "accounts",
            "add",
            "openai",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--api-key-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin.take().unwrap().write_all(b"sk-upstream").unwrap();
    assert!(add.wait().unwrap().success());
    let key = stdout(&homes.ok(&["key", "show"])).trim().to_string();
    let port = crate::common::raw::free_port();
    let mut child = switchyard(&homes.switchyard)
        .env("HOME", &homes.user)
        .env("XDG_CONFIG_HOME", homes.user.join(".config"))
        .env("PATH", &homes.bin)
        .args(["serve", "--port", &port.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let _served = Served(child);

    let answer = http(port, "POST", "/api/connect/codex", &key);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let text = read(&homes.path(".codex/config.toml"));
    assert!(
        text.contains(&format!("base_url = \"http://127.0.0.1:{port}/v1\"")),
        "{text}"
    );
    let list = http(port, "GET", "/api/connect", &key);
    assert!(
        list.contains("\"tool\":\"codex\"") && list.contains("\"state\":\"connected\""),
        "{list}"
    );
    assert!(http(port, "POST", "/api/connect/nope", &key).starts_with("HTTP/1.1 404"));
    assert!(http(port, "POST", "/api/connect/codex", "sk-wrong-key-123").starts_with("HTTP/1.1 401"));
}

#[test]
fn a_symlinked_config_stays_a_link_and_undo_dry_run_writes_nothing() {
    let homes = Homes::new();
    let dotfiles = homes.write("dotfiles/codex.toml", CODEX_CONFIG, 0o644);
    std::fs::create_dir_all(homes.path(".codex")).unwrap();
    let link = homes.path(".codex/config.toml");
    std::os::unix::fs::symlink(&dotfiles, &link).unwrap();
    homes.ok(&["connect", "codex"]);
    assert!(
        std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(),
        "the link was replaced"
    );
    assert!(read(&dotfiles).contains("model_provider = \"switchyard\""));

    // A user edit, then a dry run of the undo: a diff, nothing written.
    let edited = format!("{}\n[history]\npersistence = \"none\"\n", read(&dotfiles));
    std::fs::write(&dotfiles, &edited).unwrap();
    let preview = homes.ok(&["connect", "codex", "--undo", "--dry-run"]);
    assert!(
        stdout(&preview).contains("-model_provider = \"switchyard\""),
        "{}",
        stdout(&preview)
    );
    assert_eq!(read(&dotfiles), edited);

    homes.ok(&["connect", "codex", "--undo"]);
    let after = read(&dotfiles);
    assert_eq!(
        after,
        format!("{CODEX_CONFIG}\n[history]\npersistence = \"none\"\n"),
        "only connect's settings left"
    );
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
}
