//! Claude Code's request shapes through the gateway, to every upstream:
//! `POST /v1/messages?beta=true` with `anthropic-beta` flags, `system`-role
//! messages inside `messages`, `thinking: {"type": "adaptive"}` with
//! `output_config.effort`, `context_management`, and two dozen tools with
//! `cache_control` blocks. An Anthropic account gets the body relayed
//! untouched (but for the model); Gemini and OpenAI accounts get it
//! translated, with no Anthropic-only field left to earn a 400.
//!
//! `tests/fixtures/agents/claude_code_messages.json` is a real request,
//! captured from `claude -p` (the version is in its `client` field) by
//! `AGENTS_CAPTURE=tests/fixtures/agents bash tests/agents/run.sh`. Its key
//! is a placeholder.

use crate::common;

use common::conversation::{ANSWER, Canned, Finish};
use common::rig::{Rig, each, model_of};
use common::sse_events;
use common::upstreams::UPSTREAMS;
use serde_json::{Value, json};
use switchyard::config::ProviderKind;

/// The captured request: path (with its query), headers and body.
fn captured() -> Value {
    let text = include_str!("../fixtures/agents/claude_code_messages.json");
    serde_json::from_str(text).expect("the fixture is JSON")
}

/// Sends `body` to `path` with Claude Code's own headers (key, version,
/// beta flags, session id) as captured.
async fn send_as_claude_code(rig: &Rig, path: &str, headers: &Value, body: &Value) -> reqwest::Response {
    let mut request = common::post(&rig.base(), path).json(body);
    for (name, value) in headers.as_object().unwrap() {
        let lower = name.to_ascii_lowercase();
        // Transport headers belong to the captured connection, not this one.
        if [
            "host",
            "content-length",
            "connection",
            "accept-encoding",
            "content-type",
        ]
        .contains(&lower.as_str())
        {
            continue;
        }
        request = request.header(name.as_str(), value.as_str().unwrap());
    }
    request.send().await.unwrap()
}

/// The text of an Anthropic SSE answer, after checking its event order.
fn streamed_text(body: &str) -> String {
    let events = sse_events(body);
    let names: Vec<&str> = events.iter().filter_map(|(name, _)| name.as_deref()).collect();
    assert_eq!(names.first(), Some(&"message_start"), "{body}");
    assert_eq!(names.last(), Some(&"message_stop"), "{body}");
    events
        .iter()
        .filter_map(|(_, data)| serde_json::from_str::<Value>(data).ok())
        .filter(|event| event["delta"]["type"] == "text_delta")
        .map(|event| event["delta"]["text"].as_str().unwrap().to_string())
        .collect()
}

/// Every key anywhere in `value`, for "this field must not reach the upstream".
fn keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                out.push(key.clone());
                keys(value, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| keys(item, out)),
        _ => {}
    }
}

fn assert_no_anthropic_fields(received: &Value) {
    let mut found = Vec::new();
    keys(received, &mut found);
    for field in [
        "cache_control",
        "context_management",
        "output_config",
        "input_schema",
        "anthropic_beta",
    ] {
        assert!(
            !found.iter().any(|k| k == field),
            "`{field}` reached the upstream: {received}"
        );
    }
}

