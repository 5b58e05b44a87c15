/**
 * Per-user OAuth on Redis (SPEC §6, §7): two instances (two workers) share one Redis. A user connected
 * through one is connected in both; when the access token is refused in both at once, exactly one
 * refresh reaches the authorization server (its refresh tokens rotate: spending one twice would revoke
 * the grant) and both calls succeed. Deleting the server leaves no token bytes in Redis.
 */
import { createMcpServerSide, type McpServerSide } from "@mcp-server-side/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AuthorizationServer,
  authorizeInBrowser,
  type ProtectedMcpServer,
  startAuthorizationServer,
  startProtectedMcpServer,
} from "../../core/test/fixtures/oauth.js";
import { redisStore } from "../src/index.js";
import { deleteKeys, newEncryptionKey, REDIS_URL, testPrefix } from "./support/redis.js";
import { type RunningWorker, startWorker } from "./support/workers.js";

const prefix = testPrefix("oauth");
const APP = "http://app.test";
const REDIRECT_URI = `${APP}/mcp-servers/oauth/callback`;
const call = { toolCallId: "call-1", messages: [], context: {} };

let authorization: AuthorizationServer;
let protectedServer: ProtectedMcpServer;
const workers: McpServerSide[] = [];

beforeAll(async () => {
  let resource = "";
  authorization = await startAuthorizationServer({ resource: () => resource });
  protectedServer = await startProtectedMcpServer(() => authorization.issuer);
  resource = protectedServer.url;
  const encryptionKey = newEncryptionKey();
  for (let index = 0; index < 2; index++) worker("acme", [encryptionKey]);
  await Promise.all(workers.map((worker) => worker.ready()));
});

/** A worker on the shared Redis prefix (closed after the file); the caller's user is `x-user`. */
function worker(scope: string, encryptionKeys: string[]): McpServerSide {
  const mcp = createMcpServerSide({
    storage: redisStore({ url: REDIS_URL, prefix }),
    encryptionKeys,
    identify: (request) => {
      const user = request.headers.get("x-user");
      return user === null ? null : { scope, user };
    },
    allowPrivateNetworks: true,
    requireHttps: false,
    logger: false,
    warmup: false,
    oauth: { redirectUri: REDIRECT_URI, refreshSkewMs: 0 },
  });
  workers.push(mcp);
  return mcp;
}

afterAll(async () => {
  await Promise.allSettled(workers.map((worker) => worker.close()));
  await protectedServer?.close();
  await authorization?.close();
  await deleteKeys(prefix);
});

function as(user: string, path: string, init: RequestInit = {}): Request {
  const headers = new Headers(init.headers);
  headers.set("x-user", user);
  return new Request(`${APP}${path}`, { ...init, headers });
}

async function whoami(mcp: McpServerSide, user: string): Promise<string | undefined> {
  const context = mcp.forRequest(as(user, "/chat"));
  const tools = await context.tools();
  expect(context.errors).toEqual([]);
  const result = await tools.docs__whoami?.execute?.({}, call);
  return (result as { content: { text: string }[] }).content[0]?.text;
}

