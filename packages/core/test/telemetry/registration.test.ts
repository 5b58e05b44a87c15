import { metrics } from "@opentelemetry/api";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMcpServerSide } from "../../src/create.js";
import type { McpServerSide } from "../../src/types.js";
import { echoTool, type McpFixture, startStreamableServer } from "../fixtures/mcp-servers.js";
import { installOpenTelemetry, spansNamed } from "./otel-sdk.js";

// Without an SDK nothing is traced at all; these show that an SDK the app registers later is still seen.

let upstream: McpFixture;
const instances: McpServerSide[] = [];

beforeAll(async () => {
  upstream = await startStreamableServer({ tools: [echoTool()] });
});
afterAll(() => upstream.close());
afterEach(async () => {
  await Promise.all(instances.splice(0).map((instance) => instance.close()));
});

async function startedInstance(): Promise<McpServerSide> {
  const mcp = createMcpServerSide({ logger: false, config: { mcpServers: { docs: { url: upstream.url } } } });
  instances.push(mcp);
  await mcp.ready();
  return mcp;
}

async function callEcho(mcp: McpServerSide): Promise<void> {
  const tools = await mcp.forRequest(new Request("http://app.test/chat", { method: "POST" })).tools();
  await tools.docs__echo!.execute!({ text: "hi" }, { toolCallId: "c1", messages: [], context: {} });
}

describe("OpenTelemetry registered after the instance started", () => {
  it("traces the calls made once the app registered its SDK", async () => {
    const mcp = await startedInstance();
    await callEcho(mcp);
    const otel = installOpenTelemetry();
    try {
      await callEcho(mcp);
      expect(spansNamed(otel.spans(), "tools/call echo")).toHaveLength(1);
    } finally {
      await otel.uninstall();
    }
  });

  it("records the call duration when the app registered only a meter provider", async () => {
    const mcp = await startedInstance();
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
    try {
      await callEcho(mcp);
      await reader.forceFlush();
      const names = exporter
        .getMetrics()
        .flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics))
        .filter((metric) => metric.descriptor.name === "mcp.client.operation.duration")
        .flatMap((metric) => metric.dataPoints.map((point) => point.attributes["mcp.method.name"]));
      expect(names).toContain("tools/call");
    } finally {
      await provider.shutdown();
      metrics.disable();
    }
  });
});
