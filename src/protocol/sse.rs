//! Server-sent events, split incrementally: bytes in as they arrive,
//! complete events out, and no event longer than a limit ever buffered.
//!
//! Follows the event-stream format of the HTML standard: lines end with
//! `\r\n`, `\n` or `\r` (a `\r\n` split across two reads is one line end);
//! a blank line ends an event; a leading byte-order mark is dropped; a line
//! starting with `:` is a comment; `data` lines join with `\n`. A raw event
//! is handed out byte for byte, leading blank lines and its terminating
//! blank line included, so that a relay can pass it on unchanged; [`fields`]
//! reads the event's name and data out of it.

use bytes::{Bytes, BytesMut};

/// The UTF-8 byte-order mark, which may open a stream.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// An event (or a line of one still arriving) grew past the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a server-sent event longer than {limit} bytes")]
pub struct TooLarge {
    /// The limit, in bytes.
    pub limit: usize,
}

/// Splits a byte stream into complete raw events.
#[derive(Debug)]
pub struct Splitter {
    /// Bytes of the event in the making (complete events are split off).
    buffer: BytesMut,
    /// How much of `buffer` has been looked at.
    scanned: usize,
    /// Where the current line starts in `buffer`.
    line_start: usize,
    /// The event in the making has a non-blank line.
    has_content: bool,
    /// The last byte looked at was a `\r`: a `\n` right after it ends no line.
    after_cr: bool,
    /// Whether the start of the stream has been checked for a BOM.
    started: bool,
    /// The longest event, in bytes.
    limit: usize,
    /// Set once the limit was passed: nothing more is read.
    failed: bool,
}

impl Splitter {
    /// A splitter that refuses events longer than `limit` bytes.
    pub fn new(limit: usize) -> Splitter {
        Splitter {
            buffer: BytesMut::new(),
            scanned: 0,
            line_start: 0,
            has_content: false,
            after_cr: false,
            started: false,
            limit,
            failed: false,
        }
    }

    /// Takes the next bytes of the stream and appends the events they
    /// complete to `events`. Fails, for this call and every later one,
    /// once an event is longer than the limit.
    pub fn push(&mut self, bytes: &[u8], events: &mut Vec<Bytes>) -> Result<(), TooLarge> {
        if self.failed {
            return Err(TooLarge { limit: self.limit });
        }
        self.buffer.extend_from_slice(bytes);
        if !self.started {
            if self.buffer.len() < BOM.len() && BOM.starts_with(&self.buffer) {
                // Perhaps the start of a BOM: wait for more.
                return Ok(());
            }
            if self.buffer.starts_with(BOM) {
                let _ = self.buffer.split_to(BOM.len());
            }
            self.started = true;
        }
        let mut at = self.scanned;
        while at < self.buffer.len() {
            let byte = self.buffer[at];
            if std::mem::take(&mut self.after_cr) && byte == b'\n' {
                at += 1;
                self.line_start = at;
                continue;
            }
            if byte != b'\n' && byte != b'\r' {
                at += 1;
                continue;
            }
            let blank = at == self.line_start;
            self.after_cr = byte == b'\r';
            at += 1;
            if !blank {
                self.has_content = true;
                self.line_start = at;
                continue;
            }
            if !self.has_content {
                // A blank line before any field: it stays with the next event.
                self.line_start = at;
                continue;
            }
            if self.after_cr && self.buffer.get(at) == Some(&b'\n') {
                self.after_cr = false;
                at += 1;
            }
            if at > self.limit {
                return Err(self.fail());
            }
            events.push(self.buffer.split_to(at).freeze());
            at = 0;
            self.line_start = 0;
            self.has_content = false;
        }
        self.scanned = at;
        if self.buffer.len() > self.limit {
            return Err(self.fail());
        }
        Ok(())
    }

    /// The end of the stream: the bytes left over, if any. They hold the
    /// last event when it lacks its blank line (or only line ends that
    /// followed the last event, which [`fields`] finds no data in).
    pub fn finish(&mut self) -> Option<Bytes> {
        let rest = std::mem::take(&mut self.buffer).freeze();
        self.scanned = 0;
        self.line_start = 0;
        self.has_content = false;
        let partial_bom = !self.started && BOM.starts_with(&rest);
        (!self.failed && !rest.is_empty() && !partial_bom).then_some(rest)
    }

    fn fail(&mut self) -> TooLarge {
        self.failed = true;
        self.buffer = BytesMut::new();
        TooLarge { limit: self.limit }
    }
}

