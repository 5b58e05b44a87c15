/**
 * Cold-start benchmark (`npm run bench:cold`): fifteen real stdio MCP servers in the config tier —
 * server-everything, server-memory, server-filesystem and the repo's example server, mixed — started
 * by a fresh instance, as a process that boots with a config file does.
 *
 *   A. `await mcp.ready()`, then the first request        target: it gets all 15 servers
 *   B. no ready(): the first request (within toolsTimeoutMs), then the first request after every
 *      connect ended                                      target: that request gets all 15
 *   both: no child spawned twice                          target: 15 spawns per run
 *
 * Every child is started through a tiny preload that appends its name to a log, which counts spawns.
 * Prints medians over the runs (`--runs N`, default 3; `--quick` runs once) and pass/fail per target.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createMcpServerSide } from "../packages/core/src/create.js";
import type { McpServerSide } from "../packages/core/src/types.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const quick = process.argv.includes("--quick");
const runsArgument = process.argv.indexOf("--runs");
const runs = quick ? 1 : runsArgument === -1 ? 3 : Math.max(1, Number(process.argv[runsArgument + 1]) || 3);
const SERVERS = 15;

const work = mkdtempSync(join(tmpdir(), "mcp-bench-cold-"));
const preload = join(work, "count-spawn.cjs");
writeFileSync(
  preload,
  // Only the main thread: tsx's loader runs in a worker thread that gets the same --require.
  'if (require("node:worker_threads").isMainThread) require("node:fs").appendFileSync(process.env.MCP_BENCH_SPAWN_LOG, `${process.env.MCP_BENCH_NAME}\\n`);\n',
);

type Definition = { command: string; args: string[]; env: Record<string, string> };

/** The fifteen servers, each a node process started through the counting preload. */
function definitions(spawnLog: string): Record<string, Definition> {
  const node = (name: string, args: string[], env: Record<string, string> = {}): Definition => ({
    command: process.execPath,
    args: ["--require", preload, ...args],
    env: { MCP_BENCH_SPAWN_LOG: spawnLog, MCP_BENCH_NAME: name, ...env },
  });
  const modules = join(root, "node_modules/@modelcontextprotocol");
  const kinds = [
    (name: string) => node(name, [join(modules, "server-everything/dist/index.js"), "stdio"]),
    (name: string) =>
      node(name, [join(modules, "server-memory/dist/index.js")], { MEMORY_FILE_PATH: join(work, `${name}.jsonl`) }),
    (name: string) => node(name, [join(modules, "server-filesystem/dist/index.js"), work]),
    (name: string) => node(name, ["--import", "tsx", join(root, "examples/example-mcp-server/src/main.ts"), "--stdio"]),
  ];
  const all: Record<string, Definition> = {};
  for (let index = 0; index < SERVERS; index++) {
    const name = `s${String(index).padStart(2, "0")}`;
    all[name] = kinds[index % kinds.length]!(name);
  }
  return all;
}

