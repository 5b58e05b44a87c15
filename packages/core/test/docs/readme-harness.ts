import type { LanguageModelV4CallOptions, LanguageModelV4StreamPart } from "@ai-sdk/provider";
import type { McpServerSide } from "@mcp-server-side/core";
import { MockLanguageModelV4, convertArrayToReadableStream } from "ai/test";

/**
 * What a README example imports instead of `@ai-sdk/openai` when the docs test runs it: the only
 * allowed fake, a scripted `ai/test` model. Its first step calls the injected MCP tool named
 * `*__echo`; once it sees the tool's result, it answers with it.
 */
const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 1, text: 1, reasoning: 0 },
};

export const calls: LanguageModelV4CallOptions[] = [];

function toolResults(options: LanguageModelV4CallOptions): unknown[] {
  return options.prompt.flatMap((message) =>
    message.role === "tool"
      ? message.content.flatMap((part) => (part.type === "tool-result" ? [part.output] : []))
      : [],
  );
}

function step(options: LanguageModelV4CallOptions): LanguageModelV4StreamPart[] {
  calls.push(options);
  const results = toolResults(options);
  if (results.length > 0) {
    return [
      { type: "stream-start", warnings: [] },
      { type: "text-start", id: "t1" },
      { type: "text-delta", id: "t1", delta: `The tool said: ${JSON.stringify(results)}` },
      { type: "text-end", id: "t1" },
      { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage },
    ];
  }
  const echo = (options.tools ?? []).find((tool) => tool.name.endsWith("__echo"));
  if (echo === undefined) throw new Error("the README example gave the model no MCP echo tool");
  return [
    { type: "stream-start", warnings: [] },
    {
      type: "tool-call",
      toolCallId: "call-1",
      toolName: echo.name,
      input: JSON.stringify({ text: "from the README" }),
    },
    { type: "finish", finishReason: { unified: "tool-calls", raw: "tool_calls" }, usage },
  ];
}

/** Stands in for `openai(id)` of `@ai-sdk/openai`. */
export function openai(_id: string): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    doStream: async (options) => ({ stream: convertArrayToReadableStream(step(options)) }),
  });
}

/** Instances the example's middleware created, so the test can close them. */
export const instances: McpServerSide[] = [];

/** Wraps `mcpServerSide` so the example's instance is recorded; the example's call stays as written. */
export function track<T extends (...args: never[]) => { mcp: McpServerSide }>(factory: T): T {
  return ((...args: Parameters<T>) => {
    const middleware = factory(...args);
    instances.push(middleware.mcp);
    return middleware;
  }) as T;
}
