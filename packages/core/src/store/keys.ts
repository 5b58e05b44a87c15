import { createHash } from "node:crypto";
import { isValidServerName } from "../config/schema.js";
import { McpServerSideError } from "../errors.js";
import type { PinScope, StoreScope } from "./types.js";

/** Scope ids that can stand in a key as they are; anything else is replaced by its digest. */
const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/**
 * The key segment for a scope id. Ids outside `[A-Za-z0-9_-]` (an e-mail, `org:1`, `../x`) become `_`
 * plus a SHA-256 digest, which a raw id can never equal because raw ids cannot start with `_`.
 */
export function scopeSegment(scopeId: string): string {
  if (SAFE_SEGMENT.test(scopeId)) return scopeId;
  return `_${createHash("sha256").update(scopeId, "utf8").digest("base64url")}`;
}

/** Key prefixes that keep every key readable and cannot open a Redis Cluster hash tag (`{`, `}`). */
const PREFIX = /^[A-Za-z0-9:_.-]{0,64}$/;

export interface StoreKeyOptions {
  /** Put before every key, so several apps can share one backend. @default "" */
  prefix?: string;
  /**
   * Wrap the part that groups keys in braces, a Redis Cluster hash tag: a scope's servers key is one
   * slot, and a server's user secrets share one slot with their index, so one script can touch them all.
   * @default false
   */
  hashTags?: boolean;
}

/** Every key a store writes, built from validated parts (see `createStoreKeys`). */
export interface StoreKeys {
  /** The key holding every server of a scope (the global tier is its own scope). */
  servers(scope: StoreScope): string;
  /**
   * The key of one user's secret record (OAuth tokens) for one server in a scope. It lives beside the
   * servers key, never below it: on file-system drivers a key cannot be both a file and a folder.
   */
  userSecret(scope: StoreScope, server: string, user: string): string;
  /** What every user-secret key of one server starts with: the prefix that finds them all when the server is deleted. */
  userSecretsOf(scope: StoreScope, server: string): string;
  /** A set of one server's user-secret keys, for stores that cannot list keys by prefix (in their slot with hash tags). */
  userSecretIndex(scope: StoreScope, server: string): string;
  /**
   * What every user-secret key of one server shares (owner and server name): the hash tag that keeps
   * them in one Cluster slot.
   */
  userSecretGroup(scope: StoreScope, server: string): string;
  /**
   * The key of one server's tool pins. Beside the servers keys, never below them (fs drivers); config
   * and global servers of one name have keys of their own.
   */
  toolPins(scope: PinScope, server: string): string;
  /**
   * The key of one user's server preferences in a scope (beside the servers keys, never below them). With
   * hash tags it shares the scope's servers slot, so a server's delete can clear its switches in one script.
   */
  preferences(scope: StoreScope, user: string): string;
  /** What every preference key of a scope starts with: the prefix that finds them all when a server is deleted. */
  preferencesOf(scope: StoreScope): string;
  /** A set of a scope's preference keys, for stores that cannot list keys by prefix (in the scope's servers slot). */
  preferencesIndex(scope: StoreScope): string;
  /** The set of every scope with preferences, for stores that cannot list keys by prefix. */
  preferenceScopes(): string;
  /** The index of every scope that holds servers (for `rotateSecrets`, never on a request path). */
  scopeIndex(): string;
  /** A pending state (e.g. an OAuth authorization in progress), by its random id. */
  pending(id: string): string;
}

/**
 * The one place that builds storage keys. Every part is validated or digested, so no name, user or
 * scope id can reach another key; `options` add a prefix and Redis Cluster hash tags.
 */
export function createStoreKeys(options: StoreKeyOptions = {}): StoreKeys {
  const prefix = options.prefix ?? "";
  if (typeof prefix !== "string" || !PREFIX.test(prefix))
    throw new McpServerSideError(
      "invalid_config",
      "The store's key `prefix` must be at most 64 characters of A-Z a-z 0-9 : _ . -",
    );
  const tag = options.hashTags === true ? (part: string): string => `{${part}}` : (part: string): string => part;
  const userSecretGroup = (scope: StoreScope, server: string): string => {
    assertServerName(server);
    const owner = scope.kind === "global" ? "global" : `scope:${scopeSegment(scope.id)}`;
    return `${owner}:${server}`;
  };
  const userSecretsOf = (scope: StoreScope, server: string): string =>
    `${prefix}secrets:${tag(userSecretGroup(scope, server))}:user:`;
  const serversGroup = (scope: StoreScope): string =>
    scope.kind === "global" ? "servers:global" : `servers:scope:${scopeSegment(scope.id)}`;
  // With hash tags a scope's preferences carry its servers tag (one slot); without, just the scope.
  const preferencesGroup = (scope: StoreScope): string =>
    options.hashTags === true ? tag(serversGroup(scope)) : scopeLabel(scope);
  return {
    servers: (scope) => prefix + tag(serversGroup(scope)),
    userSecret: (scope, server, user) => `${userSecretsOf(scope, server)}${scopeSegment(user)}`,
    userSecretsOf,
    userSecretIndex: (scope, server) => `${prefix}secrets:${tag(userSecretGroup(scope, server))}:users`,
    userSecretGroup,
    toolPins(scope, server) {
      assertServerName(server);
      const owner = scope.kind === "scope" ? `scope:${scopeSegment(scope.id)}` : scope.kind;
      return `${prefix}pins:${owner}:${server}`;
    },
    preferences: (scope, user) => `${prefix}prefs:${preferencesGroup(scope)}:user:${scopeSegment(user)}`,
    preferencesOf: (scope) => `${prefix}prefs:${preferencesGroup(scope)}:user:`,
    preferencesIndex: (scope) => `${prefix}prefs:${preferencesGroup(scope)}:users`,
    preferenceScopes: () => prefix + tag("prefs:scopes"),
    scopeIndex: () => prefix + tag("scopes:index"),
    pending(id) {
      if (typeof id !== "string" || !/^[A-Za-z0-9_-]{16,128}$/.test(id))
        throw new TypeError("invalid pending-state id");
      return `${prefix}pending:${id}`;
    },
  };
}

/** The keys without prefix or hash tags (the unstorage store's). */
export const storeKeys: StoreKeys = createStoreKeys();

export function assertServerName(name: string): void {
  if (!isValidServerName(name)) throw new TypeError("invalid server name");
}

export function scopeLabel(scope: StoreScope): string {
  return scope.kind === "global" ? "global" : tenantScopeLabel(scope.id);
}

/** `scopeLabel({ kind: "scope", id })`, without the object (a per-request lookup). */
export function tenantScopeLabel(id: string): string {
  return `scope:${scopeSegment(id)}`;
}
