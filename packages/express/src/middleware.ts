import {
  contextForMount,
  handledInCoreOnly,
  keptBodyHandler,
  lazyContext,
  overridesFromParsedBody,
  toMcpServerSide,
  usesRequestSignal,
} from "@mcp-server-side/core/adapter";
import { announcesBody, requestPathname, sendWebResponse, toWebRequest } from "@mcp-server-side/core/node";
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
        handle(toWebRequest(req, handledInCoreOnly(mcp, path) ? { keepBody: true } : { response: res }), path)
          .then((response) => (response === undefined ? next() : sendWebResponse(res, response)))
          // Once headers are out, a failure (usually the client leaving) can only end the response.
          .catch((error: unknown) => (res.headersSent ? res.destroy() : next(error)));
        return;
      }
      // The body is read lazily: a body parser mounted after this middleware has run by the time the route asks.
      // The Web request (headers copied, abort signal) is built only when the route asks too: most never do.
      // A second instance on the same request throws (next(error)) instead of silently replacing req.mcp.
      req.mcp = contextForMount(mcp, req.mcp, () =>
        lazyContext(() =>
          mcp.forRequest(
            toWebRequest(req, signalled ? { headersOnly: true, response: res } : { headersOnly: true }),
            () =>
              overridesFromParsedBody(mcp, req.body, {
                contentType: req.headers["content-type"],
                hasBody: announcesBody(req) && req.headers["content-length"] !== "0",
              }),
          ),
        ),
      );
      next();
    } catch (error: unknown) {
      next(error);
    }
  };
  return Object.assign(middleware, { mcp });
}
