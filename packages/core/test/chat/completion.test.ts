import { APICallError, type ToolSet, generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { describe, expect, it } from "vitest";
import { toChatCompletion } from "../../src/chat/completion.js";
import { type ChatCompletionChunk, completionMeta } from "../../src/chat/format.js";
import { toChunkStream } from "../../src/chat/stream.js";
import { mergeTools } from "../../src/chat/tools.js";
import { type ScriptEntry, lastToolResult, scriptedModel } from "./helpers.js";

/*
 * The OpenAI answer built from a real AI SDK loop (generateText / streamText) over a scripted model.
 * `lookup` stands for an MCP tool (it runs here); `client_fn` is a client tool (no execute).
 */

const executed: unknown[] = [];
const serverTool = tool({
  inputSchema: jsonSchema<{ q: string }>({ type: "object", properties: { q: { type: "string" } } }),
  execute: async (input) => {
    executed.push(input);
    return `found ${input.q}`;
  },
});
const clientTool = tool({ inputSchema: jsonSchema({ type: "object", properties: { x: { type: "number" } } }) });
const tools: ToolSet = { lookup: serverTool, client_fn: clientTool };
const clientNames = new Set(["client_fn"]);
const meta = completionMeta("gpt-test", 1_700_000_000_000);

async function complete(script: ScriptEntry[], maxSteps = 5) {
  const result = await generateText({
    model: scriptedModel(script),
    prompt: "hi",
    tools,
    stopWhen: stepCountIs(maxSteps),
  });
  return toChatCompletion(result, meta, clientNames);
}

async function streamChunks(script: ScriptEntry[], includeUsage = false, model = scriptedModel(script)) {
  const result = streamText({ model, prompt: "hi", tools, stopWhen: stepCountIs(5) });
  const chunks = await toChunkStream(result.fullStream, {
    meta,
    clientToolNames: clientNames,
    includeUsage,
    errors: () => [],
    abort: () => undefined,
  });
  if (!chunks.ok) return chunks;
  const text = await new Response(chunks.stream).text();
  const events = text
    .split("\n\n")
    .filter((event) => event.startsWith("data: "))
    .map((event) => event.slice("data: ".length));
  return { ok: true as const, text, events };
}

function parsed(events: string[]): ChatCompletionChunk[] {
  return events.filter((event) => event !== "[DONE]").map((event) => JSON.parse(event) as ChatCompletionChunk);
}

const toolAnswer: ScriptEntry[] = [
  { text: "Let me look.", toolCalls: [{ id: "s1", name: "lookup", input: { q: "cats" } }] },
  (prompt) => ({ text: `Result: ${lastToolResult(prompt)}` }),
];

describe("a finished generation as a chat.completion", () => {
  it("answers text with finish_reason stop and the usage", async () => {
    const completion = await complete([{ text: "Hello!" }]);
    expect(completion).toEqual({
      id: meta.id,
      object: "chat.completion",
      created: 1_700_000_000,
      model: "gpt-test",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Hello!", refusal: null },
          logprobs: null,
          finish_reason: "stop",
        },
      ],
      usage: {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
    expect(completion.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
  });

  it("runs server-side tools without showing them, joins the steps' text and sums usage", async () => {
    executed.length = 0;
    const completion = await complete(toolAnswer);
    expect(executed).toEqual([{ q: "cats" }]);
    expect(completion.choices[0]?.message).toEqual({
      role: "assistant",
      content: "Let me look.\n\nResult: found cats",
      refusal: null,
    });
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage.total_tokens).toBe(30);
  });

  it("returns only the client's tool calls, with finish_reason tool_calls", async () => {
    executed.length = 0;
    const completion = await complete([
      {
        toolCalls: [
          { id: "s1", name: "lookup", input: { q: "dogs" } },
          { id: "c1", name: "client_fn", input: { x: 2 } },
        ],
      },
      { text: "never reached" },
    ]);
    expect(executed).toEqual([{ q: "dogs" }]);
    expect(completion.choices[0]).toMatchObject({
      finish_reason: "tool_calls",
      message: {
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "client_fn", arguments: '{"x":2}' } }],
      },
    });
  });

  it("reports length when maxSteps ends the loop before the model answered", async () => {
    const completion = await complete([{ toolCalls: [{ id: "s", name: "lookup", input: { q: "x" } }] }], 1);
    expect(completion.choices[0]?.finish_reason).toBe("length");
    expect(completion.choices[0]?.message.content).toBe("");
  });

  it("adds mcp_errors only when something went wrong", async () => {
    const result = await generateText({ model: scriptedModel([{ text: "ok" }]), prompt: "hi" });
    const errors = [{ code: "connection_failed", message: "docs: unreachable", server: "docs" }];
    expect(toChatCompletion(result, meta, clientNames, errors).mcp_errors).toEqual(errors);
    expect(toChatCompletion(result, meta, clientNames, [])).not.toHaveProperty("mcp_errors");
  });
});

