import type { FinishReason, LanguageModelUsage, TextStreamPart, ToolSet } from "ai";
import type { ContextError } from "../types.js";
import { type ApprovalSeal, mcpOrigin, needsApproval } from "./approval.js";
import type { ChatError } from "./errors.js";
import { isClientToolCall, toOpenAIToolCall, toOpenAIUsage } from "./format.js";
import { type McpListToolsItem, itemId } from "./responses-mcp.js";

/*
 * The Responses API's answer, built from the AI SDK's stream parts: one builder serves both the
 * non-streaming body (the final `response` object) and the typed streaming events, so the two can
 * never disagree. Item and event shapes follow OpenAI's, as the `openai` client's accumulator and
 * `@ai-sdk/openai` read them.
 */

export interface OutputText {
  type: "output_text";
  text: string;
  annotations: never[];
  logprobs: never[];
}

export interface MessageItem {
  type: "message";
  id: string;
  status: "in_progress" | "completed" | "incomplete";
  role: "assistant";
  content: OutputText[];
}

export interface FunctionCallItem {
  type: "function_call";
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: "in_progress" | "completed";
}

export interface McpCallItem {
  type: "mcp_call";
  id: string;
  server_label: string;
  name: string;
  arguments: string;
  output: string | null;
  error: string | null;
  approval_request_id: string | null;
  status: "in_progress" | "completed" | "failed";
}

export interface McpApprovalRequestItem {
  type: "mcp_approval_request";
  id: string;
  server_label: string;
  name: string;
  arguments: string;
}

export type OutputItem = MessageItem | FunctionCallItem | McpCallItem | McpApprovalRequestItem | McpListToolsItem;

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export interface ResponseObject {
  id: string;
  object: "response";
  created_at: number;
  status: "in_progress" | "completed" | "incomplete" | "failed";
  error: { code: string; message: string } | null;
  incomplete_details: { reason: string } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  model: string;
  output: OutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: null;
  store: false;
  temperature: number | null;
  top_p: number | null;
  tool_choice: unknown;
  tools: unknown[];
  text: { format: { type: "text" } };
  truncation: "disabled";
  usage: ResponsesUsage | null;
  metadata: Record<string, unknown>;
  /** Not OpenAI's: what went wrong with the request's MCP servers (sanitized); absent when nothing did. */
  mcp_errors?: ContextError[];
}

/** What the response echoes of its request. */
export type ResponseEcho = Pick<
  ResponseObject,
  "model" | "instructions" | "max_output_tokens" | "temperature" | "top_p" | "tool_choice" | "tools" | "metadata"
>;

export interface ResponseEvent {
  type: string;
  [field: string]: unknown;
}

export interface ResponseBuilderOptions {
  echo: ResponseEcho;
  /** The request's tool set: which calls are the client's, which are MCP calls, which need approval. */
  tools: ToolSet;
  clientToolNames: ReadonlySet<string>;
  seal: ApprovalSeal;
  scope: string;
  /** Read at the end, so errors found while tools ran are included. */
  errors: () => readonly ContextError[];
  /** Receives every event in order (the stream's writer; nothing for a non-streaming answer). */
  emit: (event: ResponseEvent) => void;
  now?: number;
}

export interface ResponseBuilder {
  /** `response.created` and `response.in_progress`. */
  start(): void;
  /** An item that is complete when it is added (a tool listing, a call run before the model). */
  addItem(item: McpListToolsItem | McpCallItem): void;
  write(part: TextStreamPart<ToolSet>): void;
  /** Ends the response: `completed`, or `incomplete` with the reason. */
  finish(usage: LanguageModelUsage | undefined): void;
  /** Ends the response as failed: an `error` event, then `response.failed`. */
  fail(error: ChatError): void;
  response(): ResponseObject;
  finished(): boolean;
}

