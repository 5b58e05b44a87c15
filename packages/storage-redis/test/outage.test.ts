/**
 * Redis going away under a running app (SPEC §4, §5, §6): the management routes answer 503
 * storage_unavailable problem documents, tools() keeps serving the config tier and says what is
 * missing, nothing that was acknowledged is lost, and the app recovers by itself when Redis returns.
 */
import { type ExampleServerHandle, startExampleServer } from "example-mcp-server";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type RunningRedisApp, startRedisApp } from "./support/app.js";
import { type AppClient, appClient, expectProblem, newKey, type Reply } from "./support/client.js";
import { deleteKeys, newEncryptionKey, REDIS_URL, type RedisProxy, startProxy, testPrefix } from "./support/redis.js";
import { type PrivateRedis, startPrivateRedis } from "./support/redis-server.js";

const prefix = testPrefix("outage");
const encryptionKey = newEncryptionKey();
const EXAMPLE_TOOLS = ["add", "get_weather", "search_notes"];
const toolsOf = (server: string): string[] => EXAMPLE_TOOLS.map((tool) => `${server}__${tool}`);

let upstream: ExampleServerHandle;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  upstream = await startExampleServer({ port: 0 });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(async () => {
  await upstream?.close();
  await deleteKeys(prefix);
});

/** An app whose store reaches Redis at `redisUrl`, with one config-tier server, `base`. */
async function app(
  redisUrl: string,
  { keyPrefix = prefix, awaitReady = true }: { keyPrefix?: string; awaitReady?: boolean } = {},
): Promise<{ running: RunningRedisApp; client: AppClient }> {
  const running = await startRedisApp({
    adapter: "express",
    redisUrl,
    prefix: keyPrefix,
    encryptionKey,
    awaitReady,
    // Short enough that an outage shows quickly, long enough that a busy machine never trips it while Redis is up.
    storeTimeoutMs: 2_000,
    maxServersPerScope: 100,
    mcpServers: { base: { url: upstream.url } },
  });
  cleanups.push(() => running.close());
  return { running, client: appClient(running.url) };
}

async function proxy(): Promise<RedisProxy> {
  const started = await startProxy();
  cleanups.push(() => started.close());
  return started;
}

/** Waits until Redis is seen as away: the list (whose cache lives at most a second then) answers 503. */
async function untilUnavailable(client: AppClient, key: string): Promise<void> {
  await vi.waitFor(async () => expect((await client.list(key)).status).toBe(503), { timeout: 10_000, interval: 50 });
}

/** Waits until the app answers from Redis again; the reconnect is ioredis's own, nothing pokes it. */
async function untilRecovered(client: AppClient, key: string): Promise<void> {
  await vi.waitFor(async () => expect((await client.list(key)).status).toBe(200), { timeout: 20_000, interval: 100 });
}

