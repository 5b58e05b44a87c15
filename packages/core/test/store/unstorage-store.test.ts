import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeStoreConformance, sampleServer } from "@mcp-server-side/core/testing";
import { createStorage } from "unstorage";
import fsDriver from "unstorage/drivers/fs";
import fsLiteDriver from "unstorage/drivers/fs-lite";
import memoryDriver from "unstorage/drivers/memory";
import redisDriver from "unstorage/drivers/redis";
import { afterAll, describe, expect, it, vi } from "vitest";
import { McpServerSideError } from "../../src/errors.js";
import { storeKeys } from "../../src/store/keys.js";
import type { StoreChangeEvent, StoredServer, StoreScope } from "../../src/store/types.js";
import { unstorageStore } from "../../src/store/unstorage-store.js";

const temporaryDirectories: string[] = [];
afterAll(async () => {
  for (const directory of temporaryDirectories) await rm(directory, { recursive: true, force: true });
});

async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "mcp-store-"));
  temporaryDirectories.push(directory);
  return directory;
}

// One memory Storage shared by every instance, so instances see each other's writes and events.
const sharedMemory = createStorage();
describeStoreConformance("unstorage (memory driver)", () => unstorageStore(sharedMemory), {
  capabilities: { changeEvents: true, crossInstanceEvents: true, expiry: true },
});

// The default: a storage of its own, whose servers lists and scope index the store keeps in memory. Every
// "instance" is that one store (a storage of its own has no other), left open between tests.
const ownStore = unstorageStore();
describeStoreConformance("unstorage (a storage of its own)", () => ({ ...ownStore, close: async () => undefined }), {
  capabilities: { changeEvents: true, crossInstanceEvents: true, expiry: true },
});

// A Storage object per instance on one directory: instances meet only through the files, as processes would.
const fsBase = await temporaryDirectory();
// Its watcher forwards other instances' writes on a best-effort basis only (see the change events tests).
describeStoreConformance(
  "unstorage (fs driver)",
  () => unstorageStore(createStorage({ driver: fsDriver({ base: fsBase }) })),
  {
    capabilities: { changeEvents: true, crossInstanceEvents: false, expiry: true },
  },
);

// The unstorage redis driver has native TTLs but no watcher: change events stay within the instance.
const redisBase = `mcp-test-unstorage-${process.pid}-${Date.now()}`;
const redisStorage = createStorage({ driver: redisDriver({ url: "redis://127.0.0.1:6379", base: redisBase }) });
afterAll(async () => {
  await redisStorage.clear();
  await redisStorage.dispose();
});
describeStoreConformance("unstorage (redis driver)", () => unstorageStore(redisStorage), {
  capabilities: { changeEvents: true, crossInstanceEvents: false, expiry: true },
});

const scope: StoreScope = { kind: "scope", id: "tenant-1" };

function server(name: string, description = name): StoredServer {
  return sampleServer(name, { description });
}

