//! The model catalogue (issue 15): each account's upstream list fetched and
//! cached, served on `GET /v1/models` in the OpenAI, Anthropic and Gemini
//! shapes with their paging, 404 for unknown ids in each shape, routing that
//! prefers the accounts whose list names the model, and keyless accounts
//! for local model servers.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchyard::config::{self, ProviderKind};
use switchyard::gateway::reload::Reloaded;

use crate::common::catalogs::{self, Listed, chat, fetched, limited, with_methods};
use crate::common::command::{run, run_with_stdin, stderr, stdout};
use crate::common::{Mock, MockReply, Recorded, TestAccount, TestGateway, client};

/// Fetching on, refreshed rarely (the tests reload to refetch).
const FETCH: &str = "\n[catalog]\nfetch = true\nrefresh_mins = 60\n";

const GEMINI_LIST: &[Listed] = &[
    limited("gemini-2.5-flash", 1_048_576, 65_536),
    limited("gemini-2.5-pro", 1_048_576, 65_536),
    with_methods("text-embedding-004", &["embedContent"]),
    with_methods("imagen-4.0-generate-001", &["predict"]),
    chat("gemini-2.5-flash-preview-tts"),
    chat("gemma-3-27b-it"),
];

const ANTHROPIC_LIST: &[Listed] = &[chat("claude-opus-4-1-20250805"), chat("claude-sonnet-4-5-20250929")];

const LOCAL_LIST: &[Listed] = &[chat("llama3.2:3b"), chat("qwen3:8b")];

const CLOUD_LIST: &[Listed] = &[chat("gpt-4o")];

const ZAI_LIST: &[Listed] = &[chat("glm-4.6")];

/// An upstream that answers its list requests from `models` (pages of 2)
/// and every other request with `answer`.
async fn listing(provider: ProviderKind, models: &'static [Listed], answer: &'static str) -> Mock {
    Mock::start(move |r| catalogs::list(provider, models, 2, r).unwrap_or_else(|| chat_reply(provider, answer))).await
}

fn chat_reply(provider: ProviderKind, text: &str) -> MockReply {
    MockReply::json(match provider {
        ProviderKind::Anthropic => json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}
        }),
        ProviderKind::Openai => json!({
            "id": "c1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        }),
        _ => json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}
        }),
    })
}

fn account(provider: ProviderKind, mock: &Mock) -> TestAccount {
    let url = match provider {
        ProviderKind::Openai => format!("{}/v1", mock.url()),
        _ => mock.url(),
    };
    TestAccount::new(provider, url)
}

