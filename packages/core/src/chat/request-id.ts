/**
 * Every answer of the OpenAI-compatible routes carries an `x-request-id`, as OpenAI's do, so that a
 * caller can quote it and an operator can find the request in the logs. A caller's own id is kept
 * when it is a plain token (a proxy or a client may already have assigned one); anything else is
 * replaced, so that no header or log line ever carries a caller's control characters or a megabyte.
 */

const REQUEST_ID_PATTERN = /^[A-Za-z0-9_.:@/+=-]{1,128}$/;

export function requestIdOf(request: Request): string {
  const incoming = request.headers.get("x-request-id");
  if (incoming !== null && REQUEST_ID_PATTERN.test(incoming)) return incoming;
  return `req_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** The same answer with the request id set (a handler's Response may have immutable headers). */
export function withRequestId(response: Response, requestId: string): Response {
  const headers = new Headers(response.headers);
  headers.set("x-request-id", requestId);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
