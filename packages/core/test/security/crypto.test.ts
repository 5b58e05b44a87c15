import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { McpServerSideError } from "../../src/errors.js";
import {
  type KeyRing,
  createKeyRing,
  isEnvelope,
  keyIdOf,
  parseEncryptionKeys,
  randomKeyRing,
} from "../../src/security/crypto.js";
import { expectThrown } from "../support/errors.js";

function expectDecryptionFailed(action: () => unknown): McpServerSideError {
  return expectThrown(action, "decryption_failed");
}

/** Replaces one of the envelope's five `:`-separated parts. */
function withPart(envelope: string, index: number, value: string): string {
  const parts = envelope.split(":");
  parts[index] = value;
  return parts.join(":");
}

function flipByte(base64url: string, at: number): string {
  const bytes = Buffer.from(base64url, "base64url");
  bytes[at] = (bytes[at] as number) ^ 0x01;
  return bytes.toString("base64url");
}

function ringOk(options: Parameters<typeof parseEncryptionKeys>[0]): KeyRing {
  const result = parseEncryptionKeys(options);
  if (!result.ok) throw new Error(`expected a ring, got ${result.message}`);
  if (result.value === null) throw new Error("expected a ring, got null");
  return result.value;
}

describe("key ring encryption", () => {
  it("decrypts what it encrypted, for empty, ASCII and non-ASCII secrets", () => {
    const ring = randomKeyRing();
    for (const secret of ["", "ghp_abc123", "pässwörd 🔑 秘密", "x".repeat(4096)]) {
      const envelope = ring.encrypt(secret, "global|github|/auth/token");
      expect(isEnvelope(envelope)).toBe(true);
      expect(envelope.startsWith(`enc:v1:${ring.currentKeyId}:`)).toBe(true);
      expect(ring.decrypt(envelope, "global|github|/auth/token")).toBe(secret);
    }
  });

  it("uses a fresh IV on every encryption, so equal secrets do not look equal at rest", () => {
    const ring = randomKeyRing();
    const first = ring.encrypt("same", "aad");
    const second = ring.encrypt("same", "aad");
    expect(first).not.toBe(second);
    expect(first.split(":")[3]).not.toBe(second.split(":")[3]);
  });

  it("writes a 12-byte IV and a 16-byte tag after the ciphertext", () => {
    const ring = randomKeyRing();
    const [prefix, version, keyId, iv, data] = ring.encrypt("abcd", "aad").split(":");
    expect([prefix, version]).toEqual(["enc", "v1"]);
    expect(keyId).toBe(ring.currentKeyId);
    expect(Buffer.from(iv as string, "base64url")).toHaveLength(12);
    expect(Buffer.from(data as string, "base64url")).toHaveLength(4 + 16);
  });

  it("derives the key id from a SHA-256 digest of the key, never the key itself", () => {
    const key = randomBytes(32);
    const ring = createKeyRing([key]);
    const expected = createHash("sha256").update(key).digest().subarray(0, 8).toString("base64url");
    expect(ring.currentKeyId).toBe(expected);
    expect(keyIdOf(key)).toBe(expected);
    expect(ring.keyIds).toEqual([expected]);
  });

  it("keeps the key bytes out of the ring object, so logging or serializing a ring reveals nothing", () => {
    const key = randomBytes(32);
    const ring = createKeyRing([key]);
    const shown =
      JSON.stringify(ring) + String(Object.values(ring)) + JSON.stringify(Object.getOwnPropertyDescriptors(ring));
    expect(shown).not.toContain(key.toString("base64"));
    expect(shown).not.toContain(key.toString("base64url"));
    expect(shown).not.toContain(key.toString("hex"));
  });

  it("is unaffected when the caller later overwrites the key buffer it passed", () => {
    const key = randomBytes(32);
    const ring = ringOk({ encryptionKey: key });
    const envelope = ring.encrypt("secret", "aad");
    key.fill(0);
    expect(ring.decrypt(envelope, "aad")).toBe("secret");
  });
});

