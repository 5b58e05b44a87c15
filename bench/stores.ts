/**
 * Benchmark of the Redis store behind a running app (`npx tsx bench/stores.ts [--quick]`), against the
 * real Redis at 127.0.0.1:6379, under a key prefix of its own that is deleted at the end.
 *
 *   1. Per-request cost with 10, 1 000 and 100 000 tenants stored (3 servers each, one with a sealed
 *      bearer token): store.list() alone, GET /mcp-servers and tools() (POST /tools on an Express app),
 *      each with the tenant's cache cold (dropped by a change event, as when another worker wrote) and
 *      warm, next to a plain Express route (the HTTP floor). The three tenant counts are three key prefixes measured round-robin in one time window, so
 *      drift of the machine hits them alike.                    target: p50 ratio vs 10 tenants ≤ 1.3
 *   2. Management-route throughput: 16 concurrent clients, each cycling POST / → GET /:name →
 *      PATCH /:name (If-Match) → DELETE /:name, on the Redis store and on the in-memory default.
 *   3. Heap the registry's cache keeps per distinct tenant served.
 *
 * Prints tables (p50, p99, ratios) and writes bench/results/stores.json.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import {
  createMcpServerSide,
  type McpServerSide,
  type McpServerSideOptions,
  type McpStore,
  type ServerDefinition,
} from "@mcp-server-side/core";
import { type StoreChangeEvent, type StoreScope, storeKeys } from "@mcp-server-side/core/store";
import { mcpServerSide } from "@mcp-server-side/express";
import { redisStore } from "@mcp-server-side/storage-redis";
import { startExampleServer } from "example-mcp-server";
import express from "express";
import { Redis } from "ioredis";
import { parseEncryptionKeys } from "../packages/core/src/security/crypto.js";
import { sealDefinition } from "../packages/core/src/security/secrets.js";

v8.setFlagsFromString("--expose_gc");
const gc = vm.runInNewContext("gc") as () => void;
const quick = process.argv.includes("--quick");
const REDIS_URL = "redis://127.0.0.1:6379";
const TENANT_COUNTS = quick ? [10, 1_000, 10_000] : [10, 1_000, 100_000];
const SERVERS_PER_TENANT = 3;
const SAMPLES = quick ? 300 : 2_000;
const WARMUP = quick ? 50 : 200;
const HOT_TENANTS = 10;
const THROUGHPUT_CLIENTS = 16;
const THROUGHPUT_CYCLES = quick ? 200 : 1_500;
const CACHE_TENANTS = quick ? 2_000 : 10_000;
/** A p50 within this factor of the 10-tenant p50 counts as flat (run-to-run noise on a shared 2-core box). */
const FLAT_RATIO = 1.3;

const runId = `${process.pid}-${randomUUID().slice(0, 8)}`;
const rootPrefix = `mcp-bench-${runId}:`;
const encryptionKey = randomBytes(32).toString("base64");
const ring = (() => {
  const parsed = parseEncryptionKeys({ encryptionKey });
  if (!parsed.ok || parsed.value === null) throw new Error("bench: the encryption key did not parse");
  return parsed.value;
})();
const admin = new Redis(REDIS_URL);

// ── helpers ─────────────────────────────────────────────────────────────────────────────────────

interface Stats {
  n: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

function stats(samples: ArrayLike<number>): Stats {
  const sorted = Array.from(samples).sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length);
  const round = (value: number): number => Math.round(value * 10) / 10;
  return { n: sorted.length, p50Us: round(at(0.5)), p99Us: round(at(0.99)), meanUs: round(mean) };
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) * 1000;
}

function pad(value: string | number, width: number, right = false): string {
  const text = String(value);
  return right ? text.padEnd(width) : text.padStart(width);
}

function randomInt(below: number): number {
  return Math.floor(Math.random() * below);
}

const tenantScope = (index: number): StoreScope => ({ kind: "scope", id: `t${index}` });

/** Fails the run loudly: a benchmark that measured an error page measured nothing. */
async function expectOk(response: Response, what: string): Promise<Response> {
  if (!response.ok) throw new Error(`bench: ${what} answered ${response.status}: ${await response.text()}`);
  return response;
}

// ── the apps ────────────────────────────────────────────────────────────────────────────────────

