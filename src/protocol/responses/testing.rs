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

/// Splits an SSE transcript into frames the way the gateway's reader does:
/// events end at a blank line, `event:` names them, `data:` lines join with
/// newlines, and comments are skipped.
pub fn frames(transcript: &str) -> Vec<(Option<String>, String)> {
    let mut frames = Vec::new();
    for chunk in transcript.replace("\r\n", "\n").split("\n\n") {
        let mut event = None;
        let mut data: Vec<&str> = Vec::new();
        for line in chunk.lines() {
            if let Some(name) = line.strip_prefix("event:") {
                event = Some(name.trim().to_owned());
            } else if let Some(value) = line.strip_prefix("data:") {
                data.push(value.strip_prefix(' ').unwrap_or(value));
            }
        }
        if event.is_some() || !data.is_empty() {
            frames.push((event, data.join("\n")));
        }
    }
    frames
}
