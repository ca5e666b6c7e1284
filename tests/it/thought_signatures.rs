//! Reasoning signatures across a multi-turn tool conversation: a Gemini
//! upstream signs its thought and its function call (`thoughtSignature`), a
//! client of another protocol sends the turn back exactly as it received it
//! (as Claude Code and Codex do), and the upstream must get both signatures
//! back, raw, on the next turn — or it rejects the conversation.
//!
//! Clients: Anthropic Messages (the signature rides in the thinking block;
//! the call's is restored from the gateway's cache), OpenAI Chat (no field
//! for either: the call's signature is restored from the cache), and the
//! Responses API with `include: ["reasoning.encrypted_content"]` (both ride
//! in reasoning items' `encrypted_content`). Each complete and streamed.

use crate::common;

use std::collections::BTreeMap;

use common::rig::each;
use common::{Mock, MockReply, Recorded, TestAccount, TestGateway, sse_events};
use serde_json::{Value, json};
use switchyard::config::ProviderKind;

/// What Gemini signs its thought with (base64, as real signatures are).
const THOUGHT_SIGNATURE: &str = "CiQBcsjafGx0aG91Z2h0LXNpZ25hdHVyZQ==";
/// What Gemini signs its function call with.
const CALL_SIGNATURE: &str = "CiUBcsjafGNhbGwtc2lnbmF0dXJlLTAx";
const THOUGHT: &str = "The user wants the weather; I should call get_weather.";
const MODEL: &str = "gemini-2.5-flash";

fn usage() -> Value {
    json!({"promptTokenCount": 30, "candidatesTokenCount": 12, "thoughtsTokenCount": 9, "totalTokenCount": 51})
}

/// Gemini's first answer: a signed thought, then a signed function call.
fn signed_call_parts() -> [Value; 2] {
    [
        json!({"text": THOUGHT, "thought": true, "thoughtSignature": THOUGHT_SIGNATURE}),
        json!({"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": CALL_SIGNATURE}),
    ]
}

fn candidate(parts: Vec<Value>, finish: bool) -> Value {
    let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
    if finish {
        candidate["finishReason"] = json!("STOP");
    }
    json!({"candidates": [candidate], "usageMetadata": usage(), "modelVersion": MODEL})
}

/// A Gemini upstream: a signed function call until it gets the function's
/// response, then text. Streams put the thought and the call in separate
/// chunks, as Gemini does.
fn gemini_upstream(request: &Recorded) -> MockReply {
    let body = request.json();
    let answered = body.to_string().contains("functionResponse");
    let streamed = request.path.ends_with(":streamGenerateContent");
    let chunks: Vec<Value> = match (answered, streamed) {
        (true, _) => vec![candidate(vec![json!({"text": "Sunny, 22 °C."})], true)],
        (false, false) => vec![candidate(signed_call_parts().to_vec(), true)],
        (false, true) => {
            let [thought, call] = signed_call_parts();
            vec![candidate(vec![thought], false), candidate(vec![call], true)]
        }
    };
    if streamed {
        MockReply::sse(chunks.into_iter().map(|c| format!("data: {c}\r\n\r\n")))
    } else {
        MockReply::json(chunks.into_iter().next().unwrap_or_default())
    }
}

async fn gateway() -> (TestGateway, Mock) {
    let mock = Mock::start(gemini_upstream).await;
    let gw = TestGateway::start(vec![TestAccount::new(ProviderKind::Gemini, mock.url())], "").await;
    (gw, mock)
}

async fn post(gw: &TestGateway, path: &str, body: &Value) -> String {
    let response = common::post(&gw.base(), path)
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{path}: {text}");
    text
}

/// The model turn of the last request Gemini received, and checks that
/// both signatures came back raw: on the thought and on the function call.
fn assert_signatures_returned(mock: &Mock, thought_too: bool) {
    let body = mock.last().json();
    let contents = body["contents"].as_array().unwrap();
    let model_turn = contents
        .iter()
        .find(|c| c["role"] == "model")
        .unwrap_or_else(|| panic!("no model turn in {body}"));
    let parts = model_turn["parts"].as_array().unwrap();
    let call = parts
        .iter()
        .find(|p| p.get("functionCall").is_some())
        .unwrap_or_else(|| panic!("no functionCall in {model_turn}"));
    assert_eq!(call["functionCall"]["name"], "get_weather");
    assert_eq!(
        call["thoughtSignature"], CALL_SIGNATURE,
        "the call's signature, raw: {model_turn}"
    );
    if thought_too {
        assert!(
            parts.iter().any(|p| p["thoughtSignature"] == THOUGHT_SIGNATURE),
            "the thought's signature, raw: {model_turn}"
        );
    }
    let last = contents.last().unwrap();
    assert!(
        last["parts"][0].get("functionResponse").is_some(),
        "the tool result follows: {last}"
    );
    // Nothing of the gateway's own wrapping leaks to Gemini.
    assert!(
        !body.to_string().contains("c3d5M"),
        "a tagged signature reached Gemini: {body}"
    );
}

