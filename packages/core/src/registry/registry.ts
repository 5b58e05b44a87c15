import { randomUUID } from "node:crypto";
import { isEnabled, isLocked, type ServerDefinition } from "../config/schema.js";
import { McpServerSideError } from "../errors.js";
import { type HookOrigin, hasHandlers, INSTANCE_ORIGIN, type McpHookable } from "../hooks.js";
import type { Logger } from "../options.js";
import type { KeyRing } from "../security/crypto.js";
import { redactDefinition } from "../security/redact.js";
import { openDefinition, sealDefinition } from "../security/secrets.js";
import { scopeLabel } from "../store/keys.js";
import type { McpStore, StoreChangeEvent, StoredServer, StoreScope } from "../store/types.js";
import { deepFreeze } from "../util/deep-freeze.js";
import { markUsed } from "../util/recently-used.js";

/** A stored server as the process uses it: the record as stored (sealed) and its opened definition. */
export interface StoredEntry {
  record: StoredServer;
  definition: ServerDefinition;
}

export interface RegistryDeps {
  store: McpStore;
  ring: KeyRing;
  hooks: McpHookable;
  config: ReadonlyMap<string, ServerDefinition>;
  maxServersPerScope: number;
  /** Called when a stored server changed or went away, in this process or another. */
  onChange: (event: StoreChangeEvent) => void | Promise<void>;
  logger?: Logger;
  now?: () => number;
}

/** One stored tier as cached: the entries, and their definitions as the merge takes them. */
export interface TierSnapshot {
  entries: ReadonlyMap<string, StoredEntry>;
  definitions: ReadonlyMap<string, ServerDefinition>;
  /**
   * Records no key could open (a changed or lost encryption key, tampered bytes): left out of the
   * tier so their siblings keep working, and kept here so routes can name them.
   */
  unreadable: ReadonlyMap<string, { record: StoredServer; error: McpServerSideError }>;
}

interface MutableSnapshot {
  entries: Map<string, StoredEntry>;
  definitions: Map<string, ServerDefinition>;
  unreadable: Map<string, { record: StoredServer; error: McpServerSideError }>;
}

/** Who asked for a change, for the `server:*` hooks, and what the server was before (update, remove). */
export interface ChangeAudit {
  origin: HookOrigin;
  previous?: ServerDefinition;
}

/** The top-level fields whose values differ (names only: the values may be secrets). */
function changedFields(before: ServerDefinition | undefined, after: ServerDefinition): string[] {
  if (before === undefined) return [];
  const old = before as Record<string, unknown>;
  const now = after as Record<string, unknown>;
  const names = new Set([...Object.keys(old), ...Object.keys(now)]);
  return [...names].filter((name) => JSON.stringify(old[name]) !== JSON.stringify(now[name])).sort();
}

