"""Drives a running Switchyard gateway through the official Python SDKs.

Started by tests/e2e/run.sh, which provides a gateway in front of
examples/mock_upstream.rs and these environment variables:

  E2E_GATEWAY   the gateway origin, e.g. http://127.0.0.1:PORT
  E2E_KEY       the gateway's API key (the gateway runs with auth_mode strict)
  E2E_MODELS    JSON: {"native": {provider: model}, "alias": {provider: alias}};
                a client asks its own provider by alias (so that a relayed body has its
                model rewritten) and the others by native name (routed by glob)
  E2E_ONLY      optional substring filter on case names ("openai/stream")

For every client SDK (openai, anthropic, google-genai), every upstream provider
(openai, anthropic, gemini) and both modes (complete, stream) one case runs three
turns: a plain question (answer echoes it), a question with a declared tool
(answer is a call of that tool with the question as argument) and the tool's
result sent back (answer quotes the result). Each turn checks content, tool
call name and arguments, finish reason and usage > 0.

The OpenAI SDK's Responses API (`client.responses.create`, complete and
`stream=True`) runs four turns against every upstream: a plain question, a
function call, the call's `function_call_output` sent back with the whole
history, and the same output sent alone with `previous_response_id` (the
answer quotes the original question, so the gateway restored the chain).

Token counting: `anthropic.messages.count_tokens` and google-genai
`models.count_tokens` against every upstream. The mock's counting endpoints
answer 1000 + the words of the request, so a count from an Anthropic or
Gemini upstream is checked exactly; the OpenAI upstream has no counting
endpoint and the gateway's local estimate must be a small positive number.

The legacy `google-generativeai` SDK (0.8, the seed's own snippet uses it)
with `transport="rest"` and `client_options={"api_endpoint": GATEWAY}`:
`generate_content` complete and `stream=True` against every upstream,
`count_tokens` against every upstream and `list_models`.

Embeddings: the OpenAI SDK's `embeddings.create` (its default base64, floats
with `dimensions`, a 300-input batch, an alias for a Gemini model),
google-genai `models.embed_content` with several contents and with one, and
the legacy `embed_content` with one content and a list, each against a gemini
and an openai account; the mock's vectors derive from the text, so every value
and the order are checked.

Then the SDKs' error
types are checked for a wrong key (401) and a doubled `/v1` in the base URL
(404), with Switchyard's guidance in the message, and the model lists every
SDK reads: the upstreams' own catalogues (the mock lists its models; the
embedding model it lists must not show), the aliases, the limits Gemini's list
gives, and an unknown id answered with each SDK's not-found error.

Prints a pass/fail table, the failures in detail, and `N passed, M failed`;
exits 1 when anything failed.
"""

import json
import os
import struct
import sys
import time
import traceback

import warnings

import anthropic
import openai
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as gtypes

with warnings.catch_warnings():
    # It warns on import that it is no longer maintained; clients still use it.
    warnings.simplefilter("ignore")
    import google.generativeai as legacy_genai

GATEWAY = os.environ["E2E_GATEWAY"].rstrip("/")
KEY = os.environ["E2E_KEY"]
MODELS = json.loads(os.environ["E2E_MODELS"])
ONLY = os.environ.get("E2E_ONLY", "")
TIMEOUT = 30.0

CLIENTS = ["openai", "anthropic", "gemini"]
UPSTREAMS = ["openai", "anthropic", "gemini"]
MODES = ["complete", "stream"]

TOOL_NAME = "get_weather"
TOOL_DESCRIPTION = "Current weather for a city."
TOOL_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "City name"}},
    "required": ["city"],
}


class CheckFailed(Exception):
    """A check that did not hold; the message says what was expected."""


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


class Turn:
    """One answer, normalized across SDKs."""

    def __init__(self):
        self.text = ""
        self.calls = []  # [(id, name, arguments dict)]
        self.finish = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.raw = None  # the SDK object(s), for the tool-result turn

    def __repr__(self):
        return (
            f"Turn(text={self.text!r}, calls={self.calls!r}, finish={self.finish!r}, "
            f"usage=({self.input_tokens}, {self.output_tokens}))"
        )


# ---------------------------------------------------------------- OpenAI SDK


