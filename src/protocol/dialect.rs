//! The four API dialects clients speak, and the client side of one call.
//!
//! A [`Dialect`] is what a route speaks: the gateway's route table names
//! one per API route. Decoding a client's request in its dialect yields the
//! call's [`ClientCodec`], chosen once and kept for the whole call: it
//! encodes the answer (whole or streamed), says whether the client's body
//! can be relayed untouched, and carries what the dialect holds across the
//! call (the Responses API's options, which also decide whether the answer
//! is kept for `previous_response_id`).

use std::sync::Arc;

use serde_json::Value;

use super::{ApiError, ChatRequest, ChatResponse, EncoderOptions, Protocol, ResponseMeta, StreamEncoder, responses};

/// An API dialect a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// OpenAI Chat Completions (`/v1/chat/completions`).
    Chat,
    /// OpenAI Responses (`/v1/responses`).
    Responses,
    /// Anthropic Messages (`/v1/messages`).
    Messages,
    /// Google Gemini (`models/{model}:generateContent` and friends).
    Gemini,
}

impl Dialect {
    /// The name in the request log and the metrics.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Chat => "openai",
            Dialect::Responses => "responses",
            Dialect::Messages => "anthropic",
            Dialect::Gemini => "gemini",
        }
    }

    /// The protocol family: the shape of the client's errors, and whose
    /// conventions (thought signatures, usage chunks) its answers follow.
    pub fn family(self) -> Protocol {
        match self {
            Dialect::Chat | Dialect::Responses => Protocol::OpenAi,
            Dialect::Messages => Protocol::Anthropic,
            Dialect::Gemini => Protocol::Gemini,
        }
    }

    /// The upstream protocol whose request and answer bodies are this
    /// dialect's, byte for byte, so a call can be relayed untouched. No
    /// upstream speaks the Responses API.
    pub fn wire(self) -> Option<Protocol> {
        match self {
            Dialect::Chat => Some(Protocol::OpenAi),
            Dialect::Responses => None,
            Dialect::Messages => Some(Protocol::Anthropic),
            Dialect::Gemini => Some(Protocol::Gemini),
        }
    }

    /// Decodes a client's request body: the request, and the codec for the
    /// rest of the call. Gemini bodies carry no model (it is in the URL) and
    /// no stream flag (it is the method): the caller sets both.
    pub fn decode(self, body: &[u8]) -> Result<(ClientCodec, ChatRequest), ApiError> {
        Ok(match self {
            Dialect::Chat => (ClientCodec::Chat, Protocol::OpenAi.decode_request(body)?),
            Dialect::Messages => (ClientCodec::Messages, Protocol::Anthropic.decode_request(body)?),
            Dialect::Gemini => (ClientCodec::Gemini, Protocol::Gemini.decode_request(body)?),
            Dialect::Responses => {
                let (request, options) = responses::decode_request(body)?;
                (ClientCodec::Responses(Arc::new(options)), request)
            }
        })
    }
}

/// The client side of one call, chosen once when its request is decoded
/// ([`Dialect::decode`]), with what its dialect carries across the call.
#[derive(Debug, Clone)]
pub enum ClientCodec {
    /// Chat Completions.
    Chat,
    /// Responses, with the request's options: they shape every answer
    /// (echoed fields, tool namespaces) and say whether it is stored.
    Responses(Arc<responses::RequestOptions>),
    /// Messages.
    Messages,
    /// Gemini.
    Gemini,
}

impl ClientCodec {
    /// The dialect the client speaks.
    pub fn dialect(&self) -> Dialect {
        match self {
            ClientCodec::Chat => Dialect::Chat,
            ClientCodec::Responses(_) => Dialect::Responses,
            ClientCodec::Messages => Dialect::Messages,
            ClientCodec::Gemini => Dialect::Gemini,
        }
    }

    /// Whether the client's body can be relayed untouched (but for the
    /// model name) to an upstream speaking `wire`, and its answer back.
    pub fn passes_through(&self, wire: Protocol) -> bool {
        self.dialect().wire() == Some(wire)
    }

    /// A complete answer in the client's dialect.
    pub fn encode_response(&self, response: &ChatResponse, meta: &ResponseMeta) -> Value {
        match self {
            ClientCodec::Responses(options) => responses::encode_response(response, meta, options),
            codec => codec.dialect().family().encode_response(response, meta),
        }
    }

