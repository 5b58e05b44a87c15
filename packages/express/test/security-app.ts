import { createServer } from "node:http";
import type { McpServerSide } from "@mcp-server-side/core";
import express from "express";
import { listen, type RunningApp } from "../../../test/http/index.js";
import { mcpServerSide } from "../src/index.js";
import { readReply, type Reply } from "../../../test/support/reply.js";

/*
 * The app of the security tests: as SPEC §1 sets one up (express.json() first, then the middleware),
 * with a `POST /chat` that asks the request's MCP context for everything it has: tools (names), servers,
 * instructions and errors, so a test sees every output a chat route could leak.
 */

export interface SecurityApp extends RunningApp {
  /** Every response body and header block the app sent, for the leak scans. */
  replies: string[];
  request(method: string, path: string, options?: SecurityRequest): Promise<SecurityReply>;
}

export interface SecurityRequest {
  key?: string;
  body?: unknown;
  /** Sent as is, with content-type application/json. */
  raw?: string;
  headers?: Record<string, string>;
}

export type SecurityReply = Reply;

export async function startSecurityApp(
  mcp: McpServerSide,
  options: { callTools?: boolean } = {},
): Promise<SecurityApp> {
  const app = express();
  app.use(express.json({ limit: "1mb" }));
  app.use(mcpServerSide(mcp));
  app.post("/chat", async (req, res, next) => {
    try {
      const tools = await req.mcp.tools();
      const results: Record<string, unknown> = {};
      if (options.callTools === true) {
        for (const [name, tool] of Object.entries(tools)) {
          try {
            results[name] = await tool.execute?.({ text: "hi" }, { toolCallId: name, messages: [], context: {} });
          } catch (error) {
            results[name] = { failed: error instanceof Error ? error.message : String(error) };
          }
        }
      }
      res.json({
        tools: Object.keys(tools).sort(),
        servers: await req.mcp.servers(),
        instructions: await req.mcp.instructions(),
        errors: req.mcp.errors,
        results,
      });
    } catch (error) {
      next(error);
    }
  });
  const running = await listen(createServer(app));
  const replies: string[] = [];
  return {
    ...running,
    replies,
    async request(method, path, request = {}) {
      const headers = new Headers(request.headers);
      if (request.key !== undefined) headers.set("x-api-key", request.key);
      const init: RequestInit = { method, headers };
      if (request.raw !== undefined || request.body !== undefined) {
        headers.set("content-type", "application/json");
        init.body = request.raw ?? JSON.stringify(request.body);
      }
      const response = await fetch(running.url + path, init);
      const reply = await readReply(response);
      replies.push(
        `${method} ${path} ${reply.status}\n${[...reply.headers].map(([name, value]) => `${name}: ${value}`).join("\n")}\n\n${reply.text}`,
      );
      return reply;
    },
  };
}