fn weather_tool_anthropic() -> Value {
    json!({"name": "get_weather", "description": "Weather in a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}})
}

fn weather_tool_openai() -> Value {
    json!({"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}})
}

fn weather_tool_responses() -> Value {
    json!({"type": "function", "name": "get_weather", "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}})
}

/// The content blocks of an Anthropic answer, assembled from the stream
/// the way the SDK (and Claude Code) accumulates them.
fn anthropic_blocks(text: &str, stream: bool) -> Vec<Value> {
    if !stream {
        let message: Value = serde_json::from_str(text).unwrap();
        return message["content"].as_array().unwrap().clone();
    }
    let mut blocks: BTreeMap<u64, Value> = BTreeMap::new();
    let mut json_input: BTreeMap<u64, String> = BTreeMap::new();
    for (_, data) in sse_events(text) {
        let event: Value = serde_json::from_str(&data).unwrap();
        let index = event["index"].as_u64().unwrap_or(0);
        match event["type"].as_str().unwrap_or_default() {
            "content_block_start" => {
                blocks.insert(index, event["content_block"].clone());
            }
            "content_block_delta" => {
                let block = blocks.get_mut(&index).expect("a delta after its block's start");
                let delta = &event["delta"];
                match delta["type"].as_str().unwrap_or_default() {
                    "thinking_delta" => {
                        let so_far = block["thinking"].as_str().unwrap_or_default().to_string();
                        block["thinking"] = json!(so_far + delta["thinking"].as_str().unwrap());
                    }
                    "signature_delta" => block["signature"] = delta["signature"].clone(),
                    "text_delta" => {
                        let so_far = block["text"].as_str().unwrap_or_default().to_string();
                        block["text"] = json!(so_far + delta["text"].as_str().unwrap());
                    }
                    "input_json_delta" => json_input
                        .entry(index)
                        .or_default()
                        .push_str(delta["partial_json"].as_str().unwrap()),
                    other => panic!("unexpected delta {other}: {data}"),
                }
            }
            _ => {}
        }
    }
    for (index, input) in json_input {
        blocks.get_mut(&index).unwrap()["input"] = serde_json::from_str(&input).unwrap();
    }
    blocks.into_values().collect()
}

async fn anthropic_turns(stream: bool) {
    let (gw, mock) = gateway().await;
    let question = json!({"role": "user", "content": "Weather in Paris?"});
    let mut body = json!({"model": MODEL, "max_tokens": 4096, "stream": stream,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "tools": [weather_tool_anthropic()], "messages": [question]});
    let blocks = anthropic_blocks(&post(&gw, "/v1/messages", &body).await, stream);
    let thinking = blocks
        .iter()
        .find(|b| b["type"] == "thinking")
        .expect("a thinking block");
    assert_eq!(thinking["thinking"], THOUGHT);
    assert!(
        thinking["signature"].as_str().is_some_and(|s| !s.is_empty()),
        "{thinking}"
    );
    let call = blocks
        .iter()
        .find(|b| b["type"] == "tool_use")
        .expect("a tool_use block");
    assert_eq!(call["input"], json!({"city": "Paris"}));

    // The client sends back exactly the blocks it got, then the result.
    body["messages"] = json!([question, {"role": "assistant", "content": blocks},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "22 °C, sunny"}]}]);
    let answer = post(&gw, "/v1/messages", &body).await;
    assert!(answer.contains("Sunny"), "{answer}");
    assert_signatures_returned(&mock, true);
}

async fn openai_turns(stream: bool) {
    let (gw, mock) = gateway().await;
    let question = json!({"role": "user", "content": "Weather in Paris?"});
    let mut body = json!({"model": MODEL, "stream": stream, "reasoning_effort": "low",
        "tools": [weather_tool_openai()], "messages": [question]});
    let text = post(&gw, "/v1/chat/completions", &body).await;
    let calls: Vec<Value> = if stream {
        // Assemble the calls the way the SDK does: by index, arguments concatenated.
        let mut calls: BTreeMap<u64, Value> = BTreeMap::new();
        for (_, data) in sse_events(&text) {
            if data == "[DONE]" {
                continue;
            }
            let chunk: Value = serde_json::from_str(&data).unwrap();
            for delta in chunk["choices"][0]["delta"]["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let entry = calls.entry(delta["index"].as_u64().unwrap()).or_insert_with(
                    || json!({"id": "", "type": "function", "function": {"name": "", "arguments": ""}}),
                );
                if let Some(id) = delta["id"].as_str() {
                    entry["id"] = json!(id);
                }
                for field in ["name", "arguments"] {
                    if let Some(piece) = delta["function"][field].as_str() {
                        let so_far = entry["function"][field].as_str().unwrap().to_string();
                        entry["function"][field] = json!(so_far + piece);
                    }
                }
            }
        }
        calls.into_values().collect()
    } else {
        let value: Value = serde_json::from_str(&text).unwrap();
        value["choices"][0]["message"]["tool_calls"].as_array().unwrap().clone()
    };
    assert_eq!(calls.len(), 1, "{text}");
    let call_id = calls[0]["id"].as_str().unwrap().to_string();
    assert!(!call_id.is_empty());

    body["messages"] = json!([question, {"role": "assistant", "content": null, "tool_calls": calls},
        {"role": "tool", "tool_call_id": call_id, "content": "22 °C, sunny"}]);
    let answer = post(&gw, "/v1/chat/completions", &body).await;
    assert!(answer.contains("Sunny"), "{answer}");
    // Chat Completions has no field for reasoning: only the call's
    // signature, restored from the gateway's cache, can go back.
    assert_signatures_returned(&mock, false);
}

async fn responses_turns(stream: bool) {
    let (gw, mock) = gateway().await;
    let question = json!({"role": "user", "content": "Weather in Paris?"});
    let mut body = json!({"model": MODEL, "stream": stream, "store": false,
        "include": ["reasoning.encrypted_content"], "reasoning": {"effort": "low"},
        "tools": [weather_tool_responses()], "input": [question]});
    let text = post(&gw, "/v1/responses", &body).await;
    let output: Vec<Value> = if stream {
        sse_events(&text)
            .into_iter()
            .map(|(_, data)| serde_json::from_str::<Value>(&data).unwrap())
            .filter(|event| event["type"] == "response.output_item.done")
            .map(|event| event["item"].clone())
            .collect()
    } else {
        let value: Value = serde_json::from_str(&text).unwrap();
        value["output"].as_array().unwrap().clone()
    };
    let reasoning: Vec<&Value> = output.iter().filter(|i| i["type"] == "reasoning").collect();
    assert!(
        reasoning
            .iter()
            .all(|r| r["encrypted_content"].as_str().is_some_and(|e| !e.is_empty())),
        "every reasoning item carries encrypted_content: {output:?}"
    );
    let call = output
        .iter()
        .find(|i| i["type"] == "function_call")
        .expect("a function_call")
        .clone();

    // The client sends the output items back as they came (Codex with store: false).
    let mut input = vec![question];
    input.extend(output);
    input.push(json!({"type": "function_call_output", "call_id": call["call_id"], "output": "22 °C, sunny"}));
    body["input"] = json!(input);
    let answer = post(&gw, "/v1/responses", &body).await;
    assert!(answer.contains("Sunny"), "{answer}");
    assert_signatures_returned(&mock, true);
}

fn modes(name: &str) -> Vec<(String, bool)> {
    [false, true]
        .into_iter()
        .map(|stream| (format!("{name}{}", if stream { " (stream)" } else { "" }), stream))
        .collect()
}

#[tokio::test]
async fn an_anthropic_client_returns_geminis_signatures_raw() {
    each(modes("anthropic → gemini"), anthropic_turns).await;
}

#[tokio::test]
async fn an_openai_chat_client_gets_the_call_signature_restored() {
    each(modes("openai → gemini"), openai_turns).await;
}

#[tokio::test]
async fn a_responses_client_round_trips_encrypted_content() {
    each(modes("responses → gemini"), responses_turns).await;
}
