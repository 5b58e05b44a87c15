import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createMcpServerSide } from "../../src/create.js";
import type { Logger } from "../../src/options.js";
import type { ContextError, McpServerSide } from "../../src/types.js";
import { isAlive, startHttpServer, stdioFixture } from "../fixtures/mcp-servers.js";
import { closeEngines, eventually, makeEngine, server } from "./helpers.js";

function pidsIn(file: string): number[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const pidFile = (): string => join(mkdtempSync(join(tmpdir(), "mcp-cold-")), "pids");

const instances: McpServerSide[] = [];
afterEach(async () => {
  await closeEngines();
  await Promise.allSettled(instances.splice(0).map((instance) => instance.close()));
});

function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (...args: unknown[]): void => {
    lines.push(args.map(String).join(" "));
  };
  return { lines, debug: () => undefined, info: push, warn: push, error: push };
}

describe("cold starts with stdio servers", () => {
  it("a request that stops waiting leaves the connect running: the next request gets the server, spawned once", async () => {
    const pids = pidFile();
    const engine = makeEngine({ connectTimeoutMs: 60_000 });
    const slow = server("slow", stdioFixture({ pidFile: pids, startDelayMs: 1_500 }));
    const errors: ContextError[] = [];
    const first = await engine.tools([slow], errors, { timeoutMs: 50 });
    expect(first).toEqual({});
    expect(errors.map((error) => error.code)).toEqual(["timeout"]);

    let names: string[] = [];
    await eventually(async () => {
      names = Object.keys(await engine.tools([slow], [], { timeoutMs: 50 }));
      return names.length > 0;
    }, 30_000);
    expect(names).toEqual(["slow__echo"]);
    const started = pidsIn(pids);
    expect(started).toHaveLength(1);
    expect(isAlive(started[0]!)).toBe(true);
  });

  it("more children than maxConcurrentSpawns all start, each once, while requests keep returning", async () => {
    const pids = pidFile();
    const engine = makeEngine({ connectTimeoutMs: 60_000, maxConcurrentSpawns: 2 });
    const servers = Array.from({ length: 6 }, (_, index) =>
      server(`s${index}`, stdioFixture({ pidFile: pids, startDelayMs: 300, tools: [{ name: `tool${index}` }] })),
    );
    const errors: ContextError[] = [];
    await engine.tools(servers, errors, { timeoutMs: 50 });
    // With two spawn turns, the first request cannot have seen all six.
    expect(errors.length).toBeGreaterThan(0);
    let names: string[] = [];
    await eventually(async () => {
      names = Object.keys(await engine.tools(servers, [], { timeoutMs: 50 }));
      return names.length === 6;
    }, 60_000);
    expect(pidsIn(pids)).toHaveLength(6);
  });
});

describe("warmup at ready()", () => {
  it("ready() connects the config tier: the first request finds it connected, and failures are reported and logged", async () => {
    const pids = pidFile();
    const closed = await startHttpServer(() => undefined);
    const closedUrl = `${closed.url}/mcp`;
    await closed.close();
    const logger = capturingLogger();
    const mcp = createMcpServerSide({
      config: { mcpServers: { local: stdioFixture({ pidFile: pids }), gone: { url: closedUrl } } },
      logger,
      connectRetryDelayMs: 10,
    });
    instances.push(mcp);
    let opened = 0;
    mcp.hooks.hook("connection:open", () => {
      opened++;
    });
    const report = await mcp.ready();
    expect(report.failedServers).toEqual([
      { code: "connection_failed", server: "gone", message: expect.stringContaining("could not be reached") },
    ]);
    expect(logger.lines.some((line) => line.includes("gone") && line.includes("connection_failed"))).toBe(true);
    expect(opened).toBe(1);
    expect(pidsIn(pids)).toHaveLength(1);

    const context = mcp.forRequest(new Request("http://app.test/chat", { headers: { "x-api-key": "k" } }));
    const tools = await context.tools();
    expect(Object.keys(tools)).toContain("local__echo");
    // The warm connection served the request: no second spawn, no second connect.
    expect(opened).toBe(1);
    expect(pidsIn(pids)).toHaveLength(1);
    // A failed warmup starts no cool-down: the request tried for itself.
    expect(context.errors.map((error) => `${error.server}:${error.code}`)).toEqual(["gone:connection_failed"]);
  });

  it("warmup: false leaves the config tier to the first request", async () => {
    const pids = pidFile();
    const mcp = createMcpServerSide({
      config: { mcpServers: { local: stdioFixture({ pidFile: pids }) } },
      logger: capturingLogger(),
      warmup: false,
    });
    instances.push(mcp);
    expect(await mcp.ready()).toEqual({ failedServers: [] });
    expect(pidsIn(pids)).toHaveLength(0);
    const tools = await mcp.forRequest(new Request("http://app.test/chat", { headers: { "x-api-key": "k" } })).tools();
    expect(Object.keys(tools)).toContain("local__echo");
    expect(pidsIn(pids)).toHaveLength(1);
  });
});
