/**
 * `npm start` here: starts the example MCP server and the Hono app, runs a short walkthrough with a
 * scripted model, and exits. `--serve` keeps serving (app on PORT or 3000, MCP server on MCP_PORT or 3334).
 */
import { startDemo } from "./demo.js";
import { createScriptedModel } from "./scripted-model.js";
import { runWalkthrough } from "./walkthrough.js";

const serve = process.argv.includes("--serve");
const port = (name: string, fallback: number): number => Number(process.env[name] ?? (serve ? fallback : 0));
const demo = await startDemo({
  model: createScriptedModel(),
  port: port("PORT", 3000),
  mcpPort: port("MCP_PORT", 3334),
});

console.log("mcp-server-side demo: Hono + AI SDK (scripted model, no API key set)");
console.log(`   app         ${demo.appUrl}`);
console.log(`   MCP server  ${demo.exampleServer.url}`);
try {
  await runWalkthrough({ appUrl: demo.appUrl, exampleServerUrl: demo.exampleServer.url, modelLabel: "scripted model" });
} catch (error) {
  console.error("\nThe walkthrough failed:", error);
  await demo.close();
  process.exit(1);
}

if (serve) {
  console.log(`\nServing on ${demo.appUrl} (Ctrl+C to stop). See README.md for curl commands.`);
  process.once("SIGINT", () => void demo.close().then(() => process.exit(0)));
} else {
  await demo.close();
}
