import { expect, it } from "vitest";
import {
  type MatrixContext,
  PLACEHOLDER,
  PUBLIC_URL,
  type Reply,
  SENTINEL,
  type TestClient,
  expectProblem,
  names,
  newKey,
  pointers,
} from "./matrix.js";

const config = {
  mcpServers: {
    docs: { url: "https://docs.example.com/mcp" },
    pinned: { url: "https://pinned.example.com/mcp", locked: true },
    always: { url: "https://always.example.com/mcp", availability: "force_on" },
    local: { command: "node", args: ["server.js"] },
  },
};

/** Sends a registration that must be refused and checks that the caller's store is exactly as before. */
async function refused(client: TestClient, key: string, send: () => Promise<Reply>): Promise<Reply> {
  const before = await client.list(key);
  const reply = await send();
  expect(reply.status, reply.text).toBeGreaterThanOrEqual(400);
  expect(reply.status, reply.text).toBeLessThan(500);
  expect(await client.list(key)).toEqual(before);
  return reply;
}

/** Conflicts, read-only servers, limits and every validation failure of SPEC §3, §4, §9, §11. */
export function validationScenarios({ app, adapter }: MatrixContext): void {
  it("returns 409 name_taken when the name exists in the same scope", async () => {
    const client = await app();
    const key = newKey();
    expect((await client.register(key, { name: "dup", url: PUBLIC_URL, description: "first" })).status).toBe(201);
    const reply = await refused(client, key, () =>
      client.register(key, { name: "dup", url: PUBLIC_URL, description: "second" }),
    );
    expectProblem(reply, 409, "name_taken");
    expect((await client.request("GET", `${client.base}/dup`, { key })).json.description).toBe("first");
  });

  it("returns 409 name_locked for the name of a locked config server, and for a force_on one", async () => {
    const client = await app({ config });
    const key = newKey();
    for (const name of ["pinned", "always"]) {
      expectProblem(
        await refused(client, key, () => client.register(key, { name, url: PUBLIC_URL })),
        409,
        "name_locked",
      );
    }
  });

  it("returns 409 limit_exceeded past maxServersPerScope, per scope", async () => {
    const client = await app({ maxServersPerScope: 2 });
    const key = newKey();
    expect((await client.register(key, { name: "s1", url: PUBLIC_URL })).status).toBe(201);
    expect((await client.register(key, { name: "s2", url: PUBLIC_URL })).status).toBe(201);
    expectProblem(
      await refused(client, key, () => client.register(key, { name: "s3", url: PUBLIC_URL })),
      409,
      "limit_exceeded",
    );
    // Another tenant has its own allowance, and a freed slot can be used again.
    expect((await client.register(newKey("other"), { name: "s3", url: PUBLIC_URL })).status).toBe(201);
    expect((await client.request("DELETE", `${client.base}/s1`, { key })).status).toBe(204);
    expect((await client.register(key, { name: "s3", url: PUBLIC_URL })).status).toBe(201);
  });

  it("returns 403 read_only for PATCH or DELETE of a config-tier server, which stays as it was", async () => {
    const client = await app({ config });
    const key = newKey();
    const before = await client.request("GET", `${client.base}/docs`, { key });
    expectProblem(
      await client.request("PATCH", `${client.base}/docs`, { key, body: { description: "mine" } }),
      403,
      "read_only",
    );
    expectProblem(await client.request("DELETE", `${client.base}/docs`, { key }), 403, "read_only");
    expectProblem(await client.request("DELETE", `${client.base}/local`, { key }), 403, "read_only");
    const after = await client.request("GET", `${client.base}/docs`, { key });
    expect(after.json).toEqual(before.json);
  });

  it("returns 422 naming the path of an unknown field, top-level or nested", async () => {
    const client = await app();
    const key = newKey();
    const typo = await refused(client, key, () =>
      client.register(key, { name: "typo", url: PUBLIC_URL, urll: PUBLIC_URL }),
    );
    expectProblem(typo, 422);
    expect(pointers(typo)).toContain("/urll");
    const nested = await refused(client, key, () =>
      client.register(key, {
        name: "typo",
        url: PUBLIC_URL,
        auth: { type: "bearer", token: `${SENTINEL}-t`, extra: 1 },
      }),
    );
    expectProblem(nested, 422);
    expect(pointers(nested)).toContain("/auth/extra");
    const deep = await refused(client, key, () =>
      client.register(key, { name: "typo", url: PUBLIC_URL, tools: { alow: ["x"] } }),
    );
    expect(pointers(deep)).toContain("/tools/alow");
  });

  for (const name of [
    "gh*",
    "github__create_issue",
    "-github",
    "gі thub",
    "gіthub",
    "",
    "a".repeat(65),
    "has space",
    "a:b",
    "../x",
  ]) {
    it(`returns 422 with the pointer /name for the bad server name ${JSON.stringify(name.slice(0, 20))}`, async () => {
      const client = await app();
      const key = newKey();
      const reply = await refused(client, key, () => client.register(key, { name, url: PUBLIC_URL }));
      expectProblem(reply, 422);
      expect(pointers(reply)).toContain("/name");
    });
  }

  it("returns 422 for a missing name and for fields of the wrong type", async () => {
    const client = await app();
    const key = newKey();
    expect(pointers(await refused(client, key, () => client.register(key, { url: PUBLIC_URL })))).toContain("/name");
    const arrayUrl = await refused(client, key, () => client.register(key, { name: "x", url: [PUBLIC_URL] }));
    expectProblem(arrayUrl, 422);
    expect(pointers(arrayUrl)).toContain("/url");
    const stringHeaders = await refused(client, key, () =>
      client.register(key, { name: "x", url: PUBLIC_URL, headers: `Authorization: Bearer ${SENTINEL}` }),
    );
    expectProblem(stringHeaders, 422);
    expect(pointers(stringHeaders)).toContain("/headers");
    const notAnObject = await refused(client, key, () => client.register(key, [{ name: "x", url: PUBLIC_URL }]));
    expectProblem(notAnObject, 422);
  });

  it("accepts names that are valid but unusual: case-sensitive and prototype-like", async () => {
    const client = await app();
    const key = newKey();
    for (const name of ["GitHub", "github", "constructor", "toString", "0day", "a".repeat(64)]) {
      const reply = await client.register(key, { name, url: PUBLIC_URL });
      expect(reply.status, `${name}: ${reply.text}`).toBe(201);
    }
    expect((await client.request("GET", `${client.base}/constructor`, { key })).json.name).toBe("constructor");
    expect(names(await client.list(key))).toHaveLength(6);
  });

  it("returns 422 stdio_not_allowed for a stdio server from the API", async () => {
    const client = await app();
    const key = newKey();
    const reply = await refused(client, key, () =>
      client.register(key, {
        name: "fs",
        command: "npx",
        args: ["-y", "@modelcontextprotocol/server-filesystem", "/"],
      }),
    );
    expectProblem(reply, 422, "stdio_not_allowed");
  });

  it("returns 422 stdio_not_allowed for a PATCH that turns a remote server into stdio, and keeps the server", async () => {
    const client = await app();
    const key = newKey();
    await client.register(key, { name: "docs", url: PUBLIC_URL });
    const before = await client.request("GET", `${client.base}/docs`, { key });
    const reply = await client.request("PATCH", `${client.base}/docs`, {
      key,
      body: { url: null, command: "sh", args: ["-c", "id"] },
    });
    expectProblem(reply, 422, "stdio_not_allowed");
    // Adding a command next to the url is refused too.
    const both = await client.request("PATCH", `${client.base}/docs`, {
      key,
      body: { command: "sh", args: ["-c", "id"] },
    });
    expectProblem(both, 422);
    const after = await client.request("GET", `${client.base}/docs`, { key });
    expect(after.json).toEqual(before.json);
    expect(after.headers.get("etag")).toBe(before.headers.get("etag"));
  });

  const placeholders: [string, Record<string, unknown>][] = [
    ["a header value", { headers: { "X-Api-Key": `${PLACEHOLDER}OPENAI_API_KEY}` } }],
    ["a bearer token", { auth: { type: "bearer", token: `${PLACEHOLDER}GITHUB_TOKEN}` } }],
    ["an unterminated placeholder", { headers: { "X-T": `${PLACEHOLDER}DATABASE_URL` } }],
    ["the url", { url: `https://1.1.1.1/${PLACEHOLDER}PATH}` }],
    ["the description", { description: `costs ${PLACEHOLDER}PRICE:-0}` }],
  ];
  for (const [where, fields] of placeholders) {
    it(`returns 422 env_placeholder_not_allowed for \${ in ${where}`, async () => {
      const client = await app();
      const key = newKey();
      const reply = await refused(client, key, () => client.register(key, { name: "ph", url: PUBLIC_URL, ...fields }));
      expectProblem(reply, 422, "env_placeholder_not_allowed");
    });
  }

  it("returns 422 env_placeholder_not_allowed for a PATCH that adds a placeholder", async () => {
    const client = await app();
    const key = newKey();
    await client.register(key, { name: "ph", url: PUBLIC_URL });
    const before = await client.request("GET", `${client.base}/ph`, { key });
    const reply = await client.request("PATCH", `${client.base}/ph`, {
      key,
      body: { headers: { "X-K": `${PLACEHOLDER}SECRET}` } },
    });
    expectProblem(reply, 422, "env_placeholder_not_allowed");
    const after = await client.request("GET", `${client.base}/ph`, { key });
    expect(after.json).toEqual(before.json);
    expect(after.headers.get("etag")).toBe(before.headers.get("etag"));
  });

  it("returns 422 for a URL that SSRF rules block, without revealing the address", async () => {
    const client = await app({
      lookup: async (host) =>
        host === "internal.example.com" ? [{ address: "10.0.0.5", family: 4 }] : [{ address: "1.1.1.1", family: 4 }],
    });
    const key = newKey();
    for (const url of [
      "https://127.0.0.1/mcp",
      "https://169.254.169.254/latest",
      "http://1.1.1.1/mcp",
      "https://internal.example.com/mcp",
    ]) {
      const reply = await refused(client, key, () => client.register(key, { name: "ssrf", url }));
      expectProblem(reply, 422);
      expect(reply.text).not.toContain("10.0.0.5");
    }
    const userinfo = await refused(client, key, () =>
      client.register(key, { name: "ssrf", url: `https://user:${SENTINEL}@1.1.1.1/mcp` }),
    );
    expectProblem(userinfo, 422);
  });

  it("returns 422 for header names and values that cannot be sent", async () => {
    const client = await app();
    const key = newKey();
    for (const headers of [
      { "X-Api-Key\r\nX-Evil": "1" },
      { "X-é": "v" },
      { Host: "evil.example" },
      { "X-A": "a\nb" },
      { "Mcp-Session-Id": "s" },
    ]) {
      expectProblem(
        await refused(client, key, () => client.register(key, { name: "h", url: PUBLIC_URL, headers })),
        422,
      );
    }
  });

  it("returns 400 for a body that is not JSON", async () => {
    const client = await app();
    const key = newKey();
    const reply = await refused(client, key, () => client.request("POST", client.base, { key, raw: '{"name": "x", ' }));
    expect(reply.status).toBe(400);
    // With express.json() mounted first, Express's own parser answers before the middleware runs.
    if (!adapter.bodyParsedFirst) expectProblem(reply, 400);
    const empty = await refused(client, key, () => client.request("POST", client.base, { key, raw: "" }));
    if (!adapter.bodyParsedFirst) expectProblem(empty, 400);
  });

  it("returns 413 payload_too_large over maxBodyBytes, and accepts a body of exactly 65,536 bytes", async () => {
    const client = await app();
    const key = newKey();
    const exact = bodyOfSize("exact", 65_536);
    expect(Buffer.byteLength(exact)).toBe(65_536);
    const accepted = await client.request("POST", client.base, { key, raw: exact });
    expect(accepted.status, accepted.text.slice(0, 300)).toBe(201);
    const over = bodyOfSize("over", 65_537);
    expectProblem(
      await refused(client, key, () => client.request("POST", client.base, { key, raw: over })),
      413,
      "payload_too_large",
    );
  });

  it("returns 413 for an oversized body streamed without Content-Length", async () => {
    const client = await app();
    const key = newKey();
    const bytes = new TextEncoder().encode(bodyOfSize("chunked", 70_000));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 8192)
          controller.enqueue(bytes.slice(offset, offset + 8192));
        controller.close();
      },
    });
    expectProblem(
      await refused(client, key, () => client.request("POST", client.base, { key, raw: stream })),
      413,
      "payload_too_large",
    );
  });

  it("honours a smaller maxBodyBytes", async () => {
    const client = await app({ maxBodyBytes: 1024 });
    const key = newKey();
    expect((await client.request("POST", client.base, { key, raw: bodyOfSize("small", 1024) })).status).toBe(201);
    expectProblem(
      await client.request("POST", client.base, { key, raw: bodyOfSize("big", 1025) }),
      413,
      "payload_too_large",
    );
  });

  const prototypeKeys: [string, string][] = [
    ["a top-level __proto__", `{"name":"x","url":"${PUBLIC_URL}","__proto__":{"admin":true}}`],
    ["constructor.prototype", `{"name":"x","url":"${PUBLIC_URL}","constructor":{"prototype":{"admin":true}}}`],
    ["a nested __proto__", `{"name":"x","url":"${PUBLIC_URL}","tools":{"__proto__":{"allow":["*"]}}}`],
    ["a prototype header name", `{"name":"x","url":"${PUBLIC_URL}","headers":{"prototype":"1"}}`],
  ];
  for (const [label, raw] of prototypeKeys) {
    it(`rejects a body with ${label} key`, async () => {
      const client = await app();
      const key = newKey();
      const reply = await refused(client, key, () => client.request("POST", client.base, { key, raw }));
      expect([400, 422]).toContain(reply.status);
      expectProblem(reply, reply.status);
      expect(({} as Record<string, unknown>)["admin"]).toBeUndefined();
    });
  }

  it("rejects a body with duplicate keys instead of keeping the last one", async () => {
    const client = await app();
    const key = newKey();
    const raw = `{"name":"x","url":"${PUBLIC_URL}","url":"https://169.254.169.254/"}`;
    const reply = await refused(client, key, () => client.request("POST", client.base, { key, raw }));
    expect([400, 422]).toContain(reply.status);
    expectProblem(reply, reply.status);
    expectProblem(await client.request("GET", `${client.base}/x`, { key }), 404, "not_found");
    if (!adapter.bodyParsedFirst) {
      // Once express.json() kept the last value, the metadata URL is refused by the SSRF check instead.
      const harmless = `{"name":"y","url":"${PUBLIC_URL}","url":"${PUBLIC_URL}"}`;
      expect([400, 422]).toContain((await client.request("POST", client.base, { key, raw: harmless })).status);
    }
  });

  it("refuses a PATCH body that is not JSON or fails validation, leaving the server unchanged", async () => {
    const client = await app();
    const key = newKey();
    await client.register(key, { name: "keep", url: PUBLIC_URL, description: "same" });
    const before = await client.request("GET", `${client.base}/keep`, { key });
    expect((await client.request("PATCH", `${client.base}/keep`, { key, raw: "not json" })).status).toBe(400);
    expectProblem(await client.request("PATCH", `${client.base}/keep`, { key, body: { bogus: 1 } }), 422);
    expectProblem(
      await client.request("PATCH", `${client.base}/keep`, { key, body: { url: "https://127.0.0.1/" } }),
      422,
    );
    const after = await client.request("GET", `${client.base}/keep`, { key });
    expect(after.json).toEqual(before.json);
    expect(after.headers.get("etag")).toBe(before.headers.get("etag"));
  });
}

/**
 * A valid registration of exactly `size` bytes, padded with header values (each field stays under its
 * own cap) and without whitespace, so a framework that parses and re-serializes it keeps its size.
 */
function bodyOfSize(name: string, size: number): string {
  const headers: Record<string, string> = {};
  const text = (): string => JSON.stringify({ name, url: PUBLIC_URL, headers });
  // Chunks stay below the 4 KiB value cap with room to spare, so the last gap can go to the previous one.
  const chunk = 3900;
  for (let index = 0; text().length < size; index += 1) {
    const key = `X-Pad-${index}`;
    headers[key] = "";
    if (text().length > size) {
      // Not even an empty header fits: the previous value takes the rest.
      delete headers[key];
      headers[`X-Pad-${index - 1}`] += "a".repeat(size - text().length);
      break;
    }
    headers[key] = "a".repeat(Math.min(chunk, size - text().length));
  }
  if (text().length !== size) throw new Error(`bodyOfSize: built ${text().length} bytes, not ${size}`);
  return text();
}
