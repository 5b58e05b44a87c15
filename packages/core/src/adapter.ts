/*
 * `@mcp-server-side/core/adapter`: what a framework adapter needs besides the instance itself. An
 * adapter only reshapes the framework's request for the core; every decision stays in the core.
 */
import { createMcpServerSide } from "./create.js";
import { isJsonContentType } from "./http/body.js";
import type { CoreRequest } from "./http/kept-body.js";
import type { McpServerSideOptions } from "./options.js";
import { McpServerSideError } from "./errors.js";
import { internalsOf } from "./instance-internals.js";
import type { McpRequestContext, McpServerSide, RequestOverrides } from "./types.js";

export { forRequestSource, type RequestSource } from "./context/request-source.js";

/** True for an object that behaves as an `McpServerSide` instance (duck-typed, so copies of core work too). */
export function isMcpServerSide(value: unknown): value is McpServerSide {
  const candidate = value as Partial<McpServerSide> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.handle === "function" &&
    typeof candidate.forRequest === "function"
  );
}

/** What every adapter accepts: the options of `createMcpServerSide`, or an instance to share between apps. */
export type McpServerSideInput = McpServerSideOptions | McpServerSide;

/** The instance behind an adapter's input: the one given, or one created from the options. */
export function toMcpServerSide(input: McpServerSideInput): McpServerSide {
  return isMcpServerSide(input) ? input : createMcpServerSide(input);
}

/**
 * Whether a request context of this instance may hand its Web `Request` to code that reads the abort
 * signal: a custom `identify` may (it gets the request). The built-in one reads headers only, and nothing
 * else in a context sees the request, so an adapter that must build the request (Express) can leave the
 * signal out: wiring it (two abort controllers, a close listener, a finalizer) costs more than the rest.
 * An instance this copy of the core did not make answers true.
 */
export function usesRequestSignal(mcp: McpServerSide): boolean {
  return internalsOf(mcp)?.identifiedByHeaders !== true;
}

/** `mcp_servers` and `mcp_select` of a parsed JSON body; own fields only, anything else is no override. */
export function overridesFromBody(body: unknown): RequestOverrides | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const fields = body as Record<string, unknown>;
  return {
    servers: Object.hasOwn(fields, "mcp_servers") ? fields["mcp_servers"] : undefined,
    select: Object.hasOwn(fields, "mcp_select") ? fields["mcp_select"] : undefined,
  };
}

/**
 * The overrides of a body the adapter reads only on demand: a body not labelled JSON is not read and
 * is no override, and one that does not parse is none either (the app's route answers for its body).
 */
export async function overridesFromJsonRequest(
  contentType: string | null | undefined,
  read: () => Promise<unknown>,
): Promise<RequestOverrides | undefined> {
  if (!isJsonContentType(contentType)) return undefined;
  return overridesFromBody(await read().catch(() => undefined));
}

export { pathOf } from "./http/paths.js";
export { keptBodyHandler, type CoreRequest } from "./http/kept-body.js";

/**
 * Whether `mcp.handle(request, path)` reads nothing of the request but its method, URL and headers and,
 * through the core's own reader, its JSON body: true for the management routes with the built-in
 * `identify`; false for the OpenAI routes (they read the abort signal), with a custom `identify` (it gets
 * the request) and for an instance this copy did not make. When true, an adapter may leave out the abort
 * signal (two abort controllers, a close listener, a finalizer) and keep the body as its own stream
 * (`toWebRequest`'s `keepBody`).
 */
export function handledInCoreOnly(mcp: McpServerSide, path: string): boolean {
  return coreOnlyHandler(mcp, path) !== undefined;
}

/**
 * For a path `handledInCoreOnly` answers true for: the instance's handler taking only what the core reads
 * of a request (`CoreRequest`, e.g. `toCoreRequest` of a Node request), with answers for `keptBodyOf`.
 * Otherwise undefined, and the adapter passes a Web `Request` to `keptBodyHandler(mcp)`.
 */
export function coreOnlyHandler(
  mcp: McpServerSide,
  path: string,
): ((request: CoreRequest, path: string) => Promise<Response | undefined>) | undefined {
  const internals = internalsOf(mcp);
  return internals?.readsOnlyInCore(path) === true ? internals.coreHandle : undefined;
}

