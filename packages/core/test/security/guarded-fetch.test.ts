import { getEventListeners } from "node:events";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { McpServerSideError } from "../../src/errors.js";
import type { NetworkPolicy } from "../../src/options.js";
import { type GuardedFetch, createCappedFetch, createGuardedFetch } from "../../src/security/guarded-fetch.js";
import { createNetworkPolicy, validateRemoteUrl } from "../../src/security/ssrf.js";
import { badInputs, networkPolicy, sequenceLookup, tableLookup } from "./network-helpers.js";

interface Seen {
  method: string;
  host: string;
  path: string;
  body: string;
}

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

let server: Server;
let port: number;
let seen: Seen[] = [];
let handler: Handler = (_request, response) => response.end("hello");
const pendingReleases: (() => void)[] = [];

function mcpHandler(request: IncomingMessage, response: ServerResponse, body: string): void {
  const mcp = new McpServer({ name: "guarded-fetch-test", version: "1.0.0" });
  mcp.registerTool(
    "echo",
    { description: "Returns its text.", inputSchema: { text: z.string() } },
    async ({ text }) => ({
      content: [{ type: "text", text }],
    }),
  );
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  response.on("close", () => {
    void transport.close();
    void mcp.close();
  });
  mcp
    .connect(transport)
    .then(() => transport.handleRequest(request, response, body === "" ? undefined : JSON.parse(body)))
    .catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
}

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      seen.push({ method: request.method ?? "", host: request.headers.host ?? "", path: request.url ?? "", body });
      handler(request, response, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const release of pendingReleases) release();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
  handler = (_request, response) => response.end("hello");
});

const fetchers: GuardedFetch[] = [];
function guarded(policy: NetworkPolicy, options?: Parameters<typeof createGuardedFetch>[1]): GuardedFetch {
  const fetcher = createGuardedFetch(policy, options);
  fetchers.push(fetcher);
  return fetcher;
}
afterAll(async () => {
  await Promise.all(fetchers.map((fetcher) => fetcher.close()));
});

async function rejection(promise: Promise<unknown>): Promise<McpServerSideError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (reason: unknown) => reason,
  );
  if (!McpServerSideError.isInstance(error)) throw new Error(`expected an McpServerSideError, got ${String(error)}`);
  return error;
}

/** Loopback hosts used by the tests, opened by name: tests never leave the machine. */
const loopbackNames = {
  "mcp.example.com": ["127.0.0.1"],
  "other.example.net": ["127.0.0.1"],
  "mcp.corp.example": ["127.0.0.1"],
};