/// The texts of Gemini's `systemInstruction`, joined.
fn gemini_system(received: &Value) -> String {
    received["systemInstruction"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The texts of OpenAI `system`/`developer` messages, joined.
fn openai_system(received: &Value) -> String {
    received["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "system" || m["role"] == "developer")
        .map(|m| match &m["content"] {
            Value::String(text) => text.clone(),
            parts => parts
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn tool_names(provider: ProviderKind, received: &Value) -> Vec<String> {
    let tools = received["tools"].as_array().cloned().unwrap_or_default();
    let name = |value: &Value| value["name"].as_str().map(str::to_string);
    match provider {
        ProviderKind::Gemini => tools
            .iter()
            .flat_map(|t| t["functionDeclarations"].as_array().cloned().unwrap_or_default())
            .filter_map(|d| name(&d))
            .collect(),
        _ => tools.iter().filter_map(|t| name(&t["function"])).collect(),
    }
}

#[tokio::test]
async fn a_captured_claude_code_request_reaches_every_upstream() {
    let rig = Rig::start().await;
    let cases: Vec<(String, ProviderKind)> = UPSTREAMS
        .into_iter()
        .map(|p| (format!("claude code → {p}"), p))
        .collect();
    each(cases, |upstream| {
        let rig = rig.clone();
        async move {
            rig.answer(upstream, Canned::text(Finish::Stop));
            let fixture = captured();
            let path = fixture["path"].as_str().unwrap();
            assert_eq!(path, "/v1/messages?beta=true");
            let mut body = fixture["body"].clone();
            let sent_tools: Vec<String> = body["tools"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string())
                .collect();
            assert!(sent_tools.len() >= 20, "Claude Code declares two dozen tools");
            assert_eq!(body["thinking"]["type"], "adaptive");
            assert!(
                body["messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m["role"] == "system")
            );
            body["model"] = json!(model_of(upstream));

            let response = send_as_claude_code(&rig, path, &fixture["headers"], &body).await;
            let status = response.status();
            let text = response.text().await.unwrap();
            assert_eq!(status, 200, "{text}");
            assert_eq!(streamed_text(&text), ANSWER.concat());

            let recorded = rig.last(upstream);
            let received = recorded.json();
            match upstream {
                ProviderKind::Anthropic => {
                    assert_eq!(received, body, "relayed untouched but for the model");
                    let beta = fixture["headers"]["anthropic-beta"].as_str().unwrap();
                    assert_eq!(recorded.header("anthropic-beta"), Some(beta));
                    assert_eq!(recorded.header("anthropic-version"), Some("2023-06-01"));
                }
                ProviderKind::Gemini => {
                    assert_no_anthropic_fields(&received);
                    let system = gemini_system(&received);
                    assert!(system.contains("Claude agent"), "{system}");
                    assert!(
                        system.contains("Available agent types"),
                        "the system-role message is folded into the instructions: {system}"
                    );
                    let contents = received["contents"].as_array().unwrap();
                    assert!(contents.iter().all(|c| c["role"] == "user" || c["role"] == "model"));
                    assert!(received["contents"].to_string().contains("What is 2 + 2?"));
                    assert_eq!(tool_names(upstream, &received), sent_tools);
                    // Adaptive thinking at effort high.
                    assert_eq!(
                        received["generationConfig"]["thinkingConfig"],
                        json!({"includeThoughts": true, "thinkingBudget": 24576})
                    );
                    assert_eq!(received["generationConfig"]["maxOutputTokens"], body["max_tokens"]);
                }
                _ => {
                    assert_no_anthropic_fields(&received);
                    let system = openai_system(&received);
                    assert!(system.contains("Claude agent"), "{system}");
                    assert!(system.contains("Available agent types"), "{system}");
                    assert_eq!(tool_names(upstream, &received), sent_tools);
                    assert!(
                        received["tools"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .all(|t| t["type"] == "function")
                    );
                    assert_eq!(received["reasoning_effort"], "high");
                    assert_eq!(received["stream"], true);
                }
            }
        }
    })
    .await;
}

/// A synthetic request with every shape at once, non-streamed: 22 tools
/// each with `cache_control`, a system block with `cache_control`, a
/// `system`-role message between turns, adaptive thinking with an effort,
/// `context_management`, and the beta query and header.
fn stretched_request(model: &str) -> Value {
    let tools: Vec<Value> = (0..22)
        .map(|n| {
            json!({"name": format!("tool_{n:02}"), "description": format!("Tool number {n}"),
                "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"],
                    "additionalProperties": false, "$schema": "http://json-schema.org/draft-07/schema#"},
                "cache_control": {"type": "ephemeral"}})
        })
        .collect();
    json!({
        "model": model,
        "max_tokens": 16000,
        "system": [
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
            {"type": "text", "text": "Be concise."}
        ],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Read the README.", "cache_control": {"type": "ephemeral"}}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Reading it."}]},
            {"role": "system", "content": "The user switched to plan mode."},
            {"role": "user", "content": "Now summarize it."}
        ],
        "tools": tools,
        "tool_choice": {"type": "auto"},
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "medium"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "metadata": {"user_id": "{\"session_id\":\"s-1\"}"},
        "stream": false
    })
}

#[tokio::test]
async fn every_claude_code_shape_at_once_without_a_400() {
    let rig = Rig::start().await;
    let cases: Vec<(String, ProviderKind)> = UPSTREAMS.into_iter().map(|p| (format!("stretched → {p}"), p)).collect();
    each(cases, |upstream| {
        let rig = rig.clone();
        async move {
            rig.answer(upstream, Canned::text(Finish::Stop));
            let body = stretched_request(model_of(upstream));
            let headers = json!({"x-api-key": "sk-placeholder", "anthropic-version": "2023-06-01",
                "anthropic-beta": "claude-code-20250219,context-management-2025-06-27,mid-conversation-system-2026-04-07"});
            let response = send_as_claude_code(&rig, "/v1/messages?beta=true", &headers, &body).await;
            let status = response.status();
            let answer: Value = response.json().await.unwrap();
            assert_eq!(status, 200, "{answer}");
            assert_eq!(answer["content"][0]["text"], ANSWER.concat());

            let received = rig.last(upstream).json();
            let names: Vec<String> = (0..22).map(|n| format!("tool_{n:02}")).collect();
            match upstream {
                ProviderKind::Anthropic => assert_eq!(received, body),
                ProviderKind::Gemini => {
                    assert_no_anthropic_fields(&received);
                    assert_eq!(tool_names(upstream, &received), names);
                    let system = gemini_system(&received);
                    assert!(
                        system.contains("You are Claude Code.") && system.contains("plan mode"),
                        "{system}"
                    );
                    assert_eq!(received["generationConfig"]["thinkingConfig"]["thinkingBudget"], 8192);
                    let roles: Vec<&str> = received["contents"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c["role"].as_str().unwrap())
                        .collect();
                    assert_eq!(roles, ["user", "model", "user"]);
                }
                _ => {
                    assert_no_anthropic_fields(&received);
                    assert_eq!(tool_names(upstream, &received), names);
                    let roles: Vec<&str> = received["messages"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|m| m["role"].as_str().unwrap())
                        .collect();
                    // One system message per system block, then the mid-conversation
                    // system message where it was.
                    assert_eq!(
                        roles,
                        ["system", "system", "user", "assistant", "system", "user"],
                        "{received}"
                    );
                    assert_eq!(received["reasoning_effort"], "medium");
                }
            }
        }
    })
    .await;
}
