/**
 * Every answer (the management routes, the OpenAI-compatible routes) carries an `x-request-id`, as
 * OpenAI's do, so that a caller can quote it and an operator can find the request in the logs. A
 * caller's own id is kept when it is a plain token (a proxy or a client may already have assigned
 * one); anything else is replaced, so that no header or log line ever carries a caller's control
 * characters or a megabyte.
 */
import { type CoreRequest, keptBodyOf, keptBodyResponse } from "./kept-body.js";

const REQUEST_ID_PATTERN = /^[A-Za-z0-9_.:@/+=-]{1,128}$/;

export function requestIdOf(request: CoreRequest): string {
  return idFor(request.headers.get("x-request-id"));
}

/** The caller's id when it is a plain token, else a new one. */
function idFor(incoming: string | null): string {
  if (incoming !== null && REQUEST_ID_PATTERN.test(incoming)) return incoming;
  return `req_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** The same answer with the request id set (a handler's Response may have immutable headers). */
export function withRequestId(response: Response, requestId: string): Response {
  const headers = new Headers(response.headers);
  headers.set("x-request-id", requestId);
  const init = { status: response.status, statusText: response.statusText, headers };
  const kept = keptBodyOf(response);
  return kept === undefined ? new Response(response.body, init) : keptBodyResponse(kept, init);
}

/**
 * One request id per request, whoever asks first: the management routes, the OpenAI-compatible
 * routes, hooks and log lines of a request context all name the same id. The id is read (a plain
 * caller token kept, anything else replaced by a generated one) by the one reader, `requestIdOf`,
 * and written back into the request's `x-request-id` header, so that a reader that only sees the
 * header (the chat routes) finds the same id. A request whose headers are immutable keeps it here.
 */
const assigned = new WeakMap<CoreRequest, string>();

export function stampRequestId(request: CoreRequest): string {
  const known = assigned.get(request);
  if (known !== undefined) return known;
  // The header is read once: a Request's header lookups are not free on a route this small.
  const incoming = request.headers.get("x-request-id");
  const id = idFor(incoming);
  assigned.set(request, id);
  if (incoming !== id) {
    try {
      request.headers.set("x-request-id", id);
    } catch {
      // Immutable headers (a fetch event's request): the map above still answers for this request.
    }
  }
  return id;
}
