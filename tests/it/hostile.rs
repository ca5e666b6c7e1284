//! Hostile input (issue 9), route by route: oversized bodies and headers,
//! deeply nested JSON, invalid UTF-8, huge numbers of messages, tool calls
//! and parts, a wrong JSON type in every field of every real request
//! fixture, unknown routes and methods. Each gets a clear 4xx in the
//! route's protocol (or, for what is merely big, an answer); nothing panics
//! and the gateway keeps serving.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::clients::{CLIENTS, Client};
use common::rig::{Rig, each_parallel};
use common::{client, sse_events};
use futures_util::StreamExt;
use serde_json::{Value, json};
use switchyard::protocol::Protocol;

/// Longest a hostile request may take to be answered (debug build).
const BOUND: Duration = Duration::from_secs(30);

/// A POST route of the gateway and the protocol its errors come in.
#[derive(Debug, Clone, Copy)]
struct Route {
    path: &'static str,
    protocol: Protocol,
    /// The body's wire format, for the fixtures.
    fixtures: &'static str,
}

const ROUTES: [Route; 8] = [
    Route {
        path: "/v1/chat/completions",
        protocol: Protocol::OpenAi,
        fixtures: "openai",
    },
    Route {
        path: "/v1/responses",
        protocol: Protocol::OpenAi,
        fixtures: "responses",
    },
    Route {
        path: "/v1/messages",
        protocol: Protocol::Anthropic,
        fixtures: "anthropic",
    },
    Route {
        path: "/v1/messages/count_tokens",
        protocol: Protocol::Anthropic,
        fixtures: "anthropic",
    },
    Route {
        path: "/v1beta/models/gpt-4.1:generateContent",
        protocol: Protocol::Gemini,
        fixtures: "gemini",
    },
    Route {
        path: "/v1beta/models/claude-sonnet-4-5:streamGenerateContent?alt=sse",
        protocol: Protocol::Gemini,
        fixtures: "gemini",
    },
    Route {
        path: "/v1beta/models/gemini-2.5-flash:countTokens",
        protocol: Protocol::Gemini,
        fixtures: "gemini",
    },
    Route {
        path: "/v1/models/claude-sonnet-4-5:generateContent",
        protocol: Protocol::Gemini,
        fixtures: "gemini",
    },
];

/// A rig whose gateway takes bodies up to 1 MiB (so that oversized ones
/// stay cheap to send).
async fn rig() -> Arc<Rig> {
    Arc::new(Rig::with_config("[proxy]\nmax_body_mib = 1\n").await)
}

/// The error message of `body` if it is an error in `protocol`'s shape
/// with `status`; panics otherwise.
fn error_in(protocol: Protocol, status: u16, body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("error body is not JSON ({e}): {body}"));
    let message = match protocol {
        Protocol::OpenAi => {
            assert!(
                value["error"]["type"].is_string() && value["error"].get("code").is_some(),
                "{body}"
            );
            &value["error"]["message"]
        }
        Protocol::Anthropic => {
            assert_eq!(value["type"], "error", "{body}");
            assert!(value["error"]["type"].is_string(), "{body}");
            &value["error"]["message"]
        }
        Protocol::Gemini => {
            assert_eq!(value["error"]["code"], status, "{body}");
            assert!(value["error"]["status"].is_string(), "{body}");
            &value["error"]["message"]
        }
    };
    message
        .as_str()
        .unwrap_or_else(|| panic!("no message: {body}"))
        .to_string()
}

/// Posts `body` to `route` with the headers its SDK sends.
fn post(base: &str, route: &Route, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    let request = common::post(base, route.path).header("content-type", "application/json");
    match route.protocol {
        Protocol::Anthropic => request.header("anthropic-version", "2023-06-01"),
        _ => request,
    }
    .body(body)
}

/// Sends and expects a 4xx error in the route's protocol whose message
/// contains `needle`.
async fn expect_4xx(request: reqwest::RequestBuilder, route: &Route, status: u16, needle: &str) {
    let response = tokio::time::timeout(BOUND, request.send())
        .await
        .expect("answered in time")
        .expect("answered at all");
    let got = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(got, status, "{} → {body}", route.path);
    let message = error_in(route.protocol, got, &body);
    assert!(
        message.contains(needle),
        "{} → {message:?} lacks {needle:?}",
        route.path
    );
}

