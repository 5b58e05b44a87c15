import { expect, it } from "vitest";
import {
  GUARD_PASS_HEADER,
  GUARDED,
  type MatrixContext,
  PUBLIC_URL,
  type Reply,
  type TestClient,
  expectProblem,
  newKey,
} from "./matrix.js";

/*
 * SPEC §4: ownership of a path is decided on the path the framework routed, never on a normalized
 * copy, and routing is by method as well as path. An app guards the management routes (or the chat
 * endpoint) with its own middleware mounted before ours; no spelling of a path may reach our routes
 * without passing that guard.
 */

const CHAT_PATH = "/v1/chat/completions";

/** Spellings of `path` (and of paths below it) that a framework may route apart from `path` itself. */
function spellings(path: string): string[] {
  const bare = path.slice(1);
  const [first = "", ...rest] = bare.split("/");
  const tail = rest.length > 0 ? `/${rest.join("/")}` : "";
  return [
    path,
    `${path}/`,
    `${path}//`,
    `${path}/../${bare}`,
    `${path}/./`,
    `${path}/.`,
    `${path}/..`,
    `/x/../${bare}`,
    `/x/..%2f${bare}`,
    `/a/..%2F${bare}`,
    `/%2e%2e/${bare}`,
    `/x/%2e%2e/${bare}`,
    `/x/%2E%2E/${bare}`,
    `/x/.%2e/${bare}`,
    `/./${bare}`,
    `/.%2f${bare}`,
    `${path}%2f`,
    `${path}%2F`,
    `${path}%2fgithub`,
    `/%2f${bare}`,
    `//${bare}`,
    `///${bare}`,
    `/${first}//${tail.slice(1)}`,
    path.toUpperCase(),
    `/${first.toUpperCase()}${tail}`,
    `${path};x`,
    `/${first};x${tail}`,
    `\\${bare}`,
    `/x\\..\\${bare.replaceAll("/", "\\")}`,
    `${path}\\`,
    `/%5c${bare}`,
    `${path}%5c`,
    `/%${first.charCodeAt(0).toString(16)}${bare.slice(1)}`,
    `${path}%00`,
    `${path}%20`,
    `${path}.`,
    `${path}/%2e%2e/x`,
    `${path}/%2e%2e%2fx`,
    `/x/../${bare}/github`,
    `/x/..%2f${bare}/github`,
    `${path}?q=/../x`,
    `/x?${path}`,
    `/x#/../${bare}`,
  ];
}

const OURS = /^application\/(?:problem\+)?json/;

function servedByUs(reply: Reply): boolean {
  return OURS.test(reply.headers.get("content-type") ?? "");
}

function guarded(reply: Reply): boolean {
  return reply.status === 401 && reply.text === GUARDED;
}

/**
 * Every spelling either reaches the guard, or is not served by us at all (the app's 404, or the
 * server's 400 for a target it refuses) even when the guard would have let it through.
 */
async function expectNoBypass(client: TestClient, method: string, target: string, key: string): Promise<void> {
  const blocked = await client.rawRequest(method, target, { key });
  if (guarded(blocked)) return;
  const passed = await client.rawRequest(method, target, { key, headers: { [GUARD_PASS_HEADER]: "yes" } });
  const seen = `${method} ${target}: without the guard's pass ${blocked.status} ${blocked.text.slice(0, 120)}; with it ${passed.status} ${passed.text.slice(0, 120)}`;
  expect(servedByUs(blocked), seen).toBe(false);
  expect(servedByUs(passed), seen).toBe(false);
}

