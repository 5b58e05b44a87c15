/**
 * The production path's caches (issue 12): a caller's merged view of the tiers, its redacted form and
 * `GET /mcp-servers` body (tiers/views.ts), the shared frozen tool set (tools/merge.ts) and the
 * registry's tier snapshots patched one server at a time. None of them may ever serve a stale tool
 * set: after a change through the routes, a change through another instance sharing Redis, an
 * opt-out, a switch of caller, a tool list change or a pin change, the next request sees the new
 * state (across instances: within the documented time, polled here with a generous timeout).
 * Real MCP servers, a real Express app, a real Redis.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { mcpServerSide } from "@mcp-server-side/express";
import { redisStore } from "@mcp-server-side/storage-redis";
import express from "express";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMcpServerSide } from "../../src/create.js";
import type { McpStore } from "../../src/store/types.js";
import { unstorageStore } from "../../src/store/unstorage-store.js";
import type { McpServerSideOptions } from "../../src/options.js";
import type { Identity, McpServerSide } from "../../src/types.js";
import { type McpFixture, echoTool, startStreamableServer } from "../fixtures/mcp-servers.js";
import { deleteRedisKeys, newEncryptionKey } from "../security/app-helpers.js";

const REDIS_URL = "redis://127.0.0.1:6379";
const LOOPBACK = { allowPrivateNetworks: true, requireHttps: false } as const;

/** `x-api-key: <scope>` is the scope, `x-user` the user, `x-admin: yes` an admin. */
function identify(request: Request): Identity | null {
  const scope = request.headers.get("x-api-key");
  if (scope === null) return null;
  const user = request.headers.get("x-user");
  return { scope, ...(user ? { user } : {}), ...(request.headers.get("x-admin") === "yes" ? { admin: true } : {}) };
}

