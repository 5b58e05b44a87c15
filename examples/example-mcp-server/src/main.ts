/**
 * The example MCP server from the command line:
 *
 *   tsx src/main.ts                 Streamable HTTP on http://127.0.0.1:3334/mcp
 *   tsx src/main.ts --port 4000     another port (or PORT=4000)
 *   tsx src/main.ts --stdio         over stdin/stdout, as MCP clients spawn it
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { startExampleServer } from "./http.js";
import { createExampleMcpServer } from "./server.js";

const args = process.argv.slice(2);

if (args.includes("--stdio")) {
  // stdout carries the protocol; anything for humans goes to stderr.
  await createExampleMcpServer({
    onToolCall: (call) => console.error(`[example-mcp-server] ${call.tool} ${JSON.stringify(call.arguments)}`),
  }).connect(new StdioServerTransport());
} else {
  const portArg = args.indexOf("--port");
  const port = Number(portArg >= 0 ? args[portArg + 1] : (process.env.PORT ?? 3334));
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error("Usage: tsx src/main.ts [--stdio | --port <0-65535>]");
    process.exit(2);
  }
  const server = await startExampleServer({
    port,
    onToolCall: (call) => console.log(`[example-mcp-server] ${call.tool} ${JSON.stringify(call.arguments)}`),
  });
  console.log(`example-mcp-server: Streamable HTTP on ${server.url} (Ctrl+C to stop)`);
  const stop = (): void => {
    server.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
