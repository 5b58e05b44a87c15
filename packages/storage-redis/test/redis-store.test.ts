import { randomUUID } from "node:crypto";
import type { StoreChangeEvent, StoredServer, StoreScope } from "@mcp-server-side/core/store";
import { describeStoreConformance, sampleServer } from "@mcp-server-side/core/testing";
import { redisStore } from "@mcp-server-side/storage-redis";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it, vi } from "vitest";
import { closedPort, startProxy } from "./support/redis.js";

const REDIS_URL = "redis://127.0.0.1:6379";
/** Every key of this run starts with it; afterAll deletes exactly those. */
const prefix = `mcp-test-${process.pid}-${randomUUID().slice(0, 8)}:`;
const admin = new Redis(REDIS_URL);

afterAll(async () => {
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== "0");
  await admin.quit();
});

// Instances share one injected client (and so one backend), as the workers of an app would share Redis.
const shared = new Redis(REDIS_URL);
afterAll(async () => {
  await shared.quit();
});
describeStoreConformance("redis (injected client)", () => redisStore({ client: shared, prefix }), {
  capabilities: { changeEvents: true, crossInstanceEvents: true, expiry: true },
});

// Each instance creates its own client from the URL and closes it.
describeStoreConformance(
  "redis (client created from a URL)",
  () => redisStore({ url: REDIS_URL, prefix: `${prefix}url:` }),
  {
    capabilities: { changeEvents: true, crossInstanceEvents: true, expiry: true },
  },
);

const scope: StoreScope = { kind: "scope", id: "tenant-1" };

function server(name: string, description = name): StoredServer {
  return sampleServer(name, { description });
}

function uniquePrefix(): string {
  return `${prefix}${randomUUID().slice(0, 8)}:`;
}