async fn healthy(rig: &Rig) {
    let response = client().get(format!("{}/healthz", rig.base())).send().await.unwrap();
    assert_eq!(response.status(), 200, "the gateway still serves");
}

#[tokio::test]
async fn oversized_bodies_get_a_413_on_every_route() {
    let rig = rig().await;
    let big = vec![b' '; 2 * 1024 * 1024];
    for route in &ROUTES {
        expect_4xx(post(&rig.base(), route, big.clone()), route, 413, "1 MiB").await;
        // Without a Content-Length: the limit holds while reading.
        let chunks = futures_util::stream::iter(
            (0..64).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 64 * 1024]))),
        );
        expect_4xx(
            post(&rig.base(), route, reqwest::Body::wrap_stream(chunks)),
            route,
            413,
            "max_body_mib",
        )
        .await;
    }
    healthy(&rig).await;
    for provider in common::upstreams::UPSTREAMS {
        assert_eq!(rig.mock(provider).count(), 0);
    }
}

/// Headers beyond what the HTTP layer accepts are refused before routing
/// (hyper answers 431); big but acceptable ones reach the route as usual.
#[tokio::test]
async fn oversized_and_countless_headers_are_refused() {
    let rig = rig().await;
    let route = &ROUTES[0];
    let body = json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}).to_string();

    let huge = "a".repeat(1024 * 1024);
    let response = post(&rig.base(), route, body.clone())
        .header("x-huge", huge)
        .send()
        .await;
    match response {
        Ok(response) => assert_eq!(response.status(), 431),
        // hyper may close the connection before the client finished sending.
        Err(err) => assert!(err.is_request() || err.is_body() || err.is_connect(), "{err}"),
    }

    let mut many = post(&rig.base(), route, body.clone());
    for n in 0..200 {
        many = many.header(format!("x-many-{n}"), "v");
    }
    let response = many.send().await.unwrap();
    assert_eq!(response.status(), 431);

    // A long key header is an ordinary wrong key, not a crash.
    let response = post(&rig.base(), route, body.clone())
        .header("x-api-key", "k".repeat(16 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "auth is off; the header is ignored");
    healthy(&rig).await;
}