export function createResponseBuilder(options: ResponseBuilderOptions): ResponseBuilder {
  const { emit, tools, clientToolNames } = options;
  const response: ResponseObject = {
    id: itemId("resp"),
    object: "response",
    created_at: Math.floor((options.now ?? Date.now()) / 1000),
    status: "in_progress",
    error: null,
    incomplete_details: null,
    ...options.echo,
    output: [],
    parallel_tool_calls: true,
    previous_response_id: null,
    store: false,
    text: { format: { type: "text" } },
    truncation: "disabled",
    usage: null,
  };
  let sequence = 0;
  let done = false;
  let message: { item: MessageItem; index: number } | undefined;
  const mcpCalls = new Map<string, { item: McpCallItem; index: number }>();
  let clientCalls = 0;
  let approvals = 0;
  let lastFinishReason: FinishReason | undefined;

  const send = (type: string, fields: Record<string, unknown>): void => {
    emit({ type, sequence_number: sequence++, ...fields });
  };
  /** A copy, so later changes to the item do not rewrite events already sent. */
  const snapshot = <T>(value: T): T => structuredClone(value);
  const add = (item: OutputItem): number => {
    const index = response.output.length;
    response.output.push(item);
    send("response.output_item.added", { output_index: index, item: snapshot(item) });
    return index;
  };
  const itemDone = (index: number): void => {
    send("response.output_item.done", { output_index: index, item: snapshot(response.output[index]) });
  };

  const openMessage = (): { item: MessageItem; index: number } => {
    if (message !== undefined) return message;
    const item: MessageItem = {
      type: "message",
      id: itemId("msg"),
      status: "in_progress",
      role: "assistant",
      content: [],
    };
    const index = add(item);
    const part: OutputText = { type: "output_text", text: "", annotations: [], logprobs: [] };
    item.content.push(part);
    send("response.content_part.added", {
      item_id: item.id,
      output_index: index,
      content_index: 0,
      part: snapshot(part),
    });
    message = { item, index };
    return message;
  };
  const closeMessage = (status: "completed" | "incomplete" = "completed"): void => {
    if (message === undefined) return;
    const { item, index } = message;
    message = undefined;
    const part = item.content[0]!;
    const at = { item_id: item.id, output_index: index, content_index: 0 };
    send("response.output_text.done", { ...at, text: part.text, logprobs: [] });
    send("response.content_part.done", { ...at, part: snapshot(part) });
    item.status = status;
    itemDone(index);
  };

  const mcpCallStarted = (item: McpCallItem): void => {
    const index = add(item);
    mcpCalls.set(item.id, { item, index });
    send("response.mcp_call.in_progress", { item_id: item.id, output_index: index });
  };
  const mcpCallEnded = (id: string, outcome: { output: string } | { error: string }): void => {
    const call = mcpCalls.get(id);
    if (call === undefined) return;
    mcpCalls.delete(id);
    const { item, index } = call;
    settleMcpCall(item, outcome);
    send(item.status === "failed" ? "response.mcp_call.failed" : "response.mcp_call.completed", {
      item_id: item.id,
      output_index: index,
    });
    itemDone(index);
  };

  /** Every item still open is closed first, so that the response's last event ends it. */
  const settle = (status: "completed" | "incomplete"): void => {
    closeMessage(status);
    // Calls still running when the run ended (an abort, a failure) did not complete.
    for (const id of [...mcpCalls.keys()]) mcpCallEnded(id, { error: "The call did not finish." });
  };
  const end = (status: ResponseObject["status"], type: string): void => {
    settle(status === "completed" ? "completed" : "incomplete");
    const errors = options.errors();
    if (errors.length > 0) response.mcp_errors = [...errors];
    response.status = status;
    done = true;
    send(type, { response: snapshot(response) });
  };

  const finish = (usage: LanguageModelUsage | undefined): void => {
    if (done) return;
    if (usage !== undefined) response.usage = toResponsesUsage(usage);
    const reason = incompleteReason(lastFinishReason, clientCalls + approvals);
    if (reason === undefined) end("completed", "response.completed");
    else {
      response.incomplete_details = { reason };
      end("incomplete", "response.incomplete");
    }
  };

  return {
    start() {
      send("response.created", { response: snapshot(response) });
      send("response.in_progress", { response: snapshot(response) });
    },
    addItem(item) {
      closeMessage();
      const index = add(item);
      if (item.type === "mcp_list_tools") {
        send(item.error === undefined ? "response.mcp_list_tools.completed" : "response.mcp_list_tools.failed", {
          item_id: item.id,
          output_index: index,
        });
      } else {
        send(item.status === "failed" ? "response.mcp_call.failed" : "response.mcp_call.completed", {
          item_id: item.id,
          output_index: index,
        });
      }
      itemDone(index);
    },
    write(part) {
      if (done) return;
      switch (part.type) {
        case "text-delta": {
          if (part.text === "") break;
          const { item, index } = openMessage();
          item.content[0]!.text += part.text;
          send("response.output_text.delta", {
            item_id: item.id,
            output_index: index,
            content_index: 0,
            delta: part.text,
            logprobs: [],
          });
          break;
        }
        case "text-end":
          closeMessage();
          break;
        case "tool-call": {
          closeMessage();
          const tool = tools[part.toolName];
          if (isClientToolCall(part, clientToolNames)) {
            clientCalls++;
            const call = toOpenAIToolCall(part);
            const item: FunctionCallItem = {
              type: "function_call",
              id: itemId("fc"),
              call_id: call.id,
              name: call.function.name,
              arguments: "",
              status: "in_progress",
            };
            const index = add(item);
            const at = { item_id: item.id, output_index: index };
            send("response.function_call_arguments.delta", { ...at, delta: call.function.arguments });
            item.arguments = call.function.arguments;
            send("response.function_call_arguments.done", { ...at, name: item.name, arguments: item.arguments });
            item.status = "completed";
            itemDone(index);
            break;
          }
          const origin = mcpOrigin(tool);
          // A call that needs approval is shown when the approval request comes, not as a call.
          if (origin === undefined || needsApproval(tool)) break;
          mcpCallStarted({
            type: "mcp_call",
            id: part.toolCallId,
            server_label: origin.server,
            name: origin.tool,
            arguments: JSON.stringify(part.input ?? {}),
            output: null,
            error: null,
            approval_request_id: null,
            status: "in_progress",
          });
          break;
        }
        case "tool-result":
          mcpCallEnded(part.toolCallId, mcpOutcome(part.output));
          break;
        case "tool-error":
          mcpCallEnded(part.toolCallId, { error: errorText(part.error) });
          break;
        case "tool-approval-request": {
          closeMessage();
          const origin = mcpOrigin(tools[part.toolCall.toolName]);
          if (origin === undefined) break;
          approvals++;
          const args = JSON.stringify(part.toolCall.input ?? {});
          const id = options.seal.seal(
            { server: origin.server, tool: origin.tool, arguments: args, callId: part.toolCall.toolCallId },
            options.scope,
          );
          const index = add({
            type: "mcp_approval_request",
            id,
            server_label: origin.server,
            name: origin.tool,
            arguments: args,
          });
          itemDone(index);
          break;
        }
        case "finish-step":
          closeMessage();
          lastFinishReason = part.finishReason;
          break;
        case "finish":
          lastFinishReason = part.finishReason;
          finish(part.totalUsage);
          break;
        default:
          // Reasoning, sources and files have no item here yet; errors and aborts are the handler's.
          break;
      }
    },
    finish,
    fail(error) {
      if (done) return;
      const { message: text, code, param } = error.body.error;
      settle("incomplete");
      send("error", { code, message: text, param });
      response.error = { code: code ?? "server_error", message: text };
      end("failed", "response.failed");
    },
    response: () => response,
    finished: () => done,
  };
}

