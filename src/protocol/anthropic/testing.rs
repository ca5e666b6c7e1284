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

/// Splits an SSE transcript into (event, data) frames with the gateway's
/// own reader ([`crate::protocol::sse`]).
pub fn frames(transcript: &str) -> Vec<(Option<String>, String)> {
    crate::protocol::sse::events(transcript.as_bytes())
        .into_iter()
        .map(|fields| (fields.event, fields.data.unwrap_or_default()))
        .collect()
}

/// Borrows an owned frame as the decoder's input.
pub fn frame(owned: &(Option<String>, String)) -> SseFrame<'_> {
    SseFrame {
        event: owned.0.as_deref(),
        data: &owned.1,
    }
}
