//! What a request asks (read from each wire format, with the checks the
//! real APIs make of a history) and the answer the mock gives it.

use serde_json::{Value, json};

use crate::respond::Wire;

/// What a request asks, in the terms the canned answers need.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Ask {
    /// The model named by the request (body or path).
    pub(crate) model: String,
    /// Stream the answer.
    pub(crate) stream: bool,
    /// OpenAI `stream_options.include_usage`.
    pub(crate) include_usage: bool,
    /// The text of the last user message that has text.
    pub(crate) user_text: String,
    /// The first declared tool.
    pub(crate) tool: Option<ToolSpec>,
    /// The text of the tool result the last message carries.
    pub(crate) tool_result: Option<String>,
    /// A call the user text asked for with `[call NAME {JSON}]`: the name
    /// and the arguments' JSON text.
    pub(crate) requested_call: Option<(String, String)>,
    /// The request asks for thinking: the answer opens with a signed thought.
    pub(crate) thinking: bool,
    /// A token count for usage, from the body size.
    pub(crate) prompt_tokens: u64,
    /// Text events of a streamed text answer ([`crate::Options::pieces`]).
    pub(crate) pieces: usize,
}

/// A declared tool: its name and its first parameter (name, JSON type).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolSpec {
    pub(crate) name: String,
    pub(crate) first_param: Option<(String, String)>,
}

impl ToolSpec {
    pub(crate) fn from_schema(name: &str, schema: Option<&Value>) -> ToolSpec {
        let first_param = schema
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .and_then(|properties| properties.iter().next())
            .map(|(name, property)| {
                let kind = property.get("type").and_then(Value::as_str).unwrap_or("string");
                (name.clone(), kind.to_ascii_lowercase())
            });
        ToolSpec {
            name: name.to_string(),
            first_param,
        }
    }
}

/// The answer to give.
#[derive(Debug, PartialEq)]
pub(crate) enum Answer {
    Text(String),
    ToolCall { name: String, arguments: String },
}

impl Answer {
    pub(crate) fn len(&self) -> usize {
        match self {
            Answer::Text(text) => text.len(),
            Answer::ToolCall { name, arguments } => name.len() + arguments.len(),
        }
    }
}

pub(crate) fn answer(ask: &Ask, wire: Wire) -> Answer {
    let signature = format!("[mock {} {}]", wire.name(), ask.model);
    if let Some(result) = &ask.tool_result {
        return Answer::Text(format!("tool result: {result} · echo: {} {signature}", ask.user_text));
    }
    if let Some((name, arguments)) = &ask.requested_call {
        return Answer::ToolCall {
            name: name.clone(),
            arguments: arguments.clone(),
        };
    }
    match &ask.tool {
        Some(tool) => {
            let arguments = match &tool.first_param {
                None => json!({}),
                Some((name, kind)) => {
                    let value = match kind.as_str() {
                        "integer" | "number" => json!(42),
                        "boolean" => json!(true),
                        "array" => json!([ask.user_text]),
                        "object" => json!({}),
                        _ => json!(ask.user_text),
                    };
                    json!({ name: value })
                }
            };
            Answer::ToolCall {
                name: tool.name.clone(),
                arguments: arguments.to_string(),
            }
        }
        None => Answer::Text(format!("echo: {} {signature}", ask.user_text)),
    }
}

/// The call a user text asks for with `[call NAME {JSON}]`, the arguments
/// being a JSON object: its name and the arguments' JSON text.
pub(crate) fn requested_call(text: &str) -> Option<(String, String)> {
    const OPEN: &str = "[call ";
    let rest = &text[text.find(OPEN)? + OPEN.len()..];
    let (name, rest) = rest.split_once(' ')?;
    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
    let arguments = values.next()?.ok()?;
    let after = &rest[values.byte_offset()..];
    (arguments.is_object() && after.starts_with(']')).then(|| (name.to_string(), arguments.to_string()))
}

/// The signature on every Gemini function call and thought the mock makes
/// (base64, as Gemini's are), which it wants back on the next turn.
pub(crate) const THOUGHT_SIGNATURE: &str = "bW9jay10aG91Z2h0LXNpZ25hdHVyZQ==";

/// The text of the thought that opens an answer when thinking is asked for.
pub(crate) const MOCK_THOUGHT: &str = "The mock thinks before it answers.";

