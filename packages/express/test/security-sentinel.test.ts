import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { inspect } from "node:util";
import {
  createMcpServerSide,
  identifyByApiKey,
  type McpHooks,
  type McpServerSide,
  type McpServerSideOptions,
} from "@mcp-server-side/core";
import { redisStore } from "@mcp-server-side/storage-redis";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lastToolResult, scriptedModel } from "../../core/test/chat/helpers.js";
import {
  echoTool,
  type McpFixture,
  STDIO_SERVER_PATH,
  startHttpServer,
  startStreamableServer,
} from "../../core/test/fixtures/mcp-servers.js";
import { deleteRedisKeys, memoryBackend, redisRawValues } from "../../core/test/security/app-helpers.js";
import {
  authorizeInBrowser,
  startAuthorizationServer,
  startProtectedMcpServer,
} from "../../core/test/fixtures/oauth.js";
import { startRawMcpServer } from "../../core/test/security/raw-mcp-server.js";
import { type SecurityApp, startSecurityApp } from "./security-app.js";

/*
 * THE SENTINEL TEST (SPEC §4, §7, §8), in the manner of trusted gateways: every secret field holds a
 * unique sentinel — bearer tokens, auth headers, plain headers, URL userinfo and secret-named query
 * parameters, a config placeholder's value, stdio env and flags, OAuth client secrets, and the callers'
 * API keys themselves. Every route is exercised as an admin and as a member, with a logger that keeps
 * every line and a hook on every hook name that keeps every payload; the request context's `errors`
 * and `servers()` are part of the app's replies. Then everything is scanned: response bodies and
 * headers, log lines, hook payloads (JSON and util.inspect), and the raw bytes in the store (the
 * unstorage memory driver's values, and Redis under a unique prefix). No sentinel may appear anywhere —
 * the callers' own request headers, which the test does not scan, being the only place one belongs.
 */

const SENTINEL = `SNTL${randomUUID().replaceAll("-", "")}`;
const secret = (label: string): string => `${SENTINEL}-${label}`;

const ADMIN_KEY = secret("admin-api-key");
const MEMBER_KEY = secret("member-api-key");
const ENV_NAME = `MCP_SENTINEL_${randomBytes(4).toString("hex").toUpperCase()}`;
const PLACEHOLDER = "$" + "{";

const HOOK_NAMES: (keyof McpHooks)[] = [
  "config:loaded",
  "server:registered",
  "server:updated",
  "server:removed",
  "connection:open",
  "connection:error",
  "connection:close",
  "tools:resolved",
  "tool:before-call",
  "tool:after-call",
  "tool:error",
];

/** Everything the instance said, one string per line/payload, with where it came from. */
interface Recorded {
  logs: string[];
  hooks: { name: string; payload: unknown; text: string }[];
}

function describeValue(value: unknown): string {
  let json: string;
  try {
    json = JSON.stringify(value, (_key, inner: unknown) => (typeof inner === "bigint" ? String(inner) : inner)) ?? "";
  } catch {
    json = "";
  }
  return `${json}\n${inspect(value, { depth: 12, showHidden: true, getters: true, maxArrayLength: 500, maxStringLength: 100_000 })}`;
}

