import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMcpServerSide, type McpServerSide, type McpServerSideOptions } from "@mcp-server-side/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RawMcpServer, startRawMcpServer } from "../../core/test/security/raw-mcp-server.js";
import { type SecurityApp, startSecurityApp } from "./security-app.js";

/*
 * SPEC §2, §3, §11: the request tier (`mcp_servers` in the body of an app route) is the least trusted
 * input of all — any end user of the app can write it. Through a real Express app and POST /chat:
 * stdio is never spawned, `${VAR}` is never resolved, blocked addresses are never connected to,
 * prototype keys change nothing, and bad entries land in `errors` while the request goes on.
 */

const KEY = "request-tier-tenant";
const PLACEHOLDER = "$" + "{";
const ENV_NAME = `MCP_SECURITY_TEST_SECRET_${randomUUID().slice(0, 8).toUpperCase()}`;
const ENV_VALUE = `SENTINEL-env-${randomUUID()}`;
const ECHO = {
  name: "echo",
  description: "Echoes",
  inputSchema: { type: "object", properties: { text: { type: "string" } } },
};

let upstream: RawMcpServer;
const running: { app: SecurityApp; mcp: McpServerSide }[] = [];

beforeAll(async () => {
  process.env[ENV_NAME] = ENV_VALUE;
  upstream = await startRawMcpServer({ tools: [ECHO] });
});

afterEach(async () => {
  for (const { app, mcp } of running.splice(0)) {
    await app.close();
    await mcp.close();
  }
});

afterAll(async () => {
  delete process.env[ENV_NAME];
  await upstream?.close();
});

async function start(options: McpServerSideOptions = {}): Promise<SecurityApp> {
  const mcp = createMcpServerSide({ toolsTimeoutMs: 10_000, connectTimeoutMs: 10_000, ...options });
  const app = await startSecurityApp(mcp);
  running.push({ app, mcp });
  return app;
}

async function chat(app: SecurityApp, body: unknown): Promise<{ tools: string[]; errors: any[]; servers: any[] }> {
  const reply = await app.request("POST", "/chat", { key: KEY, body });
  expect(reply.status, reply.text).toBe(200);
  return reply.json;
}

