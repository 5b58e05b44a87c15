import type { HeaderReader } from "../identity.js";
import { internalsOf } from "../instance-internals.js";
import type { McpRequestContext, McpServerSide, OverridesSource } from "../types.js";

/**
 * A request as a request context reads it: its headers at once (all the built-in `identify` needs),
 * the Web `Request` only when something needs one (a custom `identify`, a request id for a hook or a
 * log line). An adapter whose framework has no Web request at hand (Express) thus builds none for a
 * request that asks for tools.
 */
export interface RequestSource {
  readonly headers: HeaderReader;
  /** The Web request; the same one on every call. */
  request(): Request;
}

/** A Web request as a source. */
export function webRequestSource(request: Request): RequestSource {
  return { headers: request.headers, request: () => request };
}

/**
 * The request context of a request given as a source: what `mcp.forRequest(request)` gives, without
 * the Web request unless the context needs it. An instance this copy of the core did not make (a
 * wrapper, another copy) gets the Web request.
 */
export function forRequestSource(
  mcp: McpServerSide,
  source: RequestSource,
  overrides?: OverridesSource,
): McpRequestContext {
  const internals = internalsOf(mcp);
  return internals === undefined
    ? mcp.forRequest(source.request(), overrides)
    : internals.makeContext(source, overrides);
}
