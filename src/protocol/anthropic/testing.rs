//! Helpers shared by the codec's tests.

use crate::protocol::model::ResponseMeta;
use crate::protocol::stream::SseFrame;

/// A golden fixture from `tests/fixtures/anthropic/`, compiled in.
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/anthropic/", $name))
    };
}
pub(crate) use fixture;

/// The meta every test encodes with.
pub fn meta() -> ResponseMeta {
    ResponseMeta {
        id: "01TestId".to_owned(),
        model: "claude-sonnet-4-5".to_owned(),
        created: 1_750_000_000,
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

/// Borrows an owned frame as the decoder's input.
pub fn frame(owned: &(Option<String>, String)) -> SseFrame<'_> {
    SseFrame {
        event: owned.0.as_deref(),
        data: &owned.1,
    }
}
