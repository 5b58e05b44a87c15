import type { LanguageModelV4GenerateResult, LanguageModelV4StreamPart } from "@ai-sdk/provider";
import { MockLanguageModelV4, convertArrayToReadableStream } from "ai/test";
import type { ServerDefinition } from "../../src/config/schema.js";
import { createMcpHooks, type McpHookable } from "../../src/hooks.js";
import { DEFAULT_LIMITS, type Limits } from "../../src/options.js";
import { createEngine, type Engine, type EngineDeps } from "../../src/pool/engine.js";
import type { ResolvedServer, Tier } from "../../src/types.js";

export interface TestEngine extends Engine {
  hooks: McpHookable;
  limits: Limits;
}

/** An engine with test-sized limits; every engine made here is closed by `closeEngines()`. */
const engines: Engine[] = [];

export function makeEngine(limits: Partial<Limits> = {}, deps: Partial<EngineDeps> = {}): TestEngine {
  const merged: Limits = {
    ...DEFAULT_LIMITS,
    // Success cases get seconds of margin (a stdio child spawned through tsx on a busy machine can take
    // several seconds); a test about a timeout passes its own short one for a server that never answers.
    connectTimeoutMs: 15_000,
    connectRetryDelayMs: 100,
    toolsTimeoutMs: 15_000,
    ...limits,
  };
  const hooks = deps.hooks ?? createMcpHooks();
  const engine = createEngine({ limits: merged, hooks, fetchFor: () => fetch, ...deps });
  engines.push(engine);
  return Object.assign(engine, { hooks, limits: merged });
}

export async function closeEngines(): Promise<void> {
  await Promise.allSettled(engines.splice(0).map((engine) => engine.close()));
}

export function server(
  name: string,
  definition: ServerDefinition,
  source: Tier = "config",
  scope?: string,
): ResolvedServer {
  return { name, source, definition, ...(scope === undefined ? {} : { scope }) };
}

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

/** A mock model that calls `toolName` with `input` in its first step and answers text in its second. */
export function scriptedModel(toolName: string, input: Record<string, unknown>): MockLanguageModelV4 {
  const steps: LanguageModelV4GenerateResult[] = [
    {
      content: [{ type: "tool-call", toolCallId: "call-1", toolName, input: JSON.stringify(input) }],
      finishReason: { unified: "tool-calls", raw: "tool_calls" },
      usage,
      warnings: [],
    },
    { content: [{ type: "text", text: "done" }], finishReason: { unified: "stop", raw: "stop" }, usage, warnings: [] },
  ];
  let step = 0;
  return new MockLanguageModelV4({ doGenerate: async () => steps[Math.min(step++, steps.length - 1)]! });
}

/** The streaming twin of `scriptedModel`. */
export function scriptedStreamingModel(toolName: string, input: Record<string, unknown>): MockLanguageModelV4 {
  const steps: LanguageModelV4StreamPart[][] = [
    [
      { type: "stream-start", warnings: [] },
      { type: "tool-call", toolCallId: "call-1", toolName, input: JSON.stringify(input) },
      { type: "finish", finishReason: { unified: "tool-calls", raw: "tool_calls" }, usage },
    ],
    [
      { type: "stream-start", warnings: [] },
      { type: "text-start", id: "t1" },
      { type: "text-delta", id: "t1", delta: "done" },
      { type: "text-end", id: "t1" },
      { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage },
    ],
  ];
  let step = 0;
  return new MockLanguageModelV4({
    doStream: async () => ({ stream: convertArrayToReadableStream(steps[Math.min(step++, steps.length - 1)]!) }),
  });
}

/** Waits until `check` passes (polling), failing after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
