import type { FinishReason, LanguageModelUsage } from "ai";
import type { ContextError } from "../types.js";

/** The OpenAI shapes this endpoint answers with (the subset the `openai` client reads). */
export type OpenAIFinishReason = "stop" | "length" | "tool_calls" | "content_filter";

export interface OpenAIToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: {
    index: 0;
    message: { role: "assistant"; content: string | null; refusal: null; tool_calls?: OpenAIToolCall[] };
    logprobs: null;
    finish_reason: OpenAIFinishReason;
  }[];
  usage: OpenAIUsage;
  /** Not OpenAI's: what went wrong with the request's MCP servers (sanitized); absent when nothing did. */
  mcp_errors?: ContextError[];
}

export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: {
    index: 0;
    delta: {
      role?: "assistant";
      /** `null` on the first chunk of a turn that opens with tool calls, as OpenAI sends it. */
      content?: string | null;
      refusal?: null;
      tool_calls?: (OpenAIToolCall & { index: number })[];
    };
    logprobs: null;
    finish_reason: OpenAIFinishReason | null;
  }[];
  usage?: OpenAIUsage | null;
  mcp_errors?: ContextError[];
}

/** What one completion shares between its chunks or its single body. */
export interface CompletionMeta {
  id: string;
  created: number;
  model: string;
}

export function completionMeta(model: string, now: number = Date.now()): CompletionMeta {
  return { id: `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`, created: Math.floor(now / 1000), model };
}

export function toOpenAIUsage(usage: LanguageModelUsage): OpenAIUsage {
  const prompt = usage.inputTokens ?? 0;
  const completion = usage.outputTokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: usage.totalTokens ?? prompt + completion,
    prompt_tokens_details: { cached_tokens: usage.inputTokenDetails?.cacheReadTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: usage.outputTokenDetails?.reasoningTokens ?? 0 },
  };
}

/**
 * The OpenAI finish reason of the whole server-side loop. Client tool calls always end it with
 * `tool_calls`. A last step that still ended in (server-side) tool calls means the loop ran out of
 * `maxSteps` before the model answered: reported as `length`, the budget-exhausted reason clients
 * already handle.
 */
export function toFinishReason(last: FinishReason | undefined, clientToolCalls: number): OpenAIFinishReason {
  if (clientToolCalls > 0) return "tool_calls";
  switch (last) {
    case "length":
    case "tool-calls":
      return "length";
    case "content-filter":
      return "content_filter";
    default:
      return "stop";
  }
}

/** The text of every step, in order; steps are separated by a blank line, as a reader would expect. */
export const STEP_SEPARATOR = "\n\n";

/** A tool call as the client receives it, with the arguments re-serialized from the validated input. */
export function toOpenAIToolCall(call: { toolCallId: string; toolName: string; input: unknown }): OpenAIToolCall {
  const args = typeof call.input === "string" ? call.input : JSON.stringify(call.input ?? {});
  return { id: call.toolCallId, type: "function", function: { name: call.toolName, arguments: args } };
}

/** Client tool calls are the valid calls of a tool the client sent; MCP calls ran here and stay here. */
export function isClientToolCall(
  call: { toolName: string; invalid?: boolean | undefined },
  clientToolNames: ReadonlySet<string>,
): boolean {
  return clientToolNames.has(call.toolName) && call.invalid !== true;
}
