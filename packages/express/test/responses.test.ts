import type { AddressInfo } from "node:net";
import { type McpServerSideOptions, mcpServerSide } from "@mcp-server-side/express";
import express from "express";
import { describeOpenAISurfaceEndToEnd } from "../../core/test/chat/responses-e2e-suite.js";

async function startExpress(options: McpServerSideOptions) {
  const middleware = mcpServerSide(options);
  const app = express();
  app.use(express.json());
  app.use(middleware);
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

describeOpenAISurfaceEndToEnd("Express", startExpress);
