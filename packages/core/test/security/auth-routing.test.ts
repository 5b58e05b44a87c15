import { randomUUID } from "node:crypto";
import type { ToolSet } from "ai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMcpServerSide } from "../../src/create.js";
import type { McpServerSideOptions } from "../../src/options.js";
import type { Identity, McpServerSide } from "../../src/types.js";
import { echoTool, type McpFixture, startStreamableServer } from "../fixtures/mcp-servers.js";
import { LOOPBACK, call } from "./app-helpers.js";

/*
 * SPEC §3, §4, §7: a server's bearer token and auth headers are stored encrypted, sent to that server
 * and to no other, and never shown in a response. Two real Streamable HTTP servers on 127.0.0.1 record
 * every header they receive.
 */

const run = randomUUID().slice(0, 8);
const TOKEN_A = `SENTINEL-A-${run}`;
const HEADER_B = `SENTINEL-B-${run}`;
const PLAIN_B = `SENTINEL-B-plain-${run}`;
const GLOBAL_TOKEN = `SENTINEL-G-${run}`;
const CONFIG_HEADER = `SENTINEL-C-${run}`;
/** The callers' own API keys: their requests carry them, no MCP server may ever receive them. */
const TENANT_KEY = `SENTINEL-tenant-key-${run}`;
const OTHER_KEY = `SENTINEL-other-key-${run}`;
const ADMIN_KEY = `SENTINEL-admin-key-${run}`;
const SECRETS = [TOKEN_A, HEADER_B, PLAIN_B, GLOBAL_TOKEN, CONFIG_HEADER];

const identities: Record<string, Identity> = {
  [TENANT_KEY]: { scope: "tenant" },
  [OTHER_KEY]: { scope: "other" },
  [ADMIN_KEY]: { scope: "ops", admin: true },
};

let serverA: McpFixture;
let serverB: McpFixture;
let serverG: McpFixture;
let serverC: McpFixture;
const instances: McpServerSide[] = [];

beforeAll(async () => {
  [serverA, serverB, serverG, serverC] = await Promise.all([
    startStreamableServer({ tools: [echoTool()] }),
    startStreamableServer({ tools: [echoTool()] }),
    startStreamableServer({ tools: [echoTool()] }),
    startStreamableServer({ tools: [echoTool()] }),
  ]);
});

afterEach(async () => {
  // allSettled: a test may have closed its instance already (close() twice throws today: see the report).
  await Promise.allSettled(instances.splice(0).map((instance) => instance.close()));
});

afterAll(async () => {
  await Promise.all([serverA, serverB, serverG, serverC].map((server) => server?.close()));
});

function instance(options: McpServerSideOptions = {}): McpServerSide {
  const mcp = createMcpServerSide({
    ...LOOPBACK,
    identify: (request) => identities[request.headers.get("x-api-key") ?? ""] ?? null,
    config: { mcpServers: { cfg: { url: serverC.url, headers: { "X-Config-Secret": CONFIG_HEADER } } } },
    ...options,
  });
  instances.push(mcp);
  return mcp;
}

function chatRequest(key: string): Request {
  // The end user's own credentials ride on the app request: none of them may be passed through.
  return new Request("http://app.test/chat", {
    method: "POST",
    headers: { "x-api-key": key, authorization: `Bearer ${key}`, cookie: `session=${key}` },
  });
}

async function callEveryTool(tools: ToolSet): Promise<void> {
  for (const [name, tool] of Object.entries(tools)) {
    const result = await tool.execute?.(
      { text: `hello from ${name}` },
      { toolCallId: name, messages: [], context: {} },
    );
    expect(JSON.stringify(result)).toContain(`hello from ${name}`);
  }
}

/** Every header value a fixture received since `from`, as one string per request. */
function received(server: McpFixture, from = 0): string[] {
  return server.requestHeaders.slice(from).map((headers) => JSON.stringify(headers));
}