function spawnsIn(log: string): Map<string, number> {
  const counts = new Map<string, number>();
  let text = "";
  try {
    text = readFileSync(log, "utf8");
  } catch {
    // No child started yet.
  }
  for (const name of text.split("\n").filter(Boolean)) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

/** Servers present in a request's tools (each server's tools are named `<server>__<tool>`). */
async function serversInRequest(mcp: McpServerSide): Promise<{ servers: number; ms: number }> {
  const started = performance.now();
  const context = mcp.forRequest(new Request("http://bench.local/chat", { headers: { "x-api-key": "bench" } }));
  const tools = await context.tools();
  const names = new Set(Object.keys(tools).map((tool) => tool.split("__")[0]));
  return { servers: names.size, ms: performance.now() - started };
}

interface RunA {
  readyMs: number;
  failed: number;
  firstServers: number;
  firstMs: number;
  maxSpawns: number;
  spawns: number;
}

async function runWithReady(run: number): Promise<RunA> {
  const log = join(work, `a-${run}.log`);
  const mcp = createMcpServerSide({ config: { mcpServers: definitions(log) }, logger: false as never });
  try {
    const started = performance.now();
    const report = await mcp.ready();
    const readyMs = performance.now() - started;
    const first = await serversInRequest(mcp);
    const spawns = spawnsIn(log);
    return {
      readyMs,
      failed: report.failedServers.length,
      firstServers: first.servers,
      firstMs: first.ms,
      maxSpawns: Math.max(0, ...spawns.values()),
      spawns: [...spawns.values()].reduce((sum, count) => sum + count, 0),
    };
  } finally {
    await mcp.close();
  }
}

interface RunB {
  firstServers: number;
  firstMs: number;
  allConnectedMs: number;
  afterServers: number;
  maxSpawns: number;
  spawns: number;
}

async function runWithoutReady(run: number): Promise<RunB> {
  const log = join(work, `b-${run}.log`);
  const mcp = createMcpServerSide({ config: { mcpServers: definitions(log) }, logger: false as never });
  let ended = 0;
  mcp.hooks.hook("connection:open", () => {
    ended++;
  });
  try {
    const started = performance.now();
    const first = await serversInRequest(mcp);
    // The connects go on after the first request stopped waiting; wait until every one ended.
    const deadline = performance.now() + 120_000;
    while (ended < SERVERS && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const allConnectedMs = performance.now() - started;
    const after = await serversInRequest(mcp);
    const spawns = spawnsIn(log);
    return {
      firstServers: first.servers,
      firstMs: first.ms,
      allConnectedMs,
      afterServers: after.servers,
      maxSpawns: Math.max(0, ...spawns.values()),
      spawns: [...spawns.values()].reduce((sum, count) => sum + count, 0),
    };
  } finally {
    await mcp.close();
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const ms = (value: number): string => `${Math.round(value)} ms`;
const verdict = (ok: boolean): string => (ok ? "PASS" : "FAIL");

async function main(): Promise<void> {
  console.log(
    `cold start: ${SERVERS} stdio servers (everything, memory, filesystem, example), ${availableParallelism()} CPUs, ${runs} run(s)`,
  );
  const a: RunA[] = [];
  const b: RunB[] = [];
  for (let run = 0; run < runs; run++) {
    a.push(await runWithReady(run));
    b.push(await runWithoutReady(run));
  }

  const aAll = a.every((result) => result.firstServers === SERVERS);
  const bAll = b.every((result) => result.afterServers === SERVERS);
  const once = [...a, ...b].every((result) => result.maxSpawns === 1 && result.spawns === SERVERS);
  const rows: [string, string][] = [
    ["A  ready() took (median)", ms(median(a.map((result) => result.readyMs)))],
    ["A  config servers failed at ready() (max)", String(Math.max(...a.map((result) => result.failed)))],
    [
      "A  first request after ready(): servers (min)",
      `${Math.min(...a.map((result) => result.firstServers))}/${SERVERS}`,
    ],
    ["A  first request after ready(): latency (median)", ms(median(a.map((result) => result.firstMs)))],
    [
      "B  first request without ready(): servers (median)",
      `${median(b.map((result) => result.firstServers))}/${SERVERS}`,
    ],
    ["B  first request without ready(): latency (median)", ms(median(b.map((result) => result.firstMs)))],
    ["B  every connect ended after (median)", ms(median(b.map((result) => result.allConnectedMs)))],
    [
      "B  request after the connects ended: servers (min)",
      `${Math.min(...b.map((result) => result.afterServers))}/${SERVERS}`,
    ],
    ["   spawns per server (max, all runs)", String(Math.max(...[...a, ...b].map((result) => result.maxSpawns)))],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
  console.log("");
  console.log(`${verdict(aAll)}  after ready(), the first request gets all ${SERVERS} servers`);
  console.log(`${verdict(bAll)}  without ready(), the first request after the connects ended gets all ${SERVERS}`);
  console.log(`${verdict(once)}  no child spawned twice`);
  if (!(aAll && bAll && once)) process.exitCode = 1;
}

await main();