describe("decryption refuses anything it did not write, with decryption_failed", () => {
  const ring = randomKeyRing();
  const aad = "scope:tenant-a|github|/auth/token";
  const envelope = ring.encrypt("ghp_supersecret", aad);

  it("fails when any single byte of the ciphertext or tag is changed", () => {
    const data = envelope.split(":")[4] as string;
    const length = Buffer.from(data, "base64url").byteLength;
    for (let at = 0; at < length; at += 1) {
      expectDecryptionFailed(() => ring.decrypt(withPart(envelope, 4, flipByte(data, at)), aad));
    }
  });

  it("fails when the tag is truncated by 1 to 15 bytes", () => {
    const data = Buffer.from(envelope.split(":")[4] as string, "base64url");
    for (let cut = 1; cut <= 15; cut += 1) {
      const truncated = data.subarray(0, data.byteLength - cut).toString("base64url");
      expectDecryptionFailed(() => ring.decrypt(withPart(envelope, 4, truncated), aad));
    }
  });

  it("fails when the tag is truncated even for an empty secret, where nothing but the tag remains", () => {
    const empty = ring.encrypt("", aad);
    const data = Buffer.from(empty.split(":")[4] as string, "base64url");
    expect(data).toHaveLength(16);
    for (let cut = 1; cut <= 15; cut += 1) {
      const truncated = data.subarray(0, data.byteLength - cut).toString("base64url");
      expectDecryptionFailed(() => ring.decrypt(withPart(empty, 4, truncated), aad));
    }
  });

  it("fails when a bit of the IV is flipped", () => {
    const iv = envelope.split(":")[3] as string;
    for (let at = 0; at < 12; at += 1) {
      expectDecryptionFailed(() => ring.decrypt(withPart(envelope, 3, flipByte(iv, at)), aad));
    }
  });

  it("fails when the key id is swapped for another key's id in the ring", () => {
    const other = randomBytes(32);
    const twoKeys = createKeyRing([randomBytes(32), other]);
    const sealed = twoKeys.encrypt("secret", aad);
    expect(twoKeys.decrypt(sealed, aad)).toBe("secret");
    expectDecryptionFailed(() => twoKeys.decrypt(withPart(sealed, 2, keyIdOf(other)), aad));
  });

  it("fails with a message naming the unknown key id when the key is not configured", () => {
    const error = expectDecryptionFailed(() => randomKeyRing().decrypt(envelope, aad));
    expect(error.message).toContain(ring.currentKeyId);
    expect(error.message).toContain("not among the configured encryption keys");
  });

  it("fails when the additional data differs in any way", () => {
    for (const other of [
      "",
      "scope:tenant-b|github|/auth/token",
      "scope:tenant-a|gitlab|/auth/token",
      "scope:tenant-a|github|/headers/Authorization",
      `${aad} `,
    ]) {
      expectDecryptionFailed(() => ring.decrypt(envelope, other));
    }
  });

  it("fails for plaintexts and malformed envelopes instead of passing them through", () => {
    const [, , keyId, iv, data] = envelope.split(":") as [string, string, string, string, string];
    const malformed = [
      "ghp_supersecret",
      "",
      `enc:v2:${keyId}:${iv}:${data}`,
      `ENC:v1:${keyId}:${iv}:${data}`,
      `enc:v1:${keyId}:${iv}`,
      `enc:v1:${keyId}:${iv}:${data}:extra`,
      `enc:v1:${keyId}:${iv}:${data}=`,
      // The standard base64 alphabet ('+', '/') is not base64url, whatever the random bytes were.
      `enc:v1:${keyId}:${iv}:+/${data.slice(2)}`,
      `enc:v1:${keyId}x:${iv}:${data}`,
      `enc:v1:${keyId}:${iv.slice(0, -1)}:${data}`,
      ` ${envelope}`,
      `${envelope}\n`,
    ];
    for (const value of malformed) {
      expect(isEnvelope(value)).toBe(false);
      expectDecryptionFailed(() => ring.decrypt(value, aad));
    }
  });

  it("never includes the plaintext in the error", () => {
    const error = expectDecryptionFailed(() => ring.decrypt(envelope, "other"));
    expect(`${error.message} ${String(error.cause)}`).not.toContain("ghp_supersecret");
  });
});

describe("key rotation", () => {
  it("decrypts with every key but encrypts with the first", () => {
    const keyA = randomBytes(32);
    const keyB = randomBytes(32);
    const ringA = createKeyRing([keyA]);
    const ringBA = createKeyRing([keyB, keyA]);
    const underA = ringA.encrypt("secret", "aad");

    expect(ringBA.decrypt(underA, "aad")).toBe("secret");
    expect(ringBA.isCurrent(underA)).toBe(false);
    expect(ringA.isCurrent(underA)).toBe(true);

    const underB = ringBA.encrypt("secret", "aad");
    expect(ringBA.isCurrent(underB)).toBe(true);
    expect(underB.split(":")[2]).toBe(keyIdOf(keyB));
    expect(createKeyRing([keyB]).decrypt(underB, "aad")).toBe("secret");
    expectDecryptionFailed(() => createKeyRing([keyB]).decrypt(underA, "aad"));
  });

  it("does not call a non-envelope current", () => {
    expect(randomKeyRing().isCurrent("plain")).toBe(false);
  });
});

