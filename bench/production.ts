/**
 * Benchmark of the path users run (`npm run bench:production`, part of `npm run bench`): the public
 * API (`createMcpServerSide` + `forRequest(request)`) and a real Express app, against real MCP servers
 * in a child process (bench/servers.ts), with the load generator (autocannon) in another child
 * (bench/load.ts). Config tier (plain fetch) and tenant tier (servers registered by an API key, so
 * identify, the registry and the guarded fetch are on the path) both.
 *
 *   A. warm `forRequest(request).tools()` in process, 10 servers × 50 tools      target ≤ 30 µs
 *   B. Express req/s next to a plain route on the same app (floor rows in the same table):
 *      a route that does not use the middleware, behind it                      target ≥ 0.97 ×
 *        (beside it, the same route behind a no-op middleware: Express's own cost of a layer)
 *      a route doing `await req.mcp.tools()`                                    target ≥ 0.90 ×
 *      `GET /mcp-servers` (memory, Redis) vs a constant JSON route              target ≥ 0.80 ×
 *      `POST` + `DELETE` cycle vs the constant route                            target ≥ 0.60 ×
 *   C. a warm tool call vs the raw MCP SDK `callTool` (and `@ai-sdk/mcp`'s tool) target ≤ 1.03 ×
 *   D. generateText with injected tools (a model that does nothing) vs static    target ≤ 1.10 ×
 *   E. heap per pooled connection (50 tools), tenant and config tier             target ≤ 160 KiB
 *   F. cold first request, 10 HTTP / 5 stdio servers, vs raw SDK clients         target ≤ 1.03 ×
 *
 * Every comparison is measured in interleaved rounds; a ratio is the median of the rounds' ratios.
 * Prints each target beside its figure and writes bench/results/production-<time>.json and
 * production-latest.json. `--quick` shortens everything (figures are then rough).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus } from "node:os";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import { createMCPClient } from "@ai-sdk/mcp";
import { createMcpServerSide, type McpServerSide, type McpServerSideOptions } from "@mcp-server-side/core";
import { mcpServerSide } from "@mcp-server-side/express";
import { redisStore } from "@mcp-server-side/storage-redis";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { dynamicTool, generateText, jsonSchema, stepCountIs, type ToolSet } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import express from "express";
import { Redis } from "ioredis";
import { mcpToModelOutput } from "../packages/core/src/tools/result.js";
import { stdioFixture } from "../packages/core/test/fixtures/mcp-servers.js";

v8.setFlagsFromString("--expose_gc");
let listenerWarnings = 0;
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name === "MaxListenersExceededWarning") listenerWarnings++;
  else console.warn(warning);
});
// @ai-sdk/mcp's HTTP transport may reject in the background when an idle socket is closed under it;
// a peer's hiccup is counted, not allowed to end the run.
let peerRejections = 0;
process.on("unhandledRejection", (reason) => {
  peerRejections++;
  console.warn("unhandled rejection (counted):", reason instanceof Error ? reason.message : reason);
});
const gc = vm.runInNewContext("gc") as () => void;
const root = fileURLToPath(new URL("..", import.meta.url));
const quick = process.argv.includes("--quick");
const only = process.argv.find((argument) => argument.startsWith("--only="))?.slice("--only=".length);
const section = (name: string): boolean => only === undefined || only.split(",").includes(name);
const scale = (count: number): number => (quick ? Math.max(5, Math.round(count / 10)) : count);
const SERVERS = 10;
const TOOLS = 50;
const LOOPBACK = { allowPrivateNetworks: true, requireHttps: false } as const;
const API_KEY = "bench-key-0123456789";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

// ── helpers ─────────────────────────────────────────────────────────────────────────────────────

interface Stats {
  n: number;
  medianUs: number;
  p99Us: number;
}

function stats(samples: ArrayLike<number>): Stats {
  const sorted = Array.from(samples).sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const round = (value: number): number => Math.round(value * 10) / 10;
  return { n: sorted.length, medianUs: round(at(0.5)), p99Us: round(at(0.99)) };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const r3 = (value: number): number => Math.round(value * 1000) / 1000;

async function timed(count: number, run: () => Promise<unknown>): Promise<Float64Array> {
  const samples = new Float64Array(count);
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    await run();
    samples[index] = (performance.now() - started) * 1000;
  }
  return samples;
}

interface Comparison {
  stats: Stats[];
  /** Per alternative after the first: median over rounds of (its median / the first's median). */
  ratios: number[];
  roundRatios: number[][];
}

