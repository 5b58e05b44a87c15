import type { Server } from "node:http";
import { trace } from "@opentelemetry/api";
import { createMcpServerSide, type McpRequestContext, type McpServerSide } from "@mcp-server-side/core";
import { generateText, stepCountIs, type Telemetry as AiTelemetry } from "ai";
import { afterAll, afterEach, beforeAll } from "vitest";
import { scriptedModel } from "../../packages/core/test/engine/helpers.js";
import { echoTool, type McpFixture, startStreamableServer } from "../../packages/core/test/fixtures/mcp-servers.js";
import { type InstalledOpenTelemetry, installOpenTelemetry } from "../../packages/core/test/telemetry/otel-sdk.js";
import { listen } from "./servers.js";

/**
 * What the Express and Hono OpenTelemetry tests share: the real SDK installed for the file, a real
 * upstream MCP server (`echo`, and `fails`, which answers a tool error) as the config server `docs`, and
 * each test's app and instance closed after it. Call at the top level of a test file.
 */
export interface TelemetryHarness {
  /** The installed SDK (spans and metrics of the current test). */
  otel(): InstalledOpenTelemetry;
  /** A ready instance with the upstream as `docs`. */
  instance(): Promise<McpServerSide>;
  /** Serves an app on a free port; it and its instance are closed after the test. */
  serve(server: Server, mcp: McpServerSide): Promise<{ url: string; mcp: McpServerSide }>;
}

export function useTelemetryHarness(): TelemetryHarness {
  let otel: InstalledOpenTelemetry | undefined;
  let upstream: McpFixture | undefined;
  const cleanup: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    otel = installOpenTelemetry();
    upstream = await startStreamableServer({
      tools: [
        echoTool(),
        { name: "fails", handler: () => ({ content: [{ type: "text", text: "no" }], isError: true }) },
      ],
    });
  });
  afterAll(async () => {
    await upstream?.close();
    await otel?.uninstall();
  });
  afterEach(async () => {
    await Promise.all(cleanup.splice(0).map((close) => close()));
    otel?.reset();
  });
  return {
    otel: () => {
      if (otel === undefined) throw new Error("the OpenTelemetry SDK is installed in beforeAll");
      return otel;
    },
    async instance() {
      const mcp = createMcpServerSide({
        logger: false,
        config: { mcpServers: { docs: { url: upstream?.url ?? "" } } },
      });
      await mcp.ready();
      return mcp;
    },
    async serve(server, mcp) {
      const running = await listen(server);
      cleanup.push(async () => {
        await running.close();
        await mcp.close();
      });
      return { url: running.url, mcp };
    },
  };
}

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

/** The app's chat route: a scripted model calls `tool` once, with the AI SDK's telemetry on; the final text. */
export async function chatWithTelemetry(mcp: Pick<McpRequestContext, "inject">, tool: string): Promise<string> {
  const result = await generateText(
    await mcp.inject({
      model: scriptedModel(tool, { text: "hi" }),
      prompt: "go",
      stopWhen: stepCountIs(3),
      experimental_telemetry: { isEnabled: true, integrations: [toolSpans] },
    }),
  );
  return result.text;
}

/** Calls the app's `POST /chat` with the tool the model is to call. */
export function chat(url: string, tool: string): Promise<Response> {
  return fetch(`${url}/chat`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "k-telemetry" },
    body: JSON.stringify({ tool }),
  });
}