interface BenchApp {
  url: string;
  mcp: McpServerSide;
  store: McpStore;
  /** Drops one tenant's cached servers, as a change event from another worker does. */
  dropCache(scope: StoreScope): void;
  close(): Promise<void>;
}

/**
 * The store, with its change-event listeners kept, so the benchmark can send one the same event that
 * a write by another worker would (that is how a cold cache happens in production).
 */
function observedStore(store: McpStore): { store: McpStore; listeners: Set<(event: StoreChangeEvent) => void> } {
  const listeners = new Set<(event: StoreChangeEvent) => void>();
  const observed: McpStore = {
    ...store,
    async watch(listener) {
      listeners.add(listener);
      const unwatch = store.watch ? await store.watch(listener) : () => undefined;
      return () => {
        listeners.delete(listener);
        unwatch();
      };
    },
  };
  return { store: observed, listeners };
}

async function startApp(storage: McpStore | undefined, configUrl: string): Promise<BenchApp> {
  const observed = storage === undefined ? undefined : observedStore(storage);
  const options: McpServerSideOptions = {
    config: { mcpServers: { demo: { url: configUrl } } },
    // Tenants are named by a header: many apps identify tenants their own way.
    identify: (request) => {
      const tenant = request.headers.get("x-tenant");
      return tenant === null ? null : { scope: tenant };
    },
    // Registration checks resolve names; this answer keeps the benchmark off the network.
    lookup: async () => [{ address: "1.1.1.1", family: 4 }],
    maxServersPerScope: 100,
  };
  if (observed !== undefined) {
    options.storage = observed.store;
    options.encryptionKey = encryptionKey;
  }
  const mcp = createMcpServerSide(options);
  await mcp.ready();
  const app = express();
  app.use(express.json());
  app.use(mcpServerSide(mcp));
  app.get("/hello", (_req, res) => {
    res.type("text/plain").send("hello");
  });
  app.post("/tools", async (req, res, next) => {
    try {
      const tools = await req.mcp.tools();
      res.json({ count: Object.keys(tools).length, errors: req.mcp.errors.length });
    } catch (error) {
      next(error);
    }
  });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    mcp,
    store: observed?.store ?? (undefined as unknown as McpStore),
    dropCache(scope) {
      for (const listener of observed?.listeners ?? []) listener({ type: "updated", scope, name: "bench-drop-cache" });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await mcp.close();
    },
  };
}

// ── seeding ─────────────────────────────────────────────────────────────────────────────────────

/** The tenant's hash, as the Redis store lays it out (checked below by reading one back through the store). */
const serversKey = (prefix: string, scope: StoreScope): string => `${prefix}{${storeKeys.servers(scope)}}`;

function tenantServers(scope: StoreScope, at: string): string[] {
  const definitions: [string, ServerDefinition][] = [
    ["docs", { url: "https://docs.example.com/mcp", availability: "default_off", description: "Docs search" }],
    [
      "crm",
      {
        url: "https://crm.example.com/mcp",
        availability: "default_off",
        auth: { type: "bearer", token: `tok-${randomUUID()}` },
      },
    ],
    ["tickets", { url: "https://tickets.example.com/mcp", availability: "default_off", tools: { deny: ["delete_*"] } }],
  ] as [string, ServerDefinition][];
  const fields: string[] = [];
  for (const [name, definition] of definitions) {
    const record = {
      name,
      definition: sealDefinition(definition, ring, { scope, name }),
      revision: randomUUID(),
      createdAt: at,
      updatedAt: at,
    };
    fields.push(name, JSON.stringify(record));
  }
  return fields;
}

/** Writes `count` tenants under `prefix`, pipelined (the store's own create would do one script per server). */
async function seed(prefix: string, count: number): Promise<void> {
  const at = new Date().toISOString();
  const batch = 1_000;
  for (let start = 0; start < count; start += batch) {
    const pipeline = admin.pipeline();
    for (let index = start; index < Math.min(count, start + batch); index++) {
      const scope = tenantScope(index);
      pipeline.hset(serversKey(prefix, scope), ...tenantServers(scope, at));
    }
    await pipeline.exec();
  }
}

async function unlinkTenants(prefix: string, count: number): Promise<void> {
  const batch = 1_000;
  for (let start = 0; start < count; start += batch) {
    const keys: string[] = [];
    for (let index = start; index < Math.min(count, start + batch); index++)
      keys.push(serversKey(prefix, tenantScope(index)));
    await admin.unlink(...keys);
  }
}

