import type { AssistantContent, ModelMessage, ToolContent, UserContent } from "ai";
import { type Result, fail, ok } from "../errors.js";
import type { ApprovalCall, ApprovalSeal } from "./approval.js";
import { parseArguments, toUrlOrData } from "./messages.js";
import type { ResponsesContentPart, ResponsesRequest } from "./responses-schema.js";

type AssistantPart = Exclude<AssistantContent, string>[number];
type ToolPart = ToolContent[number];
type UserPart = Exclude<UserContent, string>[number];

/** An `mcp_approval_response` of the input, to be run (or not) before the model is called. */
export interface ApprovalAnswer {
  approvalId: string;
  call: ApprovalCall;
  approve: boolean;
  reason?: string;
  /** The model's name for the tool, when the request still has it. */
  toolName: string | undefined;
  /** The tool message the call's result goes into (already in place in `messages`). */
  result: ToolPart[];
}

export interface ResponsesPrompt {
  messages: ModelMessage[];
  answers: ApprovalAnswer[];
  /** The servers an `mcp_list_tools` item of the input already lists. */
  listed: Set<string>;
}

export interface InputContext {
  seal: ApprovalSeal;
  scope: string;
  /** The model's name for a server's tool in this request, `undefined` when it has none. */
  toolNameOf: (server: string, tool: string) => string | undefined;
}

/**
 * A Responses API `input` (a string or items) as AI SDK model messages. The conversation is the
 * caller's to send whole (this server keeps no responses); `instructions` come first.
 *
 * - `function_call` / `function_call_output` pair by `call_id`, as `tool_calls` and `tool` messages
 *   do in Chat Completions; an output without its call is a 400 naming the item.
 * - `mcp_call` items (calls that ran here in an earlier response) go back into the history as a call
 *   and its result, so the model sees what it did.
 * - An `mcp_approval_response` names a sealed approval id; the call it holds is put into the
 *   history, and its result is filled in once the handler has run it (approved) or refused it.
 *   An approval that an `mcp_call` of the input already answered is not run again.
 */
