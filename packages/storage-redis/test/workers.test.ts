/**
 * Many workers (SPEC §6): two real worker processes of one app, an Express one and a Hono one, share
 * the real Redis through `redisStore`. What one registers, changes or removes, the other lists and
 * injects at once; concurrent writes through both are decided atomically in Redis.
 */
import { type ExampleServerHandle, startExampleServer } from "example-mcp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppClient, appClient, expectProblem, newKey, type Reply } from "./support/client.js";
import { deleteKeys, newEncryptionKey, REDIS_URL, testPrefix } from "./support/redis.js";
import { type RunningWorker, startWorker } from "./support/workers.js";

const prefix = testPrefix("workers");
const EXAMPLE_TOOLS = ["add", "get_weather", "search_notes"];

let upstream: ExampleServerHandle;
const workers: RunningWorker[] = [];
/** Worker A (Express) and worker B (Hono), each its own process with its own Redis connections. */
let A: AppClient;
let B: AppClient;

beforeAll(async () => {
  upstream = await startExampleServer({ port: 0 });
  const common = { redisUrl: REDIS_URL, prefix, encryptionKey: newEncryptionKey(), maxServersPerScope: 1_000 };
  const started = await Promise.allSettled([
    startWorker({ ...common, adapter: "express" }),
    startWorker({ ...common, adapter: "hono" }),
  ]);
  for (const result of started) if (result.status === "fulfilled") workers.push(result.value);
  for (const result of started) if (result.status === "rejected") throw result.reason;
  A = appClient(workers[0]!.url);
  B = appClient(workers[1]!.url);
});

afterAll(async () => {
  await Promise.allSettled(workers.map((worker) => worker.close()));
  await upstream?.close();
  await deleteKeys(prefix);
});

/** Alternates requests between the two workers. */
const through = (index: number): AppClient => (index % 2 === 0 ? A : B);

function statuses(replies: Reply[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const reply of replies) counts[reply.status] = (counts[reply.status] ?? 0) + 1;
  return counts;
}

describe("two worker processes sharing one Redis", () => {
  it("runs each worker in a process of its own", () => {
    const pids = workers.map((worker) => worker.pid);
    expect(new Set([...pids, process.pid]).size).toBe(3);
  });

  it("lists through B, at once, a server registered through A, and the other way round", async () => {
    const key = newKey();
    // Both workers have the tenant's (empty) list cached before the writes.
    expect(await A.names(key)).toEqual([]);
    expect(await B.names(key)).toEqual([]);

    const created = await A.register(key, { name: "docs", url: upstream.url });
    expect(created.status, created.text).toBe(201);
    expect(await B.names(key)).toEqual(["docs"]);

    expect((await B.register(key, { name: "notes", url: upstream.url })).status).toBe(201);
    expect(await A.names(key)).toEqual(["docs", "notes"]);
  });

  it("shows through A a change made through B, with B's new ETag", async () => {
    const key = newKey();
    const created = await A.register(key, { name: "docs", url: upstream.url, description: "before" });
    expect(created.status, created.text).toBe(201);
    expect((await A.request("GET", "/mcp-servers/docs", { key })).json.description).toBe("before");

    const patched = await B.patch(key, "docs", { description: "after" }, created.headers.get("etag") ?? "");
    expect(patched.status, patched.text).toBe(200);
    const seen = await A.request("GET", "/mcp-servers/docs", { key });
    expect(seen.json.description).toBe("after");
    expect(seen.headers.get("etag")).toBe(patched.headers.get("etag"));
  });

  it("injects through B the tools of a server registered through A, and stops once the removal through A reaches it (pub/sub; polled with seconds of margin)", async () => {
    const key = newKey();
    expect((await A.register(key, { name: "weather", url: upstream.url })).status).toBe(201);
    const offered = await B.tools(key);
    expect(offered.errors).toEqual([]);
    expect(offered.tools).toEqual(EXAMPLE_TOOLS.map((tool) => `weather__${tool}`));

    const removed = await A.remove(key, "weather");
    expect(removed.status, removed.text).toBe(204);
    const removedAt = Date.now();
    let still = true;
    while (still && Date.now() - removedAt < 10_000) {
      still = (await B.tools(key)).tools.some((tool) => tool.startsWith("weather__"));
    }
    expect(still, "B still offers the removed server's tools ten seconds after its removal").toBe(false);
    expect(await B.names(key)).toEqual([]);
    expectProblem(await B.request("GET", "/mcp-servers/weather", { key }), 404, "not_found");
  });

  it("forgets on B the switch of a server deleted and re-created through A: its default applies again (polled with seconds of margin)", async () => {
    const key = newKey();
    expect((await A.register(key, { name: "weather", url: upstream.url })).status).toBe(201);
    const off = await A.request("PUT", "/mcp-servers/weather/preference", { key, body: { enabled: false } });
    expect(off.status, off.text).toBe(200);
    // B reads (and keeps) the switch before the delete.
    expect((await B.tools(key)).tools).toEqual([]);

    expect((await A.remove(key, "weather")).status).toBe(204);
    expect((await A.register(key, { name: "weather", url: upstream.url })).status).toBe(201);
    const createdAt = Date.now();
    let offered: string[] = [];
    while (offered.length === 0 && Date.now() - createdAt < 10_000) offered = (await B.tools(key)).tools;
    expect(offered).toEqual(EXAMPLE_TOOLS.map((tool) => `weather__${tool}`));
    const listed = await A.list(key);
    expect(
      listed.json.servers.find((server: { name: string }) => server.name === "weather")?.preference,
    ).toBeUndefined();
  });

  it("keeps one tenant's servers out of another's list and tools on every worker", async () => {
    const [owner, other] = [newKey(), newKey()];
    expect((await A.register(owner, { name: "private", url: upstream.url })).status).toBe(201);
    expect(await B.names(other)).toEqual([]);
    expect((await B.tools(other)).tools).toEqual([]);
    expectProblem(await B.request("GET", "/mcp-servers/private", { key: other }), 404, "not_found");
  });
});

