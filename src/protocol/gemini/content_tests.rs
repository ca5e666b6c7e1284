//! Part translation, call-id pairing and signature placement.

use super::*;
use pretty_assertions::assert_eq;

fn request_ids(n: usize) -> String {
    format!("call_{n}")
}

#[test]
fn call_ids_match_responses_by_id_then_by_name() {
    let make = request_ids;
    let mut ids = CallIds::new(&make);
    assert_eq!(ids.call(None, "a"), "call_0");
    assert_eq!(ids.call(Some("x"), "b"), "x");
    assert_eq!(ids.call(Some(""), "a"), "call_2");
    assert_eq!(ids.answer(Some("x"), Some("b")), "x");
    assert_eq!(ids.answer(None, Some("a")), "call_0");
    assert_eq!(ids.answer(None, Some("a")), "call_2");
    assert_eq!(ids.answer(None, Some("a")), "call_a");
    assert_eq!(ids.answer(None, Some("b")), "call_b", "x was answered by id already");
}

#[test]
fn signatures_on_text_and_media_become_empty_reasoning_and_come_back() {
    let wire: Vec<WirePart> = serde_json::from_value(json!([
        {"text": "thinking", "thought": true, "thoughtSignature": "s1"},
        {"text": "answer", "thoughtSignature": "s2"},
        {"inline_data": {"mime_type": "image/png", "data": "AA=="}, "thought_signature": "s3"},
        {"text": "", "thoughtSignature": "s4"},
        {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
        {"text": ""}
    ]))
    .unwrap();
    let make = request_ids;
    let parts = decode_parts(wire.clone(), &mut CallIds::new(&make));
    let signed = |s: &str| {
        Part::Reasoning(Reasoning {
            text: String::new(),
            signature: Some(s.into()),
            redacted: None,
        })
    };
    assert_eq!(
        parts,
        vec![
            Part::Reasoning(Reasoning {
                text: "thinking".into(),
                signature: Some("s1".into()),
                redacted: None
            }),
            signed("s2"),
            Part::Text("answer".into()),
            signed("s3"),
            Part::Image(Image::Base64 {
                media_type: "image/png".into(),
                data: "AA==".into()
            }),
            signed("s4"),
        ]
    );
    let back = encode_parts(&parts, Audience::Upstream, &HashMap::new());
    let back = serde_json::to_value(back).unwrap();
    assert_eq!(
        back,
        json!([
            {"text": "thinking", "thought": true, "thoughtSignature": "s1"},
            {"text": "answer", "thoughtSignature": "s2"},
            {"inlineData": {"mimeType": "image/png", "data": "AA=="}, "thoughtSignature": "s3"},
            {"text": "", "thought": true, "thoughtSignature": "s4"}
        ])
    );
}

#[test]
fn url_safe_signatures_return_to_the_standard_alphabet() {
    let wire: Vec<WirePart> = serde_json::from_value(json!([
        {"text": "a", "thoughtSignature": "Ej8KPQHR7Yp_c2ln-A=="},
        {"text": "b", "thoughtSignature": "Ej8KPQHR7Yp/c2ln+A=="},
        {"functionCall": {"name": "f"}, "thoughtSignature": "skip_thought_signature_validator"},
        {"functionCall": {"name": "f"}, "thoughtSignature": "not base64!_"}
    ]))
    .unwrap();
    let make = request_ids;
    let signatures: Vec<Option<String>> = decode_parts(wire, &mut CallIds::new(&make))
        .into_iter()
        .filter_map(|part| match part {
            Part::Reasoning(reasoning) => Some(reasoning.signature),
            Part::ToolCall(call) => Some(call.signature),
            _ => None,
        })
        .collect();
    assert_eq!(
        signatures,
        vec![
            Some("Ej8KPQHR7Yp/c2ln+A==".to_string()),
            Some("Ej8KPQHR7Yp/c2ln+A==".to_string()),
            Some("skip_thought_signature_validator".to_string()),
            Some("not base64!_".to_string()),
        ]
    );
}

#[test]
fn unsigned_reasoning_is_for_clients_only() {
    let parts = vec![
        Part::Reasoning(Reasoning {
            text: "hmm".into(),
            signature: None,
            redacted: None,
        }),
        Part::Reasoning(Reasoning {
            text: String::new(),
            signature: None,
            redacted: Some("enc".into()),
        }),
        Part::Text("hi".into()),
    ];
    let upstream = serde_json::to_value(encode_parts(&parts, Audience::Upstream, &HashMap::new())).unwrap();
    assert_eq!(upstream, json!([{"text": "hi"}]));
    let client = serde_json::to_value(encode_parts(&parts, Audience::Client, &HashMap::new())).unwrap();
    assert_eq!(client, json!([{"text": "hmm", "thought": true}, {"text": "hi"}]));
}

#[test]
fn arguments_object_never_fails() {
    assert_eq!(arguments_object(r#"{"a":1}"#, Audience::Upstream), json!({"a": 1}));
    assert_eq!(arguments_object("", Audience::Client), json!({}));
    assert_eq!(arguments_object("[1]", Audience::Upstream), json!({}));
    assert_eq!(arguments_object(r#"{"a":"#, Audience::Upstream), json!({}));
    assert_eq!(
        arguments_object(r#"{"a":"#, Audience::Client),
        json!({"_raw": "{\"a\":"})
    );
}

#[test]
fn images_by_url_guess_their_type_and_data_urls_go_inline() {
    let parts = vec![
        Part::Image(Image::Url("https://x.test/cat.PNG?size=2".into())),
        Part::Image(Image::Url("https://x.test/photo".into())),
        Part::Image(Image::Url("data:image/webp;base64,UklG".into())),
    ];
    let wire = serde_json::to_value(encode_parts(&parts, Audience::Upstream, &HashMap::new())).unwrap();
    assert_eq!(
        wire,
        json!([
            {"fileData": {"mimeType": "image/png", "fileUri": "https://x.test/cat.PNG?size=2"}},
            {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://x.test/photo"}},
            {"inlineData": {"mimeType": "image/webp", "data": "UklG"}}
        ])
    );
}

#[test]
fn tool_results_become_function_responses() {
    let mut names = HashMap::new();
    names.insert("c1".to_string(), "get_weather".to_string());
    let parts = vec![
        Part::ToolResult(ToolResult {
            call_id: "c1".into(),
            name: None,
            content: vec![
                Part::Text("sunny".into()),
                Part::Image(Image::Url("https://x.test/a.gif".into())),
            ],
            is_error: false,
        }),
        Part::ToolResult(ToolResult {
            call_id: "c2".into(),
            name: Some("read".into()),
            content: vec![Part::Text(r#"{"lines": 3}"#.into())],
            is_error: false,
        }),
        Part::ToolResult(ToolResult {
            call_id: "c3".into(),
            name: Some("rm".into()),
            content: vec![Part::Text("denied".into())],
            is_error: true,
        }),
    ];
    let wire = serde_json::to_value(encode_parts(&parts, Audience::Upstream, &names)).unwrap();
    assert_eq!(
        wire,
        json!([
            {"functionResponse": {"id": "c1", "name": "get_weather", "response": {"output": "sunny"}}},
            {"fileData": {"mimeType": "image/gif", "fileUri": "https://x.test/a.gif"}},
            {"functionResponse": {"id": "c2", "name": "read", "response": {"lines": 3}}},
            {"functionResponse": {"id": "c3", "name": "rm", "response": {"error": "denied"}}}
        ])
    );
}

#[test]
fn a_pending_signature_never_overwrites_a_call_of_its_own() {
    let parts = vec![
        Part::Reasoning(Reasoning {
            text: String::new(),
            signature: Some("loose".into()),
            redacted: None,
        }),
        Part::ToolCall(ToolCall {
            id: "a".into(),
            name: "f".into(),
            arguments: "{}".into(),
            signature: Some("own".into()),
        }),
        Part::Reasoning(Reasoning {
            text: String::new(),
            signature: Some("next".into()),
            redacted: None,
        }),
        Part::ToolCall(ToolCall {
            id: "b".into(),
            name: "g".into(),
            arguments: "{}".into(),
            signature: None,
        }),
    ];
    let wire = serde_json::to_value(encode_parts(&parts, Audience::Upstream, &HashMap::new())).unwrap();
    assert_eq!(
        wire,
        json!([
            {"text": "", "thought": true, "thoughtSignature": "loose"},
            {"functionCall": {"id": "a", "name": "f", "args": {}}, "thoughtSignature": "own"},
            {"functionCall": {"id": "b", "name": "g", "args": {}}, "thoughtSignature": "next"}
        ])
    );
}