async fn get(gw: &TestGateway, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = client().get(gw.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn ids(list: &Value, field: &str, key: &str) -> Vec<String> {
    list[field]
        .as_array()
        .unwrap_or_else(|| panic!("no `{field}` in {list}"))
        .iter()
        .map(|m| m[key].as_str().unwrap().to_string())
        .collect()
}

/// `POST /v1/chat/completions` for `model`: the status and the answer's text.
async fn ask(gw: &TestGateway, model: &str) -> (u16, String) {
    let response = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

async fn three_accounts() -> (TestGateway, [Mock; 3]) {
    let gemini = listing(ProviderKind::Gemini, GEMINI_LIST, "from gemini").await;
    let anthropic = listing(ProviderKind::Anthropic, ANTHROPIC_LIST, "from anthropic").await;
    let local = listing(ProviderKind::Openai, LOCAL_LIST, "from the local server").await;
    let gw = TestGateway::start(
        vec![
            account(ProviderKind::Gemini, &gemini),
            account(ProviderKind::Anthropic, &anthropic),
            account(ProviderKind::Openai, &local)
                .keyless()
                .priority(9)
                .label("ollama"),
        ],
        &format!("[models]\n\"my-fast\" = \"gemini-2.5-flash\"\n{FETCH}"),
    )
    .await;
    fetched(&gw).await;
    (gw, [gemini, anthropic, local])
}

#[tokio::test]
async fn the_openai_list_is_the_union_of_the_catalogues_and_the_aliases() {
    let (gw, [gemini, anthropic, local]) = three_accounts().await;
    let (status, list) = get(&gw, "/v1/models", &[]).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["object"], "list");
    assert_eq!(
        ids(&list, "data", "id"),
        [
            "claude-opus-4-1-20250805",
            "claude-sonnet-4-5-20250929",
            "gemini-2.5-flash",
            "gemini-2.5-pro",
            "gemma-3-27b-it",
            "llama3.2:3b",
            "my-fast",
            "qwen3:8b",
        ],
        "chat models only: no embedding, image or speech model"
    );
    assert_eq!(list["data"][2]["owned_by"], "gemini");
    // Every page of the paged lists was read, each with its provider's auth.
    let pages: Vec<Recorded> = gemini.received().into_iter().filter(|r| r.method == "GET").collect();
    assert_eq!(pages.len(), 3, "six models in pages of two");
    assert!(
        pages
            .iter()
            .all(|r| r.header("x-goog-api-key") == Some("upstream-secret-gemini"))
    );
    let pages: Vec<Recorded> = anthropic.received().into_iter().filter(|r| r.method == "GET").collect();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(pages[0].header("x-api-key"), Some("upstream-secret-anthropic"));
    let listed = local.last();
    assert_eq!(listed.path, "/v1/models");
    assert_eq!(listed.header("authorization"), None, "a keyless account sends no key");
}

#[tokio::test]
async fn globs_narrow_an_accounts_catalogue_and_exact_names_are_listed() {
    let gemini = listing(ProviderKind::Gemini, GEMINI_LIST, "from gemini").await;
    let gw = TestGateway::start(
        vec![account(ProviderKind::Gemini, &gemini).models(&["gemini-2.5-*", "gemini-exp-1206"])],
        FETCH,
    )
    .await;
    fetched(&gw).await;
    let (_, list) = get(&gw, "/v1/models", &[]).await;
    assert_eq!(
        ids(&list, "data", "id"),
        ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-exp-1206"],
        "`gemma-*` is outside the globs; the exact name is listed though no list names it"
    );
}

#[tokio::test]
async fn anthropic_clients_get_anthropics_shape_paged() {
    let (gw, _mocks) = three_accounts().await;
    let version = [("anthropic-version", "2023-06-01")];
    let (status, page) = get(&gw, "/v1/models?limit=3", &version).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        ids(&page, "data", "id"),
        [
            "claude-opus-4-1-20250805",
            "claude-sonnet-4-5-20250929",
            "gemini-2.5-flash"
        ]
    );
    assert_eq!(page["data"][0]["type"], "model");
    assert_eq!(page["data"][0]["display_name"], "Mock claude-opus-4-1-20250805");
    assert_eq!(page["data"][0]["created_at"], "2025-09-29T00:00:00Z");
    assert_eq!(page["has_more"], true);
    assert_eq!(page["first_id"], "claude-opus-4-1-20250805");
    assert_eq!(page["last_id"], "gemini-2.5-flash");
    let (_, next) = get(&gw, "/v1/models?limit=10&after_id=gemini-2.5-flash", &version).await;
    assert_eq!(ids(&next, "data", "id").len(), 5);
    assert_eq!(next["has_more"], false);
    let (status, one) = get(&gw, "/v1/models/claude-sonnet-4-5", &version).await;
    assert_eq!(status, 200, "a dated id answers to its undated name: {one}");
    assert_eq!(one["id"], "claude-sonnet-4-5-20250929");
}

#[tokio::test]
async fn gemini_clients_get_geminis_shape_with_limits_paged() {
    let (gw, _mocks) = three_accounts().await;
    let (status, page) = get(&gw, "/v1beta/models?pageSize=3", &[]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        ids(&page, "models", "name"),
        [
            "models/claude-opus-4-1-20250805",
            "models/claude-sonnet-4-5-20250929",
            "models/gemini-2.5-flash"
        ]
    );
    let flash = &page["models"][2];
    assert_eq!(flash["displayName"], "Mock gemini-2.5-flash");
    assert_eq!(flash["inputTokenLimit"], 1_048_576, "the upstream's own limits");
    assert_eq!(flash["outputTokenLimit"], 65_536);
    assert_eq!(
        page["models"][1]["inputTokenLimit"], 200_000,
        "the table of families where the upstream says nothing"
    );
    assert!(
        flash["supportedGenerationMethods"]
            .as_array()
            .unwrap()
            .contains(&json!("generateContent"))
    );
    let token = page["nextPageToken"].as_str().unwrap().to_string();
    let (_, rest) = get(&gw, &format!("/v1beta/models?pageSize=100&pageToken={token}"), &[]).await;
    assert_eq!(ids(&rest, "models", "name").len(), 5);
    assert!(rest.get("nextPageToken").is_none());
    // google-genai with API version v1 lists on OpenAI's path with Google's key forms.
    for (path, headers) in [
        ("/v1/models", vec![("x-goog-api-key", "any")]),
        ("/v1/models?key=any", vec![]),
    ] {
        let (status, list) = get(&gw, path, &headers).await;
        assert_eq!(status, 200, "{path}: {list}");
        assert_eq!(ids(&list, "models", "name").len(), 8, "{path}: {list}");
    }
    let (status, one) = get(&gw, "/v1beta/models/gemini-2.5-pro", &[]).await;
    assert_eq!((status, one["name"].as_str()), (200, Some("models/gemini-2.5-pro")));
    let (status, alias) = get(&gw, "/v1beta/models/my-fast", &[]).await;
    assert_eq!(status, 200, "{alias}");
    assert_eq!(alias["inputTokenLimit"], 1_048_576, "an alias has its target's limits");
}

#[tokio::test]
async fn unknown_ids_are_404_in_each_shape() {
    let (gw, _mocks) = three_accounts().await;
    for id in ["no-such-model", "..%2F..%2Fetc%2Fpasswd", "text-embedding-004"] {
        let (status, body) = get(&gw, &format!("/v1/models/{id}"), &[]).await;
        assert_eq!(status, 404, "{id}: {body}");
        assert_eq!(body["error"]["type"], "invalid_request_error", "OpenAI's shape: {body}");
        let (status, body) = get(&gw, &format!("/v1/models/{id}"), &[("anthropic-version", "2023-06-01")]).await;
        assert_eq!(status, 404, "{id}: {body}");
        assert_eq!(body["type"], "error", "Anthropic's shape: {body}");
        assert_eq!(body["error"]["type"], "not_found_error");
        for (path, headers) in [
            (format!("/v1beta/models/{id}"), vec![]),
            (format!("/v1/models/{id}"), vec![("x-goog-api-key", "any")]),
        ] {
            let (status, body) = get(&gw, &path, &headers).await;
            assert_eq!(status, 404, "{path}: {body}");
            assert_eq!(body["error"]["code"], 404, "Gemini's shape: {body}");
            assert_eq!(body["error"]["status"], "NOT_FOUND");
        }
    }
    let (status, _) = get(&gw, "/v1/models/llama3.2:3b", &[]).await;
    assert_eq!(status, 200, "a listed id with a colon is a model, not a call");
}

#[tokio::test]
async fn a_failed_fetch_keeps_the_last_good_list_and_says_why() {
    let gemini = listing(ProviderKind::Gemini, GEMINI_LIST, "from gemini").await;
    let mut gw = TestGateway::start(vec![account(ProviderKind::Gemini, &gemini)], FETCH).await;
    fetched(&gw).await;
    let (_, before) = get(&gw, "/v1/models", &[]).await;
    assert_eq!(ids(&before, "data", "id").len(), 3);

    gemini.set(|_| {
        MockReply::status(
            500,
            json!({"error": {"code": 500, "message": "list broke", "status": "INTERNAL"}}),
        )
    });
    let requests = gemini.count();
    config::edit(&gw.home, |doc| {
        doc["models"]["alias"] = toml_edit::value("gemini-2.5-pro");
        Ok(())
    })
    .unwrap();
    assert!(matches!(
        gw.gateway.reload(Duration::from_secs(1)).await.unwrap(),
        Reloaded::Rerouted { .. }
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let status = gw.gateway.accounts().unwrap().remove(0).catalog.unwrap();
        if status.error.is_some() {
            break status;
        }
        assert!(Instant::now() < deadline, "no refetch after the reload");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(gemini.count() > requests, "a reload fetches again");
    assert_eq!(status.models, Some(3), "the last good list is kept");
    let error = status.error.unwrap();
    assert!(error.contains("HTTP 500") && error.contains("list broke"), "{error}");
    assert!(!error.contains("upstream-secret"), "{error}");
    let (_, after) = get(&gw, "/v1/models", &[]).await;
    assert_eq!(ids(&after, "data", "id").len(), 4, "the same list and the new alias");
}

#[tokio::test]
async fn a_model_only_a_local_server_lists_goes_to_it_first() {
    let cloud = listing(ProviderKind::Openai, CLOUD_LIST, "from the cloud").await;
    let local = listing(ProviderKind::Openai, LOCAL_LIST, "from the local server").await;
    let gw = TestGateway::start(
        vec![
            account(ProviderKind::Openai, &cloud),
            account(ProviderKind::Openai, &local).keyless().priority(9),
        ],
        FETCH,
    )
    .await;
    fetched(&gw).await;
    assert_eq!(ask(&gw, "llama3.2:3b").await, (200, "from the local server".into()));
    assert_eq!(
        ask(&gw, "gpt-4o").await,
        (200, "from the cloud".into()),
        "tiers still rule among listers"
    );
    assert_eq!(
        ask(&gw, "unlisted-model").await,
        (200, "from the cloud".into()),
        "a name no list has still goes to an account without globs, by tier"
    );
    let posts = |m: &Mock| m.received().into_iter().filter(|r| r.method == "POST").count();
    assert_eq!((posts(&cloud), posts(&local)), (2, 1));
}

#[tokio::test]
async fn dated_and_latest_names_match_the_catalogue() {
    let anthropic = listing(ProviderKind::Anthropic, ANTHROPIC_LIST, "from anthropic").await;
    let other = listing(ProviderKind::Anthropic, ZAI_LIST, "from the other").await;
    let gw = TestGateway::start(
        vec![
            account(ProviderKind::Anthropic, &other),
            account(ProviderKind::Anthropic, &anthropic).priority(5),
        ],
        FETCH,
    )
    .await;
    fetched(&gw).await;
    for model in [
        "claude-sonnet-4-5",
        "claude-sonnet-4-5-latest",
        "claude-sonnet-4-5-20250929",
    ] {
        let response = client()
            .post(gw.url("/v1/messages"))
            .header("anthropic-version", "2023-06-01")
            .json(&json!({"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["content"][0]["text"], "from anthropic", "{model}: {body}");
    }
}

#[tokio::test]
async fn a_keyless_account_chats_without_any_authorization() {
    let local = Mock::start(|r: &Recorded| {
        if r.header("authorization").is_some() || r.header("x-api-key").is_some() {
            return MockReply::status(401, json!({"error": {"message": "this server takes no key"}}));
        }
        catalogs::list(ProviderKind::Openai, LOCAL_LIST, 10, r)
            .unwrap_or_else(|| chat_reply(ProviderKind::Openai, "keyless answer"))
    })
    .await;
    let gw = TestGateway::start(vec![account(ProviderKind::Openai, &local).keyless()], FETCH).await;
    fetched(&gw).await;
    assert_eq!(ask(&gw, "qwen3:8b").await, (200, "keyless answer".into()));
    assert!(local.received().iter().all(|r| r.header("authorization").is_none()));
    let (_, list) = get(&gw, "/v1/models", &[]).await;
    assert_eq!(ids(&list, "data", "id"), ["llama3.2:3b", "qwen3:8b"]);
}

#[tokio::test]
async fn models_and_accounts_add_fetch_the_lists_themselves_when_no_gateway_runs() {
    let gemini = listing(ProviderKind::Gemini, GEMINI_LIST, "from gemini").await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_path_buf();
    let url = gemini.url();
    let (added, table, json) = tokio::task::spawn_blocking(move || {
        let added = run_with_stdin(
            &home,
            &[
                "accounts",
                "add",
                "gemini",
                "--label",
                "work",
                "--api-key-stdin",
                "--base-url",
                &url,
            ],
            "AIzaSecretKey\n",
        );
        std::fs::write(
            home.join("config.toml"),
            std::fs::read_to_string(home.join("config.toml")).unwrap()
                + "\n[models]\n\"my-fast\" = \"gemini-2.5-flash\"\n",
        )
        .unwrap();
        (added, run(&home, &["models"]), run(&home, &["models", "--json"]))
    })
    .await
    .unwrap();
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(stdout(&added).contains("It serves 3 models"), "{}", stdout(&added));
    assert!(table.status.success(), "{}", stderr(&table));
    let table = stdout(&table);
    let flash = table
        .lines()
        .find(|l| l.starts_with("gemini-2.5-flash "))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        flash.contains("1M") && flash.contains("66k") && flash.contains("work (0)"),
        "{flash}"
    );
    assert!(table.contains("my-fast → gemini-2.5-flash"), "{table}");
    assert!(!table.contains("embedding"), "{table}");
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["gateway_running"], false);
    let models = json["models"].as_array().unwrap();
    assert_eq!(models.len(), 4, "{json}");
    assert_eq!(models[0]["id"], "gemini-2.5-flash");
    assert_eq!(models[0]["context"], 1_048_576);
    assert_eq!(models[0]["accounts"][0]["tier"], 0);
    assert!(!json.to_string().contains("AIzaSecretKey"));
}

#[test]
fn presets_and_no_key_add_keyless_openai_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    for (args, label, url) in [
        (vec!["accounts", "add", "ollama"], "ollama", "http://127.0.0.1:11434/v1"),
        (
            vec!["accounts", "add", "lmstudio", "--priority", "9"],
            "lmstudio",
            "http://127.0.0.1:1234/v1",
        ),
        (
            vec![
                "accounts",
                "add",
                "ollama",
                "--base-url",
                "http://10.0.0.5:11434/v1",
                "--label",
                "lan",
            ],
            "lan",
            "http://10.0.0.5:11434/v1",
        ),
        (
            vec![
                "accounts",
                "add",
                "openai",
                "--base-url",
                "http://127.0.0.1:8080/v1",
                "--no-key",
            ],
            "",
            "http://127.0.0.1:8080/v1",
        ),
    ] {
        let added = run(home, &args);
        assert!(added.status.success(), "{args:?}: {}", stderr(&added));
        assert!(stdout(&added).contains("keyless"), "{}", stdout(&added));
        let list = run(home, &["accounts", "list", "--json"]);
        let list: Value = serde_json::from_slice(&list.stdout).unwrap();
        let last = list["accounts"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["provider"], "openai", "{args:?}");
        assert_eq!(last["label"], label, "{args:?}");
        assert_eq!(last["base_url"], url, "{args:?}");
    }
    let text = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert_eq!(text.matches("no_key = true").count(), 4, "{text}");
    let secrets = std::fs::read_to_string(home.join("secrets.json")).unwrap_or_default();
    assert!(!secrets.contains("acc_"), "no secret is stored: {secrets}");

    for args in [
        vec!["accounts", "add", "gemini", "--no-key"],
        vec!["accounts", "add", "openai", "--no-key"],
        vec!["accounts", "add", "ollama", "--api-key-env", "HOME"],
    ] {
        let refused = run_with_stdin(home, &args, "");
        assert_eq!(refused.status.code(), Some(2), "{args:?}: {}", stdout(&refused));
    }
}

/// The new user's path, with the defaults (fetching on): a fresh home, one
/// Gemini key without `--models`, `switchyard serve`, and the OpenAI list
/// holds the key's models. An account added while it runs is counted by the
/// running gateway, which fetched its list after reloading config.toml.
#[tokio::test]
async fn a_fresh_home_with_one_gemini_key_lists_its_models_and_counts_a_new_account() {
    let gemini = listing(ProviderKind::Gemini, GEMINI_LIST, "from gemini").await;
    let local = listing(ProviderKind::Openai, LOCAL_LIST, "from the local server").await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_path_buf();
    let gemini_url = gemini.url();
    let added = tokio::task::spawn_blocking({
        let home = home.clone();
        move || {
            run_with_stdin(
                &home,
                &[
                    "accounts",
                    "add",
                    "gemini",
                    "--api-key-stdin",
                    "--base-url",
                    &gemini_url,
                ],
                "AIzaSecretKey\n",
            )
        }
    })
    .await
    .unwrap();
    assert!(added.status.success(), "{}", stderr(&added));
    let port = crate::common::raw::free_port();
    let mut serve = crate::common::command::switchyard(&home)
        .args(["serve", "--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(15);
    let listed = loop {
        if let Ok(response) = client().get(format!("{base}/v1/models")).send().await {
            let list: Value = response.json().await.unwrap_or(Value::Null);
            if list["data"].as_array().is_some_and(|d| !d.is_empty()) {
                break ids(&list, "data", "id");
            }
        }
        assert!(Instant::now() < deadline, "serve never listed the key's models");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(listed, ["gemini-2.5-flash", "gemini-2.5-pro", "gemma-3-27b-it"]);

    let local_url = format!("{}/v1", local.url());
    let added = tokio::task::spawn_blocking({
        let home = home.clone();
        move || run(&home, &["accounts", "add", "ollama", "--base-url", &local_url])
    })
    .await
    .unwrap();
    let list: Value = client()
        .get(format!("{base}/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(stdout(&added).contains("It serves 2 models"), "{}", stdout(&added));
    assert!(
        ids(&list, "data", "id").contains(&"llama3.2:3b".to_string()),
        "the running gateway took the new account and fetched its list: {list}"
    );
    let lists = local.received().iter().filter(|r| r.method == "GET").count();
    assert_eq!(
        lists, 1,
        "only the gateway asked the server; the command asked the gateway"
    );
}
