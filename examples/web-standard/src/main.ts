/**
 * `npx tsx examples/web-standard/src/main.ts` from the repository root: the example MCP server on
 * MCP_PORT (3334) and the fetch handler on Node's http server on PORT (3000), until Ctrl+C. With
 * OPENAI_API_KEY set the chat uses a real model, otherwise the scripted one.
 */
import { fileURLToPath } from "node:url";
import type { LanguageModel } from "ai";
import { startExampleServer } from "example-mcp-server";
import { createChatHandler } from "./handler.js";
import { createScriptedModel } from "./scripted-model.js";
import { serveFetch } from "./serve.js";

const model: LanguageModel = process.env.OPENAI_API_KEY
  ? (await import("@ai-sdk/openai")).openai(process.env.OPENAI_MODEL ?? "gpt-4o-mini")
  : createScriptedModel();
// mcp.config.json spawns the example server over stdio from this directory.
process.env.EXAMPLE_MCP_SERVER_DIR ??= fileURLToPath(new URL("../../example-mcp-server", import.meta.url));
const exampleServer = await startExampleServer({ port: Number(process.env.MCP_PORT ?? 3334) });
const { fetch, mcp } = createChatHandler({
  model,
  config: fileURLToPath(new URL("../mcp.config.json", import.meta.url)),
});
await mcp.ready();
const port = Number(process.env.PORT ?? 3000);
const server = serveFetch(fetch).listen(port, "127.0.0.1");

console.log(`app         http://127.0.0.1:${port}   (POST /chat, /mcp-servers)`);
console.log(`MCP server  ${exampleServer.url}`);
process.once("SIGINT", () => {
  server.close();
  void Promise.all([mcp.close(), exampleServer.close()]).then(() => process.exit(0));
});
