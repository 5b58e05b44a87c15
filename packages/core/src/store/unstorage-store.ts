import { createStorage, type Storage } from "unstorage";
import { z } from "zod";
import { deepFreeze } from "../util/deep-freeze.js";
import { storeUnavailable, withStoreErrors as backend } from "./errors.js";
import { assertServerName, storeKeys } from "./keys.js";
import {
  assertMaxPins,
  assertMaxServers,
  assertStoreValue,
  assertToolPins,
  assertTtl,
  expiryOf,
  isExpired,
} from "./limits.js";
import { assertStoredServer, readStoredServers } from "./records.js";
import type {
  CompleteStore,
  CreateResult,
  DeleteResult,
  PinScope,
  StoreChangeEvent,
  StoredServer,
  StoreScope,
  UpdateResult,
} from "./types.js";

export interface UnstorageStoreOptions {
  /**
   * True when the data outlives the process (then secrets need a configured encryption key).
   * @default false when every mount of the storage is unstorage's memory driver, true otherwise
   */
  persistent?: boolean;
  /** The clock used for expiry, in milliseconds. @default Date.now */
  now?: () => number;
}

/** Matches a servers key as a driver's watcher reports it, possibly below a mount or prefix. */
const SERVERS_KEY = /(?:^|:)servers:(?:(global)|scope:([^:]+))$/;
/** Matches a user's preferences key (see storeKeys.preferences) as a watcher reports it. */
const PREFERENCES_KEY = /(?:^|:)prefs:scope:([^:]+):user:([^:]+)$/;

const expiringValueSchema = z.object({ value: z.string(), expiresAt: z.number().optional() });
/** A server's tool pins as one item: entries, not an object, since a tool may be named `__proto__`. */
const toolPinsSchema = z.object({ pins: z.array(z.tuple([z.string(), z.string()])) });
/** A user's server preferences as one item: entries, like the pins. */
const preferencesSchema = z.object({ preferences: z.array(z.tuple([z.string(), z.boolean()])) });

/**
 * The key of the scope index: every scope that holds servers, with tenant ids as given (the servers
 * key may hold only a digest of the id). Beside the servers keys, never below them (fs drivers).
 */
const SCOPE_INDEX_KEY = storeKeys.scopeIndex();
const scopeIndexSchema = z.array(
  z.union([z.object({ kind: z.literal("global") }), z.object({ kind: z.literal("scope"), id: z.string() })]),
);

type Listener = (event: StoreChangeEvent) => void;
type KeyedLock = <T>(key: string, work: () => Promise<T>) => Promise<T>;

/**
 * One lock table per Storage object, so that every store built on the same storage in this process
 * serializes its writes of one key with the others.
 */
const locksByStorage = new WeakMap<Storage, KeyedLock>();

/**
 * The store on an unstorage `Storage` (any driver). All servers of a scope are one item, written under an
 * in-process lock: create-if-absent, the `maxServers` limit and revision checks are atomic within one
 * process. Several processes writing one storage need a store with atomic writes of its own, such as
 * `@mcp-server-side/storage-redis`.
 */