class OpenAiClient:
    """Chat Completions through `openai`."""

    FINISH_TEXT = "stop"
    FINISH_TOOL = "tool_calls"

    def __init__(self, base_url=None, key=KEY):
        self.sdk = openai.OpenAI(
            base_url=base_url or f"{GATEWAY}/v1", api_key=key, max_retries=0, timeout=TIMEOUT
        )

    def tools(self):
        return [
            {
                "type": "function",
                "function": {"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "parameters": TOOL_SCHEMA},
            }
        ]

    def ask(self, model, messages, stream, tools=False):
        kwargs = {"model": model, "messages": messages, "max_tokens": 256}
        if tools:
            kwargs["tools"] = self.tools()
        turn = Turn()
        if not stream:
            response = self.sdk.chat.completions.create(**kwargs)
            check(len(response.choices) == 1, f"expected one choice, got {response.choices!r}")
            choice = response.choices[0]
            turn.text = choice.message.content or ""
            for call in choice.message.tool_calls or []:
                turn.calls.append((call.id, call.function.name, parse_arguments(call.function.arguments)))
            turn.finish = choice.finish_reason
            if response.usage:
                turn.input_tokens = response.usage.prompt_tokens
                turn.output_tokens = response.usage.completion_tokens
            return turn
        chunks = list(
            self.sdk.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True})
        )
        check(len(chunks) >= 2, f"expected several chunks, got {len(chunks)}")
        calls = {}
        for chunk in chunks:
            if chunk.usage:
                turn.input_tokens = chunk.usage.prompt_tokens
                turn.output_tokens = chunk.usage.completion_tokens
            for choice in chunk.choices:
                delta = choice.delta
                turn.text += delta.content or ""
                for call in delta.tool_calls or []:
                    entry = calls.setdefault(call.index, {"id": None, "name": "", "arguments": ""})
                    entry["id"] = entry["id"] or call.id
                    if call.function:
                        entry["name"] += call.function.name or ""
                        entry["arguments"] += call.function.arguments or ""
                if choice.finish_reason:
                    turn.finish = choice.finish_reason
        for index in sorted(calls):
            entry = calls[index]
            turn.calls.append((entry["id"], entry["name"], parse_arguments(entry["arguments"])))
        return turn

    def first(self, question):
        return [{"role": "user", "content": question}]

    def with_result(self, messages, call_turn, result):
        call_id, name, arguments = call_turn.calls[0]
        return messages + [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
                ],
            },
            {"role": "tool", "tool_call_id": call_id, "content": result},
        ]


# ------------------------------------------------------------- Anthropic SDK


