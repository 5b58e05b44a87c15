import type { AddressInfo } from "node:net";
import { type ExampleServerHandle, startExampleServer } from "example-mcp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAICompatibleApp } from "../src/app.js";
import { type ClientDemoResult, runClientDemo } from "../src/client-demo.js";
import { type ResponsesDemoResult, runResponsesDemo } from "../src/responses-demo.js";
import { createScriptedModel } from "../src/scripted-model.js";

describe("the OpenAI-compatible example (scripted model, the example MCP server over HTTP)", () => {
  let weather: ExampleServerHandle;
  let close: () => Promise<void>;
  let result: ClientDemoResult;
  let responses: ResponsesDemoResult;

  beforeAll(async () => {
    weather = await startExampleServer({ port: 0 });
    const { app, mcp } = createOpenAICompatibleApp({
      model: () => createScriptedModel(),
      weatherServerUrl: weather.url,
    });
    const server = app.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    close = async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await mcp.close();
    };
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    result = await runClientDemo(`${origin}/v1`, "scripted", () => undefined);
    responses = await runResponsesDemo(`${origin}/v1`, "scripted", weather.url, () => undefined);
  });

  afterAll(async () => {
    await close?.();
    await weather?.close();
  });

  it("answers with the MCP weather tool's result, which the MCP server computed", () => {
    expect(result.plain.choices[0]?.message.content).toContain("Tokyo:");
    expect(weather.calls.filter((call) => call.tool === "get_weather")[0]).toEqual({
      tool: "get_weather",
      arguments: { city: "Tokyo" },
    });
  });

  it("streams the same answer", () => {
    expect(result.streamedText).toBe(result.plain.choices[0]?.message.content);
  });

  it("hands the client's own function tool back as tool_calls", () => {
    expect(result.clientToolCall.choices[0]?.finish_reason).toBe("tool_calls");
    expect(result.clientToolCall.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      type: "function",
      function: { name: "show_on_map", arguments: '{"city":"Tokyo"}' },
    });
  });

  it("offers no MCP tool to a request with mcp_servers: {}", () => {
    expect(result.optedOut.choices[0]?.message.content).toBe("No tools were given to me for this request.");
  });

  it("lists the configured model for models.list()", () => {
    expect(responses.models).toEqual(["scripted"]);
  });

  it("answers on the Responses API with the MCP call as items, streamed or not", () => {
    expect(responses.plain.output.map((item) => item.type)).toEqual(["mcp_list_tools", "mcp_call", "message"]);
    expect(responses.plain.output_text).toContain("Tokyo:");
    expect(responses.streamedText).toBe(responses.plain.output_text);
  });

  it("asks for approval for the request's own MCP tool and runs the call once approved", () => {
    expect(responses.approvalRequest).toMatchObject({ server_label: "forecast", name: "get_weather" });
    expect(responses.approved.output_text).toContain("Berlin");
    // Tokyo twice (answer and stream), Berlin once: after the approval, never before it.
    const calls = weather.calls.filter((call) => call.tool === "get_weather").map((call) => call.arguments);
    expect(calls.slice(-3)).toEqual([{ city: "Tokyo" }, { city: "Tokyo" }, { city: "Berlin" }]);
  });
});