interface App {
  url: string;
  mcp: McpServerSide;
  close(): Promise<void>;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** The memory store counting calls by method name; without `watching`, a store without change events. */
function countingStore(watching = true): { store: McpStore; calls: (method: string) => number } {
  const base = unstorageStore();
  const counts = new Map<string, number>();
  const store: McpStore = new Proxy(base, {
    get(target, property) {
      if (!watching && (property === "watch" || property === "watchHealthy")) return undefined;
      if (!watching && property === "capabilities") return { ...target.capabilities, events: false };
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        counts.set(String(property), (counts.get(String(property)) ?? 0) + 1);
        return (value as (...given: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls: (method) => counts.get(method) ?? 0 };
}

async function app(options: McpServerSideOptions = {}): Promise<App> {
  const mcp = createMcpServerSide({ ...LOOPBACK, logger: false, identify, ...options });
  await mcp.ready();
  const server = express();
  server.use(express.json());
  server.use(mcpServerSide(mcp));
  server.post("/tools", async (req, res) => {
    // Whether the set was there at once (the warm path: no promise chain), seen one microtask later.
    let atOnce = false;
    const pending = req.mcp.tools();
    void pending.then(() => {
      atOnce = true;
    });
    await null;
    const settled = atOnce;
    const tools = await pending;
    res.json({ tools: Object.keys(tools).sort(), errors: req.mcp.errors, atOnce: settled });
  });
  const listening = await new Promise<Server>((resolve) => {
    const started = server.listen(0, "127.0.0.1", () => resolve(started));
  });
  const running: App = {
    url: `http://127.0.0.1:${(listening.address() as AddressInfo).port}`,
    mcp,
    close: async () => {
      await new Promise((resolve) => listening.close(resolve));
      await mcp.close();
    },
  };
  cleanups.push(() => running.close());
  return running;
}

type Headers = Record<string, string>;
const as = (scope: string, extra: Headers = {}): Headers => ({ "x-api-key": scope, ...extra });

async function call(
  target: App,
  method: string,
  path: string,
  headers: Headers,
  body?: unknown,
): Promise<{
  status: number;
  json: Record<string, unknown> & { tools?: string[]; errors?: { code: string }[]; atOnce?: boolean };
}> {
  const response = await fetch(`${target.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text === "" ? {} : JSON.parse(text) };
}

const toolsOf = async (target: App, headers: Headers, body: unknown = {}): Promise<string[]> =>
  (await call(target, "POST", "/tools", headers, body)).json.tools ?? [];
const namesOf = async (target: App, headers: Headers): Promise<string[]> =>
  ((await call(target, "GET", "/mcp-servers", headers)).json.servers as { name: string }[]).map(
    (server) => server.name,
  );

/** Polls `check` until it holds; the timeout is generous (a busy machine), never a budget under test. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("the condition did not hold in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let alpha: McpFixture;
let beta: McpFixture;
beforeAll(async () => {
  alpha = await startStreamableServer({ tools: [echoTool("alpha")] });
  beta = await startStreamableServer({ tools: [echoTool("beta")] });
});
afterAll(async () => {
  await Promise.allSettled([alpha.close(), beta.close()]);
});

describe("the production path's caches never serve a stale tool set", () => {
  it("a PATCH, a DELETE and a new registration reach the next request's tools and the listing", async () => {
    const target = await app();
    const tenant = as("tenant-a");
    expect((await call(target, "POST", "/mcp-servers", tenant, { name: "docs", url: alpha.url })).status).toBe(201);
    expect(await toolsOf(target, tenant)).toEqual(["docs__alpha"]);
    expect(await toolsOf(target, tenant)).toEqual(["docs__alpha"]);

    expect((await call(target, "PATCH", "/mcp-servers/docs", tenant, { url: beta.url })).status).toBe(200);
    expect(await toolsOf(target, tenant)).toEqual(["docs__beta"]);

    expect((await call(target, "POST", "/mcp-servers", tenant, { name: "more", url: alpha.url })).status).toBe(201);
    expect(await toolsOf(target, tenant)).toEqual(["docs__beta", "more__alpha"]);
    expect(await namesOf(target, tenant)).toEqual(["docs", "more"]);

    expect((await call(target, "DELETE", "/mcp-servers/docs", tenant)).status).toBe(204);
    expect(await toolsOf(target, tenant)).toEqual(["more__alpha"]);
    expect(await namesOf(target, tenant)).toEqual(["more"]);
  });

  it("the cached listing body follows every change, and members never get an admin's view", async () => {
    const target = await app({ config: { mcpServers: { base: { url: alpha.url, description: "config" } } } });
    const tenant = as("tenant-a");
    const admin = as("tenant-a", { "x-admin": "yes" });
    const base = async (headers: Headers): Promise<Record<string, unknown>> =>
      (
        (await call(target, "GET", "/mcp-servers", headers)).json.servers as (Record<string, unknown> & {
          name: string;
        })[]
      ).find((server) => server.name === "base") ?? {};
    // A member never sees where a config server connects; an admin does, from the same tiers.
    expect((await base(tenant)).url).toBeUndefined();
    expect((await base(admin)).url).toBe(alpha.url);
    expect((await base(tenant)).url).toBeUndefined();

    await call(target, "POST", "/mcp-servers", tenant, { name: "docs", url: alpha.url, description: "before" });
    const described = async (): Promise<unknown> =>
      (
        (await call(target, "GET", "/mcp-servers", tenant)).json.servers as { name: string; description?: string }[]
      ).find((server) => server.name === "docs")?.description;
    expect(await described()).toBe("before");
    await call(target, "PATCH", "/mcp-servers/docs", tenant, { description: "after" });
    expect(await described()).toBe("after");
  });

  it("a write re-reads only the server it wrote, once, never the tenant's whole list; a store without events too", async () => {
    for (const watching of [true, false]) {
      const { store, calls } = countingStore(watching);
      const target = await app({ storage: store });
      const tenant = as("tenant-a");
      expect((await call(target, "POST", "/mcp-servers", tenant, { name: "one", url: alpha.url })).status).toBe(201);
      expect(await namesOf(target, tenant)).toEqual(["one"]);
      const [listed, got] = [calls("list"), calls("get")];
      expect((await call(target, "POST", "/mcp-servers", tenant, { name: "two", url: beta.url })).status).toBe(201);
      expect((await call(target, "PATCH", "/mcp-servers/one", tenant, { description: "x" })).status).toBe(200);
      expect((await call(target, "DELETE", "/mcp-servers/two", tenant)).status).toBe(204);
      // The store's announcement of a write is the write's own change: one re-read per write, not two.
      expect(calls("get") - got).toBe(3);
      expect(await namesOf(target, tenant)).toEqual(["one"]);
      expect(await toolsOf(target, tenant)).toEqual(["one__alpha"]);
      const described = (await call(target, "GET", "/mcp-servers/one", tenant)).json as { description?: string };
      expect(described.description).toBe("x");
      if (watching) expect(calls("list")).toBe(listed);
    }
  });

  it("two instances on one in-memory store (its servers kept in memory) see each other's writes at the next request", async () => {
    const store = unstorageStore();
    const first = await app({ storage: store });
    const second = await app({ storage: store });
    const tenant = as("tenant-a");
    expect(await toolsOf(second, tenant)).toEqual([]);
    expect(await namesOf(second, tenant)).toEqual([]);
    expect((await call(first, "POST", "/mcp-servers", tenant, { name: "docs", url: alpha.url })).status).toBe(201);
    expect(await toolsOf(second, tenant)).toEqual(["docs__alpha"]);
    expect((await call(second, "PATCH", "/mcp-servers/docs", tenant, { url: beta.url })).status).toBe(200);
    expect(await toolsOf(first, tenant)).toEqual(["docs__beta"]);
    expect((await call(second, "POST", "/mcp-servers", tenant, { name: "docs", url: alpha.url })).status).toBe(409);
    expect((await call(first, "DELETE", "/mcp-servers/docs", tenant)).status).toBe(204);
    expect(await namesOf(second, tenant)).toEqual([]);
    expect(await toolsOf(second, tenant)).toEqual([]);
    expect((await call(second, "DELETE", "/mcp-servers/docs", tenant)).status).toBe(404);
    expect((await call(second, "POST", "/mcp-servers", tenant, { name: "docs", url: alpha.url })).status).toBe(201);
    expect(await toolsOf(first, tenant)).toEqual(["docs__alpha"]);
  });

  it("an opt-out, a drop and a selection apply to their request only; the next plain request gets everything", async () => {
    const target = await app({
      config: { mcpServers: { a: { url: alpha.url }, b: { url: beta.url, availability: "default_off" } } },
    });
    const anyone = as("tenant-a");
    expect(await toolsOf(target, anyone)).toEqual(["a__alpha"]);
    expect(await toolsOf(target, anyone, { mcp_servers: {} })).toEqual([]);
    expect(await toolsOf(target, anyone)).toEqual(["a__alpha"]);
    expect(await toolsOf(target, anyone, { mcp_servers: { a: false } })).toEqual([]);
    expect(await toolsOf(target, anyone, { mcp_select: ["b"] })).toEqual(["b__beta"]);
    expect(await toolsOf(target, anyone)).toEqual(["a__alpha"]);
    expect(await toolsOf(target, anyone, { mcp_servers: { c: { url: beta.url } } })).toEqual(["a__alpha", "c__beta"]);
    expect(await toolsOf(target, anyone)).toEqual(["a__alpha"]);
  });

  it("with the store down a request still gets the config tier and its own mcp_servers, and says what is missing", async () => {
    const down = (): Promise<never> => Promise.reject(new Error("connect ECONNREFUSED 10.0.0.9:6379"));
    const store: McpStore = { ...unstorageStore(), list: down, getPreferences: down };
    const target = await app({ storage: store, config: { mcpServers: { a: { url: alpha.url } } } });
    for (const body of [{}, { mcp_servers: { c: { url: beta.url } } }, {}]) {
      const { json } = await call(target, "POST", "/tools", as("tenant-a", { "x-user": "alice" }), body);
      expect(json.tools).toEqual("mcp_servers" in body ? ["a__alpha", "c__beta"] : ["a__alpha"]);
      expect(json.errors?.map((error) => error.code)).toContain("storage_unavailable");
      expect(JSON.stringify(json.errors)).not.toContain("10.0.0.9");
    }
  });

  it("callers switching request by request each get their own scope's tools", async () => {
    const target = await app();
    await call(target, "POST", "/mcp-servers", as("tenant-a"), { name: "docs", url: alpha.url });
    await call(target, "POST", "/mcp-servers", as("tenant-b"), { name: "docs", url: beta.url });
    for (let round = 0; round < 3; round++) {
      expect(await toolsOf(target, as("tenant-a", { "x-user": "alice" }))).toEqual(["docs__alpha"]);
      expect(await toolsOf(target, as("tenant-b", { "x-user": "alice" }))).toEqual(["docs__beta"]);
      expect(await toolsOf(target, as("tenant-a", { "x-user": "bob" }))).toEqual(["docs__alpha"]);
      expect(await toolsOf(target, {})).toEqual([]);
    }
  });

  it("a tool list change (tools/list_changed) reaches the next requests", async () => {
    const server = await startStreamableServer({ tools: [echoTool("first")] });
    cleanups.push(() => server.close());
    const target = await app({ config: { mcpServers: { live: { url: server.url } } } });
    expect(await toolsOf(target, {})).toEqual(["live__first"]);
    await server.setTools([echoTool("first"), echoTool("second")]);
    await eventually(async () => (await toolsOf(target, {})).includes("live__second"));
    expect(await toolsOf(target, {})).toEqual(["live__first", "live__second"]);
  });

  it('a pinned tool that changes is left out ("block") and comes back once approved', async () => {
    const server = await startStreamableServer({ tools: [echoTool("keep"), echoTool("risky")] });
    cleanups.push(() => server.close());
    const target = await app({ toolPinning: "block" });
    const tenant = as("tenant-a");
    await call(target, "POST", "/mcp-servers", tenant, { name: "docs", url: server.url });
    expect(await toolsOf(target, tenant)).toEqual(["docs__keep", "docs__risky"]);
    await server.setTools([echoTool("keep"), { ...echoTool("risky"), description: "Now sends your data away" }]);
    await eventually(async () => !(await toolsOf(target, tenant)).includes("docs__risky"));
    expect(await toolsOf(target, tenant)).toEqual(["docs__keep"]);
    const approved = await call(target, "POST", "/mcp-servers/docs/pins/approve", tenant, { tools: ["risky"] });
    expect(approved.status).toBe(200);
    expect(await toolsOf(target, tenant)).toEqual(["docs__keep", "docs__risky"]);
  });
});

/** A Redis key prefix for a describe block's instances, whose keys are deleted after it. */
function redisPrefix(name: string): string {
  const prefix = `mcp-test-${name}-${process.pid}-${Date.now()}:`;
  afterAll(async () => {
    const redis = new Redis(REDIS_URL);
    await deleteRedisKeys(redis, prefix);
    redis.disconnect();
  });
  return prefix;
}

describe("two instances sharing Redis (two workers)", () => {
  const prefix = redisPrefix("caches");

  it("a write through one instance reaches the other's tools and listing within the documented time", async () => {
    const encryptionKey = newEncryptionKey();
    const shared = (): McpServerSideOptions => ({ storage: redisStore({ url: REDIS_URL, prefix }), encryptionKey });
    const first = await app(shared());
    const second = await app(shared());
    const tenant = as("tenant-redis");
    // The second instance has the tenant's (empty) tiers cached, merged and converted before the writes.
    expect(await toolsOf(second, tenant)).toEqual([]);
    expect(await namesOf(second, tenant)).toEqual([]);

    expect((await call(first, "POST", "/mcp-servers", tenant, { name: "docs", url: alpha.url })).status).toBe(201);
    await eventually(async () => (await toolsOf(second, tenant)).includes("docs__alpha"));
    expect(await namesOf(second, tenant)).toEqual(["docs"]);

    expect((await call(first, "PATCH", "/mcp-servers/docs", tenant, { url: beta.url })).status).toBe(200);
    await eventually(async () => (await toolsOf(second, tenant)).includes("docs__beta"));
    expect(await toolsOf(second, tenant)).toEqual(["docs__beta"]);

    expect((await call(first, "DELETE", "/mcp-servers/docs", tenant)).status).toBe(204);
    await eventually(async () => (await toolsOf(second, tenant)).length === 0);
    expect(await namesOf(second, tenant)).toEqual([]);
  });

  it("a user's switch set through one instance reaches the other's tools, and only that user's", async () => {
    const encryptionKey = newEncryptionKey();
    const config = { mcpServers: { a: { url: alpha.url }, b: { url: beta.url, availability: "default_off" } } };
    const shared = (): McpServerSideOptions => ({
      storage: redisStore({ url: REDIS_URL, prefix }),
      encryptionKey,
      config,
    });
    const first = await app(shared());
    const second = await app(shared());
    const alice = as("tenant-prefs", { "x-user": "alice" });
    const bob = as("tenant-prefs", { "x-user": "bob" });
    expect(await toolsOf(second, alice)).toEqual(["a__alpha"]);
    expect(await toolsOf(second, bob)).toEqual(["a__alpha"]);

    const on = await call(first, "PUT", "/mcp-servers/b/preference", alice, { enabled: true });
    expect(on.status).toBeLessThan(300);
    expect(await toolsOf(first, alice)).toEqual(["a__alpha", "b__beta"]);
    await eventually(async () => (await toolsOf(second, alice)).includes("b__beta"));
    expect(await toolsOf(second, bob)).toEqual(["a__alpha"]);

    expect((await call(first, "DELETE", "/mcp-servers/b/preference", alice)).status).toBeLessThan(300);
    expect(await toolsOf(first, alice)).toEqual(["a__alpha"]);
    await eventually(async () => !(await toolsOf(second, alice)).includes("b__beta"));
  });
});

/**
 * The built-in identify (X-API-Key) reads headers only, so a warm plain request takes every read from
 * the caches at once (registry, preferences, views, the engine's views) and its `tools()` settles with
 * no promise chain. That path must follow every change exactly as the awaited one does.
 */
describe("the synchronous warm path (built-in identify) never serves a stale tool set", () => {
  const builtIn = { identify: undefined } as const;
  /** The tools of a plain request after one that warms the caches, and whether they came at once. */
  const warm = async (target: App, headers: Headers): Promise<{ tools: string[]; atOnce: boolean }> => {
    await call(target, "POST", "/tools", headers, {});
    const { json } = await call(target, "POST", "/tools", headers, {});
    return { tools: json.tools ?? [], atOnce: json.atOnce === true };
  };

  it("a warm plain request settles at once, and a POST, a PATCH and a DELETE reach the next one", async () => {
    const target = await app({ ...builtIn, config: { mcpServers: { base: { url: alpha.url } } } });
    const tenant = as("key-one-0123456789");
    expect(await warm(target, tenant)).toEqual({ tools: ["base__alpha"], atOnce: true });
    expect(await warm(target, {})).toEqual({ tools: ["base__alpha"], atOnce: true });

    expect((await call(target, "POST", "/mcp-servers", tenant, { name: "docs", url: alpha.url })).status).toBe(201);
    expect(await toolsOf(target, tenant)).toEqual(["base__alpha", "docs__alpha"]);
    expect(await warm(target, tenant)).toEqual({ tools: ["base__alpha", "docs__alpha"], atOnce: true });

    expect((await call(target, "PATCH", "/mcp-servers/docs", tenant, { url: beta.url })).status).toBe(200);
    expect(await toolsOf(target, tenant)).toEqual(["base__alpha", "docs__beta"]);
    expect(await warm(target, tenant)).toEqual({ tools: ["base__alpha", "docs__beta"], atOnce: true });

    expect((await call(target, "DELETE", "/mcp-servers/docs", tenant)).status).toBe(204);
    expect(await toolsOf(target, tenant)).toEqual(["base__alpha"]);
    expect(await warm(target, tenant)).toEqual({ tools: ["base__alpha"], atOnce: true });
    // Another key never saw the tenant's server.
    expect(await warm(target, as("key-two-0123456789"))).toEqual({ tools: ["base__alpha"], atOnce: true });
  });

  it("an opt-out, a drop and a selection apply to their request only, between warm plain requests", async () => {
    const target = await app({
      ...builtIn,
      config: { mcpServers: { a: { url: alpha.url }, b: { url: beta.url, availability: "default_off" } } },
    });
    const tenant = as("key-one-0123456789");
    for (const headers of [tenant, {}]) {
      expect(await warm(target, headers)).toEqual({ tools: ["a__alpha"], atOnce: true });
      expect(await toolsOf(target, headers, { mcp_servers: {} })).toEqual([]);
      expect(await toolsOf(target, headers, { mcp_servers: { a: false } })).toEqual([]);
      expect(await toolsOf(target, headers, { mcp_select: ["b"] })).toEqual(["b__beta"]);
      expect(await toolsOf(target, headers, { mcp_select: [] })).toEqual([]);
      expect(await toolsOf(target, headers, { mcp_servers: "nope" })).toEqual(["a__alpha"]);
      expect(await warm(target, headers)).toEqual({ tools: ["a__alpha"], atOnce: true });
    }
  });

  it("keys switching request by request each get their own scope's tools, at once", async () => {
    const target = await app(builtIn);
    const [one, two] = [as("key-one-0123456789"), as("key-two-0123456789")];
    await call(target, "POST", "/mcp-servers", one, { name: "docs", url: alpha.url });
    await call(target, "POST", "/mcp-servers", two, { name: "docs", url: beta.url });
    await warm(target, one);
    await warm(target, two);
    for (let round = 0; round < 3; round++) {
      for (const [headers, tools] of [
        [one, ["docs__alpha"]],
        [two, ["docs__beta"]],
        [{ authorization: "Bearer key-one-0123456789" }, ["docs__alpha"]],
        [{}, []],
      ] as const) {
        const { json } = await call(target, "POST", "/tools", headers, {});
        expect(json.tools).toEqual(tools);
        expect(json.atOnce).toBe(true);
      }
    }
  });

  it("a switch the scope sets reaches its next request, and only that scope's", async () => {
    const target = await app({
      ...builtIn,
      config: { mcpServers: { a: { url: alpha.url }, b: { url: beta.url, availability: "default_off" } } },
    });
    const [one, two] = [as("key-one-0123456789"), as("key-two-0123456789")];
    expect(await warm(target, one)).toEqual({ tools: ["a__alpha"], atOnce: true });
    expect(await warm(target, two)).toEqual({ tools: ["a__alpha"], atOnce: true });
    expect((await call(target, "PUT", "/mcp-servers/b/preference", one, { enabled: true })).status).toBeLessThan(300);
    expect(await toolsOf(target, one)).toEqual(["a__alpha", "b__beta"]);
    expect(await warm(target, two)).toEqual({ tools: ["a__alpha"], atOnce: true });
    expect((await call(target, "DELETE", "/mcp-servers/b/preference", one)).status).toBeLessThan(300);
    expect(await toolsOf(target, one)).toEqual(["a__alpha"]);
    expect(await warm(target, one)).toEqual({ tools: ["a__alpha"], atOnce: true });
  });

  it("a tool list change (tools/list_changed) reaches the next warm requests", async () => {
    const server = await startStreamableServer({ tools: [echoTool("first")] });
    cleanups.push(() => server.close());
    const target = await app({ ...builtIn, config: { mcpServers: { live: { url: server.url } } } });
    expect(await warm(target, {})).toEqual({ tools: ["live__first"], atOnce: true });
    await server.setTools([echoTool("first"), echoTool("second")]);
    await eventually(async () => (await toolsOf(target, {})).includes("live__second"));
    expect(await warm(target, {})).toEqual({ tools: ["live__first", "live__second"], atOnce: true });
  });

  describe("two instances sharing Redis (two workers)", () => {
    const prefix = redisPrefix("warm");

    it("a write and a switch through one instance reach the other's warm requests", async () => {
      const encryptionKey = newEncryptionKey();
      const shared = (): McpServerSideOptions => ({
        ...builtIn,
        storage: redisStore({ url: REDIS_URL, prefix }),
        encryptionKey,
        config: { mcpServers: { b: { url: beta.url, availability: "default_off" } } },
      });
      const first = await app(shared());
      const second = await app(shared());
      const tenant = as("key-redis-0123456789");
      // The second instance has the tenant's tiers and switches read before the writes.
      expect(await warm(second, tenant)).toEqual({ tools: [], atOnce: true });

      expect((await call(first, "POST", "/mcp-servers", tenant, { name: "docs", url: alpha.url })).status).toBe(201);
      await eventually(async () => (await toolsOf(second, tenant)).includes("docs__alpha"));
      expect(await warm(second, tenant)).toEqual({ tools: ["docs__alpha"], atOnce: true });

      expect((await call(first, "PUT", "/mcp-servers/b/preference", tenant, { enabled: true })).status).toBeLessThan(
        300,
      );
      await eventually(async () => (await toolsOf(second, tenant)).includes("b__beta"));
      expect(await toolsOf(second, tenant)).toEqual(["b__beta", "docs__alpha"]);

      expect((await call(first, "DELETE", "/mcp-servers/docs", tenant)).status).toBe(204);
      await eventually(async () => !(await toolsOf(second, tenant)).includes("docs__alpha"));
      expect((await call(first, "DELETE", "/mcp-servers/b/preference", tenant)).status).toBeLessThan(300);
      await eventually(async () => (await toolsOf(second, tenant)).length === 0);
      expect(await warm(second, tenant)).toEqual({ tools: [], atOnce: true });
    });
  });
});