describe("redisStore", () => {
  describe("setup", () => {
    it("refuses options with neither a client nor a URL, or with both", () => {
      expect(() => redisStore({})).toThrow(/client.*url/);
      expect(() => redisStore({ client: shared, url: REDIS_URL })).toThrow(/not both/);
    });

    it("refuses a prefix that would break the Cluster hash tag", () => {
      expect(() => redisStore({ client: shared, prefix: "{tenant}" })).toThrow(/prefix/);
    });

    it("is persistent", () => {
      expect(redisStore({ client: shared }).persistent).toBe(true);
    });
  });

  describe("layout", () => {
    it("keeps all servers of a scope in one hash, hash-tagged by the scope's servers key", async () => {
      const keyPrefix = uniquePrefix();
      const store = redisStore({ client: shared, prefix: keyPrefix });
      await store.create(scope, server("constructor"), { maxServers: 10 });
      await store.create(scope, server("docs"), { maxServers: 10 });
      await store.create({ kind: "global" }, server("docs"), { maxServers: 10 });
      expect(await keysUnder(keyPrefix)).toEqual([
        `${keyPrefix}{scopes:index}`,
        `${keyPrefix}{servers:global}`,
        `${keyPrefix}{servers:scope:tenant-1}`,
      ]);
      expect(await admin.type(`${keyPrefix}{servers:scope:tenant-1}`)).toBe("hash");
      expect((await admin.hkeys(`${keyPrefix}{servers:scope:tenant-1}`)).sort()).toEqual(["constructor", "docs"]);
    });

    it("stores secrets and pending states with a Redis expiry", async () => {
      const keyPrefix = uniquePrefix();
      const store = redisStore({ client: shared, prefix: keyPrefix });
      await store.setUserSecret(scope, "docs", "alice", "sealed", 60_000);
      await store.putPending("p".repeat(20), "state", 30_000);
      const keys = await keysUnder(keyPrefix);
      // The server's users index (which server deletion empties in one script) has no expiry of its own.
      const index = keys.filter((key) => key.endsWith(":users"));
      expect(index).toHaveLength(1);
      const expiring = keys.filter((key) => !key.endsWith(":users"));
      expect(expiring).toHaveLength(2);
      for (const key of expiring) expect(await admin.pttl(key)).toBeGreaterThan(0);
      expect(await admin.smembers(index[0] ?? "")).toEqual(expiring.filter((key) => key.includes(":user:")));
    });

    it("lists servers in the order they were created", async () => {
      const store = redisStore({ client: shared, prefix: uniquePrefix() });
      const names = ["zeta", "alpha", "mid"];
      for (const [index, name] of names.entries()) {
        await store.create(
          scope,
          { ...server(name), createdAt: new Date(Date.UTC(2024, 0, index + 1)).toISOString() },
          { maxServers: 10 },
        );
      }
      expect((await store.list(scope)).map((stored) => stored.name)).toEqual(names);
    });

    it("loads its Lua scripts again after Redis forgot them (SCRIPT FLUSH)", async () => {
      const store = redisStore({ client: shared, prefix: uniquePrefix() });
      await store.create(scope, server("first"), { maxServers: 10 });
      await admin.script("FLUSH");
      expect(await store.create(scope, server("second"), { maxServers: 10 })).toEqual({ ok: true });
      expect(await store.list(scope)).toHaveLength(2);
    });

    it("answers storage_unavailable for a stored value that is not a server", async () => {
      const keyPrefix = uniquePrefix();
      const store = redisStore({ client: shared, prefix: keyPrefix });
      await admin.hset(`${keyPrefix}{servers:scope:tenant-1}`, "docs", "{not json");
      await expect(store.list(scope)).rejects.toMatchObject({ code: "storage_unavailable", status: 503 });
      await expect(store.get(scope, "docs")).rejects.toMatchObject({ code: "storage_unavailable" });
    });
  });

  describe("change events", () => {
    it("publishes every write on the <prefix>events channel as JSON with type, scope and name", async () => {
      const keyPrefix = uniquePrefix();
      const listener = shared.duplicate();
      const messages: unknown[] = [];
      listener.on("message", (_channel: string, message: string) => messages.push(JSON.parse(message)));
      await listener.subscribe(`${keyPrefix}events`);
      try {
        const store = redisStore({ client: shared, prefix: keyPrefix });
        await store.create(scope, server("docs"), { maxServers: 10 });
        await store.update(scope, server("docs"), {});
        await store.delete(scope, "docs", {});
        await store.create(scope, server("refused"), { maxServers: 0 });
        await vi.waitFor(() => expect(messages).toHaveLength(3));
        expect(messages).toEqual([
          expect.objectContaining({ type: "created", scope, name: "docs" }),
          expect.objectContaining({ type: "updated", scope, name: "docs" }),
          expect.objectContaining({ type: "deleted", scope, name: "docs" }),
        ]);
      } finally {
        listener.disconnect();
      }
    });

    it("ignores malformed messages on the channel and passes on well-formed ones from other instances", async () => {
      const keyPrefix = uniquePrefix();
      const store = redisStore({ client: shared, prefix: keyPrefix });
      const events: StoreChangeEvent[] = [];
      const unwatch = await store.watch?.((event) => events.push(event));
      try {
        const channel = `${keyPrefix}events`;
        for (const garbage of [
          "not json",
          "null",
          '{"type":"created"}',
          '{"type":"dropped","scope":{"kind":"global"},"name":"docs"}',
          '{"type":"created","scope":{"kind":"global"},"name":"__proto__"}',
          '{"type":"created","scope":{"kind":"tenant"},"name":"docs"}',
        ]) {
          await admin.publish(channel, garbage);
        }
        await admin.publish(
          channel,
          JSON.stringify({ type: "updated", scope: { kind: "global" }, name: "docs", origin: "another-worker" }),
        );
        await vi.waitFor(() => expect(events).toHaveLength(1));
        expect(events).toEqual([{ type: "updated", scope: { kind: "global" }, name: "docs" }]);
      } finally {
        await unwatch?.();
        await store.close?.();
      }
    });

    it("tells its own watchers about its own writes once, not again through Redis", async () => {
      const store = redisStore({ client: shared, prefix: uniquePrefix() });
      const events: StoreChangeEvent[] = [];
      const unwatch = await store.watch?.((event) => events.push(event));
      try {
        await store.create(scope, server("docs"), { maxServers: 10 });
        await store.create(scope, server("marker"), { maxServers: 10 });
        // The marker's event has also travelled through Redis by the time a PING round trip is back.
        await shared.ping();
        expect(events).toEqual([
          { type: "created", scope, name: "docs" },
          { type: "created", scope, name: "marker" },
        ]);
      } finally {
        await unwatch?.();
        await store.close?.();
      }
    });

    it("says its events are unhealthy before anyone watches and healthy once subscribed", async () => {
      const store = redisStore({ client: shared, prefix: uniquePrefix() });
      expect(store.watchHealthy?.()).toBe(false);
      const unwatch = await store.watch?.(() => undefined);
      expect(store.watchHealthy?.()).toBe(true);
      await unwatch?.();
      expect(store.watchHealthy?.()).toBe(false);
      await store.close?.();
    });
  });

  describe("when Redis is away", () => {
    it("fails with storage_unavailable, without hanging, when nothing listens on the port", {
      timeout: 10_000,
    }, async () => {
      const port = await closedPort();
      const store = redisStore({ url: `redis://admin:hunter2-secret@127.0.0.1:${port}`, prefix: uniquePrefix() });
      try {
        const operations: Array<() => Promise<unknown>> = [
          () => store.list(scope),
          () => store.create(scope, server("docs"), { maxServers: 10 }),
          () => store.takePending("p".repeat(20)),
          async () => store.ping?.(),
        ];
        for (const operation of operations) {
          const error = await operation().catch((caught: unknown) => caught);
          expect(error).toMatchObject({ code: "storage_unavailable", status: 503 });
          const text = JSON.stringify({
            message: (error as Error).message,
            stack: (error as Error).stack,
            cause: String((error as Error).cause),
          });
          expect(text).not.toContain("hunter2");
        }
      } finally {
        await store.close?.();
      }
    });

    it("fails with storage_unavailable after timeoutMs even when an injected client would queue commands for ever", {
      timeout: 10_000,
    }, async () => {
      const port = await closedPort();
      const client = new Redis(port, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: null });
      client.on("error", () => undefined);
      const store = redisStore({ client, prefix: uniquePrefix(), timeoutMs: 300 });
      try {
        await expect(store.list(scope)).rejects.toMatchObject({ code: "storage_unavailable" });
        await expect(store.get(scope, "docs")).rejects.toMatchObject({ code: "storage_unavailable" });
      } finally {
        await store.close?.();
        client.disconnect();
      }
    });

    it("still returns from watch() and reports unhealthy events while Redis cannot be reached", {
      timeout: 10_000,
    }, async () => {
      const port = await closedPort();
      const store = redisStore({ url: `redis://127.0.0.1:${port}`, prefix: uniquePrefix(), timeoutMs: 300 });
      try {
        const unwatch = await store.watch?.(() => undefined);
        expect(store.watchHealthy?.()).toBe(false);
        await unwatch?.();
      } finally {
        await store.close?.();
      }
    });

    it("recovers by itself when Redis comes back, and tells watchers to drop what they cached", {
      timeout: 30_000,
    }, async () => {
      const proxy = await startProxy();
      const keyPrefix = uniquePrefix();
      const store = redisStore({ url: `redis://127.0.0.1:${proxy.port}`, prefix: keyPrefix, timeoutMs: 500 });
      const other = redisStore({ client: shared, prefix: keyPrefix });
      const events: StoreChangeEvent[] = [];
      try {
        const unwatch = await store.watch?.((event) => events.push(event));
        expect(await store.create(scope, server("docs"), { maxServers: 10 })).toEqual({ ok: true });
        expect(store.watchHealthy?.()).toBe(true);

        await proxy.stop();
        await vi.waitFor(() => expect(store.watchHealthy?.()).toBe(false));
        await expect(store.list(scope)).rejects.toMatchObject({ code: "storage_unavailable" });
        // A change made by another worker while this one is cut off.
        await other.update(scope, server("docs", "changed while away"), {});

        await proxy.start();
        await vi.waitFor(
          async () => {
            const listed = await store.list(scope);
            expect(listed.map((stored) => stored.definition.description)).toEqual(["changed while away"]);
          },
          { timeout: 15_000, interval: 100 },
        );
        await vi.waitFor(() => expect(store.watchHealthy?.()).toBe(true), { timeout: 15_000, interval: 100 });
        expect(events).toContainEqual({ type: "reset" });
        await unwatch?.();
      } finally {
        await store.close?.();
        await proxy.close();
      }
    });
  });

  // Behind a running app: outage.test.ts (Redis cut and restarted) and workers.test.ts (two worker processes).
});

async function keysUnder(keyPrefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 500);
    cursor = next;
    found.push(...keys);
  } while (cursor !== "0");
  return found.sort();
}
