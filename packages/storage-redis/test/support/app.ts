import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { createMcpServerSide, type McpServerSide, type McpServerSideOptions } from "@mcp-server-side/core";
import { mcpServerSide as expressMiddleware } from "@mcp-server-side/express";
import { mcpServerSide as honoMiddleware } from "@mcp-server-side/hono";
import { redisStore } from "@mcp-server-side/storage-redis";
import type { ToolSet } from "ai";
import express from "express";
import { Hono } from "hono";

/** What one worker of the app is made of; plain JSON, so a parent process can hand it to a child. */
export interface RedisAppOptions {
  adapter: "express" | "hono";
  /** The Redis the worker's store connects to (the store creates and owns its client). */
  redisUrl: string;
  prefix: string;
  encryptionKey: string;
  /** The store's `timeoutMs`. */
  storeTimeoutMs?: number;
  maxServersPerScope?: number;
  /** The config tier's `mcpServers`. */
  mcpServers?: Record<string, unknown>;
  /**
   * Whether to wait for `mcp.ready()` before listening (a failed start-up then rejects). With false the
   * app listens at once, as an app that does not await `ready()` does. @default true
   */
  awaitReady?: boolean;
  /**
   * Per-user OAuth with this redirect URI; the caller is then `x-scope` (scope) and `x-user` (user),
   * and `POST /call` runs one tool (`{ tool }`) and answers its text.
   */
  oauthRedirectUri?: string;
}

export interface RunningRedisApp {
  /** `http://127.0.0.1:<port>` */
  url: string;
  mcp: McpServerSide;
  close(): Promise<void>;
}

/**
 * One worker of an app: an instance on the Redis store behind the Express or Hono adapter, on
 * 127.0.0.1 and a random port. Besides the management routes it has `POST /tools`, which answers the
 * names of the tools that `tools()` offers the caller and the request's `errors`, and `POST /call`,
 * which runs the tool named `{ tool }` and answers `{ text, errors }` (the first text content).
 */
export async function startRedisApp(options: RedisAppOptions): Promise<RunningRedisApp> {
  const instanceOptions: McpServerSideOptions = {
    storage: redisStore({
      url: options.redisUrl,
      prefix: options.prefix,
      ...(options.storeTimeoutMs === undefined ? {} : { timeoutMs: options.storeTimeoutMs }),
    }),
    encryptionKey: options.encryptionKey,
    // The MCP servers of these tests listen on loopback; opening it by name also allows plain http.
    allowedHosts: ["127.0.0.1"],
    maxServersPerScope: options.maxServersPerScope ?? 10,
    toolsTimeoutMs: 5_000,
  };
  if (options.mcpServers !== undefined) instanceOptions.config = { mcpServers: options.mcpServers };
  if (options.oauthRedirectUri !== undefined) {
    instanceOptions.oauth = { redirectUri: options.oauthRedirectUri, refreshSkewMs: 0 };
    instanceOptions.identify = (request) => {
      const scope = request.headers.get("x-scope");
      const user = request.headers.get("x-user");
      return scope === null ? null : user === null ? { scope } : { scope, user };
    };
  }
  const mcp = createMcpServerSide(instanceOptions);
  if (options.awaitReady !== false) await mcp.ready();
  const server = options.adapter === "express" ? expressServer(mcp) : honoServer(mcp);
  const url = await new Promise<string>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
  return {
    url,
    mcp,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await mcp.close();
    },
  };
}

function expressServer(mcp: McpServerSide): Server {
  const app = express();
  app.use(express.json());
  app.use(expressMiddleware(mcp));
  app.post("/tools", async (req, res, next) => {
    try {
      const tools = await req.mcp.tools();
      res.json({ tools: Object.keys(tools).sort(), errors: req.mcp.errors });
    } catch (error) {
      next(error);
    }
  });
  app.post("/call", async (req, res, next) => {
    try {
      res.json(await callTool(await req.mcp.tools(), String(req.body?.tool), req.mcp.errors));
    } catch (error) {
      next(error);
    }
  });
  return createServer(app);
}

/** Runs one tool as the model would and keeps its first text. */
async function callTool(
  tools: ToolSet,
  name: string,
  errors: unknown[],
): Promise<{ text?: string; errors: unknown[] }> {
  const result = (await tools[name]?.execute?.({}, { toolCallId: "call-1", messages: [], context: {} })) as
    | { content?: { text?: string }[] }
    | undefined;
  return { ...(result?.content?.[0]?.text === undefined ? {} : { text: result.content[0].text }), errors };
}

function honoServer(mcp: McpServerSide): Server {
  const app = new Hono();
  app.use(honoMiddleware(mcp));
  app.post("/tools", async (c) => {
    const tools = await c.var.mcp.tools();
    return c.json({ tools: Object.keys(tools).sort(), errors: c.var.mcp.errors });
  });
  app.post("/call", async (c) => {
    const body = (await c.req.json()) as { tool?: unknown };
    return c.json(await callTool(await c.var.mcp.tools(), String(body.tool), c.var.mcp.errors));
  });
  return createAdaptorServer({ fetch: app.fetch }) as Server;
}