describe("unstorageStore", () => {
  it("on a storage of its own, removes a deleted server's user secrets, preferences and pins once it wrote some, and lists its scopes", async () => {
    // Its own storage lets a delete skip the key scans and the pins while none was ever written.
    const store = unstorageStore();
    const scope: StoreScope = { kind: "scope", id: "own" };
    for (const name of ["first", "second"]) {
      await store.create(scope, sampleServer(name), { maxServers: 10 });
    }
    expect(await store.listScopes()).toEqual([scope]);
    expect((await store.delete(scope, "first", {})).ok).toBe(true);
    await store.setUserSecret(scope, "second", "ada", "token-value");
    await store.setPreference(scope, "ada", "second", false);
    await store.addToolPins(scope, "second", new Map([["search", "pin-1"]]), { maxPins: 10 });
    expect((await store.delete(scope, "second", {})).ok).toBe(true);
    expect(await store.getUserSecret(scope, "second", "ada")).toBeNull();
    expect((await store.getPreferences(scope, "ada")).size).toBe(0);
    expect((await store.getToolPins(scope, "second")).size).toBe(0);
    // The index it keeps in memory follows its writes: the emptied scope is unlisted, a new one listed.
    expect(await store.listScopes()).toEqual([]);
    await store.create({ kind: "global" }, sampleServer("third"), { maxServers: 10 });
    expect(await store.listScopes()).toEqual([{ kind: "global" }]);
  });

  it("on a storage of its own, keeps what was written: neither the writer nor a reader can change a stored server", async () => {
    const store = unstorageStore();
    const written = server("docs", "as written");
    await store.create(scope, written, { maxServers: 10 });
    written.definition.description = "changed by the writer";
    const [listed] = await store.list(scope);
    expect(listed?.definition.description).toBe("as written");
    expect(() => {
      (listed as StoredServer).definition.description = "changed by a reader";
    }).toThrow(TypeError);
    expect((await store.get(scope, "docs"))?.definition.description).toBe("as written");
    const updated = { ...written, definition: { ...written.definition, description: "updated" }, revision: "r2" };
    expect((await store.update(scope, updated, { expectedRevision: written.revision })).ok).toBe(true);
    expect((await store.get(scope, "docs"))?.definition.description).toBe("updated");
  });

  describe("persistence", () => {
    it("is not persistent on the default in-memory storage", () => {
      expect(unstorageStore().persistent).toBe(false);
      expect(unstorageStore(createStorage({ driver: memoryDriver() })).persistent).toBe(false);
    });

    it("is persistent on an fs storage", async () => {
      const storage = createStorage({ driver: fsDriver({ base: await temporaryDirectory() }) });
      expect(unstorageStore(storage).persistent).toBe(true);
    });

    it("is persistent when a non-memory driver is mounted below a memory root", async () => {
      const storage = createStorage();
      storage.mount("servers", fsDriver({ base: await temporaryDirectory() }));
      expect(unstorageStore(storage).persistent).toBe(true);
    });

    it("lets the caller override the detection", () => {
      expect(unstorageStore(createStorage(), { persistent: true }).persistent).toBe(true);
    });

    it("keeps servers across store instances on one fs directory", async () => {
      const base = await temporaryDirectory();
      const first = unstorageStore(createStorage({ driver: fsDriver({ base }) }));
      const stored = server("docs");
      await first.create(scope, stored, { maxServers: 10 });
      const second = unstorageStore(createStorage({ driver: fsDriver({ base }) }));
      expect(await second.get(scope, "docs")).toEqual(stored);
    });
  });

  describe("layout", () => {
    it("keeps all servers of a scope in one item, an array under storeKeys.servers", async () => {
      const storage = createStorage();
      const store = unstorageStore(storage);
      await store.create(scope, server("constructor"), { maxServers: 10 });
      await store.create(scope, server("docs"), { maxServers: 10 });
      expect((await storage.getKeys()).sort()).toEqual([storeKeys.scopeIndex(), storeKeys.servers(scope)].sort());
      const item = await storage.getItem(storeKeys.servers(scope));
      expect(Array.isArray(item)).toBe(true);
      expect((item as StoredServer[]).map((stored) => stored.name)).toEqual(["constructor", "docs"]);
    });

    it("removes the item when the last server of a scope is deleted", async () => {
      const storage = createStorage();
      const store = unstorageStore(storage);
      await store.create(scope, server("docs"), { maxServers: 10 });
      await store.delete(scope, "docs", {});
      expect(await storage.getKeys()).toEqual([]);
    });

    it("stores a user's secret where no server key can be a prefix of it (fs has files, not file-and-directory keys)", async () => {
      const storage = createStorage({ driver: fsDriver({ base: await temporaryDirectory() }) });
      const store = unstorageStore(storage);
      await store.create({ kind: "global" }, server("docs"), { maxServers: 10 });
      await store.setUserSecret({ kind: "global" }, "docs", "alice", "sealed");
      expect(await store.getUserSecret({ kind: "global" }, "docs", "alice")).toBe("sealed");
      expect(await store.list({ kind: "global" })).toHaveLength(1);
    });
  });

  describe("atomicity within a process", () => {
    it("serializes creates made through two store instances on the same Storage", async () => {
      const storage = createStorage();
      const [first, second] = [unstorageStore(storage), unstorageStore(storage)];
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          (index % 2 === 0 ? first : second).create(scope, server("docs", `${index}`), { maxServers: 10 }),
        ),
      );
      expect(results.filter((result) => result.ok)).toHaveLength(1);
      expect(await first.list(scope)).toHaveLength(1);
    });
  });

  describe("expiry", () => {
    it("forgets a secret and removes its item once the injected clock passes its ttl", async () => {
      let now = 1_000_000;
      const storage = createStorage();
      const store = unstorageStore(storage, { now: () => now });
      await store.setUserSecret(scope, "docs", "alice", "sealed", 5_000);
      now += 4_999;
      expect(await store.getUserSecret(scope, "docs", "alice")).toBe("sealed");
      now += 1;
      expect(await store.getUserSecret(scope, "docs", "alice")).toBeNull();
      expect(await storage.getKeys()).toEqual([]);
    });

    it("refuses a pending state that has expired, even on its first take", async () => {
      let now = 0;
      const store = unstorageStore(createStorage(), { now: () => now });
      const id = "a".repeat(32);
      await store.putPending(id, "state", 1_000);
      now = 1_000;
      expect(await store.takePending(id)).toBeNull();
    });

    it("refuses a ttl that is not a positive number", async () => {
      const store = unstorageStore();
      await expect(store.putPending("a".repeat(32), "state", 0)).rejects.toThrow(TypeError);
      await expect(store.setUserSecret(scope, "docs", "alice", "x", Number.NaN)).rejects.toThrow(TypeError);
    });
  });

  describe("failures", () => {
    it("answers storage_unavailable (503) when the driver fails, without the driver's message", async () => {
      const base = await temporaryDirectory();
      const blocker = join(base, "not-a-directory");
      await writeFile(blocker, "x");
      const store = unstorageStore(createStorage({ driver: fsDriver({ base: blocker }) }));
      const error = await store.create(scope, server("docs"), { maxServers: 10 }).catch((caught: unknown) => caught);
      expect(McpServerSideError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: "storage_unavailable", status: 503 });
      expect(String((error as Error).message)).not.toContain(blocker);
    });

    it("answers storage_unavailable for a Redis driver whose URL holds a password, and never repeats the password", async () => {
      const port = await closedPort();
      const storage = createStorage({
        driver: redisDriver({
          url: `redis://admin:hunter2-secret@127.0.0.1:${port}`,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          lazyConnect: true,
        }),
      });
      const store = unstorageStore(storage);
      const error = await store.list(scope).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: "storage_unavailable", status: 503 });
      expect(
        JSON.stringify({
          message: (error as Error).message,
          stack: (error as Error).stack,
          cause: (error as Error).cause,
        }),
      ).not.toContain("hunter2");
      await storage.dispose();
    });

    it("answers storage_unavailable for a stored item that is not a list of servers", async () => {
      const storage = createStorage();
      await storage.setItem(storeKeys.servers(scope), { docs: { name: "docs" } });
      const store = unstorageStore(storage);
      await expect(store.list(scope)).rejects.toMatchObject({ code: "storage_unavailable" });
    });
  });

  describe("change events", () => {
    it("tells a watcher on another instance of one memory Storage what changed, as a reset of the scope", async () => {
      const storage = createStorage();
      const [writer, watcher] = [unstorageStore(storage), unstorageStore(storage)];
      const events: StoreChangeEvent[] = [];
      await watcher.watch?.((event) => events.push(event));
      await writer.create({ kind: "global" }, server("docs"), { maxServers: 10 });
      await writer.create(scope, server("docs"), { maxServers: 10 });
      // A digested scope id cannot be turned back into the id: anything may have changed.
      await writer.create({ kind: "scope", id: "user@example.com" }, server("docs"), { maxServers: 10 });
      await writer.setUserSecret(scope, "docs", "alice", "sealed");
      await writer.putPending("a".repeat(32), "state", 60_000);
      expect(events).toEqual([
        { type: "reset", scope: { kind: "global" } },
        { type: "reset", scope },
        { type: "reset" },
      ]);
    });

    it("forwards writes that another process makes in an fs directory it watches", async () => {
      const base = await temporaryDirectory();
      const writer = unstorageStore(createStorage({ driver: fsDriver({ base }) }));
      // The watcher attaches to directories that exist when it starts; a brand-new directory can race it.
      await writer.create({ kind: "global" }, server("seed"), { maxServers: 10 });
      await writer.create({ kind: "scope", id: "seed" }, server("seed"), { maxServers: 10 });
      const watcher = unstorageStore(createStorage({ driver: fsDriver({ base }) }));
      const events: StoreChangeEvent[] = [];
      const unwatch = await watcher.watch?.((event) => events.push(event));
      try {
        await writer.create({ kind: "global" }, server("docs"), { maxServers: 10 });
        await writer.create(scope, server("docs"), { maxServers: 10 });
        await vi.waitFor(
          () =>
            expect(events).toEqual(
              expect.arrayContaining([
                { type: "reset", scope: { kind: "global" } },
                { type: "reset", scope },
              ]),
            ),
          {
            timeout: 5_000,
          },
        );
        expect(watcher.watchHealthy?.()).toBe(false);
      } finally {
        await unwatch?.();
        await watcher.close?.();
      }
    });

    it("says events are complete only on a memory storage", async () => {
      expect(unstorageStore().watchHealthy?.()).toBe(true);
      expect(
        unstorageStore(createStorage({ driver: fsDriver({ base: await temporaryDirectory() }) })).watchHealthy?.(),
      ).toBe(false);
      expect(
        unstorageStore(createStorage({ driver: fsLiteDriver({ base: await temporaryDirectory() }) })).watchHealthy?.(),
      ).toBe(false);
      expect(unstorageStore(redisStorage).watchHealthy?.()).toBe(false);
    });

    it("keeps telling the other watchers when one watcher throws", async () => {
      const store = unstorageStore();
      const events: StoreChangeEvent[] = [];
      await store.watch?.(() => {
        throw new Error("listener failure");
      });
      await store.watch?.((event) => events.push(event));
      expect(await store.create(scope, server("docs"), { maxServers: 10 })).toEqual({ ok: true });
      expect(events).toEqual([{ type: "created", scope, name: "docs" }]);
    });

    it("does not echo its own writes as resets on the memory driver", async () => {
      const store = unstorageStore(createStorage());
      const events: StoreChangeEvent[] = [];
      await store.watch?.((event) => events.push(event));
      await store.create(scope, server("docs"), { maxServers: 10 });
      await store.delete(scope, "docs", {});
      expect(events).toEqual([
        { type: "created", scope, name: "docs" },
        { type: "deleted", scope, name: "docs" },
      ]);
    });
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