describe("the guarded fetch reaches servers the policy allows", () => {
  it("fetches from a loopback server that allowPrivateNetworks opens", async () => {
    const fetcher = guarded(networkPolicy({ allowPrivateNetworks: true }));
    const response = await fetcher(`http://127.0.0.1:${port}/ok`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("hello");
    expect(seen).toHaveLength(1);
  });

  it("fetches through a name that allowedHosts opens, resolved by the injected lookup", async () => {
    const lookup = tableLookup(loopbackNames);
    const fetcher = guarded(networkPolicy({ allowedHosts: ["mcp.corp.example"], lookup }));
    const response = await fetcher(`http://mcp.corp.example:${port}/ok`, {
      method: "POST",
      body: "ping",
      headers: { "X-Test": "1" },
    });
    expect(await response.text()).toBe("hello");
    expect(seen).toEqual([{ method: "POST", host: `mcp.corp.example:${port}`, path: "/ok", body: "ping" }]);
    expect(lookup.calls).toContain("mcp.corp.example");
  });

  it("answers the global Response class, the only one the MCP SDK's OAuth code reads an error body from", async () => {
    handler = (_request, response) => response.writeHead(400, { "content-type": "application/json" }).end("{}");
    const response = await guarded(networkPolicy({ allowPrivateNetworks: true }))(`http://127.0.0.1:${port}/token`);
    expect(response).toBeInstanceOf(Response);
  });

  it("accepts a Request object as input", async () => {
    const fetcher = guarded(networkPolicy({ allowPrivateNetworks: true }));
    const response = await fetcher(new Request(`http://127.0.0.1:${port}/req`, { method: "PUT", body: "payload" }));
    expect(response.status).toBe(200);
    expect(seen).toEqual([{ method: "PUT", host: `127.0.0.1:${port}`, path: "/req", body: "payload" }]);
  });

  it("serves a real MCP client over Streamable HTTP, event streams included", async () => {
    handler = mcpHandler;
    const fetcher = guarded(networkPolicy({ allowPrivateNetworks: true }), { maxResponseBytes: 64 * 1024 });
    const client = new Client({ name: "test-client", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), { fetch: fetcher }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(["echo"]);
      const result = await client.callTool({ name: "echo", arguments: { text: "through the guard" } });
      expect(result.content).toEqual([{ type: "text", text: "through the guard" }]);
    } finally {
      await client.close();
    }
    expect(seen.length).toBeGreaterThan(0);
  });
});

describe("the guarded fetch refuses blocked addresses inside the connect step", () => {
  const literals = [
    "127.0.0.1",
    "0",
    "0.0.0.0",
    "[::]",
    "[::1]",
    "[::ffff:7f00:1]",
    "[::ffff:127.0.0.1]",
    "2130706433",
    "0x7f.1",
    "127.1",
    "[64:ff9b::7f00:1]",
  ];
  for (const host of literals) {
    it(`refuses http://${host}:port with blocked_address and sends nothing`, async () => {
      const lookup = tableLookup({});
      const fetcher = guarded(networkPolicy({ requireHttps: false, lookup }));
      const error = await rejection(fetcher(`http://${host}:${port}/mcp`));
      expect(error.code).toBe("blocked_address");
      expect(error.message).not.toMatch(/127\.0\.0\.1|::1|0\.0\.0\.0|7f00/);
      expect(seen).toEqual([]);
      expect(lookup.calls).toEqual([]);
    });
  }

  it("refuses https to a loopback literal before any TLS handshake", async () => {
    const fetcher = guarded(networkPolicy());
    expect((await rejection(fetcher(`https://127.0.0.1:${port}/mcp`))).code).toBe("blocked_address");
    expect(seen).toEqual([]);
  });

  it("refuses localhost by name without asking the resolver", async () => {
    const lookup = sequenceLookup([["93.184.216.34"]]);
    const fetcher = guarded(networkPolicy({ requireHttps: false, lookup }));
    expect((await rejection(fetcher(`http://localhost:${port}/mcp`))).code).toBe("blocked_address");
    expect((await rejection(fetcher(`http://api.localhost:${port}/mcp`))).code).toBe("blocked_address");
    expect(lookup.calls).toEqual([]);
    expect(seen).toEqual([]);
  });

  it("reaches localhost when allowPrivateNetworks opens loopback", async () => {
    const fetcher = guarded(networkPolicy({ allowPrivateNetworks: true }));
    expect((await fetcher(`http://localhost:${port}/ok`)).status).toBe(200);
    expect(seen).toHaveLength(1);
  });

  it("fails DNS rebinding: public at validation, loopback at connect, and the server receives zero requests", async () => {
    const lookup = sequenceLookup([["93.184.216.34"], ["127.0.0.1"]]);
    const policy = networkPolicy({ requireHttps: false, lookup });
    const url = `http://rebind.example.com:${port}/mcp`;
    const validated = await validateRemoteUrl(url, policy);
    expect(validated.ok).toBe(true);
    const error = await rejection(guarded(policy)(url));
    expect(error.code).toBe("blocked_address");
    expect(error.message).not.toContain("127.0.0.1");
    expect(lookup.calls).toEqual(["rebind.example.com", "rebind.example.com"]);
    expect(seen).toEqual([]);
  });

  it("refuses a host when any one of its connect-time answers is blocked", async () => {
    const lookup = tableLookup({ "mixed.example.com": ["127.0.0.1", "169.254.169.254"] });
    const fetcher = guarded(networkPolicy({ allowPrivateNetworks: true, lookup }));
    expect((await rejection(fetcher(`http://mixed.example.com:${port}/mcp`))).code).toBe("blocked_address");
    expect(seen).toEqual([]);
  });

  it("refuses plain http to a host nobody opened before resolving it", async () => {
    const lookup = tableLookup(loopbackNames);
    const fetcher = guarded(networkPolicy({ lookup }));
    expect((await rejection(fetcher(`http://mcp.example.com:${port}/mcp`))).code).toBe("invalid_url");
    expect(lookup.calls).toEqual([]);
    expect(seen).toEqual([]);
  });

  it("refuses URLs with userinfo or another scheme", async () => {
    const fetcher = guarded(networkPolicy({ allowPrivateNetworks: true }));
    expect((await rejection(fetcher(`http://u:p@127.0.0.1:${port}/`))).code).toBe("invalid_url");
    expect((await rejection(fetcher("data:text/plain,hi"))).code).toBe("invalid_url");
    expect(seen).toEqual([]);
  });
});

describe("the connect step keeps metadata closed under allowPrivateNetworks and honours allowedHosts ports", () => {
  const metadata = [
    "169.254.169.254",
    "169.254.170.2",
    "169.254.170.23",
    "168.63.129.16",
    "100.100.100.200",
    "192.0.0.192",
    "fd00:ec2::254",
    "fd00:ec2::23",
    "fd20:ce::254",
    "fd00:c1::a9fe:a9fe",
    "fd00:a9fe:a9fe::1",
    "::ffff:a9fe:a9fe",
    "64:ff9b::6464:64c8",
  ];
  for (const address of metadata) {
    it(`refuses a name answering 127.0.0.1 and ${address} at connect, though 127.0.0.1 alone would be reached`, async () => {
      const lines: string[] = [];
      const lookup = tableLookup({ "svc.example.com": ["127.0.0.1", address] });
      const policy = {
        ...networkPolicy({ allowPrivateNetworks: true, requireHttps: false, lookup }),
        logger: { warn: (...args: unknown[]) => lines.push(args.map(String).join(" ")) },
      };
      const error = await rejection(guarded(policy)(`http://svc.example.com:${port}/mcp`));
      expect(error.code).toBe("blocked_address");
      expect(error.message).not.toContain(address);
      expect(seen).toEqual([]);
      expect(lines.some((line) => line.includes("cloud metadata"))).toBe(true);
      expect(lines.join("\n")).not.toContain(address);
    });
  }

  it("reaches the name when it answers 127.0.0.1 alone (the rows above fail only for the metadata answer)", async () => {
    const lookup = tableLookup({ "svc.example.com": ["127.0.0.1"] });
    const fetcher = guarded(networkPolicy({ allowPrivateNetworks: true, requireHttps: false, lookup }));
    expect((await fetcher(`http://svc.example.com:${port}/ok`)).status).toBe(200);
    expect(seen).toHaveLength(1);
  });

  it("opens a name or a literal on the port allowedHosts names, over plain http, and nothing on another port", async () => {
    const lookup = tableLookup(loopbackNames);
    const opened = guarded(
      createNetworkPolicy({ allowedHosts: [`mcp.corp.example:${port}`, `127.0.0.1:${port}`], lookup }),
    );
    expect((await opened(`http://mcp.corp.example:${port}/ok`)).status).toBe(200);
    expect((await opened(`http://127.0.0.1:${port}/ok`)).status).toBe(200);
    expect(seen).toHaveLength(2);

    const elsewhere = guarded(
      createNetworkPolicy({
        allowedHosts: [`mcp.corp.example:${port + 1}`, `127.0.0.1:${port + 1}`],
        requireHttps: false,
        lookup,
      }),
    );
    expect((await rejection(elsewhere(`http://mcp.corp.example:${port}/ok`))).code).toBe("blocked_address");
    expect((await rejection(elsewhere(`http://127.0.0.1:${port}/ok`))).code).toBe("blocked_address");
    expect(seen).toHaveLength(2);
  });

  it("refuses port 0 before connecting", async () => {
    const fetcher = guarded(networkPolicy({ allowPrivateNetworks: true }));
    expect((await rejection(fetcher("http://127.0.0.1:0/mcp"))).code).toBe("invalid_url");
  });
});

describe("redirects", () => {
  const toLoopback = (url: string): string => url.replace(/^https:\/\/([a-z.]+)\//, `http://$1:${port}/`);

  for (const sample of badInputs("ssrf-redirect")) {
    const input = sample.input as { url: string; redirects: { status: number; location: string }[] };
    it(`${sample.expect}s ${input.url} redirecting ${input.redirects.length} time(s) to ${input.redirects.at(-1)?.location} (${sample.why})`, async () => {
      // The sample's public addresses become loopback names opened by allowedHosts: tests never leave the machine.
      const script = new Map<string, { status: number; location: string }>();
      let path = new URL(input.url).pathname;
      for (const redirect of input.redirects) {
        script.set(path, { status: redirect.status, location: toLoopback(redirect.location) });
        path = new URL(redirect.location).pathname;
      }
      handler = (request, response) => {
        const step = script.get(request.url ?? "");
        if (step === undefined) response.end("arrived");
        else response.writeHead(step.status, { location: step.location }).end();
      };
      const fetcher = guarded(
        networkPolicy({ allowedHosts: Object.keys(loopbackNames), lookup: tableLookup(loopbackNames) }),
      );
      const outcome = fetcher(toLoopback(input.url));
      if (sample.expect === "accept") {
        expect(await (await outcome).text()).toBe("arrived");
      } else {
        const error = await rejection(outcome);
        expect(["blocked_address", "connection_failed"]).toContain(error.code);
        expect(error.message).not.toContain("169.254");
      }
      expect(seen.map((request) => request.path)).not.toContain("/latest/meta-data/");
      expect(seen.length).toBeLessThanOrEqual(6);
    });
  }

  const chain = (hops: number): Handler => {
    return (request, response) => {
      const current = Number(/^\/r(\d+)$/.exec(request.url ?? "")?.[1] ?? -1);
      if (current + 1 < hops) response.writeHead(307, { location: `/r${current + 1}` }).end();
      else response.end(`arrived after ${hops} redirects`);
    };
  };

  it("follows five same-origin redirects", async () => {
    handler = chain(5);
    const fetcher = guarded(networkPolicy({ allowPrivateNetworks: true }));
    const response = await fetcher(`http://127.0.0.1:${port}/start`);
    expect(await response.text()).toBe("arrived after 5 redirects");
    expect(seen.map((request) => request.path)).toEqual(["/start", "/r0", "/r1", "/r2", "/r3", "/r4"]);
  });

  it("stops at the sixth redirect", async () => {
    handler = chain(6);
    const fetcher = guarded(networkPolicy({ allowPrivateNetworks: true }));
    expect((await rejection(fetcher(`http://127.0.0.1:${port}/start`))).code).toBe("connection_failed");
    expect(seen).toHaveLength(6);
  });

  it("honours a smaller maxRedirects", async () => {
    handler = chain(2);
    const fetcher = guarded(networkPolicy({ allowPrivateNetworks: true }), { maxRedirects: 1 });
    await rejection(fetcher(`http://127.0.0.1:${port}/start`));
    expect(seen).toHaveLength(2);
  });

  for (const [label, location] of [
    ["another host opened by allowedHosts", () => `http://other.example.net:${port}/x`],
    ["the same host on another port", () => `http://mcp.example.com:${port + 1}/x`],
    ["https on the same host", () => `https://mcp.example.com:${port}/x`],
    ["the cloud metadata address", () => "http://169.254.169.254/latest/meta-data/"],
  ] as const) {
    it(`does not follow a redirect to ${label}`, async () => {
      handler = (request, response) => {
        if (request.url === "/start") response.writeHead(302, { location: location() }).end();
        else response.end("should not arrive");
      };
      const fetcher = guarded(
        networkPolicy({ allowedHosts: Object.keys(loopbackNames), lookup: tableLookup(loopbackNames) }),
      );
      expect((await rejection(fetcher(`http://mcp.example.com:${port}/start`))).code).toBe("blocked_address");
      expect(seen.map((request) => request.path)).toEqual(["/start"]);
    });
  }

  it("refuses a same-origin redirect that adds userinfo", async () => {
    handler = (_request, response) => response.writeHead(302, { location: `http://user:pw@127.0.0.1:${port}/x` }).end();
    const fetcher = guarded(networkPolicy({ allowPrivateNetworks: true }));
    expect((await rejection(fetcher(`http://127.0.0.1:${port}/start`))).code).toBe("invalid_url");
    expect(seen).toHaveLength(1);
  });

  it("keeps method and body on 307 and 308, and turns 303 and a POST's 302 into a GET without body", async () => {
    const statuses: Record<string, number> = { "/307": 307, "/308": 308, "/303": 303, "/302": 302 };
    handler = (request, response) => {
      const status = statuses[request.url ?? ""];
      if (status !== undefined) response.writeHead(status, { location: "/target" }).end();
      else response.end(`${request.method}`);
    };
    const fetcher = guarded(networkPolicy({ allowPrivateNetworks: true }));
    for (const [path, method, body] of [
      ["/307", "POST", "payload"],
      ["/308", "PUT", "payload"],
      ["/303", "GET", ""],
      ["/302", "GET", ""],
    ] as const) {
      seen = [];
      const response = await fetcher(`http://127.0.0.1:${port}${path}`, {
        method: path === "/308" ? "PUT" : "POST",
        body: "payload",
        headers: { "content-type": "text/plain" },
      });
      expect(await response.text()).toBe(method);
      expect(seen[1]).toMatchObject({ path: "/target", method, body });
    }
  });

  it("returns the redirect itself with redirect: manual and fails with redirect: error", async () => {
    handler = (_request, response) => response.writeHead(302, { location: "/elsewhere" }).end();
    const fetcher = guarded(networkPolicy({ allowPrivateNetworks: true }));
    const manual = await fetcher(`http://127.0.0.1:${port}/start`, { redirect: "manual" });
    expect(manual.status).toBe(302);
    expect(manual.headers.get("location")).toBe("/elsewhere");
    await rejection(fetcher(`http://127.0.0.1:${port}/start`, { redirect: "error" }));
    expect(seen.map((request) => request.path)).toEqual(["/start", "/start"]);
  });
});

describe("response size cap", () => {
  const fetcher = (): GuardedFetch =>
    guarded(networkPolicy({ allowPrivateNetworks: true }), { maxResponseBytes: 100 * 1024 });

  async function readError(promise: Promise<unknown>): Promise<unknown> {
    return promise.then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  it("reads a body under the cap", async () => {
    handler = (_request, response) => response.end(Buffer.alloc(100 * 1024, 97));
    const body = await (await fetcher()(`http://127.0.0.1:${port}/small`)).arrayBuffer();
    expect(body.byteLength).toBe(100 * 1024);
  });

  it("fails a body over the cap while it is read", async () => {
    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(Buffer.alloc(300 * 1024, 97));
    };
    const response = await fetcher()(`http://127.0.0.1:${port}/big`);
    const error = await readError(response.text());
    expect(McpServerSideError.isInstance(error) ? error.code : String(error)).toBe("upstream_error");
  });

  it("caps each event of an event stream, not the stream, so long SSE streams keep working", async () => {
    const event = `data: ${"x".repeat(4000)}\n\n`;
    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      for (let index = 0; index < 100; index++) response.write(event);
      response.end();
    };
    const text = await (await fetcher()(`http://127.0.0.1:${port}/sse`)).text();
    expect(text.length).toBe(event.length * 100);
  });

  it("fails one event over the cap, with CRLF line endings too", async () => {
    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" });
      response.write("data: small\r\n\r\n");
      for (let index = 0; index < 30; index++) response.write(`data: ${"y".repeat(4000)}\r\n`);
      response.end("\r\n");
    };
    const response = await fetcher()(`http://127.0.0.1:${port}/sse`);
    const error = await readError(response.text());
    expect(McpServerSideError.isInstance(error) ? error.code : String(error)).toBe("upstream_error");
  });

  it("delivers events as they arrive instead of buffering the stream", async () => {
    let release: () => void = () => undefined;
    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: first\n\n");
      release = () => response.end("data: second\n\n");
      pendingReleases.push(release);
    };
    const response = await fetcher()(`http://127.0.0.1:${port}/live`);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    // The server has not ended the response: the first event came through on its own.
    expect(new TextDecoder().decode(first.value)).toBe("data: first\n\n");
    release();
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toBe("data: second\n\n");
  });
});

