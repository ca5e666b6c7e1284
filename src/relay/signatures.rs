//! Tool-call signatures that a client's protocol cannot carry.
//!
//! Gemini attaches a `thoughtSignature` to function calls and wants it back
//! on the next turn; OpenAI Chat and Anthropic clients have no field for it
//! on a tool call. The gateway remembers each signed call by id, as the
//! client was given it, and puts the signature back when the call returns
//! in the history without one.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;

use crate::protocol::ChatRequest;
use crate::protocol::model::Part;

/// Calls remembered; older ones are forgotten first.
const CAPACITY: usize = 8192;

/// Signatures of recent tool calls, by call id.
#[derive(Debug)]
pub struct SignatureCache {
    calls: Mutex<LruCache<String, String>>,
}

impl Default for SignatureCache {
    fn default() -> Self {
        SignatureCache {
            calls: Mutex::new(LruCache::new(
                NonZeroUsize::new(CAPACITY).expect("capacity is not zero"),
            )),
        }
    }
}

impl SignatureCache {
    /// Remembers the signature handed to the client with call `id`.
    pub fn remember(&self, id: &str, signature: &str) {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .put(id.to_string(), signature.to_string());
    }

    /// Restores remembered signatures on tool calls that came back without one.
    pub fn restore(&self, request: &mut ChatRequest) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        if calls.is_empty() {
            return;
        }
        for message in &mut request.messages {
            for part in &mut message.content {
                if let Part::ToolCall(call) = part
                    && call.signature.is_none()
                    && let Some(signature) = calls.get(&call.id)
                {
                    call.signature = Some(signature.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::model::{Message, Role, ToolCall};

    #[test]
    fn a_signature_returns_to_its_call() {
        let cache = SignatureCache::default();
        cache.remember("call_7", "sig-7");
        let call = |id: &str| {
            Part::ToolCall(ToolCall {
                id: id.into(),
                name: "f".into(),
                arguments: "{}".into(),
                signature: None,
            })
        };
        let mut request = ChatRequest {
            messages: vec![Message {
                role: Role::Assistant,
                content: vec![call("call_7"), call("call_8")],
            }],
            ..ChatRequest::default()
        };
        cache.restore(&mut request);
        let Part::ToolCall(first) = &request.messages[0].content[0] else {
            panic!()
        };
        let Part::ToolCall(second) = &request.messages[0].content[1] else {
            panic!()
        };
        assert_eq!(first.signature.as_deref(), Some("sig-7"));
        assert_eq!(second.signature, None);
    }
}
