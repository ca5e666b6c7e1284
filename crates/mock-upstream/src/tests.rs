use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::ask::{ANTHROPIC_SIGNATURE, THOUGHT_SIGNATURE, requested_call, response_text};
use crate::reply::Reply;
use crate::respond::respond;
use crate::wire::{split_fragments, split_text};
use crate::{Options, parse_args};

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, value.parse().unwrap());
    }
    map
}

fn openai_headers() -> HeaderMap {
    headers(&[("authorization", "Bearer k")])
}

fn anthropic_headers() -> HeaderMap {
    headers(&[("x-api-key", "k"), ("anthropic-version", "2023-06-01")])
}

fn gemini_headers() -> HeaderMap {
    headers(&[("x-goog-api-key", "k")])
}

fn post(path: &str, query: &str, headers: &HeaderMap, body: Value) -> Reply {
    respond(
        &Method::POST,
        path,
        query,
        headers,
        body.to_string().as_bytes(),
        &keyed(),
    )
}

/// Options that accept only the key `k`.
fn keyed() -> Options {
    Options {
        api_key: Some("k".into()),
        ..Options::default()
    }
}

/// The events of an SSE body: each one's `event:` name and its `data:`
/// payload, parsed (`[DONE]` kept as a string). The crate's one SSE reader,
/// for its tests only.
fn sse(reply: &Reply) -> Vec<(Option<String>, Value)> {
    reply
        .text()
        .replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(|block| {
            let field = |name: &str| block.lines().find_map(|l| l.strip_prefix(name)).map(str::to_string);
            let data = field("data: ")?;
            let value = serde_json::from_str(&data).unwrap_or(Value::String(data));
            Some((field("event: "), value))
        })
        .collect()
}

/// The `data:` payloads of an SSE body, parsed.
fn sse_data(reply: &Reply) -> Vec<Value> {
    sse(reply).into_iter().map(|(_, data)| data).collect()
}

fn weather_tool_openai() -> Value {
    json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])
}

#[test]
fn options_parse_and_reject_nonsense() {
    let args = |list: &[&str]| parse_args(list.iter().map(|s| s.to_string()));
    assert_eq!(args(&[]).unwrap(), Options::default());
    let options = args(&[
        "--port",
        "0",
        "--latency-ms=5",
        "--chunk-delay-ms",
        "2",
        "--api-key",
        "x",
        "--stream-pieces",
        "12",
    ])
    .unwrap();
    assert_eq!(options.stream_pieces, 12);
    assert_eq!(options.latency, Duration::from_millis(5));
    assert_eq!(options.chunk_delay, Duration::from_millis(2));
    assert_eq!(options.api_key.as_deref(), Some("x"));
    assert!(args(&["--port", "70000"]).is_err());
    assert!(args(&["--port"]).is_err());
    assert!(args(&["--latency-ms", "soon"]).is_err());
    assert!(args(&["--verbose", "1"]).is_err());
    assert!(args(&["--stream-pieces", "0"]).is_err());
}

#[test]
fn options_go_back_to_the_command_line_they_came_from() {
    let options = Options {
        port: 7,
        latency: Duration::from_millis(5),
        chunk_delay: Duration::from_millis(2),
        api_key: Some("k".into()),
        no_tool_calls: true,
        stream_pieces: 12,
        quota_headers: true,
    };
    assert_eq!(parse_args(options.to_args()).unwrap(), options);
    assert_eq!(parse_args(Options::default().to_args()).unwrap(), Options::default());
}

