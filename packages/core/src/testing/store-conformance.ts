import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ServerDefinition } from "../config/schema.js";
import { resolveStore, storeCapabilities } from "../store/capabilities.js";
import { scopeSegment } from "../store/keys.js";
import type {
  McpStore,
  McpStoreCapabilities,
  PinScope,
  ResolvedStore,
  StoreChangeEvent,
  StoredServer,
  StoreScope,
} from "../store/types.js";

/** What a store can do beyond the required interface; a test needing a capability left out is skipped, visibly. */
export interface StoreCapabilities {
  /** `watch()` tells listeners of this instance about its own writes. @default false */
  changeEvents?: boolean;
  /**
   * A listener on one instance hears about writes made through another instance of the same backend.
   * Two calls of `makeStore` must then return instances sharing one backend. @default false
   */
  crossInstanceEvents?: boolean;
  /** User secrets and pending states expire after their `ttlMs`. @default true */
  expiry?: boolean;
}

export interface StoreConformanceOptions {
  capabilities?: StoreCapabilities;
  /** Runs after each test with the store it used, before the store is closed (e.g. to delete test keys). */
  cleanup?: (store: McpStore) => Promise<void>;
}

type MakeStore = () => McpStore | Promise<McpStore>;

const GLOBAL: StoreScope = { kind: "global" };

/**
 * The shared suite every store runs: atomic create-if-absent and `maxServers`, revision-checked update
 * and delete under concurrency, scope isolation and key escaping, expiring user secrets and single-use
 * pending states, change events. Call it at the top level of a vitest test file.
 *
 * Every test works in scopes and names unique to the run, so `makeStore` may return instances over one
 * shared backend (which `crossInstanceEvents` requires).
 */