describe("when Redis goes away behind a running app", () => {
  it("answers 503 storage_unavailable problem documents on the management routes, and recovers by itself", async () => {
    const redis = await proxy();
    const { client } = await app(redis.url);
    const key = newKey();
    const created = await client.register(key, { name: "tenant", url: upstream.url });
    expect(created.status, created.text).toBe(201);
    const etag = created.headers.get("etag") ?? "";

    await redis.stop();
    await untilUnavailable(client, key);
    const replies: [string, Reply][] = [
      ["GET /", await client.list(key)],
      ["POST /", await client.register(key, { name: "refused", url: upstream.url })],
      ["GET /:name", await client.request("GET", "/mcp-servers/tenant", { key })],
      ["PATCH /:name", await client.patch(key, "tenant", { description: "refused" }, etag)],
      ["DELETE /:name", await client.remove(key, "tenant")],
      ["GET /:name/tools", await client.request("GET", "/mcp-servers/tenant/tools", { key })],
    ];
    for (const [route, reply] of replies) {
      expect(reply.status, `${route}: ${reply.text}`).toBe(503);
      expectProblem(reply, 503, "storage_unavailable");
    }

    await redis.start();
    await untilRecovered(client, key);
    // What was refused left no trace; what was acknowledged is intact, and writes work again.
    expect(await client.names(key)).toEqual(["base", "tenant"]);
    const stored = await client.request("GET", "/mcp-servers/tenant", { key });
    expect(stored.headers.get("etag")).toBe(etag);
    expect(stored.json.description).toBeUndefined();
    expect((await client.register(key, { name: "after", url: upstream.url })).status).toBe(201);
    expect((await client.patch(key, "tenant", { description: "changed" }, etag)).status).toBe(200);
    expect(await client.names(key)).toEqual(["after", "base", "tenant"]);
  });

  it("keeps offering the config tier's tools from tools(), with storage_unavailable in errors, and the stored tiers' again after", async () => {
    const redis = await proxy();
    const { client } = await app(redis.url);
    const key = newKey();
    expect((await client.register(key, { name: "tenant", url: upstream.url })).status).toBe(201);
    const before = await client.tools(key);
    expect(before.errors).toEqual([]);
    expect(before.tools).toEqual([...toolsOf("base"), ...toolsOf("tenant")]);

    await redis.stop();
    await untilUnavailable(client, key);
    const during = await client.tools(key);
    expect(during.tools).toEqual(toolsOf("base"));
    expect(during.errors).toContainEqual(expect.objectContaining({ code: "storage_unavailable" }));
    // A caller without a key (config and global tiers only) is served the same way.
    const anonymous = await client.request("POST", "/tools", { body: {} });
    expect(anonymous.status, anonymous.text).toBe(200);
    expect(anonymous.json.tools).toEqual(toolsOf("base"));

    await redis.start();
    await untilRecovered(client, key);
    const after = await client.tools(key);
    expect(after.errors).toEqual([]);
    expect(after.tools).toEqual([...toolsOf("base"), ...toolsOf("tenant")]);
  });

  it("loses no acknowledged registration when Redis goes away in the middle of a burst of them", async () => {
    const redis = await proxy();
    const { client } = await app(redis.url);
    const key = newKey();
    const names = Array.from({ length: 60 }, (_, index) => `burst-${String(index).padStart(2, "0")}`);
    const replies = new Map<string, Reply>();
    let cut: Promise<void> | undefined;

    // Registrations go out a few milliseconds apart; Redis is cut after the first ten are acknowledged.
    await Promise.all(
      names.map(async (name, index) => {
        await new Promise((resolve) => setTimeout(resolve, index * 5));
        const reply = await client.register(key, { name, url: upstream.url });
        replies.set(name, reply);
        const acknowledged = [...replies.values()].filter((candidate) => candidate.status === 201).length;
        if (acknowledged >= 10 && cut === undefined) cut = redis.stop();
      }),
    );
    await cut;
    const acknowledged = names.filter((name) => replies.get(name)?.status === 201);
    const refused = names.filter((name) => replies.get(name)?.status === 503);
    expect(acknowledged.length + refused.length, "every reply is 201 or 503").toBe(names.length);
    expect(acknowledged.length).toBeGreaterThanOrEqual(10);
    expect(refused.length, "the cut happened during the burst").toBeGreaterThan(0);
    for (const name of refused) expectProblem(replies.get(name)!, 503, "storage_unavailable");

    await redis.start();
    await untilRecovered(client, key);
    const listed = (await client.names(key)).filter((name) => name !== "base");
    // Every acknowledged registration is there; a refused one may have reached Redis just before the cut.
    expect(listed).toEqual(expect.arrayContaining(acknowledged));
    expect(names).toEqual(expect.arrayContaining(listed));
  });
});

