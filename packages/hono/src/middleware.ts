import { contextForMount, overridesFromJsonRequest, toMcpServerSide } from "@mcp-server-side/core/adapter";
import type { McpServerSideInput } from "@mcp-server-side/core/adapter";
import type { McpRequestContext, RequestOverrides } from "@mcp-server-side/core";
import type { Context, MiddlewareHandler } from "hono";
import type { McpServerSideEnv, McpServerSideMiddleware } from "./types.js";

/**
 * Hono middleware: serves the management routes under `basePath` (and the chat endpoint), and sets
 * `c.var.mcp` on every other request. Everything else is decided by the core.
 *
 * @example app.use(mcpServerSide({ config: "./mcp.config.json" }));
 */
export function mcpServerSide(input: McpServerSideInput): McpServerSideMiddleware {
  const mcp = toMcpServerSide(input);
  const middleware: MiddlewareHandler<McpServerSideEnv> = async (c, next) => {
    // `c.req.path` is the path Hono routed on (any guard the app mounted saw this one), so ownership uses it.
    if (mcp.owns(c.req.path)) {
      const response = await mcp.handle(await rawRequest(c), c.req.path);
      if (response !== undefined) return response;
      await next();
      return;
    }
    // The body is read only when the route asks, and through Hono's cache, so the route can read it too.
    // A second instance on the same request throws instead of silently replacing c.var.mcp.
    c.set(
      "mcp",
      contextForMount(mcp, c.get("mcp") as McpRequestContext | undefined, () =>
        mcp.forRequest(c.req.raw, () => bodyOverrides(c)),
      ),
    );
    await next();
  };
  return Object.assign(middleware, { mcp });
}

// An earlier middleware may have read the body through Hono's cache; the core then gets the cached bytes.
async function rawRequest(c: Context): Promise<Request> {
  const raw = c.req.raw;
  if (!raw.bodyUsed) return raw;
  return new Request(raw.url, {
    method: raw.method,
    headers: raw.headers,
    body: await c.req.arrayBuffer(),
    signal: raw.signal,
  });
}

/** `mcp_servers` and `mcp_select` of a JSON body, read through Hono's cache; the core decides what is JSON. */
function bodyOverrides(c: Context): Promise<RequestOverrides | undefined> {
  return overridesFromJsonRequest(c.req.header("content-type"), () => c.req.json());
}
