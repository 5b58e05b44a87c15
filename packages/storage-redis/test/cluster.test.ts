import { randomUUID } from "node:crypto";
import {
  type McpStore,
  type StoreChangeEvent,
  type StoredServer,
  type StoreScope,
  storeKeys,
} from "@mcp-server-side/core/store";
import { describeStoreConformance, sampleServer } from "@mcp-server-side/core/testing";
import { redisStore } from "@mcp-server-side/storage-redis";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type ClusterNode,
  clusterUnavailableReason,
  type PrivateRedisCluster,
  startPrivateRedisCluster,
} from "./support/redis-cluster.js";

// SPEC §6: the Redis store works against Redis Cluster. A real three-master cluster on this machine
// proves it; without redis-server and redis-cli the whole file is skipped under a title that says why.
const unavailable = clusterUnavailableReason();
const describeCluster = unavailable === undefined ? describe : describe.skip;
const title =
  unavailable === undefined ? "redisStore on Redis Cluster" : `redisStore on Redis Cluster (skipped: ${unavailable})`;

const prefix = `mcp-test-cluster-${process.pid}-${randomUUID().slice(0, 8)}:`;

describeCluster(title, () => {
  let cluster: PrivateRedisCluster;
  /** Every Cluster client a test opened, disconnected at the end (the store never closes an injected client). */
  const clients: Cluster[] = [];

  /** A client of its own for each store, as separate workers would have. */
  function clusterClient(): Cluster {
    const client = new Cluster(cluster.nodes);
    client.on("error", () => undefined);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    cluster = await startPrivateRedisCluster(3);
  });

  afterAll(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await cluster?.close();
  });

  describeStoreConformance("redisStore on Redis Cluster", () => redisStore({ client: clusterClient(), prefix }), {
    capabilities: { changeEvents: true, crossInstanceEvents: true, expiry: true },
  });

  describe("across the cluster's nodes", () => {
    it("spreads 200 tenants' servers, secrets and pending states over every node and serves each of them", {
      timeout: 30_000,
    }, async () => {
      const keyPrefix = `${prefix}spread:`;
      const store = redisStore({ client: clusterClient(), prefix: keyPrefix });
      const watcher = redisStore({ client: clusterClient(), prefix: keyPrefix });
      const events: StoreChangeEvent[] = [];
      const unwatch = await watcher.watch?.((event) => events.push(event));
      try {
        expect(watcher.watchHealthy?.()).toBe(true);
        // Ids that stand in the key as they are and ids that are digested (`org:7`, an e-mail, non-ASCII).
        const scopes = Array.from({ length: 200 }, (_, index): StoreScope => {
          const id = index % 4 === 0 ? `org:${index}/ü` : `tenant-${index}`;
          return { kind: "scope", id };
        });
        const pendingIds = Array.from({ length: 200 }, (_, index) => `pending-${index}-${"x".repeat(16)}`);

        await Promise.all(
          scopes.map(async (scope, index) => {
            expect(await store.create(scope, server("docs", `docs of ${index}`), { maxServers: 2 })).toEqual({
              ok: true,
            });
            expect(await store.create(scope, server("wiki"), { maxServers: 2 })).toEqual({ ok: true });
            expect(await store.create(scope, server("third"), { maxServers: 2 })).toEqual({
              ok: false,
              reason: "limit",
            });
            await store.setUserSecret(scope, "docs", `user-${index}@example.com`, `secret ${index}`, 60_000);
          }),
        );
        await store.create({ kind: "global" }, server("docs", "global docs"), { maxServers: 10 });
        await Promise.all(pendingIds.map((id, index) => store.putPending(id, `state ${index}`, 60_000)));

        // Each node holds a share of the keys, and each key sits on the node CLUSTER KEYSLOT assigns it to.
        const kinds = new Map<string, Set<string>>();
        for (const node of cluster.nodes) {
          const address = `${node.host}:${node.port}`;
          const admin = cluster.admin(node);
          const keys = await scanNode(admin, `${keyPrefix}*`);
          const found = new Set<string>();
          for (const key of keys) {
            const slot = Number(await admin.cluster("KEYSLOT", key));
            expect(cluster.ownerOf(slot), `${key} (slot ${slot}) lives on its slot's owner`).toBe(address);
            found.add(kindOf(key, keyPrefix));
          }
          kinds.set(address, found);
        }
        expect(kinds.size).toBe(3);
        for (const [address, found] of kinds) {
          expect([...found].sort(), `the kinds of key on ${address}`).toEqual(["pending", "secrets", "servers"]);
        }
        const [firstNode] = cluster.nodes;
        if (firstNode === undefined) throw new Error("no node");
        const firstAdmin = cluster.admin(firstNode);
        const serverSlots = await Promise.all(
          scopes.map((scope) => firstAdmin.cluster("KEYSLOT", serversKey(keyPrefix, scope))),
        );
        const owners = new Set(serverSlots.map((slot) => cluster.ownerOf(Number(slot))));
        expect(owners.size, "the 200 scopes' hashes are spread over every master").toBe(3);

        // Every operation still answers for every scope, wherever its key lives.
        await Promise.all(
          scopes.map(async (scope, index) => {
            const listed = await store.list(scope);
            expect(listed.map((stored) => stored.name).sort()).toEqual(["docs", "wiki"]);
            const docs = listed.find((stored) => stored.name === "docs");
            if (docs === undefined) throw new Error("docs missing");
            expect(docs.definition.description).toBe(`docs of ${index}`);
            const updated = { ...server("docs", `updated ${index}`), createdAt: docs.createdAt };
            expect(await store.update(scope, updated, { expectedRevision: docs.revision })).toEqual({ ok: true });
            expect(await store.update(scope, updated, { expectedRevision: docs.revision })).toEqual({
              ok: false,
              reason: "revision_mismatch",
            });
            expect(await store.get(scope, "docs")).toEqual(updated);
            expect(await store.delete(scope, "wiki", {})).toEqual({ ok: true });
            expect(await store.getUserSecret(scope, "docs", `user-${index}@example.com`)).toBe(`secret ${index}`);
            await store.deleteUserSecret(scope, "docs", `user-${index}@example.com`);
            expect(await store.getUserSecret(scope, "docs", `user-${index}@example.com`)).toBeNull();
          }),
        );
        const taken = await Promise.all(pendingIds.map((id) => store.takePending(id)));
        expect(taken).toEqual(pendingIds.map((_, index) => `state ${index}`));
        expect(await Promise.all(pendingIds.map((id) => store.takePending(id)))).toEqual(pendingIds.map(() => null));

        const listedScopes = await store.listScopes();
        expect(listedScopes).toHaveLength(201);
        expect(listedScopes).toEqual(expect.arrayContaining([{ kind: "global" }, ...scopes]));

        // The watcher's one subscription, on one node, hears writes to keys on every node.
        await vi.waitFor(
          () => {
            for (const scope of scopes) {
              const seen = events.filter((event) => event.type !== "reset" && sameScope(event.scope, scope));
              expect(seen.map((event) => `${event.type} ${"name" in event ? event.name : ""}`)).toEqual([
                "created docs",
                "created wiki",
                "updated docs",
                "deleted wiki",
              ]);
            }
          },
          { timeout: 10_000, interval: 100 },
        );
        expect(watcher.watchHealthy?.()).toBe(true);
      } finally {
        await unwatch?.();
        await closeAll(store, watcher);
      }
    });

    it("loads its Lua scripts again on a node that forgot them (SCRIPT FLUSH on every master)", async () => {
      const store = redisStore({ client: clusterClient(), prefix: `${prefix}flush:` });
      const scopes = Array.from({ length: 30 }, (_, index): StoreScope => ({ kind: "scope", id: `flush-${index}` }));
      try {
        for (const scope of scopes) await store.create(scope, server("first"), { maxServers: 10 });
        for (const node of cluster.nodes) await cluster.admin(node).script("FLUSH");
        for (const scope of scopes) {
          expect(await store.create(scope, server("second"), { maxServers: 10 })).toEqual({ ok: true });
          expect(await store.delete(scope, "first", {})).toEqual({ ok: true });
          expect((await store.list(scope)).map((stored) => stored.name)).toEqual(["second"]);
        }
        await store.putPending("p".repeat(20), "state", 60_000);
        for (const node of cluster.nodes) await cluster.admin(node).script("FLUSH");
        expect(await store.takePending("p".repeat(20))).toBe("state");
      } finally {
        await store.close?.();
      }
    });

    it("tells watchers to drop what they cached when its subscription is cut, then hears writes again", async () => {
      const keyPrefix = `${prefix}cut:`;
      const writer = redisStore({ client: clusterClient(), prefix: keyPrefix });
      const watcher = redisStore({ client: clusterClient(), prefix: keyPrefix });
      const events: StoreChangeEvent[] = [];
      const unwatch = await watcher.watch?.((event) => events.push(event));
      try {
        const scope: StoreScope = { kind: "scope", id: "cut" };
        await writer.create(scope, server("docs"), { maxServers: 10 });
        await vi.waitFor(() => expect(events).toContainEqual({ type: "created", scope, name: "docs" }));

        // The network drops the subscriber's connection, wherever it is: whatever was published until it
        // is subscribed again is lost, so the watcher must be told to drop everything it cached.
        for (const node of cluster.nodes) await cluster.admin(node).client("KILL", "TYPE", "pubsub");
        // One reset when the subscription goes down, another once it is back (what was published meanwhile is lost).
        await vi.waitFor(
          () => expect(events.filter((event) => event.type === "reset").length).toBeGreaterThanOrEqual(2),
          {
            timeout: 10_000,
          },
        );

        await writer.update(scope, server("docs", "after the cut"), {});
        await vi.waitFor(() => expect(events).toContainEqual({ type: "updated", scope, name: "docs" }), {
          timeout: 10_000,
        });
        expect(watcher.watchHealthy?.()).toBe(true);
      } finally {
        await unwatch?.();
        await closeAll(writer, watcher);
      }
    });

    it("waits for a cluster client that is still discovering its nodes instead of failing", async () => {
      const client = new Cluster(cluster.nodes, { lazyConnect: true });
      client.on("error", () => undefined);
      clients.push(client);
      const store = redisStore({ client, prefix: `${prefix}lazy:` });
      try {
        const scope: StoreScope = { kind: "scope", id: "lazy" };
        expect(await store.create(scope, server("docs"), { maxServers: 10 })).toEqual({ ok: true });
        expect((await store.list(scope)).map((stored) => stored.name)).toEqual(["docs"]);
        await expect(store.ping?.()).resolves.toBeUndefined();
      } finally {
        await store.close?.();
      }
    });
  });
});