describe("when Redis stops answering without closing its connections", () => {
  it("answers 503 storage_unavailable instead of hanging, and recovers when Redis answers again", async () => {
    const redis = await proxy();
    const { client } = await app(redis.url);
    const key = newKey();
    expect((await client.register(key, { name: "tenant", url: upstream.url })).status).toBe(201);

    redis.pause();
    expectProblem(await client.register(key, { name: "late", url: upstream.url }), 503, "storage_unavailable");
    // A tenant whose servers are not cached yet needs Redis: 503, and tools() keeps the config tier.
    const stranger = newKey();
    expectProblem(await client.list(stranger), 503, "storage_unavailable");
    const tools = await client.tools(stranger);
    expect(tools.tools).toEqual(toolsOf("base"));
    expect(tools.errors).toContainEqual(expect.objectContaining({ code: "storage_unavailable" }));

    redis.resume();
    await untilRecovered(client, stranger);
    // The timed-out registration may have reached Redis after all; either way it is consistent now.
    const names = await client.names(key);
    expect(names.filter((name) => name !== "late")).toEqual(["base", "tenant"]);
    const again = await client.register(key, { name: "late", url: upstream.url });
    expect(again.status, again.text).toBe(names.includes("late") ? 409 : 201);
  });
});

describe("when Redis is away while the app starts", () => {
  it("rejects ready() with storage_unavailable, then serves and follows other workers' changes once Redis is back", async () => {
    const redis = await proxy();
    await redis.stop();
    const { running, client } = await app(redis.url, { awaitReady: false });
    await expect(running.mcp.ready()).rejects.toMatchObject({ code: "storage_unavailable" });

    await redis.start();
    await untilRecovered(client, newKey());
    const other = await app(REDIS_URL);
    // Once its change events are up, a registration through another worker shows here at once.
    await vi.waitFor(
      async () => {
        const key = newKey();
        expect(await client.names(key)).toEqual(["base"]);
        expect((await other.client.register(key, { name: "probe", url: upstream.url })).status).toBe(201);
        expect(await client.names(key)).toEqual(["base", "probe"]);
      },
      { timeout: 10_000, interval: 200 },
    );
  });
});

describe("when Redis itself is stopped and started again", () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis?.close();
  });

  it("keeps every acknowledged write across the restart and serves again without being restarted itself", async () => {
    const { client } = await app(redis.url, { keyPrefix: `${prefix}restart:` });
    const key = newKey();
    const names = Array.from({ length: 20 }, (_, index) => `kept-${String(index).padStart(2, "0")}`);
    const replies = await Promise.all(names.map((name) => client.register(key, { name, url: upstream.url })));
    expect(replies.map((reply) => reply.status)).toEqual(names.map(() => 201));
    const patched = await client.patch(
      key,
      "kept-00",
      { description: "patched before" },
      replies[0]!.headers.get("etag") ?? "",
    );
    expect(patched.status, patched.text).toBe(200);
    expect((await client.remove(key, "kept-19")).status).toBe(204);

    await redis.stop();
    await untilUnavailable(client, key);
    expectProblem(await client.register(key, { name: "refused", url: upstream.url }), 503, "storage_unavailable");
    const during = await client.tools(key);
    expect(during.tools).toEqual(toolsOf("base"));
    expect(during.errors).toContainEqual(expect.objectContaining({ code: "storage_unavailable" }));

    await redis.start();
    await untilRecovered(client, key);
    expect(await client.names(key)).toEqual(["base", ...names.slice(0, 19)].sort());
    const kept = await client.request("GET", "/mcp-servers/kept-00", { key });
    expect(kept.json.description).toBe("patched before");
    expect(kept.headers.get("etag")).toBe(patched.headers.get("etag"));
    // A restarted Redis has forgotten the store's Lua scripts; writes load them again.
    expect((await client.register(key, { name: "after", url: upstream.url })).status).toBe(201);
    expect(
      (await client.patch(key, "kept-01", { description: "patched after" }, replies[1]!.headers.get("etag") ?? ""))
        .status,
    ).toBe(200);
    expect((await client.remove(key, "kept-02")).status).toBe(204);
    expect((await client.tools(key)).tools).toEqual(
      expect.arrayContaining([...toolsOf("base"), ...toolsOf("after"), ...toolsOf("kept-00")]),
    );
  });
});
