import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMcpServerSide } from "../../src/create.js";
import type { McpServerSide } from "../../src/types.js";
import { echoTool, type McpFixture, startStreamableServer } from "../fixtures/mcp-servers.js";

/**
 * A front server on 127.0.0.1: `/hop/N` answers 307 to `/hop/N-1`, `/hop/0` to `/mcp`, and `/mcp` is
 * proxied to a real MCP server. Every hop stays within one origin, so only the hop count decides.
 */
async function startRedirectingFront(upstream: URL): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? "");
    const hop = /^\/hop\/(\d+)$/.exec(req.url ?? "");
    if (hop) {
      const left = Number(hop[1]);
      res.writeHead(307, { location: left === 0 ? "/mcp" : `/hop/${left - 1}` }).end();
      return;
    }
    const proxied = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: upstream.pathname,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(proxied);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("redirects of a tenant's MCP server", () => {
  let upstream: McpFixture;
  let front: Awaited<ReturnType<typeof startRedirectingFront>>;
  let mcp: McpServerSide;

  beforeAll(async () => {
    upstream = await startStreamableServer({ tools: [echoTool()] });
    front = await startRedirectingFront(new URL(upstream.url));
    mcp = createMcpServerSide({ allowedHosts: ["127.0.0.1"], connectTimeoutMs: 20_000 });
  });

  afterAll(async () => {
    await mcp.close();
    await front.close();
    await upstream.close();
  });

  const test = async (url: string): Promise<{ ok: boolean; error?: { code: string; message: string } }> => {
    const response = await mcp.handle(
      new Request("http://app.test/mcp-servers/test", {
        method: "POST",
        headers: { "x-api-key": "tenant-redirects", "content-type": "application/json" },
        body: JSON.stringify({ url }),
      }),
    );
    expect(response?.status).toBe(200);
    return (await response?.json()) as { ok: boolean; error?: { code: string; message: string } };
  };

  it("follows same-origin redirects up to 5 hops", async () => {
    const result = await test(`${front.url}/hop/4`);
    expect(result.ok, JSON.stringify(result.error)).toBe(true);
  });

  it("refuses a sixth hop, even within the same origin, before the MCP server is reached", async () => {
    const before = upstream.initializations;
    front.hits.length = 0;
    const result = await test(`${front.url}/hop/5`);
    expect(result.ok).toBe(false);
    expect(result.error?.message).not.toContain("127.0.0.1");
    expect(upstream.initializations).toBe(before);
    expect(front.hits.filter((path) => path === "/mcp")).toEqual([]);
  });
});
