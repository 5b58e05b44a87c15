// A tenant's Streamable HTTP server: registered through the management route and called through the
// guarded fetch (Node's own fetch driving the package's undici Agent, whose connect step runs the SSRF
// check), on each Node major of the matrix. The MCP server is built with the MCP SDK, in this process.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createMcpServerSide } from "@mcp-server-side/core";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

// Stateless: a server and a transport per request, as the SDK's examples do.
const http = createServer(async (req, res) => {
  const server = new McpServer({ name: "consumer-tenant", version: "1.0.0" });
  server.registerTool(
    "add",
    { description: "Adds two numbers.", inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }),
  );
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on("close", () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res);
});
await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
const host = `127.0.0.1:${http.address().port}`;
// Loopback is refused by default; the operator opens exactly this host.
const mcp = createMcpServerSide({ allowedHosts: [host], logger: false });
try {
  const headers = { "content-type": "application/json", "x-api-key": "tenant-a" };
  const registered = await mcp.handle(
    new Request("http://app.test/mcp-servers", {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "remote", url: `http://${host}/mcp` }),
    }),
  );
  assert.equal(registered?.status, 201, `tenant http: POST /mcp-servers answered ${registered?.status}`);
  const context = mcp.forRequest(new Request("http://app.test/chat", { method: "POST", headers }));
  const tools = await context.tools();
  assert.deepEqual(context.errors, [], `tenant http: ${JSON.stringify(context.errors)}`);
  assert.ok(tools.remote__add, `tenant http: no remote__add in ${Object.keys(tools).join(", ")}`);
  for (const [a, b] of [
    [2, 3],
    [40, 2],
  ]) {
    const result = await tools.remote__add.execute({ a, b }, { toolCallId: "c", messages: [] });
    assert.deepEqual(result, { content: [{ type: "text", text: String(a + b) }] }, JSON.stringify(result));
  }
  console.log("  ok tenant http (guarded fetch)");
} finally {
  await mcp.close();
  http.close();
}
