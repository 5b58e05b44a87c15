import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { MockLanguageModelV4, convertArrayToReadableStream } from "ai/test";
import { z } from "zod";

/*
 * Shared by the chat tests of core, Express and Hono: a scripted language model (the one fake the
 * project allows) and a real MCP server over Streamable HTTP on 127.0.0.1.
 */

type ModelCallOptions = MockLanguageModelV4["doGenerateCalls"][number];
type GenerateResult = Exclude<ConstructorParameters<typeof MockLanguageModelV4>[0], undefined>["doGenerate"];
type GenerateValue = Extract<GenerateResult, { content: unknown }>;
type StreamValue = Extract<
  Exclude<ConstructorParameters<typeof MockLanguageModelV4>[0], undefined>["doStream"],
  { stream: unknown }
>;
type StreamPart = StreamValue["stream"] extends ReadableStream<infer P> ? P : never;

/** One model turn: some text, some tool calls, or both. */
export interface ScriptedStep {
  text?: string;
  toolCalls?: { id: string; name: string; input: unknown }[];
  /** Overrides the finish reason (default: `tool-calls` when the step calls tools, else `stop`). */
  finishReason?: "stop" | "length" | "tool-calls" | "content-filter";
}

/** A step may depend on the prompt the model received (e.g. to repeat a tool's result). */
export type ScriptEntry = ScriptedStep | ((prompt: ModelCallOptions["prompt"]) => ScriptedStep);

const USAGE = {
  inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 5, text: 5, reasoning: 0 },
};

/**
 * A model that plays `script` one step per call, through `generateText` or `streamText` alike.
 * Each step reports 10 input and 5 output tokens.
 */
export function scriptedModel(script: readonly ScriptEntry[]): MockLanguageModelV4 {
  let index = 0;
  const next = (options: ModelCallOptions): ScriptedStep => {
    const entry = script[Math.min(index++, script.length - 1)];
    if (entry === undefined) throw new Error("empty script");
    return typeof entry === "function" ? entry(options.prompt) : entry;
  };
  const finishOf = (step: ScriptedStep) => ({
    unified: step.finishReason ?? ((step.toolCalls?.length ?? 0) > 0 ? "tool-calls" : "stop"),
    raw: undefined,
  });
  return new MockLanguageModelV4({
    modelId: "scripted",
    doGenerate: async (options): Promise<GenerateValue> => {
      const step = next(options);
      const content: GenerateValue["content"] = [];
      if (step.text !== undefined) content.push({ type: "text", text: step.text });
      for (const call of step.toolCalls ?? []) {
        content.push({
          type: "tool-call",
          toolCallId: call.id,
          toolName: call.name,
          input: JSON.stringify(call.input),
        });
      }
      return { content, finishReason: finishOf(step), usage: USAGE, warnings: [] };
    },
    doStream: async (options): Promise<StreamValue> => {
      const step = next(options);
      const parts: StreamPart[] = [{ type: "stream-start", warnings: [] }];
      if (step.text !== undefined) {
        parts.push({ type: "text-start", id: "t" });
        // Two deltas, so that a test sees the text arrive in pieces.
        const middle = Math.ceil(step.text.length / 2);
        parts.push({ type: "text-delta", id: "t", delta: step.text.slice(0, middle) });
        parts.push({ type: "text-delta", id: "t", delta: step.text.slice(middle) });
        parts.push({ type: "text-end", id: "t" });
      }
      for (const call of step.toolCalls ?? []) {
        parts.push({ type: "tool-call", toolCallId: call.id, toolName: call.name, input: JSON.stringify(call.input) });
      }
      parts.push({ type: "finish", finishReason: finishOf(step), usage: USAGE });
      return { stream: convertArrayToReadableStream(parts) };
    },
  });
}

/** The text of the last tool result in a prompt, or undefined. */
export function lastToolResult(prompt: ModelCallOptions["prompt"]): string | undefined {
  for (const message of [...prompt].reverse()) {
    if (message.role !== "tool") continue;
    for (const part of message.content) {
      if (part.type !== "tool-result") continue;
      const output = part.output;
      if (output.type === "text" || output.type === "error-text") return output.value;
      if (output.type === "content") return output.value.map((item) => ("text" in item ? item.text : "")).join("");
      return JSON.stringify("value" in output ? output.value : output);
    }
  }
  return undefined;
}

export interface TestMcpServer {
  url: string;
  /** Every `tools/call` the server received, in order. */
  calls: { tool: string; arguments: Record<string, unknown> }[];
  close(): Promise<void>;
}

/**
 * A real MCP server (the MCP SDK over Streamable HTTP, stateless) on 127.0.0.1 and a random port,
 * with `add` (sums two numbers) and `echo` (returns its text).
 */
export async function startMcpServer(): Promise<TestMcpServer> {
  const calls: TestMcpServer["calls"] = [];
  const http: Server = createServer((req, res) => {
    const server = new McpServer({ name: "chat-test", version: "1.0.0" });
    server.registerTool(
      "add",
      { description: "Adds two numbers.", inputSchema: { a: z.number(), b: z.number() } },
      async ({ a, b }) => {
        calls.push({ tool: "add", arguments: { a, b } });
        return { content: [{ type: "text", text: String(a + b) }] };
      },
    );
    server.registerTool(
      "echo",
      { description: "Returns its text.", inputSchema: { text: z.string() } },
      async ({ text }) => {
        calls.push({ tool: "echo", arguments: { text } });
        return { content: [{ type: "text", text }] };
      },
    );
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
