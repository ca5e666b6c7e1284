//! The encoder's behaviour on hand-made event sequences, judged by what
//! openai-python accumulates from the bytes and what Codex takes from them.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::tests::{
    args, codex_options, decode_all, encode_all, encoder, events_of, kinds, signature, text, text_start, thinking,
    tool_start, usage,
};
use super::*;
use crate::protocol::ErrorKind;

use StreamEvent::{BlockStop, Finish};

/// What openai-python's `ResponseStreamState.accumulate_event` builds, with
/// the checks it makes on the way (the first event must be
/// `response.created`; deltas index into the items it has seen), and the
/// final Response that `get_final_response()` returns.
#[derive(Debug, Default)]
struct Accumulated {
    snapshot: Option<Value>,
    completed: Option<Value>,
}

fn accumulate(bytes: &str) -> Accumulated {
    let mut acc = Accumulated::default();
    for (kind, event) in events_of(bytes) {
        let Some(snapshot) = acc.snapshot.as_mut() else {
            assert_eq!(kind, "response.created", "the SDK requires response.created first");
            acc.snapshot = Some(event["response"].clone());
            continue;
        };
        let index = event["output_index"].as_u64().unwrap_or(0) as usize;
        match kind.as_str() {
            "response.output_item.added" => {
                let output = snapshot["output"].as_array_mut().expect("output");
                assert_eq!(index, output.len(), "items are added in output order");
                output.push(event["item"].clone());
            }
            "response.content_part.added" => {
                let item = &mut snapshot["output"][index];
                assert_eq!(item["id"], event["item_id"]);
                item["content"]
                    .as_array_mut()
                    .expect("message")
                    .push(event["part"].clone());
            }
            "response.output_text.delta" => {
                let item = &mut snapshot["output"][index];
                assert_eq!(item["id"], event["item_id"]);
                let part = &mut item["content"][event["content_index"].as_u64().expect("index") as usize];
                assert_eq!(part["type"], "output_text");
                let text = format!(
                    "{}{}",
                    part["text"].as_str().expect("text"),
                    event["delta"].as_str().expect("delta")
                );
                part["text"] = json!(text);
            }
            "response.function_call_arguments.delta" => {
                let item = &mut snapshot["output"][index];
                assert_eq!(item["id"], event["item_id"]);
                let arguments = format!(
                    "{}{}",
                    item["arguments"].as_str().expect("args"),
                    event["delta"].as_str().expect("delta")
                );
                item["arguments"] = json!(arguments);
            }
            "response.completed" => acc.completed = Some(event["response"].clone()),
            _ => {}
        }
    }
    acc
}

/// What Codex takes from a stream: every `output_item.done` item, and the
/// id and usage of `response.completed` (without which it fails the turn).
/// `Err` carries what Codex would report.
fn codex_view(bytes: &str) -> Result<(Vec<Value>, Value), String> {
    let mut items = Vec::new();
    let mut completed = None;
    for (kind, event) in events_of(bytes) {
        match kind.as_str() {
            "response.output_item.done" => items.push(event["item"].clone()),
            "response.completed" => completed = Some(event["response"].clone()),
            "response.failed" => return Err(format!("failed: {}", event["response"]["error"])),
            "response.incomplete" => {
                let reason = &event["response"]["incomplete_details"]["reason"];
                return Err(format!("Incomplete response returned, reason: {reason}"));
            }
            _ => {}
        }
    }
    let response = completed.ok_or("stream closed before response.completed")?;
    assert!(response["id"].is_string(), "Codex needs the response id");
    let usage = response["usage"].clone();
    if !usage.is_null() {
        for field in ["input_tokens", "output_tokens", "total_tokens"] {
            assert!(usage[field].is_u64(), "Codex parses usage.{field} as an integer");
        }
    }
    Ok((items, usage))
}