describe.each([
  { tier: "tenant (guarded fetch)", make: (): typeof fetch => guarded(networkPolicy({ allowPrivateNetworks: true })) },
  { tier: "config (capped fetch)", make: (): typeof fetch => createCappedFetch() },
])("the caller's abort signal, $tier", ({ make }) => {
  it("holds no listener of a request whose response was read, cancelled or had no body", async () => {
    // The MCP SDK passes one signal per transport to every request it makes.
    const caller = new AbortController();
    const fetcher = make();
    handler = (request, response) => {
      if (request.url === "/empty") response.writeHead(204).end();
      else if (request.url === "/sse") {
        response.writeHead(200, { "content-type": "text/event-stream" });
        response.end("data: one\n\n");
      } else response.end("hello");
    };
    for (let index = 0; index < 5; index++) {
      await (await fetcher(`http://127.0.0.1:${port}/plain`, { signal: caller.signal })).text();
      await (
        await fetcher(`http://127.0.0.1:${port}/sse`, { method: "POST", body: "{}", signal: caller.signal })
      ).text();
      await (await fetcher(`http://127.0.0.1:${port}/plain`, { signal: caller.signal })).body?.cancel();
      await fetcher(`http://127.0.0.1:${port}/empty`, { signal: caller.signal });
    }
    expect(getEventListeners(caller.signal, "abort")).toHaveLength(0);
  });

  it("still aborts a response being read when the caller's signal aborts", async () => {
    const caller = new AbortController();
    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: first\n\n");
      pendingReleases.push(() => response.end());
    };
    const response = await make()(`http://127.0.0.1:${port}/live`, { signal: caller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: first\n\n");
    caller.abort(new Error("transport closed"));
    await expect(reader.read()).rejects.toBeDefined();
    expect(getEventListeners(caller.signal, "abort")).toHaveLength(0);
  });

  it("rejects a request whose caller's signal aborts before the answer, with the signal's reason", async () => {
    const caller = new AbortController();
    handler = (_request, response) => pendingReleases.push(() => response.end("late"));
    const pending = make()(`http://127.0.0.1:${port}/slow`, { signal: caller.signal });
    const reason = new Error("transport closed");
    setTimeout(() => caller.abort(reason), 20);
    await expect(pending).rejects.toBe(reason);
  });
});

describe.each([
  {
    tier: "tenant (guarded fetch)",
    make: (): typeof fetch => guarded(networkPolicy({ allowPrivateNetworks: true }), { maxResponseBytes: 1024 }),
  },
  { tier: "config (capped fetch)", make: (): typeof fetch => createCappedFetch({ maxResponseBytes: 1024 }) },
])("an event stream read as it arrives, $tier", ({ make }) => {
  it("delivers the events before an oversized one, then fails the read with the cap's error and holds no listener", async () => {
    const caller = new AbortController();
    let sendRest: () => void = () => undefined;
    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: first\n\n");
      sendRest = () => {
        if (response.writableEnded) return;
        response.write(`data: ${"z".repeat(4096)}\n\n`);
        response.end("data: never read\n\n");
      };
      pendingReleases.push(sendRest);
    };
    const response = await make()(`http://127.0.0.1:${port}/sse`, {
      method: "POST",
      body: "{}",
      signal: caller.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    // The server sends the oversized event only once the first one was read.
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: first\n\n");
    sendRest();
    let failure: unknown;
    let after = "";
    for (;;) {
      try {
        const { done, value } = await reader.read();
        if (done) break;
        after += new TextDecoder().decode(value);
      } catch (error) {
        failure = error;
        break;
      }
    }
    expect(McpServerSideError.isInstance(failure) ? [failure.code, failure.message] : String(failure)).toEqual([
      "upstream_error",
      "the server's response exceeds 1024 bytes in one event",
    ]);
    // Whatever came through of the oversized event stayed within the cap, and nothing after it.
    expect(after.length).toBeLessThanOrEqual(1024);
    expect(after).not.toContain("never read");
    expect(getEventListeners(caller.signal, "abort")).toHaveLength(0);
  });
});

describe("an app's global fetch that ignores the dispatcher does not take the guard away", () => {
  const original = globalThis.fetch;
  // What apps install: a wrapper that rebuilds the init from the fields it knows, or one that drops
  // what Node's fetch would honour. Either would send the request through undici's unguarded default.
  const replacements: [string, typeof fetch][] = [
    [
      "a wrapper that rebuilds the init",
      (input, init) =>
        original(input, { method: init?.method, headers: init?.headers, body: init?.body, signal: init?.signal }),
    ],
    [
      "a wrapper that drops the dispatcher",
      (input, init) => original(input, { ...init, dispatcher: undefined } as RequestInit),
    ],
  ];
  it("a wrapper that passes the init on (tracing instrumentation) is the fetch used, probe included", async () => {
    const urls: string[] = [];
    globalThis.fetch = (input, init) => {
      urls.push(String(input));
      return original(input, init);
    };
    try {
      const response = await guarded(networkPolicy({ allowPrivateNetworks: true }))(`http://127.0.0.1:${port}/ok`);
      expect(await response.text()).toBe("hello");
      // The probe (refused by its dispatcher before any connection), then the request itself.
      expect(urls).toEqual(["http://dispatcher-probe.mcp-server-side.invalid/", `http://127.0.0.1:${port}/ok`]);
    } finally {
      globalThis.fetch = original;
    }
  });

  for (const [name, replacement] of replacements) {
    it(`${name}: DNS rebinding still fails inside the connect step, and allowed servers still answer`, async () => {
      globalThis.fetch = replacement;
      try {
        const lookup = sequenceLookup([["93.184.216.34"], ["127.0.0.1"]]);
        const policy = networkPolicy({ requireHttps: false, lookup });
        const url = `http://rebind.example.com:${port}/mcp`;
        expect((await validateRemoteUrl(url, policy)).ok).toBe(true);
        const error = await rejection(guarded(policy)(url));
        expect(error.code).toBe("blocked_address");
        expect(seen).toEqual([]);
        const response = await guarded(networkPolicy({ allowPrivateNetworks: true }))(`http://127.0.0.1:${port}/ok`);
        expect(response).toBeInstanceOf(Response);
        expect(await response.text()).toBe("hello");
        expect(seen).toHaveLength(1);
      } finally {
        globalThis.fetch = original;
      }
    });
  }
});
