import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { trace } from "@opentelemetry/api";
import type { McpServerSide } from "@mcp-server-side/core";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { spansNamed } from "../../core/test/telemetry/otel-sdk.js";
import { chat, chatWithTelemetry, useTelemetryHarness } from "../../../test/http/telemetry.js";
import { type McpServerSideEnv, mcpServerSide } from "../src/index.js";

const harness = useTelemetryHarness();

async function start(): Promise<{ url: string; mcp: McpServerSide }> {
  const mcp = await harness.instance();
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
    return c.json({ text: await chatWithTelemetry(c.var.mcp, tool) });
  });
  return harness.serve(createAdaptorServer({ fetch: app.fetch }) as Server, mcp);
}

describe("OpenTelemetry through Hono", () => {
  it("puts tools/call under the AI SDK's tool span, inside the app's request span", async () => {
    const { url } = await start();
    expect((await chat(url, "docs__echo")).status).toBe(200);
    const spans = harness.otel().spans();
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
    const [call] = spansNamed(harness.otel().spans(), "tools/call fails");
    expect(call?.attributes["error.type"]).toBe("tool_error");
    const errors = (await harness.otel().metrics()).get("mcp_server_side.errors");
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