export function describeStoreConformance(
  name: string,
  makeStore: MakeStore,
  options: StoreConformanceOptions = {},
): void {
  const capabilities = { changeEvents: false, crossInstanceEvents: false, expiry: true, ...options.capabilities };
  const opened: McpStore[] = [];
  /** The store as core sees it (`resolveStore`): a capability it lacks is not called, and its tests are skipped. */
  let store: ResolvedStore;
  let storeHas: Required<McpStoreCapabilities>;

  /** A further instance on the same backend, closed after the test. */
  async function openStore(): Promise<McpStore> {
    const instance = await makeStore();
    opened.push(instance);
    return instance;
  }

  function withCapability(capability: keyof StoreCapabilities, title: string, test: () => Promise<void>): void {
    if (capabilities[capability]) it(title, test);
    else it.skip(`${title} (skipped: ${name} does not declare the "${capability}" capability)`, test);
  }

  /** Skips the tests of a section whose capability (`McpStoreCapabilities`) the store does not have, visibly. */
  function requireStoreCapability(capability: keyof McpStoreCapabilities): void {
    beforeEach((context) => {
      if (!storeHas[capability])
        context.skip(`${name} does not have the store capability "${capability}"; core does not call its methods`);
    });
  }

  describe(`${name} store conformance`, () => {
    beforeEach(async () => {
      const instance = await openStore();
      storeHas = storeCapabilities(instance);
      store = resolveStore(instance);
    });

    it("has the methods of every capability it declares, or of none when it declares nothing", () => {
      expect(() => storeCapabilities(opened[0] as McpStore)).not.toThrow();
      expect(typeof storeHas.oauth).toBe("boolean");
    });

    afterEach(async () => {
      const instances = opened.splice(0);
      for (const instance of instances) await options.cleanup?.(instance);
      for (const instance of instances) await instance.close?.();
    });

    describe("servers", () => {
      it("creates a server and reads it back by get and list, every field as given", async () => {
        const scope = uniqueScope();
        const server = sampleServer("docs", {
          url: "https://docs.example.com/mcp",
          description: "Dökümanlar — 文档 ✓",
          headers: { "X-Trace": "a\"b'c" },
          tools: { allow: ["search*"], deny: ["delete"] },
          timeoutMs: 1234,
        });
        expect(await store.create(scope, server, { maxServers: 10 })).toEqual({ ok: true });
        expect(await store.get(scope, "docs")).toEqual(server);
        expect(await store.list(scope)).toEqual([server]);
      });

      it("answers null and an empty list for a scope that holds nothing", async () => {
        const scope = uniqueScope();
        expect(await store.get(scope, "docs")).toBeNull();
        expect(await store.list(scope)).toEqual([]);
      });

      it("reports exists when the name is taken in the same scope and keeps the first server", async () => {
        const scope = uniqueScope();
        const first = sampleServer("docs");
        expect(await store.create(scope, first, { maxServers: 10 })).toEqual({ ok: true });
        expect(await store.create(scope, sampleServer("docs"), { maxServers: 10 })).toEqual({
          ok: false,
          reason: "exists",
        });
        expect(await store.get(scope, "docs")).toEqual(first);
      });

      it("treats names as case-sensitive", async () => {
        const scope = uniqueScope();
        expect(await store.create(scope, sampleServer("GitHub"), { maxServers: 10 })).toEqual({ ok: true });
        expect(await store.create(scope, sampleServer("github"), { maxServers: 10 })).toEqual({ ok: true });
        expect(names(await store.list(scope))).toEqual(["GitHub", "github"]);
      });

      it("lets exactly one of 50 concurrent creates of one name succeed", async () => {
        const scope = uniqueScope();
        const candidates = Array.from({ length: 50 }, () => sampleServer("docs"));
        const results = await Promise.all(candidates.map((server) => store.create(scope, server, { maxServers: 100 })));
        const winners = candidates.filter((_, index) => results[index]?.ok === true);
        expect(winners).toHaveLength(1);
        expect(results.filter((result) => !result.ok)).toEqual(
          Array.from({ length: 49 }, () => ({ ok: false, reason: "exists" })),
        );
        expect(await store.list(scope)).toEqual(winners);
      });

      it("keeps every one of 100 distinct concurrent creates", async () => {
        const scope = uniqueScope();
        const servers = Array.from({ length: 100 }, (_, index) => sampleServer(`server-${index}`));
        const results = await Promise.all(servers.map((server) => store.create(scope, server, { maxServers: 100 })));
        expect(results.every((result) => result.ok)).toBe(true);
        expect(names(await store.list(scope))).toEqual(names(servers));
      });

      it("enforces maxServers atomically when 20 creates race for 5 places", async () => {
        const scope = uniqueScope();
        const servers = Array.from({ length: 20 }, (_, index) => sampleServer(`server-${index}`));
        const results = await Promise.all(servers.map((server) => store.create(scope, server, { maxServers: 5 })));
        expect(results.filter((result) => result.ok)).toHaveLength(5);
        expect(results.filter((result) => !result.ok && result.reason === "limit")).toHaveLength(15);
        const winners = servers.filter((_, index) => results[index]?.ok === true);
        expect(names(await store.list(scope))).toEqual(names(winners));
      });

      it("reports exists rather than limit for a taken name in a full scope", async () => {
        const scope = uniqueScope();
        await store.create(scope, sampleServer("docs"), { maxServers: 1 });
        expect(await store.create(scope, sampleServer("docs"), { maxServers: 1 })).toEqual({
          ok: false,
          reason: "exists",
        });
        expect(await store.create(scope, sampleServer("other"), { maxServers: 1 })).toEqual({
          ok: false,
          reason: "limit",
        });
      });

      it("counts the limit per scope", async () => {
        const first = uniqueScope();
        const second = uniqueScope();
        expect(await store.create(first, sampleServer("docs"), { maxServers: 1 })).toEqual({ ok: true });
        expect(await store.create(second, sampleServer("docs"), { maxServers: 1 })).toEqual({ ok: true });
      });

      it("refuses to create a server whose name is not a valid server name", async () => {
        const scope = uniqueScope();
        for (const invalid of ["a:b", "../x", "gh*", "__proto__", "-x", "", "a b"]) {
          await expect(store.create(scope, sampleServer(invalid), { maxServers: 10 })).rejects.toThrow();
        }
        expect(await store.list(scope)).toEqual([]);
      });

      it("updates with the current revision and refuses a stale one", async () => {
        const scope = uniqueScope();
        const original = sampleServer("docs");
        await store.create(scope, original, { maxServers: 10 });
        const updated = revise(original, { description: "second" });
        expect(await store.update(scope, updated, { expectedRevision: original.revision })).toEqual({ ok: true });
        expect(await store.get(scope, "docs")).toEqual(updated);
        const stale = revise(original, { description: "stale" });
        expect(await store.update(scope, stale, { expectedRevision: original.revision })).toEqual({
          ok: false,
          reason: "revision_mismatch",
        });
        expect(await store.get(scope, "docs")).toEqual(updated);
      });

      it("updates without an expected revision whatever the current one is", async () => {
        const scope = uniqueScope();
        const original = sampleServer("docs");
        await store.create(scope, original, { maxServers: 10 });
        const updated = revise(original, { description: "blind" });
        expect(await store.update(scope, updated, {})).toEqual({ ok: true });
        expect(await store.get(scope, "docs")).toEqual(updated);
      });

      it("reports not_found when updating or deleting a server that does not exist", async () => {
        const scope = uniqueScope();
        expect(await store.update(scope, sampleServer("docs"), {})).toEqual({ ok: false, reason: "not_found" });
        expect(await store.update(scope, sampleServer("docs"), { expectedRevision: "r1" })).toEqual({
          ok: false,
          reason: "not_found",
        });
        expect(await store.delete(scope, "docs", {})).toEqual({ ok: false, reason: "not_found" });
        expect(await store.list(scope)).toEqual([]);
      });

      it("lets exactly one of 20 concurrent updates with the same expected revision win", async () => {
        const scope = uniqueScope();
        const original = sampleServer("docs");
        await store.create(scope, original, { maxServers: 10 });
        const candidates = Array.from({ length: 20 }, (_, index) =>
          revise(original, { description: `candidate ${index}` }),
        );
        const results = await Promise.all(
          candidates.map((server) => store.update(scope, server, { expectedRevision: original.revision })),
        );
        const winners = candidates.filter((_, index) => results[index]?.ok === true);
        expect(winners).toHaveLength(1);
        expect(results.filter((result) => !result.ok && result.reason === "revision_mismatch")).toHaveLength(19);
        expect(await store.get(scope, "docs")).toEqual(winners[0]);
      });

      it("deletes with the current revision and refuses a stale one", async () => {
        const scope = uniqueScope();
        const original = sampleServer("docs");
        await store.create(scope, original, { maxServers: 10 });
        const updated = revise(original, { description: "second" });
        await store.update(scope, updated, {});
        expect(await store.delete(scope, "docs", { expectedRevision: original.revision })).toEqual({
          ok: false,
          reason: "revision_mismatch",
        });
        expect(await store.get(scope, "docs")).toEqual(updated);
        expect(await store.delete(scope, "docs", { expectedRevision: updated.revision })).toEqual({ ok: true });
        expect(await store.get(scope, "docs")).toBeNull();
      });

      it("lets exactly one of 20 concurrent deletes with the same expected revision succeed", async () => {
        const scope = uniqueScope();
        const original = sampleServer("docs");
        await store.create(scope, original, { maxServers: 10 });
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.delete(scope, "docs", { expectedRevision: original.revision })),
        );
        expect(results.filter((result) => result.ok)).toHaveLength(1);
        expect(results.filter((result) => !result.ok && result.reason === "not_found")).toHaveLength(19);
        expect(await store.list(scope)).toEqual([]);
      });

      it("leaves the other servers of a scope alone when one is updated or deleted", async () => {
        const scope = uniqueScope();
        const [first, second, third] = [sampleServer("first"), sampleServer("second"), sampleServer("third")];
        for (const server of [first, second, third]) await store.create(scope, server, { maxServers: 10 });
        const updated = revise(second, { description: "changed" });
        await store.update(scope, updated, { expectedRevision: second.revision });
        await store.delete(scope, "first", { expectedRevision: first.revision });
        expect(sortByName(await store.list(scope))).toEqual([updated, third]);
      });

      it("frees a place under the limit when a server is deleted", async () => {
        const scope = uniqueScope();
        const first = sampleServer("first");
        await store.create(scope, first, { maxServers: 1 });
        await store.delete(scope, "first", {});
        expect(await store.create(scope, sampleServer("second"), { maxServers: 1 })).toEqual({ ok: true });
      });
    });

    describe("scope isolation", () => {
      it("keeps the global tier apart from a tenant whose scope id is 'global'", async () => {
        const tenant: StoreScope = { kind: "scope", id: "global" };
        const globalServer = sampleServer(uniqueName(), { description: "global tier" });
        const tenantServer = sampleServer(globalServer.name, { description: "tenant named global" });
        try {
          expect(await store.create(GLOBAL, globalServer, { maxServers: 1_000 })).toEqual({ ok: true });
          expect(await store.create(tenant, tenantServer, { maxServers: 1_000 })).toEqual({ ok: true });
          expect(await store.get(GLOBAL, globalServer.name)).toEqual(globalServer);
          expect(await store.get(tenant, globalServer.name)).toEqual(tenantServer);
          await store.delete(tenant, globalServer.name, {});
          expect(await store.get(GLOBAL, globalServer.name)).toEqual(globalServer);
        } finally {
          await store.delete(GLOBAL, globalServer.name, {});
          await store.delete(tenant, globalServer.name, {});
        }
      });

      it("keeps the scopes 'a', 'a:b' and 'a/../b' apart", async () => {
        const ids = ["a", "a:b", "a/../b", "b"];
        const name = uniqueName();
        try {
          for (const id of ids)
            await store.create({ kind: "scope", id }, sampleServer(name, { description: id }), { maxServers: 1_000 });
          for (const id of ids) expect((await store.get({ kind: "scope", id }, name))?.definition.description).toBe(id);
        } finally {
          for (const id of ids) await store.delete({ kind: "scope", id }, name, {});
        }
      });

      it("never lets a hostile scope id reach another scope's servers", async () => {
        const base = uniqueToken();
        const ids = hostileIds(base);
        const scopes = ids.map((id): StoreScope => ({ kind: "scope", id }));
        for (const [index, scope] of scopes.entries()) {
          expect(
            await store.create(scope, sampleServer("probe", { description: ids[index] }), { maxServers: 1 }),
          ).toEqual({ ok: true });
        }
        for (const [index, scope] of scopes.entries()) {
          const listed = await store.list(scope);
          expect(listed.map((server) => server.definition.description)).toEqual([ids[index]]);
        }
        // A write through one hostile id leaves every other one untouched.
        const [target, ...others] = scopes;
        if (target === undefined) throw new Error("no hostile ids");
        await store.delete(target, "probe", {});
        for (const [index, scope] of others.entries()) {
          expect((await store.get(scope, "probe"))?.definition.description).toBe(ids[index + 1]);
        }
      });

      it("stores servers named like Object.prototype members as any other name", async () => {
        const scope = uniqueScope();
        const tricky = ["constructor", "toString", "hasOwnProperty", "valueOf", "prototype", "length", "0"];
        for (const name of tricky)
          expect(await store.create(scope, sampleServer(name), { maxServers: 10 })).toEqual({ ok: true });
        expect(names(await store.list(scope))).toEqual([...tricky].sort());
        for (const name of tricky) expect((await store.get(scope, name))?.name).toBe(name);
        expect(await store.get(scope, "isPrototypeOf")).toBeNull();
        expect(await store.delete(scope, "constructor", {})).toEqual({ ok: true });
        expect(await store.get(scope, "constructor")).toBeNull();
      });

      it("answers null for a lookup by a name that could never be stored", async () => {
        const scope = uniqueScope();
        await store.create(scope, sampleServer("docs"), { maxServers: 10 });
        for (const invalid of ["__proto__", "docs:x", "../docs", "*"]) {
          const found = await store.get(scope, invalid).catch(() => null);
          expect(found).toBeNull();
        }
      });
    });

    describe("scope index", () => {
      requireStoreCapability("scopeIndex");
      it("lists every scope that holds servers, the global tier included, with tenant ids exactly as given", async () => {
        const base = uniqueToken();
        const ids = [...hostileIds(base), "global"];
        const scopes = ids.map((id): StoreScope => ({ kind: "scope", id }));
        const globalName = uniqueName();
        try {
          for (const scope of scopes) await store.create(scope, sampleServer(globalName), { maxServers: 1_000 });
          await store.create(GLOBAL, sampleServer(globalName), { maxServers: 1_000 });
          const listed = await store.listScopes();
          for (const scope of [...scopes, GLOBAL]) {
            expect(
              listed.filter((entry) => sameScope(entry, scope)),
              `listScopes() holds ${JSON.stringify(scope)} once`,
            ).toHaveLength(1);
          }
          // Every listed scope answers list() with its own servers: the ids round-trip to the same keys.
          for (const scope of scopes) {
            const found = listed.find((entry) => sameScope(entry, scope));
            expect(names(await store.list(found ?? scope))).toContain(globalName);
          }
        } finally {
          await store.delete(GLOBAL, globalName, {});
          await store.delete({ kind: "scope", id: "global" }, globalName, {});
        }
      });

      it("lists a scope once however many servers it holds", async () => {
        const scope = uniqueScope();
        for (const name of ["first", "second", "third"])
          await store.create(scope, sampleServer(name), { maxServers: 10 });
        expect((await store.listScopes()).filter((entry) => sameScope(entry, scope))).toEqual([scope]);
      });

      it("lists every scope of 30 concurrent first creates in distinct scopes", async () => {
        const scopes = Array.from({ length: 30 }, () => uniqueScope());
        const results = await Promise.all(
          scopes.map((scope) => store.create(scope, sampleServer("docs"), { maxServers: 10 })),
        );
        expect(results.every((result) => result.ok)).toBe(true);
        const listed = await store.listScopes();
        for (const scope of scopes) expect(listed.some((entry) => sameScope(entry, scope))).toBe(true);
      });

      it("lists a scope created through another instance of the same backend", async () => {
        const other = await openStore();
        const scope = uniqueScope();
        await other.create(scope, sampleServer("docs"), { maxServers: 10 });
        expect((await store.listScopes()).some((entry) => sameScope(entry, scope))).toBe(true);
      });

      it("keeps listing a scope that still holds servers when another scope is emptied", async () => {
        const kept = uniqueScope();
        const emptied = uniqueScope();
        await store.create(kept, sampleServer("docs"), { maxServers: 10 });
        await store.create(emptied, sampleServer("docs"), { maxServers: 10 });
        await store.delete(emptied, "docs", {});
        await store.create(kept, sampleServer("more"), { maxServers: 10 });
        expect((await store.listScopes()).some((entry) => sameScope(entry, kept))).toBe(true);
        expect(await store.list(emptied)).toEqual([]);
      });

      it("does not list a scope that only holds user secrets", async () => {
        const scope = uniqueScope();
        await store.setUserSecret(scope, "docs", "alice", "sealed");
        expect((await store.listScopes()).some((entry) => sameScope(entry, scope))).toBe(false);
      });
    });

    describe("user secrets", () => {
      requireStoreCapability("oauth");
      it("stores, replaces and deletes a user's secret", async () => {
        const scope = uniqueScope();
        expect(await store.getUserSecret(scope, "docs", "alice")).toBeNull();
        await store.setUserSecret(scope, "docs", "alice", "sealed-1");
        expect(await store.getUserSecret(scope, "docs", "alice")).toBe("sealed-1");
        await store.setUserSecret(scope, "docs", "alice", "sealed-2");
        expect(await store.getUserSecret(scope, "docs", "alice")).toBe("sealed-2");
        await store.deleteUserSecret(scope, "docs", "alice");
        expect(await store.getUserSecret(scope, "docs", "alice")).toBeNull();
      });

      it("treats deleting an absent secret as done", async () => {
        await expect(store.deleteUserSecret(uniqueScope(), "docs", "nobody")).resolves.toBeUndefined();
      });

      it("keeps secrets apart by scope, server and user, whatever the ids contain", async () => {
        const base = uniqueToken();
        const users = hostileIds(base);
        const scope = uniqueScope();
        for (const user of users) await store.setUserSecret(scope, "docs", user, `secret of ${user}`);
        for (const user of users) expect(await store.getUserSecret(scope, "docs", user)).toBe(`secret of ${user}`);
        expect(await store.getUserSecret(scope, "other", base)).toBeNull();
        expect(await store.getUserSecret(uniqueScope(), "docs", base)).toBeNull();
        expect(await store.getUserSecret(GLOBAL, "docs", base)).toBeNull();
        await store.deleteUserSecret(scope, "docs", base);
        expect(await store.getUserSecret(scope, "docs", `${base}:b`)).toBe(`secret of ${base}:b`);
      });

      it("keeps secrets apart when scope, server and user would join into the same string", async () => {
        const base = uniqueToken();
        const outer: StoreScope = { kind: "scope", id: `${base}:docs` };
        const inner: StoreScope = { kind: "scope", id: base };
        await store.setUserSecret(outer, "docs", "alice", "outer");
        await store.setUserSecret(inner, "docs", "docs:alice", "inner");
        await store.setUserSecret(inner, "docs", "docs:user:alice", "inner-user");
        expect(await store.getUserSecret(outer, "docs", "alice")).toBe("outer");
        expect(await store.getUserSecret(inner, "docs", "docs:alice")).toBe("inner");
        expect(await store.getUserSecret(inner, "docs", "docs:user:alice")).toBe("inner-user");
        expect(await store.getUserSecret(inner, "docs", "alice")).toBeNull();
      });

      it("keeps a user's secret apart from the servers of its scope", async () => {
        const scope = uniqueScope();
        await store.create(scope, sampleServer("docs"), { maxServers: 10 });
        await store.setUserSecret(scope, "docs", "alice", "sealed");
        expect(names(await store.list(scope))).toEqual(["docs"]);
        await store.delete(scope, "docs", {});
        expect(await store.list(scope)).toEqual([]);
      });

      it("removes every user's secret of a server when the server is deleted, and only those", async () => {
        const scope = uniqueScope();
        await store.create(scope, sampleServer("docs"), { maxServers: 10 });
        await store.create(scope, sampleServer("wiki"), { maxServers: 10 });
        const users = hostileIds(uniqueToken());
        for (const user of users) {
          await store.setUserSecret(scope, "docs", user, `tokens of ${user}`);
          await store.setUserSecret(scope, "wiki", user, `wiki tokens of ${user}`);
        }
        await store.setUserSecret(scope, "docs", "expiring", "soon", 60_000);
        await store.delete(scope, "docs", {});
        for (const user of [...users, "expiring"]) expect(await store.getUserSecret(scope, "docs", user)).toBeNull();
        for (const user of users) expect(await store.getUserSecret(scope, "wiki", user)).toBe(`wiki tokens of ${user}`);
        // A new server of that name starts without the old one's secrets, and keeps its own.
        await store.create(scope, sampleServer("docs"), { maxServers: 10 });
        expect(await store.getUserSecret(scope, "docs", users[0] ?? "")).toBeNull();
        await store.setUserSecret(scope, "docs", "alice", "fresh");
        expect(await store.getUserSecret(scope, "docs", "alice")).toBe("fresh");
      });

      it("lists the unexpired user secrets of one server, and only those (listUserSecrets)", async (context) => {
        const list = store.listUserSecrets?.bind(store);
        // Optional: a store without it leaves OAuth records to lazy re-encryption.
        if (list === undefined) return context.skip(`${name} has no listUserSecrets (optional)`);
        const scope = uniqueScope();
        expect(await list(scope, "docs")).toEqual([]);
        const users = hostileIds(uniqueToken());
        for (const user of users) await store.setUserSecret(scope, "docs", user, `tokens of ${user}`);
        await store.setUserSecret(scope, "wiki", "alice", "wiki tokens");
        await store.setUserSecret(uniqueScope(), "docs", "alice", "other scope");
        expect((await list(scope, "docs")).sort()).toEqual(users.map((user) => `tokens of ${user}`).sort());
        await store.deleteUserSecret(scope, "docs", users[0] ?? "");
        expect(await list(scope, "docs")).toHaveLength(users.length - 1);
        // Deleting the server removes its users' records (tokens, registration, pending authorizations).
        await store.create(scope, sampleServer("docs"), { maxServers: 10 });
        await store.setUserSecret(scope, "docs", "pending", "an authorization in progress", 60_000);
        await store.delete(scope, "docs", {});
        expect(await list(scope, "docs")).toEqual([]);
        expect(await list(scope, "wiki")).toEqual(["wiki tokens"]);
      });

      it("refuses a server name that could build another key", async () => {
        const scope = uniqueScope();
        for (const invalid of ["a:b", "../docs", "docs*", "__proto__"]) {
          await expect(store.setUserSecret(scope, invalid, "alice", "x")).rejects.toThrow();
          await expect(store.getUserSecret(scope, invalid, "alice")).rejects.toThrow();
        }
      });

      it("keeps a secret stored without a ttl", async () => {
        const scope = uniqueScope();
        await store.setUserSecret(scope, "docs", "alice", "sealed");
        await sleep(150);
        expect(await store.getUserSecret(scope, "docs", "alice")).toBe("sealed");
      });

      withCapability("expiry", "forgets a user's secret once its ttl has passed", async () => {
        const scope = uniqueScope();
        await store.setUserSecret(scope, "docs", "alice", "short", 50);
        await store.setUserSecret(scope, "docs", "bob", "long", 60_000);
        await sleep(150);
        expect(await store.getUserSecret(scope, "docs", "alice")).toBeNull();
        expect(await store.getUserSecret(scope, "docs", "bob")).toBe("long");
      });

      withCapability("expiry", "drops the old ttl when a secret is replaced without one", async () => {
        const scope = uniqueScope();
        await store.setUserSecret(scope, "docs", "alice", "short", 50);
        await store.setUserSecret(scope, "docs", "alice", "kept");
        await sleep(150);
        expect(await store.getUserSecret(scope, "docs", "alice")).toBe("kept");
      });
    });

    describe("pending states", () => {
      requireStoreCapability("oauth");
      it("gives a pending state back once, then null", async () => {
        const id = pendingId();
        await store.putPending(id, "state", 60_000);
        expect(await store.takePending(id)).toBe("state");
        expect(await store.takePending(id)).toBeNull();
      });

      it("answers null for a pending state that was never put", async () => {
        expect(await store.takePending(pendingId())).toBeNull();
      });

      it("gives a pending state to exactly one of 20 concurrent takers", async () => {
        const id = pendingId();
        await store.putPending(id, "state", 60_000);
        const taken = await Promise.all(Array.from({ length: 20 }, () => store.takePending(id)));
        expect(taken.filter((value) => value === "state")).toHaveLength(1);
        expect(taken.filter((value) => value === null)).toHaveLength(19);
      });

      it("refuses a pending id that could build another key", async () => {
        for (const invalid of [
          "short",
          "../../servers:global",
          "a:b:c:d:e:f:g:h:i:j",
          "x".repeat(129),
          "id with spaces 1234",
        ]) {
          await expect(store.putPending(invalid, "state", 60_000)).rejects.toThrow();
          await expect(store.takePending(invalid)).rejects.toThrow();
        }
      });

      it("puts a pending state if absent for exactly one of 20 concurrent callers (a lock)", async () => {
        const id = pendingId();
        const stored = await Promise.all(
          Array.from({ length: 20 }, (_, index) => store.putPendingIfAbsent(id, `holder ${index}`, 60_000)),
        );
        expect(stored.filter(Boolean)).toHaveLength(1);
        const holder = `holder ${stored.indexOf(true)}`;
        expect(await store.takePending(id)).toBe(holder);
        expect(await store.putPendingIfAbsent(id, "next", 60_000)).toBe(true);
        expect(await store.takePending(id)).toBe("next");
      });

      withCapability("expiry", "lets a lock be taken again once its ttl has passed", async () => {
        const id = pendingId();
        // The second attempt must land inside the ttl however busy the machine is: seconds of margin.
        expect(await store.putPendingIfAbsent(id, "first", 2_000)).toBe(true);
        expect(await store.putPendingIfAbsent(id, "second", 2_000)).toBe(false);
        await sleep(2_300);
        expect(await store.putPendingIfAbsent(id, "third", 60_000)).toBe(true);
        expect(await store.takePending(id)).toBe("third");
      });

      withCapability("expiry", "forgets a pending state once its ttl has passed", async () => {
        const expiring = pendingId();
        const lasting = pendingId();
        await store.putPending(expiring, "short", 50);
        await store.putPending(lasting, "long", 60_000);
        await sleep(150);
        expect(await store.takePending(expiring)).toBeNull();
        expect(await store.takePending(lasting)).toBe("long");
      });
    });

    describe("tool pins", () => {
      requireStoreCapability("pins");
      // Optional methods: a store without them runs without tool pinning, and these tests are skipped.
      const pinTest = (title: string, test: (pins: Required<PinMethods>) => Promise<void>): void => {
        it(title, async () => {
          const pins = pinMethodsOf(store);
          if (pins === undefined) throw new Error(`${name} has the "pins" capability without its methods`);
          await test(pins);
        });
      };

      pinTest("records a pin at first sight and keeps the first one when another comes later", async (pins) => {
        const scope = uniqueScope();
        expect(await pins.getToolPins(scope, "docs")).toEqual(new Map());
        const first = await pins.addToolPins(scope, "docs", new Map([["search", "v1"]]), { maxPins: 10 });
        expect(first).toEqual(new Map([["search", "v1"]]));
        const second = await pins.addToolPins(
          scope,
          "docs",
          new Map([
            ["search", "v2"],
            ["fetch", "f1"],
          ]),
          { maxPins: 10 },
        );
        expect(second).toEqual(
          new Map([
            ["search", "v1"],
            ["fetch", "f1"],
          ]),
        );
        expect(await pins.getToolPins(scope, "docs")).toEqual(
          new Map([
            ["search", "v1"],
            ["fetch", "f1"],
          ]),
        );
      });

      pinTest("lets exactly one of 20 concurrent first sightings of a tool win", async (pins) => {
        const scope = uniqueScope();
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, index) =>
            pins.addToolPins(scope, "docs", new Map([["search", `v${index}`]]), { maxPins: 10 }),
          ),
        );
        const winners = new Set(results.map((result) => result.get("search")));
        expect(winners.size).toBe(1);
        expect((await pins.getToolPins(scope, "docs")).get("search")).toBe([...winners][0]);
      });

      pinTest("stops recording new tools at maxPins and leaves them out of the answer", async (pins) => {
        const scope = uniqueScope();
        const given = new Map(Array.from({ length: 5 }, (_, index): [string, string] => [`tool${index}`, "p"]));
        const stored = await pins.addToolPins(scope, "docs", given, { maxPins: 3 });
        expect(stored.size).toBe(3);
        expect((await pins.getToolPins(scope, "docs")).size).toBe(3);
      });

      pinTest("replaces pins on approval, and with replace keeps exactly the given ones", async (pins) => {
        const scope = uniqueScope();
        await pins.addToolPins(
          scope,
          "docs",
          new Map([
            ["a", "1"],
            ["b", "1"],
          ]),
          { maxPins: 10 },
        );
        await pins.setToolPins(scope, "docs", new Map([["a", "2"]]));
        expect(await pins.getToolPins(scope, "docs")).toEqual(
          new Map([
            ["a", "2"],
            ["b", "1"],
          ]),
        );
        await pins.setToolPins(scope, "docs", new Map([["c", "3"]]), { replace: true });
        expect(await pins.getToolPins(scope, "docs")).toEqual(new Map([["c", "3"]]));
      });

      pinTest("keeps pins apart by scope, tier and server, tool names like __proto__ included", async (pins) => {
        const tenant = uniqueScope();
        const owners: PinScope[] = [tenant, { kind: "scope", id: "global" }, { kind: "global" }, { kind: "config" }];
        const server = uniqueName();
        for (const [index, owner] of owners.entries()) {
          await pins.addToolPins(
            owner,
            server,
            new Map([
              ["__proto__", `p${index}`],
              ["constructor", `c${index}`],
            ]),
            { maxPins: 10 },
          );
        }
        for (const [index, owner] of owners.entries()) {
          expect(await pins.getToolPins(owner, server)).toEqual(
            new Map([
              ["__proto__", `p${index}`],
              ["constructor", `c${index}`],
            ]),
          );
        }
        expect(await pins.getToolPins(tenant, `${server}x`)).toEqual(new Map());
        for (const owner of owners) await pins.deleteToolPins(owner, server);
      });

      pinTest("removes a server's pins when the server is deleted, and only that server's", async (pins) => {
        const scope = uniqueScope();
        await store.create(scope, sampleServer("docs"), { maxServers: 10 });
        await store.create(scope, sampleServer("wiki"), { maxServers: 10 });
        await pins.addToolPins(scope, "docs", new Map([["search", "v1"]]), { maxPins: 10 });
        await pins.addToolPins(scope, "wiki", new Map([["read", "r1"]]), { maxPins: 10 });
        await pins.addToolPins({ kind: "global" }, "docs", new Map([["search", "g1"]]), { maxPins: 10 });
        expect(await store.delete(scope, "docs", {})).toEqual({ ok: true });
        expect(await pins.getToolPins(scope, "docs")).toEqual(new Map());
        expect(await pins.getToolPins(scope, "wiki")).toEqual(new Map([["read", "r1"]]));
        expect((await pins.getToolPins({ kind: "global" }, "docs")).get("search")).toBe("g1");
        await pins.deleteToolPins({ kind: "global" }, "docs");
        await pins.deleteToolPins(scope, "wiki");
        expect(await pins.getToolPins(scope, "wiki")).toEqual(new Map());
      });

      pinTest("refuses a server name that could build another key", async (pins) => {
        const scope = uniqueScope();
        for (const bad of ["a:b", "../x", "a*", "", "a b"]) {
          await expect(pins.addToolPins(scope, bad, new Map([["t", "p"]]), { maxPins: 10 })).rejects.toThrow();
        }
      });
    });

    describe("preferences", () => {
      requireStoreCapability("preferences");
      // Optional methods: a store without them has no per-user switches, and these tests are skipped.
      const preferenceTest = (
        title: string,
        test: (preferences: Required<Pick<McpStore, "getPreferences" | "setPreference">>) => Promise<void>,
      ): void => {
        it(title, async () => {
          const { getPreferences, setPreference } = store;
          if (getPreferences === undefined || setPreference === undefined)
            throw new Error(`${name} has the "preferences" capability without its methods`);
          await test({ getPreferences: getPreferences.bind(store), setPreference: setPreference.bind(store) });
        });
      };

      preferenceTest("stores a user's switches, replaces one and removes one with null", async (preferences) => {
        const scope = uniqueScope();
        expect(await preferences.getPreferences(scope, "alice")).toEqual(new Map());
        await preferences.setPreference(scope, "alice", "docs", false);
        await preferences.setPreference(scope, "alice", "search", true);
        await preferences.setPreference(scope, "alice", "docs", true);
        expect(await preferences.getPreferences(scope, "alice")).toEqual(
          new Map([
            ["docs", true],
            ["search", true],
          ]),
        );
        await preferences.setPreference(scope, "alice", "search", null);
        expect(await preferences.getPreferences(scope, "alice")).toEqual(new Map([["docs", true]]));
      });

      preferenceTest("keeps switches apart by scope and user, whatever the ids contain", async (preferences) => {
        const base = uniqueToken();
        const ids = hostileIds(base);
        for (const [index, id] of ids.entries()) {
          await preferences.setPreference({ kind: "scope", id }, id, "docs", index % 2 === 0);
        }
        for (const [index, id] of ids.entries()) {
          expect(await preferences.getPreferences({ kind: "scope", id }, id)).toEqual(
            new Map([["docs", index % 2 === 0]]),
          );
          expect(await preferences.getPreferences({ kind: "scope", id }, `${id}-other`)).toEqual(new Map());
        }
      });

      preferenceTest("refuses a server name that could build another key", async (preferences) => {
        const scope = uniqueScope();
        for (const bad of ["a:b", "../x", "a*", "", "a b"]) {
          await expect(preferences.setPreference(scope, "alice", bad, true)).rejects.toThrow();
        }
      });

      preferenceTest(
        "drops a deleted server's switches of every user of its scope, and only those",
        async (preferences) => {
          const scope = uniqueScope();
          const other = uniqueScope();
          await store.create(scope, sampleServer("docs"), { maxServers: 10 });
          await store.create(scope, sampleServer("wiki"), { maxServers: 10 });
          const users = hostileIds(uniqueToken());
          for (const [index, user] of users.entries()) {
            await preferences.setPreference(scope, user, "docs", index % 2 === 0);
            await preferences.setPreference(scope, user, "wiki", true);
          }
          await preferences.setPreference(scope, "only-docs", "docs", false);
          await preferences.setPreference(other, users[0] ?? "", "docs", false);
          expect(await store.delete(scope, "docs", {})).toEqual({ ok: true });
          for (const user of users) {
            expect(await preferences.getPreferences(scope, user)).toEqual(new Map([["wiki", true]]));
          }
          expect(await preferences.getPreferences(scope, "only-docs")).toEqual(new Map());
          expect(await preferences.getPreferences(other, users[0] ?? "")).toEqual(new Map([["docs", false]]));
          // A new server of that name starts from its own availability, and takes new switches.
          await store.create(scope, sampleServer("docs"), { maxServers: 10 });
          expect(await preferences.getPreferences(scope, "only-docs")).toEqual(new Map());
          await preferences.setPreference(scope, "only-docs", "docs", true);
          expect(await preferences.getPreferences(scope, "only-docs")).toEqual(new Map([["docs", true]]));
          // A refused delete leaves the switches alone.
          expect(await store.delete(scope, "docs", { expectedRevision: "stale" })).toEqual({
            ok: false,
            reason: "revision_mismatch",
          });
          expect(await preferences.getPreferences(scope, "only-docs")).toEqual(new Map([["docs", true]]));
        },
      );

      preferenceTest(
        "drops a deleted global server's switches in every scope but those holding a server of that name",
        async (preferences) => {
          const name = uniqueName();
          const scopes = hostileIds(uniqueToken()).map((id): StoreScope => ({ kind: "scope", id }));
          const shadowing = uniqueScope();
          await store.create(GLOBAL, sampleServer(name), { maxServers: Number.POSITIVE_INFINITY });
          await store.create(shadowing, sampleServer(name), { maxServers: 10 });
          for (const scope of scopes) {
            await preferences.setPreference(scope, "alice", name, false);
            await preferences.setPreference(scope, "alice", "keep", true);
          }
          await preferences.setPreference(shadowing, "alice", name, false);
          expect(await store.delete(GLOBAL, name, {})).toEqual({ ok: true });
          for (const scope of scopes) {
            expect(await preferences.getPreferences(scope, "alice")).toEqual(new Map([["keep", true]]));
          }
          // That scope's switch is about its own server, which is still there.
          expect(await preferences.getPreferences(shadowing, "alice")).toEqual(new Map([[name, false]]));
        },
      );

      withCapability("changeEvents", "tells a watcher that a user's preferences changed", async () => {
        const watch = requireWatch(store);
        const { setPreference } = store;
        if (setPreference === undefined) return;
        const events: StoreChangeEvent[] = [];
        const unwatch = await watch((event) => events.push(event));
        try {
          const scope = uniqueScope();
          await setPreference.call(store, scope, "alice", "docs", false);
          await vi.waitFor(() => expect(events).toContainEqual({ type: "preferences", scope, user: "alice" }));
        } finally {
          await unwatch();
        }
      });
    });

    describe("change events", () => {
      withCapability(
        "changeEvents",
        "tells a watcher about created, updated and deleted servers with their scope and name",
        async () => {
          const watch = requireWatch(store);
          const events: StoreChangeEvent[] = [];
          const unwatch = await watch((event) => events.push(event));
          try {
            const scope = uniqueScope();
            const server = sampleServer("docs");
            await store.create(scope, server, { maxServers: 10 });
            await store.update(scope, revise(server, { description: "second" }), {});
            await store.delete(scope, "docs", {});
            await vi.waitFor(() => {
              expect(events.filter((event) => event.type !== "reset" && sameScope(event.scope, scope))).toEqual([
                { type: "created", scope, name: "docs" },
                { type: "updated", scope, name: "docs" },
                { type: "deleted", scope, name: "docs" },
              ]);
            });
          } finally {
            await unwatch();
          }
        },
      );

      withCapability("changeEvents", "says nothing about writes that failed", async () => {
        const watch = requireWatch(store);
        const scope = uniqueScope();
        const server = sampleServer("docs");
        await store.create(scope, server, { maxServers: 10 });
        const events: StoreChangeEvent[] = [];
        const unwatch = await watch((event) => events.push(event));
        try {
          await store.create(scope, sampleServer("docs"), { maxServers: 10 });
          await store.update(scope, revise(server, {}), { expectedRevision: "stale" });
          await store.delete(scope, "absent", {});
          await store.create(scope, sampleServer("marker"), { maxServers: 10 });
          await vi.waitFor(() =>
            expect(events.some((event) => event.type === "created" && event.name === "marker")).toBe(true),
          );
          // Only this scope's events: another test's (or worker's) late events on a shared store are not this test's.
          expect(events.filter((event) => event.type !== "reset" && sameScope(event.scope, scope))).toEqual([
            { type: "created", scope, name: "marker" },
          ]);
        } finally {
          await unwatch();
        }
      });

      withCapability("changeEvents", "stops telling a watcher once it unsubscribed", async () => {
        const watch = requireWatch(store);
        const events: StoreChangeEvent[] = [];
        const unwatch = await watch((event) => events.push(event));
        await unwatch();
        const scope = uniqueScope();
        await store.create(scope, sampleServer("docs"), { maxServers: 10 });
        // A second watcher proves events are flowing, so the first one's silence means something.
        const seen: StoreChangeEvent[] = [];
        const unwatchSecond = await watch((event) => seen.push(event));
        try {
          await store.update(scope, sampleServer("docs"), {});
          await vi.waitFor(() =>
            expect(seen.some((event) => describesWrite(event, scope, "docs", "updated"))).toBe(true),
          );
          expect(events).toEqual([]);
        } finally {
          await unwatchSecond();
        }
      });

      withCapability("crossInstanceEvents", "tells a watcher on another instance about a write", async () => {
        const other = await openStore();
        const watch = requireWatch(other);
        const events: StoreChangeEvent[] = [];
        const unwatch = await watch((event) => events.push(event));
        try {
          const scope = uniqueScope();
          await store.create(scope, sampleServer("docs"), { maxServers: 10 });
          await vi.waitFor(
            () => expect(events.some((event) => describesWrite(event, scope, "docs", "created"))).toBe(true),
            { timeout: 5_000 },
          );
          await store.delete(scope, "docs", {});
          await vi.waitFor(
            () => expect(events.some((event) => describesWrite(event, scope, "docs", "deleted"))).toBe(true),
            { timeout: 5_000 },
          );
        } finally {
          await unwatch();
        }
      });

      withCapability(
        "crossInstanceEvents",
        "tells a watcher on another instance about a user's preferences",
        async () => {
          const { setPreference } = store;
          if (setPreference === undefined) return;
          const other = await openStore();
          const events: StoreChangeEvent[] = [];
          const unwatch = await requireWatch(other)((event) => events.push(event));
          try {
            const scope = uniqueScope();
            await setPreference.call(store, scope, "alice", "docs", true);
            await vi.waitFor(
              () =>
                expect(
                  events.some((event) =>
                    event.type === "reset"
                      ? event.scope === undefined || sameScope(event.scope, scope)
                      : event.type === "preferences" && sameScope(event.scope, scope) && event.user === "alice",
                  ),
                ).toBe(true),
              { timeout: 5_000 },
            );
          } finally {
            await unwatch();
          }
        },
      );

      withCapability("crossInstanceEvents", "reports that cross-instance events are flowing", async () => {
        const other = await openStore();
        const unwatch = await requireWatch(other)(() => undefined);
        try {
          expect(typeof other.watchHealthy, "a store with cross-instance events says whether they flow").toBe(
            "function",
          );
          expect(other.watchHealthy?.()).toBe(true);
        } finally {
          await unwatch();
        }
      });
    });
  });
}