describe("concurrent writes through both workers", () => {
  it("answers exactly one 201 and 49 409 name_taken to 50 concurrent registrations of one name", async () => {
    const key = newKey();
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        through(index).register(key, { name: "same", url: upstream.url, description: `attempt-${index}` }),
      ),
    );
    expect(statuses(replies)).toEqual({ 201: 1, 409: 49 });
    for (const reply of replies.filter((candidate) => candidate.status === 409))
      expectProblem(reply, 409, "name_taken");

    // What is stored is what the one 201 acknowledged.
    const winner = replies.find((reply) => reply.status === 201)!;
    const stored = await B.request("GET", "/mcp-servers/same", { key });
    expect(stored.json.description).toBe(winner.json.description);
    expect(stored.headers.get("etag")).toBe(winner.headers.get("etag"));
    expect(await A.names(key)).toEqual(["same"]);
  });

  it("keeps all 100 of 100 concurrent registrations of distinct names", async () => {
    const key = newKey();
    const names = Array.from({ length: 100 }, (_, index) => `server-${String(index).padStart(3, "0")}`);
    const replies = await Promise.all(
      names.map((name, index) => through(index).register(key, { name, url: upstream.url })),
    );
    expect(statuses(replies)).toEqual({ 201: 100 });
    expect(await A.names(key)).toEqual(names);
    expect(await B.names(key)).toEqual(names);
  });

  it("holds the scope limit under a race: 30 concurrent registrations with room for 10 leave exactly 10", async () => {
    const key = newKey();
    // Fill the scope up to 10 below the workers' limit of 1 000, then race 30 registrations for the rest.
    const filler = Array.from({ length: 990 }, (_, index) => `fill-${index}`);
    for (let start = 0; start < filler.length; start += 100) {
      const batch = filler.slice(start, start + 100);
      const replies = await Promise.all(
        batch.map((name, index) => through(index).register(key, { name, url: upstream.url })),
      );
      expect(statuses(replies)).toEqual({ 201: batch.length });
    }
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        through(index).register(key, { name: `race-${index}`, url: upstream.url }),
      ),
    );
    expect(statuses(replies)).toEqual({ 201: 10, 409: 20 });
    for (const reply of replies.filter((candidate) => candidate.status === 409))
      expectProblem(reply, 409, "limit_exceeded");
    expect(await B.names(key)).toHaveLength(1_000);
  });

  it("lets one of 20 concurrent PATCHes with the same If-Match win and answers 412 precondition_failed to the others", async () => {
    const key = newKey();
    const created = await A.register(key, { name: "shared", url: upstream.url, description: "original" });
    const etag = created.headers.get("etag") ?? "";
    expect(etag).not.toBe("");
    // Both workers have the server cached at the ETag the writers hold.
    expect((await B.request("GET", "/mcp-servers/shared", { key })).headers.get("etag")).toBe(etag);

    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        through(index).patch(key, "shared", { description: `writer-${index}` }, etag),
      ),
    );
    expect(statuses(replies)).toEqual({ 200: 1, 412: 19 });
    for (const reply of replies.filter((candidate) => candidate.status === 412))
      expectProblem(reply, 412, "precondition_failed");
    const winner = replies.find((reply) => reply.status === 200)!;
    for (const worker of [A, B]) {
      const stored = await worker.request("GET", "/mcp-servers/shared", { key });
      expect(stored.json.description).toBe(winner.json.description);
      expect(stored.headers.get("etag")).toBe(winner.headers.get("etag"));
    }
  });

  it("loses no update when 10 concurrent writers retry on 412 with the fresh ETag", async () => {
    const key = newKey();
    expect((await A.register(key, { name: "log", url: upstream.url, description: "start" })).status).toBe(201);

    // Each writer appends its mark by read-modify-write with If-Match, through alternating workers.
    const writer = async (index: number): Promise<number> => {
      for (let attempt = 0; attempt < 200; attempt += 1) {
        const worker = through(index + attempt);
        const current = await worker.request("GET", "/mcp-servers/log", { key });
        expect(current.status, current.text).toBe(200);
        const description = `${current.json.description} w${index}`;
        const reply = await worker.patch(key, "log", { description }, current.headers.get("etag") ?? "");
        if (reply.status === 200) return attempt;
        expectProblem(reply, 412, "precondition_failed");
      }
      throw new Error(`writer ${index} never got its update in`);
    };
    await Promise.all(Array.from({ length: 10 }, (_, index) => writer(index)));

    for (const worker of [A, B]) {
      const stored = await worker.request("GET", "/mcp-servers/log", { key });
      const marks = String(stored.json.description).split(" ");
      expect(marks[0]).toBe("start");
      expect(marks.slice(1).sort()).toEqual(Array.from({ length: 10 }, (_, index) => `w${index}`).sort());
    }
  });
});
