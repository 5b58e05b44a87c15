// Express, ESM: `import` resolves the packages' dist/index.js and their .d.ts.
import { mcpServerSide } from "@mcp-server-side/express";
import { generateText, stepCountIs } from "ai";
import express from "express";
import { chatBody, config, drive, scriptedModel } from "./smoke.mjs";

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
  await drive("express esm", `http://127.0.0.1:${server.address().port}`);
} finally {
  server.close();
  await middleware.mcp.close();
}