/// The signature of the mock's Anthropic thinking blocks.
pub(crate) const ANTHROPIC_SIGNATURE: &str = "RXFNb2NrVGhpbmtpbmdTaWduYXR1cmU=";

/// Anthropic's checks of thinking in the history: every thinking block
/// carries the signature it was given, and with thinking on, the last
/// assistant turn that called a tool opens with its thinking.
pub(crate) fn check_thinking(messages: &[Value], thinking_on: bool) -> Result<(), String> {
    let kind = |block: &Value| block.get("type").and_then(Value::as_str).unwrap_or("").to_string();
    let mut assistant_turns = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m.get("role").and_then(Value::as_str) == Some("assistant"));
    for (index, message) in assistant_turns.clone() {
        let blocks = message
            .get("content")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (position, block) in blocks.iter().enumerate() {
            if kind(block) == "thinking" && block.get("signature").and_then(Value::as_str) != Some(ANTHROPIC_SIGNATURE)
            {
                return Err(format!(
                    "messages.{index}.content.{position}: Invalid `signature` in `thinking` block"
                ));
            }
        }
    }
    let Some((index, last)) = assistant_turns.next_back() else {
        return Ok(());
    };
    let blocks = last
        .get("content")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let called = blocks.iter().any(|b| kind(b) == "tool_use");
    let opens_with_thinking = blocks
        .first()
        .is_some_and(|b| kind(b) == "thinking" || kind(b) == "redacted_thinking");
    if thinking_on && called && !opens_with_thinking {
        let found = blocks.first().map(kind).unwrap_or_default();
        return Err(format!(
            "messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{found}`. When \
             `thinking` is enabled, a final `assistant` message must start with a thinking block."
        ));
    }
    Ok(())
}

/// Gemini 3's check: the first function call of each model turn must carry
/// the signature it was given.
pub(crate) fn check_signatures(contents: &[Value]) -> Result<(), String> {
    let field = |v: &Value, camel: &str, snake: &str| v.get(camel).or_else(|| v.get(snake)).cloned();
    for (position, content) in contents.iter().enumerate() {
        if content.get("role").and_then(Value::as_str) != Some("model") {
            continue;
        }
        let parts = content
            .get("parts")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let Some(call) = parts
            .iter()
            .find(|p| field(p, "functionCall", "function_call").is_some())
        else {
            continue;
        };
        let signature = field(call, "thoughtSignature", "thought_signature");
        if signature.as_ref().and_then(Value::as_str) != Some(THOUGHT_SIGNATURE) {
            let name = field(call, "functionCall", "function_call")
                .and_then(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            return Err(format!(
                "Function call is missing a thought_signature in functionCall parts. This is required for tools to work \
                 correctly. Additional data, function call `{name}`, position {position}. (mock_upstream wants back the \
                 signature {THOUGHT_SIGNATURE} it gave.)"
            ));
        }
    }
    Ok(())
}

/// The text of a content that is a string or a list of text parts.
pub(crate) fn text_of(content: &Value) -> Option<String> {
    match content {
        Value::String(text) => Some(text.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter(|part| part.get("type").and_then(Value::as_str).is_none_or(|t| t == "text"))
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect();
            (!texts.is_empty()).then(|| texts.concat())
        }
        _ => None,
    }
}

pub(crate) fn read_openai(body: &Value) -> Result<Ask, String> {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("`messages` is required and must be an array")?;
    let role = |m: &Value| m.get("role").and_then(Value::as_str).unwrap_or("").to_string();
    let user_text = messages
        .iter()
        .rev()
        .filter(|m| role(m) == "user")
        .find_map(|m| m.get("content").and_then(text_of))
        .unwrap_or_default();
    let tool_result = messages
        .last()
        .filter(|m| role(m) == "tool")
        .map(|m| m.get("content").and_then(text_of).unwrap_or_default());
    let tool = body
        .get("tools")
        .and_then(Value::as_array)
        .and_then(|tools| tools.iter().find_map(|t| t.get("function")))
        .and_then(|f| Some(ToolSpec::from_schema(f.get("name")?.as_str()?, f.get("parameters"))));
    Ok(Ask {
        model: body.get("model").and_then(Value::as_str).unwrap_or("").to_string(),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        include_usage: body
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        user_text,
        tool,
        tool_result,
        requested_call: None,
        thinking: false,
        prompt_tokens: 0,
        pieces: 0,
    })
}

pub(crate) fn read_anthropic(body: &Value) -> Result<Ask, String> {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("messages: Field required")?;
    if body.get("max_tokens").and_then(Value::as_u64).is_none() {
        return Err("max_tokens: Field required".to_string());
    }
    let thinking = matches!(
        body.pointer("/thinking/type").and_then(Value::as_str),
        Some("enabled" | "adaptive")
    );
    check_thinking(messages, thinking)?;
    let is_user = |m: &&Value| m.get("role").and_then(Value::as_str) == Some("user");
    let user_text = messages
        .iter()
        .rev()
        .filter(is_user)
        .find_map(|m| m.get("content").and_then(text_of))
        .unwrap_or_default();
    let tool_result = messages.last().filter(is_user).and_then(|m| {
        let blocks = m.get("content")?.as_array()?;
        let result = blocks
            .iter()
            .rev()
            .find(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))?;
        Some(result.get("content").and_then(text_of).unwrap_or_default())
    });
    let tool = body
        .get("tools")
        .and_then(Value::as_array)
        .and_then(|tools| tools.iter().find(|t| t.get("input_schema").is_some()))
        .and_then(|t| Some(ToolSpec::from_schema(t.get("name")?.as_str()?, t.get("input_schema"))));
    Ok(Ask {
        model: body.get("model").and_then(Value::as_str).unwrap_or("").to_string(),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        include_usage: false,
        user_text,
        tool,
        tool_result,
        requested_call: None,
        thinking,
        prompt_tokens: 0,
        pieces: 0,
    })
}

