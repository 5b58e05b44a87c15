import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { createStorage, type Storage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import type { McpServerSide } from "../../src/types.js";
import { readReply, type Reply } from "../../../../test/support/reply.js";
export type { Reply } from "../../../../test/support/reply.js";

/*
 * Helpers of the security tests that run a whole instance: requests to its Web handler, fresh
 * encryption keys, and the raw bytes a store holds (to prove no plaintext secret is ever in them).
 */

export interface CallOptions {
  /** Sent as `X-API-Key`. */
  key?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One request to the instance's management routes, as the adapters would hand it over. */
export async function call(
  mcp: McpServerSide,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Reply> {
  const headers = new Headers(options.headers);
  if (options.key !== undefined) headers.set("x-api-key", options.key);
  const init: RequestInit = { method, headers };
  if (options.body !== undefined) {
    headers.set("content-type", "application/json");
    init.body = JSON.stringify(options.body);
  }
  const response = await mcp.handle(new Request(`http://app.test${path}`, init));
  if (response === undefined) throw new Error(`${method} ${path} is not a route of the instance`);
  return readReply(response);
}

/** The Web request of an app route (`POST /chat`) for `forRequest`. */
export function appRequest(key?: string): Request {
  return new Request("http://app.test/chat", {
    method: "POST",
    headers: key === undefined ? {} : { "x-api-key": key },
  });
}

/** 32 random bytes as base64, as an operator would configure `encryptionKey`. */
export function newEncryptionKey(): string {
  return randomBytes(32).toString("base64");
}

/** Tenant servers on 127.0.0.1 need loopback opened, and plain http. */
export const LOOPBACK = { allowPrivateNetworks: true, requireHttps: false } as const;

export interface MemoryBackend {
  storage: Storage;
  /** The memory driver's own map: the bytes as stored, which a test may read or tamper with. */
  data: Map<string, unknown>;
  /** Every stored value as text. */
  rawValues(): string[];
}

/** An unstorage memory storage whose raw values a test can read and change under the store. */
export function memoryBackend(): MemoryBackend {
  const driver = memoryDriver();
  const storage = createStorage({ driver });
  const data = (driver.getInstance?.() ?? new Map()) as Map<string, unknown>;
  return {
    storage,
    data,
    rawValues: () => [...data.entries()].map(([key, value]) => `${key}\n${stringOf(value)}`),
  };
}

function stringOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString("latin1");
  return JSON.stringify(value) ?? String(value);
}

/** Every key under `prefix` and every value it holds, whatever its Redis type (SCAN: a test-only tool). */
export async function redisRawValues(client: Redis, prefix: string): Promise<string[]> {
  const values: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    for (const key of keys) {
      const type = await client.type(key);
      if (type === "string") values.push(`${key}\n${(await client.getBuffer(key))?.toString("latin1") ?? ""}`);
      else if (type === "hash") values.push(`${key}\n${JSON.stringify(await client.hgetall(key))}`);
      else if (type === "set") values.push(`${key}\n${JSON.stringify(await client.smembers(key))}`);
      else values.push(`${key}\n(${type})`);
    }
  } while (cursor !== "0");
  return values;
}

/** Deletes every key under `prefix`. */
export async function deleteRedisKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== "0");
}

const ENVELOPE_KEY_ID = /enc:v1:([A-Za-z0-9_-]{11}):/g;

/** The key ids of every envelope in the given stored values. */
export function envelopeKeyIds(values: readonly string[]): string[] {
  const ids: string[] = [];
  for (const value of values) for (const match of value.matchAll(ENVELOPE_KEY_ID)) ids.push(match[1] as string);
  return ids;
}
