//! The OpenAI Responses API against every upstream provider, complete and
//! streamed: text, a tool round trip with `function_call_output`, a
//! `previous_response_id` chain, and Codex's request shape.

use crate::common;

use std::sync::Arc;

use common::clients::Client;
use common::conversation::{ANSWER, Canned, Finish, Item, Msg, Role, USAGE, weather_args};
use common::rig::{Rig, each, model_of};
use common::sse_events;
use common::upstreams::UPSTREAMS;
use serde_json::{Value, json};
use switchyard::config::ProviderKind;

/// What a Responses client got, complete or assembled from the stream.
#[derive(Debug)]
struct Got {
    id: String,
    status: String,
    output: Vec<Value>,
    usage: Value,
    /// The event types in order (streams only).
    events: Vec<String>,
}

impl Got {
    fn text(&self) -> String {
        self.output
            .iter()
            .filter(|item| item["type"] == "message")
            .flat_map(|item| item["content"].as_array().cloned().unwrap_or_default())
            .filter_map(|part| part["text"].as_str().map(str::to_string))
            .collect()
    }

    fn calls(&self) -> Vec<&Value> {
        self.output
            .iter()
            .filter(|item| item["type"] == "function_call")
            .collect()
    }
}

async fn create(rig: &Rig, body: Value) -> Got {
    let stream = body["stream"].as_bool().unwrap_or(false);
    let response = Client::Responses.request_json(&rig.base(), &body).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    if !stream {
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["object"], "response");
        return Got {
            id: value["id"].as_str().unwrap().to_string(),
            status: value["status"].as_str().unwrap().to_string(),
            output: value["output"].as_array().unwrap().clone(),
            usage: value["usage"].clone(),
            events: Vec::new(),
        };
    }
    let mut events = Vec::new();
    let mut last_sequence = -1i64;
    let mut done_items = Vec::new();
    let mut completed = None;
    for (name, data) in sse_events(&text) {
        let event: Value = serde_json::from_str(&data).unwrap_or_else(|e| panic!("{e}: {data}"));
        let kind = event["type"].as_str().unwrap().to_string();
        assert_eq!(name.as_deref(), Some(kind.as_str()), "the event line names the type");
        let sequence = event["sequence_number"].as_i64().expect("every event is numbered");
        assert_eq!(sequence, last_sequence + 1, "sequence numbers count up: {text}");
        last_sequence = sequence;
        if kind == "response.output_item.done" {
            done_items.push(event["item"].clone());
        }
        if kind == "response.completed" || kind == "response.incomplete" {
            completed = Some(event["response"].clone());
        }
        events.push(kind);
    }
    assert_eq!(events.first().map(String::as_str), Some("response.created"), "{text}");
    assert_eq!(
        events.get(1).map(String::as_str),
        Some("response.in_progress"),
        "{text}"
    );
    let completed = completed.unwrap_or_else(|| panic!("no response.completed: {text}"));
    assert_eq!(
        completed["output"].as_array().unwrap(),
        &done_items,
        "completed lists the items that were done"
    );
    Got {
        id: completed["id"].as_str().unwrap().to_string(),
        status: completed["status"].as_str().unwrap().to_string(),
        output: done_items,
        usage: completed["usage"].clone(),
        events,
    }
}

