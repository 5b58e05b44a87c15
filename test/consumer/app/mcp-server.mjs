// A tiny stdio MCP server built with the MCP SDK the way an app author would write one: `add` answers
// text, `pixel` answers an image (the binary tool-result part is spelled differently by AI SDK 6 and 7).
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

const server = new McpServer({ name: "consumer-smoke", version: "1.0.0" });
server.registerTool(
  "add",
  { description: "Adds two numbers.", inputSchema: { a: z.number(), b: z.number() } },
  async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }),
);
server.registerTool("pixel", { description: "A 1x1 PNG." }, async () => ({
  content: [{ type: "image", data: PIXEL, mimeType: "image/png" }],
}));
await server.connect(new StdioServerTransport());
