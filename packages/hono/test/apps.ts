import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import type { McpServerSide } from "@mcp-server-side/core";
import { createUIMessageStreamResponse, generateText, stepCountIs, streamText, toUIMessageStream } from "ai";
import { Hono } from "hono";
import { type McpServerSideEnv, mcpServerSide } from "../src/index.js";
import {
  type AdapterCase,
  type AppSetup,
  GUARD_PASS_HEADER,
  GUARDED,
  type ModelSource,
  listen,
} from "../../../test/http/index.js";

/** The body's `prompt`, as a chat route reads it (an unreadable body is an empty prompt). */
async function promptOf(request: { json(): Promise<unknown> }): Promise<string> {
  const body = (await request.json().catch(() => undefined)) as { prompt?: unknown } | undefined;
  return String(body?.prompt ?? "");
}

/** A Hono app served by @hono/node-server, with the suite's own routes. */
export const honoCase: AdapterCase = {
  name: "Hono on @hono/node-server",
  bodyParsedFirst: false,
  async start(mcp: McpServerSide, model: ModelSource, setup: AppSetup = {}) {
    const app = new Hono<McpServerSideEnv>();
    // An app's own guard, mounted before the middleware; Hono's `use(path)` is exact, so the subtree too.
    for (const path of setup.guards ?? []) {
      for (const pattern of [path, `${path}/*`]) {
        app.use(pattern, async (c, next) => {
          if (c.req.header(GUARD_PASS_HEADER) === "yes") await next();
          else return c.text(GUARDED, 401);
        });
      }
    }
    app.use(mcpServerSide(mcp));
    app.post("/chat", async (c) => {
      // Like a real chat route, it reads the body itself; the middleware's lazy read shares Hono's cache.
      await c.req.json().catch(() => undefined);
      return c.json({ servers: await c.var.mcp.servers(), errors: c.var.mcp.errors });
    });
    // The AI SDK routes as an app writes them (SPEC §1): the request's MCP tools, executed server-side.
    app.post("/generate", async (c) => {
      const result = await generateText({
        model: model(),
        prompt: await promptOf(c.req),
        tools: await c.var.mcp.tools(),
        stopWhen: stepCountIs(3),
      });
      return c.json({
        text: result.text,
        toolResults: result.steps.flatMap((step) => step.toolResults) as unknown[],
        errors: c.var.mcp.errors,
      });
    });
    app.post("/stream", async (c) => {
      const result = streamText({
        model: model(),
        prompt: await promptOf(c.req),
        tools: await c.var.mcp.tools(),
        stopWhen: stepCountIs(3),
      });
      const stream = toUIMessageStream({
        stream: result.stream,
        messageMetadata: ({ part }) => (part.type === "finish" ? { errors: c.var.mcp.errors } : undefined),
      });
      return createUIMessageStreamResponse({ stream });
    });
    app.get("/hello", (c) => c.text("hello"));
    return listen(createAdaptorServer({ fetch: app.fetch }) as Server);
  },
};