function requireWatch(store: McpStore): NonNullable<McpStore["watch"]> {
  const watch = store.watch;
  if (watch === undefined) throw new Error("the store declares change events but has no watch()");
  return watch.bind(store);
}

/** A typed event for this write, or a reset that covers its scope. */
function describesWrite(
  event: StoreChangeEvent,
  scope: StoreScope,
  name: string,
  type: "created" | "updated" | "deleted",
): boolean {
  if (event.type === "reset") return event.scope === undefined || sameScope(event.scope, scope);
  return event.type === type && event.name === name && sameScope(event.scope, scope);
}

function sameScope(left: StoreScope, right: StoreScope): boolean {
  return left.kind === right.kind && (left.kind === "global" || (right.kind === "scope" && left.id === right.id));
}

/**
 * Scope and user ids that try to reach each other's keys: separators, traversal, wildcards, whitespace,
 * control characters, Unicode look-alikes, over-long ids, and a raw id equal to another id's digest.
 */
function hostileIds(base: string): string[] {
  return [
    base,
    `${base}:b`,
    `${base}/../b`,
    `${base}/b`,
    `${base}\\b`,
    `../${base}`,
    `${base}*`,
    `${base}?x`,
    `${base} `,
    ` ${base}`,
    `${base}\n`,
    `${base}\u0000`,
    `${base}\u0301`,
    `${base.toUpperCase()}`,
    `${base}{x}`,
    `${base}:docs:user:alice`,
    `servers:scope:${base}`,
    scopeSegment(`${base}:b`),
    `_${base}`,
    // 128 characters still stand in a key as they are; 129 are digested.
    `${base}${"x".repeat(128 - base.length)}`,
    `${base}${"x".repeat(129 - base.length)}`,
    `${base}${"x".repeat(1_000)}`,
  ];
}