/**
 * `rounds` rounds; in each, every alternative runs `perRound` times, interleaved one call at a time
 * in a rotating order, so drift of the machine hits all alike. The first alternative is the baseline.
 * A run that resolves to a function has it called after its time is taken (clean-up outside the figure).
 * `beforeRound`, when given, runs before each round, untimed (e.g. fresh servers for the round).
 */
async function compare(
  rounds: number,
  perRound: number,
  runs: (() => Promise<unknown>)[],
  beforeRound?: (round: number) => Promise<void>,
): Promise<Comparison> {
  const all = runs.map((): number[] => []);
  const roundRatios = runs.slice(1).map((): number[] => []);
  for (let round = 0; round < rounds; round++) {
    await beforeRound?.(round);
    const samples = runs.map(() => new Float64Array(perRound));
    for (let index = 0; index < perRound; index++) {
      for (let offset = 0; offset < runs.length; offset++) {
        const which = (index + offset) % runs.length;
        const started = performance.now();
        const after = await runs[which]!();
        samples[which]![index] = (performance.now() - started) * 1000;
        if (typeof after === "function") await after();
      }
    }
    const medians = samples.map((s) => stats(s).medianUs);
    for (let which = 1; which < runs.length; which++) roundRatios[which - 1]!.push(medians[which]! / medians[0]!);
    for (const [which, s] of samples.entries()) all[which]!.push(...s);
  }
  return {
    stats: all.map((samples) => stats(samples)),
    ratios: roundRatios.map((values) => r3(median(values))),
    roundRatios: roundRatios.map((values) => values.map(r3)),
  };
}

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function startServers(config: { streamable: number; tools: number }): Promise<{
  urls: string[];
  stop(): Promise<void>;
}> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "bench/servers.ts", JSON.stringify(config)], {
    cwd: root,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`bench servers exited with ${code}`)));
  });
  const { urls } = JSON.parse(first) as { urls: string[] };
  return {
    urls,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.stdin!.end();
      }),
  };
}

interface LoadJob {
  url: string;
  connections: number;
  durationSec: number;
  headers?: Record<string, string>;
  requests?: { method?: string; path?: string; headers?: Record<string, string>; body?: string }[];
}
interface LoadResult {
  requestsPerSec: number;
  latencyP50Ms: number;
  non2xx: number;
  errors: number;
}

function startLoadGenerator(): { run(job: LoadJob): Promise<LoadResult>; stop(): void } {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/load.ts"], {
    cwd: root,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines: Interface = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on("line", (line) => waiting.shift()?.(line));
  return {
    run: (job) =>
      new Promise((resolve) => {
        waiting.push((line) => resolve(JSON.parse(line) as LoadResult));
        child.stdin!.write(`${JSON.stringify(job)}\n`);
      }),
    stop: () => child.stdin!.end(),
  };
}