/// Nesting beyond serde_json's recursion limit is a 400, never a stack
/// overflow, wherever it sits in the body.
#[tokio::test]
async fn deeply_nested_json_gets_a_400_on_every_route() {
    let rig = rig().await;
    let deep = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let objects = |depth: usize| format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    for route in &ROUTES {
        for nested in [deep(100_000), objects(100_000), deep(200)] {
            // The whole body, and a field the route reads.
            let field = match (route.protocol, route.fixtures) {
                (Protocol::Gemini, _) => format!(r#"{{"contents":[{{"role":"user","parts":{nested}}}]}}"#),
                (_, "responses") => format!(r#"{{"model":"gpt-4.1","input":{nested}}}"#),
                _ => format!(r#"{{"model":"gpt-4.1","messages":[{{"role":"user","content":{nested}}}]}}"#),
            };
            // And a field no decoder reads, which a relayed body would keep.
            let unread = format!(r#"{{"model":"gpt-4.1","unread":{nested},"contents":[],"messages":[],"input":"hi"}}"#);
            for body in [nested.clone(), field, unread] {
                expect_4xx(post(&rig.base(), route, body), route, 400, "invalid JSON body").await;
            }
        }
    }
    healthy(&rig).await;
}

/// Tool schemas nested just under the limit reach every upstream's
/// encoder (Gemini's schema cleanup recurses) without harm.
#[tokio::test]
async fn deep_tool_schemas_under_the_limit_are_translated() {
    let rig = rig().await;
    let mut schema = json!({"type": "string"});
    for _ in 0..60 {
        schema = json!({"type": "object", "properties": {"inner": schema}, "required": ["inner"]});
    }
    for model in ["gpt-4.1", "claude-sonnet-4-5", "gemini-2.5-flash"] {
        let body = json!({
            "model": model,
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "deep", "parameters": schema}}]
        });
        let response = post(&rig.base(), &ROUTES[0], body.to_string()).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(
            status == 200 || (400..500).contains(&status),
            "{model}: {status} {text}"
        );
        if status != 200 {
            error_in(Protocol::OpenAi, status, &text);
        }
    }
    healthy(&rig).await;
}

#[tokio::test]
async fn invalid_utf8_gets_a_400_on_every_route() {
    let rig = rig().await;
    for route in &ROUTES {
        let bodies: [&[u8]; 3] = [
            b"{\"model\": \"gpt-4.1\xff\xfe\", \"messages\": []}",
            b"{\"model\":\"gpt-4.1\",\"messages\":[{\"role\":\"user\",\"content\":\"caf\xc3\"}],\"contents\":[{\"parts\":[{\"text\":\"\xed\xa0\x80\"}]}]}",
            b"\xef\xbb\xbf\xff{}",
        ];
        for body in bodies {
            expect_4xx(post(&rig.base(), route, body.to_vec()), route, 400, "invalid JSON body").await;
        }
    }
    // Bytes that are not UTF-8 in headers and the path are tolerated too.
    let response = post(&rig.base(), &ROUTES[2], "{}")
        .header("x-api-key", http::HeaderValue::from_bytes(b"\xff\xfe").unwrap())
        .header("anthropic-beta", http::HeaderValue::from_bytes(b"caf\xe9").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = common::post(&rig.base(), "/v1beta/models/%FF%FE:generateContent")
        .body(r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert!((400..500).contains(&status), "{status} {body}");
    error_in(Protocol::Gemini, status, &body);
    healthy(&rig).await;
}

/// Bodies that are merely big — tens of thousands of messages, tool
/// calls, parts or tools, under the body limit — are answered (translated
/// or refused with a 4xx) in bounded time.
#[tokio::test]
async fn huge_numbers_of_messages_calls_and_parts_are_answered() {
    let rig = Arc::new(Rig::with_config("[proxy]\nmax_body_mib = 8\n").await);
    let n = 20_000;
    let messages: Vec<Value> = (0..n)
        .map(|i| json!({"role": if i % 2 == 0 { "user" } else { "assistant" }, "content": format!("m{i}")}))
        .collect();
    let calls: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("call_{i}"), "type": "function", "function": {"name": "f", "arguments": "{}"}}))
        .collect();
    let results: Vec<Value> = (0..n)
        .map(|i| json!({"role": "tool", "tool_call_id": format!("call_{i}"), "content": "ok"}))
        .collect();
    let parts: Vec<Value> = (0..n)
        .map(|i| json!({"type": "text", "text": format!("p{i}")}))
        .collect();
    let tools: Vec<Value> = (0..2_000)
        .map(|i| json!({"type": "function", "function": {"name": format!("tool_{i}"), "parameters": {"type": "object"}}}))
        .collect();
    let mut with_calls = vec![json!({"role": "user", "content": "go"})];
    with_calls.push(json!({"role": "assistant", "content": null, "tool_calls": calls}));
    with_calls.extend(results);
    let openai_bodies = [
        json!({"messages": messages}),
        json!({"messages": with_calls}),
        json!({"messages": [{"role": "user", "content": parts}]}),
        json!({"messages": [{"role": "user", "content": "hi"}], "tools": tools}),
    ];
    let gemini_parts: Vec<Value> = (0..n).map(|i| json!({"text": format!("p{i}")})).collect();
    let gemini_calls: Vec<Value> = (0..n)
        .map(|_| json!({"functionCall": {"name": "f", "args": {}}}))
        .collect();
    let mut cases = Vec::new();
    for model in ["gpt-4.1", "claude-sonnet-4-5", "gemini-2.5-flash"] {
        for (i, body) in openai_bodies.iter().enumerate() {
            let mut body = body.clone();
            body["model"] = json!(model);
            cases.push((format!("chat #{i} → {model}"), (Client::OpenAi, model, body)));
        }
        let gemini = [
            json!({"contents": [{"role": "user", "parts": gemini_parts}]}),
            json!({"contents": [{"role": "user", "parts": [{"text": "go"}]}, {"role": "model", "parts": gemini_calls}]}),
        ];
        for (i, body) in gemini.into_iter().enumerate() {
            cases.push((format!("gemini #{i} → {model}"), (CLIENTS[2], model, body)));
        }
    }
    each_parallel(3, cases, move |(caller, model, body)| {
        let rig = rig.clone();
        async move {
            let started = std::time::Instant::now();
            let response = tokio::time::timeout(
                BOUND,
                caller.request_raw(&rig.base(), model, false, body.to_string()).send(),
            )
            .await
            .expect("answered in time")
            .unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            assert!(status == 200 || (400..500).contains(&status), "{status}: {text:.300}");
            if status != 200 {
                caller.parse(status, "application/json".into(), text, false);
            }
            assert!(started.elapsed() < BOUND);
        }
    })
    .await;
}

