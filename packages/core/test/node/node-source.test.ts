import { createServer, type IncomingMessage } from "node:http";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningApp } from "../../../../test/http/matrix.js";
import { listen } from "../../../../test/http/servers.js";
import { forRequestSource } from "@mcp-server-side/core/adapter";
import { createMcpServerSide, type McpServerSide } from "@mcp-server-side/core";
import { nodeRequestSource, toWebRequest } from "@mcp-server-side/core/node";

const running: RunningApp[] = [];
const instances: McpServerSide[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
  await Promise.all(instances.splice(0).map((mcp) => mcp.close()));
});

function instance(options: Parameters<typeof createMcpServerSide>[0] = {}): McpServerSide {
  const mcp = createMcpServerSide({ logger: false, warmup: false, ...options });
  instances.push(mcp);
  return mcp;
}

/** Sends `head` (request line and header lines) over a raw socket to a server that runs `inspect` on the request. */
async function withRawRequest<T>(head: string, inspect: (req: IncomingMessage) => T | Promise<T>): Promise<T> {
  let result: Promise<T> | undefined;
  const app = await listen(
    createServer((req, res) => {
      result = Promise.resolve(inspect(req));
      result.finally(() => res.end("ok")).catch(() => undefined);
    }),
  );
  running.push(app);
  const { port } = new URL(app.url);
  await new Promise<void>((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1", () => socket.write(`${head}\r\nConnection: close\r\n\r\n`));
    socket.on("data", () => undefined);
    socket.on("close", () => resolve());
    socket.on("error", reject);
  });
  return result!;
}

describe("nodeRequestSource", () => {
  it("reads each header as the Web request toWebRequest builds would: duplicates joined in order, any case, edges trimmed", async () => {
    const names = ["x-api-key", "authorization", "x-request-id", "x-missing", "X-API-KEY"];
    const [fromSource, fromWeb] = await withRawRequest(
      [
        "GET /chat HTTP/1.1",
        "Host: localhost",
        "X-Api-Key:   key-one  ",
        "authorization: Bearer first",
        "AUTHORIZATION: Bearer second",
        "x-api-key: key-two",
        "x-request-id: req-1",
      ].join("\r\n"),
      (req) => {
        const headers = nodeRequestSource(req).headers;
        const web = toWebRequest(req, { headersOnly: true }).headers;
        return [names.map((name) => headers.get(name)), names.map((name) => web.get(name))];
      },
    );
    expect(fromSource).toEqual(fromWeb);
    expect(fromSource[0]).toBe("key-one, key-two");
    expect(fromSource[1]).toBe("Bearer first, Bearer second");
    expect(fromSource[3]).toBeNull();
  });

  it("builds the Web request once, on the first call", async () => {
    const same = await withRawRequest("GET /chat?x=1 HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: k", (req) => {
      const source = nodeRequestSource(req);
      const request = source.request();
      return request === source.request() && request.url === "http://localhost/chat?x=1";
    });
    expect(same).toBe(true);
  });
});

describe("forRequestSource", () => {
  /** A source that counts how often its Web request was asked for. */
  function countingSource(headers: Record<string, string>): {
    source: Parameters<typeof forRequestSource>[1];
    built: () => number;
  } {
    let built = 0;
    const request = new Request("http://localhost/chat", { headers });
    return {
      source: {
        headers: request.headers,
        request: () => {
          built++;
          return request;
        },
      },
      built: () => built,
    };
  }

  it("identifies by the headers alone with the built-in identify: tools and identity need no Web request", async () => {
    const mcp = instance();
    const { source, built } = countingSource({ "x-api-key": "k" });
    const context = forRequestSource(mcp, source);
    const byHeaders = await context.identity();
    expect(byHeaders).toEqual(
      await mcp.forRequest(new Request("http://localhost/", { headers: { "x-api-key": "k" } })).identity(),
    );
    expect(await context.tools()).toEqual({});
    expect(await context.servers()).toEqual([]);
    expect(built()).toBe(0);
  });

  it("hands a custom identify the Web request", async () => {
    const seen: Request[] = [];
    const mcp = instance({
      identify: (request) => {
        seen.push(request);
        return { scope: request.headers.get("x-tenant") ?? "none" };
      },
    });
    const { source, built } = countingSource({ "x-tenant": "acme" });
    expect(await forRequestSource(mcp, source).identity()).toEqual({ scope: "acme" });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(Request);
    expect(built()).toBe(1);
  });

  it("builds the Web request when a hook needs the request id, and the hook gets the request's own id", async () => {
    const mcp = instance();
    const ids: (string | undefined)[] = [];
    mcp.hooks.hook("tools:resolved", (payload) => {
      ids.push(payload.requestId);
    });
    const { source, built } = countingSource({ "x-request-id": "req-abc" });
    await forRequestSource(mcp, source).tools();
    expect(ids).toEqual(["req-abc"]);
    expect(built()).toBe(1);
  });

  it("gives an instance this core did not make the Web request through its forRequest", async () => {
    const mcp = instance();
    const wrapper: McpServerSide = { ...mcp, forRequest: (request, overrides) => mcp.forRequest(request, overrides) };
    const { source, built } = countingSource({ "x-api-key": "k" });
    expect((await forRequestSource(wrapper, source).identity())?.scope).toMatch(/^key-/);
    expect(built()).toBe(1);
  });
});
