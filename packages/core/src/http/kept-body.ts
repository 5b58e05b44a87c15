/**
 * Bodies of the management routes kept out of Web streams on Node, where a stream costs more than the
 * rest of a small route.
 *
 * Answers: a JSON answer of the core is whole when it is made, so the management routes make it
 * bodiless with its text kept beside it; `handle()` gives Web callers the full `Response`
 * (`withKeptBody`), and a Node adapter, through the instance's own handler (`keptBodyHandler`), writes
 * the text as it is (`keptBodyOf`).
 *
 * Requests: when only the core reads a request (`handledInCoreOnly`), a Node adapter may keep the
 * framework's body stream beside a bodiless Web `Request` (`keepRequestBody`); the core's one body
 * reader reads it from there (`requestBodyOf`).
 */
import { internalsOf } from "../instance-internals.js";
import type { McpServerSide } from "../types.js";

// `Symbol.for`, so a `Response` or `Request` made by another copy of the core is read the same way.
const KEPT = Symbol.for("mcp-server-side.kept-body");
const KEPT_SOURCE = Symbol.for("mcp-server-side.kept-request-body");

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

/**
 * The handler a Node adapter calls: its answers go to `sendWebResponse`, which writes a kept text
 * without a stream. An instance this copy of the core did not make: its public `handle`.
 */
export function keptBodyHandler(mcp: McpServerSide): Handle {
  return internalsOf(mcp)?.keptBodyHandle ?? ((request, path) => mcp.handle(request, path));
}

/**
 * What the management routes read of a request: method, URL, headers (the request id is written into
 * them) and, through `requestBodyOf`, the body. A Web `Request` is one. For a path only the core reads
 * (`handledInCoreOnly`), a Node adapter passes a lighter one (`toCoreRequest`): a `Request` costs more
 * to construct than the rest of a small route.
 */
export type CoreRequest = Pick<Request, "method" | "url" | "headers" | "body">;

type KeptRequest = CoreRequest & { [KEPT_SOURCE]?: AsyncIterable<Uint8Array> };

/** Keeps `source` as the body of a bodiless `request` that only the core reads. */
export function keepRequestBody(request: CoreRequest, source: AsyncIterable<Uint8Array>): void {
  (request as KeptRequest)[KEPT_SOURCE] = source;
}

/** The request's body: the stream kept beside it, else its Web body (null when it has none). */
export function requestBodyOf(request: CoreRequest): AsyncIterable<Uint8Array> | null {
  return (request as KeptRequest)[KEPT_SOURCE] ?? request.body;
}
