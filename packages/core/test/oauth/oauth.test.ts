import { randomBytes } from "node:crypto";
import { runInNewContext } from "node:vm";
import { createStorage } from "unstorage";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMcpServerSide, type McpServerSide, unstorageStore } from "../../src/index.js";
import type { McpServerSideOptions } from "../../src/options.js";
import {
  type AuthorizationServer,
  authorizeInBrowser,
  type ProtectedMcpServer,
  startAuthorizationServer,
  startProtectedMcpServer,
} from "../fixtures/oauth.js";

const APP = "http://app.test";
const REDIRECT_URI = `${APP}/mcp-servers/oauth/callback`;
const call = { toolCallId: "call-1", messages: [], context: {} };

let authorization: AuthorizationServer;
let protectedServer: ProtectedMcpServer;
const open: McpServerSide[] = [];

beforeAll(async () => {
  let resource = "";
  authorization = await startAuthorizationServer({ resource: () => resource, accessTokenTtl: 600 });
  protectedServer = await startProtectedMcpServer(() => authorization.issuer);
  resource = protectedServer.url;
});

afterAll(async () => {
  await protectedServer?.close();
  await authorization?.close();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((mcp) => mcp.close()));
});

/** A caller of tenant `acme`: the user comes from the `x-user` header (none: a tenant without user). */
function identify(request: Request): { scope: string; user?: string } | null {
  const user = request.headers.get("x-user");
  const tenant = request.headers.get("x-tenant");
  if (user === null) return tenant === null ? null : { scope: tenant };
  return { scope: tenant ?? "acme", user };
}

function instance(extra: Partial<McpServerSideOptions> = {}): McpServerSide {
  const mcp = createMcpServerSide({
    identify,
    allowPrivateNetworks: true,
    requireHttps: false,
    logger: process.env.DEBUG_OAUTH ? console : false,
    warmup: false,
    oauth: { redirectUri: REDIRECT_URI, refreshSkewMs: 0 },
    ...extra,
  });
  open.push(mcp);
  return mcp;
}

function as(user: string | undefined, path: string, init: RequestInit = {}): Request {
  const headers = new Headers(init.headers);
  if (user !== undefined) headers.set("x-user", user);
  else headers.set("x-tenant", "acme");
  return new Request(`${APP}${path}`, { ...init, headers });
}

async function register(
  mcp: McpServerSide,
  name = "docs",
  url = protectedServer.url,
  auth: Record<string, unknown> = { type: "oauth2" },
): Promise<void> {
  const response = await mcp.handle(
    as("alice", "/mcp-servers", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name, url, auth }),
    }),
  );
  expect(response?.status, await response?.clone().text()).toBe(201);
}

