import { markUsed } from "../util/recently-used.js";
import { scopeLabel, tenantScopeLabel } from "../store/keys.js";
import type { McpStore, StoreChangeEvent, StoreScope } from "../store/types.js";
import type { Identity } from "../types.js";

/** A caller's own on/off switches for servers (the preference route, SPEC §4), read and written through the store. */
export interface Preferences {
  /** The caller's switches by server name; empty for a store without preference methods. */
  of(identity: Identity): Promise<ReadonlyMap<string, boolean>>;
  /** What `of(identity)` would resolve with, synchronously, when it is kept fresh and read; otherwise undefined. */
  peek(identity: Identity): ReadonlyMap<string, boolean> | undefined;
  /** Sets (or with `null` removes) one switch; undefined when the store keeps no preferences. */
  set?: (identity: Identity, server: string, enabled: boolean | null) => Promise<void>;
}

const NONE: ReadonlyMap<string, boolean> = new Map();

/** Callers whose switches are kept in memory; the least recently used goes first. */
const MAX_CACHED_CALLERS = 10_000;
/** How long kept switches are trusted: as the registry's tiers, long only while the store's events are complete. */
const WATCHED_TTL_MS = 60_000;
const UNWATCHED_TTL_MS = 1_000;

interface Kept {
  at: number;
  value: Promise<ReadonlyMap<string, boolean>>;
  /** `value` once read. */
  read?: ReadonlyMap<string, boolean>;
}

/**
 * Preferences belong to the caller's scope and user; a caller without a user shares its scope's (user "").
 * They are read on every request that merges, so they are kept per caller and dropped on the store's
 * `preferences` event (this process's writes and other workers'), on `reset`, and after their lifetime.
 */
export function createPreferences(
  store: Pick<McpStore, "getPreferences" | "setPreference" | "watchHealthy">,
  now: () => number = Date.now,
): Preferences & { changed(event: StoreChangeEvent): void } {
  const { getPreferences, setPreference } = store;
  const owner = (identity: Identity): [StoreScope, string] => [
    { kind: "scope", id: identity.scope },
    identity.user ?? "",
  ];
  if (getPreferences === undefined || setPreference === undefined)
    return { of: async () => NONE, peek: () => NONE, changed: () => undefined };
  const cache = new Map<string, Kept>();
  const keyOf = (scope: StoreScope, user: string): string => `${scopeLabel(scope)}\u0000${user}`;
  /** The caller's fresh entry, marked as used. */
  const fresh = (identity: Identity): Kept | undefined => {
    // keyOf(...owner(identity)), without the two objects per request.
    const key = `${tenantScopeLabel(identity.scope)}\u0000${identity.user ?? ""}`;
    const cached = cache.get(key);
    const ttl = store.watchHealthy?.() === true ? WATCHED_TTL_MS : UNWATCHED_TTL_MS;
    if (cached === undefined || now() - cached.at >= ttl) return undefined;
    markUsed(cache, key, cached, MAX_CACHED_CALLERS);
    return cached;
  };
  return {
    peek: (identity) => fresh(identity)?.read,
    of: (identity) => {
      const cached = fresh(identity);
      if (cached !== undefined) return cached.value;
      const [scope, user] = owner(identity);
      const key = keyOf(scope, user);
      cache.delete(key);
      const value = getPreferences.call(store, scope, user);
      const entry: Kept = { at: now(), value };
      cache.set(key, entry);
      if (cache.size > MAX_CACHED_CALLERS) cache.delete(cache.keys().next().value as string);
      value.then(
        (read) => {
          entry.read = read;
        },
        () => {
          if (cache.get(key) === entry) cache.delete(key);
        },
      );
      return value;
    },
    set: async (identity, server, enabled) => {
      const [scope, user] = owner(identity);
      try {
        await setPreference.call(store, scope, user, server, enabled);
      } finally {
        cache.delete(keyOf(scope, user));
      }
    },
    changed: (event) => {
      if (event.type === "preferences") cache.delete(keyOf(event.scope, event.user));
      else if (event.type === "reset" || (event.type === "deleted" && event.scope.kind === "global")) cache.clear();
      else if (event.type === "deleted") {
        // The store dropped the deleted server's switches of every user of its scope.
        const owner = `${scopeLabel(event.scope)}\u0000`;
        for (const key of cache.keys()) if (key.startsWith(owner)) cache.delete(key);
      }
    },
  };
}
