import {
  type KeyObject,
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  randomBytes,
} from "node:crypto";
import { McpServerSideError, type Result, fail, ok } from "../errors.js";

/** AES-256 needs exactly this many key bytes. */
export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = "aes-256-gcm";
const PREFIX = "enc:v1:";

/** `enc:v1:<kid>:<iv>:<ciphertext+tag>`; kid is 8 bytes and iv 12 bytes of base64url, without padding. */
const ENVELOPE_PATTERN = /^enc:v1:([A-Za-z0-9_-]{11}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]{22,})$/;

/**
 * Encrypts and decrypts secrets at rest. The first key encrypts, every key decrypts, so keys can rotate.
 * The key bytes live only in this closure: the object itself holds key ids (digests), never keys, so
 * logging or serializing a ring reveals nothing.
 */
export interface KeyRing {
  /** Id of the key that encrypts: the first 8 bytes of SHA-256(key), base64url. */
  readonly currentKeyId: string;
  /** Ids of every key that decrypts, the current one first. */
  readonly keyIds: readonly string[];
  /**
   * Encrypts `plaintext` with AES-256-GCM under the current key and a random 12-byte IV. `aad` is
   * authenticated, not stored: the same `aad` must be given to `decrypt`, which binds the envelope
   * to where it belongs (scope, server, field).
   */
  encrypt(plaintext: string, aad: string): string;
  /**
   * Decrypts an envelope made by `encrypt` under any key of the ring. Throws `decryption_failed` for
   * anything else: not an envelope, an unknown key id, a changed byte, a short tag, another `aad`.
   */
  decrypt(envelope: string, aad: string): string;
  /** True when `envelope` is an envelope encrypted under the current key; false means it should be re-encrypted. */
  isCurrent(envelope: string): boolean;
}

/** Options as `createMcpServerSide` takes them. */
export interface EncryptionKeyOptions {
  /** One 32-byte key, as base64 (standard or url-safe) or bytes. */
  encryptionKey?: string | Uint8Array;
  /** Several 32-byte keys: the first encrypts, all decrypt. */
  encryptionKeys?: (string | Uint8Array)[];
}

/** True when `value` has the shape of an envelope (it may still fail to decrypt). */
export function isEnvelope(value: unknown): value is string {
  return typeof value === "string" && ENVELOPE_PATTERN.test(value);
}

/** The id of a key: a digest prefix, so it can be logged and stored without revealing the key. */
export function keyIdOf(key: Uint8Array): string {
  return createHash("sha256").update(key).digest().subarray(0, 8).toString("base64url");
}

/**
 * Reads `encryptionKey` / `encryptionKeys`. Returns `null` when neither is given (the caller decides
 * whether a random key will do). Giving both is rejected rather than merged: which key would encrypt
 * would otherwise depend on a rule the operator has to remember, and a rotation written as
 * `{ encryptionKey: new, encryptionKeys: [old] }` is easy to get backwards. Messages name the option
 * and the byte count, never the key.
 */
export function parseEncryptionKeys(options: EncryptionKeyOptions): Result<KeyRing | null> {
  const { encryptionKey, encryptionKeys } = options;
  if (encryptionKey !== undefined && encryptionKeys !== undefined) {
    return fail(
      "invalid_config",
      "give either encryptionKey or encryptionKeys, not both (for rotation, list every key in encryptionKeys, the encrypting one first)",
    );
  }
  if (encryptionKey === undefined && encryptionKeys === undefined) return ok(null);

  const entries: { label: string; value: unknown }[] =
    encryptionKeys === undefined
      ? [{ label: "encryptionKey", value: encryptionKey }]
      : Array.isArray(encryptionKeys)
        ? encryptionKeys.map((value, index) => ({ label: `encryptionKeys[${index}]`, value }))
        : [];
  if (encryptionKeys !== undefined && !Array.isArray(encryptionKeys)) {
    return fail("invalid_config", "encryptionKeys must be an array of 32-byte keys (base64 strings or Uint8Arrays)");
  }
  if (entries.length === 0) {
    return fail("invalid_config", "encryptionKeys must hold at least one 32-byte key (base64 string or Uint8Array)");
  }

  const keys: Uint8Array[] = [];
  const seen = new Map<string, string>();
  for (const { label, value } of entries) {
    const decoded = decodeKey(value, label);
    if (!decoded.ok) return decoded;
    const id = keyIdOf(decoded.value);
    const earlier = seen.get(id);
    if (earlier !== undefined) return fail("invalid_config", `${label} is the same key as ${earlier}`);
    seen.set(id, label);
    keys.push(decoded.value);
  }
  return ok(createKeyRing(keys));
}

/** Base64 in either alphabet, padding optional; surrounding whitespace (a trailing newline from a file) is ignored. */
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)={0,2}$/;

