import { createHash } from "node:crypto";
import type { ServerDefinition } from "../config/schema.js";
import type { ResolvedServer } from "../types.js";

/**
 * Pool keys (SPEC §5): tier, scope, user (for OAuth servers only) and a hash of the definition, so a
 * changed definition never reuses the old connection, two tenants never share one, and config/global
 * servers are shared by everyone.
 */

const hashes = new WeakMap<ServerDefinition, string>();

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** SHA-256 of the definition's canonical JSON (key order does not matter); cached per definition object. */
export function definitionHash(definition: ServerDefinition): string {
  let hash = hashes.get(definition);
  if (hash === undefined) {
    hash = createHash("sha256").update(canonical(definition)).digest("base64url");
    hashes.set(definition, hash);
  }
  return hash;
}

/** The scope a connection belongs to: tenants' tiers are per scope; config and global are shared. */
export function connectionScope(server: ResolvedServer): string {
  return server.source === "scope" || server.source === "request" ? (server.scope ?? "") : "";
}

/**
 * Per-user connections only where the credentials are the user's own (OAuth). Users are per scope,
 * so the caller's scope is part of it: two tenants' users of one id never share a connection.
 */
export function connectionUser(server: ResolvedServer): string {
  return server.definition.auth?.type === "oauth2" ? JSON.stringify([server.scope ?? "", server.user ?? ""]) : "";
}

/**
 * Who a connection counts against for the per-scope caps: the scope for tenant tiers (the anonymous
 * caller is the scope ""), the user for a shared server with per-user (OAuth) connections, and nobody
 * for the shared connections of the config and global tiers, which no caller's pressure may evict.
 */
export function connectionParty(server: ResolvedServer): string | undefined {
  if (server.source === "scope" || server.source === "request") return `scope\u0000${server.scope ?? ""}`;
  const user = connectionUser(server);
  return user === "" ? undefined : `user\u0000${user}`;
}

/** Keys by resolved server: a warm request resolves the same (cached) objects, so it builds no key string. */
const keys = new WeakMap<ResolvedServer, string>();

export function connectionKey(server: ResolvedServer): string {
  let key = keys.get(server);
  if (key === undefined) {
    key = newConnectionKey(server);
    keys.set(server, key);
  }
  return key;
}

function newConnectionKey(server: ResolvedServer): string {
  return `${server.source}\u0000${connectionScope(server)}\u0000${connectionUser(server)}\u0000${server.name}\u0000${definitionHash(server.definition)}`;
}
