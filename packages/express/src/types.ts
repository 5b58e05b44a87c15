import type { ServerResponse } from "node:http";
import type { McpRequestContext, McpServerSide } from "@mcp-server-side/core";
import type { NodeRequest } from "@mcp-server-side/core/node";

declare global {
  // Express's own request type is declared in this global namespace (Express 4 and 5 typings alike).
  namespace Express {
    interface Request {
      /** The MCP side of this request, set by `mcpServerSide()`: `await req.mcp.tools()`. */
      mcp: McpRequestContext;
    }
  }
}

/**
 * An Express middleware. Typed on Node's request and response, so it fits `app.use()` of Express 4 and 5
 * without depending on either's typings.
 */
export type NodeMiddleware = (
  req: NodeRequest & { mcp?: McpRequestContext },
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/** The middleware, carrying the instance behind it (e.g. for `await middleware.mcp.close()`). */
export type McpServerSideMiddleware = NodeMiddleware & { readonly mcp: McpServerSide };