pub(crate) fn read_gemini(body: &Value, model: String, stream: bool) -> Result<Ask, String> {
    let contents = body
        .get("contents")
        .and_then(Value::as_array)
        .ok_or("* GenerateContentRequest.contents: contents is not specified")?;
    check_signatures(contents)?;
    let thinking = ["/generationConfig/thinkingConfig", "/generation_config/thinking_config"]
        .iter()
        .filter_map(|pointer| body.pointer(pointer))
        .any(|config| {
            config.get("includeThoughts").or_else(|| config.get("include_thoughts")) == Some(&Value::Bool(true))
        });
    let parts = |c: &Value| c.get("parts").and_then(Value::as_array).cloned().unwrap_or_default();
    let field = |v: &Value, camel: &str, snake: &str| v.get(camel).or_else(|| v.get(snake)).cloned();
    let user_text = contents
        .iter()
        .rev()
        .filter(|c| c.get("role").and_then(Value::as_str).is_none_or(|r| r == "user"))
        .find_map(|c| {
            let texts: Vec<String> = parts(c)
                .iter()
                .filter(|p| p.get("thought").and_then(Value::as_bool) != Some(true))
                .filter_map(|p| p.get("text").and_then(Value::as_str).map(str::to_string))
                .collect();
            (!texts.is_empty()).then(|| texts.concat())
        })
        .unwrap_or_default();
    let tool_result = contents.last().and_then(|c| {
        let response = parts(c)
            .iter()
            .rev()
            .find_map(|p| field(p, "functionResponse", "function_response"))?;
        Some(response_text(response.get("response").unwrap_or(&Value::Null)))
    });
    let tool = body
        .get("tools")
        .and_then(Value::as_array)
        .and_then(|tools| {
            tools.iter().find_map(|t| {
                field(t, "functionDeclarations", "function_declarations")
                    .and_then(|d| d.as_array().and_then(|d| d.first().cloned()))
            })
        })
        .and_then(|d| {
            let schema =
                field(&d, "parametersJsonSchema", "parameters_json_schema").or_else(|| d.get("parameters").cloned());
            Some(ToolSpec::from_schema(d.get("name")?.as_str()?, schema.as_ref()))
        });
    Ok(Ask {
        model,
        stream,
        include_usage: false,
        user_text,
        tool,
        tool_result,
        requested_call: None,
        thinking,
        prompt_tokens: 0,
        pieces: 0,
    })
}

/// The text of a `functionResponse.response`: the string of its one field
/// (`result`, `output`, ...), else its JSON.
pub(crate) fn response_text(response: &Value) -> String {
    match response {
        Value::String(text) => text.clone(),
        Value::Object(fields) if fields.len() == 1 => match fields.values().next() {
            Some(Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        },
        other => other.to_string(),
    }
}