function decodeKey(value: unknown, label: string): Result<Uint8Array> {
  const expected = `${label} must be ${KEY_BYTES} bytes, given as base64 (standard or url-safe) or as a Uint8Array`;
  if (value instanceof Uint8Array) {
    if (value.byteLength !== KEY_BYTES) return fail("invalid_config", `${expected}; it has ${value.byteLength} bytes`);
    // A copy, so that the caller reusing or zeroing its buffer cannot change the ring.
    return ok(Uint8Array.from(value));
  }
  if (typeof value !== "string")
    return fail("invalid_config", `${expected}; it is a ${value === null ? "null" : typeof value}`);
  const text = value.trim();
  if (text === "") return fail("invalid_config", `${expected}; it is empty`);
  // Buffer's decoder skips characters it does not know, so the alphabet is checked first and the
  // decoded bytes re-encoded: anything that does not round-trip is not the key the operator meant.
  if (!BASE64_PATTERN.test(text)) return fail("invalid_config", `${expected}; it is not valid base64`);
  const alphabet = /[-_]/.test(text) ? "base64url" : "base64";
  const bytes = Buffer.from(text, alphabet);
  const canonical = bytes.toString(alphabet).replace(/=+$/, "");
  if (canonical !== text.replace(/=+$/, "")) return fail("invalid_config", `${expected}; it is not valid base64`);
  if (bytes.byteLength !== KEY_BYTES)
    return fail("invalid_config", `${expected}; it decodes to ${bytes.byteLength} bytes`);
  return ok(new Uint8Array(bytes));
}

/**
 * A ring from raw 32-byte keys, the first encrypting. Throws a TypeError on a wrong key length or an
 * empty list (a programming error; configuration goes through `parseEncryptionKeys`).
 */
export function createKeyRing(keys: readonly Uint8Array[]): KeyRing {
  if (keys.length === 0) throw new TypeError("a key ring needs at least one key");
  const byId = new Map<string, KeyObject>();
  const ids: string[] = [];
  for (const key of keys) {
    if (!(key instanceof Uint8Array) || key.byteLength !== KEY_BYTES) {
      throw new TypeError(`every key of a key ring must be ${KEY_BYTES} bytes`);
    }
    const id = keyIdOf(key);
    if (byId.has(id)) continue;
    // A KeyObject copies the bytes and does not print them.
    byId.set(id, createSecretKey(key));
    ids.push(id);
  }
  const currentKeyId = ids[0] as string;
  const currentKey = byId.get(currentKeyId) as KeyObject;

  return {
    currentKeyId,
    keyIds: Object.freeze([...ids]),

    encrypt(plaintext: string, aad: string): string {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, currentKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(aad, "utf8"));
      const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
      return `${PREFIX}${currentKeyId}:${iv.toString("base64url")}:${ciphertext.toString("base64url")}`;
    },

    decrypt(envelope: string, aad: string): string {
      const parts = parseEnvelope(envelope);
      if (parts === null) throw decryptionFailed("the stored value is not an encrypted envelope");
      const key = byId.get(parts.keyId);
      if (key === undefined) {
        // The id is a digest prefix, safe to show, and tells the operator which old key is missing.
        throw decryptionFailed(
          `the stored value was encrypted under key id ${parts.keyId}, which is not among the configured encryption keys`,
        );
      }
      try {
        // authTagLength on the decipher too: without it Node accepts a tag cut down to 4 bytes.
        const decipher = createDecipheriv(ALGORITHM, key, parts.iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(aad, "utf8"));
        decipher.setAuthTag(parts.tag);
        const plaintext = Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
        return new TextDecoder("utf-8", { fatal: true }).decode(plaintext);
      } catch (error: unknown) {
        throw decryptionFailed(
          "the stored value failed authentication (altered, moved to another place, or another key)",
          error,
        );
      }
    },

    isCurrent(envelope: string): boolean {
      return parseEnvelope(envelope)?.keyId === currentKeyId;
    },
  };
}

/** A ring with one random key: the in-memory default, whose data dies with the process anyway. */
export function randomKeyRing(): KeyRing {
  return createKeyRing([randomBytes(KEY_BYTES)]);
}

interface EnvelopeParts {
  keyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function parseEnvelope(envelope: unknown): EnvelopeParts | null {
  if (typeof envelope !== "string") return null;
  const match = ENVELOPE_PATTERN.exec(envelope);
  if (match === null) return null;
  const [, keyId, ivText, dataText] = match as unknown as [string, string, string, string];
  const iv = Buffer.from(ivText, "base64url");
  const data = Buffer.from(dataText, "base64url");
  // Only canonical base64url: a second spelling of the same bytes is not something encrypt() wrote.
  if (iv.toString("base64url") !== ivText || data.toString("base64url") !== dataText) return null;
  if (iv.byteLength !== IV_BYTES || data.byteLength < TAG_BYTES) return null;
  return {
    keyId,
    iv,
    ciphertext: data.subarray(0, data.byteLength - TAG_BYTES),
    tag: data.subarray(data.byteLength - TAG_BYTES),
  };
}

function decryptionFailed(reason: string, cause?: unknown): McpServerSideError {
  return new McpServerSideError(
    "decryption_failed",
    `could not decrypt a stored secret: ${reason}`,
    cause === undefined ? {} : { cause },
  );
}
