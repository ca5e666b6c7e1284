//! Embeddings (issue 20): OpenAI's `/v1/embeddings` and Gemini's
//! `:embedContent` / `:batchEmbedContents`, each served by a gemini and an
//! openai account of the mock upstream, whose vectors derive from the input
//! text (`mock_upstream::embed::vector`): every value and the order are
//! checked, floats and base64 alike. Batches over Gemini's limit, token-id
//! inputs, aliases, rotation, the catalogue's methods, the refusal for
//! account kinds that cannot embed, errors in the caller's shape and the
//! monitor record.

use base64::Engine;
use mock_upstream::embed::{DEFAULT_DIMENSIONS, tokens_text, vector};
use mock_upstream::{Options, Server};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;
use switchyard::keys::{KeyFile, Limits};

use crate::common::catalogs::fetched;
use crate::common::{Mock, MockReply, TestAccount, TestGateway, client, post};

/// The embedding model each account kind of the mock serves.
fn embedding_model(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Gemini => "gemini-embedding-001",
        _ => "text-embedding-3-small",
    }
}

fn account(kind: ProviderKind, server: &Server) -> TestAccount {
    let url = match kind {
        ProviderKind::Openai => format!("{}/v1", server.url()),
        _ => server.url(),
    };
    TestAccount::new(kind, url)
}

/// A gateway with one account of `kind` in front of a fresh mock.
async fn gateway(kind: ProviderKind, extra_config: &str) -> (Server, TestGateway) {
    let server = Server::start(Options::default()).await.unwrap();
    let gw = TestGateway::start(vec![account(kind, &server)], extra_config).await;
    (server, gw)
}

async fn send(gw: &TestGateway, path: &str, body: &Value) -> (u16, Value, Option<String>) {
    let response = post(&gw.base(), path).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    let served = response
        .headers()
        .get("x-switchyard-served-model")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, body, served)
}

/// The vectors of an OpenAI answer, in `data` order, after checking each
/// `index` is its position; base64 decoded as the OpenAI SDK does.
fn openai_vectors(body: &Value) -> Vec<Vec<f32>> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {body}"))
        .iter()
        .enumerate()
        .map(|(at, datum)| {
            assert_eq!(datum["index"], at, "{body}");
            assert_eq!(datum["object"], "embedding");
            match &datum["embedding"] {
                Value::String(text) => base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .unwrap()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                floats => serde_json::from_value(floats.clone()).unwrap(),
            }
        })
        .collect()
}

fn gemini_vectors(body: &Value) -> Vec<Vec<f32>> {
    let list = match body.get("embeddings") {
        Some(list) => list.as_array().unwrap().clone(),
        None => vec![body["embedding"].clone()],
    };
    list.iter()
        .map(|e| serde_json::from_value(e["values"].clone()).unwrap_or_else(|_| panic!("no values: {body}")))
        .collect()
}

const KINDS: [ProviderKind; 2] = [ProviderKind::Gemini, ProviderKind::Openai];

#[tokio::test]
async fn openai_clients_get_the_upstreams_vectors_in_order_as_floats_or_base64() {
    for kind in KINDS {
        let (_server, gw) = gateway(kind, "").await;
        let model = embedding_model(kind);
        let texts = ["first text", "second", "a third, longer text"];
        for (format, dimensions) in [("float", None), ("base64", Some(4)), ("float", Some(16))] {
            let mut body = json!({"model": model, "input": texts, "encoding_format": format});
            if let Some(dimensions) = dimensions {
                body["dimensions"] = json!(dimensions);
            }
            let (status, answer, served) = send(&gw, "/v1/embeddings", &body).await;
            assert_eq!(status, 200, "{kind:?} {answer}");
            assert_eq!(answer["object"], "list");
            assert_eq!(answer["model"], model);
            assert_eq!(served.as_deref(), Some(model));
            let size = dimensions.unwrap_or(DEFAULT_DIMENSIONS);
            let expected: Vec<Vec<f32>> = texts.iter().map(|t| vector(t, size)).collect();
            assert_eq!(openai_vectors(&answer), expected, "{kind:?} {format}");
            if format == "base64" {
                assert!(answer["data"][0]["embedding"].is_string());
            }
            assert!(answer["usage"]["prompt_tokens"].as_u64().unwrap() > 0, "{answer}");
        }
        // One string is one vector.
        let (status, answer, _) = send(&gw, "/v1/embeddings", &json!({"model": model, "input": "solo"})).await;
        assert_eq!(status, 200);
        assert_eq!(openai_vectors(&answer), vec![vector("solo", DEFAULT_DIMENSIONS)]);
    }
}

