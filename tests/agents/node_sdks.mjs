// The official Node SDKs' streaming helpers against Switchyard: one client,
// one model, a streamed tool round trip and (Anthropic, Gemini) a token count.
//
// Usage: node node_sdks.mjs CLIENT MODEL     (run by tests/agents/run.sh)
//   CLIENT  openai-chat | openai-responses | anthropic | gemini | openai-embeddings
//   env     SWITCHYARD_URL (gateway origin), SWITCHYARD_KEY (its key)
//
// The Node SDKs parse streams with their own accumulators (OpenAI's
// ChatCompletionStream and ResponseStream, Anthropic's MessageStream,
// @google/genai's async iterator), stricter in places than the Python ones:
// a wrong index, a missing event or a malformed delta throws. The prompt asks
// the mock for a call (`[call get_weather {...}]`, the mock runs with
// --no-tool-calls), the result goes back in the SDK's own shape, and the
// final answer is printed: the mock's `tool result: ... [mock PROVIDER MODEL]`.
// Any failure is thrown, which exits non-zero with the SDK's message.
//
// openai-embeddings: `embeddings.create` with the SDK's default (base64, which
// it decodes itself), floats with `dimensions`, and a 300-input batch; every
// value is checked against the mock's vector for its text (the FNV-1a of
// crates/mock-upstream/src/embed.rs), in order.

import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";

const [client, model] = process.argv.slice(2);
const base = process.env.SWITCHYARD_URL;
const apiKey = process.env.SWITCHYARD_KEY;
const question = 'Weather in Paris? [call get_weather {"city": "Paris"}]';
const result = "sunny, 22 C";
const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function openaiChat() {
  const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
  const tools = [{ type: "function", function: { name: "get_weather", description: "Weather", parameters: schema } }];
  const messages = [{ role: "user", content: question }];
  const first = await openai.chat.completions.stream({ model, messages, tools, stream_options: { include_usage: true } }).finalChatCompletion();
  const call = first.choices[0].message.tool_calls?.[0];
  check(call?.function.name === "get_weather", `no get_weather call: ${JSON.stringify(first)}`);
  check(JSON.parse(call.function.arguments).city === "Paris", `arguments ${call.function.arguments}`);
  check(first.usage?.total_tokens > 0, `no usage: ${JSON.stringify(first.usage)}`);
  messages.push(first.choices[0].message, { role: "tool", tool_call_id: call.id, content: result });
  const second = await openai.chat.completions.stream({ model, messages, tools }).finalChatCompletion();
  return second.choices[0].message.content;
}

async function openaiResponses() {
  const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
  const tools = [{ type: "function", name: "get_weather", description: "Weather", parameters: schema, strict: false }];
  const first = await openai.responses.stream({ model, input: question, tools }).finalResponse();
  const call = first.output.find((item) => item.type === "function_call");
  check(call?.name === "get_weather", `no get_weather call: ${JSON.stringify(first.output)}`);
  check(first.usage?.input_tokens > 0, `no usage: ${JSON.stringify(first.usage)}`);
  // The follow-up chains on the stored response: only the output is sent.
  const second = await openai.responses
    .stream({ model, previous_response_id: first.id, tools, input: [{ type: "function_call_output", call_id: call.call_id, output: result }] })
    .finalResponse();
  check(second.status === "completed", `status ${second.status}`);
  return second.output_text;
}

async function anthropic() {
  const sdk = new Anthropic({ baseURL: base, apiKey, maxRetries: 0 });
  const tools = [{ name: "get_weather", description: "Weather", input_schema: schema }];
  const messages = [{ role: "user", content: question }];
  const first = await sdk.messages.stream({ model, max_tokens: 1024, messages, tools }).finalMessage();
  const call = first.content.find((block) => block.type === "tool_use");
  check(call?.input?.city === "Paris", `no get_weather call: ${JSON.stringify(first.content)}`);
  check(first.stop_reason === "tool_use", `stop_reason ${first.stop_reason}`);
  messages.push({ role: "assistant", content: first.content });
  messages.push({ role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: result }] });
  const second = await sdk.messages.stream({ model, max_tokens: 1024, messages, tools }).finalMessage();
  const counted = await sdk.messages.countTokens({ model, messages, tools });
  check(counted.input_tokens > 0, `count ${JSON.stringify(counted)}`);
  return second.content.filter((block) => block.type === "text").map((block) => block.text).join("");
}