// Killing a master breaks its slots for good, so this runs on a cluster of its own.
describeCluster(`${title}: a node that dies`, () => {
  let cluster: PrivateRedisCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startPrivateRedisCluster(3);
    client = new Cluster(cluster.nodes);
    client.on("error", () => undefined);
  });

  afterAll(async () => {
    client?.disconnect();
    await cluster?.close();
  });

  it("moves its subscription to a live node when the node it was on dies, and tells watchers to drop their caches", {
    timeout: 20_000,
  }, async () => {
    const keyPrefix = `${prefix}dies:`;
    const watcher = redisStore({ client, prefix: keyPrefix });
    const events: StoreChangeEvent[] = [];
    const unwatch = await watcher.watch?.((event) => events.push(event));
    try {
      expect(watcher.watchHealthy?.()).toBe(true);
      const holders: ClusterNode[] = [];
      for (const node of cluster.nodes) {
        const pubsub = String(await cluster.admin(node).call("CLIENT", "LIST", "TYPE", "pubsub"));
        if (pubsub.trim() !== "") holders.push(node);
      }
      expect(holders, "exactly one node carries the watcher's subscription").toHaveLength(1);
      const [dead] = holders;
      if (dead === undefined) throw new Error("no subscribed node");
      await cluster.stopNode(dead);

      // One reset when the subscription goes down, another once it is back on a live node.
      await vi.waitFor(
        () => expect(events.filter((event) => event.type === "reset").length).toBeGreaterThanOrEqual(2),
        {
          timeout: 15_000,
          interval: 50,
        },
      );
      expect(watcher.watchHealthy?.()).toBe(true);
      // Another worker's write, published on a node that is still alive, reaches the watcher.
      const live = cluster.nodes.find((node) => node !== dead);
      if (live === undefined) throw new Error("no live node");
      const scope: StoreScope = { kind: "scope", id: "survivor" };
      await cluster
        .admin(live)
        .publish(
          `${keyPrefix}events`,
          JSON.stringify({ type: "updated", scope, name: "docs", origin: "another-worker" }),
        );
      await vi.waitFor(() => expect(events).toContainEqual({ type: "updated", scope, name: "docs" }));
    } finally {
      await unwatch?.();
      await watcher.close?.();
    }
  });
});

function server(name: string, description = name): StoredServer {
  return sampleServer(name, { description });
}

/** The scope's servers key as the store lays it out (the layout test in redis-store.test.ts pins it). */
function serversKey(keyPrefix: string, scope: StoreScope): string {
  return `${keyPrefix}{${storeKeys.servers(scope)}}`;
}

function kindOf(key: string, keyPrefix: string): string {
  const rest = key.slice(keyPrefix.length);
  if (rest.startsWith("{servers:") || rest.startsWith("{scopes:")) return "servers";
  if (rest.startsWith("secrets:")) return "secrets";
  if (rest.startsWith("pending:")) return "pending";
  return `unexpected ${rest}`;
}

async function scanNode(admin: ReturnType<PrivateRedisCluster["admin"]>, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== "0");
  return found;
}

function sameScope(left: StoreScope, right: StoreScope): boolean {
  return left.kind === right.kind && (left.kind === "global" || (right.kind === "scope" && left.id === right.id));
}

async function closeAll(...stores: McpStore[]): Promise<void> {
  for (const store of stores) await store.close?.();
}
