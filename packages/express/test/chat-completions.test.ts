import type { AddressInfo } from "node:net";
import { type McpServerSideOptions, mcpServerSide } from "@mcp-server-side/express";
import express from "express";
import { describeChatCompletionsEndToEnd } from "../../core/test/chat/e2e-suite.js";

async function startExpress(options: McpServerSideOptions, jsonFirst: boolean) {
  const middleware = mcpServerSide(options);
  const app = express();
  if (jsonFirst) app.use(express.json());
  app.use(middleware);
  if (!jsonFirst) app.use(express.json());
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await middleware.mcp.close();
    },
  };
}

// The middleware reads the raw body itself.
describeChatCompletionsEndToEnd("Express (middleware before express.json())", (options) =>
  startExpress(options, false),
);

// As SPEC §1 sets an app up: the body parser has consumed the body before the middleware runs.
describeChatCompletionsEndToEnd("Express (express.json() first)", (options) => startExpress(options, true), {
  appParsesJsonFirst: true,
});
