import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { trace } from "@opentelemetry/api";
import { createMcpServerSide, type McpServerSide } from "@mcp-server-side/core";
import { generateText, stepCountIs, type Telemetry as AiTelemetry } from "ai";
import { Hono } from "hono";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { scriptedModel } from "../../core/test/engine/helpers.js";
import { echoTool, type McpFixture, startStreamableServer } from "../../core/test/fixtures/mcp-servers.js";
import { type InstalledOpenTelemetry, installOpenTelemetry, spansNamed } from "../../core/test/telemetry/otel-sdk.js";
import { listen } from "../../../test/http/index.js";
import { type McpServerSideEnv, mcpServerSide } from "../src/index.js";

let otel: InstalledOpenTelemetry;
let upstream: McpFixture;
const cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  otel = installOpenTelemetry();
  upstream = await startStreamableServer({
    tools: [echoTool(), { name: "fails", handler: () => ({ content: [{ type: "text", text: "no" }], isError: true }) }],
  });
});
afterAll(async () => {
  await upstream.close();
  await otel.uninstall();
});
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((close) => close()));
  otel.reset();
});

/** Opens an `ai.toolCall` span around each tool's execute, as the AI SDK's OpenTelemetry integration does. */
const toolSpans: AiTelemetry = {
  executeTool: ({ execute }) =>
    trace.getTracer("ai").startActiveSpan("ai.toolCall", async (span) => {
      try {
        return await execute();
      } finally {
        span.end();
      }
    }),
};

async function start(): Promise<{ url: string; mcp: McpServerSide }> {
  const mcp = createMcpServerSide({ logger: false, config: { mcpServers: { docs: { url: upstream.url } } } });
  await mcp.ready();
  const app = new Hono<McpServerSideEnv>();
  // The app's own request span, active for the rest of the request.
  app.use((c, next) =>
    trace.getTracer("app").startActiveSpan(`${c.req.method} ${c.req.path}`, async (span) => {
      try {
        await next();
      } finally {
        span.end();
      }
    }),
  );
  app.use(mcpServerSide(mcp));
  app.post("/chat", async (c) => {
    const { tool } = (await c.req.json()) as { tool: string };
    const result = await generateText(
      await c.var.mcp.inject({
        model: scriptedModel(tool, { text: "hi" }),
        prompt: "go",
        stopWhen: stepCountIs(3),
        experimental_telemetry: { isEnabled: true, integrations: [toolSpans] },
      }),
    );
    return c.json({ text: result.text });
  });
  const running = await listen(createAdaptorServer({ fetch: app.fetch }) as Server);
  cleanup.push(async () => {
    await running.close();
    await mcp.close();
  });
  return { url: running.url, mcp };
}

function chat(url: string, tool: string): Promise<Response> {
  return fetch(`${url}/chat`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "k-telemetry" },
    body: JSON.stringify({ tool }),
  });
}

describe("OpenTelemetry through Hono", () => {
  it("puts tools/call under the AI SDK's tool span, inside the app's request span", async () => {
    const { url } = await start();
    expect((await chat(url, "docs__echo")).status).toBe(200);
    const spans = otel.spans();
    const [call] = spansNamed(spans, "tools/call echo");
    const [toolSpan] = spansNamed(spans, "ai.toolCall");
    const [request] = spansNamed(spans, "POST /chat");
    expect(call?.attributes).toMatchObject({ "mcp.method.name": "tools/call", "gen_ai.tool.name": "echo" });
    expect(call?.attributes["mcp.session.id"]).toEqual(expect.any(String));
    expect(call?.parentSpanContext?.spanId).toBe(toolSpan?.spanContext().spanId);
    expect(toolSpan?.spanContext().traceId).toBe(request?.spanContext().traceId);
  });

  it("counts a tool error by its type", async () => {
    const { url } = await start();
    expect((await chat(url, "docs__fails")).status).toBe(200);
    const [call] = spansNamed(otel.spans(), "tools/call fails");
    expect(call?.attributes["error.type"]).toBe("tool_error");
    const errors = (await otel.metrics()).get("mcp_server_side.errors");
    expect(
      errors?.dataPoints.some(
        (point) => point.attributes["error.type"] === "tool_error" && point.attributes["gen_ai.tool.name"] === "fails",
      ),
    ).toBe(true);
  });

  it("answers the management routes with the caller's x-request-id", async () => {
    const { url } = await start();
    const listed = await fetch(`${url}/mcp-servers/nope`, {
      headers: { "x-api-key": "k-1", "x-request-id": "hono-9" },
    });
    expect(listed.status).toBe(404);
    expect(listed.headers.get("x-request-id")).toBe("hono-9");
    expect(await listed.json()).toMatchObject({ code: "not_found", requestId: "hono-9" });
  });
});
