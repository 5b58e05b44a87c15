/**
 * A JSON answer of the core is whole when it is made. As a Web `Response` body it would sit in a byte
 * stream that a Node adapter then reads back: two stream set-ups per answer, more than the rest of a
 * small route. So the management routes make it bodiless with its text kept beside it; `handle()`
 * gives Web callers the full `Response` (`withKeptBody`), and the Node adapter, through the
 * instance's own handler (`keptBodyHandler`), writes the text as it is (`keptBodyOf`).
 */
import type { McpServerSide } from "../types.js";

// `Symbol.for`, so a `Response` made by another copy of the core is read the same way.
const KEPT = Symbol.for("mcp-server-side.kept-body");

type KeptResponse = Response & { [KEPT]?: string };
type Handle = McpServerSide["handle"];

/** A bodiless `Response` holding `text` as its body, for `withKeptBody` / `keptBodyOf` to deliver. */
export function keptBodyResponse(text: string, init: ResponseInit): Response {
  const response: KeptResponse = new Response(null, init);
  response[KEPT] = text;
  return response;
}

/** The text of an answer the core made whole, while nobody read its body; else undefined. */
export function keptBodyOf(response: Response): string | undefined {
  const text = (response as KeptResponse)[KEPT];
  return typeof text === "string" && !response.bodyUsed ? text : undefined;
}

/** The answer as a Web caller needs it: a kept text becomes the `Response` body (and stays kept, for `keptBodyOf`). */
export function withKeptBody(response: Response): Response {
  const text = (response as KeptResponse)[KEPT];
  if (typeof text !== "string" || response.body !== null) return response;
  const full: KeptResponse = new Response(text, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  full[KEPT] = text;
  return full;
}

// Per instance of this copy of the core: another copy's instance falls back to its public `handle`.
const keptBodyHandlers = new WeakMap<McpServerSide, Handle>();

/** Registers the handler whose answers may be bodiless with a kept text (create.ts). */
export function registerKeptBodyHandler(instance: McpServerSide, handle: Handle): void {
  keptBodyHandlers.set(instance, handle);
}

/**
 * The handler a Node adapter calls: its answers go to `sendWebResponse`, which writes a kept text
 * without a stream. Any other instance's public `handle`.
 */
export function keptBodyHandler(mcp: McpServerSide): Handle {
  return keptBodyHandlers.get(mcp) ?? ((request, path) => mcp.handle(request, path));
}