async function gemini() {
  const ai = new GoogleGenAI({ apiKey, httpOptions: { baseUrl: base } });
  const config = {
    tools: [{ functionDeclarations: [{ name: "get_weather", description: "Weather", parametersJsonSchema: schema }] }],
    automaticFunctionCalling: { disable: true },
  };
  const contents = [{ role: "user", parts: [{ text: question }] }];
  const parts = [];
  for await (const chunk of await ai.models.generateContentStream({ model, contents, config })) {
    parts.push(...(chunk.candidates?.[0]?.content?.parts ?? []));
  }
  const call = parts.find((part) => part.functionCall)?.functionCall;
  check(call?.name === "get_weather" && call.args?.city === "Paris", `no get_weather call: ${JSON.stringify(parts)}`);
  // The model's parts go back as they came (with any signature), as the SDK's chat does.
  contents.push({ role: "model", parts });
  contents.push({ role: "user", parts: [{ functionResponse: { id: call.id, name: call.name, response: { result } } }] });
  let text = "";
  for await (const chunk of await ai.models.generateContentStream({ model, contents, config })) {
    text += chunk.text ?? "";
  }
  const counted = await ai.models.countTokens({ model, contents: question });
  check(counted.totalTokens > 0, `count ${JSON.stringify(counted)}`);
  return text;
}

/** The mock upstream's vector for `text` (crates/mock-upstream/src/embed.rs). */
function mockVector(text, dimensions = 8) {
  const bytes = [...new TextEncoder().encode(text)];
  const values = [];
  for (let at = 0; at < dimensions; at++) {
    const position = new Uint8Array(8);
    new DataView(position.buffer).setBigUint64(0, BigInt(at), true);
    let hash = 0xcbf29ce484222325n;
    for (const byte of [...bytes, ...position]) {
      hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
    }
    values.push(Math.fround(Math.fround(Number((hash >> 11n) % 2001n) / 1000) - 1));
  }
  return values;
}

function checkVectors(data, texts, dimensions = 8) {
  check(data.length === texts.length, `${data.length} vectors for ${texts.length} inputs`);
  data.forEach((datum, at) => {
    check(datum.index === at, `vector ${at} has index ${datum.index}`);
    const got = Array.from(datum.embedding, Math.fround);
    const wanted = mockVector(texts[at], dimensions);
    check(JSON.stringify(got) === JSON.stringify(wanted), `vector ${at} is ${got}, expected ${wanted}`);
  });
}

async function openaiEmbeddings() {
  const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
  const texts = ["node one", "node two", "node three"];
  const byDefault = await openai.embeddings.create({ model, input: texts });
  checkVectors(byDefault.data, texts);
  check(byDefault.usage.prompt_tokens > 0, `usage ${JSON.stringify(byDefault.usage)}`);
  const floats = await openai.embeddings.create({ model, input: texts[0], encoding_format: "float", dimensions: 4 });
  checkVectors(floats.data, texts.slice(0, 1), 4);
  const many = Array.from({ length: 300 }, (_, i) => `node chunk ${i}`);
  const batch = await openai.embeddings.create({ model, input: many });
  checkVectors(batch.data, many);
  return `${texts.length + 1 + many.length} vectors as the mock made them from ${model}`;
}

const clients = {
  "openai-chat": openaiChat,
  "openai-responses": openaiResponses,
  anthropic,
  gemini,
  "openai-embeddings": openaiEmbeddings,
};
check(clients[client], `unknown client ${client}; one of ${Object.keys(clients).join(", ")}`);
console.log(await clients[client]());
