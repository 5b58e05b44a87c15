import { generateText, stepCountIs, streamText } from "ai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ContextError } from "../../src/types.js";
import {
  addTool,
  echoTool,
  everythingServer,
  type McpFixture,
  startSseServer,
  startStreamableServer,
  stdioFixture,
} from "../fixtures/mcp-servers.js";
import { closeEngines, makeEngine, scriptedModel, scriptedStreamingModel, server } from "./helpers.js";

let streamable: McpFixture;
let sse: McpFixture;

beforeAll(async () => {
  streamable = await startStreamableServer({
    tools: [echoTool(), addTool()],
    instructions: "Use echo to repeat things.",
  });
  sse = await startSseServer({ tools: [echoTool("shout")], instructions: "The SSE server." });
});
afterEach(closeEngines);
afterAll(async () => {
  await streamable?.close();
  await sse?.close();
});

describe("tools() over every transport", () => {
  it("offers a Streamable HTTP server's tools as server__tool with their descriptions and schemas", async () => {
    const engine = makeEngine();
    const errors: ContextError[] = [];
    const tools = await engine.tools([server("docs", { url: streamable.url })], errors);
    expect(Object.keys(tools).sort()).toEqual(["docs__add", "docs__echo"]);
    expect(tools.docs__echo?.description).toBe("Echoes the text back");
    expect(errors).toEqual([]);
  });

  it("falls back to SSE when the server only speaks the old HTTP+SSE transport", async () => {
    const engine = makeEngine();
    const errors: ContextError[] = [];
    const tools = await engine.tools([server("legacy", { url: sse.url })], errors);
    expect(Object.keys(tools)).toEqual(["legacy__shout"]);
    expect(errors).toEqual([]);
  });

  it("connects with SSE directly when the definition says transport: sse", async () => {
    const engine = makeEngine();
    const opened: string[] = [];
    engine.hooks.hook("connection:open", ({ transport }) => {
      opened.push(transport);
    });
    const tools = await engine.tools([server("legacy", { url: sse.url, transport: "sse" })], []);
    expect(Object.keys(tools)).toEqual(["legacy__shout"]);
    expect(opened).toEqual(["sse"]);
  });

  it("spawns a stdio server without a shell and lists its tools", async () => {
    const engine = makeEngine();
    const errors: ContextError[] = [];
    const tools = await engine.tools(
      [server("local", stdioFixture({ tools: [{ name: "echo" }, { name: "add", behavior: "add" }] }))],
      errors,
    );
    expect(Object.keys(tools).sort()).toEqual(["local__add", "local__echo"]);
    expect(errors).toEqual([]);
  });

  it("works with the official server-everything over stdio", async () => {
    const engine = makeEngine({ connectTimeoutMs: 20_000, toolsTimeoutMs: 20_000 });
    const errors: ContextError[] = [];
    const tools = await engine.tools([server("everything", everythingServer())], errors);
    expect(Object.keys(tools)).toEqual(expect.arrayContaining(["everything__echo", "everything__get-sum"]));
    expect(errors).toEqual([]);
    const result = await tools["everything__get-sum"]!.execute!(
      { a: 2, b: 40 },
      { toolCallId: "c1", messages: [], context: {} },
    );
    expect(JSON.stringify(result)).toContain("42");
    const instructions = await engine.instructions([server("everything", everythingServer())], errors);
    expect(instructions.startsWith("## everything\n\n")).toBe(true);
  });

  it("merges the tools of several servers in one set", async () => {
    const engine = makeEngine();
    const tools = await engine.tools(
      [
        server("a", { url: streamable.url }),
        server("b", { url: sse.url }),
        server("c", stdioFixture({ tools: [{ name: "echo" }] })),
      ],
      [],
    );
    expect(Object.keys(tools).sort()).toEqual(["a__add", "a__echo", "b__shout", "c__echo"]);
  });
});

