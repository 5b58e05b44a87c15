import { IncomingMessage, type ServerResponse } from "node:http";
import {
  coreOnlyHandler,
  forRequestSource,
  keptBodyHandler,
  LazyRequestContext,
  mountedContext,
  overridesFromParsedBody,
  toMcpServerSide,
  usesRequestSignal,
} from "@mcp-server-side/core/adapter";
import {
  announcesBody,
  type NodeRequest,
  nodeRequestSource,
  requestPathname,
  sendWebResponse,
  toCoreRequest,
  toWebRequest,
} from "@mcp-server-side/core/node";
import type { McpRequestContext, McpServerSide } from "@mcp-server-side/core";
import type { McpServerSideInput } from "@mcp-server-side/core/adapter";
import type { McpServerSideMiddleware, NodeMiddleware } from "./types.js";

/**
 * Express (4 and 5) middleware: serves the management routes under `basePath` (and the chat endpoint),
 * and sets `req.mcp` on every other request. Everything else is decided by the core.
 *
 * @example app.use(mcpServerSide({ config: "./mcp.config.json" }));
 */
export function mcpServerSide(input: McpServerSideInput): McpServerSideMiddleware {
  const mcp = toMcpServerSide(input);
  // Its answers may keep their JSON text beside a bodiless Response, which sendWebResponse writes as is.
  const handle = keptBodyHandler(mcp);
  // The context's request gets an abort signal only when its identify could read it.
  const signalled = usesRequestSignal(mcp);
  const middleware: NodeMiddleware = (req, res, next) => {
    try {
      const path = requestPathname(req);
      if (mcp.owns(path)) {
        // A path only the core reads gets the lighter request (no Web Request made); others a Web one with an abort signal.
        const inCore = coreOnlyHandler(mcp, path);
        (inCore ? inCore(toCoreRequest(req), path) : handle(toWebRequest(req, { response: res }), path))
          .then((response) => (response === undefined ? next() : sendWebResponse(res, response)))
          // Once headers are out, a failure (usually the client leaving) can only end the response.
          .catch((error: unknown) => (res.headersSent ? res.destroy() : next(error)));
        return;
      }
      // A second instance on the same request throws (next(error)) instead of silently replacing req.mcp.
      if (reachesAccessor(Object.getPrototypeOf(req))) {
        if (mountedContext(mcp, contexts.get(req) as McpRequestContext | undefined) === undefined)
          contexts.set(req, new ExpressRequestContext(mcp, req, res, signalled));
      } else req.mcp = mountedContext(mcp, req.mcp) ?? new ExpressRequestContext(mcp, req, res, signalled);
      next();
    } catch (error: unknown) {
      next(error);
    }
  };
  return Object.assign(middleware, { mcp });
}

/*
 * Where `req.mcp` lives. Express switches each request's prototype (`Object.setPrototypeOf`), after
 * which V8 gives that request a new hidden class of its own for each property added to it, shared
 * with no other request: an own `req.mcp` cost about 1 µs per request, most of what this middleware
 * cost a route that never reads it (each read of the request's properties misses V8's caches too). So
 * `req.mcp` is an accessor, defined once on Express's request prototype (the one every app and
 * sub-app of that Express inherits), over a WeakMap keyed by the request. It reads and assigns like
 * the property it replaces; a request this middleware never saw reads `undefined`. A request whose
 * prototype chain has another `mcp` (or no Express prototype: plain Node) gets the own property.
 */
const contexts = new WeakMap<object, unknown>();
const MCP_ACCESSOR: PropertyDescriptor = {
  configurable: true,
  enumerable: false,
  get(this: object): unknown {
    return contexts.get(this);
  },
  set(this: object, value: unknown): void {
    contexts.set(this, value);
  },
};
/** Request prototypes through which `req.mcp` reaches `MCP_ACCESSOR` (true) or does not (false). */
const prototypes = new WeakMap<object, boolean>();
let lastReaching: object | undefined;

function reachesAccessor(prototype: object | null): boolean {
  if (prototype === lastReaching) return true;
  if (prototype === null) return false;
  let reaches = prototypes.get(prototype);
  if (reaches === undefined) {
    reaches = installAccessor(prototype);
    prototypes.set(prototype, reaches);
  }
  if (reaches) lastReaching = prototype;
  return reaches;
}

/** Defines the accessor on the last prototype before Node's `IncomingMessage.prototype` (Express's own request). */
function installAccessor(prototype: object): boolean {
  let top: object | undefined;
  let underNode = false;
  for (let current: object | null = prototype; current !== null; current = Object.getPrototypeOf(current)) {
    const own = Object.getOwnPropertyDescriptor(current, "mcp");
    if (own !== undefined) return own.get === MCP_ACCESSOR.get;
    if (current === IncomingMessage.prototype) underNode = true;
    else if (!underNode) top = current;
  }
  if (!underNode || top === undefined) return false;
  Object.defineProperty(top, "mcp", MCP_ACCESSOR);
  return true;
}

const HEADERS_ONLY = Object.freeze({ headersOnly: true });

/**
 * `req.mcp`: the context is made when the route first asks (most never do), from the Node request's
 * headers; a Web request (headers copied, abort signal when the instance's identify could read it) is
 * built only when the context needs one. The body is read then too: a body parser mounted after this
 * middleware has run by the time the route asks.
 */
class ExpressRequestContext extends LazyRequestContext {
  readonly #mcp: McpServerSide;
  readonly #req: NodeRequest;
  readonly #res: ServerResponse;
  readonly #signalled: boolean;

  constructor(mcp: McpServerSide, req: NodeRequest, res: ServerResponse, signalled: boolean) {
    super(mcp);
    this.#mcp = mcp;
    this.#req = req;
    this.#res = res;
    this.#signalled = signalled;
  }

  protected make(): McpRequestContext {
    const req = this.#req;
    const source = nodeRequestSource(req, this.#signalled ? { headersOnly: true, response: this.#res } : HEADERS_ONLY);
    return forRequestSource(this.#mcp, source, () => {
      // Each read of the request's properties misses V8's caches (see `contexts`): one read of each.
      const headers = req.headers;
      return overridesFromParsedBody(this.#mcp, req.body, {
        contentType: headers["content-type"],
        hasBody: announcesBody({ headers }) && headers["content-length"] !== "0",
      });
    });
  }
}