#[test]
fn openai_text_echoes_the_last_user_message() {
    let body = json!({"model": "gpt-x", "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "hello "}, {"type": "text", "text": "there"}]}
    ]});
    let reply = post("/v1/chat/completions", "", &openai_headers(), body);
    assert_eq!(reply.status, StatusCode::OK);
    let value: Value = serde_json::from_str(&reply.text()).unwrap();
    assert_eq!(value["model"], "gpt-x");
    assert_eq!(
        value["choices"][0]["message"]["content"],
        "echo: hello there [mock openai gpt-x]"
    );
    assert_eq!(value["choices"][0]["finish_reason"], "stop");
    assert!(value["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(value["usage"]["completion_tokens"].as_u64().unwrap() > 0);
}

#[test]
fn openai_tools_get_a_call_then_the_result_comes_back() {
    let body = json!({"model": "gpt-x", "tools": weather_tool_openai(),
        "messages": [{"role": "user", "content": "Paris?"}]});
    let value: Value = serde_json::from_str(&post("/v1/chat/completions", "", &openai_headers(), body).text()).unwrap();
    let call = &value["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    let arguments: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments, json!({"city": "Paris?"}));
    assert_eq!(value["choices"][0]["finish_reason"], "tool_calls");

    let body = json!({"model": "gpt-x", "tools": weather_tool_openai(), "messages": [
        {"role": "user", "content": "Paris?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny, 21 C"}
    ]});
    let value: Value = serde_json::from_str(&post("/v1/chat/completions", "", &openai_headers(), body).text()).unwrap();
    assert_eq!(
        value["choices"][0]["message"]["content"],
        "tool result: sunny, 21 C · echo: Paris? [mock openai gpt-x]"
    );
}

#[test]
fn openai_stream_has_role_pieces_finish_usage_and_done() {
    let body = json!({"model": "gpt-x", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "one two three four five six"}]});
    let reply = post("/v1/chat/completions", "", &openai_headers(), body);
    assert_eq!(reply.content_type, "text/event-stream");
    let events = sse_data(&reply);
    assert_eq!(events.last().unwrap(), "[DONE]");
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "echo: one two three four five six [mock openai gpt-x]");
    assert!(events.len() >= 6, "{events:?}");
    let finish = &events[events.len() - 3];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert!(finish["usage"].is_null());
    let usage = &events[events.len() - 2];
    assert_eq!(usage["choices"], json!([]));
    assert!(usage["usage"]["total_tokens"].as_u64().unwrap() > 0);
}

#[test]
fn openai_stream_without_include_usage_has_no_usage() {
    let body = json!({"model": "gpt-x", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let events = sse_data(&post("/v1/chat/completions", "", &openai_headers(), body));
    assert!(events.iter().all(|e| e.get("usage").is_none()), "{events:?}");
}

#[test]
fn openai_stream_splits_tool_arguments() {
    let body = json!({"model": "gpt-x", "stream": true, "tools": weather_tool_openai(),
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}]});
    let events = sse_data(&post("/v1/chat/completions", "", &openai_headers(), body));
    let calls: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert!(calls.len() > 3, "arguments come in several fragments: {calls:?}");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let arguments: String = calls
        .iter()
        .filter_map(|c| c["function"]["arguments"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&arguments).unwrap(),
        json!({"city": "What is the weather in Paris?"})
    );
    assert_eq!(events[events.len() - 2]["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn anthropic_complete_and_tool_round_trip() {
    let tools = json!([{"name": "get_weather", "description": "d", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]);
    let body = json!({"model": "claude-x", "max_tokens": 100, "tools": tools,
        "messages": [{"role": "user", "content": "Paris?"}]});
    let value: Value = serde_json::from_str(&post("/v1/messages", "", &anthropic_headers(), body).text()).unwrap();
    assert_eq!(value["type"], "message");
    assert_eq!(value["stop_reason"], "tool_use");
    assert_eq!(value["content"][0]["type"], "tool_use");
    assert_eq!(value["content"][0]["input"], json!({"city": "Paris?"}));
    assert!(value["usage"]["output_tokens"].as_u64().unwrap() > 0);

    let body = json!({"model": "claude-x", "max_tokens": 100, "tools": tools, "messages": [
        {"role": "user", "content": "Paris?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "rainy"}]}]}
    ]});
    let value: Value = serde_json::from_str(&post("/v1/messages", "", &anthropic_headers(), body).text()).unwrap();
    assert_eq!(
        value["content"][0]["text"],
        "tool result: rainy · echo: Paris? [mock anthropic claude-x]"
    );
    assert_eq!(value["stop_reason"], "end_turn");
}

#[test]
fn anthropic_stream_follows_the_event_order() {
    let tools =
        json!([{"name": "lookup", "input_schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}]);
    let body = json!({"model": "claude-x", "max_tokens": 100, "stream": true, "tools": tools,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "find"}]}]});
    let reply = post("/v1/messages", "", &anthropic_headers(), body);
    let names: Vec<String> = sse(&reply).into_iter().filter_map(|(name, _)| name).collect();
    assert_eq!(names.first().unwrap(), "message_start");
    assert_eq!(names[1], "content_block_start");
    assert_eq!(
        &names[names.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    let events = sse_data(&reply);
    let json: String = events
        .iter()
        .filter_map(|e| e["delta"]["partial_json"].as_str())
        .collect();
    assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), json!({"n": 42}));
    let delta = &events[events.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert!(delta["usage"]["output_tokens"].as_u64().unwrap() > 0);
}

#[test]
fn anthropic_needs_its_headers_and_max_tokens() {
    let body = json!({"model": "m", "max_tokens": 5, "messages": []});
    let reply = post("/v1/messages", "", &gemini_headers(), body.clone());
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.text().contains("authentication_error"));
    let reply = post("/v1/messages", "", &headers(&[("x-api-key", "k")]), body);
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = post(
        "/v1/messages",
        "",
        &anthropic_headers(),
        json!({"model": "m", "messages": []}),
    );
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().contains("max_tokens"));
}

#[test]
fn gemini_routes_modes_and_function_calls() {
    let path = "/v1beta/models/gemini-x:streamGenerateContent";
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "alpha beta gamma delta"}]}]});
    let reply = post(path, "alt=sse", &gemini_headers(), body.clone());
    assert!(reply.text().contains("\r\n\r\n"));
    let events = sse_data(&reply);
    assert!(events.len() > 1);
    let text: String = events
        .iter()
        .filter_map(|e| e["candidates"][0]["content"]["parts"][0]["text"].as_str())
        .collect();
    assert_eq!(text, "echo: alpha beta gamma delta [mock gemini gemini-x]");
    let last = events.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["modelVersion"], "gemini-x");
    assert!(last["usageMetadata"]["candidatesTokenCount"].as_u64().unwrap() > 0);

    let array: Value = serde_json::from_str(&post(path, "", &gemini_headers(), body).text()).unwrap();
    assert_eq!(array.as_array().unwrap().len(), events.len());

    let body = json!({"contents": [{"parts": [{"text": "Oslo"}]}],
        "tools": [{"functionDeclarations": [{"name": "weather", "parameters": {"type": "OBJECT", "properties": {"place": {"type": "STRING"}}}}]}]});
    let value: Value =
        serde_json::from_str(&post("/v1beta/models/gemini-x:generateContent", "", &gemini_headers(), body).text())
            .unwrap();
    assert_eq!(
        value["candidates"][0]["content"]["parts"][0]["functionCall"],
        json!({"name": "weather", "args": {"place": "Oslo"}})
    );
    assert_eq!(
        value["candidates"][0]["content"]["parts"][0]["thoughtSignature"],
        THOUGHT_SIGNATURE
    );
}

