//! Cost: every call priced at its served model's price from the built-in
//! table (cached and cache-write tokens at their own rates), `[prices]`
//! over it, unknown models unpriced, and the cost everywhere tokens are:
//! the admin API's records and usage, `/metrics`, `logs` (JSON and CSV)
//! and `usage`.

use crate::common;

use std::time::{Duration, Instant};

use common::command::{run, stdout};
use common::{Mock, MockReply, Recorded, TestAccount, TestGateway, client};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;
use switchyard::pricing::{Prices, Tokens};

/// An OpenAI answer for `model` with these counts.
fn openai_answer(model: &str, prompt: u64, completion: u64, cached: u64) -> MockReply {
    MockReply::json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                  "prompt_tokens_details": {"cached_tokens": cached}}
    }))
}

/// An Anthropic answer with cache reads and writes.
fn anthropic_answer(model: &str) -> MockReply {
    MockReply::json(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 100, "cache_creation_input_tokens": 1000, "cache_read_input_tokens": 2000,
                  "output_tokens": 50}
    }))
}

async fn chat(gw: &TestGateway, model: &str) {
    let response = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[tokio::test]
async fn calls_are_priced_at_the_table_and_unknown_models_are_unpriced() {
    let openai = Mock::start(|request: &Recorded| {
        let model = request.json()["model"].as_str().unwrap_or_default().to_string();
        openai_answer(&model, 1000, 200, 400)
    })
    .await;
    let anthropic =
        Mock::start(|request: &Recorded| anthropic_answer(request.json()["model"].as_str().unwrap_or_default())).await;
    let gw = TestGateway::start(
        vec![
            TestAccount::new(ProviderKind::Openai, openai.url())
                .label("work")
                .models(&["gpt-*", "house-*", "local-*"]),
            TestAccount::new(ProviderKind::Anthropic, anthropic.url())
                .label("claude")
                .models(&["claude-*"]),
        ],
        "[prices.\"house-model\"]\ninput = 1.0\noutput = 2.0\n",
    )
    .await;
    for model in ["gpt-4o", "local-llama", "house-model", "claude-sonnet-4-5-20250929"] {
        chat(&gw, model).await;
    }

    let deadline = Instant::now() + Duration::from_secs(5);
    let records = loop {
        let body = gw.admin_json("/api/logs?limit=10").await;
        let records = body["records"].as_array().unwrap().clone();
        if records.len() >= 4 || Instant::now() > deadline {
            break records;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let cost_of = |model: &str| -> Value {
        records
            .iter()
            .find(|r| r["served_model"] == model)
            .unwrap_or_else(|| panic!("no record of {model}: {records:?}"))["cost_usd"]
            .clone()
    };
    let prices = Prices::built_in();
    // gpt-4o: 600 uncached, 400 cached at the cached rate, 200 out.
    let gpt = prices.lookup("gpt-4o").expect("gpt-4o is in the table");
    let cached_rate = gpt.cached_input.expect("gpt-4o has a cached price");
    assert!(cached_rate < gpt.input, "the cached rate is a discount");
    let expected = (600.0 * gpt.input + 400.0 * cached_rate + 200.0 * gpt.output) / 1e6;
    assert!(
        close(cost_of("gpt-4o").as_f64().unwrap(), expected),
        "{:?}",
        cost_of("gpt-4o")
    );
    // A model no table knows: unpriced, never 0.
    assert_eq!(cost_of("local-llama"), Value::Null);
    // `[prices]` adds one: 1000 in at $1/M and 200 out at $2/M.
    assert!(close(cost_of("house-model").as_f64().unwrap(), (1000.0 + 400.0) / 1e6));
    // Claude by its dated name, at the undated model's prices: cache reads
    // and writes at their own rates.
    let claude = prices.lookup("claude-sonnet-4-5").unwrap();
    let expected_claude = prices
        .cost(
            "claude-sonnet-4-5-20250929",
            Tokens {
                input: 3100,
                cached: 2000,
                cache_write: 1000,
                output: 50,
            },
        )
        .unwrap();
    assert!(close(
        expected_claude,
        (100.0 * claude.input
            + 2000.0 * claude.cached_input.unwrap()
            + 1000.0 * claude.cache_write.unwrap()
            + 50.0 * claude.output)
            / 1e6
    ));
    let claude_record = records.iter().find(|r| r["account"] == "claude").unwrap();
    assert_eq!(claude_record["cache_write_tokens"], 1000, "{claude_record}");
    assert!(close(claude_record["cost_usd"].as_f64().unwrap(), expected_claude));

    // /metrics: switchyard_cost_usd_total by model and account.
    let text = gw.admin_get("/metrics").send().await.unwrap().text().await.unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let cost_metric = |model: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == "switchyard_cost_usd_total" && s.labels.get("model") == Some(model))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                ref other => panic!("{other:?}"),
            })
    };
    assert!(close(cost_metric("gpt-4o").unwrap(), expected), "{text}");
    assert_eq!(
        scrape
            .samples
            .iter()
            .find(|s| s.metric == "switchyard_cost_usd_total" && s.labels.get("model") == Some("gpt-4o"))
            .unwrap()
            .labels
            .get("account"),
        Some("work")
    );
    assert_eq!(cost_metric("local-llama"), None, "unpriced calls add no cost series");

    // The CLI reads the same from the log on disk, once the writer caught up.
    let home = gw.home.config_dir.clone();
    let deadline = Instant::now() + Duration::from_secs(5);
    let json_lines = loop {
        let text = stdout(&run(&home, &["logs", "--json"]));
        if text.lines().count() >= 4 || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The admin API's usage (from the log on disk): priced totals, unpriced calls counted apart.
    let usage = gw.admin_json("/api/usage?by=model").await;
    let row = |model: &str| {
        usage["usage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == model)
            .cloned()
            .unwrap_or_else(|| panic!("{usage}"))
    };
    assert!(close(row("gpt-4o")["cost_usd"].as_f64().unwrap(), expected));
    assert_eq!(
        (
            row("local-llama")["unpriced"].as_u64(),
            row("local-llama")["cost_usd"].as_f64()
        ),
        (Some(1), Some(0.0))
    );

    let logged: Vec<Value> = json_lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let csv = stdout(&run(&home, &["logs", "--csv"]));
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), logged.len());
    // The same calls in the same order, with the same costs and tokens.
    for (row, record) in rows.iter().zip(&logged) {
        assert_eq!(row[column("id")], record["id"].as_str().unwrap());
        assert_eq!(row[column("input_tokens")], record["input_tokens"].to_string());
        assert_eq!(
            row[column("cache_write_tokens")],
            record["cache_write_tokens"].to_string()
        );
        match record["cost_usd"].as_f64() {
            Some(cost) => assert_eq!(row[column("cost_usd")].parse::<f64>().unwrap(), cost),
            None => assert_eq!(row[column("cost_usd")], "", "unpriced is empty"),
        }
    }
    let text = stdout(&run(&home, &["logs"]));
    assert!(text.contains("unpriced") && text.contains('$'), "{text}");

    let usage: Value = serde_json::from_str(&stdout(&run(&home, &["usage", "--by", "account", "--json"]))).unwrap();
    let work = usage.as_array().unwrap().iter().find(|r| r["key"] == "work").unwrap();
    assert!(
        close(work["cost_usd"].as_f64().unwrap(), expected + 1400.0 / 1e6),
        "{usage}"
    );
    assert_eq!(work["unpriced"], 1);
    let table = stdout(&run(&home, &["usage"]));
    assert!(table.contains("COST") && table.contains("unpriced"), "{table}");
}

