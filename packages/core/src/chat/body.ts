import { type ChatError, chatError } from "./errors.js";

/** Requests carry whole conversations (and inline images), so the cap is above the management routes' 64 KiB. */
export const DEFAULT_CHAT_BODY_BYTES = 1024 * 1024;

/** Deeper JSON than this is refused before anything recursive (zod, providers, JSON.stringify) walks it. */
const MAX_DEPTH = 64;

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

export type BodyResult = { ok: true; value: unknown } | { ok: false; error: ChatError };

/**
 * Reads a JSON request body: `application/json` only (a cross-site form cannot send it without a
 * preflight), at most `maxBytes` (counted while reading, so a lying or missing Content-Length does
 * not matter), no prototype-polluting keys (SPEC §9), bounded nesting.
 */
export async function readJsonBody(request: Request, maxBytes: number = DEFAULT_CHAT_BODY_BYTES): Promise<BodyResult> {
  const contentType = request.headers.get("content-type") ?? "";
  if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType.trim())) {
    return fail(chatError(415, "Content-Type must be application/json.", { code: "unsupported_media_type" }));
  }
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) return fail(tooLarge(maxBytes));

  const text = await readText(request, maxBytes);
  if (text === undefined) return fail(tooLarge(maxBytes));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(
      chatError(400, "We could not parse the JSON body of your request. Send a valid JSON object.", {
        code: "invalid_json",
      }),
    );
  }
  const problem = findUnsafeStructure(value);
  if (problem !== undefined) return fail(chatError(400, problem, { code: "invalid_json" }));
  return { ok: true, value };
}

function fail(error: ChatError): BodyResult {
  return { ok: false, error };
}

function tooLarge(maxBytes: number): ChatError {
  return chatError(413, `The request body is larger than ${maxBytes} bytes.`, { code: "payload_too_large" });
}

/** The body as text, or undefined once it grows past `maxBytes` (reading stops there). */
async function readText(request: Request, maxBytes: number): Promise<string | undefined> {
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

/** Walks the parsed value without recursion; returns why it is refused, if it is. */
function findUnsafeStructure(root: unknown): string | undefined {
  const stack: { value: unknown; depth: number }[] = [{ value: root, depth: 0 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (typeof value !== "object" || value === null) continue;
    if (depth >= MAX_DEPTH) return `The JSON body is nested more than ${MAX_DEPTH} levels deep.`;
    if (Array.isArray(value)) {
      for (const item of value) stack.push({ value: item, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) return `The JSON body contains the forbidden key '${key}'.`;
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1 });
    }
  }
  return undefined;
}