export function unstorageStore(given?: Storage, options: UnstorageStoreOptions = {}): CompleteStore {
  const storage = given ?? createStorage();
  // A storage made here is seen by this store alone: it knows whether it ever wrote a user secret, a
  // preference or a tool pin, so a delete skips the key scans (the memory driver lists every key) and
  // the pins' removal while none was. A storage passed in may hold keys from before or from another
  // store: always cleaned.
  const alone = given === undefined;
  let wroteUserSecrets = false;
  let wrotePreferences = false;
  let wrotePins = false;
  const now = options.now ?? Date.now;
  const drivers = storage.getMounts("").map((mount) => mount.driver);
  const memoryOnly = drivers.every((driver) => driver.name === "memory");
  const persistent = options.persistent ?? !memoryOnly;
  // Only a memory storage sees every write (they all go through this Storage object). Native watchers
  // (fs: chokidar) are forwarded but can miss a file written into a directory they have not attached to yet,
  // so with them callers still keep caches short.
  const eventsComplete = memoryOnly;
  const withLock = lockFor(storage);

  const listeners = new Set<Listener>();
  let storageWatch: Promise<(() => void | Promise<void>) | undefined> | undefined;
  let watchFailed = false;
  // Keys this instance is writing right now: their synchronous echo from unstorage is our own event.
  const ownWrites = new Map<string, number>();

  function emit(event: StoreChangeEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the write has happened and the other listeners still hear of it.
      }
    }
  }

  function isOwnWrite(key: string): boolean {
    for (const own of ownWrites.keys()) if (key === own || key.endsWith(`:${own}`)) return true;
    return false;
  }

  function onStorageEvent(_event: string, key: string): void {
    if (isOwnWrite(key)) return;
    const preferences = PREFERENCES_KEY.exec(key);
    if (preferences !== null) {
      const [, scopeId = "_", user = "_"] = preferences;
      // Digested ids ("_…") cannot be turned back: the whole scope (or everything) may have changed.
      if (!scopeId.startsWith("_") && !user.startsWith("_"))
        emit({ type: "preferences", scope: { kind: "scope", id: scopeId }, user });
      else emit(scopeId.startsWith("_") ? { type: "reset" } : { type: "reset", scope: { kind: "scope", id: scopeId } });
      return;
    }
    const match = SERVERS_KEY.exec(key);
    if (match === null) return;
    const segment = match[2];
    if (match[1] !== undefined) emit({ type: "reset", scope: { kind: "global" } });
    // A segment starting with "_" is a digest of the scope id and cannot be turned back into it.
    else if (segment !== undefined && !segment.startsWith("_"))
      emit({ type: "reset", scope: { kind: "scope", id: segment } });
    else emit({ type: "reset" });
  }

  // On a storage of its own, nobody else reads the servers lists: they are kept here as written (frozen),
  // so a write or a read neither serializes nor parses and re-validates the scope's list.
  const ownLists = alone ? new Map<string, readonly StoredServer[]>() : undefined;

  async function readServers(key: string): Promise<readonly StoredServer[]> {
    if (ownLists !== undefined) return ownLists.get(key) ?? [];
    return readStoredServers(await backend(() => storage.getItem(key)));
  }

  async function writeServers(key: string, servers: readonly StoredServer[]): Promise<void> {
    if (ownLists !== undefined) {
      if (servers.length === 0) ownLists.delete(key);
      else ownLists.set(key, Object.freeze(servers.map(keptRecord)));
      return;
    }
    ownWrites.set(key, (ownWrites.get(key) ?? 0) + 1);
    try {
      await backend(() => (servers.length === 0 ? storage.removeItem(key) : storage.setItem(key, servers)));
    } finally {
      const count = (ownWrites.get(key) ?? 1) - 1;
      if (count === 0) ownWrites.delete(key);
      else ownWrites.set(key, count);
    }
  }

  // On a storage of its own, the index lives here alone (never mutated: a change is a new array), so a
  // write neither re-reads nor re-writes it.
  let ownIndex: StoreScope[] | undefined = alone ? [] : undefined;

  async function readScopeIndex(): Promise<StoreScope[]> {
    if (ownIndex !== undefined) return ownIndex;
    const raw = await backend(() => storage.getItem(SCOPE_INDEX_KEY));
    let scopes: StoreScope[] = [];
    if (raw !== null && raw !== undefined) {
      const parsed = scopeIndexSchema.safeParse(raw);
      if (!parsed.success) throw storeUnavailable("The stored scope index is unreadable");
      scopes = parsed.data;
    }
    return scopes;
  }

  /**
   * Adds or removes a scope in the index. Callers hold the scope's own lock, so the index and the
   * scope's servers never disagree about that scope; the index lock serializes scopes among themselves
   * (always taken second, so the two locks cannot deadlock).
   */
  async function indexScope(scope: StoreScope, present: boolean): Promise<void> {
    await withLock(SCOPE_INDEX_KEY, async () => {
      const scopes = await readScopeIndex();
      const listed = scopes.some((listedScope) => sameScope(listedScope, scope));
      if (listed === present) return;
      const entry: StoreScope = scope.kind === "global" ? { kind: "global" } : { kind: "scope", id: scope.id };
      const next = present ? [...scopes, entry] : scopes.filter((listedScope) => !sameScope(listedScope, scope));
      if (alone) {
        ownIndex = next;
        return;
      }
      await backend(() =>
        next.length === 0 ? storage.removeItem(SCOPE_INDEX_KEY) : storage.setItem(SCOPE_INDEX_KEY, next),
      );
    });
  }

  async function removeUserSecrets(scope: StoreScope, server: string): Promise<void> {
    if (alone && !wroteUserSecrets) return;
    const prefix = storeKeys.userSecretsOf(scope, server);
    const keys = await backend(() => storage.getKeys(prefix));
    for (const key of keys) {
      // Drivers may report keys below a mount; only exact members of this server's group are removed.
      if (!key.startsWith(prefix)) continue;
      await withLock(key, () => backend(() => storage.removeItem(key)));
    }
  }

  /**
   * Removes a deleted server from its users' switches: a tenant server's from its scope's users, a global
   * server's from every tenant's users except in scopes holding a server of their own by that name.
   */
  async function removePreferences(scope: StoreScope, server: string): Promise<void> {
    if (alone && !wrotePreferences) return;
    // One scope's users, or (for a global server) everyone's: what every storeKeys.preferences key starts with.
    const prefix = scope.kind === "global" ? "prefs:" : storeKeys.preferencesOf(scope);
    const keys = await backend(() => storage.getKeys(prefix));
    for (const key of keys) {
      // Drivers may report keys below a mount; only exact members of the group are rewritten.
      if (!key.startsWith(prefix)) continue;
      const tenant = PREFERENCES_KEY.exec(key)?.[1];
      if (scope.kind === "global" && tenant !== undefined) {
        // `tenant` is the key's scope segment (maybe a digest), so the servers key is built from it as is.
        const own = await readServers(`servers:scope:${tenant}`);
        if (own.some((stored) => stored.name === server)) continue;
      }
      await withLock(key, async () => {
        const stored = await readPreferences(key);
        if (!stored.delete(server)) return;
        await backend(() =>
          stored.size === 0 ? storage.removeItem(key) : storage.setItem(key, { preferences: [...stored] }),
        );
      });
    }
  }

  async function readExpiring(key: string, remove: boolean): Promise<string | null> {
    const raw = await backend(() => storage.getItem(key));
    if (raw === null || raw === undefined) return null;
    const parsed = expiringValueSchema.safeParse(raw);
    if (!parsed.success) throw storeUnavailable("A stored secret is unreadable");
    const expired = isExpired(parsed.data.expiresAt, now());
    if (remove || expired) await backend(() => storage.removeItem(key));
    return expired ? null : parsed.data.value;
  }

  async function writeExpiring(key: string, value: string, ttlMs: number | undefined): Promise<void> {
    assertStoreValue(value);
    const expiresAt = expiryOf(ttlMs, now());
    if (ttlMs === undefined || expiresAt === undefined) {
      await backend(() => storage.setItem(key, { value }));
      return;
    }
    // Drivers with native expiry (redis, cloudflare KV: at least 60 s) collect the garbage; expiry itself
    // is decided on read from `expiresAt`, so it is exact on every driver.
    const ttl = Math.max(60, Math.ceil(ttlMs / 1000));
    await backend(() => storage.setItem(key, { value, expiresAt }, { ttl }));
  }

  async function readPins(key: string): Promise<Map<string, string>> {
    const raw = await backend(() => storage.getItem(key));
    if (raw === null || raw === undefined) return new Map();
    const parsed = toolPinsSchema.safeParse(raw);
    if (!parsed.success) throw storeUnavailable("The stored tool pins are unreadable");
    return new Map(parsed.data.pins);
  }

  async function writePins(key: string, pins: Map<string, string>): Promise<void> {
    wrotePins = true;
    await backend(() =>
      pins.size === 0 ? storage.removeItem(key) : storage.setItem(key, { pins: [...pins.entries()] }),
    );
  }

  async function readPreferences(key: string): Promise<Map<string, boolean>> {
    const raw = await backend(() => storage.getItem(key));
    if (raw === null || raw === undefined) return new Map();
    const parsed = preferencesSchema.safeParse(raw);
    if (!parsed.success) throw storeUnavailable("The stored preferences are unreadable");
    return new Map(parsed.data.preferences);
  }

  return {
    persistent,
    capabilities: { oauth: true, pins: true, events: true, scopeIndex: true, preferences: true },

    async list(scope) {
      const key = storeKeys.servers(scope);
      return [...(await withLock(key, () => readServers(key)))];
    },

    async get(scope, name) {
      const key = storeKeys.servers(scope);
      const servers = await withLock(key, () => readServers(key));
      return servers.find((server) => server.name === name) ?? null;
    },

    async create(scope, server, { maxServers }): Promise<CreateResult> {
      assertStoredServer(server);
      assertMaxServers(maxServers);
      const key = storeKeys.servers(scope);
      const result = await withLock(key, async (): Promise<CreateResult> => {
        const servers = await readServers(key);
        if (servers.some((stored) => stored.name === server.name)) return { ok: false, reason: "exists" };
        if (servers.length >= maxServers) return { ok: false, reason: "limit" };
        // Indexed first (on every create, so records older than the index get listed too): a failure
        // between the two writes leaves an empty scope listed, never a scope with servers unlisted.
        await indexScope(scope, true);
        await writeServers(key, [...servers, server]);
        return { ok: true };
      });
      if (result.ok) emit({ type: "created", scope, name: server.name });
      return result;
    },

    async update(scope, server, { expectedRevision }): Promise<UpdateResult> {
      assertStoredServer(server);
      const key = storeKeys.servers(scope);
      const result = await withLock(key, async (): Promise<UpdateResult> => {
        const servers = await readServers(key);
        const index = servers.findIndex((stored) => stored.name === server.name);
        const current = servers[index];
        if (current === undefined) return { ok: false, reason: "not_found" };
        if (expectedRevision !== undefined && current.revision !== expectedRevision)
          return { ok: false, reason: "revision_mismatch" };
        await writeServers(
          key,
          servers.map((stored, position) => (position === index ? server : stored)),
        );
        return { ok: true };
      });
      if (result.ok) emit({ type: "updated", scope, name: server.name });
      return result;
    },

    async delete(scope, name, { expectedRevision }): Promise<DeleteResult> {
      const key = storeKeys.servers(scope);
      const result = await withLock(key, async (): Promise<DeleteResult> => {
        const servers = await readServers(key);
        const current = servers.find((stored) => stored.name === name);
        if (current === undefined) return { ok: false, reason: "not_found" };
        if (expectedRevision !== undefined && current.revision !== expectedRevision)
          return { ok: false, reason: "revision_mismatch" };
        const remaining = servers.filter((stored) => stored !== current);
        await writeServers(key, remaining);
        if (remaining.length === 0) await indexScope(scope, false);
        // The server's trust goes with it: a new server of that name is pinned afresh. (Pins lock second.)
        const pinsKey = storeKeys.toolPins(scope, name);
        if (!alone || wrotePins) await withLock(pinsKey, () => backend(() => storage.removeItem(pinsKey)));
        // So are its users' OAuth tokens and its client registration: a new server of that name starts clean.
        await removeUserSecrets(scope, name);
        // And its users' switches: a new server of that name starts from its own availability.
        await removePreferences(scope, name);
        return { ok: true };
      });
      if (result.ok) emit({ type: "deleted", scope, name });
      return result;
    },

    async listScopes() {
      const scopes = await withLock(SCOPE_INDEX_KEY, readScopeIndex);
      return scopes.map((scope) => ({ ...scope }));
    },

    async watch(listener) {
      listeners.add(listener);
      if (storageWatch === undefined) {
        storageWatch = storage.watch(onStorageEvent).catch(() => {
          // A driver whose watcher cannot start (fs without inotify slots, …) still gives in-process events.
          watchFailed = true;
          return undefined;
        });
      }
      await storageWatch;
      return async () => {
        listeners.delete(listener);
        if (listeners.size > 0 || storageWatch === undefined) return;
        const pending = storageWatch;
        storageWatch = undefined;
        await stopWatching(pending);
      };
    },

    watchHealthy() {
      return eventsComplete && !watchFailed;
    },

    async getUserSecret(scope, server, user) {
      const key = storeKeys.userSecret(scope, server, user);
      return withLock(key, () => readExpiring(key, false));
    },

    async setUserSecret(scope, server, user, value, ttlMs) {
      const key = storeKeys.userSecret(scope, server, user);
      wroteUserSecrets = true;
      await withLock(key, () => writeExpiring(key, value, ttlMs));
    },

    async deleteUserSecret(scope, server, user) {
      const key = storeKeys.userSecret(scope, server, user);
      await withLock(key, () => backend(() => storage.removeItem(key)));
    },

    async listUserSecrets(scope, server) {
      const prefix = storeKeys.userSecretsOf(scope, server);
      const values: string[] = [];
      for (const key of await backend(() => storage.getKeys(prefix))) {
        if (!key.startsWith(prefix)) continue;
        const value = await withLock(key, () => readExpiring(key, false));
        if (value !== null) values.push(value);
      }
      return values;
    },

    async putPending(id, value, ttlMs) {
      const key = storeKeys.pending(id);
      assertTtl(ttlMs);
      await withLock(key, () => writeExpiring(key, value, ttlMs));
    },

    async takePending(id) {
      const key = storeKeys.pending(id);
      return withLock(key, () => readExpiring(key, true));
    },

    async putPendingIfAbsent(id, value, ttlMs) {
      const key = storeKeys.pending(id);
      assertTtl(ttlMs);
      return withLock(key, async () => {
        if ((await readExpiring(key, false)) !== null) return false;
        await writeExpiring(key, value, ttlMs);
        return true;
      });
    },

    async getToolPins(scope: PinScope, server: string) {
      const key = storeKeys.toolPins(scope, server);
      return withLock(key, () => readPins(key));
    },

    async addToolPins(scope: PinScope, server: string, pins: ReadonlyMap<string, string>, { maxPins }) {
      const key = storeKeys.toolPins(scope, server);
      assertToolPins(pins);
      assertMaxPins(maxPins);
      return withLock(key, async () => {
        const stored = await readPins(key);
        let added = false;
        for (const [tool, pin] of pins) {
          if (stored.has(tool) || stored.size >= maxPins) continue;
          stored.set(tool, pin);
          added = true;
        }
        if (added) await writePins(key, stored);
        const result = new Map<string, string>();
        for (const tool of pins.keys()) {
          const pin = stored.get(tool);
          if (pin !== undefined) result.set(tool, pin);
        }
        return result;
      });
    },

    async setToolPins(scope: PinScope, server: string, pins: ReadonlyMap<string, string>, options = {}) {
      const key = storeKeys.toolPins(scope, server);
      assertToolPins(pins);
      await withLock(key, async () => {
        const stored = options.replace ? new Map<string, string>() : await readPins(key);
        for (const [tool, pin] of pins) stored.set(tool, pin);
        await writePins(key, stored);
      });
    },

    async deleteToolPins(scope: PinScope, server: string) {
      const key = storeKeys.toolPins(scope, server);
      await withLock(key, () => backend(() => storage.removeItem(key)));
    },

    async getPreferences(scope, user) {
      const key = storeKeys.preferences(scope, user);
      return withLock(key, () => readPreferences(key));
    },

    async setPreference(scope, user, server, enabled) {
      assertServerName(server);
      const key = storeKeys.preferences(scope, user);
      wrotePreferences = true;
      await withLock(key, async () => {
        const stored = await readPreferences(key);
        if (enabled === null) stored.delete(server);
        else stored.set(server, enabled);
        ownWrites.set(key, (ownWrites.get(key) ?? 0) + 1);
        try {
          await backend(() =>
            stored.size === 0 ? storage.removeItem(key) : storage.setItem(key, { preferences: [...stored] }),
          );
        } finally {
          const count = (ownWrites.get(key) ?? 1) - 1;
          if (count === 0) ownWrites.delete(key);
          else ownWrites.set(key, count);
        }
      });
      emit({ type: "preferences", scope, user });
    },

    async ping() {
      await backend(() => storage.hasItem(storeKeys.servers({ kind: "global" })));
    },

    async close() {
      listeners.clear();
      const pending = storageWatch;
      storageWatch = undefined;
      await stopWatching(pending);
    },
  };
}

