import type { ServerDefinition } from "../config/schema.js";

/**
 * Where a stored server lives: the global tier (admin-registered, for everyone) or one tenant's
 * scope. A tenant whose scope id is the string "global" still lives under `{ kind: "scope" }`, so the
 * two can never meet.
 */
export type StoreScope = { kind: "global" } | { kind: "scope"; id: string };

/**
 * Whose trust a tool pin records (SPEC §8): a tenant's scope for its own servers, the global tier for
 * admin-registered servers, and `config` for the operator's config-file servers. A config server and a
 * global server of the same name never share pins.
 */
export type PinScope = StoreScope | { kind: "config" };

/** A server as the store keeps it. Secret fields of `definition` are sealed (encrypted) at rest. */
export interface StoredServer {
  name: string;
  definition: ServerDefinition;
  /** Opaque revision, new on every write; the HTTP layer's ETag. */
  revision: string;
  createdAt: string;
  updatedAt: string;
}

export type CreateResult = { ok: true } | { ok: false; reason: "exists" | "limit" };
export type UpdateResult = { ok: true } | { ok: false; reason: "not_found" | "revision_mismatch" };
export type DeleteResult = { ok: true } | { ok: false; reason: "not_found" | "revision_mismatch" };

/**
 * What changed, for caches and pooled connections in every process that shares the store.
 * `reset` means "anything (in `scope`, or anywhere when it is absent) may have changed; drop caches":
 * stores send it when they cannot say more (a change seen through a driver's watcher) or when events
 * may have been missed (a subscriber that reconnected).
 */
export type StoreChangeEvent =
  | { type: "created" | "updated" | "deleted"; scope: StoreScope; name: string }
  | { type: "reset"; scope?: StoreScope }
  /** A user's server preferences (on/off switches) changed; `user` is "" for a caller without a user. */
  | { type: "preferences"; scope: StoreScope; user: string };

/**
 * What a store can do beyond servers (list, get, create, update, delete), as unstorage drivers flag
 * theirs. Each flag names a group of methods that come together. A flag left out is read from the
 * methods (all present: on); `true` promises them (a store missing one is refused with `invalid_config`
 * when the instance is created); `false` keeps core from calling them even when they exist.
 */
export interface McpStoreCapabilities {
  /**
   * Per-user OAuth (SPEC §7): `getUserSecret`, `setUserSecret`, `deleteUserSecret`, `putPending`,
   * `takePending`, `putPendingIfAbsent`. Needed by `auth.type: "oauth2"` config servers and the `oauth`
   * option (`invalid_config` otherwise); an OAuth server registered later fails with it at use.
   */
  oauth?: boolean;
  /** Tool pinning (SPEC §8): `getToolPins`, `addToolPins`, `setToolPins`, `deleteToolPins`. Without it `toolPinning` is off, with one warning. */
  pins?: boolean;
  /** Change events: `watch` (and `watchHealthy`). Without it other processes' writes are seen when short caches expire. */
  events?: boolean;
  /** `listScopes`: `rotateSecrets()` visits every record with it (and rejects with `invalid_config` without it). */
  scopeIndex?: boolean;
  /** Per-user server preferences: `getPreferences`, `setPreference`. Without it the preference routes answer 404. */
  preferences?: boolean;
}

/**
 * The store interface. Implementations must make `create` create-if-absent (and enforce `maxServers`)
 * atomically, and `update`/`delete` check `expectedRevision` atomically when it is given.
 * `create` reports `exists` before `limit`. Keys are never built by callers: scopes and names are passed
 * as values. Backend failures reject with `McpServerSideError("storage_unavailable")`.
 * The building blocks (keys, record schema, errors, limit checks) are in `@mcp-server-side/core/store`;
 * `@mcp-server-side/core/testing`'s `describeStoreConformance` checks all of this.
 */
export interface McpStore {
  /** True when the data outlives the process (then secrets need a configured encryption key). */
  readonly persistent: boolean;
  /** What the store can do beyond servers; see `McpStoreCapabilities`. @default read from the methods present */
  readonly capabilities?: McpStoreCapabilities;
  list(scope: StoreScope): Promise<StoredServer[]>;
  get(scope: StoreScope, name: string): Promise<StoredServer | null>;
  create(scope: StoreScope, server: StoredServer, options: { maxServers: number }): Promise<CreateResult>;
  update(scope: StoreScope, server: StoredServer, options: { expectedRevision?: string }): Promise<UpdateResult>;
  delete(scope: StoreScope, name: string, options: { expectedRevision?: string }): Promise<DeleteResult>;
  /**
   * Capability `scopeIndex`. Every scope that holds servers, the global tier included, with tenant ids
   * exactly as they were given (a key may only hold a digest of the id, so the store keeps an index
   * written with `create`). A scope whose last server was deleted may still be listed; its `list` is
   * then empty. Not for request paths: `rotateSecrets()` uses it to visit every record.
   */
  listScopes?(): Promise<StoreScope[]>;
  /** Capability `events`. Subscribes to changes made through any instance sharing this store. Returns the unsubscribe function. */
  watch?(listener: (event: StoreChangeEvent) => void): Promise<() => void>;
  /**
   * True while every change, from any process sharing the store, reaches `watch` listeners. When it is
   * false (no cross-process events, or the event subscription is down) callers keep caches short.
   */
  watchHealthy?(): boolean;