function recordingOptions(recorded: Recorded): Pick<McpServerSideOptions, "logger" | "hooks"> {
  const line =
    (level: string) =>
    (...args: unknown[]): void => {
      recorded.logs.push(`${level}: ${args.map(describeValue).join(" | ")}`);
    };
  const hooks: Partial<McpHooks> = {};
  for (const name of HOOK_NAMES) {
    (hooks as Record<string, (payload: unknown) => void>)[name] = (payload: unknown) => {
      recorded.hooks.push({ name, payload, text: describeValue(payload) });
    };
  }
  return { logger: { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") }, hooks };
}

/** The places a sentinel was found, named, so a failure says where the leak is. */
function findSentinels(sources: Record<string, readonly string[]>): string[] {
  const found: string[] = [];
  for (const [where, texts] of Object.entries(sources)) {
    texts.forEach((text, index) => {
      let at = text.indexOf(SENTINEL);
      while (at !== -1) {
        found.push(`${where}[${index}]: …${text.slice(Math.max(0, at - 120), at + 60).replaceAll("\n", "⏎")}…`);
        at = text.indexOf(SENTINEL, at + 1);
        if (found.length > 50) return;
      }
    });
  }
  return found;
}

let fixtureA: McpFixture;
let fixtureB: McpFixture;
let fixtureG: McpFixture;
let fixtureC: McpFixture;
let mirror: { url: string; close(): Promise<void>; seen: string[] };
const redis = new Redis("redis://127.0.0.1:6379");
const redisPrefix = `mcp-test-sentinel-${process.pid}-${randomUUID().slice(0, 8)}:`;

beforeAll(async () => {
  process.env[ENV_NAME] = secret("env-placeholder-value");
  [fixtureA, fixtureB, fixtureG, fixtureC] = await Promise.all([
    startStreamableServer({ tools: [echoTool()], instructions: "Server A helps." }),
    startStreamableServer({ tools: [echoTool()] }),
    startStreamableServer({ tools: [echoTool()] }),
    startStreamableServer({ tools: [echoTool()] }),
  ]);
  // A server that answers 401 and mirrors every credential it got, in its body and in WWW-Authenticate.
  const seen: string[] = [];
  const server = await startHttpServer((request: IncomingMessage, response: ServerResponse) => {
    const credentials = JSON.stringify(request.headers);
    seen.push(credentials);
    response
      .writeHead(401, {
        "content-type": "application/json",
        "www-authenticate": `Bearer error="invalid_token", error_description="rejected ${String(request.headers.authorization ?? "").replaceAll('"', "")}"`,
      })
      .end(JSON.stringify({ error: "invalid_token", received: credentials }));
  });
  mirror = { url: `${server.url}/mcp`, close: server.close, seen };
});

afterAll(async () => {
  delete process.env[ENV_NAME];
  await Promise.all([fixtureA, fixtureB, fixtureG, fixtureC].map((fixture) => fixture?.close()));
  await mirror?.close();
  await deleteRedisKeys(redis, redisPrefix);
  await redis.quit();
});

/** The config tier: secrets in a resolved placeholder, plain headers, userinfo, query parameters, stdio env and flags. */
function configTier(): NonNullable<McpServerSideOptions["config"]> {
  const port = new URL(fixtureC.url).port;
  return {
    mcpServers: {
      cfgHeaders: {
        url: fixtureC.url,
        headers: { Authorization: `Bearer ${PLACEHOLDER}${ENV_NAME}}`, "X-Cfg-Secret": secret("cfg-header") },
      },
      cfgQuery: { url: `${fixtureC.url}?token=${secret("cfg-query-token")}&region=eu` },
      cfgUserinfo: {
        url: `http://svc:${secret("cfg-userinfo")}@127.0.0.1:${port}/mcp?api_key=${secret("cfg-query-key")}`,
      },
      cfgStdio: {
        command: process.execPath,
        args: [STDIO_SERVER_PATH, "--api-key", secret("stdio-flag")],
        env: { MCP_FIXTURE_TOOLS: JSON.stringify([{ name: "echo" }]), API_TOKEN: secret("stdio-env") },
      },
    },
  };
}

interface Run {
  app: SecurityApp;
  mcp: McpServerSide;
  recorded: Recorded;
  rawStore(): Promise<string[]>;
}

async function exercise(run: Run): Promise<void> {
  const { app } = run;
  const as = (key: string) => ({
    get: (path: string) => app.request("GET", `/mcp-servers${path}`, { key }),
    post: (path: string, body: unknown) => app.request("POST", `/mcp-servers${path}`, { key, body }),
    patch: (path: string, body: unknown, headers?: Record<string, string>) =>
      app.request("PATCH", `/mcp-servers${path}`, { key, body, ...(headers ? { headers } : {}) }),
    delete: (path: string) => app.request("DELETE", `/mcp-servers${path}`, { key }),
  });
  const admin = as(ADMIN_KEY);
  const member = as(MEMBER_KEY);
  const expectStatus = (reply: { status: number; text: string }, status: number): void => {
    expect(reply.status, reply.text.slice(0, 300)).toBe(status);
  };

  // Registrations holding every kind of secret.
  expectStatus(
    await member.post("", { name: "alpha", url: fixtureA.url, auth: { type: "bearer", token: secret("bearer") } }),
    201,
  );
  expectStatus(
    await member.post("", {
      name: "beta",
      url: fixtureB.url,
      headers: { "X-Plain": secret("plain-header") },
      auth: { type: "headers", headers: { "X-Secret": secret("auth-header") } },
    }),
    201,
  );
  expectStatus(
    await member.post("", {
      name: "query",
      url: `${fixtureB.url}?token=${secret("tenant-query-token")}&sig=${secret("tenant-sig")}`,
    }),
    201,
  );
  expectStatus(
    await member.post("", {
      name: "oauthy",
      url: fixtureA.url,
      auth: { type: "oauth2", clientId: "public-client-id", clientSecret: secret("client-secret") },
    }),
    201,
  );
  expectStatus(
    await member.post("", { name: "mirror", url: mirror.url, auth: { type: "bearer", token: secret("mirror-token") } }),
    201,
  );
  expectStatus(
    await member.post("", { name: "temp", url: fixtureB.url, headers: { "X-Temp": secret("temp-header") } }),
    201,
  );
  expectStatus(
    await admin.post("", {
      name: "gamma",
      scope: "global",
      url: fixtureG.url,
      headers: { "X-Global": secret("global-header") },
    }),
    201,
  );
  expectStatus(
    await admin.post("", {
      name: "adminown",
      url: fixtureG.url,
      auth: { type: "bearer", token: secret("admin-bearer") },
    }),
    201,
  );

  // Refused registrations that carry secrets: the problem documents must not echo them.
  expectStatus(
    await member.post("", {
      name: "global2",
      scope: "global",
      url: fixtureG.url,
      headers: { "X-G": secret("forbidden") },
    }),
    403,
  );
  expectStatus(
    await member.post("", { name: "userinfo", url: `https://u:${secret("reg-userinfo")}@mcp.example.com/mcp` }),
    422,
  );
  expectStatus(
    await member.post("", { name: "crlf", url: fixtureB.url, headers: { "X-A": `${secret("crlf")}\r\nX-B: 1` } }),
    422,
  );
  expectStatus(
    await member.post("", {
      name: "placeholder",
      url: fixtureB.url,
      headers: { "X-A": `${secret("placeholder")}${PLACEHOLDER}HOME}` },
    }),
    422,
  );
  expectStatus(
    await member.post("", {
      name: "blocked",
      url: `https://169.254.169.254/latest?token=${secret("blocked-query")}`,
      auth: { type: "bearer", token: secret("blocked-bearer") },
    }),
    422,
  );
  expectStatus(
    await member.post("", {
      name: "unknown-field",
      url: fixtureB.url,
      tokn: secret("typo-field"),
      auth: { type: "bearer", token: secret("typo-bearer") },
    }),
    422,
  );
  expectStatus(
    await member.post("", { name: "alpha", url: fixtureA.url, auth: { type: "bearer", token: secret("taken") } }),
    409,
  );
  expectStatus(
    await member.post("", {
      name: "bad name!",
      url: fixtureA.url,
      auth: { type: "bearer", token: secret("bad-name") },
    }),
    422,
  );
  expectStatus(
    await app.request("POST", "/mcp-servers", {
      body: { name: "anon", url: fixtureA.url, auth: { type: "bearer", token: secret("anonymous") } },
    }),
    401,
  );
  // A duplicate key: 422 from the core's strict parser, or (with express.json() first, as here) stored
  // with the last value. Either way neither value may come back.
  await app.request("POST", "/mcp-servers", {
    key: MEMBER_KEY,
    raw: `{"name":"dup","url":"${fixtureA.url}","auth":{"type":"bearer","token":"${secret("dup-1")}","token":"${secret("dup-2")}"}}`,
  });

  // Reads, as both callers.
  for (const caller of [admin, member]) {
    expectStatus(await caller.get(""), 200);
    for (const name of [
      "alpha",
      "beta",
      "query",
      "oauthy",
      "mirror",
      "gamma",
      "cfgHeaders",
      "cfgQuery",
      "cfgUserinfo",
      "cfgStdio",
    ]) {
      await caller.get(`/${name}`);
      await caller.get(`/${name}/tools`);
    }
    expectStatus(await caller.get("/nope"), 404);
    expectStatus(await caller.get("/nope/tools"), 404);
  }
  expectStatus(await admin.get("/adminown/tools"), 200);
  expectStatus(await member.get("/alpha/tools"), 200);
  expectStatus(await member.get("/beta/tools"), 200);
  expectStatus(await member.get("/cfgHeaders/tools"), 200);
  expectStatus(await member.get("/mirror/tools"), 502);

  // Updates: a new secret, a description, a stale If-Match, read-only and forbidden targets.
  expectStatus(await member.patch("/alpha", { auth: { type: "bearer", token: secret("bearer-2") } }), 200);
  expectStatus(await member.patch("/beta", { description: "patched" }), 200);
  expectStatus(
    await member.patch("/beta", { headers: { "X-Plain": secret("plain-header-2") } }, { "if-match": '"stale"' }),
    412,
  );
  expectStatus(await member.patch("/beta", { headers: { "X-Bad": `${secret("patch-crlf")}\n` } }), 422);
  expectStatus(await member.patch("/cfgHeaders", { headers: { "X-A": secret("read-only") } }), 403);
  expectStatus(await member.patch("/gamma", { headers: { "X-A": secret("member-global") } }), 403);
  expectStatus(await admin.patch("/gamma", { headers: { "X-Global": secret("global-header-2") } }), 200);

  // POST /test: a candidate that works, one that cannot connect, one that is invalid.
  expectStatus(
    await member.post("/test", { url: fixtureA.url, auth: { type: "bearer", token: secret("test-bearer") } }),
    200,
  );
  expectStatus(
    await member.post("/test", { url: mirror.url, headers: { "X-Test": secret("test-mirror-header") } }),
    200,
  );
  expectStatus(
    await member.post("/test", {
      url: "http://127.0.0.1:1/mcp",
      auth: { type: "bearer", token: secret("test-closed") },
    }),
    200,
  );
  expectStatus(
    await member.post("/test", { url: fixtureA.url, auth: { type: "bearer", token: secret("test-bad") }, extra: 1 }),
    422,
  );
  expectStatus(await admin.post("/test", { url: `https://169.254.169.254/?token=${secret("test-blocked")}` }), 200);

  // The app's own route: tools (each called), servers, instructions and errors, with request-tier secrets.
  for (const key of [MEMBER_KEY, ADMIN_KEY]) {
    const plain = await app.request("POST", "/chat", { key, body: { messages: [] } });
    expectStatus(plain, 200);
    const withRequestTier = await app.request("POST", "/chat", {
      key,
      body: {
        mcp_servers: {
          req: { url: fixtureA.url, auth: { type: "bearer", token: secret("request-bearer") } },
          reqMirror: { url: mirror.url, headers: { "X-Req": secret("request-mirror") } },
          reqBad: { url: fixtureA.url, auth: { type: "bearer", token: secret("request-bad") }, bogus: true },
          reqPlaceholder: {
            url: fixtureA.url,
            headers: { "X-A": `${secret("request-placeholder")}${PLACEHOLDER}${ENV_NAME}}` },
          },
          reqStdio: { command: "sh", env: { TOKEN: secret("request-stdio-env") } },
          reqUserinfo: { url: `https://u:${secret("request-userinfo")}@mcp.example.com/mcp` },
        },
      },
    });
    expectStatus(withRequestTier, 200);
    expect(withRequestTier.json.tools).toContain("req__echo");
  }

  // The OpenAI-compatible endpoint, plain and streaming, with the model calling a tool.
  for (const stream of [false, true]) {
    const reply = await app.request("POST", "/v1/chat/completions", {
      key: MEMBER_KEY,
      body: { model: "scripted", stream, messages: [{ role: "user", content: "echo" }] },
    });
    expectStatus(reply, 200);
    expect(reply.text).toContain("echoed:");
  }

  // Removal.
  expectStatus(await member.delete("/temp"), 204);
  expectStatus(await member.delete("/temp"), 404);
  expectStatus(await member.delete("/cfgStdio"), 403);
  await run.mcp.close();
}

function scan(run: Run, raw: string[]): string[] {
  return findSentinels({
    responses: run.app.replies,
    logs: run.recorded.logs,
    "hook payloads (at call time)": run.recorded.hooks.map((hook) => `${hook.name}: ${hook.text}`),
    "hook payloads (at the end)": run.recorded.hooks.map((hook) => `${hook.name}: ${describeValue(hook.payload)}`),
    "stored bytes": raw,
  });
}

const backends: [string, () => { storage: McpServerSideOptions["storage"]; raw: () => Promise<string[]> }][] = [
  [
    "the unstorage memory driver",
    () => {
      const backend = memoryBackend();
      return { storage: backend.storage, raw: async () => backend.rawValues() };
    },
  ],
  [
    "redisStore",
    () => {
      const prefix = `${redisPrefix}${randomUUID().slice(0, 8)}:`;
      return { storage: redisStore({ client: redis, prefix }), raw: () => redisRawValues(redis, prefix) };
    },
  ],
];

describe.each(backends)("no sentinel anywhere, stored on %s", (_label, makeBackend) => {
  it("exercises every route as an admin and a member, and finds no secret in any reply, log line, hook payload or stored byte", async () => {
    const backend = makeBackend();
    const recorded: Recorded = { logs: [], hooks: [] };
    const mcp = createMcpServerSide({
      config: configTier(),
      storage: backend.storage,
      encryptionKey: randomBytes(32).toString("base64"),
      identify: (request) => {
        const identity = identifyByApiKey(request);
        return identity && request.headers.get("x-api-key") === ADMIN_KEY ? { ...identity, admin: true } : identity;
      },
      allowPrivateNetworks: true,
      requireHttps: false,
      toolsTimeoutMs: 15_000,
      connectTimeoutMs: 15_000,
      chatCompletions: {
        model: () =>
          scriptedModel([
            { toolCalls: [{ id: "call_1", name: "alpha__echo", input: { text: "hello" } }] },
            (prompt) => ({ text: `echoed: ${lastToolResult(prompt) ?? "nothing"}` }),
          ]),
      },
      ...recordingOptions(recorded),
    });
    const app = await startSecurityApp(mcp, { callTools: true });
    const run: Run = { app, mcp, recorded, rawStore: backend.raw };
    try {
      await exercise(run);
    } finally {
      await app.close();
      await mcp.close().catch(() => undefined);
    }

    // The test saw what it meant to: hooks fired, lines were logged, bytes were stored.
    const fired = new Set(recorded.hooks.map((hook) => hook.name));
    for (const name of [
      "config:loaded",
      "server:registered",
      "server:updated",
      "server:removed",
      "connection:open",
      "connection:error",
      "tools:resolved",
      "tool:before-call",
      "tool:after-call",
    ]) {
      expect(fired, `the ${name} hook fired`).toContain(name);
    }
    expect(recorded.logs.length).toBeGreaterThan(0);
    const raw = await backend.raw();
    expect(raw.join("\n")).toContain("enc:v1:");
    // The callers' keys never reached an MCP server, and a server never got another's secret.
    for (const fixture of [fixtureA, fixtureB, fixtureG, fixtureC]) {
      const headers = JSON.stringify(fixture.requestHeaders);
      expect(headers).not.toContain(ADMIN_KEY);
      expect(headers).not.toContain(MEMBER_KEY);
    }
    expect(JSON.stringify(fixtureB.requestHeaders)).not.toContain(secret("bearer"));

    expect(scan(run, raw)).toEqual([]);
  });
});

describe("a server that reflects its own credentials", () => {
  it("never gets them to the model or into a chat completion: the server's secret values are masked in what it returns", async () => {
    const token = secret("reflected-bearer");
    const header = secret("reflected-header");
    // A 'whoami' tool that answers with every header of the request that called it, as debugging endpoints do.
    let lastHeaders = "";
    const reflector = await startRawMcpServer({
      tools: [{ name: "whoami", description: "Shows the caller", inputSchema: { type: "object", properties: {} } }],
      handle: (method, _params, headers) => {
        if (method !== "tools/call") return undefined;
        lastHeaders = JSON.stringify(headers);
        return { result: { content: [{ type: "text", text: `you sent ${lastHeaders}` }] } };
      },
    });
    const recorded: Recorded = { logs: [], hooks: [] };
    const mcp = createMcpServerSide({
      allowPrivateNetworks: true,
      requireHttps: false,
      chatCompletions: {
        model: () =>
          scriptedModel([
            { toolCalls: [{ id: "call_1", name: "mirror__whoami", input: {} }] },
            (prompt) => ({ text: `the tool said: ${lastToolResult(prompt) ?? "nothing"}` }),
          ]),
      },
      ...recordingOptions(recorded),
    });
    const app = await startSecurityApp(mcp, { callTools: true });
    try {
      const created = await app.request("POST", "/mcp-servers", {
        key: MEMBER_KEY,
        body: {
          name: "mirror",
          url: reflector.url,
          // A credential-named header (SPEC §4: header values are credentials by their name), and an
          // ordinary one whose value must reach the model unmasked.
          headers: { "X-Reflected-Key": header, "X-Tenant": "tenant-acme-visible" },
          auth: { type: "bearer", token },
        },
      });
      expect(created.status, created.text).toBe(201);
      const tools = await mcp
        .forRequest(new Request("http://app.test/chat", { headers: { "x-api-key": MEMBER_KEY } }))
        .tools();
      const result = await tools.mirror__whoami?.execute?.({}, { toolCallId: "c", messages: [], context: {} });
      // The server did receive its credentials (so the test can fail)…
      expect(lastHeaders).toContain(token);
      // …and reflected them; what reaches the model and the chat completion must not hold them.
      const completion = await app.request("POST", "/v1/chat/completions", {
        key: MEMBER_KEY,
        body: { model: "scripted", messages: [{ role: "user", content: "who am I?" }] },
      });
      expect(completion.status, completion.text).toBe(200);
      expect(completion.text).toContain("the tool said");
      expect(completion.text).toContain("tenant-acme-visible");
      expect(findSentinels({ "tool result": [describeValue(result)], "chat completion": [completion.text] })).toEqual(
        [],
      );
    } finally {
      await app.close();
      await mcp.close().catch(() => undefined);
      await reflector.close();
    }
  });
});

function expectStatus(reply: { status: number; text: string }, status: number): void {
  expect(reply.status, reply.text.slice(0, 300)).toBe(status);
}

describe.each(backends)("per-user OAuth data never leaks, stored on %s", (_label, makeBackend) => {
  it("keeps access and refresh tokens, codes and client secrets out of every reply, log line, hook payload and stored byte", async () => {
    let resource = "";
    const authorization = await startAuthorizationServer({ resource: () => resource });
    const protectedServer = await startProtectedMcpServer(() => authorization.issuer);
    resource = protectedServer.url;
    const backend = makeBackend();
    const recorded: Recorded = { logs: [], hooks: [] };
    const redirectUri = "http://app.test/mcp-servers/oauth/callback";
    const mcp = createMcpServerSide({
      storage: backend.storage,
      encryptionKey: randomBytes(32).toString("base64"),
      identify: (request) => {
        const identity = identifyByApiKey(request);
        const user = request.headers.get("x-user");
        return identity && user !== null ? { ...identity, user } : identity;
      },
      allowPrivateNetworks: true,
      requireHttps: false,
      oauth: { redirectUri },
      ...recordingOptions(recorded),
    });
    const app = await startSecurityApp(mcp, { callTools: true });
    const alice = { key: MEMBER_KEY, headers: { "x-user": "alice" } };
    try {
      expectStatus(
        await app.request("POST", "/mcp-servers", {
          ...alice,
          body: { name: "docs", url: protectedServer.url, auth: { type: "oauth2" } },
        }),
        201,
      );
      const started = await app.request("GET", "/mcp-servers/docs/oauth/connect?mode=json", alice);
      expectStatus(started, 200);
      const cookie = (started.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      const callback = new URL(await authorizeInBrowser(started.json.authorizationUrl, "alice", redirectUri));
      const path = `${callback.pathname}${callback.search}`;
      expectStatus(await app.request("GET", path, { headers: { cookie } }), 200);
      // A replayed callback (the code and state in the URL) is refused without echoing them.
      expectStatus(await app.request("GET", path, { headers: { cookie } }), 400);
      expectStatus(await app.request("POST", "/chat", { ...alice, body: {} }), 200);
      // A refused token: refresh, retry; then the grant is revoked: invalid_grant, disconnected.
      for (const header of protectedServer.tokensSeen) protectedServer.refused.add(header.slice(7));
      expectStatus(await app.request("POST", "/chat", { ...alice, body: {} }), 200);
      expectStatus(await app.request("GET", "/mcp-servers", alice), 200);
      expectStatus(await app.request("GET", "/mcp-servers/docs", alice), 200);
      await authorization.revokeGrants();
      for (const header of protectedServer.tokensSeen) protectedServer.refused.add(header.slice(7));
      expectStatus(await app.request("POST", "/chat", { ...alice, body: {} }), 200);
      expectStatus(await app.request("POST", "/chat", { ...alice, body: {} }), 200);
      // Connect again, disconnect (revocation), delete the server.
      const again = await app.request("GET", "/mcp-servers/docs/oauth/connect?mode=json", alice);
      const againCookie = (again.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      // While the authorization is pending its PKCE verifier is stored (sealed); the scan below checks it.
      const storedWhilePending = await backend.raw();
      const againCallback = new URL(await authorizeInBrowser(again.json.authorizationUrl, "alice", redirectUri));
      expectStatus(
        await app.request("GET", `${againCallback.pathname}${againCallback.search}`, {
          headers: { cookie: againCookie },
        }),
        200,
      );
      const storedWhileConnected = await backend.raw();
      expectStatus(await app.request("DELETE", "/mcp-servers/docs/oauth", alice), 204);
      expectStatus(await app.request("DELETE", "/mcp-servers/docs", alice), 204);
      // The public OAuth files are answered (and scanned) too.
      expectStatus(await app.request("GET", "/mcp-servers/oauth/callback.js"), 200);

      const secrets = [
        ...authorization.issued,
        ...protectedServer.tokensSeen.map((header) => header.slice(7)),
        ...[cookie, againCookie].map((pair) => pair.split("=")[1] ?? ""),
      ].filter((value) => value.length >= 16);
      // Codes, refresh tokens and the two PKCE verifiers at least.
      expect(authorization.issued.length).toBeGreaterThanOrEqual(6);
      expect(protectedServer.tokensSeen.length).toBeGreaterThan(0);
      expect(storedWhileConnected.join("\n")).toContain("enc:v1:");
      const sources: Record<string, readonly string[]> = {
        // Each reply without its first line (the request line, which carries the code the test sent) and
        // without the connect answers, whose Set-Cookie is the CSRF cookie meant for the browser.
        responses: app.replies
          .filter((reply) => !reply.includes("authorizationUrl"))
          .map((reply) => reply.slice(reply.indexOf("\n") + 1)),
        logs: recorded.logs,
        "hook payloads": recorded.hooks.map((hook) => `${hook.name}: ${hook.text}`),
        "stored bytes (pending)": storedWhilePending,
        "stored bytes (connected)": storedWhileConnected,
        "stored bytes (after)": await backend.raw(),
      };
      const found: string[] = [];
      for (const [where, texts] of Object.entries(sources)) {
        for (const text of texts) {
          for (const value of secrets)
            if (text.includes(value))
              found.push(`${where}: …${text.slice(Math.max(0, text.indexOf(value) - 200), text.indexOf(value) + 10)}…`);
        }
      }
      expect(found).toEqual([]);
    } finally {
      await app.close();
      await mcp.close().catch(() => undefined);
      await protectedServer.close();
      await authorization.close();
    }
  });
});
