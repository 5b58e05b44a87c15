import type { ServerDefinition } from "../config/schema.js";
import type { Registry, TierSnapshot } from "../registry/registry.js";
import type { ContextError, EffectiveServer, Identity, ResolvedServer } from "../types.js";
import { type CallerTiers, deriveCallerTiers, presentServer, scopeOf } from "./effective.js";
import { type MergedServer, type MergeResult, mergeTiers } from "./merge.js";
import { deepFreeze } from "../util/deep-freeze.js";

/**
 * What a caller sees of the stored tiers, merged once per read of those tiers and shared by every
 * request and route that reads the same tiers: a warm request or `GET /mcp-servers` merges, redacts
 * and serializes nothing. An entry lives as long as the tier snapshots it was merged from (the
 * registry replaces a snapshot on every change event, in this process or another, and after its
 * lifetime), so it is invalidated with them and needs no events of its own; entries are held weakly
 * by the snapshots, so the registry's LRU of scopes bounds them too.
 *
 * Everything here is the same for every caller of one scope with the same admin flag, except the
 * per-user parts, which are kept out: OAuth status (asked of the OAuth manager per request) and the
 * per-user `ResolvedServer`s (kept per user, a few per view).
 */
export interface CallerView {
  tiers: CallerTiers;
  /** The reads the tiers came from, so a route can take a server's body and its revision from one read. */
  snapshots: { global: TierSnapshot; scope?: TierSnapshot };
  /** Stored servers no key could open, as request errors. */
  errors: readonly ContextError[];
  /** The merge without a request tier or selection: the catalog and what a plain request injects. */
  merge: MergeResult;
  /** Whether any server of the catalog uses per-user OAuth (then the user's state decides what is injected). */
  hasOAuth: boolean;
  /** The catalog as this caller may see it (redacted, frozen), made on first use. */
  presentedCatalog(): readonly EffectiveServer[];
  /** The injected servers of a plain request as this caller may see them (redacted, frozen), made on first use. */
  presentedInjected(): readonly EffectiveServer[];
  /** The injected servers of a plain request as the engine resolves them for `caller`. */
  resolved(caller: Identity | null): ResolvedServer[];
}

export interface CallerViews {
  /** Rejects when the store is unavailable. */
  view(identity: Identity | null): Promise<CallerView>;
  /** What `view(identity)` would resolve with, synchronously, when the tiers it reads are cached and read; else undefined. */
  peek(identity: Identity | null): CallerView | undefined;
}

/** Users whose resolved server lists one view keeps (anything beyond is rebuilt per request). */
const MAX_USERS_PER_VIEW = 64;
const NO_SCOPE: object = Object.freeze({});
const GLOBAL = Object.freeze({ kind: "global" as const });

export function createCallerViews(deps: {
  config: ReadonlyMap<string, ServerDefinition>;
  registry: Registry;
  /** Where a user connects an OAuth server: reported with `oauth_required` for a server not connected. */
  connectUrl?: (name: string) => string;
}): CallerViews {
  // global snapshot → scope snapshot (or NO_SCOPE) → [member view, admin view]
  const cache = new WeakMap<TierSnapshot, WeakMap<object, [CallerView?, CallerView?]>>();

  const build = (global: TierSnapshot, scope: TierSnapshot | undefined, admin: boolean): CallerView => {
    const { tiers, errors } = deriveCallerTiers(deps.config, global, scope, admin);
    const merge = mergeTiers({ ...tiers, ...(deps.connectUrl ? { connectUrl: deps.connectUrl } : {}) });
    const identity: Identity | null = admin ? { scope: "", admin: true } : null;
    let catalog: readonly EffectiveServer[] | undefined;
    let injected: readonly EffectiveServer[] | undefined;
    const resolvedByUser = new Map<string, ResolvedServer[]>();
    return {
      tiers,
      snapshots: scope ? { global, scope } : { global },
      errors,
      merge,
      hasOAuth: merge.catalog.some((server) => server.definition.auth?.type === "oauth2"),
      presentedCatalog: () => {
        catalog ??= deepFreeze(merge.catalog.map((server) => presentServer(server, identity)));
        return catalog;
      },
      presentedInjected: () => {
        injected ??= deepFreeze(merge.servers.map((server) => presentServer(server, identity)));
        return injected;
      },
      resolved: (caller) => {
        const key = caller === null ? "" : `${caller.scope}\u0000${caller.user ?? ""}`;
        let resolved = resolvedByUser.get(key);
        if (resolved === undefined) {
          resolved = resolveServers(merge.servers, caller);
          if (resolvedByUser.size >= MAX_USERS_PER_VIEW) resolvedByUser.clear();
          resolvedByUser.set(key, resolved);
        }
        return resolved;
      },
    };
  };

  /** The view of these tier reads, merged on first use. */
  const viewOf = (global: TierSnapshot, scope: TierSnapshot | undefined, admin: boolean): CallerView => {
    let byScope = cache.get(global);
    if (byScope === undefined) {
      byScope = new WeakMap();
      cache.set(global, byScope);
    }
    let pair = byScope.get(scope ?? NO_SCOPE);
    if (pair === undefined) {
      pair = [];
      byScope.set(scope ?? NO_SCOPE, pair);
    }
    const index = admin ? 1 : 0;
    const view = pair[index] ?? build(global, scope, admin);
    pair[index] = view;
    return view;
  };

  return {
    async view(identity) {
      // Both reads start at once; awaited in turn (the registry's promises are handled where they
      // start, so the second may fail while the first is awaited), with no Promise.all per request.
      const reading = identity ? deps.registry.servers(scopeOf(identity)) : undefined;
      const global = await deps.registry.servers(GLOBAL);
      const scope = reading === undefined ? undefined : await reading;
      return viewOf(global, scope, identity?.admin === true);
    },

    peek(identity) {
      // Both peeked, so that each read still settling is awaited for the next request.
      const scope = identity ? deps.registry.peek(scopeOf(identity)) : undefined;
      const global = deps.registry.peek(GLOBAL);
      if (global === undefined || (identity && scope === undefined)) return undefined;
      return viewOf(global, scope, identity?.admin === true);
    },
  };
}

/** The merged servers as the engine connects to them for `caller` (its scope and user where they matter). */
export function resolveServers(merged: readonly MergedServer[], caller: Identity | null): ResolvedServer[] {
  return merged.map((server) => resolvedFor(server, caller));
}

/** A merged server as the engine (and the OAuth manager) sees it for this caller. */
export function resolvedFor(server: MergedServer, caller: Identity | null): ResolvedServer {
  const resolved: ResolvedServer = { name: server.name, source: server.source, definition: server.definition };
  // OAuth servers are per caller scope and user whatever their tier (their tokens and connections).
  if (caller && (server.source === "scope" || server.source === "request" || server.definition.auth?.type === "oauth2"))
    resolved.scope = caller.scope;
  if (caller?.user !== undefined) resolved.user = caller.user;
  return resolved;
}