describe("stdio in the request tier", () => {
  const marker = (): string => join(tmpdir(), `mcp-pwned-${randomUUID()}`);

  it("is never spawned: no tools from it, stdio_not_allowed in errors, and the command never ran", async () => {
    const app = await start();
    const files = [marker(), marker(), marker()];
    const entries: Record<string, unknown> = {
      sh: { command: "sh", args: ["-c", `touch ${files[0]}`] },
      node: {
        command: process.execPath,
        args: ["-e", `require("fs").writeFileSync(${JSON.stringify(files[1])}, "x")`],
      },
      npx: { command: "npx", args: ["-c", `touch ${files[2]}`], env: { PATH: process.env.PATH ?? "" } },
    };
    for (const select of [undefined, Object.keys(entries)]) {
      const result = await chat(app, { mcp_servers: entries, ...(select ? { mcp_select: select } : {}) });
      expect(result.tools).toEqual([]);
      for (const name of Object.keys(entries)) {
        expect(result.errors).toContainEqual(expect.objectContaining({ code: "stdio_not_allowed", server: name }));
        expect(result.servers.map((server: { name: string }) => server.name)).not.toContain(name);
      }
    }
    // Give a spawned child every chance to have written its file.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const file of files) expect(existsSync(file), file).toBe(false);
  });

  it("is refused even when the entry carries a url too, or hides the command behind a config server's name", async () => {
    const app = await start({
      config: { mcpServers: { docs: { url: upstream.url } } },
      allowPrivateNetworks: true,
      requireHttps: false,
    });
    const file = marker();
    const result = await chat(app, {
      mcp_servers: {
        both: { command: "sh", args: ["-c", `touch ${file}`], url: upstream.url },
        docs: { command: "sh", args: ["-c", `touch ${file}`] },
      },
    });
    expect(result.errors).toContainEqual(expect.objectContaining({ server: "both" }));
    expect(result.errors).toContainEqual(expect.objectContaining({ code: "stdio_not_allowed", server: "docs" }));
    // The config server itself is untouched: an invalid request-tier entry does not replace it.
    expect(result.tools).toEqual(["docs__echo"]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(existsSync(file)).toBe(false);
  });
});

describe("env placeholders in the request tier", () => {
  const where = (value: string): Record<string, unknown> => ({
    header: { url: upstream.url, headers: { "X-Leak": value } },
    url: { url: `${upstream.url}?leak=${value}` },
    token: { url: upstream.url, auth: { type: "bearer", token: value } },
    authHeader: { url: upstream.url, auth: { type: "headers", headers: { "X-Leak": value } } },
    description: { url: upstream.url, description: value },
  });

  for (const [label, value] of [
    ["a placeholder", `${PLACEHOLDER}${ENV_NAME}}`],
    ["a placeholder with a default", `${PLACEHOLDER}${ENV_NAME}:-x}`],
    ["an unterminated placeholder", `${PLACEHOLDER}${ENV_NAME}`],
    ["a placeholder inside text", `Bearer ${PLACEHOLDER}${ENV_NAME}}`],
  ] as const) {
    it(`is never resolved (${label}): env_placeholder_not_allowed, and the server never hears of it`, async () => {
      const app = await start({ allowPrivateNetworks: true, requireHttps: false });
      const before = upstream.requests.length;
      const entries = where(value);
      const result = await chat(app, { mcp_servers: entries });
      for (const name of Object.keys(entries)) {
        expect(result.errors).toContainEqual(
          expect.objectContaining({ code: "env_placeholder_not_allowed", server: name }),
        );
      }
      expect(result.tools).toEqual([]);
      expect(upstream.requests.length).toBe(before);
      for (const reply of app.replies) expect(reply).not.toContain(ENV_VALUE);
    });
  }
});

describe("blocked addresses in the request tier", () => {
  it("never connects to a loopback server unless the operator opened it, and never names the address", async () => {
    const app = await start();
    const before = upstream.requests.length;
    const port = new URL(upstream.url).port;
    const result = await chat(app, {
      mcp_servers: {
        plain: { url: upstream.url },
        spelled: { url: `https://%31%32%37.0.0.1:${port}/mcp` },
        mapped: { url: `https://[::ffff:7f00:1]:${port}/mcp` },
        local: { url: `https://localhost:${port}/mcp` },
        metadata: { url: "https://169.254.169.254/latest/meta-data/" },
      },
    });
    expect(result.tools).toEqual([]);
    for (const name of ["spelled", "mapped", "local", "metadata"]) {
      expect(result.errors).toContainEqual(expect.objectContaining({ code: "blocked_address", server: name }));
    }
    // Plain http to a host nobody opened is refused before it is resolved.
    expect(result.errors).toContainEqual(expect.objectContaining({ server: "plain" }));
    expect(JSON.stringify(result.errors)).not.toMatch(/127\.0\.0\.1|7f00|169\.254/);
    expect(upstream.requests.length).toBe(before);
  });

  it("accepts the same server once allowPrivateNetworks opens loopback (a public input that must work)", async () => {
    const app = await start({ allowPrivateNetworks: true, requireHttps: false });
    const result = await chat(app, { mcp_servers: { mine: { url: upstream.url } } });
    expect(result.errors).toEqual([]);
    expect(result.tools).toEqual(["mine__echo"]);
  });
});

describe("hostile shapes of mcp_servers", () => {
  // URL stands for the loopback upstream: a body that slipped through must never reach a real address.
  const pollutionBodies: [string, string][] = [
    ["__proto__ as a server name", `{"mcp_servers":{"__proto__":{"url":"https://1.1.1.1/mcp","polluted":true}}}`],
    [
      "__proto__ inside a definition",
      `{"mcp_servers":{"x":{"url":"https://1.1.1.1/mcp","__proto__":{"command":"sh","polluted":true}}}}`,
    ],
    ["constructor.prototype as a server", `{"mcp_servers":{"constructor":{"prototype":{"polluted":true}}}}`],
    [
      "__proto__ in headers",
      `{"mcp_servers":{"x":{"url":"https://1.1.1.1/mcp","headers":{"__proto__":{"polluted":"yes"}}}}}`,
    ],
    ["__proto__ as mcp_servers itself", `{"__proto__":{"mcp_servers":{"x":{"command":"sh"}}},"mcp_select":["x"]}`],
    ["__proto__ in mcp_select", `{"mcp_select":{"__proto__":["x"]}}`],
  ];
  for (const [label, raw] of pollutionBodies) {
    it(`changes no prototype and spawns nothing for ${label}`, async () => {
      const app = await start({ allowPrivateNetworks: true, requireHttps: false });
      const reply = await app.request("POST", "/chat", {
        key: KEY,
        raw: raw.replaceAll("https://1.1.1.1/mcp", upstream.url),
      });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.json.tools).toEqual([]);
      const probe = {} as Record<string, unknown>;
      expect(probe.polluted).toBeUndefined();
      expect(probe.command).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty("polluted");
      expect(Object.prototype).not.toHaveProperty("command");
      // The app keeps working for the next request.
      const next = await chat(app, { mcp_servers: { mine: { url: upstream.url } } });
      expect(next.tools).toEqual(["mine__echo"]);
    });
  }

  for (const [label, value] of [
    ["a string", "x"],
    ["an array", [{ url: "https://example.invalid/mcp" }]],
    ["a number", 42],
  ] as const) {
    it(`ignores mcp_servers given as ${label}, reports it, and inherits as if it were absent`, async () => {
      const app = await start({ config: { mcpServers: { docs: { url: upstream.url } } } });
      const result = await chat(app, { mcp_servers: value });
      expect(result.tools).toEqual(["docs__echo"]);
      expect(result.errors).toContainEqual(expect.objectContaining({ code: "invalid_request" }));
    });
  }

  it("refuses an entry with 3,000 headers without connecting, and keeps the rest of the request", async () => {
    const app = await start({ allowPrivateNetworks: true, requireHttps: false });
    const before = upstream.requests.length;
    const headers = Object.fromEntries(Array.from({ length: 3_000 }, (_, index) => [`X-H-${index}`, "v"]));
    const result = await chat(app, {
      mcp_servers: { flood: { url: upstream.url, headers }, mine: { url: upstream.url } },
    });
    expect(result.tools).toEqual(["mine__echo"]);
    expect(result.errors).toContainEqual(expect.objectContaining({ server: "flood" }));
    // Only `mine` connected: its initialize, notification and tools/list.
    expect(upstream.requests.slice(before).length).toBeLessThanOrEqual(4);
  });

  it("refuses header values with CR/LF in a request-tier entry (no header injection upstream)", async () => {
    const app = await start({ allowPrivateNetworks: true, requireHttps: false });
    const before = upstream.requests.length;
    const result = await chat(app, {
      mcp_servers: { crlf: { url: upstream.url, headers: { "X-A": "ok\r\nX-Injected: 1" } } },
    });
    expect(result.tools).toEqual([]);
    expect(result.errors).toContainEqual(expect.objectContaining({ server: "crlf" }));
    expect(upstream.requests.length).toBe(before);
  });

  it("names a server that is not valid (a key-building name) only as invalid, never as a key", async () => {
    const app = await start({ allowPrivateNetworks: true, requireHttps: false });
    const result = await chat(app, {
      mcp_servers: { "../global": { url: upstream.url }, "a:b": { url: upstream.url }, x__y: { url: upstream.url } },
    });
    expect(result.tools).toEqual([]);
    expect(result.errors.filter((error: { code: string }) => error.code === "invalid_request")).toHaveLength(3);
  });
});