    /// An encoder of the client's stream.
    pub fn stream_encoder(&self, options: EncoderOptions) -> Box<dyn StreamEncoder> {
        match self {
            ClientCodec::Responses(request) => Box::new(responses::EventEncoder::new(options, (**request).clone())),
            codec => codec.dialect().family().stream_encoder(options),
        }
    }

    /// The stored answer this call continues (`previous_response_id`).
    pub fn continues(&self) -> Option<&str> {
        match self {
            ClientCodec::Responses(options) => options.previous_response_id.as_deref(),
            _ => None,
        }
    }

    /// The id under which the answer is kept for a later call to continue,
    /// when the client asked for that (`store`, on by default).
    pub fn keeps_as(&self, meta: &ResponseMeta) -> Option<String> {
        match self {
            ClientCodec::Responses(options) if options.store => Some(responses::response_id(meta)),
            _ => None,
        }
    }

    /// Whether an OpenAI upstream relaying this call's stream must be asked
    /// for the usage chunk the client did not ask for (so every call's
    /// tokens are known), the chunk then kept from the client.
    pub fn hides_usage(&self, request: &ChatRequest) -> bool {
        matches!(self, ClientCodec::Chat) && request.stream && !request.stream_include_usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Dialect; 4] = [Dialect::Chat, Dialect::Responses, Dialect::Messages, Dialect::Gemini];

    #[test]
    fn each_dialect_decodes_into_its_own_codec() {
        let bodies = [
            (
                Dialect::Chat,
                r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
            ),
            (Dialect::Responses, r#"{"model":"m","input":"hi"}"#),
            (
                Dialect::Messages,
                r#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#,
            ),
            (
                Dialect::Gemini,
                r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#,
            ),
        ];
        for (dialect, body) in bodies {
            let (codec, request) = dialect.decode(body.as_bytes()).unwrap();
            assert_eq!(codec.dialect(), dialect);
            assert_eq!(request.messages.len(), 1, "{dialect:?}");
        }
    }

    #[test]
    fn only_a_dialect_an_upstream_speaks_passes_through() {
        for dialect in ALL {
            let (codec, _) = dialect
                .decode(match dialect {
                    Dialect::Responses => br#"{"model":"m","input":"hi"}"#.as_slice(),
                    Dialect::Gemini => br#"{"contents":[]}"#.as_slice(),
                    _ => br#"{"model":"m","max_tokens":1,"messages":[]}"#.as_slice(),
                })
                .unwrap();
            for wire in [Protocol::OpenAi, Protocol::Anthropic, Protocol::Gemini] {
                let expected = dialect != Dialect::Responses && dialect.family() == wire;
                assert_eq!(codec.passes_through(wire), expected, "{dialect:?} over {wire:?}");
            }
        }
    }

    #[test]
    fn responses_keep_their_answers_unless_told_not_to() {
        let meta = ResponseMeta {
            id: "abc".into(),
            model: "m".into(),
            created: 0,
        };
        let (kept, _) = Dialect::Responses
            .decode(br#"{"model":"m","input":"hi","previous_response_id":"resp_x"}"#)
            .unwrap();
        assert_eq!(kept.keeps_as(&meta).as_deref(), Some("resp_abc"));
        assert_eq!(kept.continues(), Some("resp_x"));
        let (unkept, _) = Dialect::Responses
            .decode(br#"{"model":"m","input":"hi","store":false}"#)
            .unwrap();
        assert_eq!(unkept.keeps_as(&meta), None);
        let (chat, _) = Dialect::Chat
            .decode(br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#)
            .unwrap();
        assert_eq!(chat.keeps_as(&meta), None);
        assert_eq!(chat.continues(), None);
    }

    #[test]
    fn only_chat_streams_hide_the_usage_chunk_they_did_not_ask_for() {
        let (chat, mut request) = Dialect::Chat
            .decode(br#"{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
            .unwrap();
        assert!(chat.hides_usage(&request));
        request.stream_include_usage = true;
        assert!(!chat.hides_usage(&request));
        let (responses, request) = Dialect::Responses
            .decode(br#"{"model":"m","stream":true,"input":"hi"}"#)
            .unwrap();
        assert!(!responses.hides_usage(&request));
    }
}
