import type {
  LanguageModelV4CallOptions,
  LanguageModelV4Content,
  LanguageModelV4GenerateResult,
  LanguageModelV4StreamPart,
} from "@ai-sdk/provider";
import { MockLanguageModelV4, convertArrayToReadableStream } from "ai/test";

/**
 * A SCRIPTED model, so the demo runs without an API key. It is not an AI; it follows three rules:
 *
 * 1. The last message is a tool result → answer with it.
 * 2. The client offered a function tool (a name without `__`) → call it, to show `tool_calls`.
 * 3. An MCP weather tool (`<server>__get_weather`) is offered → call it for the city asked about;
 *    otherwise say that no tools were given (what the opt-out shows).
 */
export function createScriptedModel(): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    provider: "scripted",
    modelId: "scripted-demo-model",
    doGenerate: async (options) => turn(options),
    doStream: async (options) => ({ stream: convertArrayToReadableStream(toParts(turn(options))) }),
  });
}

const CITIES = ["Paris", "London", "Berlin", "Tokyo", "New York", "Sydney"];

function turn(options: LanguageModelV4CallOptions): LanguageModelV4GenerateResult {
  const last = options.prompt.at(-1);
  const result = last?.role === "tool" ? last.content.find((part) => part.type === "tool-result") : undefined;
  if (result) {
    const output = result.output;
    let text = JSON.stringify(output);
    if (output.type === "text" || output.type === "error-text") text = output.value;
    if (output.type === "content") text = output.value.map((item) => (item.type === "text" ? item.text : "")).join("");
    return done([{ type: "text", text: `Here is what ${result.toolName} returned: ${text}` }], "stop");
  }
  const city = cityIn(options) ?? "Paris";
  const tools = (options.tools ?? []).filter((tool) => tool.type === "function").map((tool) => tool.name);
  const clientTool = tools.find((name) => !name.includes("__"));
  const weatherTool = tools.find((name) => name.endsWith("__get_weather"));
  const toolName = clientTool ?? weatherTool;
  if (toolName === undefined) {
    return done([{ type: "text", text: "No tools were given to me for this request." }], "stop");
  }
  return done(
    [{ type: "tool-call", toolCallId: `call_${toolName}`, toolName, input: JSON.stringify({ city }) }],
    "tool-calls",
  );
}

function cityIn(options: LanguageModelV4CallOptions): string | undefined {
  const user = options.prompt.findLast((message) => message.role === "user");
  const text = user?.content.map((part) => (part.type === "text" ? part.text : "")).join(" ") ?? "";
  return CITIES.find((city) => text.toLowerCase().includes(city.toLowerCase()));
}

function done(content: LanguageModelV4Content[], unified: "stop" | "tool-calls"): LanguageModelV4GenerateResult {
  const usage = {
    inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: 0, text: 0, reasoning: 0 },
  };
  return { content, finishReason: { unified, raw: unified }, usage, warnings: [] };
}

function toParts(result: LanguageModelV4GenerateResult): LanguageModelV4StreamPart[] {
  const parts: LanguageModelV4StreamPart[] = [{ type: "stream-start", warnings: [] }];
  for (const part of result.content) {
    if (part.type === "text") {
      parts.push({ type: "text-start", id: "0" });
      for (const word of part.text.split(/(?<= )/)) parts.push({ type: "text-delta", id: "0", delta: word });
      parts.push({ type: "text-end", id: "0" });
    } else if (part.type === "tool-call") {
      parts.push(part);
    }
  }
  parts.push({ type: "finish", finishReason: result.finishReason, usage: result.usage });
  return parts;
}
