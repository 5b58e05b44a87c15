import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { redisStore } from "@mcp-server-side/storage-redis";
import { Redis } from "ioredis";
import { createStorage } from "unstorage";
import fsDriver from "unstorage/drivers/fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMcpServerSide } from "../../src/create.js";
import { McpServerSideError } from "../../src/errors.js";
import type { McpServerSideOptions } from "../../src/options.js";
import { rotateSecrets } from "../../src/registry/rotate.js";
import { type KeyRing, keyIdOf, parseEncryptionKeys } from "../../src/security/crypto.js";
import { sealDefinition } from "../../src/security/secrets.js";
import type { McpStore, StoreScope } from "../../src/store/types.js";
import { unstorageStore } from "../../src/store/unstorage-store.js";
import type { Identity, McpServerSide } from "../../src/types.js";
import { echoTool, type McpFixture, startStreamableServer } from "../fixtures/mcp-servers.js";
import {
  LOOPBACK,
  appRequest,
  call,
  deleteRedisKeys,
  envelopeKeyIds,
  memoryBackend,
  newEncryptionKey,
  redisRawValues,
} from "./app-helpers.js";

const REDIS_URL = "redis://127.0.0.1:6379";
const run = randomUUID().slice(0, 8);
/** Every secret of this file carries it; stored bytes, responses and errors must never show it. */
const SENTINEL = `SENTINEL-${run}`;
const TOKEN = `${SENTINEL}-bearer-token`;
const AUTH_HEADER = `${SENTINEL}-auth-header`;
const PLAIN_HEADER = `${SENTINEL}-plain-header`;

/** Tenants by `X-API-Key`; "org:1/x" has a scope id that only a digest can stand for in a key. */
const TENANTS: Record<string, Identity> = {
  "key-t1": { scope: "t1" },
  "key-org": { scope: "org:1/x" },
  "key-admin": { scope: "ops", admin: true },
};
const identify = (request: Request): Identity | null => TENANTS[request.headers.get("x-api-key") ?? ""] ?? null;

let bearerServer: McpFixture;
let headersServer: McpFixture;
const redis = new Redis(REDIS_URL);
const prefixes: string[] = [];
const instances: McpServerSide[] = [];
const directories: string[] = [];

beforeAll(async () => {
  // Each fixture answers only requests that carry exactly these secrets: a 200 from it proves they decrypted right.
  bearerServer = await startStreamableServer({
    tools: [echoTool()],
    requireHeaders: { authorization: `Bearer ${TOKEN}` },
  });
  headersServer = await startStreamableServer({
    tools: [echoTool("lookup")],
    requireHeaders: { "x-auth": AUTH_HEADER, "x-plain": PLAIN_HEADER },
  });
});

afterEach(async () => {
  // allSettled: a test may have closed its instance already (close() twice throws today: see the report).
  await Promise.allSettled(instances.splice(0).map((instance) => instance.close()));
});