async function listen(app: express.Express): Promise<{ url: string; server: Server }> {
  const server = await new Promise<Server>((resolve) => {
    const started = app.listen(0, "127.0.0.1", () => resolve(started));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const keyHeaders = { "x-api-key": API_KEY };
const request = (headers: Record<string, string> = {}): Request =>
  new Request("http://127.0.0.1/chat", { method: "POST", headers });

/** Registers `urls` for the API key's scope through the management routes, as a tenant does. */
async function register(mcp: McpServerSide, urls: string[], key = API_KEY, prefix = "t"): Promise<void> {
  for (const [index, url] of urls.entries()) {
    const response = await mcp.handle(
      new Request("http://127.0.0.1/mcp-servers", {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: JSON.stringify({ name: `${prefix}${index}`, url }),
      }),
    );
    if (response?.status !== 201) throw new Error(`register: ${response?.status} ${await response?.text()}`);
  }
}

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

/** A model whose first step calls `toolName` and whose second answers text: it does nothing else. */
function scriptedModel(toolName: string): MockLanguageModelV4 {
  let step = 0;
  return new MockLanguageModelV4({
    doGenerate: async () =>
      step++ === 0
        ? {
            content: [{ type: "tool-call", toolCallId: "c1", toolName, input: '{"text":"hi"}' }],
            finishReason: { unified: "tool-calls", raw: "tool_calls" },
            usage,
            warnings: [],
          }
        : {
            content: [{ type: "text", text: "done" }],
            finishReason: { unified: "stop", raw: "stop" },
            usage,
            warnings: [],
          },
  });
}

interface Row {
  name: string;
  figure: string;
  target?: string;
  pass?: boolean;
}
const rows: Row[] = [];
const results: Record<string, unknown> = {
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? "?"}`,
  quick,
  date: new Date().toISOString(),
};
function row(entry: Row): void {
  rows.push(entry);
  process.stderr.write(`  ${entry.name}: ${entry.figure}${entry.target ? ` (target ${entry.target})` : ""}\n`);
}
const us = (value: number): string => (value >= 10_000 ? `${(value / 1000).toFixed(1)} ms` : `${value.toFixed(1)} µs`);
const instanceOptions = (extra: Partial<McpServerSideOptions> = {}): McpServerSideOptions => ({
  ...LOOPBACK,
  logger: false,
  maxConnections: 10_000,
  maxConnectionsPerScope: 1_000,
  ...extra,
});
const configOf = (urls: string[], prefix = "s"): { mcpServers: Record<string, unknown> } => ({
  mcpServers: Object.fromEntries(urls.map((url, index) => [`${prefix}${index}`, { url }])),
});

// ── run ─────────────────────────────────────────────────────────────────────────────────────────

const fleet = await startServers({ streamable: SERVERS, tools: TOOLS });
const instances: McpServerSide[] = [];
const closers: (() => unknown)[] = [];
const instance = (options: McpServerSideOptions): McpServerSide => {
  const mcp = createMcpServerSide(options);
  instances.push(mcp);
  return mcp;
};

try {
  // One instance per tier: the config one has the 10 servers in its config, the tenant one none, and
  // the API key's scope registers the 10 through POST /mcp-servers.
  const configMcp = instance(instanceOptions({ config: configOf(fleet.urls) }));
  const tenantMcp = instance(instanceOptions());
  await configMcp.ready();
  await tenantMcp.ready();
  await register(tenantMcp, fleet.urls);
  const configTools = await configMcp.forRequest(request()).tools();
  const tenantTools = await tenantMcp.forRequest(request(keyHeaders)).tools();
  if (Object.keys(configTools).length !== SERVERS * TOOLS || Object.keys(tenantTools).length !== SERVERS * TOOLS)
    throw new Error(`tool sets: ${Object.keys(configTools).length} / ${Object.keys(tenantTools).length}`);

  // A: warm tools() in process, the two tiers and @ai-sdk/mcp's kept clients as the peer.
  if (section("tools")) {
    const config = (): Promise<unknown> => configMcp.forRequest(request()).tools();
    const tenant = (): Promise<unknown> => tenantMcp.forRequest(request(keyHeaders)).tools();
    for (let index = 0; index < 500; index++) await Promise.all([config(), tenant()]);
    const warm = await compare(quick ? 2 : 5, scale(1500), [config, tenant]);
    // @ai-sdk/mcp as the peer, made just before use; its HTTP transport does not retry a kept-alive
    // socket the server closed, so a failure is reported instead of ending the run.
    let aiSdk: Stats | string;
    try {
      const kept = await Promise.all(
        fleet.urls.map((url) => createMCPClient({ transport: { type: "http", url }, protocolVersionDiscovery: false })),
      );
      aiSdk = stats(await timed(scale(100), () => Promise.all(kept.map((client) => client.tools()))));
      await Promise.allSettled(kept.map((client) => client.close()));
    } catch (error) {
      aiSdk = `failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    results.warmTools = { config: warm.stats[0], tenant: warm.stats[1], aiSdkKeptClientsRelisting: aiSdk };
    row({
      name: "warm tools(), config tier (forRequest)",
      figure: `${us(warm.stats[0]!.medianUs)} (p99 ${us(warm.stats[0]!.p99Us)})`,
      target: "≤ 30 µs",
      pass: warm.stats[0]!.medianUs <= 30,
    });
    row({
      name: "warm tools(), tenant tier (forRequest)",
      figure: `${us(warm.stats[1]!.medianUs)} (p99 ${us(warm.stats[1]!.p99Us)})`,
      target: "≤ 30 µs",
      pass: warm.stats[1]!.medianUs <= 30,
    });
    row({
      name: "peer: @ai-sdk/mcp kept clients, tools() re-listing",
      figure: typeof aiSdk === "string" ? aiSdk : us(aiSdk.medianUs),
    });
  }

  // B: Express throughput, floor rows on the same apps.
  if (section("express")) {
    const load = startLoadGenerator();
    closers.push(() => load.stop());
    const constant = { ok: true, servers: [] as unknown[] };
    const appFor = (mcp: McpServerSide): express.Express => {
      const app = express();
      app.get("/plain", (_req, res) => {
        res.json(constant);
      });
      app.use(mcpServerSide(mcp));
      app.get("/behind", (_req, res) => {
        res.json(constant);
      });
      app.get("/tools", async (req, res) => {
        const tools = await req.mcp.tools();
        res.json({ tools: Object.keys(tools).length });
      });
      return app;
    };
    const redisPrefix = `mcp-bench-production-${process.pid}:`;
    const redisMcp = instance(
      instanceOptions({
        storage: redisStore({ url: REDIS_URL, prefix: redisPrefix }),
        encryptionKey: randomBytes(32).toString("base64"),
      }),
    );
    await redisMcp.ready();
    await register(redisMcp, fleet.urls.slice(0, 3));
    // The floor of any middleware: the same layout with a no-op in its place, so the row above shows
    // how much of the gap is Express's own cost of one more layer.
    const noopApp = express();
    noopApp.get("/plain", (_req, res) => {
      res.json(constant);
    });
    noopApp.use((_req, _res, next) => next());
    noopApp.get("/behind", (_req, res) => {
      res.json(constant);
    });
    const floorApp = await listen(noopApp);
    const configApp = await listen(appFor(configMcp));
    const tenantApp = await listen(appFor(tenantMcp));
    const redisApp = await listen(appFor(redisMcp));
    closers.push(() => {
      for (const { server } of [configApp, tenantApp, redisApp, floorApp]) server.close();
    });
    closers.push(async () => {
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    });
    const connections = 10;
    const durationSec = quick ? 1 : 2;
    const job = (url: string, headers?: Record<string, string>): LoadJob => ({
      url,
      connections,
      durationSec,
      ...(headers ? { headers } : {}),
    });
    const cycleKey = "bench-cycle-key-0123";
    // One connection: the cycle reuses one name, and a second connection's POST would meet a conflict.
    const cycle: LoadJob = {
      url: tenantApp.url,
      connections: 1,
      durationSec,
      requests: [
        {
          method: "POST",
          path: "/mcp-servers",
          headers: { "x-api-key": cycleKey, "content-type": "application/json" },
          body: JSON.stringify({ name: "cycled", url: fleet.urls[0] }),
        },
        { method: "DELETE", path: "/mcp-servers/cycled", headers: { "x-api-key": cycleKey } },
      ],
    };
    const jobs: Record<string, LoadJob> = {
      "config /plain": job(`${configApp.url}/plain`),
      "config /behind": job(`${configApp.url}/behind`),
      "no-op /plain": job(`${floorApp.url}/plain`),
      "no-op /behind": job(`${floorApp.url}/behind`),
      "config /tools": job(`${configApp.url}/tools`),
      "tenant /plain": job(`${tenantApp.url}/plain`, keyHeaders),
      "tenant /tools": job(`${tenantApp.url}/tools`, keyHeaders),
      "memory GET /mcp-servers": job(`${tenantApp.url}/mcp-servers`, keyHeaders),
      "redis /plain": job(`${redisApp.url}/plain`, keyHeaders),
      "redis GET /mcp-servers": job(`${redisApp.url}/mcp-servers`, keyHeaders),
      "tenant /plain, 1 connection": { ...job(`${tenantApp.url}/plain`, keyHeaders), connections: 1 },
      "memory POST + DELETE": cycle,
    };
    for (const each of Object.values(jobs)) await load.run({ ...each, durationSec: 1 });
    const perRound: Record<string, number[]> = Object.fromEntries(Object.keys(jobs).map((name) => [name, []]));
    const failures: Record<string, number> = {};
    const names = Object.keys(jobs);
    const rounds = quick ? 2 : 5;
    for (let round = 0; round < rounds; round++) {
      for (let offset = 0; offset < names.length; offset++) {
        const name = names[(round + offset) % names.length]!;
        const result = await load.run(jobs[name]!);
        perRound[name]!.push(result.requestsPerSec);
        // A cycle cut by the end of a run leaves its server behind, so the next run's first POST is a 409.
        failures[name] =
          (failures[name] ?? 0) + (name.includes("POST") ? result.errors : result.non2xx + result.errors);
      }
    }
    const ratio = (name: string, floor: string): number =>
      r3(median(perRound[name]!.map((value, round) => value / perRound[floor]![round]!)));
    const reqs = (name: string): string => `${Math.round(median(perRound[name]!))} req/s`;
    const figures = {
      requestsPerSec: perRound,
      failures,
      behind: ratio("config /behind", "config /plain"),
      behindNoop: ratio("no-op /behind", "no-op /plain"),
      toolsConfig: ratio("config /tools", "config /plain"),
      toolsTenant: ratio("tenant /tools", "tenant /plain"),
      getMemory: ratio("memory GET /mcp-servers", "tenant /plain"),
      getRedis: ratio("redis GET /mcp-servers", "redis /plain"),
      postDelete: ratio("memory POST + DELETE", "tenant /plain, 1 connection"),
    };
    results.express = figures;
    row({ name: "Express: plain route (floor)", figure: reqs("config /plain") });
    row({
      name: "Express: route not using the middleware, behind it",
      figure: `${reqs("config /behind")}, ${figures.behind.toFixed(3)} ×`,
      target: "≥ 0.97 ×",
      pass: figures.behind >= 0.97,
    });
    row({
      name: "Express: same route behind a no-op middleware instead (floor)",
      figure: `${reqs("no-op /behind")}, ${figures.behindNoop.toFixed(3)} ×`,
    });
    row({
      name: "Express: await req.mcp.tools(), config tier",
      figure: `${reqs("config /tools")}, ${figures.toolsConfig.toFixed(3)} ×`,
      target: "≥ 0.90 ×",
      pass: figures.toolsConfig >= 0.9,
    });
    row({
      name: "Express: await req.mcp.tools(), tenant tier",
      figure: `${reqs("tenant /tools")}, ${figures.toolsTenant.toFixed(3)} ×`,
      target: "≥ 0.90 ×",
      pass: figures.toolsTenant >= 0.9,
    });
    row({
      name: "GET /mcp-servers, memory (vs a constant route)",
      figure: `${reqs("memory GET /mcp-servers")}, ${figures.getMemory.toFixed(3)} ×`,
      target: "≥ 0.80 ×",
      pass: figures.getMemory >= 0.8,
    });
    row({
      name: "GET /mcp-servers, Redis (vs a constant route)",
      figure: `${reqs("redis GET /mcp-servers")}, ${figures.getRedis.toFixed(3)} ×`,
      target: "≥ 0.80 ×",
      pass: figures.getRedis >= 0.8,
    });
    row({
      name: "POST + DELETE cycle, memory, 1 connection (vs a constant route)",
      figure: `${reqs("memory POST + DELETE")}, ${figures.postDelete.toFixed(3)} ×`,
      target: "≥ 0.60 ×",
      pass: figures.postDelete >= 0.6,
    });
    if (Object.values(failures).some((count) => count > 0))
      row({ name: "unexpected non-2xx / errors", figure: JSON.stringify(failures) });
  }

  // C: warm tool call vs the raw SDK's callTool and @ai-sdk/mcp's tool, HTTP (both tiers) and stdio.
  if (section("call")) {
    const call = { toolCallId: "c", messages: [], context: {} };
    const raw = new Client({ name: "bench-raw", version: "1" });
    await raw.connect(new StreamableHTTPClientTransport(new URL(fleet.urls[0]!)));
    const aiSdk = await createMCPClient({
      transport: { type: "http", url: fleet.urls[0]! },
      protocolVersionDiscovery: false,
    });
    const aiSdkEcho = (await aiSdk.tools())["echo"]!;
    const rawCall = (): Promise<unknown> => raw.callTool({ name: "echo", arguments: { text: "hi" } });
    // The tool as a request got it from forRequest(request).tools(); the call alone is timed.
    const configEcho = (await configMcp.forRequest(request()).tools()).s0__echo!;
    const tenantEcho = (await tenantMcp.forRequest(request(keyHeaders)).tools()).t0__echo!;
    const configCall = (): Promise<unknown> => configEcho.execute!({ text: "hi" }, call) as Promise<unknown>;
    const tenantCall = (): Promise<unknown> => tenantEcho.execute!({ text: "hi" }, call) as Promise<unknown>;
    let aiSdkFailures = 0;
    // The peer's failures (see above) are counted beside its figure rather than ending the run.
    const aiSdkCall = (): Promise<unknown> =>
      (aiSdkEcho.execute!({ text: "hi" }, call) as Promise<unknown>).catch(() => aiSdkFailures++);
    await compare(1, 200, [rawCall, configCall, tenantCall, aiSdkCall]);
    const http = await compare(quick ? 2 : 7, scale(400), [rawCall, configCall, tenantCall, aiSdkCall]);
    await raw.close();
    await aiSdk.close();

    // Each side talks to its own child, so each round starts a fresh pair (in alternating order) and
    // warms it up: with one pair for the whole run, two identical raw clients differed by up to ±6 %
    // per pair on the 2-core machine, more than the target's margin, and one pair decided the row.
    const definition = stdioFixture({ tools: [{ name: "echo" }] });
    let stdioMcp: McpServerSide | undefined;
    let rawStdio: Client | undefined;
    let stdioEcho: ToolSet[string] | undefined;
    const closeStdioPair = async (): Promise<void> => {
      await stdioMcp?.close();
      await rawStdio?.close();
      stdioMcp = undefined;
      rawStdio = undefined;
    };
    closers.push(closeStdioPair);
    const stdioCall = (): Promise<unknown> => stdioEcho!.execute!({ text: "hi" }, call) as Promise<unknown>;
    const rawStdioCall = (): Promise<unknown> => rawStdio!.callTool({ name: "echo", arguments: { text: "hi" } });
    const freshStdioPair = async (round: number): Promise<void> => {
      await closeStdioPair();
      const startOurs = async (): Promise<void> => {
        stdioMcp = createMcpServerSide(
          instanceOptions({ config: { mcpServers: { local: definition } }, warmup: false }),
        );
        stdioEcho = (await stdioMcp.forRequest(request()).tools()).local__echo!;
      };
      const startRaw = async (): Promise<void> => {
        rawStdio = new Client({ name: "bench-raw", version: "1" });
        const transport = new StdioClientTransport({ ...definition, stderr: "pipe" });
        transport.stderr?.on("data", () => undefined);
        await rawStdio.connect(transport);
      };
      for (const start of round % 2 === 0 ? [startOurs, startRaw] : [startRaw, startOurs]) await start();
      await compare(1, 200, [rawStdioCall, stdioCall]);
    };
    const stdio = await compare(quick ? 2 : 7, scale(400), [rawStdioCall, stdioCall], freshStdioPair);
    await closeStdioPair();
    results.toolCall = { http, stdio };
    row({ name: "raw SDK callTool, Streamable HTTP", figure: us(http.stats[0]!.medianUs) });
    row({
      name: "warm tool call, HTTP, config tier",
      figure: `${us(http.stats[1]!.medianUs)}, ${http.ratios[0]!.toFixed(3)} ×`,
      target: "≤ 1.03 ×",
      pass: http.ratios[0]! <= 1.03,
    });
    row({
      name: "warm tool call, HTTP, tenant tier (guarded fetch)",
      figure: `${us(http.stats[2]!.medianUs)}, ${http.ratios[1]!.toFixed(3)} ×`,
      target: "≤ 1.03 ×",
      pass: http.ratios[1]! <= 1.03,
    });
    row({
      name: "peer: @ai-sdk/mcp tool execute, HTTP",
      figure: `${us(http.stats[3]!.medianUs)}, ${http.ratios[2]!.toFixed(3)} ×${aiSdkFailures > 0 ? ` (${aiSdkFailures} failed)` : ""}`,
    });
    row({ name: "raw SDK callTool, stdio", figure: us(stdio.stats[0]!.medianUs) });
    row({
      name: "warm tool call, stdio",
      figure: `${us(stdio.stats[1]!.medianUs)}, ${stdio.ratios[0]!.toFixed(3)} ×`,
      target: "≤ 1.03 ×",
      pass: stdio.ratios[0]! <= 1.03,
    });
  }

  // D: generateText with injected tools vs the same 500 tools defined statically.
  if (section("generate")) {
    const raw = new Client({ name: "bench-static", version: "1" });
    await raw.connect(new StreamableHTTPClientTransport(new URL(fleet.urls[0]!)));
    const staticTools: ToolSet = {};
    for (const [index, url] of fleet.urls.entries()) {
      const client = new Client({ name: "bench-list", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      const { tools } = await client.listTools();
      await client.close();
      for (const tool of tools) {
        staticTools[`s${index}__${tool.name}`] = dynamicTool({
          ...(tool.description ? { description: tool.description } : {}),
          inputSchema: jsonSchema({ ...tool.inputSchema, properties: tool.inputSchema.properties ?? {} } as Parameters<
            typeof jsonSchema
          >[0]),
          execute: (input) => raw.callTool({ name: tool.name, arguments: input as Record<string, unknown> }),
          toModelOutput: mcpToModelOutput,
        });
      }
    }
    const fixed = (): Promise<unknown> =>
      generateText({ model: scriptedModel("s0__echo"), tools: staticTools, prompt: "hi", stopWhen: stepCountIs(2) });
    const ours = async (): Promise<unknown> =>
      generateText(
        await configMcp
          .forRequest(request())
          .inject({ model: scriptedModel("s0__echo"), prompt: "hi", stopWhen: stepCountIs(2) }),
      );
    await compare(1, 50, [fixed, ours]);
    const comparison = await compare(5, scale(100), [fixed, ours]);
    results.generateText = comparison;
    row({ name: "generateText, 500 static tools (baseline)", figure: us(comparison.stats[0]!.medianUs) });
    row({
      name: "generateText, req.mcp.inject() + 500 tools",
      figure: `${us(comparison.stats[1]!.medianUs)}, ${comparison.ratios[0]!.toFixed(3)} ×`,
      target: "≤ 1.10 ×",
      pass: comparison.ratios[0]! <= 1.1,
    });
    await raw.close();
  }

  // E: heap per pooled connection (50 tools): tenants each with one server, and a config of many.
  if (section("heap")) {
    const connections = quick ? 20 : 100;
    const urls = Array.from({ length: connections }, (_, index) => fleet.urls[index % fleet.urls.length]!);
    const tenants = instance(instanceOptions());
    await tenants.ready();
    await register(tenants, [fleet.urls[0]!], "bench-heap-warmup-key");
    await tenants.forRequest(request({ "x-api-key": "bench-heap-warmup-key" })).tools();
    for (let index = 0; index < connections; index++)
      await register(tenants, [urls[index]!], `bench-heap-key-${index}`);
    const tenantBefore = heapUsed();
    for (let index = 0; index < connections; index++)
      await tenants.forRequest(request({ "x-api-key": `bench-heap-key-${index}` })).tools();
    const tenantPer = (heapUsed() - tenantBefore) / connections;

    const many = instance(instanceOptions({ config: configOf(urls, "c"), warmup: false, maxServersPerScope: 1_000 }));
    await many.ready();
    const configBefore = heapUsed();
    const set = await many.forRequest(request()).tools();
    if (Object.keys(set).length !== connections * TOOLS)
      throw new Error(`config heap: ${Object.keys(set).length} tools`);
    const configPer = (heapUsed() - configBefore) / connections;
    results.heapPerConnectionBytes = { connections, tenant: Math.round(tenantPer), config: Math.round(configPer) };
    row({
      name: `heap per pooled connection (${TOOLS} tools), tenant tier`,
      figure: `${(tenantPer / 1024).toFixed(1)} KiB`,
      target: "≤ 160 KiB",
      pass: tenantPer <= 160 * 1024,
    });
    row({
      name: `heap per pooled connection (${TOOLS} tools), config tier`,
      figure: `${(configPer / 1024).toFixed(1)} KiB`,
      target: "≤ 160 KiB",
      pass: configPer <= 160 * 1024,
    });
  }

  // F: cold first request, a new instance vs raw SDK clients connecting and listing in parallel.
  if (section("cold")) {
    const stdioDefinitions = Array.from({ length: 5 }, () => stdioFixture({ tools: [{ name: "echo" }] }));
    // Each side is timed from nothing to the first answer; closing (ours ends every HTTP session with a
    // DELETE, the raw client does not) is clean-up, done after the time is taken.
    const oursHttp = async (): Promise<() => Promise<void>> => {
      const mcp = createMcpServerSide(instanceOptions({ config: configOf(fleet.urls), warmup: false }));
      await mcp.forRequest(request()).tools();
      return () => mcp.close();
    };
    const rawHttp = async (): Promise<() => Promise<void>> => {
      const clients = await Promise.all(
        fleet.urls.map(async (url) => {
          const client = new Client({ name: "bench-cold", version: "1" });
          await client.connect(new StreamableHTTPClientTransport(new URL(url)));
          await client.listTools();
          return client;
        }),
      );
      return async () => {
        await Promise.all(clients.map((client) => client.close()));
      };
    };
    const oursStdio = async (): Promise<() => Promise<void>> => {
      const mcp = createMcpServerSide(
        instanceOptions({
          config: {
            mcpServers: Object.fromEntries(stdioDefinitions.map((definition, index) => [`l${index}`, definition])),
          },
          warmup: false,
        }),
      );
      await mcp.forRequest(request()).tools();
      return () => mcp.close();
    };
    const rawStdio = async (): Promise<() => Promise<void>> => {
      const clients = await Promise.all(
        stdioDefinitions.map(async (definition) => {
          const client = new Client({ name: "bench-cold", version: "1" });
          const transport = new StdioClientTransport({ ...definition, stderr: "pipe" });
          transport.stderr?.on("data", () => undefined);
          await client.connect(transport);
          await client.listTools();
          return client;
        }),
      );
      return async () => {
        await Promise.all(clients.map((client) => client.close()));
      };
    };
    await compare(1, 3, [rawHttp, oursHttp]);
    const http = await compare(quick ? 2 : 5, quick ? 3 : 10, [rawHttp, oursHttp]);
    // Warmed up like the HTTP row: each side's first run in the process also paid first-use costs of
    // the stdio code (the raw side runs first in round 0), and a quick round's median of 2 is its max.
    await compare(1, 1, [rawStdio, oursStdio]);
    const stdio = await compare(quick ? 2 : 3, quick ? 2 : 3, [rawStdio, oursStdio]);
    results.coldFirstRequest = { http, stdio };
    row({
      name: "cold first request, 10 HTTP servers (vs raw SDK)",
      figure: `${us(http.stats[1]!.medianUs)} vs ${us(http.stats[0]!.medianUs)}, ${http.ratios[0]!.toFixed(3)} ×`,
      target: "≤ 1.03 ×",
      pass: http.ratios[0]! <= 1.03,
    });
    row({
      name: "cold first request, 5 stdio servers (vs raw SDK)",
      figure: `${us(stdio.stats[1]!.medianUs)} vs ${us(stdio.stats[0]!.medianUs)}, ${stdio.ratios[0]!.toFixed(3)} ×`,
      target: "≤ 1.03 ×",
      pass: stdio.ratios[0]! <= 1.03,
    });
  }
} finally {
  for (const close of closers) await close();
  await Promise.allSettled(instances.map((mcp) => mcp.close()));
  await fleet.stop();
}

// ── report ──────────────────────────────────────────────────────────────────────────────────────

const table = rows.map((entry) => ({
  measurement: entry.name,
  figure: entry.figure,
  target: entry.target ?? "",
  ok: entry.pass === undefined ? "" : entry.pass ? "pass" : "FAIL",
}));
console.table(table);
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
results.maxListenersWarnings = listenerWarnings;
results.unhandledRejections = peerRejections;
const json = `${JSON.stringify({ ...results, table }, null, 2)}\n`;
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
writeFileSync(new URL(`./results/production-${stamp}.json`, import.meta.url), json);
writeFileSync(new URL("./results/production-latest.json", import.meta.url), json);
console.log(`results: bench/results/production-${stamp}.json`);
process.exit(rows.every((entry) => entry.pass !== false) ? 0 : 1);