#[test]
fn gemini_refuses_a_function_call_without_its_signature() {
    let turn = |part: Value| {
        json!({"contents": [
            {"role": "user", "parts": [{"text": "Oslo"}]},
            {"role": "model", "parts": [{"text": "checking"}, part]},
            {"role": "user", "parts": [{"functionResponse": {"name": "weather", "response": {"result": "snow"}}}]}
        ]})
    };
    let path = "/v1beta/models/g:generateContent";
    for lost in [
        json!({"functionCall": {"name": "weather", "args": {}}}),
        json!({"functionCall": {"name": "weather", "args": {}}, "thoughtSignature": "skip_thought_signature_validator"}),
    ] {
        let reply = post(path, "", &gemini_headers(), turn(lost));
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reply.text().contains("missing a thought_signature"), "{}", reply.text());
    }
    let kept = json!({"function_call": {"name": "weather", "args": {}}, "thought_signature": THOUGHT_SIGNATURE});
    assert_eq!(post(path, "", &gemini_headers(), turn(kept)).status, StatusCode::OK);
}

#[test]
fn a_call_asked_for_in_the_text_is_made() {
    assert_eq!(
        requested_call(r#"Please [call Bash {"command": "echo [ok]"}] now"#),
        Some(("Bash".to_string(), r#"{"command":"echo [ok]"}"#.to_string()))
    );
    assert_eq!(requested_call("no call here"), None);
    assert_eq!(requested_call(r#"[call Bash "not an object"]"#), None);
    assert_eq!(requested_call(r#"[call Bash {"unclosed": 1}"#), None);

    let options = Options {
        no_tool_calls: true,
        ..keyed()
    };
    let body = json!({"model": "claude-x", "max_tokens": 100, "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": r#"run it [call Bash {"command": "echo hi"}]"#}]});
    let reply = respond(
        &Method::POST,
        "/v1/messages",
        "",
        &anthropic_headers(),
        body.to_string().as_bytes(),
        &options,
    );
    let value: Value = serde_json::from_str(&reply.text()).unwrap();
    assert_eq!(value["content"][0]["name"], "Bash");
    assert_eq!(value["content"][0]["input"], json!({"command": "echo hi"}));
}

#[test]
fn gemini_function_responses_are_echoed() {
    let body = json!({"contents": [
        {"role": "user", "parts": [{"text": "Oslo"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "weather", "args": {}}, "thoughtSignature": THOUGHT_SIGNATURE}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "weather", "response": {"result": "snow"}}}]}
    ], "tools": [{"function_declarations": [{"name": "weather"}]}]});
    let value: Value =
        serde_json::from_str(&post("/v1beta/models/g:generateContent", "", &gemini_headers(), body).text()).unwrap();
    assert_eq!(
        value["candidates"][0]["content"]["parts"][0]["text"],
        "tool result: snow · echo: Oslo [mock gemini g]"
    );
    assert_eq!(response_text(&json!({"a": 1, "b": 2})), r#"{"a":1,"b":2}"#);
}

#[test]
fn errors_come_in_the_provider_shape() {
    let reply = respond(
        &Method::POST,
        "/v1/chat/completions",
        "",
        &headers(&[("authorization", "Bearer wrong")]),
        b"{}",
        &keyed(),
    );
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.text().contains("invalid_api_key"));
    let reply = post("/v1beta/models/g:generateContent", "", &HeaderMap::new(), json!({}));
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.text().contains("PERMISSION_DENIED"));
    let reply = respond(
        &Method::POST,
        "/v1/chat/completions",
        "",
        &openai_headers(),
        b"{",
        &Options::default(),
    );
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = post("/v2/other", "", &openai_headers(), json!({}));
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = respond(
        &Method::GET,
        "/v1/messages",
        "",
        &anthropic_headers(),
        b"",
        &Options::default(),
    );
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[test]
fn counting_endpoints_answer_the_base_plus_the_words() {
    let body = json!({"model": "claude-x", "system": [{"type": "text", "text": "be brief"}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "one two three"}]}]});
    let reply = post("/v1/messages/count_tokens", "", &anthropic_headers(), body);
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), r#"{"input_tokens":1005}"#);
    let reply = post(
        "/v1/messages/count_tokens",
        "",
        &anthropic_headers(),
        json!({"messages": []}),
    );
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);

    let wrapped = json!({"generateContentRequest": {"model": "models/g",
        "contents": [{"role": "user", "parts": [{"text": "alpha beta"}]}]}});
    let reply = post("/v1beta/models/g:countTokens", "", &gemini_headers(), wrapped);
    let value: Value = serde_json::from_str(&reply.text()).unwrap();
    assert_eq!(value["totalTokens"], 1002);
    let bare = json!({"contents": [{"parts": [{"text": "alpha"}]}]});
    let value: Value =
        serde_json::from_str(&post("/v1beta/models/g:countTokens", "", &gemini_headers(), bare).text()).unwrap();
    assert_eq!(value["totalTokens"], 1001);
    let reply = post("/v1beta/models/g:countTokens", "", &HeaderMap::new(), json!({}));
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "counting needs the key too");
}