afterAll(async () => {
  await bearerServer?.close();
  await headersServer?.close();
  for (const prefix of prefixes) await deleteRedisKeys(redis, prefix);
  await redis.quit();
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

function instance(options: McpServerSideOptions): McpServerSide {
  const mcp = createMcpServerSide({ identify, ...LOOPBACK, ...options });
  instances.push(mcp);
  return mcp;
}

function ring(keys: string[]): KeyRing {
  const parsed = parseEncryptionKeys({ encryptionKeys: keys });
  if (!parsed.ok || parsed.value === null) throw new Error("bad test keys");
  return parsed.value;
}

function keyId(key: string): string {
  return keyIdOf(Buffer.from(key, "base64"));
}

/** The four servers of the rotation story: two secret kinds, three scopes (one digested), the global tier. */
async function registerAll(mcp: McpServerSide): Promise<void> {
  const registrations: [string, unknown][] = [
    ["key-t1", { name: "alpha", url: bearerServer.url, auth: { type: "bearer", token: TOKEN } }],
    [
      "key-t1",
      {
        name: "beta",
        url: headersServer.url,
        headers: { "X-Plain": PLAIN_HEADER },
        auth: { type: "headers", headers: { "X-Auth": AUTH_HEADER } },
      },
    ],
    ["key-org", { name: "delta", url: bearerServer.url, auth: { type: "bearer", token: TOKEN } }],
    [
      "key-admin",
      {
        name: "gamma",
        scope: "global",
        url: headersServer.url,
        headers: { "X-Plain": PLAIN_HEADER, "X-Auth": AUTH_HEADER },
      },
    ],
  ];
  for (const [key, body] of registrations) {
    const reply = await call(mcp, "POST", "/mcp-servers", { key, body });
    expect(reply.status, reply.text).toBe(201);
    expect(reply.text).not.toContain(SENTINEL);
  }
}

/** Reads every server back through an instance and connects to each: the fixtures refuse wrong secrets. */
async function expectEverythingReadable(mcp: McpServerSide): Promise<void> {
  for (const [key, name] of [
    ["key-t1", "alpha"],
    ["key-t1", "beta"],
    ["key-org", "delta"],
    ["key-admin", "gamma"],
  ] as const) {
    const server = await call(mcp, "GET", `/mcp-servers/${name}`, { key });
    expect(server.status, server.text).toBe(200);
    const tools = await call(mcp, "GET", `/mcp-servers/${name}/tools`, { key });
    expect(tools.status, `${name}: ${tools.text}`).toBe(200);
    expect(tools.json.tools).toHaveLength(1);
    for (const reply of [server, tools]) expect(reply.text).not.toContain(SENTINEL);
  }
}

interface Backend {
  label: string;
  /** Storage options for an instance on this backend (each call: a new store over the same data). */
  storage(): McpServerSideOptions["storage"];
  /** The store the rotation runs on, over the same data. */
  store(): McpStore;
  raw(): Promise<string[]>;
}

function memory(): Backend {
  const backend = memoryBackend();
  return {
    label: "unstorage (memory driver)",
    storage: () => backend.storage,
    store: () => unstorageStore(backend.storage),
    raw: async () => backend.rawValues(),
  };
}

function redisBackend(): Backend {
  const prefix = `mcp-test-rotate-${process.pid}-${randomUUID().slice(0, 8)}:`;
  prefixes.push(prefix);
  const open = (): McpStore => redisStore({ client: redis, prefix });
  return {
    label: "redisStore",
    storage: open,
    store: open,
    raw: () => redisRawValues(redis, prefix),
  };
}

function expectNoPlaintext(values: readonly string[]): void {
  expect(values.length).toBeGreaterThan(0);
  for (const value of values) expect(value).not.toContain(SENTINEL);
}

describe.each([
  ["unstorage (memory driver)", memory],
  ["redisStore", redisBackend],
])("rotateSecrets on %s", (_label, makeBackend) => {
  it("re-encrypts every record under the first key, after which an instance with only that key reads everything", async () => {
    const backend = makeBackend();
    const [oldKey, newKey] = [newEncryptionKey(), newEncryptionKey()];

    const before = instance({ storage: backend.storage(), encryptionKey: oldKey });
    await before.ready();
    await registerAll(before);
    const sealed = await backend.raw();
    expectNoPlaintext(sealed);
    // Six secret fields: alpha's token, beta's header and auth header, delta's token, gamma's two headers.
    expect(envelopeKeyIds(sealed)).toEqual(Array.from({ length: 6 }, () => keyId(oldKey)));

    const result = await rotateSecrets({ store: backend.store(), ring: ring([newKey, oldKey]) });
    expect(result).toEqual({ scopes: 3, servers: 4, rotated: 4, oauthRecords: 0 });
    const rotated = await backend.raw();
    expectNoPlaintext(rotated);
    expect(envelopeKeyIds(rotated)).toEqual(Array.from({ length: 6 }, () => keyId(newKey)));

    // Run again: nothing is left to rotate, and nothing is written.
    expect(await rotateSecrets({ store: backend.store(), ring: ring([newKey, oldKey]) })).toEqual({
      scopes: 3,
      servers: 4,
      rotated: 0,
      oauthRecords: 0,
    });
    expect(await backend.raw()).toEqual(rotated);

    const after = instance({ storage: backend.storage(), encryptionKey: newKey });
    await after.ready();
    await expectEverythingReadable(after);

    // The old key alone no longer opens anything: it really can be dropped.
    const stale = instance({ storage: backend.storage(), encryptionKey: oldKey });
    await stale.ready();
    const refused = await call(stale, "GET", "/mcp-servers/alpha", { key: "key-t1" });
    expect(refused.status, refused.text).toBe(500);
    expect(refused.text).not.toContain(SENTINEL);
  });

  it("keeps a write made by another worker during the rotation, and rotates it too", async () => {
    const backend = makeBackend();
    const [oldKey, newKey] = [newEncryptionKey(), newEncryptionKey()];
    const before = instance({ storage: backend.storage(), encryptionKey: oldKey });
    await before.ready();
    await registerAll(before);

    // A worker still on the old key writes 'alpha' just as the rotation is about to.
    const inner = backend.store();
    const scope: StoreScope = { kind: "scope", id: "t1" };
    let raced = false;
    const racing: McpStore = {
      ...inner,
      async update(s, server, options) {
        if (!raced && server.name === "alpha") {
          raced = true;
          const current = await inner.get(scope, "alpha");
          if (current === null) throw new Error("alpha is missing");
          const definition = sealDefinition(
            { url: bearerServer.url, description: "changed meanwhile", auth: { type: "bearer", token: TOKEN } },
            ring([oldKey]),
            { scope, name: "alpha" },
          );
          expect(
            await inner.update(
              scope,
              { ...current, definition, revision: randomUUID() },
              { expectedRevision: current.revision },
            ),
          ).toEqual({ ok: true });
        }
        return inner.update(s, server, options);
      },
    };
    const result = await rotateSecrets({ store: racing, ring: ring([newKey, oldKey]) });
    expect(raced).toBe(true);
    expect(result.rotated).toBe(4);
    expect(envelopeKeyIds(await backend.raw()).every((id) => id === keyId(newKey))).toBe(true);

    const after = instance({ storage: backend.storage(), encryptionKey: newKey });
    const alpha = await call(after, "GET", "/mcp-servers/alpha", { key: "key-t1" });
    expect(alpha.status, alpha.text).toBe(200);
    expect(alpha.json.description).toBe("changed meanwhile");
    expect((await call(after, "GET", "/mcp-servers/alpha/tools", { key: "key-t1" })).status).toBe(200);
  });

  it("rotates every readable record, then fails naming the one that no configured key opens", async () => {
    const backend = makeBackend();
    const [oldKey, newKey, lostKey] = [newEncryptionKey(), newEncryptionKey(), newEncryptionKey()];
    const before = instance({ storage: backend.storage(), encryptionKey: oldKey });
    await before.ready();
    await registerAll(before);
    // A record sealed under a key nobody has any more.
    const store = backend.store();
    const scope: StoreScope = { kind: "scope", id: "t1" };
    const lost = sealDefinition({ url: bearerServer.url, auth: { type: "bearer", token: TOKEN } }, ring([lostKey]), {
      scope,
      name: "orphan",
    });
    const at = new Date().toISOString();
    expect(
      await store.create(
        scope,
        { name: "orphan", definition: lost, revision: randomUUID(), createdAt: at, updatedAt: at },
        {
          maxServers: 10,
        },
      ),
    ).toEqual({ ok: true });

    const failure = await rotateSecrets({ store: backend.store(), ring: ring([newKey, oldKey]) }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(McpServerSideError.isInstance(failure) && failure.code).toBe("decryption_failed");
    expect(String((failure as Error).message)).toContain("scope:t1/orphan");
    expect(String((failure as Error).message)).not.toContain(SENTINEL);
    // The four readable records were rotated all the same; only the orphan keeps its lost key.
    const ids = envelopeKeyIds(await backend.raw());
    expect(ids.filter((id) => id === keyId(newKey))).toHaveLength(6);
    expect(ids.filter((id) => id === keyId(lostKey))).toHaveLength(1);
    expect(ids).not.toContain(keyId(oldKey));
  });
});

describe("a persistent store needs an encryption key", () => {
  it("refuses to create an instance on an fs storage without encryptionKey, naming the option", async () => {
    const directory = await mkdtemp(join(tmpdir(), "mcp-at-rest-"));
    directories.push(directory);
    const storage = createStorage({ driver: fsDriver({ base: directory }) });
    expect(() => createMcpServerSide({ storage })).toThrow(/encryptionKey/);
    const withKey = createMcpServerSide({ storage, encryptionKey: newEncryptionKey() });
    instances.push(withKey);
    await expect(withKey.ready()).resolves.toEqual({ failedServers: [] });
  });

  it("refuses to create an instance on the Redis store without encryptionKey", async () => {
    const store = redisStore({ client: redis, prefix: `mcp-test-nokey-${run}:` });
    prefixes.push(`mcp-test-nokey-${run}:`);
    expect(() => createMcpServerSide({ storage: store })).toThrow(
      expect.objectContaining({ code: "invalid_config", message: expect.stringMatching(/encryptionKey/) }),
    );
    await store.close?.();
  });

  it("starts on the in-memory default without a key (a random per-process key)", async () => {
    const mcp = createMcpServerSide({});
    instances.push(mcp);
    await expect(mcp.ready()).resolves.toEqual({ failedServers: [] });
  });

  it("refuses a key that is not 32 bytes, without echoing it", () => {
    const short = Buffer.from(`${SENTINEL}`).toString("base64");
    let message = "";
    try {
      createMcpServerSide({ encryptionKey: short });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/encryptionKey/);
    expect(message).not.toContain(short);
  });
});

describe("a stored secret that does not decrypt is an error, never a plaintext", () => {
  /** Registers 'alpha' (bearer) and 'healthy' (no secret) for tenant t1 and returns the storage and its key. */
  async function registered() {
    const backend = memoryBackend();
    const encryptionKey = newEncryptionKey();
    const first = createMcpServerSide({ identify, ...LOOPBACK, storage: backend.storage, encryptionKey });
    for (const body of [
      { name: "alpha", url: bearerServer.url, auth: { type: "bearer", token: TOKEN } },
      { name: "healthy", url: headersServer.url, headers: { "X-Plain": PLAIN_HEADER, "X-Auth": AUTH_HEADER } },
    ]) {
      const reply = await call(first, "POST", "/mcp-servers", { key: "key-t1", body });
      expect(reply.status, reply.text).toBe(201);
    }
    await first.close();
    const [key] = [...backend.data.keys()].filter((entry) => entry.startsWith("servers:scope:"));
    if (key === undefined) throw new Error("no stored scope");
    return { backend, encryptionKey, key };
  }

  /** Replaces alpha's stored token envelope (the raw bytes) with what `change` makes of it. */
  function tamper(data: Map<string, unknown>, key: string, change: (envelope: string) => string): string {
    const raw = String(data.get(key));
    const envelope = /"token":"(enc:v1:[^"]+)"/.exec(raw)?.[1];
    if (envelope === undefined) throw new Error("no token envelope in the stored bytes");
    const replacement = change(envelope);
    data.set(key, raw.replace(envelope, replacement));
    return replacement;
  }

  const cases: [string, (envelope: string) => string][] = [
    // One character of the ciphertext changed: the GCM tag no longer matches.
    [
      "a changed ciphertext byte",
      (envelope) => `${envelope.slice(0, -3)}${envelope.at(-3) === "A" ? "B" : "A"}${envelope.slice(-2)}`,
    ],
    // A plaintext where an envelope belongs: never sent on as it is.
    ["a plaintext in place of the envelope", () => `${SENTINEL}-planted-plaintext`],
    // The envelope of another field (alpha's token moved into the other server's place is covered in secrets.test).
    ["a truncated envelope", (envelope) => envelope.slice(0, 40)],
  ];

  for (const [label, change] of cases) {
    it(`answers GET with a 500 problem that holds neither ciphertext nor secret, for ${label}`, async () => {
      const { backend, encryptionKey, key } = await registered();
      const planted = tamper(backend.data, key, change);
      const mcp = instance({ storage: backend.storage, encryptionKey });
      const reply = await call(mcp, "GET", "/mcp-servers/alpha", { key: "key-t1" });
      expect(reply.status, reply.text).toBe(500);
      expect(reply.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(reply.json).toMatchObject({ status: 500, code: expect.any(String), detail: expect.any(String) });
      expect(reply.text).not.toContain(SENTINEL);
      expect(reply.text).not.toContain("enc:v1");
      expect(reply.text).not.toContain(planted.slice(7, 40));
    });

    it(`reports it in tools() errors instead of throwing, never sending anything in its place, for ${label}`, async () => {
      const { backend, encryptionKey, key } = await registered();
      tamper(backend.data, key, change);
      const seenBefore = bearerServer.requestHeaders.length;
      const mcp = instance({ storage: backend.storage, encryptionKey });
      const context = mcp.forRequest(appRequest("key-t1"));
      const tools = await context.tools();
      expect(context.errors.length, JSON.stringify(context.errors)).toBeGreaterThan(0);
      const reported = JSON.stringify(context.errors);
      expect(reported).not.toContain(SENTINEL);
      expect(reported).not.toContain("enc:v1");
      expect(Object.keys(tools).filter((name) => name.startsWith("alpha"))).toEqual([]);
      // Nothing reached alpha's server: neither a planted plaintext nor anything else.
      const sent = bearerServer.requestHeaders.slice(seenBefore);
      expect(JSON.stringify(sent)).not.toContain(SENTINEL);
      // One broken record does not take the scope's other servers with it (SPEC §5).
      expect(Object.keys(tools)).toContain("healthy__lookup");
    });
  }

  it("refuses to open records with a key that is not the one they were sealed with", async () => {
    const { backend } = await registered();
    const mcp = instance({ storage: backend.storage, encryptionKey: newEncryptionKey() });
    const reply = await call(mcp, "GET", "/mcp-servers/alpha", { key: "key-t1" });
    expect(reply.status, reply.text).toBe(500);
    expect(reply.text).not.toContain(SENTINEL);
    const context = mcp.forRequest(appRequest("key-t1"));
    await expect(context.tools()).resolves.toBeDefined();
    expect(context.errors.length).toBeGreaterThan(0);
  });
});
