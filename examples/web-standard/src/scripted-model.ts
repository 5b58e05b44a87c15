import type { LanguageModelV4CallOptions, LanguageModelV4GenerateResult } from "@ai-sdk/provider";
import { MockLanguageModelV4 } from "ai/test";

/**
 * A SCRIPTED model, so the example runs without an API key. Not an AI: it calls the first offered
 * `<server>__get_weather` tool for Paris, then answers with the text of the tool's result.
 */
export function createScriptedModel(): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    provider: "scripted",
    modelId: "scripted-weather",
    doGenerate: async (o) => step(o),
  });
}

function step(options: LanguageModelV4CallOptions): LanguageModelV4GenerateResult {
  const last = options.prompt.at(-1);
  const toolResult = last?.role === "tool" ? last.content.find((part) => part.type === "tool-result") : undefined;
  const weather = options.tools?.find((tool) => tool.type === "function" && tool.name.endsWith("__get_weather"));
  const done = { unified: "stop", raw: "stop" } as const;
  const usage = {
    inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: 0, text: 0, reasoning: 0 },
  };
  if (toolResult !== undefined) {
    const output = JSON.stringify("value" in toolResult.output ? toolResult.output.value : toolResult.output);
    return { content: [{ type: "text", text: `Tool result: ${output}` }], finishReason: done, usage, warnings: [] };
  }
  if (weather === undefined)
    return { content: [{ type: "text", text: "I have no weather tool." }], finishReason: done, usage, warnings: [] };
  return {
    content: [{ type: "tool-call", toolCallId: "call-1", toolName: weather.name, input: '{"city":"Paris"}' }],
    finishReason: { unified: "tool-calls", raw: "tool-calls" },
    usage,
    warnings: [],
  };
}
