//! The translation matrix (SPEC §5): every client protocol against every
//! upstream provider, complete and streamed, scenario by scenario. Each case
//! checks what the upstream received (in its own wire format, read back into
//! a neutral form) and what the client got (read as strictly as its SDK
//! would), including usage and the finish reason.

use crate::common;

use std::sync::Arc;

use common::clients::{CLIENTS, Client, GEMINI, Reply};
use common::conversation::{
    ANSWER, Answer, Ask, Call, Canned, Finish, Item, Msg, Received, Role, ToolOutput, Turn, USAGE, weather_args,
    weather_output, weather_tool,
};
use common::rig::{Pair, Rig, each, model_of, pairs};
use common::upstreams::call_id;
use serde_json::{Value, json};
use switchyard::config::ProviderKind;

/// Sends `ask` with the upstream answering `canned`, and checks what every
/// exchange must show: one upstream request, for the right model, with the
/// account's key, streamed as asked; a 200 whose answer carries the usage
/// and names the requested model.
async fn exchange(rig: &Rig, pair: Pair, ask: Ask, canned: Canned) -> (Received, Answer) {
    let ask = ask.streamed(pair.stream);
    rig.answer(pair.upstream, canned);
    let before = rig.mock(pair.upstream).count();
    let reply: Reply = pair.client.call(&rig.base(), &ask).await;
    assert_eq!(reply.status, 200, "body: {}", reply.body);
    assert_eq!(reply.error, None, "body: {}", reply.body);
    assert_eq!(
        rig.mock(pair.upstream).count(),
        before + 1,
        "exactly one upstream request"
    );
    let received = rig.received(pair.upstream);
    assert_eq!(received.model, pair.model());
    assert_eq!(received.key, format!("upstream-secret-{}", pair.upstream));
    assert_eq!(
        received.stream, pair.stream,
        "the upstream streams when the client does"
    );
    assert_eq!(reply.answer.usage, Some(USAGE), "usage survives; body: {}", reply.body);
    assert_eq!(
        reply.answer.model.as_deref(),
        Some(pair.model()),
        "body: {}",
        reply.body
    );
    (received, reply.answer)
}

fn text_answer() -> String {
    ANSWER.concat()
}

async fn plain_text_for(clients: &[Client]) {
    let rig = Rig::start().await;
    each(pairs(clients, &[false, true]), |pair| {
        let rig = Arc::clone(&rig);
        async move {
            let ask = Ask::new(pair.model(), "Say hello in French.");
            let (received, answer) = exchange(&rig, pair, ask, Canned::text(Finish::Stop)).await;
            assert_eq!(received.system, Vec::<String>::new());
            assert_eq!(received.messages, vec![Msg::user("Say hello in French.")]);
            assert_eq!(received.tools, vec![]);
            assert_eq!(received.stop, Vec::<String>::new());
            assert_eq!(answer.text, text_answer());
            assert_eq!(answer.calls, vec![]);
            assert_eq!(answer.finish, Some(Finish::Stop));
        }
    })
    .await;
}

#[tokio::test]
async fn plain_text() {
    plain_text_for(&CLIENTS).await;
}

#[tokio::test]
async fn system_prompt() {
    let rig = Rig::start().await;
    each(pairs(&CLIENTS, &[false, true]), |pair| {
        let rig = Arc::clone(&rig);
        async move {
            let mut ask = Ask::new(pair.model(), "Say hello.");
            ask.system = Some("You are terse. Answer in French.".into());
            let (received, answer) = exchange(&rig, pair, ask, Canned::text(Finish::Stop)).await;
            assert_eq!(received.system, vec!["You are terse. Answer in French.".to_string()]);
            assert_eq!(received.messages, vec![Msg::user("Say hello.")]);
            assert_eq!(answer.text, text_answer());
            assert_eq!(answer.finish, Some(Finish::Stop));
        }
    })
    .await;
}

#[tokio::test]
async fn multi_turn() {
    let rig = Rig::start().await;
    each(pairs(&CLIENTS, &[false, true]), |pair| {
        let rig = Arc::clone(&rig);
        async move {
            let mut ask = Ask::new(pair.model(), "What is the capital of France?");
            ask.turns.push(Turn::Assistant("Paris.".into()));
            ask.turns.push(Turn::User("And what is the weather there?".into()));
            let (received, answer) = exchange(&rig, pair, ask, Canned::text(Finish::Stop)).await;
            assert_eq!(
                received.messages,
                vec![
                    Msg::user("What is the capital of France?"),
                    Msg::assistant("Paris."),
                    Msg::user("And what is the weather there?"),
                ]
            );
            assert_eq!(answer.text, text_answer());
        }
    })
    .await;
}

