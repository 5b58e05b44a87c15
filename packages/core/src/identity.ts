import { createHash } from "node:crypto";
import type { Identity } from "./types.js";

/**
 * The default `identify`: the caller's API key, from `X-API-Key` or else `Authorization: Bearer`,
 * hashed into the scope id, so a raw key never reaches a storage key, a log line or a response.
 * The same key by either header is the same scope. No key: anonymous (null).
 */
export function identifyByApiKey(request: Request): Identity | null {
  const key = apiKeyOf(request.headers);
  return key === undefined
    ? null
    : { scope: `key-${createHash("sha256").update(key, "utf8").digest("hex").slice(0, 40)}` };
}

function apiKeyOf(headers: Headers): string | undefined {
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