export function routingScenarios({ app }: MatrixContext): void {
  it("serves no spelling of the base path past the app's guard on it (SPEC §4)", async () => {
    const client = await app({}, undefined, { guards: ["/mcp-servers"] });
    const key = newKey();
    // The guard works, and what it guards is ours: without it the list and a server are served.
    expect(guarded(await client.rawRequest("GET", "/mcp-servers", { key }))).toBe(true);
    const pass = { key, headers: { [GUARD_PASS_HEADER]: "yes" } };
    expect((await client.rawRequest("GET", "/mcp-servers", pass)).status).toBe(200);
    const created = await client.request("POST", "/mcp-servers", {
      ...pass,
      body: { name: "github", url: PUBLIC_URL },
    });
    expect(created.status, created.text).toBe(201);
    expect((await client.rawRequest("GET", "/mcp-servers/github", pass)).status).toBe(200);

    for (const target of [...spellings("/mcp-servers"), ...spellings("/mcp-servers/github")]) {
      await expectNoBypass(client, "GET", target, key);
      await expectNoBypass(client, "DELETE", target, key);
    }
    // None of the spellings deleted the server behind the guard.
    expect((await client.rawRequest("GET", "/mcp-servers/github", pass)).status).toBe(200);
  });

  it("serves no spelling of a custom base path past the app's guard on it", async () => {
    const client = await app({ basePath: "/api/mcp" }, undefined, { guards: ["/api/mcp"] });
    const key = newKey();
    expect(guarded(await client.rawRequest("GET", "/api/mcp", { key }))).toBe(true);
    for (const target of spellings("/api/mcp")) await expectNoBypass(client, "GET", target, key);
  });

  it("serves no spelling of the chat endpoint past the app's guard on it", async () => {
    const model = (): never => {
      throw new Error("no model is reached by a request the guard stops");
    };
    const client = await app({ chatCompletions: { model } }, undefined, { guards: [CHAT_PATH] });
    const key = newKey();
    expect(guarded(await client.rawRequest("POST", CHAT_PATH, { key }))).toBe(true);
    // Past the guard the endpoint is ours (a body that is no chat request is our problem document).
    const passed = await client.rawRequest("POST", CHAT_PATH, { key, headers: { [GUARD_PASS_HEADER]: "yes" } });
    expect(servedByUs(passed), passed.text).toBe(true);
    for (const target of spellings(CHAT_PATH)) {
      await expectNoBypass(client, "POST", target, key);
      await expectNoBypass(client, "GET", target, key);
    }
    // A path under the management routes is never the chat endpoint, whatever it resolves to.
    for (const target of [`/mcp-servers/..${CHAT_PATH}`, `/mcp-servers/%2e%2e${CHAT_PATH}`]) {
      const reply = await client.rawRequest("POST", target, { key });
      expect(reply.text).not.toContain('"choices"');
      if (servedByUs(reply)) expectProblem(reply, 404, "not_found");
    }
  });

  it("routes by method: a server named test is read, changed and removed; only POST /test is the tester", async () => {
    const client = await app();
    const key = newKey();
    const created = await client.register(key, { name: "test", url: PUBLIC_URL, description: "first" });
    expect(created.status, created.text).toBe(201);
    const read = await client.request("GET", `${client.base}/test`, { key });
    expect(read.status, read.text).toBe(200);
    expect(read.json).toMatchObject({ name: "test", description: "first" });
    const patched = await client.request("PATCH", `${client.base}/test`, {
      key,
      body: { description: "second" },
      headers: { "if-match": read.headers.get("etag") ?? "" },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json.description).toBe("second");
    // POST /test is still the tester: a candidate that is no server definition is a validation error.
    const tested = await client.request("POST", `${client.base}/test`, { key, body: { url: 42 } });
    expectProblem(tested, 422);
    // POST on another server's path is no route: 405 naming the methods there.
    const wrong = await client.request("POST", `${client.base}/other`, { key, body: {} });
    expectProblem(wrong, 405);
    expect(wrong.headers.get("allow")).toBe("GET, PATCH, DELETE");
    const removed = await client.request("DELETE", `${client.base}/test`, { key });
    expect(removed.status, removed.text).toBe(204);
    expectProblem(await client.request("GET", `${client.base}/test`, { key }), 404, "not_found");
  });

  it("answers 415 to a POST or PATCH body not labelled JSON, and writes nothing", async () => {
    const client = await app();
    const key = newKey();
    const body = JSON.stringify({ name: "sneaky", url: PUBLIC_URL });
    const labels: Record<string, string>[] = [
      { "content-type": "text/plain" },
      { "content-type": "text/plain;charset=UTF-8" },
      { "content-type": "application/x-www-form-urlencoded" },
      { "content-type": "multipart/form-data; boundary=x" },
      { "content-type": "application/jsonx" },
      { "content-type": "text/json" },
      {},
    ];
    for (const headers of labels) {
      for (const path of [client.base, `${client.base}/test`]) {
        const reply = await client.rawRequest("POST", path, { key, headers, body });
        expectProblem(reply, 415, "invalid_request");
      }
    }
    expect(await client.list(key)).toEqual([]);

    for (const contentType of ["application/json; charset=utf-8", "application/vnd.example+json"]) {
      const reply = await client.rawRequest("POST", client.base, {
        key,
        headers: { "content-type": contentType },
        body: JSON.stringify({ name: `ok${contentType.length}`, url: PUBLIC_URL }),
      });
      expect(reply.status, reply.text).toBe(201);
    }
    const name = `ok${"application/json; charset=utf-8".length}`;
    for (const headers of labels.slice(0, 1).concat([{}])) {
      const reply = await client.rawRequest("PATCH", `${client.base}/${name}`, {
        key,
        headers,
        body: JSON.stringify({ description: "changed" }),
      });
      expectProblem(reply, 415, "invalid_request");
    }
    const read = await client.request("GET", `${client.base}/${name}`, { key });
    expect(read.json.description).toBeUndefined();
    const merged = await client.rawRequest("PATCH", `${client.base}/${name}`, {
      key,
      headers: { "content-type": "application/merge-patch+json" },
      body: JSON.stringify({ description: "changed" }),
    });
    expect(merged.status, merged.text).toBe(200);
    expect(merged.json.description).toBe("changed");
  });
}
