import { createHash } from "node:crypto";
import type { Identity } from "./types.js";
import { markUsed } from "./util/recently-used.js";

/** What the built-in `identify` reads of a request: its headers (a Web `Headers`, or a view of Node's). */
export interface HeaderReader {
  get(name: string): string | null;
}

/**
 * The default `identify`: the caller's API key, from `X-API-Key` or else `Authorization: Bearer`,
 * hashed into the scope id, so a raw key never reaches a storage key, a log line or a response.
 * The same key by either header is the same scope. No key: anonymous (null).
 */
export function identifyByApiKey(request: { readonly headers: HeaderReader }): Identity | null {
  const key = apiKeyOf(request.headers);
  return key === undefined ? null : { scope: scopeOfKey(key) };
}

/** How many recent keys keep their scope id in memory (the raw key is a map key only, never logged or stored). */
export const KEY_SCOPE_CACHE_SIZE = 1_000;
// Least recently used first (a Map iterates in insertion order; see markUsed for when a hit moves).
const keyScopes = new Map<string, string>();

/** The scope id of an API key: a SHA-256 per request is most of identify's cost, so recent keys are remembered. */
function scopeOfKey(key: string): string {
  const known = keyScopes.get(key);
  if (known !== undefined) {
    markUsed(keyScopes, key, known, KEY_SCOPE_CACHE_SIZE);
    return known;
  }
  const scope = `key-${createHash("sha256").update(key, "utf8").digest("hex").slice(0, 40)}`;
  // A key of any length is accepted by the headers it comes in; only keys of a sane size are kept.
  if (key.length <= 512) {
    keyScopes.set(key, scope);
    if (keyScopes.size > KEY_SCOPE_CACHE_SIZE) keyScopes.delete(keyScopes.keys().next().value as string);
  }
  return scope;
}

/** For tests: how many keys the scope cache holds. */
export function keyScopeCacheSize(): number {
  return keyScopes.size;
}

function apiKeyOf(headers: HeaderReader): string | undefined {
  const apiKey = headers.get("x-api-key")?.trim();
  if (apiKey) return apiKey;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.get("authorization") ?? "");
  return match?.[1];
}

/** Checks what a custom `identify` returned, so a bad value fails loudly instead of widening access. */
export function checkIdentity(value: unknown): Identity | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "object" || typeof (value as Identity).scope !== "string" || (value as Identity).scope === "") {
    throw new TypeError("identify() must return { scope: string, user?: string, admin?: boolean } or null");
  }
  const { scope, user, admin } = value as Identity;
  if (user !== undefined && (typeof user !== "string" || user === ""))
    throw new TypeError("identify(): 'user' must be a non-empty string");
  return { scope, ...(user === undefined ? {} : { user }), ...(admin === true ? { admin: true } : {}) };
}
