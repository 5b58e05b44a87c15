/**
 * `npm run demo` (at the repository root) or `npm start` (here).
 *
 *   no OPENAI_API_KEY   starts everything, runs the scripted walkthrough, exits
 *   --serve             keeps serving afterwards, on fixed ports, for your own curl commands
 *   OPENAI_API_KEY=…    a real model; serves (add --walkthrough to run the walkthrough first)
 *
 * Ports: PORT (app, default 3000) and MCP_PORT (example MCP server, default 3334). A walkthrough that
 * exits picks free ports unless they are set, so it never collides with something already running.
 */
import { startDemo } from "./demo.js";
import { chooseModel } from "./model.js";
import { createPrinter } from "./print.js";
import { runWalkthrough } from "./walkthrough.js";

const args = new Set(process.argv.slice(2));
const chosen = await chooseModel();
const serve = args.has("--serve") || chosen.real;
const walkthrough = !chosen.real || args.has("--walkthrough");
const port = (name: string, fallback: number): number => Number(process.env[name] ?? (serve ? fallback : 0));

const demo = await startDemo({ model: chosen.model, port: port("PORT", 3000), mcpPort: port("MCP_PORT", 3334) });
const print = createPrinter();

print.title("mcp-server-side demo: Express 5 + AI SDK");
print.field("app", `${demo.appUrl}   (POST /chat, POST /chat/stream, /mcp-servers)`);
print.field("MCP server", `${demo.exampleServer.url}   (the bundled example, Streamable HTTP)`);
print.field("config", 'mcp.config.json → "notes": the same example server over stdio');
print.field("model", chosen.real ? chosen.label : `${chosen.label} (set OPENAI_API_KEY for a real one)`);

try {
  if (walkthrough)
    await runWalkthrough({ appUrl: demo.appUrl, exampleServer: demo.exampleServer, modelLabel: chosen.label });
} catch (error) {
  console.error("\nThe walkthrough failed:", error);
  await demo.close();
  process.exit(1);
}

if (serve) {
  print.line();
  print.title(`Serving on ${demo.appUrl}. Try (Ctrl+C to stop):`);
  const registerBody = JSON.stringify({ name: "weather", url: demo.exampleServer.url });
  const chatBody = JSON.stringify({ messages: [{ role: "user", content: "What is the weather in Tokyo?" }] });
  print.note(
    [
      `curl -s -X POST ${demo.appUrl}/mcp-servers -H 'X-API-Key: my-key' -H 'Content-Type: application/json' -d '${registerBody}'`,
      `curl -s ${demo.appUrl}/mcp-servers -H 'X-API-Key: my-key'`,
      `curl -s -X POST ${demo.appUrl}/chat -H 'X-API-Key: my-key' -H 'Content-Type: application/json' -d '${chatBody}'`,
    ].join("\n"),
  );
  const stop = (): void => {
    demo.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} else {
  await demo.close();
}
