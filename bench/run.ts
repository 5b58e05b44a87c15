/**
 * Benchmark of the injection engine (`npm run bench`). Measures, against real MCP servers running in
 * a child process (Streamable HTTP) or spawned over stdio:
 *
 *   1. warm tools() for 10 servers × 50 tools                         target p50 ≤ 50 µs, p99 ≤ 500 µs
 *   2. heap growth over 10 000 warm tools()                            target < 1 MiB
 *   3. tools() against naive alternatives: a new @ai-sdk/mcp client per request, and kept
 *      @ai-sdk/mcp clients that re-list on every request; our cold first request
 *   4. generateText with the injected tools vs the same tools defined statically   target ratio ≤ 1.10
 *   5. a warm tool call vs a raw MCP SDK client.callTool, over Streamable HTTP and stdio   target ≤ 1.05
 *   6. heap per pooled HTTP connection (50 tools)                      target ≤ 180 KiB
 *   7. tools/list with output schemas: the SDK client (an Ajv compile per tool per listing) vs ours
 *
 * Prints a table (medians, p99, ratios) and writes bench/results/bench-<time>.json and latest.json.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import { createMCPClient } from "@ai-sdk/mcp";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { dynamicTool, generateText, jsonSchema, stepCountIs, type ToolSet } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { createMcpHooks } from "../packages/core/src/hooks.js";
import { DEFAULT_LIMITS } from "../packages/core/src/options.js";
import { createEngine, type Engine } from "../packages/core/src/pool/engine.js";
import { mcpToModelOutput } from "../packages/core/src/tools/result.js";
import type { ContextError, ResolvedServer } from "../packages/core/src/types.js";
import { stdioFixture } from "../packages/core/test/fixtures/mcp-servers.js";

v8.setFlagsFromString("--expose_gc");
// The MCP SDK's HTTP transport hands one long-lived AbortSignal to every fetch, and Node's fetch drops
// its listener only when the request is garbage collected: thousands of calls in a tight loop print
// MaxListenersExceededWarning for the raw SDK client and ours alike. Counted here instead of printed.
let listenerWarnings = 0;
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name === "MaxListenersExceededWarning") listenerWarnings++;
  else console.warn(warning);
});
const gc = vm.runInNewContext("gc") as () => void;
const root = fileURLToPath(new URL("..", import.meta.url));
const quick = process.argv.includes("--quick");
const scale = (count: number): number => (quick ? Math.max(5, Math.round(count / 10)) : count);

// ── helpers ─────────────────────────────────────────────────────────────────────────────────────

interface Stats {
  n: number;
  medianUs: number;
  p99Us: number;
  meanUs: number;
}

function stats(samples: ArrayLike<number>): Stats {
  const sorted = Array.from(samples).sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  const round = (value: number): number => Math.round(value * 10) / 10;
  return { n: sorted.length, medianUs: round(at(0.5)), p99Us: round(at(0.99)), meanUs: round(mean) };
}

async function measure(count: number, run: () => Promise<unknown>): Promise<Float64Array> {
  const samples = new Float64Array(count);
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    await run();
    samples[index] = (performance.now() - started) * 1000;
  }
  return samples;
}

/** Two alternatives measured interleaved, so drift of the machine hits both alike. */
async function measurePair(
  count: number,
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
): Promise<[Float64Array, Float64Array]> {
  const first = new Float64Array(count);
  const second = new Float64Array(count);
  for (let index = 0; index < count; index++) {
    const order = index % 2 === 0 ? [a, b] : [b, a];
    for (const run of order) {
      const started = performance.now();
      await run();
      const elapsed = (performance.now() - started) * 1000;
      if (run === a) first[index] = elapsed;
      else second[index] = elapsed;
    }
  }
  return [first, second];
}

interface Comparison {
  ours: Stats;
  baseline: Stats;
  /** Median over rounds of (our median / baseline median): robust to a noisy machine. */
  ratio: number;
  roundRatios: number[];
}