#[test]
fn no_tool_calls_answers_text_despite_tools() {
    let options = Options {
        no_tool_calls: true,
        ..keyed()
    };
    let body = json!({"model": "gpt-x", "tools": weather_tool_openai(),
        "messages": [{"role": "user", "content": "Paris?"}]});
    let reply = respond(
        &Method::POST,
        "/v1/chat/completions",
        "",
        &openai_headers(),
        body.to_string().as_bytes(),
        &options,
    );
    let value: Value = serde_json::from_str(&reply.text()).unwrap();
    assert_eq!(
        value["choices"][0]["message"]["content"],
        "echo: Paris? [mock openai gpt-x]"
    );
    assert_eq!(value["choices"][0]["finish_reason"], "stop");
    assert!(parse_args(["--no-tool-calls".to_string()]).unwrap().no_tool_calls);
}

#[test]
fn thinking_opens_the_answer_signed_and_must_come_back() {
    let tools =
        json!([{"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}]);
    let ask = json!({"model": "claude-x", "max_tokens": 100, "thinking": {"type": "adaptive"}, "tools": tools,
        "messages": [{"role": "user", "content": "find"}]});
    let value: Value =
        serde_json::from_str(&post("/v1/messages", "", &anthropic_headers(), ask.clone()).text()).unwrap();
    assert_eq!(value["content"][0]["type"], "thinking");
    assert_eq!(value["content"][0]["signature"], ANTHROPIC_SIGNATURE);
    assert_eq!(value["content"][1]["type"], "tool_use");

    let mut streamed = ask.clone();
    streamed["stream"] = json!(true);
    let events = sse_data(&post("/v1/messages", "", &anthropic_headers(), streamed));
    assert_eq!(events[1]["content_block"]["type"], "thinking");
    assert_eq!(events[3]["delta"]["signature"], ANTHROPIC_SIGNATURE);
    assert_eq!(events[5]["index"], 1, "the tool call is the second block: {events:?}");

    // The call goes back without its thinking, then with a forged one, then as given.
    let call = value["content"][1].clone();
    let result =
        json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "42"}]});
    let history = |assistant: Value| {
        let mut body = ask.clone();
        body["messages"] =
            json!([{"role": "user", "content": "find"}, {"role": "assistant", "content": assistant}, result]);
        post("/v1/messages", "", &anthropic_headers(), body)
    };
    let reply = history(json!([call]));
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().contains("Expected `thinking`"), "{}", reply.text());
    let forged = json!({"type": "thinking", "thinking": "x", "signature": "forged"});
    assert_eq!(history(json!([forged, call])).status, StatusCode::BAD_REQUEST);
    assert_eq!(history(value["content"].clone()).status, StatusCode::OK);
}

