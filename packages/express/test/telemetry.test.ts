import { createServer } from "node:http";
import { trace } from "@opentelemetry/api";
import { createMcpServerSide, type McpServerSide } from "@mcp-server-side/core";
import { generateText, stepCountIs, type Telemetry as AiTelemetry } from "ai";
import express from "express";
import express4 from "express4";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { scriptedModel } from "../../core/test/engine/helpers.js";
import { echoTool, type McpFixture, startStreamableServer } from "../../core/test/fixtures/mcp-servers.js";
import { type InstalledOpenTelemetry, installOpenTelemetry, spansNamed } from "../../core/test/telemetry/otel-sdk.js";
import { listen } from "../../../test/http/index.js";
import { mcpServerSide } from "../src/index.js";

let otel: InstalledOpenTelemetry;
let upstream: McpFixture;
const cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  otel = installOpenTelemetry();
  upstream = await startStreamableServer({ tools: [echoTool()] });
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

for (const [label, factory] of [
  ["Express 5", express],
  ["Express 4", express4],
] as const) {
  describe(`OpenTelemetry through ${label}`, () => {
    async function start(): Promise<{ url: string; mcp: McpServerSide }> {
      const mcp = createMcpServerSide({ logger: false, config: { mcpServers: { docs: { url: upstream.url } } } });
      await mcp.ready();
      const app = factory();
      // The app's own request span, active for the rest of the request (what HTTP instrumentation does).
      app.use((req, res, next) => {
        trace.getTracer("app").startActiveSpan(`${req.method} ${req.path}`, (span) => {
          res.on("finish", () => span.end());
          next();
        });
      });
      app.use(factory.json());
      app.use(mcpServerSide(mcp));
      app.post("/chat", async (req, res, next) => {
        try {
          const result = await generateText(
            await req.mcp.inject({
              model: scriptedModel("docs__echo", { text: "hi" }),
              prompt: "go",
              stopWhen: stepCountIs(3),
              experimental_telemetry: { isEnabled: true, integrations: [toolSpans] },
            }),
          );
          res.json({ text: result.text });
        } catch (error) {
          next(error);
        }
      });
      const running = await listen(createServer(app));
      cleanup.push(async () => {
        await running.close();
        await mcp.close();
      });
      return { url: running.url, mcp };
    }

    it("puts tools/call under the AI SDK's tool span, inside the app's request span", async () => {
      const { url } = await start();
      const reply = await fetch(`${url}/chat`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": "k-telemetry" },
        body: "{}",
      });
      expect(reply.status).toBe(200);
      const spans = otel.spans();
      const [call] = spansNamed(spans, "tools/call echo");
      const [toolSpan] = spansNamed(spans, "ai.toolCall");
      const [request] = spansNamed(spans, "POST /chat");
      expect(call?.attributes).toMatchObject({
        "mcp.method.name": "tools/call",
        "gen_ai.tool.name": "echo",
        "server.address": "127.0.0.1",
      });
      expect(call?.parentSpanContext?.spanId).toBe(toolSpan?.spanContext().spanId);
      expect(call?.spanContext().traceId).toBe(request?.spanContext().traceId);
      const duration = (await otel.metrics()).get("mcp.client.operation.duration");
      expect(duration?.dataPoints.some((point) => point.attributes["gen_ai.tool.name"] === "echo")).toBe(true);
    });

    it("answers the management routes and the health report with an x-request-id", async () => {
      const { url } = await start();
      const listed = await fetch(`${url}/mcp-servers`, { headers: { "x-api-key": "k-1", "x-request-id": "ops-123" } });
      expect(listed.status).toBe(200);
      expect(listed.headers.get("x-request-id")).toBe("ops-123");
      const health = await fetch(`${url}/mcp-servers/_health`, { headers: { "x-api-key": "k-1" } });
      expect(health.status).toBe(403); // the default identify makes no admins
      expect(health.headers.get("x-request-id")).toMatch(/^req_/);
      expect(((await health.json()) as { requestId: string }).requestId).toBe(health.headers.get("x-request-id"));
    });
  });
}
