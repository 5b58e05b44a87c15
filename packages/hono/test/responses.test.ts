import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { mcpServerSide } from "@mcp-server-side/hono";
import { Hono } from "hono";
import { describeOpenAISurfaceEndToEnd } from "../../core/test/chat/responses-e2e-suite.js";

describeOpenAISurfaceEndToEnd("Hono", async (options) => {
  const middleware = mcpServerSide(options);
  const app = new Hono();
  app.use(middleware);
  const server = createAdaptorServer({ fetch: app.fetch, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await middleware.mcp.close();
    },
  };
});