async fn tool_round_trip_for(clients: &[Client]) {
    let rig = Rig::start().await;
    each(pairs(clients, &[false, true]), |pair| {
        let rig = Arc::clone(&rig);
        async move {
            // The model calls the tool; its arguments stream in fragments.
            let mut ask = Ask::new(pair.model(), "What's the weather in Paris?");
            ask.tools = vec![weather_tool()];
            let (received, answer) = exchange(&rig, pair, ask.clone(), Canned::weather_call()).await;
            assert_eq!(received.tools, vec![weather_tool()]);
            assert_eq!(received.messages, vec![Msg::user("What's the weather in Paris?")]);
            assert_eq!(answer.finish, Some(Finish::ToolCalls));
            assert_eq!(answer.text, "");
            let [call] = answer.calls.as_slice() else {
                panic!("one tool call expected: {answer:?}");
            };
            assert_eq!(call.name, "get_weather");
            assert_eq!(call.args, weather_args());
            match (call_id(pair.upstream, 0), pair.passthrough()) {
                // OpenAI and Anthropic name their calls; the id reaches the client.
                (Some(id), _) => assert_eq!(call.id.as_deref(), Some(id)),
                // Gemini names none: relayed as is, or named by the gateway.
                (None, true) => assert_eq!(call.id, None),
                (None, false) => assert!(call.id.as_ref().is_some_and(|id| !id.is_empty()), "{call:?}"),
            }

            // The client runs the tool and sends the result; the model answers.
            ask.turns.push(Turn::Calls(vec![call.clone()]));
            ask.turns
                .push(Turn::Results(vec![ToolOutput::to(call, weather_output())]));
            let (received, answer) = exchange(&rig, pair, ask, Canned::text(Finish::Stop)).await;
            let result_name = (pair.upstream == ProviderKind::Gemini).then(|| "get_weather".to_string());
            assert_eq!(
                received.messages,
                vec![
                    Msg::user("What's the weather in Paris?"),
                    Msg {
                        role: Role::Assistant,
                        items: vec![Item::Call(Call {
                            id: call.id.clone(),
                            name: "get_weather".into(),
                            args: weather_args(),
                        })],
                    },
                    Msg {
                        role: Role::User,
                        items: vec![Item::Result {
                            id: call.id.clone(),
                            name: result_name,
                            output: weather_output(),
                        }],
                    },
                ]
            );
            assert_eq!(received.tools, vec![weather_tool()]);
            assert_eq!(answer.text, text_answer());
            assert_eq!(answer.finish, Some(Finish::Stop));
        }
    })
    .await;
}

#[tokio::test]
async fn tool_call_round_trip() {
    tool_round_trip_for(&CLIENTS).await;
}

fn rome_args() -> Value {
    json!({"city": "Rome", "unit": "celsius"})
}

fn rome_output() -> Value {
    json!({"temperature_c": 25, "sky": "cloudy"})
}

/// The upstream's view of a turn that made `calls`, and of the turn that
/// answered them with `outputs` (only Gemini's results name the function).
fn calls_and_results(calls: &[Call], outputs: &[Value], upstream: ProviderKind) -> [Msg; 2] {
    let name = (upstream == ProviderKind::Gemini).then(|| "get_weather".to_string());
    [
        Msg {
            role: Role::Assistant,
            items: calls.iter().cloned().map(Item::Call).collect(),
        },
        Msg {
            role: Role::User,
            items: calls
                .iter()
                .zip(outputs)
                .map(|(call, output)| Item::Result {
                    id: call.id.clone(),
                    name: name.clone(),
                    output: output.clone(),
                })
                .collect(),
        },
    ]
}

/// Two calls in one turn, to the same function: each result must reach the
/// upstream paired with its own call, though Gemini names neither.
#[tokio::test]
async fn parallel_tool_calls_round_trip() {
    let rig = Rig::start().await;
    each(pairs(&CLIENTS, &[false, true]), |pair| {
        let rig = Arc::clone(&rig);
        async move {
            let mut ask = Ask::new(pair.model(), "Weather in Paris and in Rome?");
            ask.tools = vec![weather_tool()];
            let (_, answer) = exchange(&rig, pair, ask.clone(), Canned::two_weather_calls()).await;
            assert_eq!(answer.finish, Some(Finish::ToolCalls));
            let args: Vec<Value> = answer.calls.iter().map(|call| call.args.clone()).collect();
            assert_eq!(args, [weather_args(), rome_args()]);
            let ids: Vec<Option<&str>> = answer.calls.iter().map(|call| call.id.as_deref()).collect();
            match (call_id(pair.upstream, 0), pair.passthrough()) {
                (Some(_), _) => assert_eq!(ids, [call_id(pair.upstream, 0), call_id(pair.upstream, 1)]),
                (None, true) => assert_eq!(ids, [None, None]),
                (None, false) => assert!(ids[0].is_some() && ids[1].is_some() && ids[0] != ids[1], "{ids:?}"),
            }

            let called = answer.calls;
            let outputs = [weather_output(), rome_output()];
            ask.turns.push(Turn::Calls(called.clone()));
            ask.turns.push(Turn::Results(
                called
                    .iter()
                    .zip(&outputs)
                    .map(|(call, output)| ToolOutput::to(call, output.clone()))
                    .collect(),
            ));
            let (received, answer) = exchange(&rig, pair, ask, Canned::text(Finish::Stop)).await;
            let [calls, results] = calls_and_results(&called, &outputs, pair.upstream);
            assert_eq!(received.messages.len(), 3, "{:?}", received.messages);
            assert_eq!(received.messages[1], calls);
            assert_eq!(received.messages[2], results);
            assert_eq!(answer.text, text_answer());
        }
    })
    .await;
}

