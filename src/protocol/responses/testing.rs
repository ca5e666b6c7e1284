//! Helpers shared by the codec's tests.

use crate::protocol::model::ResponseMeta;

/// A golden fixture from `tests/fixtures/responses/`, compiled in.
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/responses/", $name))
    };
}
pub(crate) use fixture;

/// The meta every test encodes with.
pub fn meta() -> ResponseMeta {
    ResponseMeta {
        id: "sy7f3a9c2e".to_owned(),
        model: "gpt-5-codex".to_owned(),
        created: 1_767_225_600,
    }
}

/// Splits an SSE transcript into (event, data) frames with the gateway's
/// own reader ([`crate::protocol::sse`]).
pub fn frames(transcript: &str) -> Vec<(Option<String>, String)> {
    crate::protocol::sse::events(transcript.as_bytes())
        .into_iter()
        .map(|fields| (fields.event, fields.data.unwrap_or_default()))
        .collect()
}

use serde_json::Value;

/// The JSON type a field must have.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Str,
    Int,
    Bool,
    Array,
    Object,
    /// Any JSON value, `null` included (the field must only be present).
    Any,
}

fn has_kind(value: &Value, kind: Kind) -> bool {
    match kind {
        Kind::Str => value.is_string(),
        Kind::Int => value.is_u64(),
        Kind::Bool => value.is_boolean(),
        Kind::Array => value.is_array(),
        Kind::Object => value.is_object(),
        Kind::Any => true,
    }
}

/// Asserts that `value` has every field in `fields`, of its kind.
pub fn assert_fields(what: &str, value: &Value, fields: &[(&str, Kind)]) {
    for (name, kind) in fields {
        let field = value
            .get(*name)
            .unwrap_or_else(|| panic!("{what} lacks required `{name}`: {value}"));
        assert!(has_kind(field, *kind), "{what}.{name} is not {kind:?}: {value}");
    }
}

/// The fields openai-python's pydantic models declare required (no
/// default), for every event the encoder writes.
pub fn event_fields(kind: &str) -> &'static [(&'static str, Kind)] {
    use Kind::*;
    match kind {
        "response.created"
        | "response.in_progress"
        | "response.completed"
        | "response.incomplete"
        | "response.failed" => &[("type", Str), ("sequence_number", Int), ("response", Object)],
        "response.output_item.added" | "response.output_item.done" => &[
            ("type", Str),
            ("sequence_number", Int),
            ("output_index", Int),
            ("item", Object),
        ],
        "response.content_part.added" | "response.content_part.done" => &[
            ("type", Str),
            ("sequence_number", Int),
            ("item_id", Str),
            ("output_index", Int),
            ("content_index", Int),
            ("part", Object),
        ],
        "response.output_text.delta" => &[
            ("type", Str),
            ("sequence_number", Int),
            ("item_id", Str),
            ("output_index", Int),
            ("content_index", Int),
            ("delta", Str),
            ("logprobs", Array),
        ],
        "response.output_text.done" => &[
            ("type", Str),
            ("sequence_number", Int),
            ("item_id", Str),
            ("output_index", Int),
            ("content_index", Int),
            ("text", Str),
            ("logprobs", Array),
        ],
        "response.function_call_arguments.delta" => &[
            ("type", Str),
            ("sequence_number", Int),
            ("item_id", Str),
            ("output_index", Int),
            ("delta", Str),
        ],
        "response.function_call_arguments.done" => &[
            ("type", Str),
            ("sequence_number", Int),
            ("item_id", Str),
            ("output_index", Int),
            ("name", Str),
            ("arguments", Str),
        ],
        "response.reasoning_summary_part.added" | "response.reasoning_summary_part.done" => &[
            ("type", Str),
            ("sequence_number", Int),
            ("item_id", Str),
            ("output_index", Int),
            ("summary_index", Int),
            ("part", Object),
        ],
        "response.reasoning_summary_text.delta" => &[
            ("type", Str),
            ("sequence_number", Int),
            ("item_id", Str),
            ("output_index", Int),
            ("summary_index", Int),
            ("delta", Str),
        ],
        "response.reasoning_summary_text.done" => &[
            ("type", Str),
            ("sequence_number", Int),
            ("item_id", Str),
            ("output_index", Int),
            ("summary_index", Int),
            ("text", Str),
        ],
        other => panic!("the encoder wrote an event type the SDK does not know: {other}"),
    }
}

/// Asserts the shape of a Response object and of everything in it, per
/// openai-python's `Response`, output item, usage and error models (plus
/// the `id` on the Response and `summary` on reasoning that Codex needs).
pub fn assert_response_shape(response: &Value) {
    use Kind::*;
    assert_fields(
        "Response",
        response,
        &[
            ("id", Str),
            ("object", Str),
            ("created_at", Int),
            ("model", Str),
            ("output", Array),
            ("parallel_tool_calls", Bool),
            ("tool_choice", Any),
            ("tools", Array),
            ("status", Str),
            ("error", Any),
            ("incomplete_details", Any),
            ("usage", Any),
        ],
    );
    assert_eq!(response["object"], "response");
    for item in response["output"].as_array().into_iter().flatten() {
        assert_item_shape(item);
    }
    if let Some(usage) = response.get("usage").filter(|u| !u.is_null()) {
        assert_fields(
            "usage",
            usage,
            &[
                ("input_tokens", Int),
                ("input_tokens_details", Object),
                ("output_tokens", Int),
                ("output_tokens_details", Object),
                ("total_tokens", Int),
            ],
        );
        assert_fields(
            "input_tokens_details",
            &usage["input_tokens_details"],
            &[("cached_tokens", Int), ("cache_write_tokens", Int)],
        );
        assert_fields(
            "output_tokens_details",
            &usage["output_tokens_details"],
            &[("reasoning_tokens", Int)],
        );
    }
    match response["status"].as_str() {
        Some("failed") => assert_fields("error", &response["error"], &[("code", Str), ("message", Str)]),
        Some("incomplete") => assert_fields(
            "incomplete_details",
            &response["incomplete_details"],
            &[("reason", Str)],
        ),
        Some("completed") | Some("in_progress") => {
            assert!(response["error"].is_null(), "{response}");
            assert!(response["incomplete_details"].is_null(), "{response}");
        }
        other => panic!("unknown status {other:?}"),
    }
}

/// Asserts the shape of one output item.
pub fn assert_item_shape(item: &Value) {
    use Kind::*;
    match item["type"].as_str() {
        Some("message") => {
            assert_fields(
                "message",
                item,
                &[
                    ("id", Str),
                    ("type", Str),
                    ("status", Str),
                    ("role", Str),
                    ("content", Array),
                ],
            );
            for part in item["content"].as_array().into_iter().flatten() {
                assert_fields(
                    "output_text",
                    part,
                    &[("type", Str), ("text", Str), ("annotations", Array)],
                );
            }
        }
        Some("reasoning") => {
            assert_fields("reasoning", item, &[("id", Str), ("type", Str), ("summary", Array)]);
            for part in item["summary"].as_array().into_iter().flatten() {
                assert_fields("summary_text", part, &[("type", Str), ("text", Str)]);
            }
        }
        Some("function_call") => assert_fields(
            "function_call",
            item,
            &[
                ("id", Str),
                ("type", Str),
                ("call_id", Str),
                ("name", Str),
                ("arguments", Str),
                ("status", Str),
            ],
        ),
        other => panic!("unexpected output item type {other:?}"),
    }
}
