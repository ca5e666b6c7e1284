//! Reasoning signatures across protocols.
//!
//! A thinking signature (Anthropic `signature`, Gemini `thoughtSignature`)
//! or encrypted reasoning (Anthropic `redacted_thinking`, OpenAI
//! `encrypted_content`) is only valid for the provider that made it. When a
//! turn produced by one upstream reaches a client of another protocol, the
//! value is handed out *tagged* with its origin; the client echoes it back
//! opaque, and on the next request it is restored for an upstream of that
//! origin and dropped for any other (which would reject it). Values that
//! stay within one protocol are never tagged, so a native round trip is
//! byte-for-byte unchanged.
//!
//! The tag is standard base64 of `swy1`, one origin byte and the raw value,
//! so it is valid wherever a signature is (Gemini SDKs base64-decode it).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Protocol;
use super::model::{ChatRequest, ChatResponse, Part};
use super::stream::{BlockKind, Delta, StreamEvent};

const MAGIC: &[u8] = b"swy1";
/// `base64("swy1" + …)` always starts with these characters.
const PREFIX: &str = "c3d5M";

fn origin_byte(protocol: Protocol) -> u8 {
    match protocol {
        Protocol::OpenAi => b'o',
        Protocol::Anthropic => b'a',
        Protocol::Gemini => b'g',
    }
}

fn origin_of(byte: u8) -> Option<Protocol> {
    match byte {
        b'o' => Some(Protocol::OpenAi),
        b'a' => Some(Protocol::Anthropic),
        b'g' => Some(Protocol::Gemini),
        _ => None,
    }
}

/// `value` tagged with `origin`.
pub fn tag(origin: Protocol, value: &str) -> String {
    let mut bytes = Vec::with_capacity(MAGIC.len() + 1 + value.len());
    bytes.extend_from_slice(MAGIC);
    bytes.push(origin_byte(origin));
    bytes.extend_from_slice(value.as_bytes());
    STANDARD.encode(bytes)
}

/// The origin and raw value of a tagged value; `None` for a value that
/// carries no tag.
pub fn untag(value: &str) -> Option<(Protocol, String)> {
    if !value.starts_with(PREFIX) {
        return None;
    }
    let bytes = STANDARD.decode(value).ok()?;
    let rest = bytes.strip_prefix(MAGIC)?;
    let (&origin, raw) = rest.split_first()?;
    Some((origin_of(origin)?, String::from_utf8(raw.to_vec()).ok()?))
}

/// A value arriving from `client` on its way to `upstream`: the raw value
/// when it originated there, `None` when the upstream would reject it.
/// Untagged values from a client are native to the client's protocol.
pub fn for_upstream(value: &str, client: Protocol, upstream: Protocol) -> Option<String> {
    let (origin, raw) = untag(value).unwrap_or_else(|| (client, value.to_string()));
    (origin == upstream).then_some(raw)
}

/// A value produced by `upstream` on its way to `client`: raw when they
/// speak the same protocol, tagged otherwise.
pub fn for_client(value: &str, upstream: Protocol, client: Protocol) -> String {
    if upstream == client {
        value.to_string()
    } else {
        tag(upstream, value)
    }
}

fn retarget_opt(value: &mut Option<String>, map: impl Fn(&str) -> Option<String>) {
    *value = value.as_deref().and_then(map);
}

/// Prepares a client's request for an upstream of another protocol (or
/// behind an envelope): signatures the upstream did not make are removed,
/// its own are restored to their raw form.
pub fn request_for_upstream(request: &mut ChatRequest, client: Protocol, upstream: Protocol) {
    let map = |v: &str| for_upstream(v, client, upstream);
    for message in &mut request.messages {
        for part in &mut message.content {
            match part {
                Part::Reasoning(reasoning) => {
                    retarget_opt(&mut reasoning.signature, map);
                    retarget_opt(&mut reasoning.redacted, map);
                }
                Part::ToolCall(call) => retarget_opt(&mut call.signature, map),
                _ => {}
            }
        }
    }
}

/// Prepares an upstream's answer for a client of another protocol.
pub fn response_for_client(response: &mut ChatResponse, upstream: Protocol, client: Protocol) {
    let map = |v: &str| Some(for_client(v, upstream, client));
    for part in &mut response.content {
        match part {
            Part::Reasoning(reasoning) => {
                retarget_opt(&mut reasoning.signature, map);
                retarget_opt(&mut reasoning.redacted, map);
            }
            Part::ToolCall(call) => retarget_opt(&mut call.signature, map),
            _ => {}
        }
    }
}

