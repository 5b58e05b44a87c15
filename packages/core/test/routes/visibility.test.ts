import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createMcpServerSide } from "../../src/create.js";
import type { McpServerSideOptions } from "../../src/options.js";
import type { Identity, McpServerSide } from "../../src/types.js";
import { appRequest, call } from "../security/app-helpers.js";

/*
 * Issue 9 §7, through the real routes: what a member can learn about servers hidden from it, and
 * what a config server's ETag gives away.
 */

const PUBLIC = "https://1.1.1.1/mcp";
const CALLERS: Record<string, Identity> = {
  member: { scope: "m1" },
  other: { scope: "m2" },
  admin: { scope: "ops", admin: true },
};
const identify = (request: Request): Identity | null => CALLERS[request.headers.get("x-api-key") ?? ""] ?? null;

const instances: McpServerSide[] = [];
afterEach(async () => {
  await Promise.all(instances.splice(0).map((mcp) => mcp.close()));
});

function instance(options: McpServerSideOptions = {}): McpServerSide {
  const mcp = createMcpServerSide({ identify, ...options });
  instances.push(mcp);
  return mcp;
}

async function names(mcp: McpServerSide, key: string): Promise<Record<string, string>> {
  const reply = await call(mcp, "GET", "/mcp-servers", { key });
  expect(reply.status, reply.text).toBe(200);
  return Object.fromEntries(
    reply.json.servers.map((server: { name: string; source: string }) => [server.name, server.source]),
  );
}

describe("a disabled global server, seen by a member", () => {
  it("registering its name answers as for a name nobody holds, and the lock still wins once it is enabled", async () => {
    const mcp = instance();
    for (const locked of [{ locked: true }, { availability: "force_on" }]) {
      const name = "locked" in locked ? "hidden-locked" : "hidden-forced";
      const global = await call(mcp, "POST", "/mcp-servers", {
        key: "admin",
        body: { name, url: PUBLIC, enabled: false, scope: "global", ...locked },
      });
      expect(global.status, global.text).toBe(201);

      // The same answer as for a free name: nothing tells the member the hidden server exists.
      const hidden = await call(mcp, "POST", "/mcp-servers", { key: "member", body: { name, url: PUBLIC } });
      const free = await call(mcp, "POST", "/mcp-servers", {
        key: "member",
        body: { name: `${name}-free`, url: PUBLIC },
      });
      expect(hidden.status, hidden.text).toBe(201);
      expect(free.status, free.text).toBe(201);
      expect(Object.keys(hidden.json).sort()).toEqual(Object.keys(free.json).sort());
      expect((await names(mcp, "member"))[name]).toBe("scope");
      // Changing it says nothing either.
      const patched = await call(mcp, "PATCH", `/mcp-servers/${name}`, { key: "member", body: { description: "x" } });
      expect(patched.status, patched.text).toBe(200);

      // Enabled, the locked server wins its name over the member's, for injection too (the lock holds).
      const enabled = await call(mcp, "PATCH", `/mcp-servers/${name}`, { key: "admin", body: { enabled: true } });
      expect(enabled.status, enabled.text).toBe(200);
      expect((await names(mcp, "member"))[name]).toBe("global");
      const context = mcp.forRequest(appRequest("member"));
      const servers = await context.servers();
      expect(servers.find((server) => server.name === name)?.source).toBe("global");
      expect(context.errors.some((error) => error.code === "name_locked" && error.server === name)).toBe(true);
      // And a new registration of an enabled locked name is refused, as SPEC §2 says.
      const late = await call(mcp, "POST", "/mcp-servers", { key: "other", body: { name, url: PUBLIC } });
      expect(late.status, late.text).toBe(409);
      expect(late.json.code).toBe("name_locked");
    }
  });
});

describe("a disabled global server over a config server of the same name", () => {
  const config = {
    mcpServers: {
      docs: { url: "https://docs.example.com/mcp" },
      pinned: { url: "https://p.example.com/mcp", locked: true },
    },
  };

  it("hides the config server for members as it does for admins", async () => {
    const mcp = instance({ config });
    expect(await names(mcp, "member")).toEqual({ docs: "config", pinned: "config" });
    const global = await call(mcp, "POST", "/mcp-servers", {
      key: "admin",
      body: { name: "docs", url: PUBLIC, enabled: false, scope: "global" },
    });
    expect(global.status, global.text).toBe(201);

    expect(await names(mcp, "admin")).toEqual({ docs: "global", pinned: "config" });
    // The member sees neither the hidden server nor the config server it shadows.
    expect(await names(mcp, "member")).toEqual({ pinned: "config" });
    for (const key of ["member", "admin"]) {
      const injected = (await mcp.forRequest(appRequest(key)).servers()).map((server) => server.name);
      expect(injected).toEqual(["pinned"]);
    }
    // And the member's routes answer for "docs" as for a name that does not exist.
    for (const [method, path] of [
      ["GET", "/mcp-servers/docs"],
      ["PATCH", "/mcp-servers/docs"],
      ["DELETE", "/mcp-servers/docs"],
    ] as const) {
      const reply = await call(mcp, method, path, { key: "member", ...(method === "PATCH" ? { body: {} } : {}) });
      const missing = await call(mcp, method, "/mcp-servers/nothing", {
        key: "member",
        ...(method === "PATCH" ? { body: {} } : {}),
      });
      expect([reply.status, reply.json.code]).toEqual([missing.status, missing.json.code]);
    }
    // Enabled again, the global server is what both see.
    await call(mcp, "PATCH", "/mcp-servers/docs", { key: "admin", body: { enabled: true } });
    expect(await names(mcp, "member")).toEqual({ docs: "global", pinned: "config" });
  });
});

describe("a config server's ETag", () => {
  it("is keyed per instance, so it cannot confirm a guessed secret offline", async () => {
    const token = "SENTINEL-config-token";
    const definition = { url: "https://docs.example.com/mcp", auth: { type: "bearer", token } };
    const options = { config: { mcpServers: { docs: definition } } };
    const first = await call(instance(options), "GET", "/mcp-servers/docs", { key: "member" });
    const again = await call(instances[0] as McpServerSide, "GET", "/mcp-servers/docs", { key: "member" });
    const second = await call(instance(options), "GET", "/mcp-servers/docs", { key: "member" });
    for (const reply of [first, again, second]) expect(reply.status, reply.text).toBe(200);
    const etag = first.headers.get("etag");
    // Stable within an instance, so it still works as a validator ...
    expect(again.headers.get("etag")).toBe(etag);
    // ... but not a function of the definition alone: the same definition elsewhere gives another tag,
    expect(second.headers.get("etag")).not.toBe(etag);
    // and no unkeyed digest of the definition (as a member would compute for a guess) matches it.
    for (const text of [JSON.stringify(definition), JSON.stringify({ ...definition, enabled: true })]) {
      const unkeyed = `"${createHash("sha256").update(text).digest("base64url").slice(0, 22)}"`;
      expect(etag).not.toBe(unkeyed);
    }
  });
});