#[test]
fn text_mixed_with_a_tool_call_streams_in_order() {
    let events = [
        text_start(),
        text("Looking"),
        text(" now."),
        BlockStop,
        tool_start("call_1", "search"),
        args("{\"q\":"),
        args("\"rust\"}"),
        BlockStop,
        usage(40, 12, 8, 0),
        Finish(FinishReason::ToolCalls),
    ];
    let bytes = encode_all(&events, RequestOptions::default());
    assert_eq!(
        kinds(&bytes),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let events = events_of(&bytes);
    assert_eq!(
        events[9].1,
        json!({"type": "response.output_item.added", "sequence_number": 9, "output_index": 1,
            "item": {"id": "fc_sy7f3a9c2e_1", "type": "function_call", "status": "in_progress",
                "arguments": "", "call_id": "call_1", "name": "search"}})
    );
    assert_eq!(
        events[12].1,
        json!({"type": "response.function_call_arguments.done", "sequence_number": 12,
            "item_id": "fc_sy7f3a9c2e_1", "output_index": 1, "name": "search", "arguments": "{\"q\":\"rust\"}"})
    );
    let acc = accumulate(&bytes);
    let completed = acc.completed.expect("completed");
    // The SDK's running snapshot and the final Response agree.
    let snapshot = acc.snapshot.expect("snapshot");
    assert_eq!(snapshot["output"][0]["content"][0]["text"], "Looking now.");
    assert_eq!(snapshot["output"][1]["arguments"], "{\"q\":\"rust\"}");
    assert_eq!(completed["output"][0]["content"][0]["text"], "Looking now.");
    assert_eq!(completed["output"][1]["arguments"], "{\"q\":\"rust\"}");
    assert_eq!(completed["status"], "completed");
    assert_eq!(
        completed["usage"],
        json!({"input_tokens": 40, "input_tokens_details": {"cached_tokens": 8, "cache_write_tokens": 0},
            "output_tokens": 12, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 52})
    );
}

#[test]
fn two_tool_calls_reach_codex_with_namespaces_and_valid_arguments() {
    let events = [
        tool_start("call_a", "shell"),
        args("{\"command\":[\"ls\"]"),
        args("}"),
        BlockStop,
        // No id upstream (Gemini), and no arguments at all.
        tool_start("", "mcp__weather__get_forecast"),
        BlockStop,
        usage(10, 5, 0, 0),
    ];
    let bytes = encode_all(&events, codex_options());
    let (items, usage) = codex_view(&bytes).expect("Codex completes the turn");
    assert_eq!(
        items,
        vec![
            json!({"id": "fc_sy7f3a9c2e_0", "type": "function_call", "status": "completed",
                "arguments": "{\"command\":[\"ls\"]}", "call_id": "call_a", "name": "shell"}),
            json!({"id": "fc_sy7f3a9c2e_1", "type": "function_call", "status": "completed",
                "arguments": "{}", "call_id": "call_sy7f3a9c2e_1", "name": "get_forecast",
                "namespace": "mcp__weather__"}),
        ]
    );
    assert_eq!(usage["total_tokens"], 15);
    for item in &items {
        let arguments: Value = serde_json::from_str(item["arguments"].as_str().expect("text")).expect("JSON");
        assert!(arguments.is_object());
    }
    // The empty call still streamed its `{}`, so the SDK's snapshot has it too.
    let snapshot = accumulate(&bytes).snapshot.expect("snapshot");
    assert_eq!(snapshot["output"][1]["arguments"], "{}");
}

#[test]
fn a_stream_without_finish_reason_completes() {
    let bytes = encode_all(&[text_start(), text("Hi"), BlockStop], RequestOptions::default());
    let (items, usage) = codex_view(&bytes).expect("completes");
    assert_eq!(items.len(), 1);
    // No usage came from upstream, and none is invented.
    assert_eq!(usage, Value::Null);
    let last = events_of(&bytes).pop().expect("events");
    assert_eq!(last.0, "response.completed");
    assert_eq!(last.1["response"]["status"], "completed");
}

#[test]
fn an_open_block_is_closed_by_finish() {
    // Neither BlockStop nor Finish: finish() still closes the item.
    let bytes = encode_all(&[tool_start("c", "f"), args("{\"a\":1")], RequestOptions::default());
    let kinds = kinds(&bytes);
    assert_eq!(
        kinds[kinds.len() - 3..],
        [
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
}

#[test]
fn an_empty_stream_has_its_preamble_and_epilogue() {
    let bytes = encode_all(&[], RequestOptions::default());
    assert_eq!(
        kinds(&bytes),
        ["response.created", "response.in_progress", "response.completed"]
    );
    let completed = accumulate(&bytes).completed.expect("completed");
    assert_eq!(completed["output"], json!([]));
    assert_eq!(completed["id"], "resp_sy7f3a9c2e");
}

#[test]
fn an_error_mid_stream_is_the_last_event() {
    let mut encoder = encoder(RequestOptions::default());
    let mut out = BytesMut::new();
    for event in [
        text_start(),
        text("Done."),
        BlockStop,
        text_start(),
        text("Hal"),
        StreamEvent::Error(ApiError::new(ErrorKind::Overloaded, "upstream overloaded, retry later")),
        text("f"),
        BlockStop,
        Finish(FinishReason::Stop),
    ] {
        encoder.encode(&event, &mut out);
    }
    encoder.finish(&mut out);
    encoder.finish(&mut out);
    let bytes = String::from_utf8(out.to_vec()).expect("UTF-8");
    let events = events_of(&bytes);
    let (kind, last) = events.last().expect("events");
    assert_eq!(kind, "response.failed");
    assert_eq!(last["sequence_number"], 11);
    let response = &last["response"];
    assert_eq!(response["status"], "failed");
    assert_eq!(
        response["error"],
        json!({"code": "server_is_overloaded", "message": "upstream overloaded, retry later"})
    );
    // The finished message is listed; the interrupted one is not.
    assert_eq!(response["output"].as_array().map(Vec::len), Some(1));
    assert_eq!(response["output"][0]["content"][0]["text"], "Done.");
    assert!(codex_view(&bytes).expect_err("failed").contains("server_is_overloaded"));
    assert!(accumulate(&bytes).completed.is_none(), "nothing claims success");
}

#[test]
fn an_error_before_any_content_still_starts_the_stream() {
    let events = [StreamEvent::Error(ApiError::upstream(429, "slow down"))];
    let bytes = encode_all(&events, RequestOptions::default());
    assert_eq!(
        kinds(&bytes),
        ["response.created", "response.in_progress", "response.failed"]
    );
    assert!(codex_view(&bytes).expect_err("failed").contains("rate_limit_exceeded"));
}

#[test]
fn keep_alives_are_comments_anywhere() {
    let mut encoder = encoder(RequestOptions::default());
    let mut out = BytesMut::new();
    encoder.keep_alive(&mut out);
    assert_eq!(&out[..], b": keep-alive\n\n");
    encoder.encode(&text_start(), &mut out);
    encoder.keep_alive(&mut out);
    encoder.encode(&text("x"), &mut out);
    encoder.finish(&mut out);
    let bytes = String::from_utf8(out.to_vec()).expect("UTF-8");
    assert_eq!(bytes.matches(": keep-alive\n\n").count(), 2);
    // The second sits between the preamble and the first item, on a frame boundary.
    let second = bytes[1..].find(": keep-alive").expect("second") + 1;
    assert!(bytes[..second].ends_with("\n\n"));
    assert!(bytes[second..].starts_with(": keep-alive\n\nevent: response.output_item.added\n"));
    // Comments take no sequence numbers.
    assert_eq!(kinds(&bytes).len(), 9);
}

#[test]
fn length_and_content_filter_end_incomplete() {
    for (reason, name) in [
        (FinishReason::Length, "max_output_tokens"),
        (FinishReason::ContentFilter, "content_filter"),
    ] {
        let bytes = encode_all(
            &[text_start(), text("Once"), BlockStop, Finish(reason)],
            RequestOptions::default(),
        );
        let (kind, last) = events_of(&bytes).pop().expect("events");
        assert_eq!(kind, "response.incomplete");
        assert_eq!(last["response"]["incomplete_details"], json!({"reason": name}));
        assert_eq!(last["response"]["output"][0]["status"], "incomplete");
        assert_eq!(
            codex_view(&bytes).expect_err("Codex treats it as an error"),
            format!("Incomplete response returned, reason: \"{name}\"")
        );
    }
}

#[test]
fn signatures_ride_in_encrypted_content_only_when_asked_for() {
    let events = [
        StreamEvent::BlockStart(BlockKind::Reasoning),
        thinking("Plan."),
        signature("c2lnLQ=="),
        signature("cGFydDI="),
        BlockStop,
        StreamEvent::BlockStart(BlockKind::RedactedReasoning {
            data: "REFUQQ==".into(),
        }),
        BlockStop,
        // A signature with no readable text.
        StreamEvent::BlockStart(BlockKind::Reasoning),
        signature("bG9vc2U="),
        BlockStop,
        StreamEvent::BlockStart(BlockKind::ToolCall {
            id: "call_g".into(),
            name: "shell".into(),
            signature: Some("Z2VtaW5p".into()),
        }),
        args("{}"),
        BlockStop,
    ];
    let (items, _) = codex_view(&encode_all(&events, codex_options())).expect("completes");
    assert_eq!(
        items,
        vec![
            json!({"id": "rs_sy7f3a9c2e_0", "type": "reasoning",
                "summary": [{"type": "summary_text", "text": "Plan."}], "encrypted_content": "c2lnLQ==cGFydDI="}),
            json!({"id": "rs_sy7f3a9c2e_1", "type": "reasoning", "summary": [], "encrypted_content": "redacted:REFUQQ=="}),
            json!({"id": "rs_sy7f3a9c2e_2", "type": "reasoning", "summary": [], "encrypted_content": "bG9vc2U="}),
            json!({"id": "rs_sy7f3a9c2e_3", "type": "reasoning", "summary": [], "encrypted_content": "Z2VtaW5p"}),
            json!({"id": "fc_sy7f3a9c2e_4", "type": "function_call", "status": "completed",
                "arguments": "{}", "call_id": "call_g", "name": "shell"}),
        ]
    );
    // Without `include`, only readable reasoning reaches the client.
    let (items, _) = codex_view(&encode_all(&events, RequestOptions::default())).expect("completes");
    assert_eq!(
        items,
        vec![
            json!({"id": "rs_sy7f3a9c2e_0", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Plan."}]}),
            json!({"id": "fc_sy7f3a9c2e_1", "type": "function_call", "status": "completed",
                "arguments": "{}", "call_id": "call_g", "name": "shell"}),
        ]
    );
}

#[test]
fn a_signed_call_round_trips_as_a_signed_reasoning_before_it() {
    let events = vec![
        StreamEvent::BlockStart(BlockKind::ToolCall {
            id: "call_g".into(),
            name: "shell".into(),
            signature: Some("Z2VtaW5p".into()),
        }),
        args("{}"),
        BlockStop,
        Finish(FinishReason::ToolCalls),
    ];
    assert_eq!(
        decode_all(&encode_all(&events, codex_options())),
        vec![
            StreamEvent::BlockStart(BlockKind::Reasoning),
            signature("Z2VtaW5p"),
            BlockStop,
            tool_start("call_g", "shell"),
            args("{}"),
            BlockStop,
            Finish(FinishReason::ToolCalls),
        ]
    );
}

#[test]
fn empty_blocks_leave_no_items_and_stray_deltas_find_a_home() {
    let events = [
        // An empty text block and an empty reasoning block: nothing to show.
        text_start(),
        text(""),
        BlockStop,
        StreamEvent::BlockStart(BlockKind::Reasoning),
        BlockStop,
        // Arguments and a signature with no block to belong to are dropped.
        args("{\"lost\":true}"),
        signature("c2ln"),
        // Text with no block start opens a message.
        text("orphan"),
        // A signature on a text block has no field in a message.
        signature("dGV4dA=="),
        thinking("then thinking"),
        BlockStop,
        Finish(FinishReason::Stop),
    ];
    let (items, _) = codex_view(&encode_all(&events, codex_options())).expect("completes");
    assert_eq!(
        items,
        vec![
            json!({"id": "msg_sy7f3a9c2e_0", "type": "message", "status": "completed",
                "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": "orphan"}],
                "role": "assistant"}),
            json!({"id": "rs_sy7f3a9c2e_1", "type": "reasoning",
                "summary": [{"type": "summary_text", "text": "then thinking"}]}),
        ]
    );
}

#[test]
fn nothing_is_written_after_the_end() {
    let mut encoder = encoder(RequestOptions::default());
    let mut out = BytesMut::new();
    encoder.encode(&Finish(FinishReason::Length), &mut out);
    encoder.encode(&Finish(FinishReason::Stop), &mut out);
    encoder.finish(&mut out);
    let ended = out.len();
    encoder.finish(&mut out);
    encoder.encode(&text("late"), &mut out);
    encoder.encode(&StreamEvent::Error(ApiError::upstream(500, "late")), &mut out);
    assert_eq!(out.len(), ended);
    let bytes = String::from_utf8(out.to_vec()).expect("UTF-8");
    // The first finish reason wins.
    assert_eq!(kinds(&bytes).last().map(String::as_str), Some("response.incomplete"));
}

#[test]
fn usage_before_the_content_is_reported_at_the_end() {
    let bytes = encode_all(
        &[usage(7, 0, 0, 0), text_start(), text("a"), BlockStop, usage(7, 3, 2, 1)],
        RequestOptions::default(),
    );
    let events = events_of(&bytes);
    // The preamble never carries usage; the end carries the last snapshot.
    assert_eq!(events[0].1["response"]["usage"], Value::Null);
    let (_, usage) = codex_view(&bytes).expect("completes");
    assert_eq!(
        usage,
        json!({"input_tokens": 7, "input_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 0},
            "output_tokens": 3, "output_tokens_details": {"reasoning_tokens": 1}, "total_tokens": 10})
    );
}

#[test]
fn the_preamble_echoes_the_request() {
    let bytes = encode_all(&[], codex_options());
    let events = events_of(&bytes);
    let created = &events[0].1["response"];
    assert_eq!(created["status"], "in_progress");
    assert_eq!(created["store"], false);
    assert_eq!(created["parallel_tool_calls"], false);
    assert_eq!(created["reasoning"], json!({"effort": "medium", "summary": "auto"}));
    assert_eq!(created["tools"][0]["type"], "namespace");
    assert_eq!(created["completed_at"], Value::Null);
    assert_eq!(events[1].1["response"], *created);
}
