//! Local token estimates, for `count_tokens` when the serving account's
//! provider has no counting endpoint (OpenAI-compatible servers) or it fails.
//!
//! Text is counted with OpenAI's `o200k_base` tokenizer (tiktoken); the
//! message framing adds a few tokens per message as OpenAI's chat format
//! does, and each image counts as a fixed [`IMAGE_TOKENS`]. Other vendors'
//! tokenizers differ by some percent: this is an estimate, never zero for a
//! non-empty request, and it costs no inference.
//!
//! `cl100k_base` is kept too: OpenAI embedding clients (LangChain's
//! `OpenAIEmbeddings`) send inputs as its token ids, and an upstream that
//! takes only text (Gemini) gets them decoded ([`decode_cl100k`]).

use crate::protocol::ChatRequest;
use crate::protocol::model::{Part, Tool};

/// Tokens counted for one image (a mid-sized image in OpenAI's and
/// Anthropic's accounting).
pub const IMAGE_TOKENS: u64 = 1000;
/// Tokens of framing per message (role markers).
const PER_MESSAGE: u64 = 3;
/// Tokens priming the reply.
const REPLY_PRIMING: u64 = 3;

fn count(text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    crate::vocab::o200k_base().encode_ordinary(text).len() as u64
}

/// The `o200k_base` tokens of one text (an embedding input's estimate).
/// Blocking on first use, like [`estimate`].
pub fn count_text(text: &str) -> u64 {
    count(text)
}

/// The text of `cl100k_base` token ids; `None` when an id is not in the
/// vocabulary. Bytes that are not UTF-8 on their own (a character split
/// across inputs) become U+FFFD. Blocking on first use (the vocabulary
/// loads once): call it from a blocking task.
pub fn decode_cl100k(tokens: &[u32]) -> Option<String> {
    let bytes = crate::vocab::cl100k_base().decode_bytes(tokens).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn parts(content: &[Part]) -> u64 {
    content
        .iter()
        .map(|part| match part {
            Part::Text(text) => count(text),
            Part::Image(_) => IMAGE_TOKENS,
            Part::ToolCall(call) => count(&call.name) + count(&call.arguments) + PER_MESSAGE,
            Part::ToolResult(result) => parts(&result.content) + PER_MESSAGE,
            Part::Reasoning(reasoning) => count(&reasoning.text),
        })
        .sum()
}

/// The estimated input tokens of `request`. Blocking on first use (the
/// tokenizer loads once, in about a tenth of a second): call it from a
/// blocking task.
pub fn estimate(request: &ChatRequest) -> u64 {
    let system: u64 = request.system.iter().map(|s| count(s) + PER_MESSAGE).sum();
    let messages: u64 = request.messages.iter().map(|m| parts(&m.content) + PER_MESSAGE).sum();
    let tools: u64 = request
        .tools
        .iter()
        .map(|tool| match tool {
            Tool::Function(function) => {
                count(&function.name)
                    + count(function.description.as_deref().unwrap_or(""))
                    + count(&function.parameters.to_string())
                    + PER_MESSAGE
            }
            Tool::WebSearch => PER_MESSAGE,
        })
        .sum();
    let total = system + messages + tools;
    if total == 0 { 0 } else { total + REPLY_PRIMING }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::model::{FunctionTool, Image, Message, Role};

    #[test]
    fn text_is_counted_with_a_real_tokenizer() {
        assert_eq!(count("hello world"), 2);
        assert_eq!(count(""), 0);
        let request = ChatRequest {
            system: vec!["You are terse.".into()],
            messages: vec![Message::text(Role::User, "hello world")],
            ..ChatRequest::default()
        };
        // 4 system + 3 framing, 2 text + 3 framing, 3 priming.
        assert_eq!(estimate(&request), count("You are terse.") + 3 + 2 + 3 + 3);
    }

    #[test]
    fn cl100k_token_ids_decode_to_their_text() {
        let tokens: Vec<u32> = crate::vocab::cl100k_base()
            .encode_ordinary("The food was delicious and the waiter...")
            .into_iter()
            .collect();
        assert_eq!(
            decode_cl100k(&tokens).as_deref(),
            Some("The food was delicious and the waiter...")
        );
        // "hello" in cl100k_base is 15339 (o200k's differs).
        assert_eq!(decode_cl100k(&[15339]).as_deref(), Some("hello"));
        assert_eq!(decode_cl100k(&[u32::MAX]), None);
    }

    #[test]
    fn images_and_tools_count_and_empty_is_zero() {
        assert_eq!(estimate(&ChatRequest::default()), 0);
        let request = ChatRequest {
            messages: vec![Message {
                role: Role::User,
                content: vec![Part::Image(Image::Url("https://example.com/a.png".into()))],
            }],
            tools: vec![Tool::Function(FunctionTool {
                name: "get_weather".into(),
                description: Some("Weather in a city".into()),
                parameters: serde_json::json!({"type": "object"}),
            })],
            ..ChatRequest::default()
        };
        let estimate = estimate(&request);
        assert!(estimate > IMAGE_TOKENS + 5, "{estimate}");
    }
}