describe("a streamed generation as chat.completion.chunk events", () => {
  it("starts with the role, streams the text and ends with finish_reason and [DONE]", async () => {
    const result = await streamChunks([{ text: "Hello there" }]);
    if (!result.ok) throw new Error("expected a stream");
    expect(result.events.at(-1)).toBe("[DONE]");
    const chunks = parsed(result.events);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: "assistant", content: "", refusal: null });
    expect(chunks.every((chunk) => chunk.id === meta.id && chunk.object === "chat.completion.chunk")).toBe(true);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe("Hello there");
    expect(chunks.filter((chunk) => (chunk.choices[0]?.delta.content ?? "") !== "").length).toBe(2);
    expect(chunks.at(-1)?.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: "stop" });
    expect(chunks.some((chunk) => "usage" in chunk)).toBe(false);
  });

  it("sends the usage of every step in a last chunk when include_usage is set", async () => {
    const result = await streamChunks(toolAnswer, true);
    if (!result.ok) throw new Error("expected a stream");
    const chunks = parsed(result.events);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 });
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  });

  it("streams the text of every step, separated, and never a server-side tool call", async () => {
    const result = await streamChunks(toolAnswer);
    if (!result.ok) throw new Error("expected a stream");
    const chunks = parsed(result.events);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe(
      "Let me look.\n\nResult: found cats",
    );
    expect(chunks.some((chunk) => chunk.choices[0]?.delta.tool_calls !== undefined)).toBe(false);
    expect(result.text).not.toContain("lookup");
  });

  it("streams a client tool call whole and finishes with tool_calls", async () => {
    const result = await streamChunks([
      { toolCalls: [{ id: "c1", name: "client_fn", input: { x: 1 } }] },
      { text: "never reached" },
    ]);
    if (!result.ok) throw new Error("expected a stream");
    const chunks = parsed(result.events);
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls).toEqual([
      { index: 0, id: "c1", type: "function", function: { name: "client_fn", arguments: '{"x":1}' } },
    ]);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("tool_calls");
    expect(result.text).not.toContain("never reached");
  });

  it("answers a model that fails before any output with a status instead of a broken stream", async () => {
    const failing = new MockLanguageModelV4({
      doStream: async () => {
        throw new APICallError({
          message: "Incorrect API key sk-secret",
          url: "https://api.example.com/v1/chat",
          requestBodyValues: {},
          statusCode: 401,
          isRetryable: false,
        });
      },
    });
    const result = await streamChunks([], false, failing);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.status).toBe(502);
    expect(result.error.body.error.message).toContain("401");
    expect(result.error.body.error.message).not.toContain("sk-secret");
  });

  it("sends an error event and no [DONE] when the model fails after it started", async () => {
    const model = scriptedModel([
      { text: "Let me look.", toolCalls: [{ id: "s1", name: "lookup", input: { q: "x" } }] },
    ]);
    const original = model.doStream;
    let calls = 0;
    model.doStream = async (options) => {
      calls++;
      if (calls === 2) throw new Error("provider went away");
      return original(options);
    };
    const result = await streamChunks([], false, model);
    if (!result.ok) throw new Error("expected a stream");
    expect(result.events.at(-1)).not.toBe("[DONE]");
    expect(JSON.parse(result.events.at(-1) ?? "{}")).toEqual({
      error: {
        message: "The model provider's stream broke off before the answer was complete.",
        type: "server_error",
        param: null,
        code: "upstream_stream_interrupted",
      },
    });
  });
});

describe("merging the client's tools over the MCP tools", () => {
  it("lets the client's tool win a name clash and reports it", () => {
    const { tools: merged, errors } = mergeTools({ shared: serverTool, lookup: serverTool }, { shared: clientTool });
    expect(merged["shared"]).toBe(clientTool);
    expect(merged["lookup"]).toBe(serverTool);
    expect(errors).toEqual([expect.objectContaining({ code: "tool_name_conflict", tool: "shared" })]);
  });

  it("treats a tool named __proto__ as a name, not as the prototype", () => {
    const { tools: merged } = mergeTools({}, { ["__proto__"]: clientTool } as ToolSet);
    expect(Object.keys(merged)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(merged)).toBeNull();
  });
});