/** A stored-server record for store tests: a remote definition, a fresh revision, timestamps of now. */
export function sampleServer(name: string, definition: Partial<ServerDefinition> = {}): StoredServer {
  const at = new Date().toISOString();
  return {
    name,
    definition: { url: "https://mcp.example.com/mcp", ...definition },
    revision: uniqueToken(),
    createdAt: at,
    updatedAt: at,
  };
}

function revise(server: StoredServer, definition: Partial<ServerDefinition>): StoredServer {
  return {
    ...server,
    definition: { ...server.definition, ...definition },
    revision: uniqueToken(),
    updatedAt: new Date().toISOString(),
  };
}

function names(servers: StoredServer[]): string[] {
  return servers.map((server) => server.name).sort();
}

function sortByName(servers: StoredServer[]): StoredServer[] {
  return [...servers].sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0));
}

type PinMethods = Pick<McpStore, "getToolPins" | "addToolPins" | "setToolPins" | "deleteToolPins">;

/** The pin methods when the store has all four (they are optional together), else undefined. */
function pinMethodsOf(store: McpStore): Required<PinMethods> | undefined {
  const { getToolPins, addToolPins, setToolPins, deleteToolPins } = store;
  if (!getToolPins || !addToolPins || !setToolPins || !deleteToolPins) return undefined;
  return {
    getToolPins: getToolPins.bind(store),
    addToolPins: addToolPins.bind(store),
    setToolPins: setToolPins.bind(store),
    deleteToolPins: deleteToolPins.bind(store),
  };
}

function uniqueToken(): string {
  return `t${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

function uniqueScope(): StoreScope {
  return { kind: "scope", id: uniqueToken() };
}

function uniqueName(): string {
  return `n${uniqueToken()}`;
}

function pendingId(): string {
  return globalThis.crypto.randomUUID().replaceAll("-", "");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
