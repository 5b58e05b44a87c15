// Hono, ESM, served by @hono/node-server.
import { serve } from "@hono/node-server";
import { mcpServerSide } from "@mcp-server-side/hono";
import { generateText, stepCountIs } from "ai";
import { Hono } from "hono";
import { chatBody, config, drive, scriptedModel } from "./smoke.mjs";

const app = new Hono();
const middleware = mcpServerSide({ config });
app.use(middleware);
app.post("/chat", async (c) => {
  const { messages } = await c.req.json();
  const result = await generateText({
    model: scriptedModel(),
    messages,
    tools: await c.var.mcp.tools(),
    stopWhen: stepCountIs(5),
  });
  return c.json(chatBody(result));
});
let server;
const port = await new Promise((resolve) => {
  server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => resolve(info.port));
});
try {
  await drive("hono esm", `http://127.0.0.1:${port}`);
} finally {
  server.close();
  await middleware.mcp.close();
}