  /**
   * Capability `oauth` (the next seven methods). One user's secret (sealed OAuth tokens) for one server
   * of a scope; null when absent or expired.
   */
  getUserSecret?(scope: StoreScope, server: string, user: string): Promise<string | null>;
  /** Stores or replaces a user's secret; it expires after `ttlMs` when given. */
  setUserSecret?(scope: StoreScope, server: string, user: string, value: string, ttlMs?: number): Promise<void>;
  /** Removes a user's secret; removing an absent one is not an error. `delete` of a server removes all of them. */
  deleteUserSecret?(scope: StoreScope, server: string, user: string): Promise<void>;
  /**
   * Part of capability `oauth`, and optional within it. Every unexpired user secret of one server,
   * values only (a key's user part may be a digest), so `rotateSecrets()` can re-encrypt OAuth records;
   * never on a request path. Without it, OAuth records are re-encrypted only when next read.
   */
  listUserSecrets?(scope: StoreScope, server: string): Promise<string[]>;
  /** Stores a pending state (an OAuth authorization in progress) under a random id, for `ttlMs`. */
  putPending?(id: string, value: string, ttlMs: number): Promise<void>;
  /** Returns and removes a pending state in one step, so a state is used at most once; null when absent or expired. */
  takePending?(id: string): Promise<string | null>;
  /**
   * Stores a pending state only when none (unexpired) is stored under `id`, atomically across every
   * process sharing the store; true when this call stored it. A lock with expiry (OAuth refresh is
   * single-flight with it); `takePending` releases it.
   */
  putPendingIfAbsent?(id: string, value: string, ttlMs: number): Promise<boolean>;

  /**
   * Capability `pins` (the next four methods), tool pinning (SPEC §8). A pin is an opaque string per
   * tool name (the core stores a record of hashes, never the tool's text); tool names are arbitrary
   * strings (`__proto__` included), hence maps. `delete` of a server also removes its pins.
   */
  /** Every pin of a server; an empty map when there is none. */
  getToolPins?(scope: PinScope, server: string): Promise<Map<string, string>>;
  /**
   * Records each given pin whose tool has none yet, atomically per tool (the first sighting wins), as
   * long as the server holds fewer than `maxPins` pins; returns what is stored for the given tools
   * afterwards (a tool over the limit is absent).
   */
  addToolPins?(
    scope: PinScope,
    server: string,
    pins: ReadonlyMap<string, string>,
    options: { maxPins: number },
  ): Promise<Map<string, string>>;
  /** Replaces the pins of the given tools (an approval); with `replace`, the server's pins become exactly these. */
  setToolPins?(
    scope: PinScope,
    server: string,
    pins: ReadonlyMap<string, string>,
    options?: { replace?: boolean },
  ): Promise<void>;
  /** Removes every pin of a server; removing none is not an error. */
  deleteToolPins?(scope: PinScope, server: string): Promise<void>;

  /**
   * Per-user server preferences: a user's own on/off switch for `default_on` and `default_off` servers.
   * Optional: a store without both methods answers the preference route with 404. Keyed by the caller's
   * scope and user ("" when the caller has no user); a server's preference is `true` (on) or `false` (off).
   */
  /** Every preference of one user; an empty map when there is none. */
  getPreferences?(scope: StoreScope, user: string): Promise<Map<string, boolean>>;
  /** Sets one server's preference, or removes it with `null` (back to the server's availability). Emits a `preferences` event. */
  setPreference?(scope: StoreScope, user: string, server: string, enabled: boolean | null): Promise<void>;

  /** Checks that the backend answers (used by `ready()`). */
  ping?(): Promise<void>;
  close?(): Promise<void>;
}

/** The methods of the `oauth` capability. */
export type OAuthStoreMethod =
  | "getUserSecret"
  | "setUserSecret"
  | "deleteUserSecret"
  | "putPending"
  | "takePending"
  | "putPendingIfAbsent";

/**
 * The store as core uses it (`resolveStore`): the OAuth and scope-index methods are always there,
 * rejecting with `invalid_config` when the store lacks the capability; pins and events stay optional.
 */
/** A store with every capability and method (the built-in stores are). */
export type CompleteStore = Required<McpStore>;

export type ResolvedStore = McpStore & Required<Pick<McpStore, OAuthStoreMethod | "listScopes">>;

export function isMcpStore(value: unknown): value is McpStore {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Partial<McpStore>).list === "function" &&
    typeof (value as Partial<McpStore>).create === "function" &&
    typeof (value as Partial<McpStore>).update === "function" &&
    "persistent" in value
  );
}
