import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoHandle, startDemo } from "../src/demo.js";
import { createScriptedModel } from "../src/scripted-model.js";
import { runWalkthrough, type WalkthroughResult } from "../src/walkthrough.js";

describe("the Express demo walkthrough (scripted model, real MCP servers over HTTP and stdio)", () => {
  let demo: DemoHandle;
  let result: WalkthroughResult;
  const lines: string[] = [];

  beforeAll(async () => {
    demo = await startDemo({ model: createScriptedModel(), port: 0, mcpPort: 0 });
    result = await runWalkthrough({
      appUrl: demo.appUrl,
      exampleServer: demo.exampleServer,
      modelLabel: "scripted model, no API key set",
      out: (line) => lines.push(line),
      color: false,
    });
  });

  afterAll(async () => {
    await demo?.close();
  });

  it("registers the example server for the tenant: 201 with the redacted server", () => {
    expect(result.register.status).toBe(201);
    expect(result.register.body).toMatchObject({ name: "weather", url: demo.exampleServer.url });
  });

  it("lists the operator's stdio server from mcp.config.json and the tenant's own server, each with its tier", () => {
    expect(result.list.status).toBe(200);
    const servers = (result.list.body as { servers: { name: string; source: string }[] }).servers;
    expect(servers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "notes", source: "config" }),
        expect.objectContaining({ name: "weather", source: "scope" }),
      ]),
    );
  });

  it("answers 401 to a listing without an API key", () => {
    expect(result.listWithoutKey.status).toBe(401);
    expect(result.listWithoutKey.body).toMatchObject({ code: "unauthorized" });
  });

  it("shows the tenant server's allowed tools under their AI SDK names", () => {
    expect(result.tools.status).toBe(200);
    const tools = (result.tools.body as { tools: { name: string; toolName: string }[] }).tools;
    expect(tools.map((tool) => tool.toolName).sort()).toEqual(["weather__add", "weather__get_weather"]);
  });

  it("runs a chat turn in which the model calls weather__get_weather and the MCP server receives the call", () => {
    expect(result.chat.status).toBe(200);
    const reply = result.chat.body;
    expect(reply.toolsOffered).toEqual(
      expect.arrayContaining(["server_time", "notes__search_notes", "weather__get_weather", "weather__add"]),
    );
    expect(reply.toolCalls).toEqual([{ toolName: "weather__get_weather", input: { city: "Paris" } }]);
    expect(result.receivedCalls).toEqual([{ tool: "get_weather", arguments: { city: "Paris" } }]);
    expect(JSON.stringify(reply.toolResults)).toContain("18 °C, light rain");
    expect(reply.text).toBe("According to the weather server: Paris: 18 °C, light rain, humidity 82 %");
    expect(reply.mcpErrors).toEqual([]);
  });

  it("injects no MCP tool when the request opts out with mcp_servers: {}", () => {
    expect(result.optOut.status).toBe(200);
    expect(result.optOut.body.toolsOffered).toEqual(["server_time"]);
    expect(result.optOut.body.toolCalls).toEqual([]);
    expect(result.optOut.body.text).toMatch(/cannot look up the weather/);
  });

  it("prints numbered steps with request lines, statuses and the scripted-model label", () => {
    const output = lines.join("\n");
    for (const step of ["1. Register", "2. List", "3. See", "4. Chat", "5. Opt out"]) expect(output).toContain(step);
    expect(output).toContain("→ POST /mcp-servers");
    expect(output).toContain("← 201 Created");
    expect(output).toContain("← 401 Unauthorized");
    expect(output).toContain("scripted model, no API key set");
    expect(output).toMatch(/tool call\s+weather__get_weather \{"city":"Paris"\}/);
  });

  it("streams a useChat turn through /chat/stream with the injected tool's result", async () => {
    const response = await fetch(`${demo.appUrl}/chat/stream`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-API-Key": "demo-tenant-key" },
      body: JSON.stringify({
        messages: [{ id: "m1", role: "user", parts: [{ type: "text", text: "What's the weather in Tokyo?" }] }],
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const stream = await response.text();
    expect(stream).toContain('"toolName":"weather__get_weather"');
    expect(stream).toContain("Tokyo: 24 °C, sunny");
    expect(demo.exampleServer.calls.at(-1)).toEqual({ tool: "get_weather", arguments: { city: "Tokyo" } });
  });
});