/** Connect as `user` all the way: connect route, login at the authorization server, callback. */
async function connect(mcp: McpServerSide, user: string, name = "docs"): Promise<Response> {
  const started = await mcp.handle(as(user, `/mcp-servers/${name}/oauth/connect?mode=json`));
  expect(started?.status, await started?.clone().text()).toBe(200);
  const { authorizationUrl } = (await (started as Response).json()) as { authorizationUrl: string };
  const cookie = (started?.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const callback = await authorizeInBrowser(authorizationUrl, user, REDIRECT_URI);
  const done = await mcp.handle(new Request(callback, { headers: { cookie } }));
  if (done === undefined) throw new Error("the callback was not handled");
  return done;
}

async function whoami(mcp: McpServerSide, user: string): Promise<unknown> {
  const context = mcp.forRequest(as(user, "/chat"));
  const tools = await context.tools();
  expect(context.errors).toEqual([]);
  const result = await tools.docs__whoami?.execute?.({}, call);
  return (result as { content: { text: string }[] }).content[0]?.text;
}

describe("per-user OAuth against a real authorization server", () => {
  it("reports oauth_required with the connect URL until the user connects, then injects the user's own tools", async () => {
    const mcp = instance();
    await register(mcp);

    const before = mcp.forRequest(as("alice", "/chat"));
    expect(await before.tools()).toEqual({});
    expect(before.errors).toEqual([
      expect.objectContaining({
        code: "oauth_required",
        server: "docs",
        connectUrl: "/mcp-servers/docs/oauth/connect",
      }),
    ]);

    const done = await connect(mcp, "alice");
    expect(done.status).toBe(200);
    expect(done.headers.get("content-type")).toContain("text/html");
    expect(done.headers.get("set-cookie")).toContain("Max-Age=0");

    expect(await whoami(mcp, "alice")).toBe("alice");

    // Bob of the same tenant has not connected: no tools, and the same Connect hint.
    const bob = mcp.forRequest(as("bob", "/chat"));
    expect(await bob.tools()).toEqual({});
    expect(bob.errors).toEqual([expect.objectContaining({ code: "oauth_required", server: "docs" })]);

    // Bob connects his own account: each user's calls carry their own token.
    expect((await connect(mcp, "bob")).status).toBe(200);
    expect(await whoami(mcp, "bob")).toBe("bob");
    expect(await whoami(mcp, "alice")).toBe("alice");
    expect(authorization.registrations).toBe(1);
  });

  it("keeps a config server's tokens and connections apart for equal user ids of two tenants", async () => {
    const mcp = instance({ config: { mcpServers: { docs: { url: protectedServer.url, auth: { type: "oauth2" } } } } });
    await connect(mcp, "alice");
    expect(await whoami(mcp, "alice")).toBe("alice");
    // GET /:name/tools uses the same connection as a request: the user's own.
    const listed = await mcp.handle(as("alice", "/mcp-servers/docs/tools"));
    expect(listed?.status).toBe(200);
    expect(await listed?.json()).toMatchObject({ tools: [expect.objectContaining({ name: "whoami" })] });
    const other = mcp.forRequest(as("alice", "/chat", { headers: { "x-tenant": "globex" } }));
    expect(await other.tools()).toEqual({});
    expect(other.errors).toEqual([expect.objectContaining({ code: "oauth_required", server: "docs" })]);
  });

  it("shows the caller's connection in GET / and GET /:name, never a token", async () => {
    const mcp = instance();
    await register(mcp);
    await connect(mcp, "alice");
    const listed = await mcp.handle(as("alice", "/mcp-servers"));
    const body = await listed?.text();
    const docs = (JSON.parse(body ?? "{}") as { servers: { name: string; auth: Record<string, unknown> }[] })
      .servers[0];
    expect(docs?.auth).toMatchObject({
      type: "oauth2",
      connected: true,
      scopes: expect.arrayContaining(["tools:read"]),
    });
    expect(typeof docs?.auth.expiresAt).toBe("string");
    for (const token of protectedServer.tokensSeen) expect(body).not.toContain(token.slice(7));
    const bobs = await (await mcp.handle(as("bob", "/mcp-servers/docs")))?.json();
    expect(bobs).toMatchObject({ auth: { type: "oauth2", connected: false } });
  });

  it("redirects to the authorization server with PKCE S256, the resource and a single-use state", async () => {
    const mcp = instance();
    await register(mcp);
    const response = await mcp.handle(as("alice", "/mcp-servers/docs/oauth/connect"));
    expect(response?.status).toBe(302);
    const location = new URL(response?.headers.get("location") ?? "");
    expect(location.origin).toBe(authorization.issuer);
    expect(location.searchParams.get("code_challenge_method")).toBe("S256");
    expect(location.searchParams.get("resource")).toBe(protectedServer.url);
    expect(location.searchParams.get("redirect_uri")).toBe(REDIRECT_URI);
    expect(location.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookie = response?.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
  });

  it("answers 403 user_required when identify() gives no user", async () => {
    const mcp = instance();
    await register(mcp);
    const response = await mcp.handle(as(undefined, "/mcp-servers/docs/oauth/connect"));
    expect(response?.status).toBe(403);
    expect(await response?.json()).toMatchObject({ code: "user_required" });
  });

  it("refuses a callback with a wrong, replayed or expired state, or without the cookie, and stores nothing", async () => {
    const mcp = instance();
    await register(mcp);
    const started = await mcp.handle(as("alice", "/mcp-servers/docs/oauth/connect?mode=json"));
    const { authorizationUrl } = (await (started as Response).json()) as { authorizationUrl: string };
    const cookie = (started?.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const callback = await authorizeInBrowser(authorizationUrl, "alice", REDIRECT_URI);

    const wrong = new URL(callback);
    wrong.searchParams.set("state", "x".repeat(43));
    const cases: [string, Request][] = [
      ["wrong state", new Request(wrong, { headers: { cookie } })],
      ["malformed state", new Request(`${REDIRECT_URI}?code=abc&state=../../x`, { headers: { cookie } })],
    ];
    for (const [label, request] of cases) {
      const response = await mcp.handle(request);
      expect(response?.status, label).toBe(400);
      expect(await response?.json(), label).toMatchObject({ code: "invalid_state" });
    }
    // Without the cookie the state is spent and nothing is stored; the replay with it fails too.
    const missingCookie = await mcp.handle(new Request(callback));
    expect(missingCookie?.status).toBe(400);
    const replay = await mcp.handle(new Request(callback, { headers: { cookie } }));
    expect(replay?.status).toBe(400);
    expect(await replay?.json()).toMatchObject({ code: "invalid_state" });
    const context = mcp.forRequest(as("alice", "/chat"));
    expect(await context.tools()).toEqual({});
    expect(context.errors).toEqual([expect.objectContaining({ code: "oauth_required" })]);
  });

  it("refuses a callback whose state has expired", async () => {
    let clock = Date.now();
    const storage = createStorage();
    const mcp = instance({ storage: unstorageStore(storage, { now: () => clock }) });
    await register(mcp);
    const started = await mcp.handle(as("alice", "/mcp-servers/docs/oauth/connect?mode=json"));
    const { authorizationUrl } = (await (started as Response).json()) as { authorizationUrl: string };
    const cookie = (started?.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const callback = await authorizeInBrowser(authorizationUrl, "alice", REDIRECT_URI);
    clock += 10 * 60_000 + 1;
    const response = await mcp.handle(new Request(callback, { headers: { cookie } }));
    expect(response?.status).toBe(400);
    expect(await response?.json()).toMatchObject({ code: "invalid_state" });
  });

  it("refreshes once on a 401 and retries the call; disconnecting revokes the tokens, idempotently", async () => {
    const mcp = instance();
    await register(mcp);
    await connect(mcp, "alice");
    expect(await whoami(mcp, "alice")).toBe("alice");
    const refreshes = authorization.grants.refresh_token ?? 0;
    // The resource server stops accepting the current token (as after an early revocation).
    for (const header of protectedServer.tokensSeen) protectedServer.refused.add(header.slice(7));
    expect(await whoami(mcp, "alice")).toBe("alice");
    expect(authorization.grants.refresh_token).toBe(refreshes + 1);

    // Disconnect revokes at the authorization server (RFC 7009) and is idempotent.
    const revocations = authorization.revocations;
    const removed = await mcp.handle(as("alice", "/mcp-servers/docs/oauth", { method: "DELETE" }));
    expect(removed?.status).toBe(204);
    expect(authorization.revocations).toBe(revocations + 1);
    const again = await mcp.handle(as("alice", "/mcp-servers/docs/oauth", { method: "DELETE" }));
    expect(again?.status).toBe(204);
    const context = mcp.forRequest(as("alice", "/chat"));
    expect(await context.tools()).toEqual({});
    expect(context.errors).toEqual([expect.objectContaining({ code: "oauth_required" })]);
  });

  it("asks the user to connect again with the scopes a 403 insufficient_scope names (step-up)", async () => {
    // Two instances on one store and key, as two workers.
    const shared = { storage: unstorageStore(createStorage()), encryptionKey: randomBytes(32).toString("base64") };
    const mcp = instance(shared);
    await register(mcp);
    await connect(mcp, "carol");
    expect(await whoami(mcp, "carol")).toBe("carol");
    protectedServer.needsMoreScope.add("carol");
    try {
      // A fresh instance (no pooled connection): its first request to the server meets the 403.
      const other = instance(shared);
      const failing = other.forRequest(as("carol", "/chat"));
      expect(await failing.tools()).toEqual({});
      expect(failing.errors).not.toEqual([]);
      const next = other.forRequest(as("carol", "/chat"));
      expect(await next.tools()).toEqual({});
      expect(next.errors).toEqual([
        expect.objectContaining({
          code: "oauth_required",
          server: "docs",
          scopes: expect.arrayContaining(["tools:write"]),
        }),
      ]);
      const status = await (await other.handle(as("carol", "/mcp-servers/docs")))?.json();
      expect(status).toMatchObject({
        auth: { connected: false, missingScopes: expect.arrayContaining(["tools:write"]) },
      });
      const started = await other.handle(as("carol", "/mcp-servers/docs/oauth/connect"));
      const location = new URL(started?.headers.get("location") ?? "");
      expect(location.searchParams.get("scope")?.split(" ")).toEqual(
        expect.arrayContaining(["tools:read", "tools:write"]),
      );
    } finally {
      protectedServer.needsMoreScope.delete("carol");
    }
  });

  it("marks the user disconnected when a refresh fails with invalid_grant", async () => {
    const mcp = instance();
    await register(mcp);
    await connect(mcp, "alice");
    expect(await whoami(mcp, "alice")).toBe("alice");
    await authorization.revokeGrants();
    for (const header of protectedServer.tokensSeen) protectedServer.refused.add(header.slice(7));
    const context = mcp.forRequest(as("alice", "/chat"));
    const tools = await context.tools();
    await expect(tools.docs__whoami?.execute?.({}, call)).rejects.toMatchObject({ code: "oauth_required" });
    const next = mcp.forRequest(as("alice", "/chat"));
    expect(await next.tools()).toEqual({});
    expect(next.errors).toEqual([expect.objectContaining({ code: "oauth_required", server: "docs" })]);
  });

  it("refreshes an expired access token before the call", async () => {
    let resource = "";
    const shortLived = await startAuthorizationServer({ resource: () => resource, accessTokenTtl: 8 });
    const server = await startProtectedMcpServer(() => shortLived.issuer);
    resource = server.url;
    try {
      const mcp = instance();
      await register(mcp, "docs", server.url);
      const started = await mcp.handle(as("alice", "/mcp-servers/docs/oauth/connect?mode=json"));
      const { authorizationUrl } = (await (started as Response).json()) as { authorizationUrl: string };
      const cookie = (started?.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      const callback = await authorizeInBrowser(authorizationUrl, "alice", REDIRECT_URI);
      expect((await mcp.handle(new Request(callback, { headers: { cookie } })))?.status).toBe(200);
      expect(await whoami(mcp, "alice")).toBe("alice");
      // Eight seconds: the connect and first call above fit in the token's life on a busy machine too.
      await new Promise((resolve) => setTimeout(resolve, 8_500));
      const unauthorized = server.unauthorized;
      expect(await whoami(mcp, "alice")).toBe("alice");
      expect(shortLived.grants.refresh_token).toBe(1);
      // Refreshed ahead of the call: the expired token never reached the server.
      expect(server.unauthorized).toBe(unauthorized);
    } finally {
      await server.close();
      await shortLived.close();
    }
  });

  it("refuses an authorization server that does not support PKCE S256", async () => {
    let resource = "";
    const noPkce = await startAuthorizationServer({ resource: () => resource, withoutS256: true });
    const server = await startProtectedMcpServer(() => noPkce.issuer);
    resource = server.url;
    try {
      const mcp = instance();
      await register(mcp, "docs", server.url);
      const response = await mcp.handle(as("alice", "/mcp-servers/docs/oauth/connect"));
      expect(response?.status).toBe(502);
      expect(await response?.json()).toMatchObject({ code: "upstream_error", detail: expect.stringContaining("S256") });
    } finally {
      await server.close();
      await noPkce.close();
    }
  });

  it("refuses metadata that points at a private address when private networks are not opened", async () => {
    const mcp = instance({
      allowPrivateNetworks: false,
      // The MCP server itself is opened by name and port; the authorization server is not.
      allowedHosts: [`127.0.0.1:${new URL(protectedServer.url).port}`],
    });
    await register(mcp);
    const response = await mcp.handle(as("alice", "/mcp-servers/docs/oauth/connect"));
    expect(response?.status).toBe(422);
    expect(await response?.json()).toMatchObject({ code: "blocked_address" });
  });

  it("deletes the users' tokens and the client registration with the server", async () => {
    const storage = createStorage();
    const mcp = instance({ storage: unstorageStore(storage) });
    await register(mcp);
    await connect(mcp, "alice");
    expect((await storage.getKeys("secrets:")).length).toBe(2);
    const removed = await mcp.handle(as("alice", "/mcp-servers/docs", { method: "DELETE" }));
    expect(removed?.status).toBe(204);
    expect(await storage.getKeys("secrets:")).toEqual([]);
  });
});

describe("OAuth records in key rotation and server deletion", () => {
  /** The key ids of every sealed part in the store (servers, users' OAuth records). */
  async function keyIdsIn(storage: ReturnType<typeof createStorage>): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const key of await storage.getKeys()) {
      const raw = JSON.stringify(await storage.getItem(key));
      for (const match of raw.matchAll(/enc:v1:([A-Za-z0-9_-]{11}):/g)) ids.add(match[1] ?? "");
    }
    return ids;
  }

  it("rotateSecrets() re-encrypts users' tokens, the client registration and pending authorizations", async () => {
    const storage = createStorage();
    const oldKey = randomBytes(32).toString("base64");
    const newKey = randomBytes(32).toString("base64");
    const before = instance({ storage: unstorageStore(storage), encryptionKeys: [oldKey] });
    await register(before);
    await connect(before, "alice");
    // An authorization in progress too: its record (with the PKCE verifier) is sealed as well.
    const started = await before.handle(as("bob", "/mcp-servers/docs/oauth/connect?mode=json"));
    const { authorizationUrl } = (await (started as Response).json()) as { authorizationUrl: string };
    const bobCookie = (started?.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const oldIds = await keyIdsIn(storage);
    expect(oldIds.size).toBe(1);

    const rotating = instance({ storage: unstorageStore(storage), encryptionKeys: [newKey, oldKey] });
    const result = await rotating.rotateSecrets();
    // Alice's tokens, the client registration and Bob's pending authorization.
    expect(result.oauthRecords).toBe(3);
    const newIds = await keyIdsIn(storage);
    expect(newIds.size).toBe(1);
    expect([...newIds].some((id) => oldIds.has(id))).toBe(false);
    expect((await rotating.rotateSecrets()).oauthRecords).toBe(0);

    // The old key is gone: Alice's tokens still open, Bob's authorization still completes.
    const after = instance({ storage: unstorageStore(storage), encryptionKeys: [newKey] });
    expect(await whoami(after, "alice")).toBe("alice");
    const callback = await authorizeInBrowser(authorizationUrl, "bob", REDIRECT_URI);
    expect((await after.handle(new Request(callback, { headers: { cookie: bobCookie } })))?.status).toBe(200);
    expect(await whoami(after, "bob")).toBe("bob");
    expect(authorization.registrations).toBeGreaterThan(0);
  });

  it("deletes pending authorizations with the server: their callback then fails and no record is left", async () => {
    const storage = createStorage();
    const mcp = instance({ storage: unstorageStore(storage) });
    await register(mcp);
    const started = await mcp.handle(as("alice", "/mcp-servers/docs/oauth/connect?mode=json"));
    const { authorizationUrl } = (await (started as Response).json()) as { authorizationUrl: string };
    const cookie = (started?.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const callback = await authorizeInBrowser(authorizationUrl, "alice", REDIRECT_URI);
    // The client registration and the pending authorization.
    expect((await storage.getKeys("secrets:")).length).toBe(2);
    expect((await mcp.handle(as("alice", "/mcp-servers/docs", { method: "DELETE" })))?.status).toBe(204);
    expect(await storage.getKeys("secrets:")).toEqual([]);
    // Registered again under the same name and URL: the old authorization does not complete.
    await register(mcp);
    const response = await mcp.handle(new Request(callback, { headers: { cookie } }));
    expect(response?.status).toBe(400);
    expect(await response?.json()).toMatchObject({ code: "invalid_state" });
    const context = mcp.forRequest(as("alice", "/chat"));
    expect(await context.tools()).toEqual({});
  });
});

describe("the callback page", () => {
  it("answers a page without inline script under a strict CSP, whose script tells the opener and closes", async () => {
    const mcp = instance();
    await register(mcp);
    const done = await connect(mcp, "alice");
    expect(done.status).toBe(200);
    const csp = done.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(done.headers.get("x-content-type-options")).toBe("nosniff");
    const page = await done.text();
    expect(page).toContain(
      '<script src="/mcp-servers/oauth/callback.js" data-server="docs" data-status="connected"></script>',
    );
    // Every script element is empty: nothing inline for a CSP to allow.
    expect(page.match(/<script\b[^>]*>([^<]*)<\/script>/g)?.every((tag) => tag.endsWith("></script>"))).toBe(true);

    // The script is public (the browser loads it without the app's API key) and static.
    const script = await mcp.handle(new Request(`${APP}/mcp-servers/oauth/callback.js`));
    expect(script?.status).toBe(200);
    expect(script?.headers.get("content-type")).toContain("text/javascript");
    const source = (await script?.text()) ?? "";
    // Run it as a browser would, with an opener on the page's origin.
    const posted: [unknown, string][] = [];
    let closed = false;
    const window = {
      location: { origin: APP },
      opener: { postMessage: (message: unknown, origin: string) => posted.push([message, origin]) },
      close: () => {
        closed = true;
      },
    };
    const document = { currentScript: { dataset: { server: "docs", status: "connected" } } };
    runInNewContext(source, { window, document });
    expect(posted).toEqual([[{ type: "mcp-oauth", server: "docs", status: "connected" }, APP]]);
    expect(closed).toBe(true);
    // Without an opener (the page was opened in a tab) it only shows its text.
    posted.length = 0;
    closed = false;
    runInNewContext(source, { window: { ...window, opener: null }, document });
    expect(posted).toEqual([]);
    expect(closed).toBe(false);
  });

  it("redirects to the configured returnTo instead of answering the page", async () => {
    const mcp = instance({ oauth: { redirectUri: REDIRECT_URI, refreshSkewMs: 0, returnTo: "/settings?connected=1" } });
    await register(mcp);
    const done = await connect(mcp, "alice");
    expect(done.status).toBe(302);
    expect(done.headers.get("location")).toBe(`${APP}/settings?connected=1`);
    expect(await whoami(mcp, "alice")).toBe("alice");
  });
});

describe("Client ID Metadata Documents", () => {
  const PUBLIC = "https://app.example.com";
  const HTTPS_REDIRECT = `${PUBLIC}/mcp-servers/oauth/callback`;
  const DOCUMENT_URL = `${PUBLIC}/mcp-servers/oauth/client-metadata.json`;

  it("serves the document under basePath for an https redirect URI, and none for http", async () => {
    const mcp = instance({ oauth: { redirectUri: HTTPS_REDIRECT, clientName: "Acme chat" } });
    const response = await mcp.handle(new Request(DOCUMENT_URL));
    expect(response?.status).toBe(200);
    expect(response?.headers.get("content-type")).toContain("application/json");
    expect(await response?.json()).toEqual({
      client_id: DOCUMENT_URL,
      client_name: "Acme chat",
      client_uri: PUBLIC,
      redirect_uris: [HTTPS_REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    });
    const plain = await instance().handle(new Request(`${APP}/mcp-servers/oauth/client-metadata.json`));
    expect(plain?.status).toBe(404);
    const off = instance({ oauth: { redirectUri: HTTPS_REDIRECT, clientMetadataDocument: false } });
    expect((await off.handle(new Request(DOCUMENT_URL)))?.status).toBe(404);
  });

  it("uses the document's URL as client_id at a server that accepts them: no registration, the flow works", async () => {
    let resource = "";
    let app: McpServerSide | undefined;
    // oidc-provider fetches the client_id URL; the app's public https origin is served by the instance itself.
    const accepting = await startAuthorizationServer({
      resource: () => resource,
      fetchClientMetadata: async (url) => {
        if (!url.startsWith(`${PUBLIC}/`) || app === undefined) throw new Error(`unexpected fetch of ${url}`);
        return (await app.handle(new Request(url))) ?? new Response(null, { status: 404 });
      },
    });
    const server = await startProtectedMcpServer(() => accepting.issuer);
    resource = server.url;
    try {
      const mcp = instance({ oauth: { redirectUri: HTTPS_REDIRECT, refreshSkewMs: 0 } });
      app = mcp;
      await register(mcp, "docs", server.url);
      const started = await mcp.handle(as("alice", "/mcp-servers/docs/oauth/connect?mode=json"));
      const { authorizationUrl } = (await (started as Response).json()) as { authorizationUrl: string };
      expect(new URL(authorizationUrl).searchParams.get("client_id")).toBe(DOCUMENT_URL);
      const cookie = (started?.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      const callback = await authorizeInBrowser(authorizationUrl, "alice", HTTPS_REDIRECT);
      expect((await mcp.handle(new Request(callback, { headers: { cookie } })))?.status).toBe(200);
      expect(await whoami(mcp, "alice")).toBe("alice");
      expect(accepting.registrations).toBe(0);
      expect(accepting.metadataFetches).toContain(DOCUMENT_URL);
      // Refresh with the same client_id.
      for (const header of server.tokensSeen) server.refused.add(header.slice(7));
      expect(await whoami(mcp, "alice")).toBe("alice");
      expect(accepting.grants.refresh_token).toBe(1);
    } finally {
      await server.close();
      await accepting.close();
    }
  });

  it("registers dynamically at a server that does not accept them, and a pre-registered clientId comes first", async () => {
    const mcp = instance({ oauth: { redirectUri: HTTPS_REDIRECT, refreshSkewMs: 0 } });
    await register(mcp);
    const registrations = authorization.registrations;
    const started = await mcp.handle(as("alice", "/mcp-servers/docs/oauth/connect"));
    const clientId = new URL(started?.headers.get("location") ?? "").searchParams.get("client_id");
    expect(clientId).not.toBe(DOCUMENT_URL);
    expect(authorization.registrations).toBe(registrations + 1);

    let resource = "";
    const accepting = await startAuthorizationServer({
      resource: () => resource,
      fetchClientMetadata: async () => new Response(null, { status: 404 }),
    });
    const server = await startProtectedMcpServer(() => accepting.issuer);
    resource = server.url;
    try {
      const created = await mcp.handle(
        as("alice", "/mcp-servers", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            name: "preset",
            url: server.url,
            auth: { type: "oauth2", clientId: "preset-client" },
          }),
        }),
      );
      expect(created?.status).toBe(201);
      const preset = await mcp.handle(as("alice", "/mcp-servers/preset/oauth/connect"));
      expect(new URL(preset?.headers.get("location") ?? "").searchParams.get("client_id")).toBe("preset-client");
      expect(accepting.registrations).toBe(0);
    } finally {
      await server.close();
      await accepting.close();
    }
  });
});
