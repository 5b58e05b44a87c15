import { createServer } from "node:http";
import { trace } from "@opentelemetry/api";
import type { McpServerSide } from "@mcp-server-side/core";
import express from "express";
import express4 from "express4";
import { describe, expect, it } from "vitest";
import { spansNamed } from "../../core/test/telemetry/otel-sdk.js";
import { chat, chatWithTelemetry, useTelemetryHarness } from "../../../test/http/telemetry.js";
import { mcpServerSide } from "../src/index.js";

const harness = useTelemetryHarness();

for (const [label, factory] of [
  ["Express 5", express],
  ["Express 4", express4],
] as const) {
  describe(`OpenTelemetry through ${label}`, () => {
    async function start(): Promise<{ url: string; mcp: McpServerSide }> {
      const mcp = await harness.instance();
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
          res.json({ text: await chatWithTelemetry(req.mcp, String(req.body.tool)) });
        } catch (error) {
          next(error);
        }
      });
      return harness.serve(createServer(app), mcp);
    }

    it("puts tools/call under the AI SDK's tool span, inside the app's request span", async () => {
      const { url } = await start();
      expect((await chat(url, "docs__echo")).status).toBe(200);
      const spans = harness.otel().spans();
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
      const duration = (await harness.otel().metrics()).get("mcp.client.operation.duration");
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
