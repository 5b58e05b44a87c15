import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import type { McpServerSide } from "@mcp-server-side/core";
import { Hono } from "hono";
import { type McpServerSideEnv, mcpServerSide } from "../src/index.js";
import { type AdapterCase, listen } from "../../../test/http/index.js";

/** A Hono app served by @hono/node-server, with the suite's own routes. */
export const honoCase: AdapterCase = {
  name: "Hono on @hono/node-server",
  bodyParsedFirst: false,
  async start(mcp: McpServerSide) {
    const app = new Hono<McpServerSideEnv>();
    app.use(mcpServerSide(mcp));
    app.post("/chat", async (c) => {
      // Like a real chat route, it reads the body itself; the middleware's lazy read shares Hono's cache.
      await c.req.json().catch(() => undefined);
      return c.json({ servers: await c.var.mcp.servers(), errors: c.var.mcp.errors });
    });
    app.get("/hello", (c) => c.text("hello"));
    return listen(createAdaptorServer({ fetch: app.fetch }) as Server);
  },
};
