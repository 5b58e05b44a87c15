import type { Identity } from "@mcp-server-side/core";
import { expect, it } from "vitest";
import { type MatrixContext, PUBLIC_URL, SENTINEL, type TestClient, expectProblem, names, newKey } from "./matrix.js";

const ADMIN_KEY = `${SENTINEL}-admin`;

/** `identify` for the admin scenarios: one admin key, every other key is a member scope of its own. */
function identify(request: Request): Identity | null {
  const key = request.headers.get("x-api-key");
  if (key === null) return null;
  if (key === ADMIN_KEY) return { scope: "operators", admin: true };
  return { scope: `tenant-${key.slice(-12)}` };
}

/** Who may do what (SPEC §4): keys, scopes, tenant isolation, admin-only global servers. */
export function accessScenarios({ app }: MatrixContext): void {
  it("returns 401 unauthorized on every management route when no key is sent", async () => {
    const client = await app();
    const key = newKey();
    await client.register(key, { name: "mine", url: PUBLIC_URL });
    const calls: [string, string, unknown?][] = [
      ["GET", client.base],
      ["GET", `${client.base}/`],
      ["POST", client.base, { name: "anon", url: PUBLIC_URL }],
      ["GET", `${client.base}/mine`],
      ["PATCH", `${client.base}/mine`, { description: "x" }],
      ["DELETE", `${client.base}/mine`],
    ];
    for (const [method, path, body] of calls) {
      expectProblem(await client.request(method, path, body === undefined ? {} : { body }), 401, "unauthorized");
    }
    expect(names(await client.list(key))).toEqual(["mine"]);
  });

  it("treats the same key sent as X-API-Key or as Authorization: Bearer as the same scope", async () => {
    const client = await app();
    const key = newKey();
    expect((await client.register(key, { name: "shared", url: PUBLIC_URL })).status).toBe(201);
    const viaBearer = await client.request("GET", `${client.base}/shared`, { bearer: key });
    expect(viaBearer.status, viaBearer.text).toBe(200);
    const list = await client.request("GET", client.base, { bearer: key });
    expect(names(list.json.servers)).toEqual(["shared"]);
    const removed = await client.request("DELETE", `${client.base}/shared`, { bearer: key });
    expect(removed.status).toBe(204);
  });

  it("isolates tenants: another scope's server is 404 to read, patch or delete, and stays unchanged", async () => {
    const client = await app();
    const tenantA = newKey("a");
    const tenantB = newKey("b");
    const created = await client.register(tenantB, { name: "github", url: PUBLIC_URL, description: "B's" });
    expect(created.status, created.text).toBe(201);
    const before = await client.request("GET", `${client.base}/github`, { key: tenantB });

    expectProblem(await client.request("GET", `${client.base}/github`, { key: tenantA }), 404, "not_found");
    expectProblem(
      await client.request("PATCH", `${client.base}/github`, { key: tenantA, body: { description: "A was here" } }),
      404,
      "not_found",
    );
    expectProblem(await client.request("DELETE", `${client.base}/github`, { key: tenantA }), 404, "not_found");
    expect(await client.list(tenantA)).toEqual([]);

    const after = await client.request("GET", `${client.base}/github`, { key: tenantB });
    expect(after.status).toBe(200);
    expect(after.json).toEqual(before.json);
    expect(after.headers.get("etag")).toBe(before.headers.get("etag"));
  });

  it("lets two tenants register the same name independently", async () => {
    const client = await app();
    const tenantA = newKey("a");
    const tenantB = newKey("b");
    expect((await client.register(tenantA, { name: "github", url: PUBLIC_URL, description: "A" })).status).toBe(201);
    expect((await client.register(tenantB, { name: "github", url: PUBLIC_URL, description: "B" })).status).toBe(201);
    expect((await client.request("GET", `${client.base}/github`, { key: tenantA })).json.description).toBe("A");
    expect((await client.request("GET", `${client.base}/github`, { key: tenantB })).json.description).toBe("B");
  });

  it("returns 403 forbidden when a member registers a global server, and stores nothing", async () => {
    const client = await app({ identify });
    const member = newKey("member");
    const before = await globalNames(client);
    const reply = await client.register(member, { name: "everyone", url: PUBLIC_URL, scope: "global" });
    expectProblem(reply, 403, "forbidden");
    expect(await globalNames(client)).toEqual(before);
    expect(await client.list(member)).toEqual([]);
  });

  it("lets an admin register global servers that members see, enabled ones only", async () => {
    const client = await app({ identify });
    const member = newKey("member");
    const shared = await client.register(ADMIN_KEY, {
      name: "everyone",
      url: PUBLIC_URL,
      auth: { type: "bearer", token: `${SENTINEL}-global-token` },
      scope: "global",
    });
    expect(shared.status, shared.text).toBe(201);
    expect(shared.json).toMatchObject({ name: "everyone", auth: { type: "bearer", hasToken: true } });
    const hidden = await client.register(ADMIN_KEY, { name: "dark", url: PUBLIC_URL, enabled: false, scope: "global" });
    expect(hidden.status, hidden.text).toBe(201);

    const seen = await client.list(member);
    expect(names(seen)).toEqual(["everyone"]);
    expect(seen[0].source).toBe("global");
    expect((await client.request("GET", `${client.base}/everyone`, { key: member })).status).toBe(200);
    expectProblem(await client.request("GET", `${client.base}/dark`, { key: member }), 404, "not_found");

    // The admin sees both, the disabled one included.
    expect(await globalNames(client)).toEqual(["dark", "everyone"]);
  });

  it("shows members a global server without its admin-only fields", async () => {
    const client = await app({ identify });
    const member = newKey("member");
    const created = await client.register(ADMIN_KEY, {
      name: "everyone",
      url: PUBLIC_URL,
      description: "for all",
      tools: { deny: ["secret_tool"] },
      auth: { type: "bearer", token: `${SENTINEL}-global-token` },
      scope: "global",
    });
    expect(created.status, created.text).toBe(201);
    const asAdmin = (await client.request("GET", `${client.base}/everyone`, { key: ADMIN_KEY })).json;
    const asMember = (await client.request("GET", `${client.base}/everyone`, { key: member })).json;
    expect(asMember).toMatchObject({ name: "everyone", source: "global", description: "for all" });
    // Every field a member sees, an admin sees too; some fields are the admin's only.
    for (const field of Object.keys(asMember)) expect(Object.keys(asAdmin)).toContain(field);
    expect(Object.keys(asMember).length).toBeLessThan(Object.keys(asAdmin).length);
  });

  it("shows an admin a config server's auth as flags, never its header values or URL secrets", async () => {
    const client = await app({
      identify,
      config: {
        mcpServers: {
          internal: {
            url: `https://svc:${SENTINEL}-userinfo@mcp.internal.example/mcp?api_key=${SENTINEL}-query`,
            headers: { "X-Internal": `${SENTINEL}-config-header` },
          },
        },
      },
    });
    const reply = await client.request("GET", `${client.base}/internal`, { key: ADMIN_KEY });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ name: "internal", source: "config", auth: { hasHeaders: true } });
    expect(reply.json.url).toContain("mcp.internal.example");
  });

  it("refuses a member's PATCH or DELETE of a global server and leaves it unchanged", async () => {
    const client = await app({ identify });
    const member = newKey("member");
    await client.register(ADMIN_KEY, { name: "everyone", url: PUBLIC_URL, description: "v1", scope: "global" });
    const patch = await client.request("PATCH", `${client.base}/everyone`, {
      key: member,
      body: { description: "mine now" },
    });
    expect([403, 404]).toContain(patch.status);
    expectProblem(patch, patch.status);
    const removal = await client.request("DELETE", `${client.base}/everyone`, { key: member });
    expect([403, 404]).toContain(removal.status);
    const read = await client.request("GET", `${client.base}/everyone`, { key: ADMIN_KEY });
    expect(read.json.description).toBe("v1");
  });

  it("returns 409 name_locked when a member registers the name of a locked global server", async () => {
    const client = await app({ identify });
    const member = newKey("member");
    const locked = await client.register(ADMIN_KEY, { name: "policy", url: PUBLIC_URL, locked: true, scope: "global" });
    expect(locked.status, locked.text).toBe(201);
    const before = await client.list(member);
    expectProblem(await client.register(member, { name: "policy", url: PUBLIC_URL }), 409, "name_locked");
    expect(await client.list(member)).toEqual(before);
  });
}

/** The global servers as the admin sees them (the admin's own scope is empty in these scenarios). */
async function globalNames(client: TestClient): Promise<string[]> {
  return names((await client.list(ADMIN_KEY)).filter((server) => server.source === "global"));
}
