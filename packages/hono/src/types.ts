import type { McpRequestContext, McpServerSide, McpServerSideOptions } from "@mcp-server-side/core";

/** The variables the middleware sets: `new Hono<McpServerSideEnv>()` types `c.var.mcp`. */
export type McpServerSideEnv = { Variables: { mcp: McpRequestContext } };

declare module "hono" {
  // Types `c.get("mcp")` / `c.var.mcp` in apps that do not pass McpServerSideEnv, as Hono's own middleware do.
  interface ContextVariableMap {
    mcp: McpRequestContext;
  }
}

/** What `mcpServerSide()` accepts: the options of `createMcpServerSide`, or an instance to share between apps. */
export type McpServerSideInput = McpServerSideOptions | McpServerSide;