describe("tool calls from the AI SDK", () => {
  it("generateText: the model's call reaches the MCP server and the result reaches the model's next step", async () => {
    const engine = makeEngine();
    const tools = await engine.tools([server("docs", { url: streamable.url })], []);
    const model = scriptedModel("docs__echo", { text: "hello" });
    const before = streamable.calls.length;
    const result = await generateText({ model, tools, prompt: "say hello", stopWhen: stepCountIs(3) });
    expect(streamable.calls.slice(before)).toEqual([{ tool: "echo", arguments: { text: "hello" } }]);
    expect(result.text).toBe("done");
    const secondPrompt = JSON.stringify(model.doGenerateCalls[1]?.prompt);
    expect(secondPrompt).toContain("echo: hello");
  });

  it("generateText: the provider gets each tool's input schema as the MCP server listed it", async () => {
    const engine = makeEngine();
    const tools = await engine.tools([server("docs", { url: streamable.url })], []);
    const model = scriptedModel("docs__add", { a: 1, b: 2 });
    await generateText({ model, tools, prompt: "add", stopWhen: stepCountIs(3) });
    const offered = model.doGenerateCalls[0]?.tools?.find((tool) => tool.name === "docs__add");
    expect(offered).toMatchObject({
      type: "function",
      description: "Adds two numbers",
      inputSchema: {
        type: "object",
        properties: { a: { type: "number" }, b: { type: "number" } },
        required: ["a", "b"],
      },
    });
    expect(streamable.calls.at(-1)).toEqual({ tool: "add", arguments: { a: 1, b: 2 } });
  });

  it("streamText: the call runs server-side and its result is in the next step's prompt", async () => {
    const engine = makeEngine();
    const tools = await engine.tools(
      [server("local", stdioFixture({ tools: [{ name: "add", behavior: "add" }] }))],
      [],
    );
    const model = scriptedStreamingModel("local__add", { a: 20, b: 22 });
    const result = streamText({ model, tools, prompt: "add", stopWhen: stepCountIs(3) });
    expect(await result.text).toBe("done");
    const toolResults = (await result.steps).flatMap((step) => step.toolResults);
    expect(JSON.stringify(toolResults)).toContain('"text":"42"');
    expect(JSON.stringify(model.doStreamCalls[1]?.prompt)).toContain("42");
  });

  it("an isError result reaches the model as an error result, and the generation goes on", async () => {
    const failing = await startStreamableServer({
      tools: [{ name: "fail", handler: () => ({ content: [{ type: "text", text: "disk full" }], isError: true }) }],
    });
    try {
      const engine = makeEngine();
      const tools = await engine.tools([server("s", { url: failing.url })], []);
      const model = scriptedModel("s__fail", {});
      const result = await generateText({ model, tools, prompt: "x", stopWhen: stepCountIs(3) });
      expect(result.text).toBe("done");
      const toolMessage = (model.doGenerateCalls[1]?.prompt ?? []).find((message) => message.role === "tool");
      expect(JSON.stringify(toolMessage)).toContain('"type":"error-text","value":"disk full"');
    } finally {
      await failing.close();
    }
  });

  it("tool:before-call can rewrite arguments, tool:after-call sees the outcome", async () => {
    const engine = makeEngine();
    const seen: unknown[] = [];
    engine.hooks.hook("tool:before-call", (payload) => {
      payload.arguments = { text: "rewritten" };
    });
    engine.hooks.hook("tool:after-call", ({ tool, toolName, isError, server }) => {
      seen.push({ tool, toolName, isError, server: server.name });
    });
    const tools = await engine.tools([server("docs", { url: streamable.url })], []);
    const before = streamable.calls.length;
    const result = await tools.docs__echo!.execute!(
      { text: "original" },
      { toolCallId: "c", messages: [], context: {} },
    );
    expect(streamable.calls.slice(before)).toEqual([{ tool: "echo", arguments: { text: "rewritten" } }]);
    expect(result).toEqual({ content: [{ type: "text", text: "echo: rewritten" }] });
    expect(seen).toEqual([{ tool: "echo", toolName: "docs__echo", isError: false, server: "docs" }]);
  });

  it("tool-call hooks registered after the tool set was built apply to its next call, and stop once removed", async () => {
    const engine = makeEngine();
    const tools = await engine.tools([server("docs", { url: streamable.url })], []);
    const call = { toolCallId: "c", messages: [], context: {} };
    expect(await tools.docs__echo!.execute!({ text: "plain" }, call)).toEqual({
      content: [{ type: "text", text: "echo: plain" }],
    });
    const seen: string[] = [];
    const offBefore = engine.hooks.hook("tool:before-call", (payload) => {
      payload.arguments = { text: "late" };
    });
    const offAfter = engine.hooks.hook("tool:after-call", ({ toolName }) => {
      seen.push(toolName);
    });
    expect(await tools.docs__echo!.execute!({ text: "plain" }, call)).toEqual({
      content: [{ type: "text", text: "echo: late" }],
    });
    expect(seen).toEqual(["docs__echo"]);
    offBefore();
    offAfter();
    expect(await tools.docs__echo!.execute!({ text: "plain" }, call)).toEqual({
      content: [{ type: "text", text: "echo: plain" }],
    });
    expect(seen).toEqual(["docs__echo"]);
  });

  it("a beforeEach observer of the hooks sees every tool call's hooks", async () => {
    const engine = makeEngine();
    const tools = await engine.tools([server("docs", { url: streamable.url })], []);
    const names: string[] = [];
    const off = engine.hooks.beforeEach((event) => {
      names.push(event.name);
    });
    await tools.docs__echo!.execute!({ text: "x" }, { toolCallId: "c", messages: [], context: {} });
    off();
    expect(names).toEqual(["tool:before-call", "tool:after-call"]);
  });

  it("tool:before-call can veto: the server is never called and the model gets an error result", async () => {
    const engine = makeEngine();
    const errorsSeen: string[] = [];
    engine.hooks.hook("tool:before-call", (payload) => {
      payload.veto = "not on Sundays";
    });
    engine.hooks.hook("tool:error", ({ code }) => {
      errorsSeen.push(code);
    });
    const tools = await engine.tools([server("docs", { url: streamable.url })], []);
    const before = streamable.calls.length;
    const result = await tools.docs__echo!.execute!({ text: "x" }, { toolCallId: "c", messages: [], context: {} });
    expect(streamable.calls.length).toBe(before);
    expect(result).toMatchObject({ isError: true });
    expect(JSON.stringify(result)).toContain("not on Sundays");
    expect(errorsSeen).toEqual(["vetoed"]);
  });

  it("sends the definition's headers and bearer token on every request", async () => {
    const guarded = await startStreamableServer({
      tools: [echoTool()],
      requireHeaders: { authorization: "Bearer s3cret", "x-tenant": "acme" },
    });
    try {
      const engine = makeEngine();
      const errors: ContextError[] = [];
      const tools = await engine.tools(
        [server("g", { url: guarded.url, headers: { "X-Tenant": "acme" }, auth: { type: "bearer", token: "s3cret" } })],
        errors,
      );
      expect(errors).toEqual([]);
      await tools.g__echo!.execute!({ text: "hi" }, { toolCallId: "c", messages: [], context: {} });
      expect(guarded.requestHeaders.length).toBeGreaterThan(2);
      expect(
        guarded.requestHeaders.every(
          (headers) => headers.authorization === "Bearer s3cret" && headers["x-tenant"] === "acme",
        ),
      ).toBe(true);
    } finally {
      await guarded.close();
    }
  });

  it("instructions() joins each server's initialize instructions under its name", async () => {
    const engine = makeEngine();
    const text = await engine.instructions(
      [server("docs", { url: streamable.url }), server("legacy", { url: sse.url })],
      [],
    );
    expect(text).toBe("## docs\n\nUse echo to repeat things.\n\n## legacy\n\nThe SSE server.");
  });

  it("caps a server's instructions at maxInstructionsBytes", async () => {
    const verbose = await startStreamableServer({ tools: [echoTool()], instructions: "é".repeat(5000) });
    try {
      const engine = makeEngine({ maxInstructionsBytes: 100 });
      const text = await engine.instructions([server("v", { url: verbose.url })], []);
      const body = text.slice("## v\n\n".length);
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(100);
      expect(body.endsWith("…")).toBe(true);
    } finally {
      await verbose.close();
    }
  });
});
