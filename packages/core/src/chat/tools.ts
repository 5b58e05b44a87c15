import { type JSONSchema7, type ToolChoice, type ToolSet, jsonSchema, tool } from "ai";
import { overlayTools } from "../tools/overlay.js";
import type { ContextError } from "../types.js";
import type { ChatCompletionRequest, ChatTool, ChatToolChoice } from "./request-schema.js";

/**
 * The client's function tools as AI SDK tools without `execute`: the AI SDK then stops its loop when
 * the model calls one, and the handler answers with `tool_calls` for the client to run.
 */
export function toClientTools(tools: readonly ChatTool[] | null | undefined): ToolSet {
  const out: ToolSet = Object.create(null);
  for (const { function: fn } of tools ?? []) {
    const parameters = (fn.parameters ?? { type: "object", properties: {} }) as JSONSchema7;
    out[fn.name] = tool({
      ...(fn.description == null ? {} : { description: fn.description }),
      ...(fn.strict == null ? {} : { strict: fn.strict }),
      inputSchema: jsonSchema(parameters),
    });
  }
  return out;
}

/** The request's tool set: the MCP tools with the client's tools on top (a client tool wins a clash, reported). */
export function mergeTools(mcpTools: ToolSet, clientTools: ToolSet): { tools: ToolSet; errors: ContextError[] } {
  const errors: ContextError[] = [];
  return { tools: overlayTools(mcpTools, clientTools, "client's", errors), errors };
}

export type ToolChoiceResult = { ok: true; value: ToolChoice<ToolSet> | undefined } | { ok: false; detail: string };

/** OpenAI's `tool_choice` in AI SDK terms; naming a tool that is not in the set is the caller's error. */
export function toToolChoice(choice: ChatToolChoice | null | undefined, tools: ToolSet): ToolChoiceResult {
  if (choice == null) return { ok: true, value: undefined };
  if (typeof choice === "string") return { ok: true, value: choice };
  const name = choice.function.name;
  if (!Object.hasOwn(tools, name)) return { ok: false, detail: `the tool '${name}' is not among the request's tools` };
  return { ok: true, value: { type: "tool", toolName: name } };
}

/**
 * The sampling settings OpenAI and the AI SDK share. Spelled out here rather than imported: AI SDK 7
 * calls them `LanguageModelCallOptions`, AI SDK 6 `CallSettings`, and both versions are supported.
 */
export interface CallSettings {
  maxOutputTokens?: number;
  temperature?: number;
  topP?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  seed?: number;
  stopSequences?: string[];
}

/** OpenAI's sampling settings in AI SDK terms; absent and `null` both mean the model's default. */
export function toCallSettings(request: ChatCompletionRequest): CallSettings {
  const settings: CallSettings = {};
  const maxOutputTokens = request.max_completion_tokens ?? request.max_tokens;
  if (maxOutputTokens != null) settings.maxOutputTokens = maxOutputTokens;
  if (request.temperature != null) settings.temperature = request.temperature;
  if (request.top_p != null) settings.topP = request.top_p;
  if (request.presence_penalty != null) settings.presencePenalty = request.presence_penalty;
  if (request.frequency_penalty != null) settings.frequencyPenalty = request.frequency_penalty;
  if (request.seed != null) settings.seed = request.seed;
  if (request.stop != null) settings.stopSequences = typeof request.stop === "string" ? [request.stop] : request.stop;
  return settings;
}
