// Hono, CommonJS: `require` resolves the packages' dist/index.cjs.
const { serve } = require("@hono/node-server");
const { mcpServerSide } = require("@mcp-server-side/hono");
const { generateText, stepCountIs } = require("ai");
const { Hono } = require("hono");

async function main() {
  const { chatBody, config, drive, scriptedModel } = await import("./smoke.mjs");
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
    await drive("hono cjs", `http://127.0.0.1:${port}`);
  } finally {
    server.close();
    await middleware.mcp.close();
  }
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