/** Deletes what is left under the run's prefix (throughput leftovers); SCAN on the run's own prefix only. */
async function unlinkRest(): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${rootPrefix}*`, "COUNT", 1_000);
    cursor = next;
    if (keys.length > 0) await admin.unlink(...keys);
  } while (cursor !== "0");
}

// ── 1. cost per request against tenants stored ──────────────────────────────────────────────────

interface ScaleRow {
  operation: string;
  tenants: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  n: number;
  p50Ratio: number;
}

async function perRequestCost(configUrl: string): Promise<{ rows: ScaleRow[]; flat: boolean; seedMs: number }> {
  const seeded = performance.now();
  const apps = new Map<number, BenchApp>();
  for (const count of TENANT_COUNTS) {
    const prefix = `${rootPrefix}n${count}:`;
    await seed(prefix, count);
    const app = await startApp(redisStore({ url: REDIS_URL, prefix }), configUrl);
    apps.set(count, app);
    const listed = await app.store.list(tenantScope(count - 1));
    if (listed.length !== SERVERS_PER_TENANT) throw new Error(`bench: seeded layout not read back (${listed.length})`);
  }
  const seedMs = Math.round(performance.now() - seeded);
  console.log(`seeded ${TENANT_COUNTS.join(" + ")} tenants × ${SERVERS_PER_TENANT} servers in ${seedMs} ms`);

  const headers = (tenant: number): Record<string, string> => ({
    "x-tenant": `t${tenant}`,
    "content-type": "application/json",
  });
  const listRoute = async (app: BenchApp, tenant: number): Promise<void> => {
    const response = await expectOk(
      await fetch(`${app.url}/mcp-servers`, { headers: headers(tenant) }),
      "GET /mcp-servers",
    );
    const body = (await response.json()) as { servers: unknown[] };
    if (body.servers.length !== SERVERS_PER_TENANT + 1) throw new Error("bench: the list is not the tenant's");
  };
  const toolsRoute = async (app: BenchApp, tenant: number): Promise<void> => {
    const response = await expectOk(
      await fetch(`${app.url}/tools`, { method: "POST", headers: headers(tenant), body: "{}" }),
      "POST /tools",
    );
    const body = (await response.json()) as { count: number; errors: number };
    if (body.count !== 3 || body.errors !== 0) throw new Error(`bench: tools() gave ${JSON.stringify(body)}`);
  };

  const operations: [string, (app: BenchApp, tenants: number) => Promise<void>][] = [
    [
      "GET /hello (Express, no MCP)",
      async (app) => {
        await (await expectOk(await fetch(`${app.url}/hello`), "GET /hello")).arrayBuffer();
      },
    ],
    [
      "store.list() (one HGETALL)",
      async (app, tenants) => {
        await app.store.list(tenantScope(randomInt(tenants)));
      },
    ],
    [
      "GET /mcp-servers, cache cold",
      async (app, tenants) => {
        const tenant = randomInt(tenants);
        app.dropCache(tenantScope(tenant));
        await listRoute(app, tenant);
      },
    ],
    ["GET /mcp-servers, cache warm", (app) => listRoute(app, randomInt(HOT_TENANTS))],
    [
      "tools(), cache cold",
      async (app, tenants) => {
        const tenant = randomInt(tenants);
        app.dropCache(tenantScope(tenant));
        await toolsRoute(app, tenant);
      },
    ],
    ["tools(), cache warm", (app) => toolsRoute(app, randomInt(HOT_TENANTS))],
  ];

  const rows: ScaleRow[] = [];
  for (const [operation, run] of operations) {
    const samples = new Map<number, number[]>(TENANT_COUNTS.map((count) => [count, []]));
    for (let index = 0; index < WARMUP + SAMPLES; index++) {
      // Round-robin over the tenant counts, starting at a different one each round.
      for (let offset = 0; offset < TENANT_COUNTS.length; offset++) {
        const count = TENANT_COUNTS[(index + offset) % TENANT_COUNTS.length]!;
        const app = apps.get(count)!;
        const elapsed = await timed(() => run(app, count));
        if (index >= WARMUP) samples.get(count)!.push(elapsed);
      }
    }
    const base = stats(samples.get(TENANT_COUNTS[0]!)!).p50Us;
    for (const count of TENANT_COUNTS) {
      const measured = stats(samples.get(count)!);
      rows.push({ operation, tenants: count, ...measured, p50Ratio: Math.round((measured.p50Us / base) * 100) / 100 });
    }
  }
  for (const app of apps.values()) await app.close();
  for (const count of TENANT_COUNTS) await unlinkTenants(`${rootPrefix}n${count}:`, count);
  const flat = rows.every((row) => row.p50Ratio <= FLAT_RATIO);
  return { rows, flat, seedMs };
}

// ── 2. management-route throughput ──────────────────────────────────────────────────────────────

interface ThroughputRow {
  store: string;
  requestsPerSecond: number;
  cyclesPerSecond: number;
  routes: Record<string, Stats>;
}

async function throughput(label: string, storage: McpStore | undefined, configUrl: string): Promise<ThroughputRow> {
  const app = await startApp(storage, configUrl);
  const routes: Record<string, number[]> = { "POST /": [], "GET /:name": [], "PATCH /:name": [], "DELETE /:name": [] };
  let cycle = 0;
  let limit = 0;
  const client = async (clientIndex: number): Promise<void> => {
    const tenant = { "x-tenant": `bench-throughput-${clientIndex}`, "content-type": "application/json" };
    while (cycle < limit) {
      cycle++;
      const name = `s-${clientIndex}-${cycle}`;
      let etag = "";
      routes["POST /"]!.push(
        await timed(async () => {
          const response = await fetch(`${app.url}/mcp-servers`, {
            method: "POST",
            headers: tenant,
            body: JSON.stringify({ name, url: "https://mcp.example.com/mcp", headers: { Authorization: "Bearer x" } }),
          });
          await expectOk(response, "POST /mcp-servers");
          await response.arrayBuffer();
        }),
      );
      routes["GET /:name"]!.push(
        await timed(async () => {
          const response = await expectOk(
            await fetch(`${app.url}/mcp-servers/${name}`, { headers: tenant }),
            "GET /:name",
          );
          etag = response.headers.get("etag") ?? "";
          await response.arrayBuffer();
        }),
      );
      routes["PATCH /:name"]!.push(
        await timed(async () => {
          const response = await fetch(`${app.url}/mcp-servers/${name}`, {
            method: "PATCH",
            headers: { ...tenant, "if-match": etag },
            body: JSON.stringify({ description: "patched" }),
          });
          await expectOk(response, "PATCH /:name");
          await response.arrayBuffer();
        }),
      );
      routes["DELETE /:name"]!.push(
        await timed(async () => {
          const response = await fetch(`${app.url}/mcp-servers/${name}`, { method: "DELETE", headers: tenant });
          await expectOk(response, "DELETE /:name");
          await response.arrayBuffer();
        }),
      );
    }
  };
  const run = async (cycles: number): Promise<number> => {
    limit = cycle + cycles;
    const started = performance.now();
    await Promise.all(Array.from({ length: THROUGHPUT_CLIENTS }, (_, index) => client(index)));
    return (performance.now() - started) / 1000;
  };
  // A warm-up whose samples are dropped, then the measured run.
  await run(Math.max(THROUGHPUT_CLIENTS, Math.round(THROUGHPUT_CYCLES / 10)));
  for (const samples of Object.values(routes)) samples.length = 0;
  const cycles = THROUGHPUT_CYCLES;
  const seconds = await run(cycles);
  await app.close();
  const requests = Object.values(routes).reduce((sum, list) => sum + list.length, 0);
  return {
    store: label,
    requestsPerSecond: Math.round(requests / seconds),
    cyclesPerSecond: Math.round(cycles / seconds),
    routes: Object.fromEntries(Object.entries(routes).map(([route, samples]) => [route, stats(samples)])),
  };
}

// ── 3. heap the registry cache keeps per tenant ─────────────────────────────────────────────────

async function cacheHeap(configUrl: string): Promise<{ tenants: number; bytesPerTenant: number }> {
  const prefix = `${rootPrefix}heap:`;
  await seed(prefix, CACHE_TENANTS);
  const app = await startApp(redisStore({ url: REDIS_URL, prefix }), configUrl);
  // One request first, so connections and code paths exist before the baseline.
  await app.store.list(tenantScope(0));
  await (await fetch(`${app.url}/mcp-servers`, { headers: { "x-tenant": "t0" } })).arrayBuffer();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let index = 1; index < CACHE_TENANTS; index++) {
    await (await fetch(`${app.url}/mcp-servers`, { headers: { "x-tenant": `t${index}` } })).arrayBuffer();
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  await app.close();
  await unlinkTenants(prefix, CACHE_TENANTS);
  return { tenants: CACHE_TENANTS - 1, bytesPerTenant: Math.round((after - before) / (CACHE_TENANTS - 1)) };
}

// ── run ─────────────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const upstream = await startExampleServer({ port: 0 });
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    console.error("\ninterrupted: deleting the benchmark's keys…");
    void cleanup().finally(() => process.exit(130));
  };
  const cleanup = async (): Promise<void> => {
    for (const count of TENANT_COUNTS) await unlinkTenants(`${rootPrefix}n${count}:`, count).catch(() => undefined);
    await unlinkTenants(`${rootPrefix}heap:`, CACHE_TENANTS).catch(() => undefined);
    await unlinkRest().catch(() => undefined);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    console.log(
      `stores benchmark${quick ? " (--quick)" : ""}: Node ${process.version}, ${cpus().length} cores, Redis at ${REDIS_URL}`,
    );
    const scale = await perRequestCost(upstream.url);
    const redis = await throughput("redis", redisStore({ url: REDIS_URL, prefix: `${rootPrefix}tp:` }), upstream.url);
    const memory = await throughput("memory (default)", undefined, upstream.url);
    const heap = await cacheHeap(upstream.url);

    console.log(`\n1. Cost per request against tenants stored (${SAMPLES} samples each, µs)`);
    console.log(
      `${pad("operation", 32, true)} ${pad("tenants", 8)} ${pad("p50", 9)} ${pad("p99", 9)} ${pad("p50 ratio", 10)}`,
    );
    for (const row of scale.rows) {
      console.log(
        `${pad(row.operation, 32, true)} ${pad(row.tenants.toLocaleString("en-US"), 8)} ${pad(row.p50Us, 9)} ${pad(row.p99Us, 9)} ${pad(`×${row.p50Ratio.toFixed(2)}`, 10)}`,
      );
    }
    console.log(
      `p50 flat across tenant counts (every ratio ≤ ${FLAT_RATIO}): ${scale.flat ? "yes" : "NO — look at the ratios above"}`,
    );

    console.log(
      `\n2. Management-route throughput (${THROUGHPUT_CLIENTS} concurrent clients, ${THROUGHPUT_CYCLES} cycles of POST, GET, PATCH, DELETE)`,
    );
    console.log(
      `${pad("store", 18, true)} ${pad("req/s", 7)}  ${Object.keys(redis.routes)
        .map((route) => pad(`${route} p50/p99 µs`, 28))
        .join("")}`,
    );
    for (const row of [redis, memory]) {
      const cells = Object.values(row.routes).map((route) => pad(`${route.p50Us} / ${route.p99Us}`, 28));
      console.log(`${pad(row.store, 18, true)} ${pad(row.requestsPerSecond, 7)}  ${cells.join("")}`);
    }
    console.log(`Redis / memory throughput: ×${(redis.requestsPerSecond / memory.requestsPerSecond).toFixed(2)}`);

    console.log(
      `\n3. Registry cache: ${heap.bytesPerTenant} bytes of heap kept per distinct tenant served (${heap.tenants} tenants)`,
    );

    const results = {
      date: new Date().toISOString(),
      quick,
      machine: { node: process.version, cores: cpus().length, cpu: cpus()[0]?.model ?? "unknown" },
      parameters: {
        tenantCounts: TENANT_COUNTS,
        serversPerTenant: SERVERS_PER_TENANT,
        samples: SAMPLES,
        warmup: WARMUP,
        flatRatio: FLAT_RATIO,
        throughputClients: THROUGHPUT_CLIENTS,
        throughputCycles: THROUGHPUT_CYCLES,
      },
      perRequest: { rows: scale.rows, flat: scale.flat, seedMs: scale.seedMs },
      throughput: [redis, memory],
      registryCache: heap,
    };
    const directory = fileURLToPath(new URL("./results/", import.meta.url));
    mkdirSync(directory, { recursive: true });
    writeFileSync(`${directory}stores.json`, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwrote bench/results/stores.json`);
  } finally {
    await cleanup();
    await upstream.close();
    await admin.quit();
  }
}

await main();