// Marks a request context with the instance that made it; `Symbol.for`, so copies of core agree.
const INSTANCE: unique symbol = Symbol.for("mcp-server-side.instance");
const reportedMounts = new WeakSet<McpServerSide>();

/**
 * The context a request already holds from an earlier mount of `mcp`, or `undefined` when it holds
 * none. The same instance mounted twice (e.g. on the app and on a router) keeps the first context; a
 * different instance would silently replace it, and the chat route would lose the tenant's tools, so
 * that fails.
 */
export function mountedContext(
  mcp: McpServerSide,
  existing: McpRequestContext | undefined,
): McpRequestContext | undefined {
  if (existing === undefined) return undefined;
  const owner = (existing as { [INSTANCE]?: unknown })[INSTANCE];
  if (owner === mcp) return existing;
  if (owner === undefined) return undefined;
  const error = new McpServerSideError(
    "invalid_config",
    "two mcpServerSide() middlewares on one app: create one instance and pass it to both, or mount them on separate routers (a request may pass only one instance)",
  );
  if (!reportedMounts.has(mcp)) {
    reportedMounts.add(mcp);
    mcp.logger?.error(error.message);
  }
  throw error;
}

/** The context `mcp` gives a request: the one from an earlier mount of it, or `create()`'s (see `mountedContext`). */
export function contextForMount(
  mcp: McpServerSide,
  existing: McpRequestContext | undefined,
  create: () => McpRequestContext,
): McpRequestContext {
  const mounted = mountedContext(mcp, existing);
  if (mounted !== undefined) return mounted;
  const context = create();
  Object.defineProperty(context, INSTANCE, { value: mcp });
  return context;
}

/**
 * A request context made on first use by `make()`. Most requests an app serves never ask for tools,
 * so an adapter whose framework has no Web `Request` at hand (Express) gives each request one small
 * object of this class and makes the context only then: no closures per request, and the mount mark
 * of `mountedContext` is on the prototype. Each member is the made context's own (so `const { tools }
 * = req.mcp` works); a failure to make the context rejects the call instead of throwing.
 */
export abstract class LazyRequestContext implements McpRequestContext {
  readonly #mcp: McpServerSide;
  #context: McpRequestContext | undefined;

  constructor(mcp: McpServerSide) {
    this.#mcp = mcp;
  }

  /** Makes the context; called once, on first use. */
  protected abstract make(): McpRequestContext;

  get [INSTANCE](): McpServerSide {
    return this.#mcp;
  }

  /** Reading `errors` makes the context too. */
  get errors(): McpRequestContext["errors"] {
    return this.#made().errors;
  }

  get tools(): McpRequestContext["tools"] {
    return this.#member("tools");
  }

  get inject(): McpRequestContext["inject"] {
    return this.#member("inject");
  }

  get servers(): McpRequestContext["servers"] {
    return this.#member("servers");
  }

  get instructions(): McpRequestContext["instructions"] {
    return this.#member("instructions");
  }

  get identity(): McpRequestContext["identity"] {
    return this.#member("identity");
  }

  #made(): McpRequestContext {
    this.#context ??= this.make();
    return this.#context;
  }

  #member<K extends Exclude<keyof McpRequestContext, "errors">>(name: K): McpRequestContext[K] {
    let context: McpRequestContext;
    try {
      context = this.#made();
    } catch (error: unknown) {
      return (async () => {
        throw error;
      }) as McpRequestContext[K];
    }
    return context[name];
  }
}

const warnedUnparsed = new WeakSet<McpServerSide>();

/**
 * The overrides of a body a framework's parser may have left undefined (Express without `express.json()`).
 * A JSON request with a body but nothing parsed would silently lose its `mcp_servers: {}` opt-out, so
 * the instance warns once.
 */
export function overridesFromParsedBody(
  mcp: McpServerSide,
  body: unknown,
  request: { contentType: string | null | undefined; hasBody: boolean },
): RequestOverrides | undefined {
  if (body === undefined && request.hasBody && isJsonContentType(request.contentType) && !warnedUnparsed.has(mcp)) {
    warnedUnparsed.add(mcp);
    mcp.logger?.warn(
      "mcp-server-side: a JSON request reached req.mcp with req.body undefined, so its mcp_servers / mcp_select were ignored: add app.use(express.json()) (before or after mcpServerSide(), before the route)",
    );
  }
  return overridesFromBody(body);
}