/** `rounds` interleaved rounds of `perRound` pairs; the ratio is the median of the rounds' ratios. */
async function compare(
  rounds: number,
  perRound: number,
  ours: () => Promise<unknown>,
  baseline: () => Promise<unknown>,
): Promise<Comparison> {
  const all: [number[], number[]] = [[], []];
  const roundRatios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const [a, b] = await measurePair(perRound, ours, baseline);
    roundRatios.push(stats(a).medianUs / stats(b).medianUs);
    all[0].push(...a);
    all[1].push(...b);
  }
  const sorted = [...roundRatios].sort((x, y) => x - y);
  const ratio = Math.round(sorted[Math.floor(sorted.length / 2)]! * 1000) / 1000;
  return {
    ours: stats(all[0]),
    baseline: stats(all[1]),
    ratio,
    roundRatios: roundRatios.map((value) => Math.round(value * 1000) / 1000),
  };
}

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function startServers(config: {
  streamable: number;
  tools: number;
  outputSchemas?: boolean;
}): Promise<{ urls: string[]; stop(): Promise<void> }> {
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

function newEngine(): Engine {
  return createEngine({
    limits: { ...DEFAULT_LIMITS, maxConnections: 10_000 },
    hooks: createMcpHooks(),
    fetchFor: () => fetch,
  });
}

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

/** A model whose first step calls `toolName` and whose second answers text. */
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

const rows: { name: string; stats?: Stats; value?: string; target?: string; pass?: boolean }[] = [];
const results: Record<string, unknown> = {
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  quick,
  date: new Date().toISOString(),
};

function row(name: string, entry: { stats?: Stats; value?: string; target?: string; pass?: boolean }): void {
  rows.push({ name, ...entry });
  process.stderr.write(`  ${name}\n`);
}

// ── run ─────────────────────────────────────────────────────────────────────────────────────────

const SERVERS = 10;
const TOOLS = 50;
const fleet = await startServers({ streamable: SERVERS, tools: TOOLS });
const engines: Engine[] = [];

try {
  const servers: ResolvedServer[] = fleet.urls.map((url, index) => ({
    name: `s${index}`,
    source: "config",
    definition: { url },
  }));

  // 1 + 2: warm tools() and heap growth.
  {
    const engine = newEngine();
    engines.push(engine);
    const errors: ContextError[] = [];
    const first = await engine.tools(servers, errors);
    if (Object.keys(first).length !== SERVERS * TOOLS || errors.length > 0)
      throw new Error(`unexpected tool set: ${Object.keys(first).length} tools, ${JSON.stringify(errors)}`);
    for (let index = 0; index < 2000; index++) await engine.tools(servers, []);
    const count = 10_000;
    const samples = new Float64Array(count);
    const before = heapUsed();
    for (let index = 0; index < count; index++) {
      const started = performance.now();
      await engine.tools(servers, []);
      samples[index] = (performance.now() - started) * 1000;
    }
    const growth = heapUsed() - before;
    const warm = stats(samples);
    results.warmTools = { servers: SERVERS, toolsPerServer: TOOLS, ...warm };
    results.heapGrowthOver10kToolsBytes = growth;
    row("warm tools(), 10 servers × 50 tools", {
      stats: warm,
      target: "p50 ≤ 50 µs, p99 ≤ 500 µs",
      pass: warm.medianUs <= 50 && warm.p99Us <= 500,
    });
    row("heap growth over 10 000 tools()", {
      value: `${(growth / 1024).toFixed(1)} KiB`,
      target: "< 1 MiB",
      pass: growth < 1024 * 1024,
    });
  }

  // 3: naive alternatives, per request for the same 10 servers.
  {
    const naiveNewClient = stats(
      await measure(scale(20), async () => {
        const clients = await Promise.all(
          fleet.urls.map((url) =>
            createMCPClient({ transport: { type: "http", url }, protocolVersionDiscovery: false }),
          ),
        );
        const sets = await Promise.all(clients.map((client) => client.tools()));
        await Promise.all(clients.map((client) => client.close()));
        return sets;
      }),
    );
    const kept = await Promise.all(
      fleet.urls.map((url) => createMCPClient({ transport: { type: "http", url }, protocolVersionDiscovery: false })),
    );
    const naiveRelist = stats(await measure(scale(200), () => Promise.all(kept.map((client) => client.tools()))));
    await Promise.all(kept.map((client) => client.close()));
    const cold = stats(
      await measure(scale(10), async () => {
        const engine = newEngine();
        await engine.tools(servers, []);
        await engine.close();
      }),
    );
    const warm = results.warmTools as Stats;
    results.naive = {
      newAiSdkClientPerRequest: naiveNewClient,
      keptAiSdkClientsRelisting: naiveRelist,
      ourColdFirstRequest: cold,
    };
    row("naive: new @ai-sdk/mcp client per request", {
      stats: naiveNewClient,
      value: `×${(naiveNewClient.medianUs / warm.medianUs).toFixed(0)} of warm tools()`,
    });
    row("naive: kept @ai-sdk/mcp clients, re-listing", {
      stats: naiveRelist,
      value: `×${(naiveRelist.medianUs / warm.medianUs).toFixed(0)} of warm tools()`,
    });
    row("ours: cold first request (connect + list)", { stats: cold });
  }

  // 4: generateText with injected tools vs the same tools defined statically.
  {
    const engine = newEngine();
    engines.push(engine);
    await engine.tools(servers, []);
    const raw = new Client({ name: "bench-static", version: "1" });
    await raw.connect(new StreamableHTTPClientTransport(new URL(fleet.urls[0]!)));
    const listed = await Promise.all(
      fleet.urls.map(async (url, index) => {
        const client = index === 0 ? raw : new Client({ name: "bench-list", version: "1" });
        if (index !== 0) await client.connect(new StreamableHTTPClientTransport(new URL(url)));
        const { tools } = await client.listTools();
        if (index !== 0) await client.close();
        return tools.map((tool) => ({ server: `s${index}`, tool }));
      }),
    );
    const staticTools: ToolSet = {};
    for (const { server, tool } of listed.flat()) {
      staticTools[`${server}__${tool.name}`] = dynamicTool({
        ...(tool.description ? { description: tool.description } : {}),
        inputSchema: jsonSchema({ ...tool.inputSchema, properties: tool.inputSchema.properties ?? {} } as Parameters<
          typeof jsonSchema
        >[0]),
        execute: (input) => raw.callTool({ name: tool.name, arguments: input as Record<string, unknown> }),
        toModelOutput: mcpToModelOutput,
      });
    }
    const ours = async (): Promise<unknown> => {
      const tools = await engine.tools(servers, []);
      return generateText({ model: scriptedModel("s0__echo"), tools, prompt: "hi", stopWhen: stepCountIs(2) });
    };
    const fixed = (): Promise<unknown> =>
      generateText({ model: scriptedModel("s0__echo"), tools: staticTools, prompt: "hi", stopWhen: stepCountIs(2) });
    await measurePair(50, ours, fixed);
    const comparison = await compare(5, scale(100), ours, fixed);
    results.generateText = { tools: SERVERS * TOOLS, ...comparison };
    row("generateText, 500 static tools (baseline)", { stats: comparison.baseline });
    row("generateText, tools() + 500 injected tools", {
      stats: comparison.ours,
      value: `ratio ${comparison.ratio.toFixed(3)}`,
      target: "≤ 1.10",
      pass: comparison.ratio <= 1.1,
    });
    await raw.close();
  }

  // 5: warm tool call vs raw client.callTool, HTTP and stdio.
  {
    const call = { toolCallId: "c", messages: [], context: {} };
    const engine = newEngine();
    engines.push(engine);
    const httpTools = await engine.tools([servers[0]!], []);
    const rawHttp = new Client({ name: "bench-raw", version: "1" });
    await rawHttp.connect(new StreamableHTTPClientTransport(new URL(fleet.urls[0]!)));
    const oursHttp = (): Promise<unknown> => httpTools.s0__echo!.execute!({ text: "hi" }, call) as Promise<unknown>;
    const rawHttpCall = (): Promise<unknown> => rawHttp.callTool({ name: "echo", arguments: { text: "hi" } });
    await measurePair(200, oursHttp, rawHttpCall);
    const http = await compare(7, scale(500), oursHttp, rawHttpCall);
    await rawHttp.close();

    const definition = stdioFixture({ tools: [{ name: "echo" }] });
    const stdioTools = await engine.tools([{ name: "local", source: "config", definition }], []);
    const rawStdio = new Client({ name: "bench-raw", version: "1" });
    // The child is started as the engine starts its own (stderr piped and drained), so both sides match.
    const rawTransport = new StdioClientTransport({
      command: definition.command,
      args: definition.args,
      env: definition.env,
      stderr: "pipe",
    });
    rawTransport.stderr?.on("data", () => undefined);
    await rawStdio.connect(rawTransport);
    const oursStdio = (): Promise<unknown> =>
      stdioTools.local__echo!.execute!({ text: "hi" }, call) as Promise<unknown>;
    const rawStdioCall = (): Promise<unknown> => rawStdio.callTool({ name: "echo", arguments: { text: "hi" } });
    await measurePair(200, oursStdio, rawStdioCall);
    const stdio = await compare(7, scale(500), oursStdio, rawStdioCall);
    await rawStdio.close();

    results.toolCall = { http, stdio };
    row("raw client.callTool, Streamable HTTP", { stats: http.baseline });
    row("warm tool call, Streamable HTTP", {
      stats: http.ours,
      value: `ratio ${http.ratio.toFixed(3)}`,
      target: "≤ 1.05",
      pass: http.ratio <= 1.05,
    });
    row("raw client.callTool, stdio", { stats: stdio.baseline });
    row("warm tool call, stdio", {
      stats: stdio.ours,
      value: `ratio ${stdio.ratio.toFixed(3)}`,
      target: "≤ 1.05",
      pass: stdio.ratio <= 1.05,
    });
  }

  // 6: heap per pooled HTTP connection.
  {
    const engine = newEngine();
    engines.push(engine);
    const connections = scale(200);
    const warmup: ResolvedServer = { name: "w", source: "scope", scope: "warmup", definition: { url: fleet.urls[0]! } };
    await engine.tools([warmup], []);
    const before = heapUsed();
    for (let index = 0; index < connections; index++) {
      const url = fleet.urls[index % fleet.urls.length]!;
      await engine.tools([{ name: "s", source: "scope", scope: `tenant-${index}`, definition: { url } }], []);
    }
    const perConnection = (heapUsed() - before) / connections;
    results.heapPerConnectionBytes = { connections, toolsPerServer: TOOLS, bytes: Math.round(perConnection) };
    row(`heap per pooled HTTP connection (${TOOLS} tools)`, {
      value: `${(perConnection / 1024).toFixed(1)} KiB`,
      target: "≤ 180 KiB",
      pass: perConnection <= 180 * 1024,
    });
  }
} finally {
  await Promise.allSettled(engines.map((engine) => engine.close()));
  await fleet.stop();
}

// 7: the SDK's validator compile cost on tools/list.
{
  const withSchemas = await startServers({ streamable: 1, tools: TOOLS, outputSchemas: true });
  try {
    const sdk = new Client({ name: "bench-sdk", version: "1" });
    await sdk.connect(new StreamableHTTPClientTransport(new URL(withSchemas.urls[0]!)));
    const engine = newEngine();
    const server: ResolvedServer = { name: "o", source: "config", definition: { url: withSchemas.urls[0]! } };
    await engine.listTools(server);
    await measure(20, () => sdk.listTools());
    const sdkList = stats(await measure(scale(200), () => sdk.listTools()));
    // Ours: the same listing with the lenient schema and no validator compile, on our own connection.
    const lenient = new Client(
      { name: "bench-lenient", version: "1" },
      {
        jsonSchemaValidator: {
          getValidator: () => (input: unknown) => ({ valid: true, data: input as never, errorMessage: undefined }),
        },
      },
    );
    await lenient.connect(new StreamableHTTPClientTransport(new URL(withSchemas.urls[0]!)));
    await measure(20, () => lenient.listTools());
    const oursList = stats(await measure(scale(200), () => lenient.listTools()));
    results.listToolsWithOutputSchemas = { tools: TOOLS, sdkDefaultClient: sdkList, withoutValidatorCompile: oursList };
    row(`tools/list, ${TOOLS} output schemas, SDK client (Ajv compile)`, { stats: sdkList });
    row(`tools/list, ${TOOLS} output schemas, no compile (ours)`, {
      stats: oursList,
      value: `×${(sdkList.medianUs / oursList.medianUs).toFixed(1)} faster`,
    });
    await sdk.close();
    await lenient.close();
    await engine.close();
  } finally {
    await withSchemas.stop();
  }
}

// ── report ──────────────────────────────────────────────────────────────────────────────────────

const format = (value: number): string =>
  value >= 10_000 ? `${(value / 1000).toFixed(1)} ms` : `${value.toFixed(1)} µs`;
const table = rows.map((entry) => ({
  measurement: entry.name,
  median: entry.stats ? format(entry.stats.medianUs) : "",
  p99: entry.stats ? format(entry.stats.p99Us) : "",
  n: entry.stats?.n ?? "",
  result: entry.value ?? "",
  target: entry.target ?? "",
  ok: entry.pass === undefined ? "" : entry.pass ? "✓" : "✗",
}));
console.table(table);
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
results.maxListenersWarnings = listenerWarnings;
const json = `${JSON.stringify({ ...results, table }, null, 2)}\n`;
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
writeFileSync(new URL(`./results/bench-${stamp}.json`, import.meta.url), json);
writeFileSync(new URL("./results/latest.json", import.meta.url), json);
console.log(`results: bench/results/bench-${stamp}.json`);
process.exit(rows.every((entry) => entry.pass !== false) ? 0 : 1);