/// What an event says: its name and its data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fields {
    /// The `event` field, when it names one other than the default `message`.
    pub event: Option<String>,
    /// The `data` lines joined with `\n`; `None` when the event has none
    /// (a comment or keep-alive, which dispatches nothing).
    pub data: Option<String>,
}

/// `raw` (one event) with its data replaced by `data` (one line): its
/// other fields are kept, in order; the event ends with a blank line.
pub fn with_data(raw: &[u8], data: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let mut out = Vec::with_capacity(raw.len() + data.len());
    let mut written = false;
    for line in lines(&text) {
        if line.is_empty() {
            continue;
        }
        let is_data = line == "data" || line.starts_with("data:");
        if is_data {
            if !written {
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(data);
                out.push(b'\n');
                written = true;
            }
            continue;
        }
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    out
}

/// Reads a raw event's fields (invalid UTF-8 is replaced, as browsers do).
pub fn fields(raw: &[u8]) -> Fields {
    let text = String::from_utf8_lossy(raw);
    let mut fields = Fields::default();
    let mut data: Option<String> = None;
    for line in lines(&text) {
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match name {
            "data" => match &mut data {
                Some(joined) => {
                    joined.push('\n');
                    joined.push_str(value);
                }
                None => data = Some(value.to_string()),
            },
            "event" => fields.event = (!value.is_empty() && value != "message").then(|| value.to_string()),
            _ => {}
        }
    }
    fields.data = data;
    fields
}

/// The events of a whole stream already read that dispatch data, in
/// order: what a client's reader sees (for tests and fixtures; a stream
/// still arriving goes through a [`Splitter`] with a limit).
pub fn events(body: &[u8]) -> Vec<Fields> {
    split_all(body)
        .iter()
        .map(|event| fields(event))
        .filter(|f| f.data.is_some())
        .collect()
}

/// The raw events of a whole stream already read, byte for byte (comments
/// and a last event without its blank line included).
pub fn split_all(body: &[u8]) -> Vec<Bytes> {
    let mut splitter = Splitter::new(usize::MAX);
    let mut raw = Vec::new();
    // Without a limit no event is refused.
    let _ = splitter.push(body, &mut raw);
    raw.extend(splitter.finish());
    raw
}

/// The lines of `text`, split at `\r\n`, `\n` or `\r`.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
        let line = &rest[..end];
        let mut next = end;
        if rest[end..].starts_with("\r\n") {
            next += 2;
        } else if end < rest.len() {
            next += 1;
        }
        rest = &rest[next..];
        Some(line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_events_data_is_replaced_and_its_other_fields_kept() {
        let raw = b"event: message_start\r\ndata: {\"a\":1}\r\nid: 7\r\n\r\n";
        let out = with_data(raw, br#"{"a":2}"#);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "event: message_start\ndata: {\"a\":2}\nid: 7\n\n"
        );
    }

    /// Splits `input` fed in pieces of `size` bytes.
    fn split(input: &[u8], size: usize, limit: usize) -> Result<Vec<Bytes>, TooLarge> {
        let mut splitter = Splitter::new(limit);
        let mut events = Vec::new();
        for piece in input.chunks(size.max(1)) {
            splitter.push(piece, &mut events)?;
        }
        events.extend(splitter.finish());
        Ok(events)
    }

    /// The data of the events that dispatch any.
    fn datas(events: &[Bytes]) -> Vec<String> {
        events.iter().filter_map(|e| fields(e).data).collect()
    }

    #[test]
    fn every_line_ending_ends_lines_and_events() {
        for input in [
            &b"data: a\n\ndata: b\n\n"[..],
            b"data: a\r\n\r\ndata: b\r\n\r\n",
            b"data: a\r\rdata: b\r\r",
            b"data: a\n\r\ndata: b\r\n\n",
        ] {
            for size in 1..=input.len() {
                let events = split(input, size, 1024).unwrap();
                assert_eq!(datas(&events), ["a", "b"], "{input:?} in pieces of {size}");
                // Nothing is lost: a relay passes the bytes on unchanged.
                assert_eq!(events.concat(), input, "{input:?} in pieces of {size}");
            }
        }
    }

    #[test]
    fn fields_follow_the_standard() {
        let raw = b": comment\nevent: message_start\ndata: {\"a\":\ndata:1}\nid: 7\nretry: 10\n\n";
        assert_eq!(
            fields(raw),
            Fields {
                event: Some("message_start".into()),
                data: Some("{\"a\":\n1}".into())
            }
        );
        assert_eq!(fields(b"event: message\ndata\n\n").event, None);
        assert_eq!(fields(b"data\n\n").data, Some(String::new()));
        assert_eq!(fields(b"data:\ndata:\n\n").data, Some("\n".into()));
        assert_eq!(fields(b": keep-alive\n\n").data, None);
    }

    #[test]
    fn a_whole_body_reads_as_its_data_events() {
        let body = b"\xEF\xBB\xBF: hi\r\n\r\nevent: a\r\ndata: 1\r\n\r\ndata: 2\rdata: 3\r\rdata: 4";
        let read: Vec<_> = events(body).into_iter().map(|f| (f.event, f.data.unwrap())).collect();
        assert_eq!(
            read,
            [
                (Some("a".to_string()), "1".to_string()),
                (None, "2\n3".to_string()),
                (None, "4".to_string())
            ]
        );
    }

    #[test]
    fn comments_and_stray_blank_lines_stay_with_their_bytes() {
        let input = b"\n\n: ping\n\ndata: x\n\n";
        let events = split(input, 3, 1024).unwrap();
        assert_eq!(events.len(), 2, "the comment is an event of its own");
        assert_eq!(datas(&events), ["x"]);
        assert_eq!(events.concat(), input);
    }

    #[test]
    fn a_byte_order_mark_is_dropped_even_when_split() {
        let input = b"\xEF\xBB\xBFdata: x\n\n";
        for size in 1..4 {
            assert_eq!(datas(&split(input, size, 1024).unwrap()), ["x"]);
        }
    }

    #[test]
    fn the_last_event_may_lack_its_blank_line() {
        assert_eq!(datas(&split(b"data: a\n\ndata: b", 4, 1024).unwrap()), ["a", "b"]);
        let trailing = split(b"data: a\n\n\n", 4, 1024).unwrap();
        assert_eq!(datas(&trailing), ["a"]);
    }

    #[test]
    fn an_event_that_never_ends_is_refused_at_the_limit() {
        let mut splitter = Splitter::new(64);
        let mut events = Vec::new();
        splitter.push(b"data: ok\n\n", &mut events).unwrap();
        assert_eq!(events.len(), 1);
        let mut refused = None;
        for _ in 0..100 {
            if let Err(err) = splitter.push(b"data: xxxxxxxx", &mut events) {
                refused = Some(err);
                break;
            }
        }
        assert_eq!(refused, Some(TooLarge { limit: 64 }));
        assert!(splitter.buffer.capacity() < 1024, "the buffer is released");
        assert_eq!(splitter.push(b"\n\n", &mut events), Err(TooLarge { limit: 64 }));
        assert_eq!(splitter.finish(), None);
    }

    proptest::proptest! {
        /// Whatever the bytes and however they are cut: no event over the
        /// limit, and unless one was refused, every byte handed out once,
        /// in order (as `fuzz/` checks with libFuzzer too).
        #[test]
        fn no_byte_is_lost_and_no_event_passes_the_limit(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec!["data: ", "event: e", "x", ":", "\r", "\n", "\r\n", "\u{feff}", "é"]),
                0..60,
            ),
            size in 1usize..12,
            limit in 4usize..64,
        ) {
            let input = pieces.concat().into_bytes();
            let mut splitter = Splitter::new(limit);
            let mut events = Vec::new();
            let mut refused = false;
            for piece in input.chunks(size) {
                if splitter.push(piece, &mut events).is_err() {
                    refused = true;
                    break;
                }
            }
            events.extend(splitter.finish());
            for event in &events {
                proptest::prop_assert!(event.len() <= limit);
                let _ = fields(event);
            }
            if !refused {
                let expected = match input.strip_prefix(BOM) {
                    Some(rest) => rest,
                    None if BOM.starts_with(&input) => &[],
                    None => &input[..],
                };
                proptest::prop_assert_eq!(events.concat(), expected);
            }
        }
    }

    #[test]
    fn a_complete_event_over_the_limit_is_refused_too() {
        let long = format!("data: {}\n\n", "x".repeat(100));
        assert_eq!(split(long.as_bytes(), 1000, 64), Err(TooLarge { limit: 64 }));
        assert!(split(long.as_bytes(), 1000, 200).is_ok());
    }
}
