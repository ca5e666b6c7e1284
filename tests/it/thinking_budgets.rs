//! Thinking budgets between protocols: what each client asks for
//! (Anthropic `thinking.budget_tokens` or adaptive thinking with
//! `output_config.effort`, OpenAI `reasoning_effort`, Responses
//! `reasoning.effort`, Gemini `thinkingConfig`) and what each upstream
//! receives.
//!
//! The mapping: an effort becomes Gemini's own budgets for low/medium/high
//! (1024 / 8192 / 24576, what Google's OpenAI-compatible endpoint uses) and
//! Anthropic budgets of 2048 / 8192 / 24576 (Anthropic's floor is 1024); a
//! budget becomes an effort for OpenAI by range (≤1024 low, ≤8192 medium,
//! above high); budget 0 / effort none turns thinking off.

use crate::common;

use common::rig::{Rig, each, model_of};
use serde_json::{Value, json};
use switchyard::config::ProviderKind::{self, Anthropic, Gemini, Openai};

/// One direction: a client request, the upstream it goes to, and the values
/// (by JSON pointer) that upstream must receive; `Value::Null` means absent.
struct Case {
    label: &'static str,
    path: &'static str,
    body: Value,
    upstream: ProviderKind,
    expect: Vec<(&'static str, Value)>,
}

fn anthropic(thinking: Value, extra: Value, upstream: ProviderKind) -> (&'static str, Value) {
    let mut body = json!({"model": model_of(upstream), "max_tokens": 16000, "thinking": thinking,
        "messages": [{"role": "user", "content": "Think, then answer."}]});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    ("/v1/messages", body)
}

fn openai(effort: &str, upstream: ProviderKind) -> (&'static str, Value) {
    (
        "/v1/chat/completions",
        json!({"model": model_of(upstream), "reasoning_effort": effort,
            "messages": [{"role": "user", "content": "Think, then answer."}]}),
    )
}

fn responses(effort: &str, upstream: ProviderKind) -> (&'static str, Value) {
    (
        "/v1/responses",
        json!({"model": model_of(upstream), "reasoning": {"effort": effort, "summary": "auto"},
            "input": "Think, then answer."}),
    )
}

fn gemini(config: Value) -> (&'static str, Value) {
    // The Gemini path carries the model; `run` fills it in.
    (
        "/v1beta/models/{model}:generateContent",
        json!({"contents": [{"role": "user", "parts": [{"text": "Think, then answer."}]}],
            "generationConfig": {"thinkingConfig": config}}),
    )
}

fn case(
    label: &'static str,
    (path, body): (&'static str, Value),
    upstream: ProviderKind,
    expect: Vec<(&'static str, Value)>,
) -> (String, Case) {
    (
        label.to_string(),
        Case {
            label,
            path,
            body,
            upstream,
            expect,
        },
    )
}

const GEMINI_BUDGET: &str = "/generationConfig/thinkingConfig/thinkingBudget";
const GEMINI_THOUGHTS: &str = "/generationConfig/thinkingConfig/includeThoughts";

fn cases() -> Vec<(String, Case)> {
    vec![
        // Anthropic client, explicit budget.
        case(
            "anthropic budget 5000 → gemini",
            anthropic(json!({"type": "enabled", "budget_tokens": 5000}), json!({}), Gemini),
            Gemini,
            vec![(GEMINI_BUDGET, json!(5000)), (GEMINI_THOUGHTS, json!(true))],
        ),
        case(
            "anthropic budget 5000 → openai",
            anthropic(json!({"type": "enabled", "budget_tokens": 5000}), json!({}), Openai),
            Openai,
            vec![("/reasoning_effort", json!("medium"))],
        ),
        case(
            "anthropic budget 5000 → anthropic (relayed)",
            anthropic(json!({"type": "enabled", "budget_tokens": 5000}), json!({}), Anthropic),
            Anthropic,
            vec![("/thinking/budget_tokens", json!(5000))],
        ),
        // Claude Code: adaptive thinking with an effort.
        case(
            "anthropic adaptive + effort high → gemini",
            anthropic(
                json!({"type": "adaptive"}),
                json!({"output_config": {"effort": "high"}}),
                Gemini,
            ),
            Gemini,
            vec![(GEMINI_BUDGET, json!(24576)), (GEMINI_THOUGHTS, json!(true))],
        ),
        case(
            "anthropic adaptive + effort high → openai",
            anthropic(
                json!({"type": "adaptive"}),
                json!({"output_config": {"effort": "high"}}),
                Openai,
            ),
            Openai,
            vec![("/reasoning_effort", json!("high"))],
        ),
        case(
            "anthropic disabled → gemini",
            anthropic(json!({"type": "disabled"}), json!({}), Gemini),
            Gemini,
            vec![(GEMINI_BUDGET, json!(0)), (GEMINI_THOUGHTS, Value::Null)],
        ),
        // OpenAI Chat client.
        case(
            "openai low → gemini",
            openai("low", Gemini),
            Gemini,
            vec![(GEMINI_BUDGET, json!(1024)), (GEMINI_THOUGHTS, json!(true))],
        ),
        case(
            "openai low → anthropic",
            openai("low", Anthropic),
            Anthropic,
            vec![
                ("/thinking/type", json!("enabled")),
                ("/thinking/budget_tokens", json!(2048)),
            ],
        ),
        case(
            "openai high → anthropic",
            openai("high", Anthropic),
            Anthropic,
            vec![("/thinking/budget_tokens", json!(24576))],
        ),
        // Responses client.
        case(
            "responses medium → gemini",
            responses("medium", Gemini),
            Gemini,
            vec![(GEMINI_BUDGET, json!(8192)), (GEMINI_THOUGHTS, json!(true))],
        ),
        case(
            "responses medium → anthropic",
            responses("medium", Anthropic),
            Anthropic,
            vec![("/thinking/budget_tokens", json!(8192))],
        ),
        case(
            "responses high → openai",
            responses("high", Openai),
            Openai,
            vec![("/reasoning_effort", json!("high"))],
        ),
        // Gemini client.
        case(
            "gemini budget 3000 → anthropic",
            gemini(json!({"thinkingBudget": 3000, "includeThoughts": true})),
            Anthropic,
            vec![("/thinking/budget_tokens", json!(3000))],
        ),
        case(
            "gemini budget 3000 → openai",
            gemini(json!({"thinkingBudget": 3000})),
            Openai,
            vec![("/reasoning_effort", json!("medium"))],
        ),
        case(
            "gemini budget 512 → anthropic (raised to its floor)",
            gemini(json!({"thinkingBudget": 512})),
            Anthropic,
            vec![("/thinking/budget_tokens", json!(1024))],
        ),
        case(
            "gemini budget 0 → anthropic (thinking off)",
            gemini(json!({"thinkingBudget": 0})),
            Anthropic,
            vec![("/thinking", Value::Null)],
        ),
        case(
            "gemini level low → openai",
            gemini(json!({"thinkingLevel": "low"})),
            Openai,
            vec![("/reasoning_effort", json!("low"))],
        ),
        case(
            "gemini budget 3000 → gemini (relayed)",
            gemini(json!({"thinkingBudget": 3000, "includeThoughts": true})),
            Gemini,
            vec![(GEMINI_BUDGET, json!(3000)), (GEMINI_THOUGHTS, json!(true))],
        ),
    ]
}

#[tokio::test]
async fn thinking_budgets_map_in_every_direction() {
    let rig = Rig::start().await;
    each(cases(), |case| {
        let rig = rig.clone();
        async move {
            let path = case.path.replace("{model}", model_of(case.upstream));
            let response = common::post(&rig.base(), &path)
                .header("anthropic-version", "2023-06-01")
                .json(&case.body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            assert_eq!(status, 200, "{}: {text}", case.label);
            let received = rig.last(case.upstream).json();
            for (pointer, want) in &case.expect {
                let got = received.pointer(pointer).cloned().unwrap_or(Value::Null);
                assert_eq!(&got, want, "{}: {pointer} in {received}", case.label);
            }
            if case.upstream == Anthropic
                && let Some(budget) = received.pointer("/thinking/budget_tokens").and_then(Value::as_u64)
            {
                let max_tokens = received["max_tokens"].as_u64().unwrap();
                assert!(
                    max_tokens > budget,
                    "Anthropic wants max_tokens above the budget: {received}"
                );
            }
        }
    })
    .await;
}
