//! What every fuzz target does with its input, in one place: decode it as
//! the gateway would, and push whatever decodes through every encoder, so
//! that a decoder's odd-but-accepted output cannot crash an encoder either.
//! The gateway's invariant under test: no input panics, loops or overflows
//! the stack; bad input is an `Err`, never a crash.

use bytes::BytesMut;
use switchyard::protocol::responses::{self, RequestOptions};
use switchyard::protocol::sse::{self, Splitter};
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

/// The longest stream event the fuzzed pump reads (the relay's is
/// `[proxy] max_upstream_body_mib`; inputs are far shorter than either).
const EVENT_LIMIT: usize = 64 * 1024;

/// Feeds `data` to `decoder` the way the relay's pump does: the bytes cut
/// into network-sized pieces (the first byte of the input picks the
/// size), split into events by the SSE splitter, decoded event by event;
/// then the events are encoded for every client.
pub fn stream(mut decoder: Box<dyn StreamDecoder>, data: &[u8]) {
    let Some((&size, bytes)) = data.split_first() else {
        return;
    };
    let size = usize::from(size).max(1);
    let mut splitter = Splitter::new(EVENT_LIMIT);
    let mut raw = Vec::new();
    let mut complete = true;
    for piece in bytes.chunks(size) {
        if splitter.push(piece, &mut raw).is_err() {
            complete = false;
            break;
        }
    }
    raw.extend(splitter.finish());
    let mut events = Vec::new();
    for event in &raw {
        let fields = sse::fields(event);
        let Some(data) = fields.data else { continue };
        let frame = SseFrame {
            event: fields.event.as_deref(),
            data: &data,
        };
        if let Err(err) = decoder.decode(frame, &mut events) {
            events.push(StreamEvent::Error(err));
            complete = false;
            break;
        }
    }
    if complete {
        decoder.finish(&mut events);
    }
    for mut encoder in encoders() {
        let mut out = BytesMut::new();
        for event in &events {
            encoder.encode(event, &mut out);
        }
        encoder.finish(&mut out);
    }
}

/// Splits `data` (after two bytes that pick the piece size and the event
/// limit) into server-sent events and checks the splitter's promises: no
/// event over the limit, and, unless it refused one, every byte handed out
/// once and in order (a leading byte-order mark aside).
pub fn sse_split(data: &[u8]) {
    let [size, limit, bytes @ ..] = data else {
        return;
    };
    let size = usize::from(*size).max(1);
    let limit = usize::from(*limit).max(1) * 4;
    let mut splitter = Splitter::new(limit);
    let mut events = Vec::new();
    let mut refused = false;
    for piece in bytes.chunks(size) {
        if splitter.push(piece, &mut events).is_err() {
            refused = true;
            break;
        }
    }
    events.extend(splitter.finish());
    for event in &events {
        assert!(event.len() <= limit, "an event over the limit was handed out");
        let _ = sse::fields(event);
    }
    if !refused {
        const BOM: &[u8] = b"\xEF\xBB\xBF";
        let expected = match bytes.strip_prefix(BOM) {
            Some(rest) => rest,
            // A stream that is only the start of a mark holds no event.
            None if BOM.starts_with(bytes) => &[],
            None => bytes,
        };
        assert_eq!(events.concat(), expected, "bytes were lost or reordered");
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

/// Decodes an embeddings request as each client shape (OpenAI's
/// `/v1/embeddings`, Gemini's `:embedContent` and `:batchEmbedContents`),
/// then encodes what decodes for every upstream in the batches the relay
/// sends, and answers it in the client's shape.
pub fn embeddings_request(data: &[u8]) {
    use switchyard::protocol::embed::{self, EmbedClient, Embeddings};
    let decoded = [
        EmbedClient::decode_openai(data),
        EmbedClient::decode_gemini(data, "fuzz-model", false),
        EmbedClient::decode_gemini(data, "fuzz-model", true),
    ];
    for (client, request) in decoded.into_iter().flatten() {
        for wire in [Protocol::OpenAi, Protocol::Gemini] {
            for run in embed::batches(&request.items, embed::batch_limit(wire)) {
                let _ = embed::encode_upstream(wire, &request.items[run], "fuzz-model", request.user.as_deref());
            }
        }
        let answer = Embeddings {
            vectors: vec![vec![0.5, f32::NAN, f32::INFINITY]; request.items.len()],
            input_tokens: None,
        };
        let _ = client.encode_response(&answer, &request.model, u64::MAX);
    }
}

/// Decodes an upstream's embeddings answer in each upstream shape (the
/// first byte is the number of inputs it answers), then writes what decodes
/// for every client shape.
pub fn embeddings_response(data: &[u8]) {
    use switchyard::protocol::embed::openai::Encoding;
    use switchyard::protocol::embed::{self, EmbedClient};
    let Some((&expected, body)) = data.split_first() else {
        return;
    };
    for wire in [Protocol::OpenAi, Protocol::Gemini] {
        if let Ok(embeddings) = embed::decode_upstream(wire, body, usize::from(expected)) {
            for client in [
                EmbedClient::OpenAi(Encoding::Float),
                EmbedClient::OpenAi(Encoding::Base64),
                EmbedClient::Gemini { batch: false },
                EmbedClient::Gemini { batch: true },
            ] {
                let _ = client.encode_response(&embeddings, "fuzz-model", embeddings.input_tokens.unwrap_or(0));
            }
        }
    }
}
