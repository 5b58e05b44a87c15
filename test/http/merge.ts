import { expect, it } from "vitest";
import { type MatrixContext, PLACEHOLDER, PUBLIC_URL, SENTINEL, names, newKey } from "./matrix.js";

const config = {
  mcpServers: {
    docs: { url: "https://docs.example.com/mcp" },
    always: { url: "https://always.example.com/mcp", availability: "force_on" },
    pinned: { url: "https://pinned.example.com/mcp", locked: true },
    optional: { url: "https://optional.example.com/mcp", availability: "default_off" },
    disabled: { url: "https://disabled.example.com/mcp", enabled: false },
  },
};

const OTHER_URL = "https://1.1.1.1/other";

function reported(errors: any[], code: string, server?: string): void {
  expect(errors).toContainEqual(expect.objectContaining(server === undefined ? { code } : { code, server }));
}

/** The merge of SPEC §2 as a route sees it through `req.mcp.servers()` / `c.var.mcp.servers()`. */
export function mergeScenarios({ app }: MatrixContext): void {
  it("inherits every enabled default_on and force_on server when the body says nothing (or null)", async () => {
    const client = await app({ config });
    for (const body of [{}, { mcp_servers: null }, { messages: [] }]) {
      const { servers, errors } = await client.chat(body);
      expect(names(servers)).toEqual(["always", "docs", "pinned"]);
      expect(errors).toEqual([]);
      for (const server of servers) expect(server.source).toBe("config");
    }
  });

  it("opts out with mcp_servers: {} — only force_on servers stay", async () => {
    const client = await app({ config });
    expect(names((await client.chat({ mcp_servers: {} })).servers)).toEqual(["always"]);
  });

  it("adds a request-tier server for this request only", async () => {
    const client = await app({ config });
    const { servers } = await client.chat({
      mcp_servers: { extra: { url: PUBLIC_URL, auth: { type: "bearer", token: `${SENTINEL}-request-token` } } },
    });
    expect(names(servers)).toEqual(["always", "docs", "extra", "pinned"]);
    expect(servers.find((server) => server.name === "extra")).toMatchObject({
      source: "request",
      auth: { type: "bearer", hasToken: true },
    });
    expect(names((await client.chat({})).servers)).toEqual(["always", "docs", "pinned"]);
  });

  it("replaces a lower tier's server of the same name, reporting what it shadows", async () => {
    const client = await app({ config });
    const { servers } = await client.chat({ mcp_servers: { docs: { url: OTHER_URL } } });
    expect(servers.find((server) => server.name === "docs")).toMatchObject({
      source: "request",
      shadows: "config",
      url: OTHER_URL,
    });
  });

  it("drops a server for this request with { name: false }", async () => {
    const client = await app({ config });
    const { servers, errors } = await client.chat({ mcp_servers: { docs: false } });
    expect(names(servers)).toEqual(["always", "pinned"]);
    expect(errors).toEqual([]);
  });

  it("ignores request-tier entries for locked servers and reports them as name_locked", async () => {
    const client = await app({ config });
    const dropped = await client.chat({ mcp_servers: { pinned: false, always: false } });
    expect(names(dropped.servers)).toEqual(["always", "docs", "pinned"]);
    reported(dropped.errors, "name_locked", "pinned");
    reported(dropped.errors, "name_locked", "always");

    const replaced = await client.chat({ mcp_servers: { always: { url: OTHER_URL } } });
    expect(replaced.servers.find((server) => server.name === "always")).toMatchObject({ source: "config" });
    reported(replaced.errors, "name_locked", "always");
  });

  it("with mcp_select injects force_on servers plus exactly the selected ones", async () => {
    const client = await app({ config });
    expect(names((await client.chat({ mcp_select: ["docs"] })).servers)).toEqual(["always", "docs"]);
    expect(names((await client.chat({ mcp_select: ["optional"] })).servers)).toEqual(["always", "optional"]);
    expect(names((await client.chat({ mcp_select: ["optional", "pinned"] })).servers)).toEqual([
      "always",
      "optional",
      "pinned",
    ]);
  });

  it("with mcp_select: [] injects the force_on servers only", async () => {
    const client = await app({ config });
    expect(names((await client.chat({ mcp_select: [] })).servers)).toEqual(["always"]);
  });

  it("injects default_off servers only when selected", async () => {
    const client = await app({ config });
    expect(names((await client.chat({})).servers)).not.toContain("optional");
    const request = await client.chat({ mcp_servers: { later: { url: PUBLIC_URL, availability: "default_off" } } });
    expect(names(request.servers)).not.toContain("later");
    const selected = await client.chat({
      mcp_servers: { later: { url: PUBLIC_URL, availability: "default_off" } },
      mcp_select: ["later"],
    });
    expect(names(selected.servers)).toEqual(["always", "later"]);
  });

  it("never injects a server whose enabled is false, even when selected", async () => {
    const client = await app({ config });
    expect(names((await client.chat({})).servers)).not.toContain("disabled");
    expect(names((await client.chat({ mcp_select: ["disabled"] })).servers)).toEqual(["always"]);
    const requestDisabled = await client.chat({ mcp_servers: { off: { url: PUBLIC_URL, enabled: false } } });
    expect(names(requestDisabled.servers)).not.toContain("off");
  });

  it("reports a selected name that exists nowhere", async () => {
    const client = await app({ config });
    const { servers, errors } = await client.chat({ mcp_select: ["nope"] });
    expect(names(servers)).toEqual(["always"]);
    expect(errors.some((error: { server?: string }) => error.server === "nope")).toBe(true);
  });

  it("leaves out invalid request-tier entries and reports each with its code", async () => {
    const client = await app({ config });
    const { servers, errors } = await client.chat({
      mcp_servers: {
        shell: { command: "sh", args: ["-c", "id"] },
        leak: { url: PUBLIC_URL, headers: { "X-Key": `${PLACEHOLDER}OPENAI_API_KEY}` } },
        local: { url: "https://127.0.0.1/mcp" },
        meta: { url: "https://169.254.169.254/latest" },
        typo: { url: PUBLIC_URL, urll: "x" },
        ok: { url: PUBLIC_URL },
      },
    });
    expect(names(servers)).toEqual(["always", "docs", "ok", "pinned"]);
    reported(errors, "stdio_not_allowed", "shell");
    reported(errors, "env_placeholder_not_allowed", "leak");
    reported(errors, "blocked_address", "local");
    reported(errors, "blocked_address", "meta");
    expect(errors.some((error: { server?: string }) => error.server === "typo")).toBe(true);
  });

  it("merges the caller's scope and global servers in, by key; an anonymous request gets config and global only", async () => {
    const client = await app({ config });
    const key = newKey();
    expect((await client.register(key, { name: "mine", url: PUBLIC_URL })).status).toBe(201);
    expect((await client.register(key, { name: "docs", url: OTHER_URL })).status).toBe(201);
    const withKey = await client.chat({}, key);
    expect(names(withKey.servers)).toEqual(["always", "docs", "mine", "pinned"]);
    expect(withKey.servers.find((server) => server.name === "mine")).toMatchObject({ source: "scope" });
    expect(withKey.servers.find((server) => server.name === "docs")).toMatchObject({
      source: "scope",
      shadows: "config",
    });
    const overScope = await client.chat({ mcp_servers: { docs: { url: PUBLIC_URL } } }, key);
    expect(overScope.servers.find((server) => server.name === "docs")).toMatchObject({
      source: "request",
      shadows: "scope",
    });
    expect(names((await client.chat({})).servers)).toEqual(["always", "docs", "pinned"]);
    expect(names((await client.chat({}, newKey("other"))).servers)).toEqual(["always", "docs", "pinned"]);
  });

  it("never injects another tenant's server, even when selected by name", async () => {
    const client = await app({ config });
    const tenantA = newKey("a");
    const tenantB = newKey("b");
    await client.register(tenantB, { name: "github", url: PUBLIC_URL });
    const { servers, errors } = await client.chat({ mcp_select: ["github"] }, tenantA);
    expect(names(servers)).toEqual(["always"]);
    expect(errors.some((error: { server?: string }) => error.server === "github")).toBe(true);
  });

  it("reads the overrides from a JSON body only: a text body changes nothing", async () => {
    const client = await app({ config });
    const reply = await client.request("POST", "/chat", {
      raw: JSON.stringify({ mcp_servers: {} }),
      contentType: "text/plain",
    });
    expect(reply.status).toBe(200);
    expect(names(reply.json.servers)).toEqual(["always", "docs", "pinned"]);
  });
}
