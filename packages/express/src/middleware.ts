import type { ServerResponse } from "node:http";
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
      req.mcp = mountedContext(mcp, req.mcp) ?? new ExpressRequestContext(mcp, req, res, signalled);
      next();
    } catch (error: unknown) {
      next(error);
    }
  };
  return Object.assign(middleware, { mcp });
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
      // Express gives each request a prototype (and so a hidden class) of its own: each read of its
      // properties misses V8's caches, so each is read once.
      const headers = req.headers;
      return overridesFromParsedBody(this.#mcp, req.body, {
        contentType: headers["content-type"],
        hasBody: announcesBody({ headers }) && headers["content-length"] !== "0",
      });
    });
  }
}