export function toResponsesPrompt(
  request: Pick<ResponsesRequest, "input" | "instructions">,
  context: InputContext,
): Result<ResponsesPrompt> {
  const messages: ModelMessage[] = [];
  const answers: ApprovalAnswer[] = [];
  const listed = new Set<string>();
  if (request.instructions != null && request.instructions !== "") {
    messages.push({ role: "system", content: request.instructions });
  }
  if (typeof request.input === "string") {
    messages.push({ role: "user", content: request.input });
    return ok({ messages, answers, listed });
  }

  const callNames = new Map<string, string>();
  const answered = new Set<string>();
  for (const item of request.input) {
    if (item.type === "mcp_call" && item.approval_request_id != null) answered.add(item.approval_request_id);
  }
  const seenApprovals = new Set<string>();

  const assistantParts = (): AssistantPart[] => {
    const last = messages.at(-1);
    if (last?.role === "assistant" && Array.isArray(last.content)) return last.content as AssistantPart[];
    const parts: AssistantPart[] = [];
    messages.push({ role: "assistant", content: parts });
    return parts;
  };
  const toolParts = (): ToolPart[] => {
    const last = messages.at(-1);
    if (last?.role === "tool") return last.content;
    const parts: ToolPart[] = [];
    messages.push({ role: "tool", content: parts });
    return parts;
  };

  for (const [index, item] of request.input.entries()) {
    const pointer = `/input/${index}`;
    switch (item.type) {
      case "message": {
        if (item.role === "user") {
          const content = userContent(item.content, pointer);
          if (!content.ok) return content;
          messages.push({ role: "user", content: content.value });
        } else if (item.role === "assistant") {
          const text = textOf(item.content);
          // An assistant text opens the turn its calls (if any) join.
          messages.push({ role: "assistant", content: text === "" ? [] : [{ type: "text", text }] });
        } else {
          messages.push({ role: "system", content: textOf(item.content) });
        }
        break;
      }
      case "function_call":
        callNames.set(item.call_id, item.name);
        assistantParts().push({
          type: "tool-call",
          toolCallId: item.call_id,
          toolName: item.name,
          input: parseArguments(item.arguments),
        });
        break;
      case "function_call_output": {
        const toolName = callNames.get(item.call_id);
        if (toolName === undefined) {
          const detail = `no function_call item before it has the call_id '${item.call_id}'`;
          return fail("invalid_request", detail, [{ pointer: `${pointer}/call_id`, detail }]);
        }
        toolParts().push({
          type: "tool-result",
          toolCallId: item.call_id,
          toolName,
          output: { type: "text", value: textOf(item.output) },
        });
        break;
      }
      case "mcp_call": {
        const toolName = context.toolNameOf(item.server_label, item.name) ?? `${item.server_label}__${item.name}`;
        assistantParts().push({
          type: "tool-call",
          toolCallId: item.id,
          toolName,
          input: parseArguments(item.arguments),
        });
        const failed = item.error != null && item.error !== "";
        toolParts().push({
          type: "tool-result",
          toolCallId: item.id,
          toolName,
          output: failed
            ? { type: "error-text", value: typeof item.error === "string" ? item.error : JSON.stringify(item.error) }
            : { type: "text", value: item.output ?? "" },
        });
        break;
      }
      case "mcp_list_tools":
        listed.add(item.server_label);
        break;
      case "mcp_approval_response": {
        const id = item.approval_request_id;
        if (seenApprovals.has(id)) {
          const detail = "this approval request is answered more than once";
          return fail("invalid_request", detail, [{ pointer: `${pointer}/approval_request_id`, detail }]);
        }
        seenApprovals.add(id);
        if (answered.has(id)) break;
        const call = context.seal.open(id, context.scope);
        if (call === undefined) {
          const detail =
            "is not an approval request this server issued to this caller within the last hour " +
            "(a changed, expired or foreign id)";
          return fail("invalid_request", detail, [{ pointer: `${pointer}/approval_request_id`, detail }]);
        }
        const toolName = context.toolNameOf(call.server, call.tool);
        assistantParts().push({
          type: "tool-call",
          toolCallId: call.callId,
          toolName: toolName ?? `${call.server}__${call.tool}`,
          input: parseArguments(call.arguments),
        });
        answers.push({
          approvalId: id,
          call,
          approve: item.approve,
          ...(item.reason == null ? {} : { reason: item.reason }),
          toolName,
          result: toolParts(),
        });
        break;
      }
      case "item_reference": {
        const detail =
          "refers to a stored item, and this server stores no responses: send the item itself " +
          "(with @ai-sdk/openai, set providerOptions.openai.store to false)";
        return fail("invalid_request", detail, [{ pointer, detail }]);
      }
      case "mcp_approval_request":
      case "reasoning":
        // A request is answered by its response item (or still open); reasoning is a provider's private state.
        break;
    }
  }
  return ok({ messages, answers, listed });
}

function textOf(content: string | readonly ResponsesContentPart[]): string {
  if (typeof content === "string") return content;
  return content
    .map((part) =>
      part.type === "input_text" || part.type === "output_text"
        ? part.text
        : part.type === "refusal"
          ? part.refusal
          : "",
    )
    .join("");
}

function userContent(content: string | readonly ResponsesContentPart[], pointer: string): Result<UserContent> {
  if (typeof content === "string") return ok(content);
  const parts: UserPart[] = [];
  for (const [index, part] of content.entries()) {
    const at = `${pointer}/content/${index}`;
    switch (part.type) {
      case "input_text":
      case "output_text":
        parts.push({ type: "text", text: part.text });
        break;
      case "refusal":
        parts.push({ type: "text", text: part.refusal });
        break;
      case "input_image": {
        const data = part.image_url == null ? undefined : toUrlOrData(part.image_url);
        if (data === undefined) {
          const detail =
            "image_url must be an http(s) URL or a base64 data: URL (file ids name files stored at OpenAI)";
          return fail("invalid_request", detail, [{ pointer: `${at}/image_url`, detail }]);
        }
        parts.push({ type: "file", mediaType: data.mediaType ?? "image/*", data: data.data });
        break;
      }
      case "input_file": {
        const data = part.file_data == null ? undefined : toUrlOrData(part.file_data);
        if (data === undefined || data.mediaType === undefined) {
          const detail = "only inline files are supported: file_data must be a base64 data: URL";
          return fail("invalid_request", detail, [{ pointer: `${at}/file_data`, detail }]);
        }
        parts.push({
          type: "file",
          mediaType: data.mediaType,
          data: data.data,
          ...(part.filename == null ? {} : { filename: part.filename }),
        });
        break;
      }
    }
  }
  return ok(parts);
}
