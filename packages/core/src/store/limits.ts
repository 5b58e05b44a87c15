/** The checks of a store's arguments that are not keys (those are `storeKeys`'): limits, TTLs, values. */

/** `maxServers` of `create`: a non-negative integer, or Infinity for no limit. */
export function assertMaxServers(maxServers: number): void {
  assertLimit(maxServers, "maxServers");
}

/** `maxPins` of `addToolPins`: a non-negative integer, or Infinity for no limit. */
export function assertMaxPins(maxPins: number): void {
  assertLimit(maxPins, "maxPins");
}

/** A time to live: a positive, finite number of milliseconds. */
export function assertTtl(ttlMs: number): void {
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new TypeError("ttlMs must be a positive number of milliseconds");
}

/**
 * When a value written now with `ttlMs` expires (epoch milliseconds), or undefined when it never does.
 * Stores without native expiry keep this beside the value and compare it with `isExpired` on read.
 */
export function expiryOf(ttlMs: number | undefined, now: number): number | undefined {
  if (ttlMs === undefined) return undefined;
  assertTtl(ttlMs);
  return now + ttlMs;
}

/** True when a value with this expiry (from `expiryOf`) has expired at `now`. */
export function isExpired(expiresAt: number | undefined, now: number): boolean {
  return expiresAt !== undefined && expiresAt <= now;
}

/** A user secret or pending state: a string (sealed by the core before it reaches the store). */
export function assertStoreValue(value: string): void {
  if (typeof value !== "string") throw new TypeError("the value must be a string");
}

/** Tool pins: strings to strings (tool names are arbitrary, `__proto__` included). */
export function assertToolPins(pins: ReadonlyMap<string, string>): void {
  for (const [tool, pin] of pins) {
    if (typeof tool !== "string" || typeof pin !== "string")
      throw new TypeError("tool pins must map strings to strings");
  }
}

function assertLimit(limit: number, name: string): void {
  if (!(limit === Number.POSITIVE_INFINITY || (Number.isInteger(limit) && limit >= 0)))
    throw new TypeError(`${name} must be a non-negative integer or Infinity`);
}
