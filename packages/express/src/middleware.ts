import { createMcpServerSide } from "@mcp-server-side/core";
import type { McpServerSide, RequestOverrides } from "@mcp-server-side/core";
import { requestPathname, sendWebResponse, toWebRequest } from "./node-http.js";
import type { McpServerSideInput, McpServerSideMiddleware, NodeMiddleware } from "./types.js";

/**
 * Express (4 and 5) middleware: serves the management routes under `basePath` (and the chat endpoint),
 * and sets `req.mcp` on every other request. Everything else is decided by the core.
 *
 * @example app.use(mcpServerSide({ config: "./mcp.config.json" }));
 */
export function mcpServerSide(input: McpServerSideInput): McpServerSideMiddleware {
  const mcp = isMcpServerSide(input) ? input : createMcpServerSide(input);
  const middleware: NodeMiddleware = (req, res, next) => {
    try {
      if (mcp.owns(requestPathname(req))) {
        mcp
          .handle(toWebRequest(req, { response: res }))
          .then((response) => (response === undefined ? next() : sendWebResponse(res, response)))
          // Once headers are out, a failure (usually the client leaving) can only end the response.
          .catch((error: unknown) => (res.headersSent ? res.destroy() : next(error)));
        return;
      }
      // The body is read lazily: a body parser mounted after this middleware has run by the time the route asks.
      req.mcp = mcp.forRequest(toWebRequest(req, { headersOnly: true, response: res }), () => bodyOverrides(req.body));
      next();
    } catch (error: unknown) {
      next(error);
    }
  };
  return Object.assign(middleware, { mcp });
}

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

/** `mcp_servers` and `mcp_select` of a parsed JSON body; own fields only, anything else is no override. */
function bodyOverrides(body: unknown): RequestOverrides | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  return {
    servers: Object.hasOwn(body, "mcp_servers") ? (body as Record<string, unknown>)["mcp_servers"] : undefined,
    select: Object.hasOwn(body, "mcp_select") ? (body as Record<string, unknown>)["mcp_select"] : undefined,
  };
}