fn weather_tool() -> Value {
    json!({"type": "function", "name": "get_weather", "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}, "required": ["city"]}})
}

fn cases() -> Vec<(String, (ProviderKind, bool))> {
    UPSTREAMS
        .into_iter()
        .flat_map(|p| {
            [false, true].map(|stream| {
                (
                    format!("responses → {p}{}", if stream { " (stream)" } else { "" }),
                    (p, stream),
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn text_with_instructions_from_every_upstream() {
    let rig = Rig::start().await;
    each(cases(), |(upstream, stream)| {
        let rig = rig.clone();
        async move {
            rig.answer(upstream, Canned::text(Finish::Stop));
            let got = create(
                &rig,
                json!({"model": model_of(upstream), "instructions": "Answer in French.", "input": "Weather in Paris?", "stream": stream}),
            )
            .await;
            assert_eq!(got.text(), ANSWER.concat());
            assert_eq!(got.status, "completed");
            assert!(got.id.starts_with("resp_"));
            assert_eq!(got.usage["input_tokens"], USAGE.input);
            assert_eq!(got.usage["output_tokens"], USAGE.output);
            assert_eq!(got.usage["input_tokens_details"]["cached_tokens"], USAGE.cached);
            if stream {
                assert!(got.events.iter().any(|e| e == "response.output_text.delta"), "{:?}", got.events);
                assert!(got.events.contains(&"response.content_part.added".to_string()));
            }
            let received = rig.received(upstream);
            assert_eq!(received.system, vec!["Answer in French."]);
            assert_eq!(received.messages, vec![Msg::user("Weather in Paris?")]);
        }
    })
    .await;
}

#[tokio::test]
async fn a_tool_round_trip_with_function_call_output() {
    let rig = Rig::start().await;
    each(cases(), |(upstream, stream)| {
        let rig = rig.clone();
        async move {
            rig.answer(upstream, Canned::weather_call());
            let model = model_of(upstream);
            let first = create(
                &rig,
                json!({"model": model, "input": "Weather in Paris?", "tools": [weather_tool()], "stream": stream}),
            )
            .await;
            let calls = first.calls();
            assert_eq!(calls.len(), 1, "{:?}", first.output);
            let call = calls[0].clone();
            assert_eq!(call["name"], "get_weather");
            let arguments: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
            assert_eq!(arguments, weather_args());
            let call_id = call["call_id"].as_str().unwrap().to_string();
            if stream {
                assert!(
                    first
                        .events
                        .iter()
                        .any(|e| e == "response.function_call_arguments.delta")
                );
                assert!(
                    first
                        .events
                        .iter()
                        .any(|e| e == "response.function_call_arguments.done")
                );
            }

            rig.answer(upstream, Canned::text(Finish::Stop));
            let second = create(
                &rig,
                json!({"model": model, "tools": [weather_tool()], "stream": stream, "input": [
                    {"role": "user", "content": "Weather in Paris?"},
                    call,
                    {"type": "function_call_output", "call_id": call_id, "output": "{\"temp_c\": 22}"}
                ]}),
            )
            .await;
            assert_eq!(second.text(), ANSWER.concat());
            let received = rig.received(upstream);
            assert_eq!(received.messages.len(), 3, "{:?}", received.messages);
            assert!(matches!(&received.messages[1].items[0], Item::Call(c) if c.name == "get_weather"));
            match &received.messages[2].items[0] {
                Item::Result { output, .. } => assert_eq!(output["temp_c"], 22, "{output}"),
                other => panic!("expected the tool result, got {other:?}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn previous_response_id_continues_the_conversation() {
    let rig = Rig::start().await;
    each(cases(), |(upstream, stream)| {
        let rig = rig.clone();
        async move {
            rig.answer(upstream, Canned::text(Finish::Stop));
            let model = model_of(upstream);
            let first = create(
                &rig,
                json!({"model": model, "input": "Weather in Paris?", "stream": stream}),
            )
            .await;
            let second = create(
                &rig,
                json!({"model": model, "input": "And in Rome?", "previous_response_id": first.id, "stream": stream}),
            )
            .await;
            assert_ne!(second.id, first.id);
            let received = rig.received(upstream);
            assert_eq!(
                received.messages,
                vec![
                    Msg::user("Weather in Paris?"),
                    Msg::assistant(&ANSWER.concat()),
                    Msg::user("And in Rome?")
                ]
            );
            // The chain goes on from the second answer.
            create(
                &rig,
                json!({"model": model, "input": "Thanks", "previous_response_id": second.id, "stream": stream}),
            )
            .await;
            assert_eq!(rig.received(upstream).messages.len(), 5);
        }
    })
    .await;
}

#[tokio::test]
async fn an_unknown_previous_response_is_a_404_in_openai_shape() {
    let rig = Rig::start().await;
    let response = common::post(&rig.base(), "/v1/responses")
        .json(&json!({"model": "gpt-4.1", "input": "hi", "previous_response_id": "resp_nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("resp_nope"),
        "{body}"
    );
    // store: false answers are not kept.
    let got = create(&rig, json!({"model": "gpt-4.1", "input": "hi", "store": false})).await;
    let response = common::post(&rig.base(), "/v1/responses")
        .json(&json!({"model": "gpt-4.1", "input": "again", "previous_response_id": got.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

/// Codex's request shape: developer items instead of `instructions`,
/// `namespace` and `web_search` tools beside functions, `store: false`,
/// `include: ["reasoning.encrypted_content"]`, no `instructions`.
fn codex_request(model: &str) -> Value {
    json!({
        "model": model,
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex, a coding agent."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>cwd=/repo</environment_context>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "List the files."}]}
        ],
        "tools": [
            {"type": "function", "name": "shell", "description": "Runs a command", "strict": false,
             "parameters": {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}}}, "required": ["command"], "additionalProperties": false}},
            {"type": "namespace", "name": "mcp__files__", "description": "File tools", "tools": [
                {"type": "function", "name": "read", "description": "Reads a file", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}
            ]},
            {"type": "web_search"}
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": false,
        "stream": true,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "codex-session-1"
    })
}

#[tokio::test]
async fn codex_shaped_requests_reach_every_upstream_without_a_400() {
    let rig = Rig::start().await;
    each(
        UPSTREAMS
            .into_iter()
            .map(|p| (format!("codex → {p}"), p))
            .collect::<Vec<_>>(),
        |upstream| {
            let rig: Arc<Rig> = rig.clone();
            async move {
                rig.answer(upstream, Canned::text(Finish::Stop));
                let got = create(&rig, codex_request(model_of(upstream))).await;
                assert_eq!(got.text(), ANSWER.concat());
                let received = rig.received(upstream);
                assert_eq!(received.system, vec!["You are Codex, a coding agent."]);
                let names: Vec<&str> = received.tools.iter().map(|t| t.name.as_str()).collect();
                assert!(
                    names.contains(&"shell") && names.iter().any(|n| n.contains("read")),
                    "{names:?}"
                );
                assert_eq!(received.messages.first().map(|m| m.role), Some(Role::User));
                if upstream == ProviderKind::Gemini {
                    let tools = rig.last(upstream).json()["tools"].clone();
                    assert!(
                        tools.to_string().contains("googleSearch"),
                        "web_search maps to Gemini's search: {tools}"
                    );
                }
            }
        },
    )
    .await;
}

/// A real Codex turn, captured from `codex exec` (version in its `client`
/// field) by `AGENTS_CAPTURE=tests/fixtures/agents bash tests/agents/run.sh`:
/// developer items, `namespace` and `web_search` tools, `store: false`,
/// `include: ["reasoning.encrypted_content"]`, `client_metadata`.
#[tokio::test]
async fn a_captured_codex_request_reaches_every_upstream() {
    let fixture: Value =
        serde_json::from_str(include_str!("../fixtures/agents/codex_responses.json")).expect("the fixture is JSON");
    assert_eq!(fixture["path"], "/v1/responses");
    let rig = Rig::start().await;
    each(
        UPSTREAMS
            .into_iter()
            .map(|p| (format!("captured codex → {p}"), p))
            .collect::<Vec<_>>(),
        |upstream| {
            let rig: Arc<Rig> = rig.clone();
            let mut body = fixture["body"].clone();
            async move {
                rig.answer(upstream, Canned::text(Finish::Stop));
                assert_eq!(body["stream"], true);
                body["model"] = json!(model_of(upstream));
                let got = create(&rig, body.clone()).await;
                assert_eq!(got.text(), ANSWER.concat());
                assert_eq!(got.status, "completed");

                let received = rig.received(upstream);
                assert!(
                    received.system[0].starts_with("You are a coding agent running in the Codex CLI"),
                    "the first developer item is the system prompt: {:?}",
                    received.system.first()
                );
                let names: Vec<&str> = received.tools.iter().map(|t| t.name.as_str()).collect();
                assert!(names.contains(&"exec_command"), "{names:?}");
                assert!(
                    names.iter().any(|n| n.starts_with("multi_agent_v1__")),
                    "namespaced tools become plain functions: {names:?}"
                );
                let last = received.messages.last().unwrap();
                assert_eq!(last.role, Role::User);
                assert!(
                    format!("{:?}", last.items).contains("What is 2 + 2?"),
                    "{:?}",
                    last.items
                );
                let raw = rig.last(upstream).json();
                let text = raw.to_string();
                for leaked in ["client_metadata", "encrypted_content", "\"namespace\""] {
                    assert!(!text.contains(leaked), "{leaked} reached {upstream}: {text:.300}");
                }
                if upstream == ProviderKind::Gemini {
                    assert!(raw["tools"].to_string().contains("googleSearch"), "{}", raw["tools"]);
                }
            }
        },
    )
    .await;
}
