import type { Attributes } from "@opentelemetry/api";
import { trace, context as otelContext } from "@opentelemetry/api";
import type { DataPoint, Histogram, MetricData } from "@opentelemetry/sdk-metrics";
import { generateText, stepCountIs, type Telemetry as AiTelemetry } from "ai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMcpServerSide } from "../../src/create.js";
import type { McpServerSide } from "../../src/types.js";
import { scriptedModel } from "../engine/helpers.js";
import { echoTool, type McpFixture, startStreamableServer } from "../fixtures/mcp-servers.js";
import { type InstalledOpenTelemetry, installOpenTelemetry, isBelow, spansNamed } from "./otel-sdk.js";

const SECRET_ARGUMENT = "argument-value-7f3a9c";

let otel: InstalledOpenTelemetry;
let upstream: McpFixture;
const instances: McpServerSide[] = [];

beforeAll(async () => {
  otel = installOpenTelemetry();
  upstream = await startStreamableServer({
    tools: [
      echoTool(),
      { name: "fails", handler: () => ({ content: [{ type: "text", text: "it broke" }], isError: true }) },
    ],
  });
});
afterAll(async () => {
  await upstream.close();
  await otel.uninstall();
});
afterEach(async () => {
  await Promise.all(instances.splice(0).map((instance) => instance.close()));
  otel.reset();
});

function instance(options: Parameters<typeof createMcpServerSide>[0] = {}): McpServerSide {
  const mcp = createMcpServerSide({
    logger: false,
    config: { mcpServers: { docs: { url: upstream.url } } },
    ...options,
  });
  instances.push(mcp);
  return mcp;
}

/** An AI SDK telemetry integration that opens an `ai.toolCall` span around `execute`, as @ai-sdk/otel does. */
function toolSpanIntegration(): AiTelemetry {
  const tracer = trace.getTracer("ai-sdk-test-integration");
  return {
    executeTool: ({ execute, toolCallId }) =>
      tracer.startActiveSpan("ai.toolCall", { attributes: { "ai.toolCall.id": toolCallId } }, async (span) => {
        try {
          return await execute();
        } finally {
          span.end();
        }
      }),
  };
}

async function callThroughModel(mcp: McpServerSide, toolName: string, input: Record<string, unknown>): Promise<void> {
  const request = new Request("http://app.test/chat", { method: "POST" });
  const tools = await mcp.forRequest(request).tools();
  await generateText({
    model: scriptedModel(toolName, input),
    prompt: "go",
    tools,
    stopWhen: stepCountIs(3),
    experimental_telemetry: { isEnabled: true, integrations: [toolSpanIntegration()] },
  });
}

function allAttributeText(attributes: Attributes): string {
  return JSON.stringify(attributes);
}

function points(metric: MetricData | undefined): DataPoint<unknown>[] {
  return (metric?.dataPoints ?? []) as DataPoint<unknown>[];
}