describe("parseEncryptionKeys", () => {
  const key = randomBytes(32);

  it("returns null when no key is configured", () => {
    expect(parseEncryptionKeys({})).toEqual({ ok: true, value: null });
  });

  it("accepts a key as standard base64, base64url, unpadded, with surrounding whitespace, or as bytes, all the same key", () => {
    // A key whose base64 spelling uses '+' or '/' (and so differs from base64url) makes the test meaningful.
    let tricky = randomBytes(32);
    while (!/[+/]/.test(tricky.toString("base64"))) tricky = randomBytes(32);
    const spellings: (string | Uint8Array)[] = [
      tricky.toString("base64"),
      tricky.toString("base64url"),
      tricky.toString("base64").replace(/=+$/, ""),
      `  ${tricky.toString("base64")}\n`,
      tricky,
      new Uint8Array(tricky),
    ];
    for (const spelling of spellings) {
      expect(ringOk({ encryptionKey: spelling }).currentKeyId).toBe(keyIdOf(tricky));
    }
  });

  it("makes the first of encryptionKeys the encrypting key", () => {
    const other = randomBytes(32);
    const ring = ringOk({ encryptionKeys: [other.toString("base64"), key] });
    expect(ring.currentKeyId).toBe(keyIdOf(other));
    expect(ring.keyIds).toEqual([keyIdOf(other), keyIdOf(key)]);
  });

  it("rejects giving both encryptionKey and encryptionKeys", () => {
    const result = parseEncryptionKeys({ encryptionKey: key, encryptionKeys: [key] });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe("invalid_config");
      expect(result.message).toContain("encryptionKey");
      expect(result.message).toContain("not both");
    }
  });

  it("rejects an empty encryptionKeys list and the same key listed twice", () => {
    const empty = parseEncryptionKeys({ encryptionKeys: [] });
    expect(empty).toMatchObject({ ok: false, code: "invalid_config" });
    const twice = parseEncryptionKeys({ encryptionKeys: [key, key.toString("base64url")] });
    expect(twice).toMatchObject({ ok: false, code: "invalid_config" });
    if (!twice.ok) expect(twice.message).toContain("encryptionKeys[1] is the same key as encryptionKeys[0]");
  });

  it("rejects wrong lengths and garbage with a message that names the option but never contains the key", () => {
    const short = randomBytes(16);
    const long = randomBytes(48);
    const cases: { value: unknown; mentions: string; secret?: string }[] = [
      { value: short, mentions: "16 bytes" },
      { value: short.toString("base64"), mentions: "16 bytes", secret: short.toString("base64") },
      { value: long.toString("base64url"), mentions: "48 bytes", secret: long.toString("base64url") },
      { value: randomBytes(32).toString("hex"), mentions: "48 bytes" },
      { value: "correct horse battery staple!!", mentions: "not valid base64", secret: "correct horse battery staple" },
      { value: `${key.toString("base64")}%`, mentions: "not valid base64", secret: key.toString("base64") },
      { value: "abc+def_ghi", mentions: "not valid base64", secret: "abc+def_ghi" },
      { value: "", mentions: "empty" },
      { value: "   ", mentions: "empty" },
      { value: 42, mentions: "number" },
      { value: null, mentions: "null" },
    ];
    for (const { value, mentions, secret } of cases) {
      for (const options of [{ encryptionKey: value }, { encryptionKeys: [key, value] }]) {
        const result = parseEncryptionKeys(options as Parameters<typeof parseEncryptionKeys>[0]);
        expect(result.ok, `accepted ${mentions}`).toBe(false);
        if (result.ok) continue;
        expect(result.code).toBe("invalid_config");
        expect(result.message).toContain(mentions);
        expect(result.message).toContain("encryptionKey" in options ? "encryptionKey " : "encryptionKeys[1]");
        expect(result.message).toContain("32 bytes");
        if (secret !== undefined) expect(result.message).not.toContain(secret);
        if (typeof value === "string" && value.trim() !== "") expect(result.message).not.toContain(value.trim());
      }
    }
  });

  it("rejects a key that decodes only because Buffer skips unknown characters", () => {
    // Buffer.from("a.b", "base64") ignores the dot; a key with a stray character is a typo, not a key.
    const spelled = key.toString("base64");
    const result = parseEncryptionKeys({ encryptionKey: `${spelled.slice(0, 10)}.${spelled.slice(10)}` });
    expect(result).toMatchObject({ ok: false, code: "invalid_config" });
  });
  it("rejects a spelling whose last character carries bits beyond the 32 bytes (a typo Buffer would ignore)", () => {
    // 43 base64url characters hold 258 bits; the last 2 must be zero in the one true spelling.
    let spelled = randomBytes(32).toString("base64url");
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(spelled.at(-1) as string);
    spelled = spelled.slice(0, -1) + (alphabet[last | 1] as string);
    expect(Buffer.from(spelled, "base64url")).toHaveLength(32);
    expect(parseEncryptionKeys({ encryptionKey: spelled })).toMatchObject({ ok: false, code: "invalid_config" });
  });
});

describe("createKeyRing", () => {
  it("throws on an empty list or a key of the wrong length", () => {
    expect(() => createKeyRing([])).toThrow(TypeError);
    expect(() => createKeyRing([randomBytes(31)])).toThrow(TypeError);
    expect(() => createKeyRing([randomBytes(32), randomBytes(33)])).toThrow(TypeError);
  });
});