async function registerBoth(mcp: McpServerSide): Promise<void> {
  const a = await call(mcp, "POST", "/mcp-servers", {
    key: TENANT_KEY,
    body: { name: "alpha", url: serverA.url, auth: { type: "bearer", token: TOKEN_A } },
  });
  const b = await call(mcp, "POST", "/mcp-servers", {
    key: TENANT_KEY,
    body: {
      name: "beta",
      url: serverB.url,
      headers: { "X-Plain-B": PLAIN_B },
      auth: { type: "headers", headers: { "X-Secret-B": HEADER_B } },
    },
  });
  const g = await call(mcp, "POST", "/mcp-servers", {
    key: ADMIN_KEY,
    body: { name: "gamma", scope: "global", url: serverG.url, auth: { type: "bearer", token: GLOBAL_TOKEN } },
  });
  for (const reply of [a, b, g]) {
    expect(reply.status, reply.text).toBe(201);
    for (const secret of SECRETS) expect(reply.text).not.toContain(secret);
  }
  expect(a.json.auth).toEqual({ type: "bearer", hasToken: true });
  expect(b.json.auth).toEqual({ type: "headers", hasHeaders: true });
}

describe("auth secrets go to their own server only", () => {
  it("sends Authorization: Bearer SENTINEL-A on every MCP request to A, and nothing of it to any other server", async () => {
    const mcp = instance();
    await registerBoth(mcp);
    const marks = [serverA, serverB, serverG, serverC].map((server) => server.requestHeaders.length);

    const context = mcp.forRequest(chatRequest(TENANT_KEY));
    const tools = await context.tools();
    expect(Object.keys(tools).sort()).toEqual(["alpha__echo", "beta__echo", "cfg__echo", "gamma__echo"]);
    expect(context.errors).toEqual([]);
    await callEveryTool(tools);
    // The routes that connect too: the tool list of each, and a test of A's definition.
    for (const name of ["alpha", "beta", "gamma", "cfg"]) {
      const reply = await call(mcp, "GET", `/mcp-servers/${name}/tools`, { key: TENANT_KEY });
      expect(reply.status, reply.text).toBe(200);
    }
    const tested = await call(mcp, "POST", "/mcp-servers/test", {
      key: TENANT_KEY,
      body: { url: serverA.url, auth: { type: "bearer", token: TOKEN_A } },
    });
    expect(tested.json).toMatchObject({ ok: true });
    await mcp.close();

    const since = (server: McpFixture, index: number): McpFixture["requestHeaders"] =>
      server.requestHeaders.slice(marks[index]);
    const [fromA, fromB, fromG, fromC] = [
      since(serverA, 0),
      since(serverB, 1),
      since(serverG, 2),
      since(serverC, 3),
    ] as const;
    // A got its token on every request: initialize, notifications, tools/list, tools/call, DELETE.
    expect(fromA.length).toBeGreaterThanOrEqual(4);
    for (const headers of fromA) expect(headers.authorization).toBe(`Bearer ${TOKEN_A}`);
    for (const headers of fromB) {
      expect(headers["x-secret-b"]).toBe(HEADER_B);
      expect(headers["x-plain-b"]).toBe(PLAIN_B);
      expect(headers.authorization).toBeUndefined();
    }
    for (const headers of fromG) expect(headers.authorization).toBe(`Bearer ${GLOBAL_TOKEN}`);
    for (const headers of fromC) expect(headers["x-config-secret"]).toBe(CONFIG_HEADER);

    const own: [McpFixture, string][] = [
      [serverA, TOKEN_A],
      [serverB, HEADER_B],
      [serverB, PLAIN_B],
      [serverG, GLOBAL_TOKEN],
      [serverC, CONFIG_HEADER],
    ];
    for (const [server, text] of [
      [serverA, fromA],
      [serverB, fromB],
      [serverG, fromG],
      [serverC, fromC],
    ] as const) {
      const seen = text.map((headers) => JSON.stringify(headers)).join("\n");
      for (const secret of SECRETS) {
        const mine = own.some(([owner, value]) => owner === server && value === secret);
        if (!mine) expect(seen, `${secret} reached the wrong server`).not.toContain(secret);
      }
      // The caller's own credentials are never passed through (SPEC §7).
      for (const key of [TENANT_KEY, OTHER_KEY, ADMIN_KEY]) expect(seen).not.toContain(key);
    }
  });

  it("never gives another tenant's request a server's secret, even under the same server name", async () => {
    const mcp = instance();
    await registerBoth(mcp);
    const mark = received(serverB).length;
    const markA = received(serverA).length;
    // The other tenant has its own 'alpha', pointing at B, without auth: it must not inherit A's token.
    const own = await call(mcp, "POST", "/mcp-servers", { key: OTHER_KEY, body: { name: "alpha", url: serverB.url } });
    expect(own.status, own.text).toBe(201);
    const context = mcp.forRequest(chatRequest(OTHER_KEY));
    const tools = await context.tools();
    expect(Object.keys(tools)).toContain("alpha__echo");
    await callEveryTool(tools);
    await mcp.close();
    const seenB = received(serverB, mark).join("\n");
    expect(seenB).not.toContain(TOKEN_A);
    expect(received(serverA, markA)).toEqual([]);
  });

  it("does not let a request-tier entry that replaces a stored server by name inherit that server's secret", async () => {
    const mcp = instance();
    await registerBoth(mcp);
    const mark = received(serverB).length;
    const context = mcp.forRequest(chatRequest(TENANT_KEY), { servers: { alpha: { url: serverB.url } } });
    const servers = await context.servers();
    expect(servers.find((server) => server.name === "alpha")).toMatchObject({ source: "request", shadows: "scope" });
    const tools = await context.tools();
    await tools.alpha__echo?.execute?.({ text: "x" }, { toolCallId: "c", messages: [], context: {} });
    await mcp.close();
    expect(received(serverB, mark).length).toBeGreaterThan(0);
    expect(received(serverB, mark).join("\n")).not.toContain(TOKEN_A);
  });

  it("never shows a token or header value in GET, PATCH, list or servers() output", async () => {
    const mcp = instance();
    await registerBoth(mcp);
    const replies = [
      await call(mcp, "GET", "/mcp-servers", { key: TENANT_KEY }),
      await call(mcp, "GET", "/mcp-servers/alpha", { key: TENANT_KEY }),
      await call(mcp, "GET", "/mcp-servers/beta", { key: TENANT_KEY }),
      await call(mcp, "GET", "/mcp-servers", { key: ADMIN_KEY }),
      await call(mcp, "GET", "/mcp-servers/gamma", { key: ADMIN_KEY }),
      await call(mcp, "PATCH", "/mcp-servers/alpha", { key: TENANT_KEY, body: { description: "patched" } }),
      await call(mcp, "PATCH", "/mcp-servers/beta", {
        key: TENANT_KEY,
        body: { auth: { type: "headers", headers: { "X-Secret-B": `${HEADER_B}-2` } } },
      }),
    ];
    for (const reply of replies) {
      expect(reply.status, reply.text).toBeLessThan(300);
      for (const secret of SECRETS) expect(reply.text).not.toContain(secret);
      for (const [, value] of reply.headers) for (const secret of SECRETS) expect(value).not.toContain(secret);
    }
    const servers = JSON.stringify(await mcp.forRequest(chatRequest(TENANT_KEY)).servers());
    for (const secret of SECRETS) expect(servers).not.toContain(secret);
    // After the PATCH that kept alpha's auth, A still gets its token.
    const mark = received(serverA).length;
    const tools = await mcp.forRequest(chatRequest(TENANT_KEY)).tools();
    await tools.alpha__echo?.execute?.({ text: "x" }, { toolCallId: "c", messages: [], context: {} });
    for (const headers of serverA.requestHeaders.slice(mark)) expect(headers.authorization).toBe(`Bearer ${TOKEN_A}`);
  });
});
