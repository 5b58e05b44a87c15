import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMcpServerSide } from "../../src/create.js";
import type { McpServerSideOptions } from "../../src/options.js";
import type { McpServerSide } from "../../src/types.js";
import { listen, startMcpServer } from "../../../../test/http/servers.js";
import type { RunningApp } from "../../../../test/http/matrix.js";
import { readReply, type Reply } from "../../../../test/support/reply.js";
import { expectThrown } from "../support/errors.js";
import { sequenceLookup, tableLookup } from "./network-helpers.js";

/*
 * The network rules of SPEC §9 end to end: an instance served over real HTTP on 127.0.0.1, tenants
 * registering through POST /mcp-servers, a real MCP server behind `allowedHosts: ["127.0.0.1:PORT"]`,
 * and the operator's log line that says which option would open a refused host.
 */

interface LogLine {
  level: string;
  text: string;
}

interface App {
  mcp: McpServerSide;
  running: RunningApp;
  lines: LogLine[];
  post(body: unknown, path?: string): Promise<Reply>;
  get(path: string): Promise<Reply>;
}

const apps: App[] = [];

async function startApp(options: McpServerSideOptions): Promise<App> {
  const lines: LogLine[] = [];
  const record =
    (level: string) =>
    (...args: unknown[]): void => {
      lines.push({ level, text: args.map(String).join(" ") });
    };
  const mcp = createMcpServerSide({
    connectTimeoutMs: 5_000,
    connectRetryDelayMs: 50,
    ...options,
    logger: { debug: record("debug"), info: record("info"), warn: record("warn"), error: record("error") },
  });
  await mcp.ready();
  const server = createAdaptorServer({
    fetch: async (request: Request) => (await mcp.handle(request)) ?? new Response("not found", { status: 404 }),
  }) as Server;
  const running = await listen(server);
  const send = async (method: string, path: string, body?: unknown): Promise<Reply> =>
    readReply(
      await fetch(`${running.url}${path}`, {
        method,
        headers: { "x-api-key": "tenant-key", ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
  const app: App = {
    mcp,
    running,
    lines,
    post: (body, path = "/mcp-servers") => send("POST", path, body),
    get: (path) => send("GET", path),
  };
  apps.push(app);
  return app;
}

let upstream: RunningApp & { mcpUrl: string };
let other: RunningApp & { mcpUrl: string };
let upstreamPort: number;

beforeAll(async () => {
  upstream = await startMcpServer();
  other = await startMcpServer();
  upstreamPort = Number(new URL(upstream.url).port);
});

afterAll(async () => {
  for (const app of apps) {
    await app.running.close();
    await app.mcp.close();
  }
  await upstream.close();
  await other.close();
});

describe("POST /mcp-servers refuses what the network rules refuse, with a problem document naming the field", () => {
  let app: App;
  beforeAll(async () => {
    app = await startApp({ lookup: tableLookup({}), allowPrivateNetworks: true, requireHttps: false });
  });

  const rows: [string, Record<string, unknown>, string, string][] = [
    ["a metadata literal", { url: "http://169.254.169.254/latest/meta-data/" }, "blocked_address", "/url"],
    ["GCP's IPv6 metadata address", { url: "http://[fd20:ce::254]/computeMetadata/v1/" }, "blocked_address", "/url"],
    ["Oracle's IPv6 metadata address", { url: "http://[fd00:c1::a9fe:a9fe]/opc/v2/" }, "blocked_address", "/url"],
    ["AWS EKS Pod Identity", { url: "http://169.254.170.23/v1/credentials" }, "blocked_address", "/url"],
    ["a metadata name", { url: "http://metadata.google.internal/" }, "blocked_address", "/url"],
    ["port 0", { url: "https://mcp.example.com:0/mcp" }, "invalid_url", "/url"],
    [
      "a Metadata-Flavor header",
      { url: "https://mcp.example.com/mcp", headers: { "Metadata-Flavor": "Google" } },
      "invalid_request",
      "/headers/Metadata-Flavor",
    ],
    [
      "an AWS metadata token in auth.headers",
      { url: "https://mcp.example.com/mcp", auth: { type: "headers", headers: { "X-aws-ec2-metadata-token": "t" } } },
      "invalid_request",
      "/auth/headers/X-aws-ec2-metadata-token",
    ],
    [
      "a bearer token with CRLF",
      { url: "https://mcp.example.com/mcp", auth: { type: "bearer", token: "t\r\nX-Evil: 1" } },
      "invalid_request",
      "/auth/token",
    ],
    [
      "32 headers beside a bearer token",
      {
        url: "https://mcp.example.com/mcp",
        headers: Object.fromEntries(Array.from({ length: 32 }, (_, index) => [`X-H-${index}`, "v"])),
        auth: { type: "bearer", token: "t" },
      },
      "invalid_request",
      "/headers",
    ],
  ];
  for (const [label, definition, code, pointer] of rows) {
    it(`answers 422 ${code} at ${pointer} for ${label}`, async () => {
      const reply = await app.post({ name: "candidate", ...definition });
      expect(reply.status, reply.text).toBe(422);
      expect(reply.headers.get("content-type")).toContain("application/problem+json");
      expect(reply.json.code).toBe(code);
      expect(reply.json.errors.map((error: { pointer: string }) => error.pointer)).toContain(pointer);
      expect(reply.text).not.toContain("X-Evil");
      expect((await app.get("/mcp-servers/candidate")).status).toBe(404);
    });
  }
});

describe("allowedHosts with a port, end to end", () => {
  it("opens a real MCP server on exactly the named port, and the tenant's tools are listed", async () => {
    const app = await startApp({ allowedHosts: [`127.0.0.1:${upstreamPort}`], lookup: tableLookup({}) });
    const created = await app.post({ name: "local", url: upstream.mcpUrl });
    expect(created.status, created.text).toBe(201);
    const tools = await app.get("/mcp-servers/local/tools");
    expect(tools.status, tools.text).toBe(200);
    expect(JSON.stringify(tools.json)).toContain("echo");

    // The same address on another port (another real MCP server) stays closed.
    const refused = await app.post({ name: "elsewhere", url: other.mcpUrl });
    expect(refused.status).toBe(422);
    expect(refused.json.code).toBe("blocked_address");
  });

  it("tells the operator, not the tenant, which option opens a refused loopback server", async () => {
    const app = await startApp({ lookup: tableLookup({}) });
    const reply = await app.post({ name: "local", url: upstream.mcpUrl });
    expect(reply.status).toBe(422);
    expect(reply.json.code).toBe("blocked_address");
    for (const word of ["allowedHosts", "allowPrivateNetworks", "requireHttps"]) expect(reply.text).not.toContain(word);
    const warnings = app.lines.filter((line) => line.level === "warn" && line.text.includes("refused"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.text).toContain(`allowedHosts: ["127.0.0.1:${upstreamPort}"]`);
    expect(warnings[0]?.text).toContain("allowPrivateNetworks");
  });

  it("throws invalid_config at creation for a malformed entry, naming it", () => {
    for (const entry of ["http://127.0.0.1:3000", "*.corp.example", "127.0.0.1:0", "[::1"]) {
      const error = expectThrown(() => createMcpServerSide({ allowedHosts: [entry] }), "invalid_config");
      expect(error.message).toContain(JSON.stringify(entry));
    }
  });
});

describe("the connect step refuses a metadata address even under allowPrivateNetworks", () => {
  it("registers a host resolving to loopback, then refuses it at connect once it resolves to GCP's IPv6 metadata address", async () => {
    // Registration sees 127.0.0.1 (opened by allowPrivateNetworks); every later answer is metadata.
    const lookup = sequenceLookup([["127.0.0.1"], ["fd20:ce::254"]]);
    const app = await startApp({ allowPrivateNetworks: true, requireHttps: false, lookup });
    const created = await app.post({ name: "rebind", url: `http://rebind.example:${upstreamPort}/mcp` });
    expect(created.status, created.text).toBe(201);
    const tools = await app.get("/mcp-servers/rebind/tools");
    expect(tools.status).toBeGreaterThanOrEqual(400);
    expect(tools.text).toContain("blocked_address");
    expect(tools.text).not.toContain("fd20:ce::254");
    expect(lookup.calls.length).toBeGreaterThan(1);
    const warnings = app.lines.filter((line) => line.level === "warn" && line.text.includes("cloud metadata"));
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.every((line) => !line.text.includes("fd20:ce::254"))).toBe(true);
  });
});

describe("the request tier gets the same rules", () => {
  it("drops request-tier servers with a metadata gate header, a metadata address or port 0, each with its own error", async () => {
    const app = await startApp({ allowPrivateNetworks: true, requireHttps: false, lookup: tableLookup({}) });
    const context = await app.mcp.forRequest(
      new Request("http://app.test/chat", { method: "POST", headers: { "x-api-key": "tenant-key" } }),
      {
        servers: {
          flavored: { url: "https://mcp.example.com/mcp", headers: { "Metadata-Flavor": "Google" } },
          gcp6: { url: "http://[fd20:ce::254]/computeMetadata/v1/" },
          zero: { url: "https://mcp.example.com:0/mcp" },
        },
      },
    );
    // The request tier is read when the tools are asked for.
    await context.tools();
    const byServer = Object.fromEntries(context.errors.map((error) => [error.server, error.code]));
    expect(byServer).toMatchObject({ flavored: "invalid_request", gcp6: "blocked_address", zero: "invalid_url" });
    expect(JSON.stringify(context.errors)).not.toContain("Google");
  });
});