/// The calls of the assistant turn an upstream received.
fn answer_calls(received: &Received) -> Vec<Call> {
    received.messages[1]
        .items
        .iter()
        .map(|item| match item {
            Item::Call(call) => call.clone(),
            other => panic!("the assistant turn holds {other:?}"),
        })
        .collect()
}

/// History from the Gemini API names no calls; the gateway names them for
/// upstreams that need ids and pairs each result with its call by order.
#[tokio::test]
async fn gemini_history_without_call_ids_pairs_results_with_calls() {
    let rig = Rig::start().await;
    let targets = [ProviderKind::Openai, ProviderKind::Anthropic];
    for (upstream, stream) in targets.into_iter().flat_map(|u| [(u, false), (u, true)]) {
        let calls = [weather_args(), rome_args()].map(|args| Call {
            id: None,
            name: "get_weather".into(),
            args,
        });
        let outputs = [weather_output(), rome_output()];
        let mut ask = Ask::new(model_of(upstream), "Weather in Paris and in Rome?");
        ask.tools = vec![weather_tool()];
        ask.turns.push(Turn::Calls(calls.to_vec()));
        ask.turns.push(Turn::Results(
            calls
                .iter()
                .zip(&outputs)
                .map(|(call, output)| ToolOutput::to(call, output.clone()))
                .collect(),
        ));
        let pair = Pair {
            client: GEMINI,
            upstream,
            stream,
        };
        let (received, _) = exchange(&rig, pair, ask, Canned::text(Finish::Stop)).await;
        let named = answer_calls(&received);
        let ids: Vec<&str> = named
            .iter()
            .map(|call| call.id.as_deref().unwrap_or_default())
            .collect();
        assert!(!ids[0].is_empty() && !ids[1].is_empty() && ids[0] != ids[1], "{ids:?}");
        let args: Vec<Value> = named.iter().map(|call| call.args.clone()).collect();
        assert_eq!(args, [weather_args(), rome_args()]);
        let [_, results] = calls_and_results(&named, &outputs, upstream);
        assert_eq!(received.messages[2], results, "{upstream}");
    }
}

#[tokio::test]
async fn max_tokens() {
    let rig = Rig::start().await;
    each(pairs(&CLIENTS, &[false, true]), |pair| {
        let rig = Arc::clone(&rig);
        async move {
            let mut ask = Ask::new(pair.model(), "Tell me a long story.");
            ask.max_tokens = Some(42);
            let (received, answer) = exchange(&rig, pair, ask, Canned::text(Finish::Length)).await;
            assert_eq!(received.max_tokens, Some(42));
            assert_eq!(answer.text, text_answer());
            assert_eq!(answer.finish, Some(Finish::Length));
        }
    })
    .await;
}

#[tokio::test]
async fn stop_sequences() {
    let rig = Rig::start().await;
    each(pairs(&CLIENTS, &[false, true]), |pair| {
        let rig = Arc::clone(&rig);
        async move {
            let mut ask = Ask::new(pair.model(), "Count to ten, then say END.");
            ask.stop = vec!["END".into(), "###".into()];
            let (received, answer) = exchange(&rig, pair, ask, Canned::text(Finish::StopSequence)).await;
            assert_eq!(received.stop, vec!["END".to_string(), "###".to_string()]);
            assert_eq!(answer.text, text_answer());
            // Only Anthropic has a word for it; everywhere else it is a plain stop.
            let expected = if pair.client == Client::Anthropic && pair.upstream == ProviderKind::Anthropic {
                Finish::StopSequence
            } else {
                Finish::Stop
            };
            assert_eq!(answer.finish, Some(expected));
        }
    })
    .await;
}

#[tokio::test]
async fn a_filtered_answer_is_reported_as_filtered() {
    let rig = Rig::start().await;
    each(pairs(&CLIENTS, &[false, true]), |pair| {
        let rig = Arc::clone(&rig);
        async move {
            let ask = Ask::new(pair.model(), "Something the filter withholds.");
            let (_, answer) = exchange(&rig, pair, ask, Canned::text(Finish::ContentFilter)).await;
            assert_eq!(answer.finish, Some(Finish::ContentFilter));
        }
    })
    .await;
}

/// The other ways google-genai clients call: the `/v1/models/...` paths of
/// the Python SDK, and streams as one JSON array (no `alt=sse`).
#[tokio::test]
async fn gemini_v1_paths_and_array_streams() {
    let flavours = [
        Client::Gemini { v1: true, sse: true },
        Client::Gemini { v1: false, sse: false },
        Client::Gemini { v1: true, sse: false },
    ];
    plain_text_for(&flavours).await;
    tool_round_trip_for(&flavours).await;
}