class AnthropicClient:
    """Messages through `anthropic`."""

    FINISH_TEXT = "end_turn"
    FINISH_TOOL = "tool_use"

    def __init__(self, base_url=None, key=KEY):
        self.sdk = anthropic.Anthropic(base_url=base_url or GATEWAY, api_key=key, max_retries=0, timeout=TIMEOUT)

    def ask(self, model, messages, stream, tools=False):
        kwargs = {"model": model, "messages": messages, "max_tokens": 256}
        if tools:
            kwargs["tools"] = [{"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "input_schema": TOOL_SCHEMA}]
        if stream:
            with self.sdk.messages.stream(**kwargs) as events:
                kinds = [event.type for event in events]
                message = events.get_final_message()
            check(kinds[:1] == ["message_start"], f"stream starts with {kinds[:1]}, not message_start")
            check("message_stop" in kinds, f"stream has no message_stop: {kinds}")
        else:
            message = self.sdk.messages.create(**kwargs)
        turn = Turn()
        turn.raw = message
        for block in message.content:
            if block.type == "text":
                turn.text += block.text
            elif block.type == "tool_use":
                turn.calls.append((block.id, block.name, block.input))
        turn.finish = message.stop_reason
        turn.input_tokens = message.usage.input_tokens
        turn.output_tokens = message.usage.output_tokens
        return turn

    def first(self, question):
        return [{"role": "user", "content": question}]

    def with_result(self, messages, call_turn, result):
        call_id, name, arguments = call_turn.calls[0]
        return messages + [
            {"role": "assistant", "content": [{"type": "tool_use", "id": call_id, "name": name, "input": arguments}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": result}]},
        ]


# ---------------------------------------------------------- google-genai SDK


class GeminiClient:
    """generateContent through `google-genai`."""

    FINISH_TEXT = "STOP"
    FINISH_TOOL = "STOP"

    def __init__(self, base_url=None, key=KEY):
        self.sdk = genai.Client(
            api_key=key,
            http_options=gtypes.HttpOptions(base_url=base_url or GATEWAY, timeout=int(TIMEOUT * 1000)),
        )

    def ask(self, model, contents, stream, tools=False):
        config = gtypes.GenerateContentConfig(max_output_tokens=256)
        if tools:
            config.tools = [
                gtypes.Tool(
                    function_declarations=[
                        gtypes.FunctionDeclaration(
                            name=TOOL_NAME, description=TOOL_DESCRIPTION, parameters_json_schema=TOOL_SCHEMA
                        )
                    ]
                )
            ]
            config.automatic_function_calling = gtypes.AutomaticFunctionCallingConfig(disable=True)
        if stream:
            responses = list(self.sdk.models.generate_content_stream(model=model, contents=contents, config=config))
            check(len(responses) >= 1, "the stream had no chunk")
        else:
            responses = [self.sdk.models.generate_content(model=model, contents=contents, config=config)]
        turn = Turn()
        parts = []
        for response in responses:
            if response.usage_metadata:
                turn.input_tokens = response.usage_metadata.prompt_token_count or 0
                turn.output_tokens = response.usage_metadata.candidates_token_count or 0
            for candidate in response.candidates or []:
                if candidate.finish_reason:
                    turn.finish = enum_name(candidate.finish_reason)
                for part in (candidate.content.parts if candidate.content else None) or []:
                    parts.append(part)
                    if part.text and not part.thought:
                        turn.text += part.text
                    if part.function_call:
                        call = part.function_call
                        turn.calls.append((call.id, call.name, dict(call.args or {})))
        turn.raw = [p for p in parts if p.function_call]
        return turn

    def first(self, question):
        return [gtypes.Content(role="user", parts=[gtypes.Part(text=question)])]

    def with_result(self, contents, call_turn, result):
        call_id, name, _ = call_turn.calls[0]
        response = gtypes.Part.from_function_response(name=name, response={"result": result})
        if call_id:
            response.function_response.id = call_id
        # Send the model's own parts back (with any thought signature), as the SDK's chat does.
        return contents + [
            gtypes.Content(role="model", parts=call_turn.raw),
            gtypes.Content(role="user", parts=[response]),
        ]


def enum_name(value):
    return getattr(value, "name", None) or str(value)


def parse_arguments(text):
    try:
        value = json.loads(text or "")
    except ValueError as err:
        raise CheckFailed(f"tool call arguments are not valid JSON ({err}): {text!r}")
    check(isinstance(value, dict), f"tool call arguments are not a JSON object: {text!r}")
    return value


# ------------------------------------------------------- OpenAI Responses API


class ResponsesTurn(Turn):
    """A Responses answer: the Turn fields plus the response id, the
    function_call items as the SDK returned them, and the event types."""

    def __init__(self):
        super().__init__()
        self.id = None
        self.call_items = []
        self.events = []


def responses_create(model, stream, **kwargs):
    """One `client.responses.create` call, complete or streamed, normalized."""
    sdk = OpenAiClient().sdk
    turn = ResponsesTurn()
    if stream:
        final = None
        for event in sdk.responses.create(model=model, stream=True, max_output_tokens=256, **kwargs):
            turn.events.append(event.type)
            if event.type in ("response.completed", "response.incomplete", "response.failed"):
                final = event.response
        check(turn.events[:2] == ["response.created", "response.in_progress"], f"stream starts {turn.events[:2]}")
        check(final is not None, f"the stream has no response.completed: {turn.events}")
        response = final
    else:
        response = sdk.responses.create(model=model, max_output_tokens=256, **kwargs)
    check(response.object == "response", f"object is {response.object!r}")
    check(response.id.startswith("resp_"), f"response id {response.id!r}")
    turn.id = response.id
    turn.finish = response.status
    turn.text = response.output_text
    for item in response.output:
        if item.type == "function_call":
            turn.call_items.append(item)
            turn.calls.append((item.call_id, item.name, parse_arguments(item.arguments)))
    if response.usage:
        turn.input_tokens = response.usage.input_tokens
        turn.output_tokens = response.usage.output_tokens
    return turn


RESPONSES_TOOL = {"type": "function", "name": TOOL_NAME, "description": TOOL_DESCRIPTION, "parameters": TOOL_SCHEMA}


def responses_case(upstream, mode):
    """Four turns through `client.responses.create` to one upstream."""
    model = MODELS["native"][upstream]
    signature = f"[mock {upstream} {model}]"
    stream = mode == "stream"
    tag = f"responses-{upstream}-{mode}"

    step = "plain turn"
    question = f"Say something about {tag}, please."
    turn = responses_create(model, stream, input=question)
    check(turn.text == f"echo: {question} {signature}", f"{step}: text {turn.text!r}")
    check(turn.finish == "completed", f"{step}: status {turn.finish!r}")
    check(not turn.calls, f"{step}: unexpected calls {turn.calls!r}")
    check_usage(turn, step)
    if stream:
        check("response.output_text.delta" in turn.events, f"{step}: no text deltas in {turn.events}")

    step = "function call turn"
    question = f"What is the weather in Paris? ({tag})"
    call_turn = responses_create(model, stream, input=question, tools=[RESPONSES_TOOL])
    check(len(call_turn.calls) == 1, f"{step}: expected one function_call, got {call_turn!r}")
    call_id, name, arguments = call_turn.calls[0]
    check(name == TOOL_NAME and arguments == {"city": question}, f"{step}: call {name!r} {arguments!r}")
    check_usage(call_turn, step)
    if stream:
        check(
            "response.function_call_arguments.delta" in call_turn.events,
            f"{step}: no argument deltas in {call_turn.events}",
        )

    result = f"sunny, 21 C, ref {tag.upper()}"
    expected = f"tool result: {result} · echo: {question} {signature}"
    output = {"type": "function_call_output", "call_id": call_id, "output": result}

    step = "function_call_output turn (whole history)"
    item = call_turn.call_items[0].model_dump(exclude_none=True)
    answer = responses_create(model, stream, input=[{"role": "user", "content": question}, item, output], tools=[RESPONSES_TOOL])
    check(answer.text == expected, f"{step}: text {answer.text!r}, expected {expected!r}")
    check(not answer.calls, f"{step}: unexpected calls {answer.calls!r}")

    step = "previous_response_id turn"
    chained = responses_create(model, stream, previous_response_id=call_turn.id, input=[output], tools=[RESPONSES_TOOL])
    check(chained.text == expected, f"{step}: text {chained.text!r}, expected {expected!r} (history not restored?)")
    check(chained.id != call_turn.id, f"{step}: the follow-up reused the id {chained.id}")


# ------------------------------------------------------------ token counting

COUNT_SYSTEM = "Be brief."
COUNT_QUESTION = "How many tokens are in this sentence?"
# The mock counts 1000 + the words of every text field.
MOCK_COUNT = 1000 + len(COUNT_SYSTEM.split()) + len(COUNT_QUESTION.split())


def check_count(upstream, counted, expected_mock):
    if upstream == "openai":
        # No counting endpoint upstream: the gateway's local estimate.
        check(0 < counted < 100, f"local estimate {counted} should be small and positive")
    else:
        check(counted == expected_mock, f"count {counted}, expected the {upstream} mock's {expected_mock}")


def count_case(client_name, upstream):
    model = MODELS["native"][upstream]
    if client_name == "anthropic":
        sdk = AnthropicClient().sdk
        counted = sdk.messages.count_tokens(
            model=model, system=COUNT_SYSTEM, messages=[{"role": "user", "content": COUNT_QUESTION}]
        ).input_tokens
        check_count(upstream, counted, MOCK_COUNT)
    else:
        sdk = GeminiClient().sdk
        counted = sdk.models.count_tokens(model=model, contents=COUNT_QUESTION).total_tokens
        check_count(upstream, counted, 1000 + len(COUNT_QUESTION.split()))


# ------------------------------------------------- legacy google-generativeai


def legacy_model(model):
    """A `google.generativeai` model that talks REST to the gateway."""
    legacy_genai.configure(api_key=KEY, transport="rest", client_options={"api_endpoint": GATEWAY})
    return legacy_genai.GenerativeModel(model)


def legacy_generate_case(upstream, mode):
    model = MODELS["alias" if upstream == "gemini" else "native"][upstream]
    signature = f"[mock {upstream} {MODELS['native'][upstream]}]"
    question = f"Say something about legacy-{upstream}-{mode}, please."
    sdk = legacy_model(model)
    options = {"timeout": TIMEOUT}
    if mode == "stream":
        chunks = list(sdk.generate_content(question, stream=True, request_options=options))
        check(len(chunks) >= 1, "the stream had no chunk")
        text = "".join(part.text for chunk in chunks for c in chunk.candidates for part in c.content.parts)
        finish = enum_name(chunks[-1].candidates[0].finish_reason)
        usage = chunks[-1].usage_metadata
    else:
        response = sdk.generate_content(question, request_options=options)
        text, finish, usage = response.text, enum_name(response.candidates[0].finish_reason), response.usage_metadata
    expected = f"echo: {question} {signature}"
    check(text == expected, f"text {text!r}, expected {expected!r}")
    check(finish == "STOP", f"finish {finish!r}, expected 'STOP'")
    check(
        usage.prompt_token_count > 0 and usage.candidates_token_count > 0,
        f"usage should be > 0, got {usage}",
    )


def legacy_count_case(upstream):
    counted = legacy_model(MODELS["native"][upstream]).count_tokens(COUNT_QUESTION).total_tokens
    check_count(upstream, counted, 1000 + len(COUNT_QUESTION.split()))


# ------------------------------------------------------------------ embeddings
#
# The mock's vectors derive from the text alone (crates/mock-upstream/src/embed.rs,
# `vector`): FNV-1a of the text and the position, in steps of 0.001, as f32.
# Each SDK gets them exactly, in order, from a gemini and an openai account.

EMBED_MODELS = {"gemini": "gemini-embedding-001", "openai": "text-embedding-3-small"}
EMBED_DIMENSIONS = 8


def f32(value):
    return struct.unpack("<f", struct.pack("<f", value))[0]


def mock_vector(text, dimensions=EMBED_DIMENSIONS):
    values = []
    for at in range(dimensions):
        digest = 0xCBF29CE484222325
        for byte in text.encode() + at.to_bytes(8, "little"):
            digest = ((digest ^ byte) * 0x100000001B3) % (1 << 64)
        values.append(f32(f32(f32((digest >> 11) % 2001) / 1000.0) - 1.0))
    return values


def check_vectors(got, texts, dimensions=EMBED_DIMENSIONS):
    got = [[f32(v) for v in vector] for vector in got]
    wanted = [mock_vector(text, dimensions) for text in texts]
    check(len(got) == len(wanted), f"{len(got)} vectors for {len(wanted)} inputs")
    for at, (vector, expected) in enumerate(zip(got, wanted)):
        check(vector == expected, f"vector {at} is {vector[:4]}..., expected {expected[:4]}...")


def openai_embed_case(upstream):
    """The OpenAI SDK's defaults (base64, decoded by the SDK), floats with
    `dimensions`, and a 300-input batch (three Gemini calls of 100)."""
    sdk = openai.OpenAI(base_url=f"{GATEWAY}/v1", api_key=KEY, max_retries=0, timeout=TIMEOUT)
    model = EMBED_MODELS[upstream]
    texts = [f"openai sdk text {i} for {upstream}" for i in range(3)]
    response = sdk.embeddings.create(model=model, input=texts)
    check_vectors([d.embedding for d in response.data], texts)
    check(response.usage.prompt_tokens > 0, f"usage {response.usage}")
    response = sdk.embeddings.create(model=model, input=texts[0], encoding_format="float", dimensions=4)
    check_vectors([d.embedding for d in response.data], texts[:1], 4)
    many = [f"chunk {i} of a long document" for i in range(300)]
    response = sdk.embeddings.create(model=model, input=many)
    check([d.index for d in response.data] == list(range(300)), "the 300 vectors are not in order")
    check_vectors([d.embedding for d in response.data], many)


def openai_embed_alias_case():
    """OpenAI's default model name mapped to a Gemini embedding model."""
    sdk = openai.OpenAI(base_url=f"{GATEWAY}/v1", api_key=KEY, max_retries=0, timeout=TIMEOUT)
    response = sdk.embeddings.create(model="e2e-embed", input=["aliased"])
    check(response.model == "e2e-embed", f"model {response.model!r}")
    check_vectors([d.embedding for d in response.data], ["aliased"])


def genai_embed_case(upstream):
    """google-genai `embed_content` with several contents (batchEmbedContents)."""
    sdk = GeminiClient().sdk
    texts = [f"genai text {i} for {upstream}" for i in range(3)]
    config = gtypes.EmbedContentConfig(output_dimensionality=4, task_type="RETRIEVAL_DOCUMENT", title="E2E")
    response = sdk.models.embed_content(model=EMBED_MODELS[upstream], contents=texts, config=config)
    check_vectors([e.values for e in response.embeddings], texts, 4)
    response = sdk.models.embed_content(model=EMBED_MODELS[upstream], contents="just one")
    check_vectors([e.values for e in response.embeddings], ["just one"])


def legacy_embed_case(upstream):
    """The legacy google-generativeai `embed_content`: one content, then a list."""
    legacy_genai.configure(api_key=KEY, transport="rest", client_options={"api_endpoint": GATEWAY})
    model = f"models/{EMBED_MODELS[upstream]}"
    one = legacy_genai.embed_content(model=model, content="legacy one", task_type="retrieval_query")
    check_vectors([one["embedding"]], ["legacy one"])
    texts = ["legacy a", "legacy b"]
    many = legacy_genai.embed_content(model=model, content=texts, task_type="retrieval_document", title="T")
    check_vectors(many["embedding"], texts)


# What the mock upstream's own lists hold (examples/mock_upstream.rs, `model_list`)
# under the accounts' globs: the gateway must list them beside the aliases.
CATALOGUED = ["gpt-4o-mini", "claude-sonnet-4-5-20250929", "gemini-2.5-pro"]
# Listed by the mock under the accounts' globs, but no chat model.
NOT_CHAT = ["gemini-embedding-001", "text-embedding-3-small"]


def check_listed(ids, what):
    ids = [i.removeprefix("models/") for i in ids]
    wanted = CATALOGUED + list(MODELS["alias"].values())
    check(all(w in ids for w in wanted), f"{what} lacks some of {wanted}: {ids}")
    check(not any(n in ids for n in NOT_CHAT), f"{what} lists an embedding model: {ids}")


def legacy_models_case():
    legacy_genai.configure(api_key=KEY, transport="rest", client_options={"api_endpoint": GATEWAY})
    models = list(legacy_genai.list_models())
    check_listed([model.name for model in models], "list_models()")
    pro = next(model for model in models if model.name == "models/gemini-2.5-pro")
    check(pro.input_token_limit == 1_048_576, f"gemini-2.5-pro input_token_limit is {pro.input_token_limit}")


SDKS = {"openai": OpenAiClient, "anthropic": AnthropicClient, "gemini": GeminiClient}


# --------------------------------------------------------------------- cases


def check_usage(turn, step):
    check(
        turn.input_tokens > 0 and turn.output_tokens > 0,
        f"{step}: usage should be > 0, got input={turn.input_tokens} output={turn.output_tokens}",
    )


def run_case(client_name, upstream, mode):
    """Three turns through one SDK to one upstream; raises on the first failure,
    naming the turn it happened in."""
    progress = {"step": "setup"}
    try:
        turns(client_name, upstream, mode, progress)
    except CheckFailed:
        raise
    except Exception as err:  # noqa: BLE001 - an SDK error: report it with its turn
        detail = "".join(traceback.format_exception_only(type(err), err)).strip()
        raise CheckFailed(f"{progress['step']}: {detail}") from err


def turns(client_name, upstream, mode, progress):
    client = SDKS[client_name]()
    model = MODELS["alias" if client_name == upstream else "native"][upstream]
    # The mock signs its answers with the wire format and model it was asked
    # in: the request went to the right upstream, with the alias resolved.
    signature = f"[mock {upstream} {MODELS['native'][upstream]}]"
    stream = mode == "stream"
    tag = f"{client_name}-{upstream}-{mode}"

    step = progress["step"] = "plain turn"
    question = f"Say something about {tag}, please."
    turn = client.ask(model, client.first(question), stream)
    expected = f"echo: {question} {signature}"
    check(turn.text == expected, f"{step}: text {turn.text!r}, expected {expected!r}")
    check(not turn.calls, f"{step}: unexpected tool calls {turn.calls!r}")
    check(turn.finish == client.FINISH_TEXT, f"{step}: finish {turn.finish!r}, expected {client.FINISH_TEXT!r}")
    check_usage(turn, step)

    step = progress["step"] = "tool call turn"
    question = f"What is the weather in Paris? ({tag})"
    messages = client.first(question)
    call_turn = client.ask(model, messages, stream, tools=True)
    check(len(call_turn.calls) == 1, f"{step}: expected one tool call, got {call_turn!r}")
    _, name, arguments = call_turn.calls[0]
    check(name == TOOL_NAME, f"{step}: tool name {name!r}, expected {TOOL_NAME!r}")
    check(arguments == {"city": question}, f"{step}: arguments {arguments!r}, expected {{'city': {question!r}}}")
    check(
        call_turn.finish == client.FINISH_TOOL, f"{step}: finish {call_turn.finish!r}, expected {client.FINISH_TOOL!r}"
    )
    check_usage(call_turn, step)

    step = progress["step"] = "tool result turn"
    result = f"sunny, 21 C, ref {tag.upper()}"
    answer = client.ask(model, client.with_result(messages, call_turn, result), stream, tools=True)
    check(not answer.calls, f"{step}: unexpected tool calls {answer.calls!r}")
    check(result in answer.text, f"{step}: answer {answer.text!r} does not contain the tool result {result!r}")
    expected = f"echo: {question} {signature}"
    check(answer.text.endswith(expected), f"{step}: answer {answer.text!r} does not end with {expected!r}")
    check(answer.finish == client.FINISH_TEXT, f"{step}: finish {answer.finish!r}, expected {client.FINISH_TEXT!r}")
    check_usage(answer, step)


def expect_error(call, sdk_error, status, needles):
    """Runs `call`, which must raise `sdk_error` with `status` and every needle in its message."""
    try:
        call()
    except sdk_error as err:
        code = getattr(err, "status_code", None) or getattr(err, "code", None)
        check(code == status, f"expected HTTP {status}, got {code}: {err}")
        text = str(err)
        for needle in needles:
            check(needle in text, f"the {status} message lacks {needle!r}: {text}")
        return
    except Exception as err:  # noqa: BLE001 - report what came instead
        raise CheckFailed(f"expected {sdk_error.__module__}.{sdk_error.__name__}, got {type(err).__name__}: {err}")
    raise CheckFailed(f"expected {sdk_error.__name__}, but the call succeeded")


WRONG_KEY = "sk-wrong-key-for-e2e"
AUTH_NEEDLES = ["Invalid API key", "switchyard key show"]
NOT_FOUND_NEEDLES = ["/v1` followed by `/v1`", f"`{GATEWAY}/v1`", f"`{GATEWAY}` (no `/v1`)"]


def error_cases():
    model = MODELS["native"]["openai"]

    def openai_call(base_url, key):
        return lambda: OpenAiClient(base_url, key).ask(model, [{"role": "user", "content": "hi"}], False)

    def anthropic_call(base_url, key):
        return lambda: AnthropicClient(base_url, key).ask(model, [{"role": "user", "content": "hi"}], False)

    def gemini_call(base_url, key):
        return lambda: GeminiClient(base_url, key).ask(model, "hi", False)

    def openai_models():
        sdk = OpenAiClient().sdk
        check_listed([model.id for model in sdk.models.list()], "openai models.list()")
        check(sdk.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini", "models.retrieve(gpt-4o-mini)")
        expect_error(lambda: sdk.models.retrieve("no-such-model"), openai.NotFoundError, 404, ["no-such-model"])

    def anthropic_models():
        sdk = AnthropicClient().sdk
        check_listed([model.id for model in sdk.models.list(limit=2)], "anthropic models.list() (paged by 2)")
        model = sdk.models.retrieve("claude-sonnet-4-5")
        check(model.id == "claude-sonnet-4-5-20250929", f"models.retrieve(claude-sonnet-4-5).id is {model.id!r}")
        check(model.display_name == "Claude Sonnet 4.5", f"display_name is {model.display_name!r}")
        expect_error(lambda: sdk.models.retrieve("no-such-model"), anthropic.NotFoundError, 404, ["no-such-model"])

    def gemini_models():
        sdk = GeminiClient().sdk
        models = list(sdk.models.list())
        check_listed([model.name for model in models], "google-genai models.list()")
        alias = MODELS["alias"]["gemini"]
        name = sdk.models.get(model=alias).name
        check(name == f"models/{alias}", f"models.get({alias!r}).name is {name!r}")
        pro = sdk.models.get(model="gemini-2.5-pro")
        check(pro.input_token_limit == 1_048_576, f"gemini-2.5-pro input_token_limit is {pro.input_token_limit}")
        check(pro.output_token_limit == 65_536, f"gemini-2.5-pro output_token_limit is {pro.output_token_limit}")
        expect_error(lambda: sdk.models.get(model="no-such-model"), genai_errors.ClientError, 404, ["no-such-model"])

    return {
        ("openai", "models"): openai_models,
        ("anthropic", "models"): anthropic_models,
        ("gemini", "models"): gemini_models,
        ("openai", "401"): lambda: expect_error(
            openai_call(None, WRONG_KEY), openai.AuthenticationError, 401, AUTH_NEEDLES
        ),
        ("anthropic", "401"): lambda: expect_error(
            anthropic_call(None, WRONG_KEY), anthropic.AuthenticationError, 401, AUTH_NEEDLES
        ),
        ("gemini", "401"): lambda: expect_error(
            gemini_call(None, WRONG_KEY), genai_errors.ClientError, 401, AUTH_NEEDLES
        ),
        ("openai", "404"): lambda: expect_error(
            openai_call(f"{GATEWAY}/v1/v1", KEY), openai.NotFoundError, 404, NOT_FOUND_NEEDLES
        ),
        ("anthropic", "404"): lambda: expect_error(
            anthropic_call(f"{GATEWAY}/v1", KEY), anthropic.NotFoundError, 404, NOT_FOUND_NEEDLES
        ),
        ("gemini", "404"): lambda: expect_error(
            gemini_call(f"{GATEWAY}/v1", KEY), genai_errors.ClientError, 404, NOT_FOUND_NEEDLES
        ),
    }


# -------------------------------------------------------------------- runner


def attempt(name, run, results, failures):
    if ONLY and ONLY not in name:
        return
    started = time.monotonic()
    try:
        run()
        results[name] = ("PASS", time.monotonic() - started)
    except CheckFailed as err:
        results[name] = ("FAIL", time.monotonic() - started)
        failures.append((name, str(err)))
    except Exception as err:  # noqa: BLE001 - an SDK error is a failure to report, not a crash
        results[name] = ("FAIL", time.monotonic() - started)
        detail = "".join(traceback.format_exception_only(type(err), err)).strip()
        failures.append((name, detail))


def main():
    results, failures = {}, []
    for client_name in CLIENTS:
        for mode in MODES:
            for upstream in UPSTREAMS:
                name = f"{client_name}/{mode}/{upstream}"
                attempt(name, lambda c=client_name, u=upstream, m=mode: run_case(c, u, m), results, failures)
    for mode in MODES:
        for upstream in UPSTREAMS:
            attempt(f"responses/{mode}/{upstream}", lambda u=upstream, m=mode: responses_case(u, m), results, failures)
    for client_name in ("anthropic", "gemini"):
        for upstream in UPSTREAMS:
            attempt(f"{client_name}/count/{upstream}", lambda c=client_name, u=upstream: count_case(c, u), results, failures)
    for (client_name, status), run in error_cases().items():
        attempt(f"{client_name}/error/{status}", run, results, failures)
    for mode in MODES:
        for upstream in UPSTREAMS:
            attempt(f"legacy/{mode}/{upstream}", lambda u=upstream, m=mode: legacy_generate_case(u, m), results, failures)
    for upstream in UPSTREAMS:
        attempt(f"legacy/count/{upstream}", lambda u=upstream: legacy_count_case(u), results, failures)
    attempt("legacy/error/models", legacy_models_case, results, failures)
    for upstream in ("openai", "gemini"):
        attempt(f"openai/embed/{upstream}", lambda u=upstream: openai_embed_case(u), results, failures)
        attempt(f"gemini/embed/{upstream}", lambda u=upstream: genai_embed_case(u), results, failures)
        attempt(f"legacy/embed/{upstream}", lambda u=upstream: legacy_embed_case(u), results, failures)
    attempt("openai/embed/alias", openai_embed_alias_case, results, failures)

    def cell(name):
        outcome = results.get(name)
        return "-" if outcome is None else f"{outcome[0]} {outcome[1]:4.1f}s"

    print()
    print(f"{'SDK':<10} {'mode':<9} " + " ".join(f"{'→ ' + u:<12}" for u in UPSTREAMS))
    for client_name in CLIENTS + ["responses", "legacy"]:
        for mode in MODES:
            row = [cell(f"{client_name}/{mode}/{u}") for u in UPSTREAMS]
            print(f"{client_name:<10} {mode:<9} " + " ".join(f"{c:<12}" for c in row))
    for client_name in ("anthropic", "gemini", "legacy"):
        row = [cell(f"{client_name}/count/{u}") for u in UPSTREAMS]
        print(f"{client_name:<10} {'count':<9} " + " ".join(f"{c:<12}" for c in row))
    for client_name in ("openai", "gemini", "legacy"):
        row = [cell(f"{client_name}/embed/{u}") for u in UPSTREAMS]
        print(f"{client_name:<10} {'embed':<9} " + " ".join(f"{c:<12}" for c in row))
    print()
    print(f"{'SDK':<10} {'other':<9} {'401 wrong key':<14} {'404 /v1/v1':<14} {'model list':<14}")
    for client_name in CLIENTS + ["legacy"]:
        cells = [cell(f"{client_name}/error/{check}") for check in ("401", "404", "models")]
        print(f"{client_name:<10} {'':<9} " + " ".join(f"{c:<14}" for c in cells))
    if failures:
        print()
        print("Failures:")
        for name, detail in failures:
            print(f"- {name}: {detail}")
    passed = sum(1 for outcome, _ in results.values() if outcome == "PASS")
    print()
    print(f"{passed} passed, {len(results) - passed} failed")
    return 1 if failures or not results else 0


if __name__ == "__main__":
    sys.exit(main())
