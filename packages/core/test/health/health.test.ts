import { randomBytes } from "node:crypto";
import { createMcpServerSide, type McpServerSide, type McpServerSideOptions } from "@mcp-server-side/core";
import { redisStore } from "@mcp-server-side/storage-redis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { echoTool, type McpFixture, startStreamableServer } from "../fixtures/mcp-servers.js";

const ADMIN_KEY = "admin-key-health";
const MEMBER_KEY = "member-key-health";

let upstream: McpFixture;
let deadUrl: string;
const instances: McpServerSide[] = [];

beforeAll(async () => {
  upstream = await startStreamableServer({ tools: [echoTool()] });
  const dead = await startStreamableServer({ tools: [echoTool()] });
  deadUrl = dead.url;
  await dead.close();
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await Promise.all(instances.splice(0).map((instance) => instance.close()));
});

function instance(options: McpServerSideOptions = {}): McpServerSide {
  const mcp = createMcpServerSide({
    logger: false,
    identify: (request) => {
      const key = request.headers.get("x-api-key");
      if (key === ADMIN_KEY) return { scope: "ops", user: "alice", admin: true };
      if (key === MEMBER_KEY) return { scope: "tenant", user: "bob" };
      return null;
    },
    config: { mcpServers: { docs: { url: upstream.url } } },
    // A public address for every tenant host name, without DNS.
    lookup: async () => [{ address: "93.184.216.34", family: 4 }],
    ...options,
  });
  instances.push(mcp);
  return mcp;
}

async function get(mcp: McpServerSide, path: string, key?: string): Promise<Response> {
  const response = await mcp.handle(
    new Request(`http://app.test${path}`, { headers: key === undefined ? {} : { "x-api-key": key } }),
  );
  if (response === undefined) throw new Error(`${path} was not handled`);
  return response;
}

describe("GET {basePath}/_health", () => {
  it("answers 200 ready with the store, the pool and each config and global server's state", async () => {
    const mcp = instance();
    await mcp.ready();
    const registered = await mcp.handle(
      new Request("http://app.test/mcp-servers", {
        method: "POST",
        headers: { "x-api-key": ADMIN_KEY, "content-type": "application/json" },
        body: JSON.stringify({ name: "shared", url: "https://shared.example.com/mcp", scope: "global" }),
      }),
    );
    expect(registered?.status).toBe(201);
    const response = await get(mcp, "/mcp-servers/_health", ADMIN_KEY);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: "ready",
      started: "ok",
      store: { reachable: true },
      pool: { connections: 1, maxConnections: 1000 },
    });
    expect(body.servers).toEqual([
      { name: "docs", source: "config", state: "connected" },
      { name: "shared", source: "global", state: "idle" },
    ]);
  });

  it("reports a failing server as cooling down with its code and retry time, and stays ready", async () => {
    const mcp = instance({ config: { mcpServers: { gone: { url: deadUrl } } }, connectRetryDelayMs: 10 });
    const report = await mcp.ready();
    expect(report.failedServers.map((failure) => failure.code)).toEqual(["connection_failed"]);
    // The warmup's failure starts no cool-down; a request's does.
    await mcp.forRequest(new Request("http://app.test/chat")).tools();
    const response = await get(mcp, "/mcp-servers/_health", ADMIN_KEY);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { servers: { state: string; code?: string; retryAt?: string }[] };
    expect(body.servers).toHaveLength(1);
    expect(body.servers[0]).toMatchObject({ state: "cooling_down", code: "connection_failed" });
    expect(Date.parse(body.servers[0]?.retryAt ?? "")).toBeGreaterThan(Date.now() - 1_000);
  });

  it("answers 503 when the store does not answer, naming nothing secret", async () => {
    const secret = randomBytes(8).toString("hex");
    const mcp = instance({
      storage: redisStore({ url: `redis://:${secret}@127.0.0.1:9/0`, timeoutMs: 300 }),
      encryptionKey: randomBytes(32).toString("base64"),
      warmup: false,
    });
    await mcp.ready().catch(() => undefined);
    const response = await get(mcp, "/mcp-servers/_health", ADMIN_KEY);
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ status: "unavailable", store: { reachable: false } });
    expect(text).not.toContain(secret);
  });

  it("is for admins: 401 without a key, 403 for a member", async () => {
    const mcp = instance();
    const anonymous = await get(mcp, "/mcp-servers/_health");
    expect(anonymous.status).toBe(401);
    const member = await get(mcp, "/mcp-servers/_health", MEMBER_KEY);
    expect(member.status).toBe(403);
    expect(((await member.json()) as { code: string }).code).toBe("forbidden");
  });

  it("answers a probe without a key when the operator made it public, and is gone with health: false", async () => {
    const open = instance({ health: { public: true } });
    await open.ready();
    expect((await get(open, "/mcp-servers/_health")).status).toBe(200);
    const closed = instance({ health: false });
    const answer = await get(closed, "/mcp-servers/_health", ADMIN_KEY);
    expect(answer.status).toBe(404);
  });

  it("routes by method and path: a server named health is still GET /health, and _health takes no other method", async () => {
    const mcp = instance({ config: { mcpServers: { health: { url: upstream.url } } } });
    await mcp.ready();
    const server = await get(mcp, "/mcp-servers/health", MEMBER_KEY);
    expect(server.status).toBe(200);
    expect(((await server.json()) as { name: string }).name).toBe("health");
    const post = await mcp.handle(
      new Request("http://app.test/mcp-servers/_health", { method: "POST", headers: { "x-api-key": ADMIN_KEY } }),
    );
    expect(post?.status).toBe(405);
    expect(post?.headers.get("allow")).toBe("GET");
  });
});
