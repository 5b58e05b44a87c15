import { createServer } from "node:http";
import type { McpServerSide } from "@mcp-server-side/core";
import { generateText, pipeUIMessageStreamToResponse, stepCountIs, streamText, toUIMessageStream } from "ai";
import express from "express";
import express4 from "express4";
import { mcpServerSide } from "../src/index.js";
import {
  type AdapterCase,
  type AppSetup,
  GUARD_PASS_HEADER,
  GUARDED,
  type ModelSource,
  listen,
} from "../../../test/http/index.js";

type ExpressFactory = typeof express;

/** An Express app with the middleware before or after `express.json()`, and the suite's own routes. */
function expressCase(name: string, factory: ExpressFactory, jsonFirst: boolean): AdapterCase {
  return {
    name,
    bodyParsedFirst: jsonFirst,
    async start(mcp: McpServerSide, model: ModelSource, setup: AppSetup = {}) {
      const app = factory();
      // An app's own guard, mounted before everything else as apps do (`app.use("/admin", requireLogin)`).
      for (const path of setup.guards ?? []) {
        app.use(path, (req, res, next) => {
          if (req.headers[GUARD_PASS_HEADER] === "yes") next();
          else res.status(401).type("text/plain").send(GUARDED);
        });
      }
      if (jsonFirst) app.use(factory.json());
      app.use(mcpServerSide(mcp));
      if (!jsonFirst) app.use(factory.json());
      app.post("/chat", async (req, res, next) => {
        try {
          res.json({ servers: await req.mcp.servers(), errors: req.mcp.errors });
        } catch (error) {
          next(error);
        }
      });
      // The AI SDK routes as an app writes them (SPEC §1): the request's MCP tools, executed server-side.
      app.post("/generate", async (req, res, next) => {
        try {
          const result = await generateText({
            model: model(),
            prompt: String(req.body?.prompt ?? ""),
            tools: await req.mcp.tools(),
            stopWhen: stepCountIs(3),
          });
          res.json({
            text: result.text,
            toolResults: result.steps.flatMap((step) => step.toolResults),
            errors: req.mcp.errors,
          });
        } catch (error) {
          next(error);
        }
      });
      app.post("/stream", async (req, res, next) => {
        try {
          const result = streamText({
            model: model(),
            prompt: String(req.body?.prompt ?? ""),
            tools: await req.mcp.tools(),
            stopWhen: stepCountIs(3),
          });
          const stream = toUIMessageStream({
            stream: result.stream,
            messageMetadata: ({ part }) => (part.type === "finish" ? { errors: req.mcp.errors } : undefined),
          });
          pipeUIMessageStreamToResponse({ response: res, stream });
        } catch (error) {
          next(error);
        }
      });
      app.get("/hello", (_req, res) => {
        res.type("text/plain").send("hello");
      });
      return listen(createServer(app));
    },
  };
}

export const expressCases: AdapterCase[] = [
  expressCase("Express 5, middleware before express.json()", express, false),
  expressCase("Express 5, express.json() before the middleware", express, true),
  expressCase("Express 4, middleware before express.json()", express4, false),
  expressCase("Express 4, express.json() before the middleware", express4, true),
];