#[tokio::test]
async fn a_spent_budget_hands_the_accounts_calls_to_the_next_tier() {
    let first = Mock::start(|_: &Recorded| openai_answer("gpt-4o", 1000, 200, 0)).await;
    let backup = Mock::start(|_: &Recorded| openai_answer("gpt-4o", 1000, 200, 0)).await;
    let gw = TestGateway::start(
        vec![
            TestAccount::new(ProviderKind::Openai, first.url()).label("first"),
            TestAccount::new(ProviderKind::Openai, backup.url())
                .label("backup")
                .priority(1),
        ],
        // One gpt-4o call costs more than a hundredth of a cent.
        "[budgets.first]\nusd_per_day = 0.0001\n",
    )
    .await;
    chat(&gw, "gpt-4o").await;
    chat(&gw, "gpt-4o").await;
    assert_eq!((first.count(), backup.count()), (1, 1), "the backup tier took over");
    let api = gw.admin_json("/api/accounts").await;
    let account = &api["accounts"][0];
    assert_eq!(account["state"], "cooling", "{account}");
    let reason = account["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("over budget until ") && reason.contains(" 00:00 UTC (usd_per_day 0.0001 reached"),
        "{reason}"
    );
    assert!(account["over_budget"]["until_ms"].as_i64().unwrap() % 86_400_000 == 0);
}

#[tokio::test]
async fn gemini_thoughts_are_charged_once_at_the_output_rate() {
    let gemini = Mock::start(|_: &Recorded| {
        MockReply::json(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 1000, "candidatesTokenCount": 200, "thoughtsTokenCount": 300,
                              "totalTokenCount": 1500},
            "modelVersion": "gemini-2.5-flash"
        }))
    })
    .await;
    let gw = TestGateway::start(
        vec![TestAccount::new(ProviderKind::Gemini, gemini.url()).label("ge")],
        "",
    )
    .await;
    chat(&gw, "gemini-2.5-flash").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let record = loop {
        let body = gw.admin_json("/api/logs?limit=1").await;
        if let Some(record) = body["records"].as_array().and_then(|r| r.first()).cloned() {
            break record;
        }
        assert!(Instant::now() < deadline, "no record");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(record["output_tokens"], 500, "thoughts are output: {record}");
    let price = Prices::built_in().lookup("gemini-2.5-flash").unwrap();
    let expected = (1000.0 * price.input + 500.0 * price.output) / 1e6;
    assert!(close(record["cost_usd"].as_f64().unwrap(), expected), "{record}");
}