/// Prepares one stream event of an upstream for a client of another protocol.
pub fn event_for_client(event: &mut StreamEvent, upstream: Protocol, client: Protocol) {
    match event {
        StreamEvent::Delta(Delta::Signature(value)) => *value = for_client(value, upstream, client),
        StreamEvent::BlockStart(BlockKind::RedactedReasoning { data }) => *data = for_client(data, upstream, client),
        StreamEvent::BlockStart(BlockKind::ToolCall {
            signature: Some(value), ..
        }) => *value = for_client(value, upstream, client),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::model::{Message, Reasoning, Role, ToolCall};

    #[test]
    fn tags_round_trip_and_are_base64() {
        let tagged = tag(Protocol::Gemini, "CiQBcsjafGx0=");
        assert!(tagged.starts_with(PREFIX));
        assert!(STANDARD.decode(&tagged).is_ok(), "Gemini SDKs base64-decode signatures");
        assert_eq!(untag(&tagged), Some((Protocol::Gemini, "CiQBcsjafGx0=".to_string())));
        for origin in [Protocol::OpenAi, Protocol::Anthropic, Protocol::Gemini] {
            assert_eq!(untag(&tag(origin, "x")).unwrap().0, origin);
        }
        assert_eq!(untag("EqQBCkgIARABGAIiQ"), None, "native values carry no tag");
        assert_eq!(untag("c3d5M!!!"), None);
    }

    #[test]
    fn native_values_stay_native_and_foreign_ones_are_dropped() {
        // An Anthropic client's own signature goes to Anthropic unchanged, not to Gemini.
        assert_eq!(
            for_upstream("sig-a", Protocol::Anthropic, Protocol::Anthropic).as_deref(),
            Some("sig-a")
        );
        assert_eq!(for_upstream("sig-a", Protocol::Anthropic, Protocol::Gemini), None);
        // A Gemini signature handed to an Anthropic client comes back tagged
        // and returns to Gemini raw.
        let handed_out = for_client("sig-g", Protocol::Gemini, Protocol::Anthropic);
        assert_ne!(handed_out, "sig-g");
        assert_eq!(
            for_upstream(&handed_out, Protocol::Anthropic, Protocol::Gemini).as_deref(),
            Some("sig-g")
        );
        assert_eq!(
            for_upstream(&handed_out, Protocol::Anthropic, Protocol::Anthropic),
            None
        );
        // Same protocol on both ends: never tagged.
        assert_eq!(for_client("sig-g", Protocol::Gemini, Protocol::Gemini), "sig-g");
    }

    #[test]
    fn a_multi_turn_conversation_keeps_its_signatures() {
        let mut response = ChatResponse {
            model: "gemini-3-pro".into(),
            content: vec![
                Part::Reasoning(Reasoning {
                    text: "plan".into(),
                    signature: Some("g-think".into()),
                    redacted: None,
                }),
                Part::ToolCall(ToolCall {
                    id: "call_1".into(),
                    name: "read".into(),
                    arguments: "{}".into(),
                    signature: Some("g-call".into()),
                }),
            ],
            finish_reason: crate::protocol::model::FinishReason::ToolCalls,
            usage: Default::default(),
        };
        response_for_client(&mut response, Protocol::Gemini, Protocol::Anthropic);
        // The client sends the turn back as history.
        let mut request = ChatRequest {
            messages: vec![Message {
                role: Role::Assistant,
                content: response.content.clone(),
            }],
            ..ChatRequest::default()
        };
        let mut to_gemini = request.clone();
        request_for_upstream(&mut to_gemini, Protocol::Anthropic, Protocol::Gemini);
        let Part::Reasoning(reasoning) = &to_gemini.messages[0].content[0] else {
            panic!()
        };
        assert_eq!(reasoning.signature.as_deref(), Some("g-think"));
        let Part::ToolCall(call) = &to_gemini.messages[0].content[1] else {
            panic!()
        };
        assert_eq!(call.signature.as_deref(), Some("g-call"));

        request_for_upstream(&mut request, Protocol::Anthropic, Protocol::OpenAi);
        let Part::Reasoning(reasoning) = &request.messages[0].content[0] else {
            panic!()
        };
        assert_eq!(reasoning.signature, None, "OpenAI never sees Gemini's signatures");
    }

    #[test]
    fn stream_events_are_retargeted() {
        let mut event = StreamEvent::Delta(Delta::Signature("a-sig".into()));
        event_for_client(&mut event, Protocol::Anthropic, Protocol::Gemini);
        let StreamEvent::Delta(Delta::Signature(value)) = &event else {
            panic!()
        };
        assert_eq!(untag(value), Some((Protocol::Anthropic, "a-sig".into())));
        let mut same = StreamEvent::Delta(Delta::Signature("a-sig".into()));
        event_for_client(&mut same, Protocol::Anthropic, Protocol::Anthropic);
        assert_eq!(same, StreamEvent::Delta(Delta::Signature("a-sig".into())));
    }
}
