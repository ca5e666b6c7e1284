//! Edits to the top-level members of a JSON object body, for the bodies the
//! gateway passes on rather than re-encodes (the model name on a relayed
//! request, the fields a token count accepts). Only the top level is parsed:
//! every nested value keeps its bytes, so whatever the gateway does not
//! understand reaches the upstream exactly as the client wrote it.

use indexmap::IndexMap;
use serde_json::Value;
use serde_json::value::RawValue;

/// One change to an object's top-level members.
#[derive(Debug, Clone, Copy)]
pub enum Edit<'a> {
    /// Sets a member: replaced where it stands, or appended when absent.
    Set(&'a str, &'a Value),
    /// Drops every member not named here.
    KeepOnly(&'a [&'a str]),
    /// Replaces a member where it stands; nothing when it is absent.
    Replace(&'a str, &'a Value),
}

/// `body` with `edits` applied in order; `None` when `body` is not a JSON
/// object. Whitespace between top-level members is not kept; of a member
/// written twice, the last value stands where the first was.
pub fn edit(body: &[u8], edits: &[Edit<'_>]) -> Option<Vec<u8>> {
    let mut object: IndexMap<String, Box<RawValue>> = serde_json::from_slice(body).ok()?;
    for edit in edits {
        match *edit {
            Edit::Set(name, value) => {
                object.insert(name.to_string(), serde_json::value::to_raw_value(value).ok()?);
            }
            Edit::KeepOnly(names) => object.retain(|name, _| names.contains(&name.as_str())),
            Edit::Replace(name, value) => {
                if let Some(member) = object.get_mut(name) {
                    *member = serde_json::value::to_raw_value(value).ok()?;
                }
            }
        }
    }
    serde_json::to_vec(&object).ok()
}

/// An upstream's answer (a whole body, or one stream event's data) with the
/// model it names replaced by `model`: `model` in OpenAI's and Anthropic's
/// answers (and in the `message` of Anthropic's `message_start`), which
/// echo the model the request named. `None` when `body` names no model, is
/// not a JSON object, or is Gemini's: its `modelVersion` names the version
/// that served, as Google's own aliases (`-latest`) answer, and is left so.
pub fn relabel_model(body: &[u8], wire: super::Protocol, model: &str) -> Option<Vec<u8>> {
    if wire == super::Protocol::Gemini {
        return None;
    }
    let name = Value::String(model.to_string());
    let object: IndexMap<String, Box<RawValue>> = serde_json::from_slice(body).ok()?;
    if object.contains_key("model") {
        return edit(body, &[Edit::Replace("model", &name)]);
    }
    let message = object.get("message").filter(|_| wire == super::Protocol::Anthropic)?;
    let message = edit(message.get().as_bytes(), &[Edit::Replace("model", &name)])?;
    let message: Value = serde_json::from_slice(&message).ok()?;
    edit(body, &[Edit::Replace("message", &message)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn edited(body: &str, edits: &[Edit<'_>]) -> Option<String> {
        edit(body.as_bytes(), edits).map(|bytes| String::from_utf8(bytes).unwrap())
    }

    #[test]
    fn a_member_is_replaced_in_place_and_nested_values_keep_their_bytes() {
        let body = r#"{"model": "alias", "messages": [ {"content": "1.0e0 \u00e9"} ], "n": 1.50}"#;
        let model = json!("gpt-4.1");
        assert_eq!(
            edited(body, &[Edit::Set("model", &model)]).unwrap(),
            r#"{"model":"gpt-4.1","messages":[ {"content": "1.0e0 \u00e9"} ],"n":1.50}"#
        );
    }

    #[test]
    fn answers_are_relabelled_with_the_requested_model_in_each_protocol() {
        use crate::protocol::Protocol;
        let relabel =
            |body: &str, wire| relabel_model(body.as_bytes(), wire, "asked").map(|b| String::from_utf8(b).unwrap());
        assert_eq!(
            relabel(r#"{"id":"c","model":"served","choices":[]}"#, Protocol::OpenAi).unwrap(),
            r#"{"id":"c","model":"asked","choices":[]}"#
        );
        assert_eq!(
            relabel(r#"{"candidates":[],"modelVersion":"served"}"#, Protocol::Gemini),
            None
        );
        let start = relabel(
            r#"{"type":"message_start","message":{"id":"m","model":"served","content":[]}}"#,
            Protocol::Anthropic,
        )
        .unwrap();
        assert!(start.contains(r#""model":"asked""#), "{start}");
        assert_eq!(relabel(r#"{"type":"ping"}"#, Protocol::Anthropic), None);
        assert_eq!(relabel("[DONE]", Protocol::OpenAi), None);
    }

    #[test]
    fn a_missing_member_is_appended() {
        let options = json!({"include_usage": true});
        assert_eq!(
            edited(r#"{"a":1}"#, &[Edit::Set("stream_options", &options)]).unwrap(),
            r#"{"a":1,"stream_options":{"include_usage":true}}"#
        );
    }

    #[test]
    fn keep_only_drops_the_other_members_in_order() {
        let body = r#"{"model":"m","max_tokens":5,"messages":[],"stream":true,"system":"s"}"#;
        assert_eq!(
            edited(body, &[Edit::KeepOnly(&["system", "model", "messages"])]).unwrap(),
            r#"{"model":"m","messages":[],"system":"s"}"#
        );
    }

    #[test]
    fn edits_apply_in_order() {
        let model = json!("models/x");
        let body = r#"{"contents":[]}"#;
        assert_eq!(
            edited(body, &[Edit::Set("model", &model), Edit::KeepOnly(&["contents"])]).unwrap(),
            r#"{"contents":[]}"#
        );
        assert_eq!(
            edited(body, &[Edit::KeepOnly(&["contents"]), Edit::Set("model", &model)]).unwrap(),
            r#"{"contents":[],"model":"models/x"}"#
        );
    }

    #[test]
    fn a_twice_written_member_keeps_its_first_place_and_last_value() {
        assert_eq!(edited(r#"{"a":1,"b":2,"a":3}"#, &[]).unwrap(), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn anything_but_an_object_is_refused() {
        for body in ["[1]", "\"s\"", "{", "", "{\"a\":1} x"] {
            assert_eq!(edited(body, &[Edit::KeepOnly(&[])]), None, "{body}");
        }
    }
}