#[test]
fn gemini_thoughts_come_first_when_asked_for() {
    let body = json!({"contents": [{"parts": [{"text": "alpha beta"}]}],
        "generationConfig": {"thinkingConfig": {"includeThoughts": true}}});
    let value: Value =
        serde_json::from_str(&post("/v1beta/models/g:generateContent", "", &gemini_headers(), body.clone()).text())
            .unwrap();
    let parts = &value["candidates"][0]["content"]["parts"];
    assert_eq!(parts[0]["thought"], true);
    assert_eq!(parts[0]["thoughtSignature"], THOUGHT_SIGNATURE);
    assert_eq!(parts[1]["text"], "echo: alpha beta [mock gemini g]");
    let events = sse_data(&post(
        "/v1beta/models/g:streamGenerateContent",
        "alt=sse",
        &gemini_headers(),
        body,
    ));
    assert_eq!(events[0]["candidates"][0]["content"]["parts"][0]["thought"], true);
    assert!(events[1]["candidates"][0]["content"]["parts"][0]["text"].is_string());
}

#[test]
fn text_splits_at_spaces_and_keep_every_byte() {
    let text = "echo: ünïcödé words here and there";
    let pieces = split_text(text, 3);
    assert_eq!(pieces.len(), 3);
    assert_eq!(pieces.concat(), text);
    assert_eq!(split_text("", 3), vec![""]);
    assert_eq!(split_text("x", 3), vec!["x"]);
    let fragments = split_fragments(r#"{"city":"Zürich"}"#, 4);
    assert_eq!(fragments.concat(), r#"{"city":"Zürich"}"#);
}

#[tokio::test]
async fn streams_honour_the_chunk_delay() {
    let reply = Reply::stream("text/event-stream", vec!["a".into(), "b".into(), "c".into()]);
    let started = tokio::time::Instant::now();
    let body = reply.into_response(Duration::from_millis(20)).into_body();
    let bytes = body.collect().await.unwrap().to_bytes();
    assert_eq!(&bytes[..], b"abc");
    assert!(started.elapsed() >= Duration::from_millis(40));
}

/// One HTTP/1.1 exchange over a raw socket: the response as text.
async fn exchange(server: &crate::Server, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    socket.read_to_end(&mut response).await.unwrap();
    String::from_utf8(response).unwrap()
}

#[tokio::test]
async fn a_server_starts_in_process_on_a_free_port_and_counts_requests() {
    let server = crate::Server::start(Options::default()).await.unwrap();
    assert_ne!(server.addr().port(), 0);
    assert_eq!(server.url(), format!("http://{}", server.addr()));
    let health = exchange(&server, "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.ends_with(r#"{"status":"ok"}"#), "{health}");
    let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    let chat = exchange(
        &server,
        &format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer k\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(chat.contains("echo: hi [mock openai m]"), "{chat}");
    let count = exchange(
        &server,
        "GET /_mock/requests HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(count.ends_with(r#"{"requests":2}"#), "{count}");
    assert_eq!(server.received(), 2);
}

#[test]
fn quota_headers_go_by_provider_with_their_real_names() {
    let openai = crate::server::quota_headers("/v1/chat/completions");
    assert!(openai.iter().any(|(name, _)| *name == "x-ratelimit-remaining-tokens"));
    assert!(
        openai
            .iter()
            .any(|(name, value)| *name == "x-ratelimit-reset-tokens" && *value == "6m0s")
    );
    let anthropic = crate::server::quota_headers("/v1/messages");
    assert!(
        anthropic
            .iter()
            .all(|(name, _)| name.starts_with("anthropic-ratelimit-"))
    );
    assert!(crate::server::quota_headers("/v1beta/models/gemini-2.5-flash:generateContent").is_empty());
}