#[tokio::test]
async fn a_300_input_batch_reaches_gemini_in_calls_of_100_kept_in_order() {
    for kind in KINDS {
        let (server, gw) = gateway(kind, "").await;
        let texts: Vec<String> = (0..300).map(|i| format!("document number {i}")).collect();
        let body = json!({"model": embedding_model(kind), "input": texts, "encoding_format": "base64"});
        let (status, answer, _) = send(&gw, "/v1/embeddings", &body).await;
        assert_eq!(status, 200, "{answer}");
        let expected: Vec<Vec<f32>> = texts.iter().map(|t| vector(t, DEFAULT_DIMENSIONS)).collect();
        assert_eq!(openai_vectors(&answer), expected);
        // Gemini refuses more than 100 per batch: three calls. OpenAI takes all at once.
        let calls = if kind == ProviderKind::Gemini { 3 } else { 1 };
        assert_eq!(server.received(), calls, "{kind:?}");
    }
}

#[tokio::test]
async fn token_arrays_are_decoded_with_cl100k_for_gemini_and_passed_on_to_openai() {
    // "hello world" in cl100k_base (LangChain's OpenAIEmbeddings sends these).
    let tokens = [15339u64, 1917];
    for kind in KINDS {
        let (_server, gw) = gateway(kind, "").await;
        let body = json!({"model": embedding_model(kind), "input": [tokens, [15339]]});
        let (status, answer, _) = send(&gw, "/v1/embeddings", &body).await;
        assert_eq!(status, 200, "{answer}");
        let expected = match kind {
            ProviderKind::Gemini => vec![vector("hello world", 8), vector("hello", 8)],
            _ => vec![vector(&tokens_text(&tokens), 8), vector(&tokens_text(&[15339]), 8)],
        };
        assert_eq!(openai_vectors(&answer), expected, "{kind:?}");
    }
    // An id outside the vocabulary cannot be decoded for Gemini: a 400 in OpenAI's shape.
    let (_server, gw) = gateway(ProviderKind::Gemini, "").await;
    let body = json!({"model": "gemini-embedding-001", "input": [[4_000_000_000u64]]});
    let (status, answer, _) = send(&gw, "/v1/embeddings", &body).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"].as_str().unwrap().contains("cl100k_base"),
        "{answer}"
    );
}

#[tokio::test]
async fn gemini_clients_embed_one_content_or_a_batch_through_either_account_kind() {
    for kind in KINDS {
        let (_server, gw) = gateway(kind, "").await;
        let model = embedding_model(kind);
        for prefix in ["/v1beta", "/v1"] {
            let one = json!({"content": {"parts": [{"text": "one"}]}, "taskType": "RETRIEVAL_QUERY", "outputDimensionality": 4});
            let (status, answer, _) = send(&gw, &format!("{prefix}/models/{model}:embedContent"), &one).await;
            assert_eq!(status, 200, "{kind:?} {answer}");
            assert_eq!(gemini_vectors(&answer), vec![vector("one", 4)]);
            assert!(answer.get("embeddings").is_none());
            let batch = json!({"requests": [
                {"model": format!("models/{model}"), "content": {"parts": [{"text": "alpha"}]}, "taskType": "RETRIEVAL_DOCUMENT", "title": "A"},
                {"model": format!("models/{model}"), "content": {"parts": [{"text": "beta"}]}},
            ]});
            let (status, answer, _) = send(&gw, &format!("{prefix}/models/{model}:batchEmbedContents"), &batch).await;
            assert_eq!(status, 200, "{kind:?} {answer}");
            assert_eq!(gemini_vectors(&answer), vec![vector("alpha", 8), vector("beta", 8)]);
        }
    }
}

#[tokio::test]
async fn gemini_options_reach_a_gemini_upstream() {
    let upstream = Mock::start(|_| MockReply::json(json!({"embeddings": [{"values": [0.5, -0.25]}]}))).await;
    let gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Gemini, upstream.url())], "").await;
    let body = json!({"content": {"parts": [{"text": "doc"}]}, "taskType": "RETRIEVAL_DOCUMENT", "title": "T", "outputDimensionality": 2});
    let (status, answer, _) = send(&gw, "/v1beta/models/gemini-embedding-001:embedContent", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"embedding": {"values": [0.5, -0.25]}}));
    let sent = upstream.last();
    assert_eq!(sent.path, "/v1beta/models/gemini-embedding-001:batchEmbedContents");
    assert_eq!(
        sent.json(),
        json!({"requests": [{"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "doc"}]},
            "taskType": "RETRIEVAL_DOCUMENT", "title": "T", "outputDimensionality": 2}]})
    );
}

