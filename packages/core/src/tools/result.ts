import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { aiSdkMajor } from "../ai-sdk.js";
import { utf8Length, utf8Prefix } from "../util/utf8.js";

/**
 * What a tool's `execute` returns and what the model gets from it. The MCP result is returned as it
 * is (so apps and UIs see MCP content), capped at `maxToolResultBytes`; `toModelOutput` turns it into
 * the AI SDK's model output, an `isError` result into an error output — a result the model reads, not
 * an exception that ends the stream (SPEC §5).
 */

type ContentPart = CallToolResult["content"][number];

/** Appended where a result was cut. */
export function truncationMarker(maxBytes: number): string {
  return `\n[truncated by mcp-server-side: the result exceeded the limit of ${maxBytes} bytes]`;
}

/**
 * Bytes a part takes: text as UTF-8, binary data as its base64 length, anything else as JSON. With
 * `bound`, a text is not read but counted as 3 bytes per UTF-16 unit (a surrogate pair, two units, is
 * 4 bytes), an upper bound that lets a result that surely fits skip counting every character.
 */
function partBytes(part: ContentPart, limit: number, bound = false): number {
  switch (part.type) {
    case "text":
      return bound ? part.text.length * 3 : part.text.length > limit ? part.text.length : utf8Length(part.text, limit);
    case "image":
    case "audio":
      return part.data.length;
    case "resource":
      if (!("text" in part.resource)) return part.resource.blob.length;
      return bound ? part.resource.text.length * 3 : utf8Length(part.resource.text, limit);
    default:
      return JSON.stringify(part).length;
  }
}

/** Normalizes the SDK's result union (the pre-2024-11 `toolResult` form included) to `CallToolResult`. */
export function normalizeResult(result: unknown): CallToolResult {
  if (typeof result === "object" && result !== null && Array.isArray((result as CallToolResult).content))
    return result as CallToolResult;
  const legacy =
    typeof result === "object" && result !== null && "toolResult" in result
      ? (result as { toolResult: unknown }).toolResult
      : result;
  return { content: [{ type: "text", text: typeof legacy === "string" ? legacy : JSON.stringify(legacy ?? null) }] };
}

/**
 * The result within `maxBytes` (content and structured content together). A result that fits is
 * returned unchanged; otherwise parts are kept in order while they fit, the text part that crosses
 * the limit is cut, later parts are dropped, and a marker says so.
 */
export function capToolResult(result: CallToolResult, maxBytes: number): CallToolResult {
  const structuredBytes = result.structuredContent === undefined ? 0 : JSON.stringify(result.structuredContent).length;
  let bound = structuredBytes;
  for (const part of result.content) bound += partBytes(part, maxBytes, true);
  if (bound <= maxBytes) return result;
  let total = structuredBytes;
  for (const part of result.content) total += partBytes(part, maxBytes);
  if (total <= maxBytes) return result;

  const marker = truncationMarker(maxBytes);
  let budget = Math.max(0, maxBytes - utf8Length(marker));
  const content: ContentPart[] = [];
  let cut = false;
  for (const part of result.content) {
    const size = partBytes(part, budget);
    if (size <= budget) {
      content.push(part);
      budget -= size;
      continue;
    }
    if (part.type === "text" && budget > 0) content.push({ ...part, text: utf8Prefix(part.text, budget) + marker });
    else content.push({ type: "text", text: marker.trimStart() });
    cut = true;
    budget = 0;
    break;
  }
  if (!cut) content.push({ type: "text", text: marker.trimStart() });
  const capped: CallToolResult = { ...result, content };
  // Structured content cannot be cut without breaking its schema; it stays only when it fits.
  if (result.structuredContent !== undefined && (cut || structuredBytes > budget)) delete capped.structuredContent;
  return capped;
}

type ModelOutputPart =
  | { type: "text"; text: string }
  | { type: "file"; mediaType: string; data: { type: "data"; data: string } }
  | { type: "file-data"; mediaType: string; data: string };

export type ModelOutput =
  | { type: "text"; value: string }
  | { type: "json"; value: null }
  | { type: "error-text"; value: string }
  | { type: "content"; value: ModelOutputPart[] };

/** Base64 bytes as the installed AI SDK spells a binary part (see ai-sdk.ts). */
function filePart(mediaType: string, data: string): ModelOutputPart {
  return aiSdkMajor >= 7
    ? { type: "file", mediaType, data: { type: "data", data } }
    : { type: "file-data", mediaType, data };
}

function toModelPart(part: ContentPart): ModelOutputPart {
  switch (part.type) {
    case "text":
      return { type: "text", text: part.text };
    case "image":
    case "audio":
      return filePart(part.mimeType, part.data);
    case "resource":
      if ("text" in part.resource) return { type: "text", text: part.resource.text };
      if (part.resource.mimeType) return filePart(part.resource.mimeType, part.resource.blob);
      return { type: "text", text: JSON.stringify(part) };
    default:
      return { type: "text", text: JSON.stringify(part) };
  }
}

/** The AI SDK `toModelOutput` of every MCP tool. */
export function mcpToModelOutput({ output }: { output: unknown }): ModelOutput {
  if (typeof output === "string") return { type: "text", value: output };
  if (typeof output !== "object" || output === null || !Array.isArray((output as CallToolResult).content)) {
    return output === undefined || output === null
      ? { type: "json", value: null }
      : { type: "text", value: JSON.stringify(output) };
  }
  const result = output as CallToolResult;
  if (result.isError === true) {
    const text = result.content.map((part) => (part.type === "text" ? part.text : JSON.stringify(part))).join("\n");
    return { type: "error-text", value: text === "" ? "The tool reported an error." : text };
  }
  if (result.content.length === 0 && result.structuredContent !== undefined) {
    return { type: "text", value: JSON.stringify(result.structuredContent) };
  }
  return { type: "content", value: result.content.map(toModelPart) };
}
