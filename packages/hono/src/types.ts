import type { McpRequestContext, McpServerSide } from "@mcp-server-side/core";
import type { MiddlewareHandler } from "hono";

/** The variables the middleware sets: `new Hono<McpServerSideEnv>()` types `c.var.mcp`. */
export type McpServerSideEnv = { Variables: { mcp: McpRequestContext } };

declare module "hono" {
  // Types `c.get("mcp")` / `c.var.mcp` in apps that do not pass McpServerSideEnv, as Hono's own middleware do.
  interface ContextVariableMap {
    mcp: McpRequestContext;
  }
}

/** The middleware, carrying the instance behind it (e.g. for `await middleware.mcp.close()`). */
export type McpServerSideMiddleware = MiddlewareHandler<McpServerSideEnv> & { readonly mcp: McpServerSide };
