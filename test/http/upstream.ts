import { afterAll, beforeAll, expect, it } from "vitest";
import { type MatrixContext, PLACEHOLDER, PUBLIC_URL, type RunningApp, expectProblem, newKey } from "./matrix.js";
import { listen, startMcpServer } from "./servers.js";
import { createServer } from "node:http";

/** The routes that talk to an MCP server (SPEC §4, §11): POST /test and GET /:name/tools, against a real one. */
export function upstreamScenarios({ app }: MatrixContext): void {
  let upstream: RunningApp & { mcpUrl: string };
  let closedPortUrl: string;
  beforeAll(async () => {
    upstream = await startMcpServer();
    const closed = await listen(createServer());
    closedPortUrl = `${closed.url}/mcp`;
    await closed.close();
  });
  afterAll(async () => {
    await upstream?.close();
  });

  // Loopback is opened for these scenarios only: the upstream server is on 127.0.0.1.
  const loopback = { allowPrivateNetworks: true, requireHttps: false };

  it("POST /test connects to a candidate without saving it: 200 ok with its tools and latency", async () => {
    const client = await app(loopback);
    const key = newKey();
    const reply = await client.request("POST", `${client.base}/test`, { key, body: { url: upstream.mcpUrl } });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ ok: true, latencyMs: expect.any(Number) });
    expect(reply.json.tools).toEqual(
      expect.arrayContaining([
        { name: "echo", description: "Echoes the text back" },
        { name: "add", description: "Adds two numbers" },
      ]),
    );
    expect(await client.list(key)).toEqual([]);
  });

  it("POST /test answers ok: false with blocked_address for an address the SSRF rules block", async () => {
    const client = await app();
    const reply = await client.request("POST", `${client.base}/test`, {
      key: newKey(),
      body: { url: "https://127.0.0.1:1/mcp" },
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ ok: false, error: { code: "blocked_address", message: expect.any(String) } });
    expect(reply.text).not.toContain("127.0.0.1");
  });

  it("POST /test answers ok: false with not_mcp_server for an HTTP endpoint that is not MCP", async () => {
    const client = await app(loopback);
    const reply = await client.request("POST", `${client.base}/test`, {
      key: newKey(),
      body: { url: `${upstream.url}/elsewhere` },
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ ok: false, error: { code: "not_mcp_server" } });
  });

  it("POST /test answers ok: false with connection_failed when nothing listens", async () => {
    const client = await app(loopback);
    const reply = await client.request("POST", `${client.base}/test`, { key: newKey(), body: { url: closedPortUrl } });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ ok: false, error: { code: "connection_failed" } });
  });

  it("POST /test answers 422 for a candidate that is not a valid definition for the caller", async () => {
    const client = await app(loopback);
    const key = newKey();
    expectProblem(
      await client.request("POST", `${client.base}/test`, { key, body: { command: "sh" } }),
      422,
      "stdio_not_allowed",
    );
    expectProblem(
      await client.request("POST", `${client.base}/test`, { key, body: { url: PUBLIC_URL, bogus: 1 } }),
      422,
    );
    expectProblem(
      await client.request("POST", `${client.base}/test`, {
        key,
        body: { url: PUBLIC_URL, headers: { A: `${PLACEHOLDER}X}` } },
      }),
      422,
      "env_placeholder_not_allowed",
    );
  });

  it("GET /:name/tools lists the server's tools after allow/deny, with the AI SDK names", async () => {
    const client = await app(loopback);
    const key = newKey();
    const created = await client.register(key, { name: "fixture", url: upstream.mcpUrl, tools: { deny: ["add"] } });
    expect(created.status, created.text).toBe(201);
    const reply = await client.request("GET", `${client.base}/fixture/tools`, { key });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.tools).toEqual([
      {
        name: "echo",
        toolName: "fixture__echo",
        description: "Echoes the text back",
        inputSchema: expect.objectContaining({ type: "object" }),
      },
    ]);
  });

  it("GET /:name/tools is 404 for an unknown name and 502 upstream_error when the server is down", async () => {
    const client = await app(loopback);
    const key = newKey();
    expectProblem(await client.request("GET", `${client.base}/nope/tools`, { key }), 404, "not_found");
    await client.register(key, { name: "down", url: closedPortUrl });
    expectProblem(await client.request("GET", `${client.base}/down/tools`, { key }), 502, "upstream_error");
  });
}
