import type { ServerDefinition } from "../config/schema.js";

/**
 * Where a stored server lives: the global tier (admin-registered, for everyone) or one tenant's
 * scope. A tenant whose scope id is the string "global" still lives under `{ kind: "scope" }`, so the
 * two can never meet.
 */
export type StoreScope = { kind: "global" } | { kind: "scope"; id: string };

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

/** What changed, for caches and pooled connections in every process that shares the store. */
export interface StoreChangeEvent {
  type: "created" | "updated" | "deleted";
  scope: StoreScope;
  name: string;
}

/**
 * The store interface. Implementations must make `create` create-if-absent (and enforce `maxServers`)
 * atomically, and `update`/`delete` check `expectedRevision` atomically when it is given.
 * Keys are never built by callers: scopes and names are passed as values.
 */
export interface McpStore {
  /** True when the data outlives the process (then secrets need a configured encryption key). */
  readonly persistent: boolean;
  list(scope: StoreScope): Promise<StoredServer[]>;
  get(scope: StoreScope, name: string): Promise<StoredServer | null>;
  create(scope: StoreScope, server: StoredServer, options: { maxServers: number }): Promise<CreateResult>;
  update(scope: StoreScope, server: StoredServer, options: { expectedRevision?: string }): Promise<UpdateResult>;
  delete(scope: StoreScope, name: string, options: { expectedRevision?: string }): Promise<DeleteResult>;
  /** Subscribes to changes made through any instance sharing this store. Returns the unsubscribe function. */
  watch?(listener: (event: StoreChangeEvent) => void): Promise<() => void>;
  /** Checks that the backend answers (used by `ready()`). */
  ping?(): Promise<void>;
  close?(): Promise<void>;
}

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
