//! `GenerateContentResponse`: decoding the Gemini API's answer and encoding
//! the model's for google-genai clients. The stream codec reuses these types:
//! every streamed chunk is a `GenerateContentResponse` too.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::content::{Audience, CallIds, Content, WirePart, decode_parts, encode_parts, null_as_default};
use crate::protocol::model::{ChatResponse, FinishReason, Part, ResponseMeta, Usage};
use crate::protocol::{ApiError, ErrorKind, parse_json};

/// A whole response, or one chunk of a stream.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct GenerateContentResponse {
    /// The generated candidates (Switchyard asks for and returns one).
    #[serde(deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Candidate>,
    /// Why the prompt was refused, when it was.
    #[serde(alias = "prompt_feedback", skip_serializing_if = "Option::is_none")]
    pub prompt_feedback: Option<PromptFeedback>,
    /// Token accounting so far.
    #[serde(alias = "usage_metadata", skip_serializing_if = "Option::is_none")]
    pub usage_metadata: Option<UsageMetadata>,
    /// The model that answered.
    #[serde(alias = "model_version", skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
    /// The response's id.
    #[serde(alias = "response_id", skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// An error object in place of a response (mid-stream failures).
    #[serde(skip_serializing)]
    pub error: Option<WireError>,
}

/// One candidate.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct Candidate {
    /// The generated turn; absent when a filter withheld it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// Set on the last chunk: `STOP`, `MAX_TOKENS`, `SAFETY`, ...
    #[serde(alias = "finish_reason", skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Candidate index (always 0 here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
}

/// `promptFeedback`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct PromptFeedback {
    /// Set when the prompt itself was blocked (no candidates follow).
    #[serde(alias = "block_reason", skip_serializing_if = "Option::is_none")]
    pub block_reason: Option<String>,
}

/// `usageMetadata`. Gemini counts thoughts apart from candidates and tool-use
/// prompts apart from the prompt; the model's [`Usage`] folds them in.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct UsageMetadata {
    /// Prompt tokens, cached ones included.
    #[serde(alias = "prompt_token_count", skip_serializing_if = "Option::is_none")]
    pub prompt_token_count: Option<u64>,
    /// Generated tokens, thoughts excluded.
    #[serde(alias = "candidates_token_count", skip_serializing_if = "Option::is_none")]
    pub candidates_token_count: Option<u64>,
    /// Everything.
    #[serde(alias = "total_token_count", skip_serializing_if = "Option::is_none")]
    pub total_token_count: Option<u64>,
    /// Prompt tokens served from the context cache.
    #[serde(alias = "cached_content_token_count", skip_serializing_if = "Option::is_none")]
    pub cached_content_token_count: Option<u64>,
    /// Thinking tokens.
    #[serde(alias = "thoughts_token_count", skip_serializing_if = "Option::is_none")]
    pub thoughts_token_count: Option<u64>,
    /// Prompt tokens of tool results Gemini ran itself (search, code).
    #[serde(alias = "tool_use_prompt_token_count", skip_serializing)]
    pub tool_use_prompt_token_count: Option<u64>,
}

impl UsageMetadata {
    /// Overwrites the counts `newer` has, keeping the others.
    pub fn merge(&mut self, newer: UsageMetadata) {
        fn take(mine: &mut Option<u64>, theirs: Option<u64>) {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
        take(&mut self.prompt_token_count, newer.prompt_token_count);
        take(&mut self.candidates_token_count, newer.candidates_token_count);
        take(&mut self.total_token_count, newer.total_token_count);
        take(&mut self.cached_content_token_count, newer.cached_content_token_count);
        take(&mut self.thoughts_token_count, newer.thoughts_token_count);
        take(&mut self.tool_use_prompt_token_count, newer.tool_use_prompt_token_count);
    }

    /// In the model's convention: input includes cached and tool-use prompt
    /// tokens, output includes thoughts.
    pub fn to_usage(self) -> Usage {
        let thoughts = self.thoughts_token_count.unwrap_or(0);
        Usage {
            input_tokens: self
                .prompt_token_count
                .unwrap_or(0)
                .saturating_add(self.tool_use_prompt_token_count.unwrap_or(0)),
            output_tokens: self.candidates_token_count.unwrap_or(0).saturating_add(thoughts),
            cached_input_tokens: self.cached_content_token_count.unwrap_or(0),
            cache_creation_input_tokens: 0,
            reasoning_tokens: thoughts,
        }
    }

    /// From the model's convention; zero cached and thought counts are left out
    /// as the API does.
    pub fn from_usage(usage: &Usage) -> UsageMetadata {
        let thoughts = usage.reasoning_tokens.min(usage.output_tokens);
        UsageMetadata {
            prompt_token_count: Some(usage.input_tokens),
            candidates_token_count: Some(usage.output_tokens - thoughts),
            total_token_count: Some(usage.input_tokens.saturating_add(usage.output_tokens)),
            cached_content_token_count: (usage.cached_input_tokens > 0).then_some(usage.cached_input_tokens),
            thoughts_token_count: (thoughts > 0).then_some(thoughts),
            tool_use_prompt_token_count: None,
        }
    }
}

/// `{"error": {code, message, status}}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WireError {
    /// HTTP status.
    pub code: Option<u16>,
    /// What went wrong.
    pub message: Option<String>,
    /// gRPC status name (`RESOURCE_EXHAUSTED`, ...).
    pub status: Option<String>,
}

