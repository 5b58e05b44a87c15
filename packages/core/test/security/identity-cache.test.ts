import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { identifyByApiKey, KEY_SCOPE_CACHE_SIZE, keyScopeCacheSize } from "../../src/identity.js";

const expected = (key: string): string => `key-${createHash("sha256").update(key, "utf8").digest("hex").slice(0, 40)}`;
const byKey = (key: string): string | undefined =>
  identifyByApiKey(new Request("http://localhost/", { headers: { "x-api-key": key } }))?.scope;
const byBearer = (key: string): string | undefined =>
  identifyByApiKey(new Request("http://localhost/", { headers: { authorization: `Bearer ${key}` } }))?.scope;

describe("identifyByApiKey's scope cache", () => {
  it("answers the hash of the key, first time and remembered, by either header", () => {
    for (const key of ["alpha-key", "beta-key", "alpha-key", "ünïcode-kéy"]) {
      expect(byKey(key)).toBe(expected(key));
      expect(byBearer(key)).toBe(expected(key));
    }
    expect(byKey("alpha-key")).not.toBe(byKey("alpha-kez"));
  });

  it("stays bounded, and an evicted key still gets its own scope", () => {
    const keys = Array.from({ length: KEY_SCOPE_CACHE_SIZE * 2 + 7 }, (_, index) => `bulk-key-${index}`);
    for (const key of keys) expect(byKey(key)).toBe(expected(key));
    expect(keyScopeCacheSize()).toBeLessThanOrEqual(KEY_SCOPE_CACHE_SIZE);
    expect(byKey(keys[0]!)).toBe(expected(keys[0]!));
    expect(byKey(keys.at(-1)!)).toBe(expected(keys.at(-1)!));
  });

  it("does not keep a huge key, and still hashes it", () => {
    const huge = "k".repeat(10_000);
    const before = keyScopeCacheSize();
    expect(byKey(huge)).toBe(expected(huge));
    expect(keyScopeCacheSize()).toBeLessThanOrEqual(before);
  });
});
