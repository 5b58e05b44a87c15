import type { FinishReason, LanguageModelUsage } from "ai";
import type { ContextError } from "../types.js";
import {
  type ChatCompletion,
  type CompletionMeta,
  STEP_SEPARATOR,
  isClientToolCall,
  toFinishReason,
  toOpenAIToolCall,
  toOpenAIUsage,
} from "./format.js";

/** The parts of a `generateText` result that the completion is made of. */
export interface GeneratedSteps {
  steps: readonly {
    text: string;
    finishReason: FinishReason;
    toolCalls: readonly { toolCallId: string; toolName: string; input: unknown; invalid?: boolean }[];
  }[];
  usage: LanguageModelUsage;
}

/**
 * A finished server-side loop as one `chat.completion`: the text of all steps, the client's tool
 * calls (only the last step can hold them, since they end the loop), and the usage of every step.
 * MCP tool calls and their results are left out: they ran here.
 */
export function toChatCompletion(
  result: GeneratedSteps,
  meta: CompletionMeta,
  clientToolNames: ReadonlySet<string>,
  errors: readonly ContextError[] = [],
): ChatCompletion {
  const text = result.steps
    .map((step) => step.text)
    .filter((stepText) => stepText !== "")
    .join(STEP_SEPARATOR);
  const last = result.steps.at(-1);
  const toolCalls = (last?.toolCalls ?? [])
    .filter((call) => isClientToolCall(call, clientToolNames))
    .map(toOpenAIToolCall);
  const message: ChatCompletion["choices"][number]["message"] = {
    role: "assistant",
    content: text === "" && toolCalls.length > 0 ? null : text,
    refusal: null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const completion: ChatCompletion = {
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: meta.model,
    choices: [
      { index: 0, message, logprobs: null, finish_reason: toFinishReason(last?.finishReason, toolCalls.length) },
    ],
    usage: toOpenAIUsage(result.usage),
  };
  if (errors.length > 0) completion.mcp_errors = [...errors];
  return completion;
}
