import { createMcpServerSide, type McpServerSide } from "@mcp-server-side/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RawMcpServer, startRawMcpServer } from "../../core/test/security/raw-mcp-server.js";
import { type SecurityApp, startSecurityApp } from "./security-app.js";

/*
 * SPEC §9: nothing a caller or a server sends may cost more than linear time, because it would be
 * paid on the event loop that every other tenant shares. Through a real Express app on a port: an
 * anonymous-tier attacker sends a request-tier server whose tool filter has as many stars as the
 * schema allows, pointing at a real MCP server on 127.0.0.1 whose tool names are as long as a server
 * may make them and whose descriptions and instructions are built against the sanitizer. (With the
 * filter compiled to `.*` after `.*`, one such name takes longer than any test would wait.) Meanwhile
 * another tenant's `tools()` and `GET /mcp-servers` still answer. No timing is asserted beyond the
 * generous test timeout: the outcome and that everything answered.
 */

const HOSTILE_KEY = "hostile-tenant";
const OTHER_KEY = "other-tenant";
/** `*a*a…*b` at the pattern length cap; tried against a name of 'a's it backtracks exponentially. */
const STARRY_B = `${"*a".repeat(63)}b`;
const STARRY_C = `${"*a".repeat(63)}c`;
const HOSTILE_TEXT = "eyJ-a.b://".repeat(400);

let hostile: RawMcpServer;
let friendly: RawMcpServer;
let mcp: McpServerSide;
let app: SecurityApp;

beforeAll(async () => {
  const names = Array.from({ length: 127 }, (_, index) => `${"a".repeat(250)}${String(index).padStart(6, "0")}`);
  hostile = await startRawMcpServer({
    instructions: HOSTILE_TEXT,
    tools: [...names, `${"a".repeat(255)}b`].map((name) => ({
      name,
      description: HOSTILE_TEXT,
      inputSchema: { type: "object", properties: { q: { type: "string", description: HOSTILE_TEXT } } },
    })),
  });
  friendly = await startRawMcpServer({
    tools: [{ name: "echo", description: "Echoes", inputSchema: { type: "object", properties: {} } }],
  });
  mcp = createMcpServerSide({
    config: { mcpServers: { docs: { url: friendly.url } } },
    allowPrivateNetworks: true,
    requireHttps: false,
  });
  app = await startSecurityApp(mcp);
});

afterAll(async () => {
  await app?.close();
  await mcp?.close();
  await hostile?.close();
  await friendly?.close();
});

describe("a request built to cost super-linear time", () => {
  it("is answered, and another tenant's tools() and GET /mcp-servers answer alongside it", async () => {
    const hostileBody = {
      mcp_servers: {
        evil: {
          url: hostile.url,
          description: HOSTILE_TEXT.slice(0, 1024),
          tools: {
            allow: Array.from({ length: 64 }, () => STARRY_B),
            deny: Array.from({ length: 64 }, () => STARRY_C),
            requireApproval: Array.from({ length: 64 }, () => STARRY_B),
          },
        },
      },
    };
    const hostileReplies = Array.from({ length: 3 }, () =>
      app.request("POST", "/chat", { key: HOSTILE_KEY, body: hostileBody }),
    );
    const otherReplies = Array.from({ length: 3 }, () => [
      app.request("POST", "/chat", { key: OTHER_KEY, body: {} }),
      app.request("GET", "/mcp-servers", { key: OTHER_KEY }),
    ]).flat();

    for (const reply of await Promise.all(otherReplies)) expect(reply.status, reply.text).toBe(200);
    for (const reply of (await Promise.all(otherReplies)).filter((_, index) => index % 2 === 0)) {
      expect(reply.json.tools).toEqual(["docs__echo"]);
    }
    for (const reply of (await Promise.all(otherReplies)).filter((_, index) => index % 2 === 1)) {
      expect(reply.json.servers.map((server: { name: string }) => server.name)).toEqual(["docs"]);
    }

    for (const reply of await Promise.all(hostileReplies)) {
      expect(reply.status, reply.text).toBe(200);
      // The filter really ran over every name: only the one name ending in 'b' passes allow and deny.
      const own = (reply.json.tools as string[]).filter((name) => name !== "docs__echo");
      expect(own).toHaveLength(1);
      expect(reply.json.errors).toEqual([]);
      // What the server wrote went through the sanitizer: its instructions came back.
      expect(JSON.stringify(reply.json.instructions)).toContain("eyJ-a.b://");
    }
    expect(hostile.methods).toContain("tools/list");
  }, 60_000);
});
