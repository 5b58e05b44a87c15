import type { AssistantContent, ModelMessage, UserContent } from "ai";
import { type Result, fail, ok } from "../errors.js";
import type { ChatMessage } from "./request-schema.js";

type UserPart = Exclude<UserContent, string>[number];
type AssistantPart = Exclude<AssistantContent, string>[number];

/**
 * OpenAI chat messages → AI SDK model messages.
 *
 * - `system` and `developer` become system messages where they stand (the caller owns the prompt,
 *   so the AI SDK's `allowSystemInMessages` is turned on by the handler).
 * - `assistant.tool_calls` become tool-call parts; `arguments` that are not JSON are kept as the
 *   raw string rather than failing a conversation whose earlier turn the model itself produced.
 * - A `tool` message needs the tool name, which OpenAI leaves out: it is taken from the
 *   assistant message that made the call. Pairing is checked here, as OpenAI does, so the caller
 *   gets a 400 naming the message instead of an AI SDK exception.
 */
export function toModelMessages(messages: readonly ChatMessage[]): Result<ModelMessage[]> {
  const out: ModelMessage[] = [];
  /** Calls made by the latest assistant message that still wait for their `tool` answer. */
  let pending = new Map<string, string>();
  let pendingFrom = -1;

  for (const [index, message] of messages.entries()) {
    if (message.role !== "tool" && pending.size > 0) return unanswered(pending, pendingFrom);
    switch (message.role) {
      case "system":
      case "developer":
        out.push({ role: "system", content: textOf(message.content) });
        break;
      case "user": {
        const content = userContent(message.content, index);
        if (!content.ok) return content;
        out.push({ role: "user", content: content.value });
        break;
      }
      case "assistant": {
        const parts: AssistantPart[] = [];
        const text = message.content == null ? "" : assistantText(message.content);
        if (text !== "") parts.push({ type: "text", text });
        pending = new Map();
        pendingFrom = index;
        for (const call of message.tool_calls ?? []) {
          pending.set(call.id, call.function.name);
          parts.push({
            type: "tool-call",
            toolCallId: call.id,
            toolName: call.function.name,
            input: parseArguments(call.function.arguments),
          });
        }
        out.push({ role: "assistant", content: parts.length === 0 ? "" : parts });
        break;
      }
      case "tool": {
        const toolName = pending.get(message.tool_call_id);
        if (toolName === undefined) {
          const detail =
            "messages with role 'tool' must be a response to a preceding message with 'tool_calls' " +
            `(no open call has the id '${message.tool_call_id}')`;
          return fail("invalid_request", detail, [{ pointer: `/messages/${index}/tool_call_id`, detail }]);
        }
        pending.delete(message.tool_call_id);
        out.push({
          role: "tool",
          content: [
            {
              type: "tool-result",
              toolCallId: message.tool_call_id,
              toolName,
              output: { type: "text", value: textOf(message.content) },
            },
          ],
        });
        break;
      }
    }
  }
  if (pending.size > 0) return unanswered(pending, pendingFrom);
  return ok(out);
}

function unanswered(pending: ReadonlyMap<string, string>, index: number): Result<never> {
  const detail =
    "an assistant message with 'tool_calls' must be followed by tool messages responding to each " +
    `'tool_call_id'; missing: ${[...pending.keys()].join(", ")}`;
  return fail("invalid_request", detail, [{ pointer: `/messages/${index}/tool_calls`, detail }]);
}

function textOf(content: string | readonly { text: string }[]): string {
  return typeof content === "string" ? content : content.map((part) => part.text).join("");
}

function assistantText(
  content: string | readonly ({ type: "text"; text: string } | { type: "refusal"; refusal: string })[],
): string {
  if (typeof content === "string") return content;
  return content.map((part) => (part.type === "text" ? part.text : part.refusal)).join("");
}

/** Tool-call arguments as the model wrote them: JSON when they parse, else the raw string (kept, not refused). */
export function parseArguments(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

type UserMessage = Extract<ChatMessage, { role: "user" }>;

function userContent(content: UserMessage["content"], index: number): Result<UserContent> {
  if (typeof content === "string") return ok(content);
  const parts: UserPart[] = [];
  for (const [partIndex, part] of content.entries()) {
    const pointer = `/messages/${index}/content/${partIndex}`;
    switch (part.type) {
      case "text":
        parts.push({ type: "text", text: part.text });
        break;
      case "image_url": {
        const data = toUrlOrData(part.image_url.url);
        if (data === undefined) {
          const detail = "image_url.url must be an http(s) URL or a base64 data: URL";
          return fail("invalid_request", detail, [{ pointer: `${pointer}/image_url/url`, detail }]);
        }
        parts.push({ type: "file", mediaType: data.mediaType ?? "image/*", data: data.data });
        break;
      }
      case "input_audio":
        parts.push({
          type: "file",
          mediaType: part.input_audio.format === "wav" ? "audio/wav" : "audio/mpeg",
          data: part.input_audio.data,
        });
        break;
      case "file": {
        const data = part.file.file_data === undefined ? undefined : toUrlOrData(part.file.file_data);
        if (data === undefined || data.mediaType === undefined) {
          // OpenAI file ids name files stored at OpenAI; there is nothing here to resolve them against.
          const detail = "only inline files are supported: file.file_data must be a base64 data: URL";
          return fail("invalid_request", detail, [{ pointer: `${pointer}/file`, detail }]);
        }
        parts.push({
          type: "file",
          mediaType: data.mediaType,
          data: data.data,
          ...(part.file.filename === undefined ? {} : { filename: part.file.filename }),
        });
        break;
      }
    }
  }
  return ok(parts);
}

export type FileData = Extract<UserPart, { type: "file" }>["data"];

/**
 * A data: URL becomes inline bytes with its media type; an http(s) URL is handed to the AI SDK as a
 * URL (the provider or the SDK's own downloader decides whether to fetch it, as for any AI SDK app).
 * Bare base64 and `URL` (not AI SDK 7's tagged `{ type: "data" }`) and `image/*` (not the bare `image`)
 * are the spellings AI SDK 6 and 7 both read.
 */
export function toUrlOrData(value: string): { data: FileData; mediaType?: string } | undefined {
  const match = /^data:([\w.+-]+\/[\w.+-]+)?(?:;[\w-]+=[^;,]*)*;base64,(.*)$/s.exec(value);
  if (match !== null) {
    const data: FileData = match[2] ?? "";
    return match[1] === undefined ? { data } : { data, mediaType: match[1] };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  return { data: url };
}