#[tokio::test]
async fn accounts_that_cannot_embed_are_named_in_a_400_in_the_callers_shape() {
    let server = Server::start(Options::default()).await.unwrap();
    let accounts = vec![
        account(ProviderKind::Anthropic, &server).models(&["claude-*"]),
        account(ProviderKind::Gemini, &server).models(&["gemini-*"]),
    ];
    let gw = TestGateway::start(accounts, "").await;
    let (status, answer, _) = send(
        &gw,
        "/v1/embeddings",
        &json!({"model": "claude-sonnet-4-5", "input": "x"}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("anthropic `anthropic`"), "{message}");
    assert!(message.contains("gemini and openai accounts"), "{message}");
    assert_eq!(answer["error"]["type"], "invalid_request_error");
    let body = json!({"content": {"parts": [{"text": "x"}]}});
    let (status, answer, _) = send(&gw, "/v1beta/models/claude-sonnet-4-5:embedContent", &body).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], 400);
    assert_eq!(answer["error"]["status"], "INVALID_ARGUMENT");
    // The anthropic account was never asked; the gemini one still embeds.
    assert_eq!(server.received(), 0);
    let (status, _, _) = send(
        &gw,
        "/v1/embeddings",
        &json!({"model": "gemini-embedding-001", "input": "x"}),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn bad_requests_and_upstream_refusals_come_back_in_the_callers_shape() {
    let (server, gw) = gateway(ProviderKind::Openai, "").await;
    for body in [
        json!({"model": "text-embedding-3-small", "input": []}),
        json!({"model": "text-embedding-3-small", "input": "x", "encoding_format": "int8"}),
        json!({"input": "x"}),
    ] {
        let (status, answer, _) = send(&gw, "/v1/embeddings", &body).await;
        assert_eq!(status, 400, "{body} {answer}");
        assert!(answer["error"]["message"].is_string(), "{answer}");
    }
    let (status, answer, _) = send(
        &gw,
        "/v1beta/models/text-embedding-3-small:batchEmbedContents",
        &json!({"requests": []}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["status"], "INVALID_ARGUMENT", "{answer}");
    assert_eq!(server.received(), 0, "nothing malformed went upstream");
    // A chat model cannot embed: the upstream's 404, in each caller's shape.
    let (status, answer, _) = send(&gw, "/v1/embeddings", &json!({"model": "gpt-4o-mini", "input": "x"})).await;
    assert_eq!(status, 404, "{answer}");
    assert!(
        answer["error"]["message"].as_str().unwrap().contains("does not exist"),
        "{answer}"
    );
    let body = json!({"content": {"parts": [{"text": "x"}]}});
    let (status, answer, _) = send(&gw, "/v1beta/models/gpt-4o-mini:embedContent", &body).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"]["code"], 404, "{answer}");
}

#[tokio::test]
async fn a_rate_limited_account_rotates_to_the_next() {
    let limited = Mock::start(|_| {
        MockReply::status(
            429,
            json!({"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}),
        )
    })
    .await;
    let server = Server::start(Options::default()).await.unwrap();
    let accounts = vec![
        TestAccount::new(ProviderKind::Gemini, limited.url()).label("limited"),
        account(ProviderKind::Openai, &server).label("spare").priority(1),
    ];
    let gw = TestGateway::start(
        accounts,
        "[models]\n\"gemini-embedding-001\" = \"text-embedding-3-small\"\n",
    )
    .await;
    let (status, answer, _) = send(
        &gw,
        "/v1/embeddings",
        &json!({"model": "text-embedding-3-small", "input": ["a", "b"]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(openai_vectors(&answer), vec![vector("a", 8), vector("b", 8)]);
    assert_eq!(limited.count(), 1);
    assert_eq!(server.received(), 1);
}

#[tokio::test]
async fn an_alias_maps_openais_default_name_and_the_log_records_the_call() {
    let config = "[models]\n\"text-embedding-3-small\" = \"gemini-embedding-001\"\n";
    let (_server, gw) = gateway(ProviderKind::Gemini, config).await;
    let (status, answer, served) = send(
        &gw,
        "/v1/embeddings",
        &json!({"model": "text-embedding-3-small", "input": ["hello world", "hi"]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["model"], "text-embedding-3-small");
    assert_eq!(served.as_deref(), Some("gemini-embedding-001"));
    // Gemini reports no tokens: the local estimate (o200k_base: 2 + 1).
    assert_eq!(answer["usage"]["prompt_tokens"], 3);
    let record = last_record(&gw).await;
    assert_eq!(record["model"], "text-embedding-3-small");
    assert_eq!(record["served_model"], "gemini-embedding-001");
    assert_eq!(record["account"], "gemini");
    assert_eq!(record["route"], "/v1/embeddings");
    assert_eq!(record["input_tokens"], 3);
    assert_eq!(record["estimated_tokens"], true);

    // An OpenAI upstream's own count is recorded as it is, not flagged.
    let (_server, gw) = gateway(ProviderKind::Openai, "").await;
    let (status, answer, _) = send(
        &gw,
        "/v1/embeddings",
        &json!({"model": "text-embedding-3-small", "input": "one two three four"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["usage"]["prompt_tokens"], 4);
    let record = last_record(&gw).await;
    assert_eq!(record["input_tokens"], 4);
    assert!(record.get("estimated_tokens").is_none(), "{record}");
}

/// The newest record of the monitor, once there is one.
async fn last_record(gw: &TestGateway) -> Value {
    records(gw, 1).await.remove(0)
}

#[tokio::test]
async fn the_catalogues_methods_send_chats_and_embeddings_to_the_accounts_that_list_them() {
    // Both accounts take every name; the openai one is the better tier. The
    // mock lists gemini-embedding-001 (embedContent) only on Gemini's list,
    // text-embedding-3-small only on OpenAI's.
    let server = Server::start(Options::default()).await.unwrap();
    let accounts = vec![
        account(ProviderKind::Openai, &server).models(&["*"]),
        account(ProviderKind::Gemini, &server).models(&["*"]).priority(1),
    ];
    let gw = TestGateway::start(accounts, "\n[catalog]\nfetch = true\nrefresh_mins = 60\n").await;
    fetched(&gw).await;
    let (status, answer, _) = send(
        &gw,
        "/v1/embeddings",
        &json!({"model": "gemini-embedding-001", "input": "x"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer, _) = send(
        &gw,
        "/v1/embeddings",
        &json!({"model": "text-embedding-3-small", "input": "x"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let accounts: Vec<String> = recent_accounts(&gw, 2).await;
    assert_eq!(accounts, ["openai", "gemini"], "newest first");
    // A chat goes by the chat models of the same lists.
    let chat = json!({"model": "gemini-2.5-pro", "messages": [{"role": "user", "content": "hi"}]});
    let response = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&chat)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(recent_accounts(&gw, 3).await[0], "gemini");
}

/// The accounts of the `n` newest records, newest first.
async fn recent_accounts(gw: &TestGateway, n: usize) -> Vec<String> {
    let records = records(gw, n).await;
    records
        .iter()
        .map(|r| r["account"].as_str().unwrap_or("-").to_string())
        .collect()
}

/// The `n` newest records of the monitor, newest first, once they exist.
async fn records(gw: &TestGateway, n: usize) -> Vec<Value> {
    for _ in 0..250 {
        let logs: Value = gw
            .admin_get(&format!("/api/logs?limit={n}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let records = logs["records"].as_array().cloned().unwrap_or_default();
        if records.len() >= n {
            return records;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("fewer than {n} calls were recorded");
}

#[tokio::test]
async fn a_client_key_may_embed_only_with_its_models_and_is_recorded() {
    let config = "[models]\n\"text-embedding-3-small\" = \"gemini-embedding-001\"\n";
    let (_server, gw) = gateway(ProviderKind::Gemini, config).await;
    let limits = Limits {
        models: vec!["gemini-embedding-*".into()],
        ..Limits::default()
    };
    let key = KeyFile::update(&gw.home, |file| file.add("indexer", limits)).unwrap();
    let reloaded = post(&gw.base(), "/api/keys/reload")
        .bearer_auth(gw.key())
        .send()
        .await
        .unwrap();
    assert_eq!(reloaded.status(), 200);
    let embed = |model: &str, path: &str| {
        let body = match path {
            "/v1/embeddings" => json!({"model": model, "input": "key text"}),
            _ => json!({"content": {"parts": [{"text": "key text"}]}}),
        };
        post(&gw.base(), path).bearer_auth(&key).json(&body).send()
    };
    // Its models are checked after the aliases, as for a chat.
    let response = embed("text-embedding-3-small", "/v1/embeddings").await.unwrap();
    assert_eq!(response.status(), 200);
    let record = last_record(&gw).await;
    assert_eq!(record["key"], "indexer");
    assert!(record["input_tokens"].as_u64().unwrap() > 0, "{record}");
    let response = embed("text-embedding-3-large", "/v1/embeddings").await.unwrap();
    assert_eq!(response.status(), 403);
    let answer: Value = response.json().await.unwrap();
    assert!(
        answer["error"]["message"].as_str().unwrap().contains("may not use"),
        "{answer}"
    );
    let response = embed("", "/v1beta/models/text-embedding-004:embedContent")
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["status"], "PERMISSION_DENIED", "{answer}");
}
