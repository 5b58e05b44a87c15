import { createMcpServerSide } from "@mcp-server-side/core";
import { jsonSchema, type ToolSet, tool } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { overlayTools } from "../../src/tools/overlay.js";
import type { ContextError } from "../../src/types.js";
import { echoTool, type McpFixture, startStreamableServer } from "../fixtures/mcp-servers.js";

const ownTool = (): ToolSet[string] =>
  tool({ description: "the app's own", inputSchema: jsonSchema({ type: "object", properties: {} }) });

describe("overlayTools", () => {
  it("lets an own tool win a name clash, reports the clash naming the owner, and keeps the rest", () => {
    const mcpEcho = ownTool();
    const mcpAdd = ownTool();
    const mine = ownTool();
    const errors: ContextError[] = [];
    const tools = overlayTools({ echo: mcpEcho, add: mcpAdd }, { echo: mine }, "app's own", errors);
    expect(tools["echo"]).toBe(mine);
    expect(tools["add"]).toBe(mcpAdd);
    expect(errors).toEqual([
      {
        code: "tool_name_conflict",
        tool: "echo",
        message: "the app's own tool 'echo' replaces the MCP tool of the same name",
      },
    ]);
  });

  it("does not count an Object.prototype member as an MCP tool", () => {
    const errors: ContextError[] = [];
    const tools = overlayTools({}, { toString: ownTool(), constructor: ownTool() }, "client's", errors);
    expect(Object.keys(tools).sort()).toEqual(["constructor", "toString"]);
    expect(errors).toEqual([]);
  });
});

describe("inject() puts the app's own tools over a real server's tools", () => {
  let server: McpFixture;
  beforeAll(async () => {
    server = await startStreamableServer({ tools: [echoTool()] });
  });
  afterAll(async () => {
    await server.close();
  });

  it("keeps the app's tool on a clash and says so in errors", async () => {
    const mcp = createMcpServerSide({
      logger: false,
      warmup: false,
      config: { mcpServers: { docs: { url: server.url } } },
      toolName: (_server, name) => name,
    });
    try {
      const context = mcp.forRequest(new Request("http://app.test/chat", { headers: { "x-api-key": "k" } }));
      const mine = ownTool();
      const params = await context.inject({ prompt: "hi", tools: { echo: mine, toString: ownTool() } });
      expect(params.prompt).toBe("hi");
      expect(params.tools["echo"]).toBe(mine);
      expect(Object.keys(params.tools).sort()).toEqual(["echo", "toString"]);
      expect(context.errors).toEqual([
        expect.objectContaining({
          code: "tool_name_conflict",
          tool: "echo",
          message: expect.stringContaining("app's own"),
        }),
      ]);
    } finally {
      await mcp.close();
    }
  });
});
