import { randomUUID } from "node:crypto";
import { redisStore } from "@mcp-server-side/storage-redis";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createMcpServerSide } from "../../src/create.js";
import type { McpStore, StoreScope } from "../../src/store/types.js";
import { unstorageStore } from "../../src/store/unstorage-store.js";
import type { Identity, McpServerSide } from "../../src/types.js";
import { call, deleteRedisKeys, memoryBackend, newEncryptionKey } from "../security/app-helpers.js";

/*
 * SPEC §4 / issue 9 §6: a route takes a server's body, its ETag and the revision a PATCH merges onto
 * from ONE read of the store. Proven deterministically: the real store is wrapped so that one `list`
 * of a tenant's scope pauses after it read (holding the old state) until the test has finished a
 * concurrent write; the instance's clock is moved past the cache lifetime so every route reads the
 * store instead of its cache.
 */

const REDIS_URL = "redis://127.0.0.1:6379";
const TENANT: Identity = { scope: "t1" };
const identify = (request: Request): Identity | null => (request.headers.get("x-api-key") === "k" ? TENANT : null);
const PUBLIC = "https://1.1.1.1/mcp";

interface Gate {
  /** Resolves when the paused `list` has read the store and is waiting. */
  reached: Promise<void>;
  release(): void;
}

/** The real store, with `pauseNextScopeList()` to hold the next `list` of a tenant scope after it read. */
function pausable(store: McpStore): { store: McpStore; pauseNextScopeList(): Gate } {
  let armed: { reached: () => void; released: Promise<void> } | undefined;
  const proxy = new Proxy(store, {
    get(target, property) {
      if (property === "list") {
        return async (scope: StoreScope) => {
          const records = await target.list(scope);
          const gate = scope.kind === "scope" ? armed : undefined;
          if (gate) {
            armed = undefined;
            gate.reached();
            await gate.released;
          }
          return records;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    store: proxy,
    pauseNextScopeList() {
      let reached!: () => void;
      let release!: () => void;
      const gate: Gate = {
        reached: new Promise((resolve) => {
          reached = resolve;
        }),
        release: () => release(),
      };
      armed = {
        reached,
        released: new Promise((resolve) => {
          release = resolve;
        }),
      };
      return gate;
    },
  };
}

const redis = new Redis(REDIS_URL);
const prefixes: string[] = [];
const instances: McpServerSide[] = [];

afterEach(async () => {
  await Promise.all(instances.splice(0).map((mcp) => mcp.close()));
});

afterAll(async () => {
  for (const prefix of prefixes) await deleteRedisKeys(redis, prefix);
  redis.disconnect();
});

const stores: { name: string; make(): McpStore }[] = [
  { name: "the unstorage store in memory", make: () => unstorageStore(memoryBackend().storage) },
  {
    name: "the Redis store on a real Redis",
    make: () => {
      const prefix = `test-consistency-${randomUUID().slice(0, 8)}:`;
      prefixes.push(prefix);
      return redisStore({ url: REDIS_URL, prefix });
    },
  },
];

describe.each(stores)("one snapshot per route, on $name", ({ make }) => {
  async function setup() {
    const { store, pauseNextScopeList } = pausable(make());
    let clock = Date.now();
    const mcp = createMcpServerSide({ storage: store, encryptionKey: newEncryptionKey(), identify, now: () => clock });
    instances.push(mcp);
    await mcp.ready();
    // Past any cache lifetime (watched or not), so the next read of each tier goes to the store.
    const expireCache = (): void => {
      clock += 10 * 60_000;
    };
    return { mcp, pauseNextScopeList, expireCache };
  }

  it("GET /:name pairs the body with the ETag of the same revision while a PATCH lands in between", async () => {
    const { mcp, pauseNextScopeList, expireCache } = await setup();
    const created = await call(mcp, "POST", "/mcp-servers", {
      key: "k",
      body: { name: "docs", url: PUBLIC, description: "v1" },
    });
    expect(created.status, created.text).toBe(201);
    const v1 = created.headers.get("etag");

    expireCache();
    const gate = pauseNextScopeList();
    const reading = call(mcp, "GET", "/mcp-servers/docs", { key: "k" });
    await gate.reached; // the GET has read v1 and waits

    expireCache();
    const patched = await call(mcp, "PATCH", "/mcp-servers/docs", { key: "k", body: { description: "v2" } });
    expect(patched.status, patched.text).toBe(200);
    const v2 = patched.headers.get("etag");
    expect(v2).not.toBe(v1);

    gate.release();
    const read = await reading;
    expect(read.status, read.text).toBe(200);
    expect(read.json.description).toBe("v1");
    expect(read.headers.get("etag")).toBe(v1);

    // So a conditional PATCH based on that stale read is refused instead of overwriting v2.
    const stale = await call(mcp, "PATCH", "/mcp-servers/docs", {
      key: "k",
      body: { description: "from the stale read" },
      headers: { "if-match": read.headers.get("etag") ?? "" },
    });
    expect(stale.status, stale.text).toBe(412);
    expect(stale.json.code).toBe("precondition_failed");
    expireCache();
    const now = await call(mcp, "GET", "/mcp-servers/docs", { key: "k" });
    expect(now.json.description).toBe("v2");
    expect(now.headers.get("etag")).toBe(v2);
  });

  it("PATCH without If-Match writes on the revision it merged onto: a concurrent write is a 409, not lost", async () => {
    const { mcp, pauseNextScopeList, expireCache } = await setup();
    const created = await call(mcp, "POST", "/mcp-servers", {
      key: "k",
      body: { name: "docs", url: PUBLIC, description: "v1" },
    });
    expect(created.status, created.text).toBe(201);

    expireCache();
    const gate = pauseNextScopeList();
    const first = call(mcp, "PATCH", "/mcp-servers/docs", { key: "k", body: { description: "from the first" } });
    await gate.reached; // the first PATCH holds v1 as its base

    expireCache();
    const second = await call(mcp, "PATCH", "/mcp-servers/docs", { key: "k", body: { timeoutMs: 4321 } });
    expect(second.status, second.text).toBe(200);

    gate.release();
    const lost = await first;
    expect(lost.status, lost.text).toBe(409);
    expect(lost.json.code).toBe("conflict");

    expireCache();
    const now = await call(mcp, "GET", "/mcp-servers/docs", { key: "k" });
    expect(now.json).toMatchObject({ description: "v1", timeoutMs: 4321 });
    expect(now.headers.get("etag")).toBe(second.headers.get("etag"));
    // A retry merges onto what won.
    const retried = await call(mcp, "PATCH", "/mcp-servers/docs", {
      key: "k",
      body: { description: "from the first" },
    });
    expect(retried.status, retried.text).toBe(200);
    expect(retried.json).toMatchObject({ description: "from the first", timeoutMs: 4321 });
  });
});
