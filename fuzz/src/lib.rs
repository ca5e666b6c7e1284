//! What every fuzz target does with its input, in one place: decode it as
//! the gateway would, and push whatever decodes through every encoder, so
//! that a decoder's odd-but-accepted output cannot crash an encoder either.
//! The gateway's invariant under test: no input panics, loops or overflows
//! the stack; bad input is an `Err`, never a crash.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use eventsource_stream::Eventsource;
use futures_util::Stream;
use switchyard::protocol::responses::{self, RequestOptions};
use switchyard::protocol::{
    ChatRequest, EncoderOptions, Protocol, ResponseMeta, SseFrame, StreamDecoder, StreamEncoder, StreamEvent,
};

/// The upstream protocols (the Responses API is a client protocol only).
pub const WIRES: [Protocol; 3] = [Protocol::OpenAi, Protocol::Anthropic, Protocol::Gemini];

/// Ids and names as the relay would give them.
pub fn meta() -> ResponseMeta {
    ResponseMeta {
        id: "fuzz".into(),
        model: "fuzz-model".into(),
        created: 0,
    }
}

/// Encodes a decoded request for every upstream.
pub fn encode_everywhere(request: &ChatRequest) {
    for wire in WIRES {
        let _ = wire.encode_request(request, "fuzz-model");
    }
}

/// Decodes a client request body of `protocol` and re-encodes what decodes.
pub fn request(protocol: Protocol, data: &[u8]) {
    if let Ok(request) = protocol.decode_request(data) {
        encode_everywhere(&request);
    }
}

/// Decodes a Responses API request body and re-encodes what decodes.
pub fn responses_request(data: &[u8]) {
    if let Ok((request, _)) = responses::decode_request(data) {
        encode_everywhere(&request);
        let _ = responses::encode_request(&request, "fuzz-model");
    }
}

/// Every client's stream encoder.
fn encoders() -> Vec<Box<dyn StreamEncoder>> {
    let options = |sse| EncoderOptions {
        meta: meta(),
        include_usage: true,
        sse,
    };
    vec![
        Protocol::OpenAi.stream_encoder(options(true)),
        Protocol::Anthropic.stream_encoder(options(true)),
        Protocol::Gemini.stream_encoder(options(true)),
        Protocol::Gemini.stream_encoder(options(false)),
        Box::new(responses::EventEncoder::new(options(true), RequestOptions::default())),
    ]
}

/// Feeds `data` to `decoder` the way the relay's pump does: the bytes cut
/// into network-sized pieces (the first byte of the input picks the
/// size), framed by the SSE parser, decoded frame by frame; then the
/// events are encoded for every client.
pub fn stream(mut decoder: Box<dyn StreamDecoder>, data: &[u8]) {
    let Some((&size, bytes)) = data.split_first() else {
        return;
    };
    let size = usize::from(size).max(1);
    let chunks: Vec<Result<Bytes, Infallible>> = bytes.chunks(size).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    let mut frames = futures_util::stream::iter(chunks).eventsource();
    let mut context = Context::from_waker(Waker::noop());
    let mut events = Vec::new();
    loop {
        // An iterator stream is always ready: no executor is needed.
        match Pin::new(&mut frames).poll_next(&mut context) {
            Poll::Ready(Some(Ok(frame))) => {
                let event = (!frame.event.is_empty() && frame.event != "message").then_some(frame.event.as_str());
                let frame = SseFrame {
                    event,
                    data: &frame.data,
                };
                if let Err(err) = decoder.decode(frame, &mut events) {
                    events.push(StreamEvent::Error(err));
                    break;
                }
            }
            Poll::Ready(Some(Err(_))) | Poll::Pending => break,
            Poll::Ready(None) => {
                decoder.finish(&mut events);
                break;
            }
        }
    }
    for mut encoder in encoders() {
        let mut out = BytesMut::new();
        for event in &events {
            encoder.encode(event, &mut out);
        }
        encoder.finish(&mut out);
    }
}

/// Decodes an upstream's complete answer with every protocol, and encodes
/// what decodes for every client.
pub fn upstream_response(data: &[u8]) {
    let meta = meta();
    for wire in WIRES {
        if let Ok(response) = wire.decode_response(data, &meta) {
            for client in WIRES {
                let _ = client.encode_response(&response, &meta);
            }
            let _ = responses::encode_response(&response, &meta, &RequestOptions::default());
        }
    }
    let _ = responses::decode_response(data, &meta);
}
