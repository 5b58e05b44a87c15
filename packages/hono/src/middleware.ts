import { overridesFromBody, toMcpServerSide } from "@mcp-server-side/core";
import type { McpServerSide, RequestOverrides } from "@mcp-server-side/core";
import type { Context, MiddlewareHandler } from "hono";
import type { McpServerSideEnv, McpServerSideInput } from "./types.js";

/** The middleware, carrying the instance behind it (e.g. for `await middleware.mcp.close()`). */
export type McpServerSideMiddleware = MiddlewareHandler<McpServerSideEnv> & { readonly mcp: McpServerSide };

/**
 * Hono middleware: serves the management routes under `basePath` (and the chat endpoint), and sets
 * `c.var.mcp` on every other request. Everything else is decided by the core.
 *
 * @example app.use(mcpServerSide({ config: "./mcp.config.json" }));
 */
export function mcpServerSide(input: McpServerSideInput): McpServerSideMiddleware {
  const mcp = toMcpServerSide(input);
  const middleware: MiddlewareHandler<McpServerSideEnv> = async (c, next) => {
    if (mcp.owns(c.req.path)) {
      const response = await mcp.handle(await rawRequest(c));
      if (response !== undefined) return response;
      await next();
      return;
    }
    // The body is read only when the route asks, and through Hono's cache, so the route can read it too.
    c.set(
      "mcp",
      mcp.forRequest(c.req.raw, () => bodyOverrides(c)),
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

/** `mcp_servers` and `mcp_select` of a JSON body; a body that is not a JSON object is no override. */
async function bodyOverrides(c: Context): Promise<RequestOverrides | undefined> {
  if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(c.req.header("content-type") ?? "")) return undefined;
  return overridesFromBody(await c.req.json().catch(() => undefined));
}
