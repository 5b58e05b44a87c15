import { expect, it } from "vitest";
import { type MatrixContext, PUBLIC_URL, SENTINEL, expectProblem, names, newKey } from "./matrix.js";

const config = {
  mcpServers: {
    docs: { url: "https://docs.example.com/mcp", headers: { Authorization: `Bearer ${SENTINEL}-config-header` } },
    pinned: { url: "https://pinned.example.com/mcp", locked: true },
    always: { url: "https://always.example.com/mcp", availability: "force_on" },
  },
};

/** The management routes of SPEC §4 / §11: list, register, read, merge-patch, unregister. */
export function routeScenarios({ app }: MatrixContext): void {
  it("lists the caller's effective servers at the base path, with or without a trailing slash", async () => {
    const client = await app({ config });
    const key = newKey();
    for (const path of [client.base, `${client.base}/`]) {
      const reply = await client.request("GET", path, { key });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
      expect(names(reply.json.servers)).toEqual(["always", "docs", "pinned"]);
      for (const server of reply.json.servers) expect(server.source).toBe("config");
    }
  });

  it("passes requests outside the base path on to the app's own routes", async () => {
    const client = await app();
    const reply = await client.request("GET", "/hello");
    expect(reply.status).toBe(200);
    expect(reply.text).toBe("hello");
    // A path that only starts with the same letters is not the base path.
    const sibling = await client.request("GET", `${client.base}-other`, { key: newKey() });
    expect(sibling.status).toBe(404);
    expect(sibling.headers.get("content-type") ?? "").not.toMatch(/problem\+json/);
  });

  it("serves the routes under a custom basePath", async () => {
    const client = await app({ basePath: "/api/mcp", config });
    expect(client.base).toBe("/api/mcp");
    const key = newKey();
    expect(names(await client.list(key))).toEqual(["always", "docs", "pinned"]);
    const created = await client.register(key, { name: "mine", url: PUBLIC_URL });
    expect(created.status, created.text).toBe(201);
    const missing = await client.request("GET", "/mcp-servers", { key });
    expect(missing.status).toBe(404);
  });

  it("registers a server with POST: 201, an ETag and the redacted server, never its secrets", async () => {
    const client = await app();
    const key = newKey();
    const reply = await client.register(key, {
      name: "github",
      url: `${PUBLIC_URL}?token=${SENTINEL}-query&plain=1`,
      description: "GitHub tools",
      auth: { type: "bearer", token: `${SENTINEL}-token` },
    });
    expect(reply.status, reply.text).toBe(201);
    expect(reply.headers.get("etag")).toBeTruthy();
    expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
    expect(reply.json).toMatchObject({
      name: "github",
      description: "GitHub tools",
      auth: { type: "bearer", hasToken: true },
    });
    expect(reply.json.auth.token).toBeUndefined();
    expect(reply.json.url).toContain("https://1.1.1.1/mcp");
    // (the sentinel check of every reply proves the token, the key and the query secret stay out)
    const listed = await client.list(key);
    expect(names(listed)).toEqual(["github"]);
    expect(listed[0]).toMatchObject({ name: "github", source: "scope", auth: { type: "bearer", hasToken: true } });
  });

  it("redacts header values of a registered server to a hasHeaders flag", async () => {
    const client = await app();
    const key = newKey();
    const reply = await client.register(key, {
      name: "hdrs",
      url: PUBLIC_URL,
      headers: { "X-Api-Key": `${SENTINEL}-header-value`, "X-Ok": "value\twith tab" },
    });
    expect(reply.status, reply.text).toBe(201);
    expect(reply.json.auth).toMatchObject({ hasHeaders: true });
    const read = await client.request("GET", `${client.base}/hdrs`, { key });
    expect(read.status).toBe(200);
    expect(read.json.auth).toMatchObject({ hasHeaders: true });
  });

  it("reads one effective server with GET /:name: 200 and an ETag", async () => {
    const client = await app({ config });
    const key = newKey();
    const created = await client.register(key, { name: "one", url: PUBLIC_URL });
    expect(created.status, created.text).toBe(201);
    const reply = await client.request("GET", `${client.base}/one`, { key });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.headers.get("etag")).toBeTruthy();
    expect(reply.json).toMatchObject({ name: "one", source: "scope", url: PUBLIC_URL });
    const fromConfig = await client.request("GET", `${client.base}/docs`, { key });
    expect(fromConfig.status).toBe(200);
    expect(fromConfig.json).toMatchObject({ name: "docs", source: "config" });
  });

  it("returns 404 not_found for a name that does not exist", async () => {
    const client = await app();
    const key = newKey();
    expectProblem(await client.request("GET", `${client.base}/nope`, { key }), 404, "not_found");
    expectProblem(
      await client.request("PATCH", `${client.base}/nope`, { key, body: { description: "x" } }),
      404,
      "not_found",
    );
    expectProblem(await client.request("DELETE", `${client.base}/nope`, { key }), 404, "not_found");
  });

  for (const contentType of ["application/json", "application/merge-patch+json"]) {
    it(`updates a stored server with a merge-patch sent as ${contentType}: 200 and a new ETag`, async () => {
      const client = await app();
      const key = newKey();
      const created = await client.register(key, {
        name: "patchme",
        url: PUBLIC_URL,
        description: "before",
        tools: { deny: ["danger"] },
        timeoutMs: 5000,
      });
      expect(created.status, created.text).toBe(201);
      const etag = created.headers.get("etag")!;
      const reply = await client.request("PATCH", `${client.base}/patchme`, {
        key,
        contentType,
        body: { description: "after", timeoutMs: null, tools: { allow: ["safe_*"] } },
      });
      expect(reply.status, reply.text).toBe(200);
      const next = reply.headers.get("etag");
      expect(next).toBeTruthy();
      expect(next).not.toBe(etag);
      // Merge-patch (RFC 7396): members merge, null removes, absent members stay.
      expect(reply.json).toMatchObject({
        name: "patchme",
        url: PUBLIC_URL,
        description: "after",
        tools: { allow: ["safe_*"], deny: ["danger"] },
      });
      expect(reply.json.timeoutMs).toBeUndefined();
      const read = await client.request("GET", `${client.base}/patchme`, { key });
      expect(read.json).toMatchObject({ description: "after" });
      expect(read.headers.get("etag")).toBe(next);
    });
  }

  it("honours If-Match: the current ETag updates, a stale one is 412 precondition_failed and changes nothing", async () => {
    const client = await app();
    const key = newKey();
    const created = await client.register(key, { name: "guarded", url: PUBLIC_URL, description: "v1" });
    const first = created.headers.get("etag")!;
    const updated = await client.request("PATCH", `${client.base}/guarded`, {
      key,
      headers: { "if-match": first },
      body: { description: "v2" },
    });
    expect(updated.status, updated.text).toBe(200);
    const second = updated.headers.get("etag")!;
    expect(second).not.toBe(first);

    const stale = await client.request("PATCH", `${client.base}/guarded`, {
      key,
      headers: { "if-match": first },
      body: { description: "lost update" },
    });
    expectProblem(stale, 412, "precondition_failed");
    const read = await client.request("GET", `${client.base}/guarded`, { key });
    expect(read.json.description).toBe("v2");
    expect(read.headers.get("etag")).toBe(second);

    const again = await client.request("PATCH", `${client.base}/guarded`, {
      key,
      headers: { "if-match": second },
      body: { description: "v3" },
    });
    expect(again.status, again.text).toBe(200);
  });

  it("accepts the ETag of GET /:name as If-Match", async () => {
    const client = await app();
    const key = newKey();
    await client.register(key, { name: "viaget", url: PUBLIC_URL });
    const read = await client.request("GET", `${client.base}/viaget`, { key });
    const reply = await client.request("PATCH", `${client.base}/viaget`, {
      key,
      headers: { "if-match": read.headers.get("etag")! },
      body: { description: "ok" },
    });
    expect(reply.status, reply.text).toBe(200);
  });

  it("unregisters with DELETE: 204 with no body, then the name is 404", async () => {
    const client = await app();
    const key = newKey();
    await client.register(key, { name: "gone", url: PUBLIC_URL });
    const reply = await client.request("DELETE", `${client.base}/gone`, { key });
    expect(reply.status).toBe(204);
    expect(reply.text).toBe("");
    expectProblem(await client.request("GET", `${client.base}/gone`, { key }), 404, "not_found");
    expectProblem(await client.request("DELETE", `${client.base}/gone`, { key }), 404, "not_found");
    expect(await client.list(key)).toEqual([]);
  });

  it("lets a scope server shadow an unlocked config server, reporting source and shadows", async () => {
    const client = await app({ config });
    const key = newKey();
    const created = await client.register(key, { name: "docs", url: PUBLIC_URL });
    expect(created.status, created.text).toBe(201);
    const read = await client.request("GET", `${client.base}/docs`, { key });
    expect(read.json).toMatchObject({ name: "docs", source: "scope", shadows: "config", url: PUBLIC_URL });
    // Another tenant still sees the config server.
    const other = await client.request("GET", `${client.base}/docs`, { key: newKey("other") });
    expect(other.json).toMatchObject({ name: "docs", source: "config" });
  });
}
