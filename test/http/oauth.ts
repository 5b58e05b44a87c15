import type { LanguageModelV4CallOptions } from "@ai-sdk/provider";
import { MockLanguageModelV4 } from "ai/test";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  type AuthorizationServer,
  authorizeInBrowser,
  type ProtectedMcpServer,
  startAuthorizationServer,
  startProtectedMcpServer,
} from "../../packages/core/test/fixtures/oauth.js";
import { expectProblem, type MatrixContext, newKey, type TestClient } from "./matrix.js";

/** The redirect URI the operator configures; the test's "browser" sends the callback to the app's real port. */
const REDIRECT_URI = "http://app.test/mcp-servers/oauth/callback";

/**
 * Per-user OAuth through the adapter (SPEC §4, §7), against a real authorization server (oidc-provider)
 * and a real MCP server that only answers its tokens: the connect redirect and its cookie, the callback
 * on the app's port, the user's tools in the app's AI SDK route, `oauth_required` for a user who has
 * not connected (in the request's errors and in the chat endpoint's `mcp_errors`), and disconnect.
 */
export function oauthScenarios({ app }: MatrixContext): void {
  let authorization: AuthorizationServer;
  let protectedServer: ProtectedMcpServer;
  beforeAll(async () => {
    let resource = "";
    authorization = await startAuthorizationServer({ resource: () => resource });
    protectedServer = await startProtectedMcpServer(() => authorization.issuer);
    resource = protectedServer.url;
  });
  afterAll(async () => {
    await protectedServer?.close();
    await authorization?.close();
  });

  it("OAuth: a user connects through the app, gets their own tools; another user gets oauth_required, also in the chat endpoint", async () => {
    const model = whoamiModel();
    const client = await app(
      {
        identify: (request) => {
          const key = request.headers.get("x-api-key");
          const user = request.headers.get("x-user");
          if (key === null) return null;
          return user === null ? { scope: key } : { scope: key, user };
        },
        allowPrivateNetworks: true,
        requireHttps: false,
        oauth: { redirectUri: REDIRECT_URI },
        chatCompletions: { model: () => model },
      },
      () => model,
    );
    const key = newKey();
    const alice = { "x-user": "alice" };
    const created = await client.request("POST", client.base, {
      key,
      headers: alice,
      body: { name: "docs", url: protectedServer.url, auth: { type: "oauth2" } },
    });
    expect(created.status, created.text).toBe(201);

    const before = await chat(client, key, alice);
    expect(before.errors).toEqual([
      expect.objectContaining({
        code: "oauth_required",
        server: "docs",
        connectUrl: `${client.base}/docs/oauth/connect`,
      }),
    ]);

    // Without a user there is nobody to connect.
    expectProblem(await client.request("GET", `${client.base}/docs/oauth/connect`, { key }), 403, "user_required");

    // The plain route redirects to the authorization server.
    const redirected = await client.rawRequest("GET", `${client.base}/docs/oauth/connect`, { key, headers: alice });
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get("location")).toContain(`${authorization.issuer}/auth?`);

    const started = await client.request("GET", `${client.base}/docs/oauth/connect?mode=json`, { key, headers: alice });
    expect(started.status, started.text).toBe(200);
    const cookie = (started.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    expect(started.headers.get("set-cookie")).toMatch(/HttpOnly; SameSite=Lax/);
    const callback = new URL(await authorizeInBrowser(started.json.authorizationUrl, "alice", REDIRECT_URI));

    // A callback without the cookie is refused (and spends nothing of another attempt).
    const path = `${callback.pathname}${callback.search}`;
    expectProblem(await client.request("GET", path), 400, "invalid_state");
    // The browser comes back without the API key: the state and the cookie decide.
    const second = await client.request("GET", `${client.base}/docs/oauth/connect?mode=json`, { key, headers: alice });
    const secondCookie = (second.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const secondCallback = new URL(await authorizeInBrowser(second.json.authorizationUrl, "alice", REDIRECT_URI));
    const done = await client.request("GET", `${secondCallback.pathname}${secondCallback.search}`, {
      headers: { cookie: secondCookie },
    });
    expect(done.status, done.text).toBe(200);
    expect(cookie).not.toBe(secondCookie);
    // The page tells its opener through a script of this origin (no inline script, strict CSP).
    expect(done.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(done.text).toContain(`<script src="${client.base}/oauth/callback.js" data-server="docs"`);
    const script = await client.request("GET", `${client.base}/oauth/callback.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toContain("text/javascript");
    expect(script.text).toContain('type: "mcp-oauth"');

    const after = await chat(client, key, alice);
    expect(after.errors).toEqual([]);
    const generated = await client.request("POST", "/generate", { key, headers: alice, body: { prompt: "who am I?" } });
    expect(generated.status, generated.text).toBe(200);
    expect(JSON.stringify(generated.json.toolResults)).toContain("alice");

    const listed = await client.request("GET", `${client.base}/docs`, { key, headers: alice });
    expect(listed.json.auth).toMatchObject({ type: "oauth2", connected: true });
    for (const header of protectedServer.tokensSeen) expect(listed.text).not.toContain(header.slice(7));

    // Bob has not connected: the chat endpoint says so in mcp_errors.
    const completion = await client.request("POST", "/v1/chat/completions", {
      key,
      headers: { "x-user": "bob" },
      body: { model: "test", messages: [{ role: "user", content: "hi" }] },
    });
    expect(completion.status, completion.text).toBe(200);
    expect(completion.json.mcp_errors).toEqual([expect.objectContaining({ code: "oauth_required", server: "docs" })]);

    const removed = await client.request("DELETE", `${client.base}/docs/oauth`, { key, headers: alice });
    expect(removed.status).toBe(204);
    const disconnected = await chat(client, key, alice);
    expect(disconnected.errors).toEqual([expect.objectContaining({ code: "oauth_required" })]);
  });
}

async function chat(
  client: TestClient,
  key: string,
  headers: Record<string, string>,
): Promise<{ servers: unknown[]; errors: unknown[] }> {
  const reply = await client.request("POST", "/chat", { key, headers, body: {} });
  expect(reply.status, reply.text).toBe(200);
  return reply.json;
}

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

/** Calls `docs__whoami` when it is offered and no result is in the prompt yet; otherwise answers text. */
function whoamiModel(): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    doGenerate: async (options: LanguageModelV4CallOptions) => {
      const offered = (options.tools ?? []).some((tool) => tool.name === "docs__whoami");
      const answered = options.prompt.some((message) => message.role === "tool");
      const call = offered && !answered;
      return {
        content: call
          ? [{ type: "tool-call", toolCallId: "call-1", toolName: "docs__whoami", input: "{}" }]
          : [{ type: "text", text: "done" }],
        finishReason: call ? { unified: "tool-calls", raw: "tool_calls" } : { unified: "stop", raw: "stop" },
        usage,
        warnings: [],
      };
    },
  });
}
