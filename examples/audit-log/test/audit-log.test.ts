import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateText, stepCountIs } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { type ExampleServerHandle, startExampleServer } from "example-mcp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntry } from "../src/audit.js";
import { type AuditApp, startAuditApp } from "../src/app.js";

const TOKEN = "audit-demo-token-9d2f";
const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

/** A model that asks for the weather in Paris, then answers. */
function weatherModel(): MockLanguageModelV4 {
  let step = 0;
  return new MockLanguageModelV4({
    doGenerate: async () =>
      step++ === 0
        ? {
            content: [
              { type: "tool-call", toolCallId: "c1", toolName: "weather__get_weather", input: '{"city":"Paris"}' },
            ],
            finishReason: { unified: "tool-calls", raw: "tool_calls" },
            usage,
            warnings: [],
          }
        : {
            content: [{ type: "text", text: "sunny" }],
            finishReason: { unified: "stop", raw: "stop" },
            usage,
            warnings: [],
          },
  });
}

describe("the audit-log example", () => {
  let weather: ExampleServerHandle;
  let app: AuditApp;
  let dir: string;
  let entries: AuditEntry[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "audit-log-"));
    weather = await startExampleServer({ port: 0 });
    app = await startAuditApp({
      port: 0,
      file: join(dir, "audit.log"),
      mcp: { logger: false, allowedHosts: [`127.0.0.1:${weather.port}`] },
      routes: (express) =>
        express.post("/chat", async (req, res) => {
          const result = await generateText(
            await req.mcp.inject({ model: weatherModel(), prompt: "weather in Paris?", stopWhen: stepCountIs(3) }),
          );
          res.json({ text: result.text });
        }),
    });
    const headers = (id: string) => ({
      "x-api-key": "tenant-key",
      "x-request-id": id,
      "content-type": "application/json",
    });
    const steps: [string, RequestInit][] = [
      [
        "/mcp-servers",
        {
          method: "POST",
          headers: headers("reg-1"),
          body: JSON.stringify({ name: "weather", url: weather.url, auth: { type: "bearer", token: TOKEN } }),
        },
      ],
      [
        "/mcp-servers/weather",
        { method: "PATCH", headers: headers("upd-2"), body: JSON.stringify({ description: "forecasts" }) },
      ],
      ["/chat", { method: "POST", headers: headers("chat-3"), body: "{}" }],
      ["/mcp-servers/weather", { method: "DELETE", headers: headers("del-4") }],
    ];
    for (const [path, init] of steps) {
      const reply = await fetch(`${app.url}${path}`, init);
      expect(reply.ok, `${init.method} ${path}: ${reply.status}`).toBe(true);
    }
    await app.close();
    entries = (await readFile(app.file, "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as AuditEntry);
  });

  afterAll(async () => {
    await weather?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("writes one JSON line per event, in order, each with the request id", () => {
    expect(entries.map((entry) => [entry.event, entry.requestId])).toEqual([
      ["server.registered", "reg-1"],
      ["server.updated", "upd-2"],
      ["tool.called", "chat-3"],
      ["tool.answered", "chat-3"],
      ["server.removed", "del-4"],
    ]);
  });

  it("names the actor by scope label, never by the raw API key", () => {
    for (const entry of entries) {
      expect(entry.caller?.scope).toMatch(/^scope:key-[0-9a-f]+$/);
      expect(JSON.stringify(entry)).not.toContain("tenant-key");
    }
  });

  it("records the change, never the secret or the tool's arguments", () => {
    const updated = entries.find((entry) => entry.event === "server.updated");
    expect(updated).toMatchObject({ server: "weather", tier: "scope", changed: ["description"] });
    const called = entries.find((entry) => entry.event === "tool.called");
    expect(called).toMatchObject({ tool: "get_weather", argumentNames: ["city"] });
    const text = entries.map((entry) => JSON.stringify(entry)).join("\n");
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain("Paris");
  });
});