async function secretKeys(): Promise<string[]> {
  const admin = new Redis(REDIS_URL);
  try {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}secrets:*`, "COUNT", 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== "0");
    return found;
  } finally {
    await admin.quit();
  }
}

/** Registers `docs` through `registerWith`, then connects Alice: connect there, callback on `callbackOn`. */
async function registerAndConnect(registerWith: McpServerSide, callbackOn = registerWith): Promise<void> {
  const created = await registerWith.handle(
    as("alice", "/mcp-servers", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "docs", url: protectedServer.url, auth: { type: "oauth2" } }),
    }),
  );
  expect(created?.status).toBe(201);
  const started = await registerWith.handle(as("alice", "/mcp-servers/docs/oauth/connect?mode=json"));
  const { authorizationUrl } = (await (started as Response).json()) as { authorizationUrl: string };
  const cookie = (started?.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const callback = await authorizeInBrowser(authorizationUrl, "alice", REDIRECT_URI);
  const done = await callbackOn.handle(new Request(callback, { headers: { cookie } }));
  expect(done?.status, await done?.clone().text()).toBe(200);
}

describe("per-user OAuth on Redis, two instances", () => {
  it("refreshes once for both workers when the token is refused in both at once, and forgets everything with the server", async () => {
    const [first, second] = workers as [McpServerSide, McpServerSide];
    // Connect through the first worker; the callback lands on the second (any worker may get it).
    await registerAndConnect(first, second);

    expect(await whoami(first, "alice")).toBe("alice");
    expect(await whoami(second, "alice")).toBe("alice");

    const refreshes = authorization.grants.refresh_token ?? 0;
    for (const header of protectedServer.tokensSeen) protectedServer.refused.add(header.slice(7));
    const results = await Promise.all([whoami(first, "alice"), whoami(second, "alice")]);
    expect(results).toEqual(["alice", "alice"]);
    expect(authorization.grants.refresh_token).toBe(refreshes + 1);
    expect(authorization.grantErrors).toEqual([]);

    // Tokens and the client registration are in Redis, sealed: no token bytes in clear.
    const keys = await secretKeys();
    expect(keys.length).toBeGreaterThan(0);
    const admin = new Redis(REDIS_URL);
    try {
      for (const key of keys.filter((name) => name.includes(":user:"))) {
        const stored = (await admin.get(key)) ?? "";
        expect(stored.startsWith("enc:v1:")).toBe(true);
        for (const header of protectedServer.tokensSeen) expect(stored).not.toContain(header.slice(7));
      }
    } finally {
      await admin.quit();
    }

    const removed = await second.handle(as("alice", "/mcp-servers/docs", { method: "DELETE" }));
    expect(removed?.status).toBe(204);
    expect(await secretKeys()).toEqual([]);
  });
});

describe("rotateSecrets() on Redis", () => {
  /** The key ids of every sealed part stored under the test prefix. */
  async function keyIdsInRedis(): Promise<Set<string>> {
    const admin = new Redis(REDIS_URL);
    const ids = new Set<string>();
    try {
      let cursor = "0";
      do {
        const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
        cursor = next;
        for (const key of keys) {
          const type = await admin.type(key);
          const values =
            type === "string" ? [(await admin.get(key)) ?? ""] : type === "hash" ? await admin.hvals(key) : [];
          for (const value of values)
            for (const match of value.matchAll(/enc:v1:([A-Za-z0-9_-]{11}):/g)) ids.add(match[1] ?? "");
        }
      } while (cursor !== "0");
    } finally {
      await admin.quit();
    }
    return ids;
  }

  it("re-encrypts users' tokens and the client registration: nothing stays under the old key", async () => {
    await deleteKeys(prefix);
    const oldKey = newEncryptionKey();
    const newKey = newEncryptionKey();
    const before = worker("rotation", [oldKey]);
    await registerAndConnect(before);
    const oldIds = await keyIdsInRedis();
    expect(oldIds.size).toBe(1);

    const result = await worker("rotation", [newKey, oldKey]).rotateSecrets();
    expect(result.oauthRecords).toBe(2);
    const newIds = await keyIdsInRedis();
    expect(newIds.size).toBe(1);
    expect([...newIds].some((id) => oldIds.has(id))).toBe(false);

    expect(await whoami(worker("rotation", [newKey]), "alice")).toBe("alice");
  });
});

describe("two worker processes on Redis", () => {
  const running: RunningWorker[] = [];
  afterAll(async () => {
    await Promise.allSettled(running.map((child) => child.close()));
  });

  it("refresh expired tokens once at the authorization server when both call at the same time, and both calls work", async () => {
    const processPrefix = testPrefix("oauth-procs");
    const encryptionKey = newEncryptionKey();
    try {
      // Alice connects through an instance whose clock is an hour behind: her stored tokens are expired
      // for the workers (the authorization server's own clock is not touched).
      const behind = createMcpServerSide({
        storage: redisStore({ url: REDIS_URL, prefix: processPrefix }),
        encryptionKey,
        identify: (request) => {
          const user = request.headers.get("x-user");
          return user === null ? null : { scope: "procs", user };
        },
        allowPrivateNetworks: true,
        requireHttps: false,
        logger: process.env.DEBUG_OAUTH ? console : false,
        warmup: false,
        now: () => Date.now() - 3_600_000,
        oauth: { redirectUri: REDIRECT_URI, refreshSkewMs: 0 },
      });
      workers.push(behind);
      await registerAndConnect(behind);

      const common = { redisUrl: REDIS_URL, prefix: processPrefix, encryptionKey, oauthRedirectUri: REDIRECT_URI };
      running.push(
        ...(await Promise.all([
          startWorker({ ...common, adapter: "express" }),
          startWorker({ ...common, adapter: "hono" }),
        ])),
      );
      expect(new Set(running.map((child) => child.pid)).size).toBe(2);

      const refreshes = authorization.grants.refresh_token ?? 0;
      const replies = await Promise.all(
        running.map(async (child) => {
          const response = await fetch(`${child.url}/call`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-scope": "procs", "x-user": "alice" },
            body: JSON.stringify({ tool: "docs__whoami" }),
          });
          expect(response.status).toBe(200);
          return (await response.json()) as { text?: string; errors: unknown[] };
        }),
      );
      expect(replies).toEqual([
        { text: "alice", errors: [] },
        { text: "alice", errors: [] },
      ]);
      // One refresh grant for both processes; a rotating refresh token spent twice would have failed.
      expect(authorization.grants.refresh_token).toBe(refreshes + 1);
      expect(authorization.grantErrors).toEqual([]);
    } finally {
      await deleteKeys(processPrefix);
    }
  });
});
