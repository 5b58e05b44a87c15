// Express, CommonJS: `require` resolves the packages' dist/index.cjs (and `ai`, ESM-only in AI SDK 7,
// through Node's require(esm)). The HTTP driver is shared, loaded with import().
const { mcpServerSide } = require("@mcp-server-side/express");
const { generateText, stepCountIs } = require("ai");
const express = require("express");

async function main() {
  const { chatBody, config, drive, scriptedModel } = await import("./smoke.mjs");
  const app = express();
  app.use(express.json());
  const middleware = mcpServerSide({ config });
  app.use(middleware);
  app.post("/chat", async (req, res) => {
    const result = await generateText({
      model: scriptedModel(),
      messages: req.body.messages,
      tools: await req.mcp.tools(),
      stopWhen: stepCountIs(5),
    });
    res.json(chatBody(result));
  });
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  try {
    await drive("express cjs", `http://127.0.0.1:${server.address().port}`);
  } finally {
    server.close();
    await middleware.mcp.close();
  }
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