// ---------------------------------------------------------------------------
// Wrong types, systematically
// ---------------------------------------------------------------------------

/// A value of each JSON type.
fn samples() -> [Value; 6] {
    [
        json!(null),
        json!(true),
        json!(-7.5),
        json!("text"),
        json!([1, "x"]),
        json!({"k": "v"}),
    ]
}

fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// Every JSON pointer in `value`.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                let path = format!("{at}/{escaped}");
                out.push(path.clone());
                pointers(child, path, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let path = format!("{at}/{i}");
                out.push(path.clone());
                pointers(child, path, out);
            }
        }
        _ => {}
    }
}

/// Each field of `fixture` replaced, in turn, by each value of another type.
fn mutations(fixture: &Value) -> Vec<(String, Value)> {
    let mut paths = Vec::new();
    pointers(fixture, String::new(), &mut paths);
    let mut out = Vec::new();
    for path in paths {
        let original = fixture.pointer(&path).unwrap();
        for sample in samples() {
            if same_type(original, &sample) {
                continue;
            }
            let mut mutated = fixture.clone();
            *mutated.pointer_mut(&path).unwrap() = sample.clone();
            out.push((format!("{path} = {sample}"), mutated));
        }
    }
    out
}

/// The request fixtures of a wire format: (file name, JSON).
fn fixtures(format: &str) -> Vec<(String, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format);
    let mut found: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("request_") && name.ends_with(".json")
        })
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let value = serde_json::from_str(&text).unwrap();
            (path.file_name().unwrap().to_string_lossy().into_owned(), value)
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!found.is_empty(), "no request fixtures in {}", dir.display());
    found
}

/// The decoders themselves, for every fixture of every format: each
/// mutation is decoded (a 400 or a request), and whatever decodes is
/// encoded for every upstream protocol. Nothing panics.
#[test]
fn every_wrong_type_in_every_fixture_is_decoded_or_refused() {
    let mut decoded = 0;
    let mut refused = 0;
    for format in ["openai", "anthropic", "gemini", "responses"] {
        for (name, fixture) in fixtures(format) {
            for (what, mutated) in mutations(&fixture) {
                let body = mutated.to_string();
                let result = match format {
                    "openai" => Protocol::OpenAi.decode_request(body.as_bytes()),
                    "anthropic" => Protocol::Anthropic.decode_request(body.as_bytes()),
                    "gemini" => Protocol::Gemini.decode_request(body.as_bytes()),
                    _ => switchyard::protocol::responses::decode_request(body.as_bytes()).map(|(r, _)| r),
                };
                match result {
                    Ok(request) => {
                        decoded += 1;
                        for wire in [Protocol::OpenAi, Protocol::Anthropic, Protocol::Gemini] {
                            let _ = wire.encode_request(&request, "m");
                        }
                        let _ = switchyard::protocol::responses::encode_request(&request, "m");
                    }
                    Err(err) => {
                        refused += 1;
                        assert_eq!(err.status, 400, "{format}/{name} {what}: {err:?}");
                        assert!(!err.message.is_empty());
                    }
                }
            }
        }
    }
    assert!(decoded > 100 && refused > 100, "decoded {decoded}, refused {refused}");
}