/**
 * Why a response is `incomplete`, or `undefined` when it completed. Client calls and approval
 * requests end a response normally; a loop that still wanted to call tools ran out of `maxSteps`.
 */
function incompleteReason(last: FinishReason | undefined, handedBack: number): string | undefined {
  if (handedBack > 0) return undefined;
  switch (last) {
    case "length":
      return "max_output_tokens";
    case "content-filter":
      return "content_filter";
    case "tool-calls":
      return "max_tool_calls";
    default:
      return undefined;
  }
}

export function toResponsesUsage(usage: LanguageModelUsage): ResponsesUsage {
  const openai = toOpenAIUsage(usage);
  return {
    input_tokens: openai.prompt_tokens,
    input_tokens_details: { cached_tokens: openai.prompt_tokens_details.cached_tokens },
    output_tokens: openai.completion_tokens,
    output_tokens_details: { reasoning_tokens: openai.completion_tokens_details.reasoning_tokens },
    total_tokens: openai.total_tokens,
  };
}

/** An MCP tool result as an `mcp_call`'s `output` (text), or its `error` when the tool reported one. */
/** Marks an MCP call item completed with its output, or failed with its error. */
export function settleMcpCall(item: McpCallItem, outcome: { output: string } | { error: string }): void {
  if ("error" in outcome) {
    item.status = "failed";
    item.error = outcome.error;
  } else {
    item.status = "completed";
    item.output = outcome.output;
  }
}

export function mcpOutcome(output: unknown): { output: string } | { error: string } {
  if (typeof output === "string") return { output };
  const result = output as { content?: unknown; structuredContent?: unknown; isError?: unknown } | null | undefined;
  if (result === null || typeof result !== "object" || !Array.isArray(result.content)) {
    return { output: JSON.stringify(output ?? null) };
  }
  const text = result.content
    .map((part: { type?: unknown; text?: unknown }) =>
      part?.type === "text" && typeof part.text === "string" ? part.text : `[${String(part?.type ?? "content")}]`,
    )
    .join("\n");
  const value = text === "" && result.structuredContent !== undefined ? JSON.stringify(result.structuredContent) : text;
  return result.isError === true ? { error: value === "" ? "The tool reported an error." : value } : { output: value };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : typeof error === "string" ? error : "The call failed.";
}
