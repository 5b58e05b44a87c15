import { createServer } from "node:http";
import type { McpServerSide } from "@mcp-server-side/core";
import express from "express";
import express4 from "express4";
import { mcpServerSide } from "../src/index.js";
import { type AdapterCase, listen } from "../../../test/http/index.js";

type ExpressFactory = typeof express;

/** An Express app with the middleware before or after `express.json()`, and the suite's own routes. */
function expressCase(name: string, factory: ExpressFactory, jsonFirst: boolean): AdapterCase {
  return {
    name,
    bodyParsedFirst: jsonFirst,
    async start(mcp: McpServerSide) {
      const app = factory();
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