export interface Registry {
  /** The servers of one stored tier, opened, from a cache that store events keep fresh. */
  servers(scope: StoreScope): Promise<TierSnapshot>;
  /**
   * What `servers(scope)` would resolve with, synchronously, when the cache holds it fresh and read
   * (the warm request's path); otherwise undefined, and the caller takes `servers(scope)`.
   */
  peek(scope: StoreScope): TierSnapshot | undefined;
  create(scope: StoreScope, name: string, definition: ServerDefinition, audit?: ChangeAudit): Promise<StoredEntry>;
  /**
   * Replaces `base` (the record the new definition was derived from) if it is still the stored one;
   * otherwise `409 conflict`, or `412 precondition_failed` when `conditional` (the caller sent If-Match).
   */
  update(
    scope: StoreScope,
    name: string,
    definition: ServerDefinition,
    base: StoredServer,
    conditional?: boolean,
    audit?: ChangeAudit,
  ): Promise<StoredEntry>;
  remove(scope: StoreScope, name: string, expectedRevision?: string, audit?: ChangeAudit): Promise<void>;
  /** Starts listening to the store's change events. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** How long a cached tier is trusted without a change event to back it. */
const WATCHED_TTL_MS = 60_000;
const UNWATCHED_TTL_MS = 1_000;
/** Scopes kept in the cache; the least recently used one goes first, so memory stays bounded with many tenants. */
const MAX_CACHED_SCOPES = 10_000;

interface CachedTier {
  at: number;
  servers: Promise<TierSnapshot>;
  /** What `servers` resolved with, once it has (a re-read replaces `servers`, and `from` tells this one stale). */
  read?: { from: Promise<TierSnapshot>; snapshot: TierSnapshot };
  /** The promise whose settling `read` waits for. */
  awaited?: Promise<TierSnapshot>;
}

/**
 * The stored tiers (global and each scope): validated definitions in, sealed records in the store,
 * opened definitions in a per-process cache. Writes check the tiers below for locked names and
 * announce themselves through hooks and the store's change events.
 */
export function createRegistry(deps: RegistryDeps): Registry {
  const now = deps.now ?? Date.now;
  const cache = new Map<string, CachedTier>();
  let watching = false;
  let unwatch: (() => void) | undefined;

  const ttl = (): number => {
    // A store that cannot say its events are complete gets the short lifetime.
    const healthy = deps.store.watchHealthy?.() ?? false;
    return watching && healthy ? WATCHED_TTL_MS : UNWATCHED_TTL_MS;
  };

  /** Opens one record into the maps of a snapshot being built. */
  const place = (scope: StoreScope, record: StoredServer, into: MutableSnapshot): void => {
    try {
      const definition = openDefinition(record.definition, deps.ring, { scope, name: record.name });
      into.entries.set(record.name, { record, definition });
      into.definitions.set(record.name, definition);
    } catch (error) {
      const failure = McpServerSideError.isInstance(error)
        ? error
        : new McpServerSideError("decryption_failed", "a stored secret could not be decrypted", { cause: error });
      into.unreadable.set(record.name, { record, error: failure });
      deps.logger?.error(
        `mcp-server-side: cannot decrypt the stored server '${record.name}' (${scopeLabel(scope)})`,
        failure.message,
      );
    }
  };

  const load = async (scope: StoreScope): Promise<TierSnapshot> => {
    const records = await deps.store.list(scope);
    const snapshot: MutableSnapshot = { entries: new Map(), definitions: new Map(), unreadable: new Map() };
    for (const record of records) place(scope, record, snapshot);
    return snapshot;
  };

  /**
   * A cached tier with one server re-read: a change (this process's write or another's event) costs
   * one record read and one decryption, not the tier's whole list. The same revision leaves the
   * snapshot as it is (the event of this process's own write), so what was merged from it stays valid.
   */
  const withServer = async (scope: StoreScope, name: string, snapshot: TierSnapshot): Promise<TierSnapshot> => {
    const record = await deps.store.get(scope, name);
    const current = snapshot.entries.get(name)?.record ?? snapshot.unreadable.get(name)?.record;
    if (record === null ? current === undefined : current?.revision === record.revision) return snapshot;
    const next: MutableSnapshot = {
      entries: new Map(snapshot.entries),
      definitions: new Map(snapshot.definitions),
      unreadable: new Map(snapshot.unreadable),
    };
    next.entries.delete(name);
    next.definitions.delete(name);
    next.unreadable.delete(name);
    if (record !== null) place(scope, record, next);
    return next;
  };

  /** Re-reads one server of a cached tier, after the reads before it (so changes apply in order). */
  const refresh = (scope: StoreScope, name: string): void => {
    const label = scopeLabel(scope);
    const cached = cache.get(label);
    if (cached === undefined) return;
    const refreshed = cached.servers.then((snapshot) => withServer(scope, name, snapshot));
    cached.servers = refreshed;
    refreshed.catch(() => {
      if (cache.get(label)?.servers === refreshed) cache.delete(label);
    });
  };

  /** Keeps what the entry's current read resolves with, for `peek`. */
  const track = (entry: CachedTier): void => {
    const from = entry.servers;
    if (entry.awaited === from) return;
    entry.awaited = from;
    from.then(
      (snapshot) => {
        entry.read = { from, snapshot };
      },
      () => undefined,
    );
  };

  const servers = (scope: StoreScope): Promise<TierSnapshot> => {
    const label = scopeLabel(scope);
    const cached = cache.get(label);
    if (cached && now() - cached.at < ttl()) {
      markUsed(cache, label, cached, MAX_CACHED_SCOPES);
      return cached.servers;
    }
    const loading = load(scope);
    cache.delete(label);
    const entry: CachedTier = { at: now(), servers: loading };
    cache.set(label, entry);
    track(entry);
    if (cache.size > MAX_CACHED_SCOPES) cache.delete(cache.keys().next().value as string);
    loading.catch(() => {
      if (cache.get(label)?.servers === loading) cache.delete(label);
    });
    return loading;
  };

  const peek = (scope: StoreScope): TierSnapshot | undefined => {
    const label = scopeLabel(scope);
    const cached = cache.get(label);
    if (cached === undefined || now() - cached.at >= ttl()) return undefined;
    if (cached.read?.from === cached.servers) {
      markUsed(cache, label, cached, MAX_CACHED_SCOPES);
      return cached.read.snapshot;
    }
    // Not read yet, or re-read since (a change): the next request finds it once this read settles.
    track(cached);
    return undefined;
  };

  const changed = async (event: StoreChangeEvent): Promise<void> => {
    if (event.type === "reset") {
      if (event.scope === undefined) cache.clear();
      else cache.delete(scopeLabel(event.scope));
    }
    // A user's preferences are no server definitions: the cached tiers stay valid.
    else if (event.type !== "preferences") refresh(event.scope, event.name);
    await deps.onChange(event);
  };

  /**
   * This process's writes in flight, each with the handling of an event the store announced for its
   * server meanwhile. Both built-in stores announce their own writes to watchers before the write
   * returns, and a read started after the write began sees it (same key lock, same Redis connection),
   * so that handling (one re-read, the evictions) is the write's own and is not done a second time.
   */
  const writing = new Map<string, Promise<void> | undefined>();
  const writeKey = (scope: StoreScope, name: string): string => `${scopeLabel(scope)}\u0000${name}`;

  /** Runs `write` and then handles its change once: the event heard during it, else a change of its own. */
  const announced = async <T>(
    event: Extract<StoreChangeEvent, { name: string }>,
    write: () => Promise<T>,
    succeeded: (result: T) => boolean,
  ): Promise<T> => {
    const key = writeKey(event.scope, event.name);
    // A second write of the same server in this process meanwhile: each handles its own change.
    const tracked = !writing.has(key);
    if (tracked) writing.set(key, undefined);
    let result: T;
    let heard: Promise<void> | undefined;
    try {
      result = await write();
    } finally {
      if (tracked) {
        heard = writing.get(key);
        writing.delete(key);
      }
    }
    if (succeeded(result)) await (heard ?? changed(event));
    return result;
  };

  const assertNotLocked = async (scope: StoreScope, name: string): Promise<void> => {
    const lower = [deps.config.get(name)];
    // A disabled global server is hidden from members, so it does not lock a scope's name: a 409
    // would tell a member it exists. The lock still holds where it matters, in the merge: once the
    // server is enabled, it wins its name over the scope's server (which is then reported ignored).
    const global = scope.kind === "scope" ? (await servers({ kind: "global" })).definitions.get(name) : undefined;
    if (global !== undefined && isEnabled(global)) lower.push(global);
    if (lower.some((definition) => definition !== undefined && isLocked(definition))) {
      throw new McpServerSideError("name_locked", `'${name}' is locked by a lower tier and cannot be registered here`);
    }
  };

  const hookRef = (scope: StoreScope, name: string) =>
    scope.kind === "global" ? { name, source: "global" as const } : { name, source: "scope" as const, scope: scope.id };

  /**
   * The record the store is asked to keep: the definition sealed, a new revision, the timestamps. Frozen
   * (nothing changes it once made), so a store keeping records in memory keeps it as is, without a copy.
   */
  const sealedRecord = (
    scope: StoreScope,
    name: string,
    definition: ServerDefinition,
    createdAt?: string,
  ): StoredServer => {
    const timestamp = new Date(now()).toISOString();
    return deepFreeze({
      name,
      definition: sealDefinition(definition, deps.ring, { scope, name }),
      revision: randomUUID(),
      createdAt: createdAt ?? timestamp,
      updatedAt: timestamp,
    });
  };

  return {
    servers,
    peek,

    async create(scope, name, definition, audit) {
      await assertNotLocked(scope, name);
      const record = sealedRecord(scope, name, definition);
      const result = await announced(
        { type: "created", scope, name },
        () => deps.store.create(scope, record, { maxServers: deps.maxServersPerScope }),
        (outcome) => outcome.ok,
      );
      if (!result.ok) {
        cache.delete(scopeLabel(scope));
        throw result.reason === "exists"
          ? new McpServerSideError("name_taken", `a server named '${name}' already exists here`)
          : new McpServerSideError(
              "limit_exceeded",
              `at most ${deps.maxServersPerScope} servers can be registered here`,
            );
      }
      // The payload redacts the definition: built only when a hook listens.
      if (hasHandlers(deps.hooks, ["server:registered"]))
        await deps.hooks.callHook("server:registered", {
          ...(audit?.origin ?? INSTANCE_ORIGIN),
          server: hookRef(scope, name),
          definition: redactDefinition(definition, { connection: true }),
        });
      return { record, definition };
    },

    async update(scope, name, definition, base, conditional = false, audit) {
      await assertNotLocked(scope, name);
      // No second read: the store compares against the revision the caller merged onto, so a write
      // in between is a conflict, never silently overwritten.
      const record = sealedRecord(scope, name, definition, base.createdAt);
      const result = await announced(
        { type: "updated", scope, name },
        () => deps.store.update(scope, record, { expectedRevision: base.revision }),
        (outcome) => outcome.ok,
      );
      if (!result.ok) {
        cache.delete(scopeLabel(scope)); // a retry must see the revision that won
        throw updateFailure(result.reason, name, conditional ? base.revision : undefined);
      }
      // The payload redacts the definition: built only when a hook listens.
      if (hasHandlers(deps.hooks, ["server:updated"]))
        await deps.hooks.callHook("server:updated", {
          ...(audit?.origin ?? INSTANCE_ORIGIN),
          server: hookRef(scope, name),
          definition: redactDefinition(definition, { connection: true }),
          changed: changedFields(audit?.previous, definition),
        });
      return { record, definition };
    },

    async remove(scope, name, expectedRevision, audit) {
      const result = await announced(
        { type: "deleted", scope, name },
        () => deps.store.delete(scope, name, expectedRevision === undefined ? {} : { expectedRevision }),
        (outcome) => outcome.ok,
      );
      if (!result.ok) {
        cache.delete(scopeLabel(scope));
        throw updateFailure(result.reason, name, expectedRevision);
      }
      // The payload redacts the definition: built only when a hook listens.
      if (hasHandlers(deps.hooks, ["server:removed"]))
        await deps.hooks.callHook("server:removed", {
          ...(audit?.origin ?? INSTANCE_ORIGIN),
          server: hookRef(scope, name),
          // An unreadable record (no key opens it) has no definition to show.
          definition: audit?.previous === undefined ? {} : redactDefinition(audit.previous, { connection: true }),
        });
    },

    async start() {
      if (!deps.store.watch) return;
      unwatch = await deps.store.watch((event) => {
        const handled = changed(event);
        handled.catch((error: unknown) => deps.logger?.warn("mcp-server-side: handling a store change failed", error));
        // A write of this process waiting for its announcement gets this handling as its own.
        if ("name" in event) {
          const key = writeKey(event.scope, event.name);
          if (writing.has(key)) writing.set(key, handled);
        }
      });
      watching = true;
    },

    async close() {
      unwatch?.();
      watching = false;
      cache.clear();
    },
  };
}

function updateFailure(
  reason: "not_found" | "revision_mismatch",
  name: string,
  expectedRevision: string | undefined,
): McpServerSideError {
  if (reason === "not_found") return new McpServerSideError("not_found", `no server named '${name}'`);
  return expectedRevision === undefined
    ? new McpServerSideError("conflict", `'${name}' changed while it was being updated; retry`)
    : new McpServerSideError("precondition_failed", "the server changed since the ETag given in If-Match");
}