impl WireError {
    /// As an [`ApiError`] with the upstream's status and message.
    pub fn to_api_error(&self) -> ApiError {
        let status = self.code.filter(|code| (400..=599).contains(code)).unwrap_or(500);
        let message = match (&self.message, &self.status) {
            (Some(message), _) => message.clone(),
            (None, Some(status)) => status.clone(),
            (None, None) => "the Gemini upstream reported an error without a message".into(),
        };
        ApiError::upstream(status, message)
    }
}

/// Gemini's `finishReason` in the model's terms. `STOP` after a function
/// call is [`FinishReason::ToolCalls`], which Gemini does not distinguish.
pub(super) fn decode_finish_reason(reason: &str, saw_tool_call: bool) -> FinishReason {
    match reason {
        "STOP" if saw_tool_call => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_string()),
    }
}

/// The model's finish reason as a Gemini `finishReason`.
pub(super) fn encode_finish_reason(reason: &FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop | FinishReason::StopSequence | FinishReason::ToolCalls => "STOP",
        FinishReason::Length => "MAX_TOKENS",
        FinishReason::ContentFilter => "SAFETY",
        FinishReason::Other(_) => "OTHER",
    }
}

/// What a relayed answer is read for: its usage, and whether it is an error.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUsageOnly {
    #[serde(alias = "usage_metadata")]
    usage_metadata: Option<UsageMetadata>,
    error: Option<WireError>,
}

/// The usage of the Gemini API's non-streamed answer, read without
/// decoding the rest (a relayed answer is passed on as it is).
pub fn decode_usage(body: &[u8]) -> Result<Usage, ApiError> {
    let wire: WireUsageOnly = serde_json::from_slice(body)
        .map_err(|err| ApiError::upstream(502, format!("the Gemini upstream's answer could not be read: {err}")))?;
    if let Some(error) = &wire.error {
        return Err(error.to_api_error());
    }
    Ok(wire.usage_metadata.unwrap_or_default().to_usage())
}

/// Decodes the Gemini API's non-streamed answer. Function calls without an
/// id get [`ResponseMeta::tool_call_id`]; a prompt blocked before any
/// candidate is an empty response that stopped for
/// [`FinishReason::ContentFilter`].
pub fn decode_response(body: &[u8], meta: &ResponseMeta) -> Result<ChatResponse, ApiError> {
    let wire: GenerateContentResponse = parse_json(body)?;
    if let Some(error) = &wire.error {
        return Err(error.to_api_error());
    }
    let usage = wire.usage_metadata.unwrap_or_default().to_usage();
    let model = wire.model_version.unwrap_or_else(|| meta.model.clone());

    let Some(candidate) = wire.candidates.into_iter().next() else {
        if wire
            .prompt_feedback
            .and_then(|feedback| feedback.block_reason)
            .is_some()
        {
            return Ok(ChatResponse {
                model,
                content: Vec::new(),
                finish_reason: FinishReason::ContentFilter,
                usage,
            });
        }
        return Err(ApiError::new(
            ErrorKind::Api,
            "the Gemini upstream answered with no candidate and no reason",
        ));
    };

    let make = |n: usize| meta.tool_call_id(n);
    let mut ids = CallIds::new(&make);
    let content = decode_parts(
        candidate.content.map(|content| content.parts).unwrap_or_default(),
        &mut ids,
    );
    let saw_tool_call = content.iter().any(|part| matches!(part, Part::ToolCall(_)));
    let finish_reason = match candidate.finish_reason.as_deref() {
        Some(reason) => decode_finish_reason(reason, saw_tool_call),
        None if saw_tool_call => FinishReason::ToolCalls,
        None => FinishReason::Stop,
    };
    Ok(ChatResponse {
        model,
        content,
        finish_reason,
        usage,
    })
}

/// Encodes a response for a google-genai client: `responseId` is `meta.id`,
/// `modelVersion` is `meta.model`, one candidate at index 0.
pub fn encode_response(response: &ChatResponse, meta: &ResponseMeta) -> serde_json::Value {
    let mut parts = encode_parts(&response.content, Audience::Client, &HashMap::new());
    let content = if parts.is_empty() && response.finish_reason == FinishReason::ContentFilter {
        // What the API does when a filter withheld the output.
        None
    } else {
        if parts.is_empty() {
            // google-genai's chat history drops turns whose content has no part.
            parts.push(WirePart {
                text: Some(String::new()),
                ..WirePart::default()
            });
        }
        Some(Content {
            parts,
            role: Some("model".into()),
        })
    };
    let wire = GenerateContentResponse {
        candidates: vec![Candidate {
            content,
            finish_reason: Some(encode_finish_reason(&response.finish_reason).into()),
            index: Some(0),
        }],
        prompt_feedback: None,
        usage_metadata: Some(UsageMetadata::from_usage(&response.usage)),
        model_version: Some(meta.model.clone()),
        response_id: Some(meta.id.clone()),
        error: None,
    };
    serde_json::to_value(wire).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
