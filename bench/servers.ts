/**
 * The benchmark's MCP servers, in their own process so that the measuring process's heap and event
 * loop hold only the client side. Started by bench/run.ts; prints one JSON line with the URLs and
 * runs until its stdin closes.
 *
 *   node --import tsx bench/servers.ts '{"streamable": 10, "tools": 50}'
 */
import { manyTools, startStreamableServer } from "../packages/core/test/fixtures/mcp-servers.js";

interface Request {
  /** Streamable HTTP servers to start. */
  streamable: number;
  /** Tools per server, an `echo` tool included. */
  tools: number;
  /** Give every tool an output schema (to measure the SDK's validator compile cost). */
  outputSchemas: boolean;
}

const request = JSON.parse(process.argv[2] ?? "{}") as Partial<Request>;
const echo = {
  name: "echo",
  description: "Echoes the text back",
  inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
  handler: (args: Record<string, unknown>) => ({
    content: [{ type: "text" as const, text: `echo: ${String(args.text)}` }],
  }),
};
const outputSchema = {
  type: "object",
  properties: { result: { type: "string", minLength: 1 }, count: { type: "integer" } },
  required: ["result"],
};
const tools = [echo, ...manyTools(Math.max(0, (request.tools ?? 50) - 1))].map((tool) =>
  request.outputSchemas ? { ...tool, outputSchema } : tool,
);
const servers = await Promise.all(
  Array.from({ length: request.streamable ?? 1 }, () => startStreamableServer({ tools })),
);
process.stdout.write(`${JSON.stringify({ urls: servers.map((server) => server.url) })}\n`);
process.stdin.resume();
process.stdin.on("end", async () => {
  await Promise.allSettled(servers.map((server) => server.close()));
  process.exit(0);
});