async function stopWatching(watching: Promise<(() => void | Promise<void>) | undefined> | undefined): Promise<void> {
  const unwatch = await watching;
  try {
    await unwatch?.();
  } catch {
    // The watcher is being dropped either way.
  }
}

/** A record as an in-memory list keeps it: a frozen copy, so neither the writer nor a reader can change what is stored. */
function keptRecord(server: StoredServer): StoredServer {
  return Object.isFrozen(server) ? server : deepFreeze(structuredClone(server));
}

function sameScope(left: StoreScope, right: StoreScope): boolean {
  return left.kind === "global" ? right.kind === "global" : right.kind === "scope" && left.id === right.id;
}

function lockFor(storage: Storage): KeyedLock {
  let lock = locksByStorage.get(storage);
  if (lock === undefined) {
    lock = createKeyedLock();
    locksByStorage.set(storage, lock);
  }
  return lock;
}

/** A FIFO lock per key: each holder waits for the one before it; the table forgets idle keys. */
function createKeyedLock(): KeyedLock {
  const tails = new Map<string, Promise<void>>();
  return async <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A free key (the usual case) is taken at once: no chained promise, no turn waited.
    const tail = previous === undefined ? held : previous.then(() => held);
    tails.set(key, tail);
    if (previous !== undefined) await previous;
    try {
      return await work();
    } finally {
      release();
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}
