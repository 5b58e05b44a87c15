import { createHash } from "node:crypto";
import { isValidServerName } from "../config/schema.js";
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

/** The one place that builds storage keys. Every part is validated or digested; nothing escapes. */
export const storeKeys = {
  /** The key holding every server of a scope (the global tier is its own scope). */
  servers(scope: StoreScope): string {
    return scope.kind === "global" ? "servers:global" : `servers:scope:${scopeSegment(scope.id)}`;
  },
  /**
   * The key of one user's secret record (OAuth tokens) for one server in a scope. It lives beside the
   * servers key, never below it: on file-system drivers a key cannot be both a file and a folder.
   */
  userSecret(scope: StoreScope, server: string, user: string): string {
    return `secrets:${storeKeys.userSecretGroup(scope, server)}:user:${scopeSegment(user)}`;
  },
  /**
   * What every user-secret key of one server shares (owner and server name): the prefix that finds them
   * all when the server is deleted, and on Redis the hash tag that keeps them in one Cluster slot.
   */
  userSecretGroup(scope: StoreScope, server: string): string {
    assertServerName(server);
    const owner = scope.kind === "global" ? "global" : `scope:${scopeSegment(scope.id)}`;
    return `${owner}:${server}`;
  },
  /**
   * The key of one server's tool pins. Beside the servers keys, never below them (fs drivers); config
   * and global servers of one name have keys of their own.
   */
  toolPins(scope: PinScope, server: string): string {
    assertServerName(server);
    const owner = scope.kind === "scope" ? `scope:${scopeSegment(scope.id)}` : scope.kind;
    return `pins:${owner}:${server}`;
  },
  /** The key of one user's server preferences in a scope (beside the servers keys, never below them). */
  preferences(scope: StoreScope, user: string): string {
    const owner = scope.kind === "global" ? "global" : `scope:${scopeSegment(scope.id)}`;
    return `prefs:${owner}:user:${scopeSegment(user)}`;
  },
  /** The index of every scope that holds servers (for `rotateSecrets`, never on a request path). */
  scopeIndex(): string {
    return "scopes:index";
  },
  /** A pending state (e.g. an OAuth authorization in progress), by its random id. */
  pending(id: string): string {
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(id)) throw new TypeError("invalid pending-state id");
    return `pending:${id}`;
  },
};

export function assertServerName(name: string): void {
  if (!isValidServerName(name)) throw new TypeError("invalid server name");
}

export function scopeLabel(scope: StoreScope): string {
  return scope.kind === "global" ? "global" : `scope:${scopeSegment(scope.id)}`;
}
