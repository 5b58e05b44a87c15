import type {
  LanguageModelV4CallOptions,
  LanguageModelV4Content,
  LanguageModelV4GenerateResult,
} from "@ai-sdk/provider";
import { MockLanguageModelV4 } from "ai/test";

/**
 * A SCRIPTED model, so the demo runs without an API key. Not an AI: after a tool result it repeats
 * the result; when a `<server>__get_weather` tool is offered it calls it for Paris; otherwise it says
 * it has no tool.
 */
export function createScriptedModel(): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    provider: "scripted",
    modelId: "scripted-demo-model",
    doGenerate: async (options) => turn(options),
  });
}

function turn(options: LanguageModelV4CallOptions): LanguageModelV4GenerateResult {
  const last = options.prompt.at(-1);
  const result = last?.role === "tool" ? last.content.find((part) => part.type === "tool-result") : undefined;
  if (result)
    return reply(
      [{ type: "text", text: `The ${result.toolName.split("__")[0]} server says: ${textOf(result.output)}` }],
      "stop",
    );
  const weather = options.tools?.find((tool) => tool.type === "function" && tool.name.endsWith("__get_weather"));
  if (!weather) return reply([{ type: "text", text: "No weather tool was given to me for this request." }], "stop");
  return reply(
    [{ type: "tool-call", toolCallId: "call-1", toolName: weather.name, input: JSON.stringify({ city: "Paris" }) }],
    "tool-calls",
  );
}

function reply(content: LanguageModelV4Content[], unified: "stop" | "tool-calls"): LanguageModelV4GenerateResult {
  const usage = {
    inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: 0, text: 0, reasoning: 0 },
  };
  return { content, finishReason: { unified, raw: unified }, usage, warnings: [] };
}

/** The text of a tool result: text parts (`content` output) or an MCP result's `{ content: [...] }` (`json` output). */
function textOf(output: { type: string; value?: unknown }): string {
  const value = output.value as { content?: unknown } | unknown[] | undefined;
  const parts = Array.isArray(value) ? value : (value as { content?: unknown } | undefined)?.content;
  if (Array.isArray(parts))
    return parts.map((part: { type: string; text?: string }) => part.text ?? `[${part.type}]`).join("\n");
  return typeof output.value === "string" ? output.value : JSON.stringify(output.value);
}