/// The same mutations through the gateway, on each route of the fixture's
/// protocol: a 200 (the mutation was tolerable) or a 4xx in the route's
/// protocol, never a 5xx or a dropped connection.
#[tokio::test]
async fn every_wrong_type_through_the_gateway_gets_an_answer_in_the_route_protocol() {
    let rig = rig().await;
    let mut cases = Vec::new();
    // The decoders see every fixture above; through HTTP, the richest one
    // per format (tools, calls and results) keeps the run short.
    for route in ROUTES.iter().filter(|r| !r.path.contains("stream")) {
        for (name, fixture) in fixtures(route.fixtures)
            .into_iter()
            .filter(|(name, _)| name == "request_tools.json")
        {
            for (what, mut mutated) in mutations(&fixture) {
                // Served by another provider than the route's, so that the
                // request is translated, not relayed.
                if mutated.get("model").is_some_and(Value::is_string) {
                    mutated["model"] = json!(match route.protocol {
                        Protocol::OpenAi => "claude-sonnet-4-5",
                        _ => "gpt-4.1",
                    });
                }
                cases.push((format!("{} {name} {what}", route.path), (*route, mutated)));
            }
        }
    }
    let total = cases.len();
    assert!(total > 500, "{total} mutations");
    let rig2 = rig.clone();
    let results: Vec<Result<u16, String>> =
        futures_util::stream::iter(cases.into_iter().map(|(label, (route, body))| {
            let rig = rig2.clone();
            async move {
                let response =
                    match tokio::time::timeout(BOUND, post(&rig.base(), &route, body.to_string()).send()).await {
                        Ok(Ok(response)) => response,
                        Ok(Err(err)) => return Err(format!("[{label}] no answer: {err}")),
                        Err(_) => return Err(format!("[{label}] no answer in {BOUND:?}")),
                    };
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                if status == 200 {
                    return Ok(status);
                }
                if !(400..500).contains(&status) {
                    return Err(format!("[{label}] HTTP {status}: {text:.300}"));
                }
                match std::panic::catch_unwind(|| error_in(route.protocol, status, &text)) {
                    Ok(_) => Ok(status),
                    Err(_) => Err(format!("[{label}] not an error in the route's protocol: {text:.300}")),
                }
            }
        }))
        .buffer_unordered(16)
        .collect()
        .await;
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {total} mutations failed:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let refused = results.iter().filter(|r| matches!(r, Ok(s) if *s != 200)).count();
    assert!(
        refused > 100,
        "only {refused} of {total} refused: the mutations do not bite"
    );
    healthy(&rig).await;
}

// ---------------------------------------------------------------------------
// Unknown routes and methods
// ---------------------------------------------------------------------------

#[tokio::test]
async fn unknown_methods_on_known_routes_get_a_405_in_the_route_protocol() {
    let rig = rig().await;
    for route in &ROUTES {
        for method in ["GET", "PUT", "DELETE", "PATCH", "TRACE", "FROBNICATE"] {
            let method = http::Method::from_bytes(method.as_bytes()).unwrap();
            let response = client()
                .request(method.clone(), format!("{}{}", rig.base(), route.path))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            assert_eq!(status, 405, "{method} {}", route.path);
            assert_eq!(response.headers()["allow"], "POST");
            let body = response.text().await.unwrap();
            let message = error_in(route.protocol, status, &body);
            assert!(message.contains("use POST"), "{message}");
        }
    }
    healthy(&rig).await;
}

#[tokio::test]
async fn unknown_routes_get_a_404_in_their_family_protocol() {
    let rig = rig().await;
    let cases = [
        ("/v1/chat/complete", Protocol::Anthropic),
        ("/v1/chat/completionz", Protocol::OpenAi),
        ("/v1/messagez", Protocol::OpenAi),
        ("/v1/messages/count", Protocol::Anthropic),
        ("/v1beta/models/gemini-2.5-flash:predictLongRunning", Protocol::Gemini),
        ("/v1beta/tunedModels", Protocol::Gemini),
        ("/v2/anything", Protocol::OpenAi),
        ("/%FF%00/..%2F..%2Fetc%2Fpasswd", Protocol::OpenAi),
        ("/v1/v1/chat/completions", Protocol::OpenAi),
    ];
    for (path, protocol) in cases {
        for method in ["GET", "POST", "PUT"] {
            let method = http::Method::from_bytes(method.as_bytes()).unwrap();
            let response = client()
                .request(method.clone(), format!("{}{path}", rig.base()))
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert!(status == 404 || status == 405, "{method} {path}: {status} {body}");
            if method == http::Method::POST && path.contains(':') {
                assert_eq!(
                    status, 404,
                    "a POST to an unknown Gemini method is not told to use POST: {body}"
                );
            }
            let message = error_in(protocol, status, &body);
            assert!(!message.is_empty());
        }
    }
    healthy(&rig).await;
}

/// Streams: a hostile body on the streaming route is refused before any
/// stream starts, as an HTTP error (not an SSE error event).
#[tokio::test]
async fn a_hostile_stream_request_is_refused_before_the_stream() {
    let rig = rig().await;
    let route = ROUTES.iter().find(|r| r.path.contains("stream")).unwrap();
    let response = post(&rig.base(), route, r#"{"contents": 5}"#).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body = response.text().await.unwrap();
    assert!(sse_events(&body).is_empty());
    error_in(Protocol::Gemini, 400, &body);
}
