import type { LanguageModelV4CallOptions, LanguageModelV4Content, LanguageModelV4StreamPart } from "@ai-sdk/provider";
import { MockLanguageModelV4, convertArrayToReadableStream } from "ai/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addTool,
  echoTool,
  everythingServer,
  type HangingServer,
  type McpFixture,
  startHangingServer,
  startSseServer,
  startStreamableServer,
} from "../../packages/core/test/fixtures/mcp-servers.js";
import { type MatrixContext, type Reply, type TestClient, newKey, startApp } from "./matrix.js";

/**
 * SPEC §5 end to end: an app's own AI SDK routes (`POST /generate` with `generateText`, `POST /stream`
 * with `streamText`, see matrix.ts) get `await <request>.mcp.tools()`, a scripted model calls
 * `<server>__<tool>`, and the call goes over a real transport to a real MCP server (stdio, Streamable
 * HTTP, SSE) whose result reaches the model's next step and the app's response.
 */
export function injectionScenarios({ app, adapter }: MatrixContext): void {
  let streamable: McpFixture;
  let sse: McpFixture;
  let failing: McpFixture;
  let hanging: HangingServer;
  beforeAll(async () => {
    [streamable, sse, failing, hanging] = await Promise.all([
      startStreamableServer({ tools: [echoTool(), addTool()] }),
      startSseServer({ tools: [echoTool()] }),
      startStreamableServer({
        tools: [{ name: "fail", handler: () => ({ content: [{ type: "text", text: "disk full" }], isError: true }) }],
      }),
      startHangingServer(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([streamable?.close(), sse?.close(), failing?.close(), hanging?.close()]);
  });

  // Tenant servers on 127.0.0.1 are opened exactly, as an operator would for a sidecar.
  const loopback = { allowedHosts: ["127.0.0.1"], connectTimeoutMs: 5_000, connectRetryDelayMs: 100 };

  describe("config tier: the official server-everything over stdio", () => {
    // One app (and so one pooled stdio child) for every test here, not one per test.
    let shared: TestClient & { close(): Promise<void> };
    let model: MockLanguageModelV4 | undefined;
    const opened: string[] = [];
    beforeAll(async () => {
      shared = await startApp(
        adapter,
        {
          config: { mcpServers: { everything: everythingServer() } },
          connectTimeoutMs: 20_000,
          toolsTimeoutMs: 20_000,
        },
        () => {
          if (model === undefined) throw new Error("no model scripted");
          return model;
        },
      );
      shared.mcp.hooks.hook("connection:open", ({ server, transport }) => {
        opened.push(`${server.name}:${transport}`);
      });
    });
    afterAll(async () => {
      await shared?.close();
    });

    it("generateText: the model's everything__echo call runs, and its result reaches the next step and the response", async () => {
      model = toolCallingModel("everything__echo", { message: "hello from the config tier" });
      const reply = await generate(shared, { prompt: "echo something" });

      expect(offeredTools(model.doGenerateCalls[0])).toEqual(
        expect.arrayContaining(["everything__echo", "everything__get-sum"]),
      );
      expect(reply.json.toolResults).toEqual([
        expect.objectContaining({
          toolName: "everything__echo",
          input: { message: "hello from the config tier" },
          output: expect.objectContaining({ content: [{ type: "text", text: "Echo: hello from the config tier" }] }),
        }),
      ]);
      expect(toolOutputsSeen(model.doGenerateCalls[1])).toContain("Echo: hello from the config tier");
      expect(reply.json.text).toContain("Echo: hello from the config tier");
      expect(reply.json.errors).toEqual([]);
    }, 30_000);

    it("streamText: a second request reuses the pooled stdio child and streams everything__get-sum's result", async () => {
      model = toolCallingModel("everything__get-sum", { a: 2, b: 40 });
      const { chunks } = await stream(shared, { prompt: "add" });

      expect(chunks).toContainEqual(
        expect.objectContaining({
          type: "tool-output-available",
          output: expect.objectContaining({ content: expect.any(Array) }),
        }),
      );
      expect(JSON.stringify(outputChunk(chunks))).toContain("42");
      expect(toolOutputsSeen(model.doStreamCalls[1])).toContain("42");
      expect(finishErrors(chunks)).toEqual([]);
      expect(opened).toEqual(["everything:stdio"]);
    }, 30_000);
  });

  it("scope tier: a tenant's Streamable HTTP server is called by streamText with the exact arguments, and its result is streamed and seen by the next step", async () => {
    const model = toolCallingModel("tenant__echo", { text: "from the stream" });
    const client = await app(loopback, () => model);
    const key = newKey("tenant");
    const created = await client.register(key, { name: "tenant", url: streamable.url });
    expect(created.status, created.text).toBe(201);

    const before = streamable.calls.length;
    const { reply, chunks } = await stream(client, { prompt: "echo" }, key);

    expect(reply.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(streamable.calls.slice(before)).toEqual([{ tool: "echo", arguments: { text: "from the stream" } }]);
    expect(chunks).toContainEqual(
      expect.objectContaining({
        type: "tool-input-available",
        toolName: "tenant__echo",
        input: { text: "from the stream" },
      }),
    );
    expect(outputChunk(chunks)).toMatchObject({
      output: { content: [{ type: "text", text: "echo: from the stream" }] },
    });
    expect(toolOutputsSeen(model.doStreamCalls[1])).toContain("echo: from the stream");
    expect(
      chunks
        .filter((chunk) => chunk.type === "text-delta")
        .map((chunk) => chunk.delta)
        .join(""),
    ).toContain("echo: from the stream");
    expect(finishErrors(chunks)).toEqual([]);
  });

  for (const [label, extra] of [
    ["with transport: sse", { transport: "sse" }],
    ["without a transport (Streamable HTTP falls back to SSE)", {}],
  ] as const) {
    it(`an SSE-only server ${label} is called by generateText and its result reaches the next step`, async () => {
      const model = toolCallingModel("legacy__echo", { text: "over sse" });
      const client = await app(loopback, () => model);
      const opened: string[] = [];
      client.mcp.hooks.hook("connection:open", ({ transport }) => {
        opened.push(transport);
      });
      const before = sse.calls.length;
      const reply = await generate(client, {
        prompt: "echo",
        mcp_servers: { legacy: { url: sse.url, ...extra } },
      });

      expect(sse.calls.slice(before)).toEqual([{ tool: "echo", arguments: { text: "over sse" } }]);
      expect(opened).toEqual(["sse"]);
      expect(toolOutputsSeen(model.doGenerateCalls[1])).toContain("echo: over sse");
      expect(reply.json.text).toContain("echo: over sse");
      expect(reply.json.errors).toEqual([]);
    });
  }

  it("an isError result reaches the model as an error result and the request still answers 200", async () => {
    const model = toolCallingModel("ops__fail", {});
    const client = await app(loopback, () => model);
    const key = newKey("ops");
    expect((await client.register(key, { name: "ops", url: failing.url })).status).toBe(201);

    const before = failing.calls.length;
    const reply = await generate(client, { prompt: "try it" }, key);

    expect(failing.calls.slice(before)).toEqual([{ tool: "fail", arguments: {} }]);
    const seen = toolResultParts(model.doGenerateCalls[1]);
    expect(seen).toEqual([
      expect.objectContaining({ toolName: "ops__fail", output: { type: "error-text", value: "disk full" } }),
    ]);
    expect(reply.json.toolResults).toEqual([
      expect.objectContaining({ toolName: "ops__fail", output: expect.objectContaining({ isError: true }) }),
    ]);
    expect(reply.json.text).toContain("disk full");
  });

  it("opts out with mcp_servers: {} — the model is offered no MCP tool and no MCP server hears a thing", async () => {
    const model = answeringModel();
    const client = await app({ ...loopback, config: { mcpServers: { docs: { url: streamable.url } } } }, () => model);
    const key = newKey("optout");
    expect((await client.register(key, { name: "tenant", url: sse.url, transport: "sse" })).status).toBe(201);

    const heard = (): number[] => [
      streamable.requestHeaders.length,
      streamable.initializations,
      sse.requestHeaders.length,
      sse.initializations,
    ];
    const before = heard();
    const optedOut = await generate(client, { prompt: "hi", mcp_servers: {} }, key);
    expect(offeredTools(model.doGenerateCalls[0])).toEqual([]);
    expect(optedOut.json.errors).toEqual([]);
    expect(heard()).toEqual(before);

    // The same request without the opt-out gets both servers' tools: the empty list above means something.
    await generate(client, { prompt: "hi" }, key);
    expect(offeredTools(model.doGenerateCalls[1])).toEqual(["docs__add", "docs__echo", "tenant__echo"]);
  });

  it("a server that never answers does not hold the request: it completes within toolsTimeoutMs with the working server's tools, and errors name the hanging one", async () => {
    const model = toolCallingModel("working__add", { a: 20, b: 22 });
    const client = await app({ ...loopback, toolsTimeoutMs: 3_000, connectTimeoutMs: 20_000 }, () => model);
    const before = streamable.calls.length;
    const reply = await generate(client, {
      prompt: "add",
      mcp_servers: { working: { url: streamable.url }, stuck: { url: hanging.url } },
    });

    const offered = offeredTools(model.doGenerateCalls[0]);
    expect(offered).toEqual(expect.arrayContaining(["working__add", "working__echo"]));
    expect(offered.filter((name) => name.startsWith("stuck__"))).toEqual([]);
    expect(hanging.requests).toBeGreaterThan(0);
    expect(reply.json.errors).toContainEqual(expect.objectContaining({ server: "stuck", code: "timeout" }));
    expect(reply.json.errors.filter((error: { server?: string }) => error.server !== "stuck")).toEqual([]);
    expect(streamable.calls.slice(before)).toEqual([{ tool: "add", arguments: { a: 20, b: 22 } }]);
    expect(reply.json.text).toContain("42");
  }, 15_000);

  it("isolates tenants: tenant B (and an anonymous caller) never get tenant A's registered tools, even when the model asks for one", async () => {
    let model = toolCallingModel("alpha__echo", { text: "for A" });
    const client = await app(loopback, () => model);
    const keyA = newKey("tenant-a");
    const keyB = newKey("tenant-b");
    expect((await client.register(keyA, { name: "alpha", url: streamable.url })).status).toBe(201);

    const before = streamable.calls.length;
    await generate(client, { prompt: "echo" }, keyA);
    expect(offeredTools(model.doGenerateCalls[0])).toEqual(["alpha__add", "alpha__echo"]);
    expect(streamable.calls.slice(before)).toEqual([{ tool: "echo", arguments: { text: "for A" } }]);

    for (const key of [keyB, undefined]) {
      model = toolCallingModel("alpha__echo", { text: "stolen" });
      const reply = await generate(client, { prompt: "echo" }, key);
      expect(offeredTools(model.doGenerateCalls[0])).toEqual([]);
      expect(reply.json.toolResults).toEqual([]);
      expect(reply.json.errors).toEqual([]);
    }
    expect(streamable.calls.slice(before)).toEqual([{ tool: "echo", arguments: { text: "for A" } }]);
  });
}

// ---------------------------------------------------------------------------------------------------
// The scripted model: the only fake in these tests.

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

type ToolResultPart = Extract<
  Extract<LanguageModelV4CallOptions["prompt"][number], { role: "tool" }>["content"][number],
  { type: "tool-result" }
>;

/** The tool results a call's prompt shows the model. */
function toolResultParts(call: LanguageModelV4CallOptions | undefined): ToolResultPart[] {
  expect(call, "the model was called for this step").toBeDefined();
  return (call?.prompt ?? []).flatMap((message) =>
    message.role === "tool"
      ? message.content.filter((part): part is ToolResultPart => part.type === "tool-result")
      : [],
  );
}

/** The tool outputs a call's prompt shows the model, serialized (what the model "reads"). */
function toolOutputsSeen(call: LanguageModelV4CallOptions | undefined): string {
  const parts = toolResultParts(call);
  expect(parts.length, "the step's prompt holds a tool result").toBeGreaterThan(0);
  return JSON.stringify(parts.map((part) => part.output));
}

/** The names of the tools a call offered the model, sorted. */
function offeredTools(call: LanguageModelV4CallOptions | undefined): string[] {
  expect(call, "the model was called for this step").toBeDefined();
  return (call?.tools ?? []).map((tool) => tool.name).sort();
}

/**
 * A model that, as long as its prompt holds no tool result, calls `toolName` with `input`; once it
 * does, it answers with what it was shown. Works for `generateText` and `streamText` alike.
 */
function toolCallingModel(toolName: string, input: Record<string, unknown>): MockLanguageModelV4 {
  return scriptedModel((options) => {
    const results = toolResultParts(options);
    if (results.length > 0) return { text: `I saw: ${JSON.stringify(results.map((part) => part.output))}` };
    return { toolName, input };
  });
}

/** A model that never calls a tool. */
function answeringModel(): MockLanguageModelV4 {
  return scriptedModel(() => ({ text: "no tools needed" }));
}

type Turn = { text: string } | { toolName: string; input: Record<string, unknown> };

function scriptedModel(turn: (options: LanguageModelV4CallOptions) => Turn): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    doGenerate: async (options) => {
      const next = turn(options);
      const content: LanguageModelV4Content[] =
        "text" in next
          ? [{ type: "text", text: next.text }]
          : [{ type: "tool-call", toolCallId: "call-1", toolName: next.toolName, input: JSON.stringify(next.input) }];
      return {
        content,
        finishReason: "text" in next ? { unified: "stop", raw: "stop" } : { unified: "tool-calls", raw: "tool_calls" },
        usage,
        warnings: [],
      };
    },
    doStream: async (options) => {
      const next = turn(options);
      const parts: LanguageModelV4StreamPart[] =
        "text" in next
          ? [
              { type: "stream-start", warnings: [] },
              { type: "text-start", id: "t1" },
              { type: "text-delta", id: "t1", delta: next.text },
              { type: "text-end", id: "t1" },
              { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage },
            ]
          : [
              { type: "stream-start", warnings: [] },
              { type: "tool-call", toolCallId: "call-1", toolName: next.toolName, input: JSON.stringify(next.input) },
              { type: "finish", finishReason: { unified: "tool-calls", raw: "tool_calls" }, usage },
            ];
      return { stream: convertArrayToReadableStream(parts) };
    },
  });
}

// ---------------------------------------------------------------------------------------------------
// The app's AI SDK routes, as a client calls them.

/** `POST /generate`, expecting 200. */
async function generate(client: TestClient, body: unknown, key?: string): Promise<Reply> {
  const reply = await client.request("POST", "/generate", key === undefined ? { body } : { key, body });
  expect(reply.status, reply.text).toBe(200);
  return reply;
}

/** `POST /stream`, expecting 200; the UI message stream's chunks, in order. */
async function stream(client: TestClient, body: unknown, key?: string): Promise<{ reply: Reply; chunks: any[] }> {
  const reply = await client.request("POST", "/stream", key === undefined ? { body } : { key, body });
  expect(reply.status, reply.text).toBe(200);
  const chunks = reply.text
    .split("\n")
    .filter((line) => line.startsWith("data: ") && line !== "data: [DONE]")
    .map((line) => JSON.parse(line.slice("data: ".length)));
  expect(reply.text).toContain("data: [DONE]");
  expect(chunks.filter((chunk) => chunk.type === "error")).toEqual([]);
  return { reply, chunks };
}

/** The one `tool-output-available` chunk of a stream. */
function outputChunk(chunks: any[]): any {
  const outputs = chunks.filter((chunk) => chunk.type === "tool-output-available");
  expect(outputs).toHaveLength(1);
  return outputs[0];
}

/** The request's MCP errors, which the stream route sends as the `finish` chunk's metadata. */
function finishErrors(chunks: any[]): unknown {
  const finish = chunks.find((chunk) => chunk.type === "finish");
  expect(finish, "the stream finished").toBeDefined();
  return finish.messageMetadata?.errors;
}
