import { requestIdOf } from "../chat/request-id.js";

/**
 * One request id per request, whoever asks first: the management routes, the OpenAI-compatible
 * routes, hooks and log lines of a request context all name the same id. The id is read (a plain
 * caller token kept, anything else replaced by a generated one) by the one reader, `requestIdOf`,
 * and written back into the request's `x-request-id` header, so that a reader that only sees the
 * header (the chat routes) finds the same id. A request whose headers are immutable keeps it here.
 */
const assigned = new WeakMap<Request, string>();

export function stampRequestId(request: Request): string {
  const known = assigned.get(request);
  if (known !== undefined) return known;
  const id = requestIdOf(request);
  assigned.set(request, id);
  if (request.headers.get("x-request-id") !== id) {
    try {
      request.headers.set("x-request-id", id);
    } catch {
      // Immutable headers (a fetch event's request): the map above still answers for this request.
    }
  }
  return id;
}
