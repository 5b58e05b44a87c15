import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoHandle, startDemo } from "../src/demo.js";
import { createScriptedModel } from "../src/scripted-model.js";
import { runWalkthrough, type WalkthroughResult } from "../src/walkthrough.js";

describe("the Hono demo walkthrough (scripted model, real MCP servers over HTTP and stdio)", () => {
  let demo: DemoHandle;
  let result: WalkthroughResult;
  const lines: string[] = [];

  beforeAll(async () => {
    demo = await startDemo({ model: createScriptedModel(), port: 0, mcpPort: 0 });
    result = await runWalkthrough({
      appUrl: demo.appUrl,
      exampleServerUrl: demo.exampleServer.url,
      modelLabel: "scripted model",
      out: (line) => lines.push(line),
    });
  });

  afterAll(async () => {
    await demo?.close();
  });

  it("registers the tenant's server through POST /mcp-servers with 201", () => {
    expect(result.register.status).toBe(201);
    expect(result.register.body).toMatchObject({ name: "weather", url: demo.exampleServer.url });
  });

  it("runs a chat turn whose tool call reaches the example MCP server through c.var.mcp", () => {
    expect(result.chat.status).toBe(200);
    expect(result.chat.body.toolsOffered).toEqual(
      expect.arrayContaining(["notes__search_notes", "weather__get_weather"]),
    );
    expect(result.chat.body.toolCalls).toEqual([{ toolName: "weather__get_weather", input: { city: "Paris" } }]);
    expect(demo.exampleServer.calls).toContainEqual({ tool: "get_weather", arguments: { city: "Paris" } });
    expect(result.chat.body.text).toBe("The weather server says: Paris: 18 °C, light rain, humidity 82 %");
  });

  it("injects no tool when the request opts out with mcp_servers: {}", () => {
    expect(result.optOut.status).toBe(200);
    expect(result.optOut.body.toolsOffered).toEqual([]);
    expect(result.optOut.body.toolCalls).toEqual([]);
  });

  it("prints the three numbered steps with their request lines and statuses", () => {
    const output = lines.join("\n");
    expect(output).toMatch(/1\. Register[\s\S]*→ POST \/mcp-servers[\s\S]*← 201/);
    expect(output).toMatch(/2\. Chat[\s\S]*tool call\s+weather__get_weather/);
    expect(output).toMatch(/3\. Opt out[\s\S]*tools offered\s+\(none\)/);
  });
});
