import type {
  LanguageModelV4CallOptions,
  LanguageModelV4Content,
  LanguageModelV4FinishReason,
  LanguageModelV4GenerateResult,
  LanguageModelV4StreamPart,
  LanguageModelV4ToolResultOutput,
  LanguageModelV4Usage,
} from "@ai-sdk/provider";
import { convertArrayToReadableStream, MockLanguageModelV4 } from "ai/test";

/**
 * A SCRIPTED model for running the demo without an API key. It is not an AI: it follows three rules,
 * so that every step of the walkthrough shows what a real model would do with the injected tools.
 *
 * 1. The last message is a tool result → answer with that result.
 * 2. A tool named `<server>__get_weather` was offered → call it for the city in the user's question.
 * 3. No such tool → say so (this is what the opt-out step shows).
 */
export function createScriptedModel(): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    provider: "scripted",
    modelId: "scripted-demo-model",
    doGenerate: async (options) => scriptedTurn(options),
    doStream: async (options) => ({ stream: convertArrayToReadableStream(toStreamParts(scriptedTurn(options))) }),
  });
}

const USAGE: LanguageModelV4Usage = {
  inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 0, text: 0, reasoning: 0 },
};

function scriptedTurn(options: LanguageModelV4CallOptions): LanguageModelV4GenerateResult {
  const last = options.prompt.at(-1);
  if (last?.role === "tool") {
    const result = last.content.find((part) => part.type === "tool-result");
    if (result) {
      const server = result.toolName.split("__")[0];
      const answer = outputText(result.output);
      return finish(
        [
          {
            type: "text",
            text: isErrorOutput(result.output)
              ? `The ${server} server reported a problem: ${answer}`
              : `According to the ${server} server: ${answer}`,
          },
        ],
        "stop",
      );
    }
  }
  const weatherTool = options.tools?.find((tool) => tool.type === "function" && tool.name.endsWith("__get_weather"));
  if (!weatherTool) {
    return finish(
      [{ type: "text", text: "No weather tool was offered to me for this request, so I cannot look up the weather." }],
      "stop",
    );
  }
  const city = cityIn(lastUserText(options)) ?? "Paris";
  return finish(
    [{ type: "tool-call", toolCallId: "call-1", toolName: weatherTool.name, input: JSON.stringify({ city }) }],
    "tool-calls",
  );
}

function finish(
  content: LanguageModelV4Content[],
  unified: LanguageModelV4FinishReason["unified"],
): LanguageModelV4GenerateResult {
  return { content, finishReason: { unified, raw: unified }, usage: USAGE, warnings: [] };
}

function lastUserText(options: LanguageModelV4CallOptions): string {
  const user = options.prompt.findLast((message) => message.role === "user");
  if (user?.role !== "user") return "";
  return user.content.map((part) => (part.type === "text" ? part.text : "")).join(" ");
}

/** "What's the weather in New York?" → "New York". */
function cityIn(question: string): string | undefined {
  return /\bin\s+([A-Za-z][A-Za-z .'-]*?)\s*[?!.]*$/i.exec(question.trim())?.[1];
}

function isErrorOutput(output: LanguageModelV4ToolResultOutput): boolean {
  return output.type === "error-text" || output.type === "error-json";
}

/** The text inside a tool result, whichever shape it arrived in (an MCP result is `{ content: [{ type: "text" }] }`). */
function outputText(output: LanguageModelV4ToolResultOutput): string {
  switch (output.type) {
    case "text":
    case "error-text":
      return output.value;
    case "json":
    case "error-json":
      return mcpText(output.value) ?? JSON.stringify(output.value);
    case "content":
      return output.value.map((part) => (part.type === "text" ? part.text : `[${part.type}]`)).join("\n");
    case "execution-denied":
      return `the call was denied${output.reason ? `: ${output.reason}` : ""}`;
    default:
      return "(no output)";
  }
}

function mcpText(value: unknown): string | undefined {
  const content = (value as { content?: unknown } | null)?.content;
  if (!Array.isArray(content)) return undefined;
  return content
    .map((part: { type?: unknown; text?: unknown }) => (part?.type === "text" ? String(part.text) : ""))
    .join("\n");
}

/** The same turn as a stream, for `streamText`. */
function toStreamParts(turn: LanguageModelV4GenerateResult): LanguageModelV4StreamPart[] {
  const parts: LanguageModelV4StreamPart[] = [{ type: "stream-start", warnings: [] }];
  turn.content.forEach((part, index) => {
    if (part.type === "text") {
      const id = `text-${index}`;
      parts.push({ type: "text-start", id }, { type: "text-delta", id, delta: part.text }, { type: "text-end", id });
    } else if (part.type === "tool-call") {
      parts.push(part);
    }
  });
  parts.push({ type: "finish", finishReason: turn.finishReason, usage: turn.usage });
  return parts;
}