describe("OpenTelemetry spans", () => {
  it("traces connect, tools/list and tools/call with the MCP semantic conventions", async () => {
    const mcp = instance();
    await mcp.ready();
    await callThroughModel(mcp, "docs__echo", { text: SECRET_ARGUMENT });

    const spans = otel.spans();
    const [initialize] = spansNamed(spans, "initialize");
    const [list] = spansNamed(spans, "tools/list");
    const [call] = spansNamed(spans, "tools/call echo");
    expect(initialize?.attributes).toMatchObject({
      "mcp.method.name": "initialize",
      "server.address": "127.0.0.1",
      "server.port": Number(new URL(upstream.url).port),
      "network.transport": "tcp",
      "mcp_server_side.server.tier": "config",
    });
    expect(initialize?.attributes["mcp.session.id"]).toEqual(expect.any(String));
    expect(list?.attributes).toMatchObject({ "mcp.method.name": "tools/list", "server.address": "127.0.0.1" });
    expect(call?.kind).toBe(2); // SpanKind.CLIENT
    expect(call?.attributes).toMatchObject({
      "mcp.method.name": "tools/call",
      "gen_ai.tool.name": "echo",
      "gen_ai.operation.name": "execute_tool",
      "mcp.session.id": initialize?.attributes["mcp.session.id"],
    });
    expect(call?.attributes["error.type"]).toBeUndefined();
    // Nothing the model sent or the server answered is recorded by default.
    for (const span of spans) expect(allAttributeText(span.attributes)).not.toContain(SECRET_ARGUMENT);
  });

  it("nests tools/call under the AI SDK's own tool span (the active context at execute time)", async () => {
    const mcp = instance();
    await mcp.ready();
    const appTracer = trace.getTracer("app");
    await appTracer.startActiveSpan("POST /chat", async (root) => {
      await callThroughModel(mcp, "docs__echo", { text: "hi" });
      root.end();
    });
    const spans = otel.spans();
    const [call] = spansNamed(spans, "tools/call echo");
    const [toolSpan] = spansNamed(spans, "ai.toolCall");
    const [root] = spansNamed(spans, "POST /chat");
    expect(call && toolSpan && root).toBeTruthy();
    expect(call!.parentSpanContext?.spanId).toBe(toolSpan!.spanContext().spanId);
    expect(isBelow(spans, call!, root!)).toBe(true);
    expect(call!.spanContext().traceId).toBe(root!.spanContext().traceId);
    expect(otelContext.active()).toBe(otelContext.active()); // the context manager is the real one
  });

  it("records arguments and results only when the operator opts in, sanitized", async () => {
    const mcp = instance({ telemetry: { recordArguments: true } });
    await mcp.ready();
    await callThroughModel(mcp, "docs__echo", { text: SECRET_ARGUMENT });
    const [call] = spansNamed(otel.spans(), "tools/call echo");
    expect(String(call?.attributes["gen_ai.tool.call.arguments"])).toContain(SECRET_ARGUMENT);
    expect(String(call?.attributes["gen_ai.tool.call.result"])).toContain(`echo: ${SECRET_ARGUMENT}`);
  });

  it("marks a tool result with isError as error.type tool_error", async () => {
    const mcp = instance();
    await mcp.ready();
    await callThroughModel(mcp, "docs__fails", {});
    const [call] = spansNamed(otel.spans(), "tools/call fails");
    expect(call?.attributes["error.type"]).toBe("tool_error");
    expect(call?.status.code).toBe(2); // SpanStatusCode.ERROR
  });

  it("names a failed connect by its stable code and counts the cool-down", async () => {
    const dead = await startStreamableServer({ tools: [echoTool()] });
    const url = dead.url;
    await dead.close();
    const mcp = instance({
      config: { mcpServers: { gone: { url } } },
      warmup: false,
      connectRetryDelayMs: 10,
    });
    await mcp.ready();
    const context = mcp.forRequest(new Request("http://app.test/chat"));
    await context.tools();
    expect(context.errors.map((error) => error.code)).toContain("connection_failed");
    const failed = spansNamed(otel.spans(), "initialize");
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((span) => span.attributes["error.type"] === "connection_failed")).toBe(true);

    const collected = await otel.metrics();
    const coolDowns = points(collected.get("mcp_server_side.cool_downs"));
    expect(coolDowns.some((point) => point.attributes["error.type"] === "connection_failed")).toBe(true);
    const errors = points(collected.get("mcp_server_side.errors"));
    expect(
      errors.some(
        (point) =>
          point.attributes["error.type"] === "connection_failed" &&
          point.attributes["mcp_server_side.server.tier"] === "config",
      ),
    ).toBe(true);
    // A second request finds the server cooling down, and says so in the error counter.
    await mcp.forRequest(new Request("http://app.test/chat")).tools();
    const again = points((await otel.metrics()).get("mcp_server_side.errors"));
    expect(again.some((point) => point.attributes["error.type"] === "cooling_down")).toBe(true);
  });
});

describe("OpenTelemetry metrics", () => {
  it("records mcp.client.operation.duration per method and tool, and the pool gauge by tier and state", async () => {
    const mcp = instance();
    await mcp.ready();
    // The SDK's metrics are cumulative over the file: count what this test adds.
    const echoCount = async (): Promise<number> =>
      (points((await otel.metrics()).get("mcp.client.operation.duration")) as DataPoint<Histogram>[]).find(
        (point) => point.attributes["gen_ai.tool.name"] === "echo" && point.attributes["error.type"] === undefined,
      )?.value.count ?? 0;
    const before = await echoCount();
    await callThroughModel(mcp, "docs__echo", { text: "hi" });
    await callThroughModel(mcp, "docs__fails", {});
    expect((await echoCount()) - before).toBe(1);
    const collected = await otel.metrics();
    const duration = collected.get("mcp.client.operation.duration");
    expect(duration?.descriptor.unit).toBe("s");
    const histogramPoints = points(duration) as DataPoint<Histogram>[];
    const echo = histogramPoints.find(
      (point) => point.attributes["gen_ai.tool.name"] === "echo" && point.attributes["error.type"] === undefined,
    );
    expect(echo?.value.sum).toBeGreaterThan(0);
    expect(echo?.attributes["mcp.method.name"]).toBe("tools/call");
    const failed = histogramPoints.find((point) => point.attributes["gen_ai.tool.name"] === "fails");
    expect(failed?.attributes["error.type"]).toBe("tool_error");
    expect(histogramPoints.some((point) => point.attributes["mcp.method.name"] === "initialize")).toBe(true);
    expect(histogramPoints.some((point) => point.attributes["mcp.method.name"] === "tools/list")).toBe(true);
    for (const point of histogramPoints) expect(JSON.stringify(point.attributes)).not.toContain("mcp.session.id");

    const gauge = points(collected.get("mcp_server_side.pool.connections"));
    expect(gauge).toContainEqual(
      expect.objectContaining({
        attributes: { "mcp_server_side.server.tier": "config", "mcp_server_side.connection.state": "connected" },
        value: 1,
      }),
    );
  });

  it("records nothing with telemetry: false", async () => {
    const mcp = instance({ telemetry: false });
    await mcp.ready();
    await callThroughModel(mcp, "docs__echo", { text: "hi" });
    expect(otel.spans().filter((span) => span.name.startsWith("tools/") || span.name === "initialize")).toEqual([]);
  });
});
