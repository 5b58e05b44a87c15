import { createServer } from "node:http";
import { connect } from "node:net";
import express from "express";
import express4 from "express4";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningApp } from "../../../../test/http/matrix.js";
import { listen } from "../../../../test/http/servers.js";
import { createMcpServerSide } from "@mcp-server-side/core";
import { coreOnlyHandler, keptBodyHandler } from "@mcp-server-side/core/adapter";
import { requestPathname, requestUrl, sendWebResponse, toCoreRequest, toWebRequest } from "@mcp-server-side/core/node";

const running: RunningApp[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});

async function serve(server: ReturnType<typeof createServer>): Promise<string> {
  const app = await listen(server);
  running.push(app);
  return app.url;
}

/** Echoes what `toWebRequest` made of the request: URL, method, headers and body text. */
async function describeWebRequest(request: Request): Promise<Record<string, unknown>> {
  return {
    url: request.url,
    method: request.method,
    headers: Object.fromEntries(request.headers),
    body: request.body === null ? null : await request.text(),
  };
}

describe("sendWebResponse", () => {
  it("writes the status, every header and each Set-Cookie as its own header line", async () => {
    const url = await serve(
      createServer((_req, res) => {
        const headers = new Headers({ "content-type": "application/problem+json", etag: '"v1"', "x-custom": "yes" });
        headers.append("set-cookie", "a=1; Path=/; HttpOnly");
        headers.append("set-cookie", "b=2; Path=/; Secure");
        void sendWebResponse(res, new Response('{"ok":false}', { status: 409, headers }));
      }),
    );
    const response = await fetch(url);
    expect(response.status).toBe(409);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("etag")).toBe('"v1"');
    expect(response.headers.get("x-custom")).toBe("yes");
    expect(response.headers.getSetCookie()).toEqual(["a=1; Path=/; HttpOnly", "b=2; Path=/; Secure"]);
    expect(await response.text()).toBe('{"ok":false}');
  });

  it("writes a JSON answer whole, with its length, for GET and as headers only for HEAD", async () => {
    const body = JSON.stringify({
      servers: Array.from({ length: 2000 }, (_, index) => ({ name: `s${index}`, é: "ü" })),
    });
    const url = await serve(
      createServer((_req, res) => {
        void sendWebResponse(
          res,
          new Response(body, { headers: { "content-type": "application/json; charset=utf-8" } }),
        );
      }),
    );
    const response = await fetch(url);
    expect(response.headers.get("content-length")).toBe(String(Buffer.byteLength(body)));
    expect(response.headers.get("transfer-encoding")).toBeNull();
    expect(await response.text()).toBe(body);
    const head = await fetch(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("streams the body: the first chunk reaches the client before the rest exists", async () => {
    let release: () => void = () => undefined;
    const rest = new Promise<void>((resolve) => {
      release = resolve;
    });
    const url = await serve(
      createServer((_req, res) => {
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            controller.enqueue(new TextEncoder().encode("data: first\n\n"));
            await rest;
            controller.enqueue(new TextEncoder().encode("data: second\n\n"));
            controller.close();
          },
        });
        void sendWebResponse(res, new Response(body, { headers: { "content-type": "text/event-stream" } }));
      }),
    );
    const response = await fetch(url);
    const reader = response.body!.getReader();
    const first = await reader.read();
    // Had the body been buffered, this read would never return: the rest waits for it.
    expect(new TextDecoder().decode(first.value)).toBe("data: first\n\n");
    release();
    let tail = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      tail += new TextDecoder().decode(chunk.value);
    expect(tail).toBe("data: second\n\n");
  });

  it("sends no body for 204 or HEAD", async () => {
    const url = await serve(
      createServer((req, res) => {
        void sendWebResponse(
          res,
          req.method === "HEAD" ? new Response("ignored", { status: 200 }) : new Response(null, { status: 204 }),
        );
      }),
    );
    const removed = await fetch(url, { method: "DELETE" });
    expect(removed.status).toBe(204);
    expect(await removed.text()).toBe("");
    const head = await fetch(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });
});

describe("answers of the core made whole", () => {
  it("reach a Node response from the text they were made from, and a Web caller of handle() as the same bytes", async () => {
    const mcp = createMcpServerSide({
      logger: false,
      config: { mcpServers: { docs: { url: "https://docs.example.com/mcp", description: "Dokumente für alle ✓" } } },
    });
    const handle = keptBodyHandler(mcp);
    const url = await serve(
      createServer((req, res) => {
        void handle(toWebRequest(req), requestPathname(req)).then((answer) => sendWebResponse(res, answer!));
      }),
    );
    const headers = { "x-api-key": "key-0123456789", "x-request-id": "req-1" };
    for (const [path, status] of [
      ["/mcp-servers", 200],
      ["/mcp-servers/missing", 404],
    ] as const) {
      const viaNode = await fetch(`${url}${path}`, { headers });
      const viaWeb = (await mcp.handle(new Request(`http://localhost${path}`, { headers })))!;
      expect([viaNode.status, viaWeb.status]).toEqual([status, status]);
      expect(viaNode.headers.get("content-type")).toBe(viaWeb.headers.get("content-type"));
      const text = await viaWeb.text();
      expect(await viaNode.text()).toBe(text);
      expect(viaNode.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
      expect(viaNode.headers.get("x-request-id")).toBe("req-1");
    }
    expect(
      JSON.parse(await (await mcp.handle(new Request("http://localhost/mcp-servers", { headers })))!.text()),
    ).toMatchObject({
      servers: [{ name: "docs", description: "Dokumente für alle ✓" }],
    });
    await mcp.close();
  });
});

describe("request bodies only the core reads", () => {
  it("are read from the Node stream kept beside a bodiless Web request, with the same answers", async () => {
    const mcp = createMcpServerSide({ logger: false, allowPrivateNetworks: true, requireHttps: false });
    const handle = keptBodyHandler(mcp);
    const seenBodies: (ReadableStream | null)[] = [];
    const url = await serve(
      createServer((req, res) => {
        const request = toWebRequest(req, { keepBody: true });
        seenBodies.push(request.body);
        void handle(request, requestPathname(req)).then((answer) => sendWebResponse(res, answer!));
      }),
    );
    const post = (raw: string) =>
      fetch(`${url}/mcp-servers`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": "key-0123456789" },
        body: raw,
      });
    const created = await post(JSON.stringify({ name: "kept", url: "http://127.0.0.1:9/mcp" }));
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: "kept", url: "http://127.0.0.1:9/mcp" });
    expect((await post('{"name":"x","url":"http://127.0.0.1:9/mcp","__proto__":{}}')).status).toBe(422);
    expect((await post("{not json")).status).toBe(400);
    expect(seenBodies).toEqual([null, null, null]);
    await mcp.close();
  });
});

/** Sends `parts` of one raw HTTP/1.1 request, each after the server took the one before, and returns the raw answer. */
async function rawRequest(url: string, parts: string[]): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise((resolve) => socket.once("connect", resolve));
  let answer = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    answer += chunk;
  });
  for (const part of parts) {
    socket.write(part);
    // The next part goes out on a later turn, so the server has parsed (and buffered) this one alone.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  }
  socket.end();
  await new Promise((resolve) => socket.once("close", resolve));
  return answer;
}

describe("toCoreRequest", () => {
  it("carries the method, URL and headers toWebRequest would, with no Web Request made", async () => {
    const seen: Record<string, unknown>[] = [];
    const url = await serve(
      createServer((req, res) => {
        const core = toCoreRequest(req);
        const web = toWebRequest(req, { headersOnly: true });
        seen.push({
          isRequest: core instanceof Request,
          same:
            core.method === web.method &&
            new URL(core.url).href === web.url &&
            JSON.stringify([...core.headers]) === JSON.stringify([...web.headers]),
          body: core.body,
        });
        res.end();
      }),
    );
    const headers = new Headers({ "x-api-key": "k", "content-type": "application/json" });
    headers.append("x-multi", "a");
    headers.append("x-multi", "b");
    await fetch(`${url}/mcp-servers?x=1`, { headers });
    await fetch(`${url}/mcp-servers/a%20b`, { method: "DELETE", headers });
    await fetch(`${url}/mcp-servers`, { method: "POST", headers, body: "{}" });
    expect(seen).toEqual([
      { isRequest: false, same: true, body: null },
      { isRequest: false, same: true, body: null },
      { isRequest: false, same: true, body: null },
    ]);
  });

  it("gives the core's routes the answers a Web request gets: a body whole, in pieces, or already parsed", async () => {
    const mcp = createMcpServerSide({ logger: false, allowPrivateNetworks: true, requireHttps: false });
    const app = express();
    // The same routes twice: below /parsed, a body parser has read the body before the core.
    app.use("/parsed", express.json({ type: () => true }));
    app.use((req, res) => {
      const path = requestPathname(req).replace(/^\/parsed/, "");
      const handle = coreOnlyHandler(mcp, path)!;
      void handle(toCoreRequest(req), path).then((answer) => sendWebResponse(res, answer!));
    });
    const url = await serve(createServer(app));
    const key = "key-0123456789";
    const viaWeb = async (body: string) => {
      const answer = (await mcp.handle(
        new Request("http://localhost/mcp-servers", {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": key, "x-request-id": "req-1" },
          body,
        }),
      ))!;
      return { status: answer.status, body: await answer.json() };
    };
    const parse = (raw: string) => {
      const [head = "", body = ""] = raw.split("\r\n\r\n");
      return { status: Number(head.slice(9, 12)), body: JSON.parse(body) };
    };
    const post = (body: string, split: number, prefix = "") => {
      const head = `POST ${prefix}/mcp-servers HTTP/1.1\r\nHost: localhost\r\nx-api-key: ${key}\r\nx-request-id: req-1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
      return rawRequest(url, split === 0 ? [head + body] : [head + body.slice(0, split), body.slice(split)]).then(
        parse,
      );
    };
    const invalid = JSON.stringify({ name: "bad", url: "ftp://127.0.0.1:9/mcp" });
    const expected = await viaWeb(invalid);
    expect(expected.status).toBe(422);
    for (const split of [0, 1, 20]) expect(await post(invalid, split)).toEqual(expected);
    expect(await post(invalid, 0, "/parsed")).toEqual(expected);
    const duplicate = '{"name":"dup","name":"dup"}';
    expect(await post(duplicate, 10)).toEqual(await viaWeb(duplicate));
    for (const [index, [split, prefix]] of (
      [
        [0, ""],
        [7, ""],
        [0, "/parsed"],
      ] as const
    ).entries()) {
      const created = await post(
        JSON.stringify({ name: `kept${index}`, url: "http://127.0.0.1:9/mcp" }),
        split,
        prefix,
      );
      expect(created).toMatchObject({ status: 201, body: { name: `kept${index}`, url: "http://127.0.0.1:9/mcp" } });
    }
    await mcp.close();
  });
});

describe("toWebRequest", () => {
  it("streams a body nobody read yet, byte for byte, with the method and headers", async () => {
    const url = await serve(
      createServer(async (req, res) => {
        void sendWebResponse(res, Response.json(await describeWebRequest(toWebRequest(req))));
      }),
    );
    const raw = '{"a":1,"a":2,  "__proto__": {}}';
    const response = await fetch(`${url}/mcp-servers?x=1`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k" },
      body: raw,
    });
    const seen = await response.json();
    expect(seen).toMatchObject({
      url: `${url}/mcp-servers?x=1`,
      method: "POST",
      body: raw,
      headers: { "content-type": "application/json", "x-api-key": "k" },
    });
  });

  it("keeps repeated request headers", async () => {
    const url = await serve(
      createServer(async (req, res) => {
        void sendWebResponse(res, Response.json(await describeWebRequest(toWebRequest(req))));
      }),
    );
    const headers = new Headers();
    headers.append("x-multi", "a");
    headers.append("x-multi", "b");
    const seen = await (await fetch(url, { headers })).json();
    expect(seen.headers["x-multi"]).toBe("a, b");
    expect(seen.body).toBeNull();
  });

  it("keeps a path that starts with // as a path, and ignores a Host header that is not a host", async () => {
    const url = await serve(
      createServer((req, res) => {
        res.end(requestUrl(req).href);
      }),
    );
    const { request } = await import("node:http");
    const port = new URL(url).port;
    const href = await new Promise<string>((resolve, reject) => {
      const outgoing = request(
        { host: "127.0.0.1", port, path: "//evil.example/x", headers: { host: "a/b@evil" } },
        (incoming) => {
          let text = "";
          incoming.on("data", (chunk: Buffer) => {
            text += chunk.toString();
          });
          incoming.on("end", () => resolve(text));
        },
      );
      outgoing.on("error", reject);
      outgoing.end();
    });
    expect(new URL(href).host).toBe("localhost");
    expect(new URL(href).pathname).toBe("//evil.example/x");
  });

  for (const [label, factory] of [
    ["Express 5", express],
    ["Express 4", express4],
  ] as const) {
    it(`${label}: uses the original URL, mount path included`, async () => {
      const app = factory();
      const router = factory.Router();
      router.get("/inner", async (req, res) => {
        res.json(await describeWebRequest(toWebRequest(req)));
      });
      app.use("/mounted", router);
      const url = await serve(createServer(app));
      const seen = await (await fetch(`${url}/mounted/inner?q=1`)).json();
      expect(seen.url).toBe(`${url}/mounted/inner?q=1`);
    });

    it(`${label}: serializes a body that express.json() already consumed`, async () => {
      const app = factory();
      app.use(factory.json());
      app.post("/echo", async (req, res) => {
        const web = toWebRequest(req);
        res.json({ ...(await describeWebRequest(web)), length: web.headers.get("content-length") });
      });
      const url = await serve(createServer(app));
      const body = { name: "x", nested: { é: "ü" }, list: [1, 2] };
      const seen = await (
        await fetch(`${url}/echo`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        })
      ).json();
      expect(JSON.parse(seen.body)).toEqual(body);
      expect(Number(seen.length)).toBe(Buffer.byteLength(seen.body));
    });

    it(`${label}: a consumed body that came chunked gets its length, no Transfer-Encoding, its one Content-Type`, async () => {
      const app = factory();
      app.use(factory.json());
      app.post("/echo", async (req, res) => {
        const web = toWebRequest(req);
        res.json({
          ...(await describeWebRequest(web)),
          length: web.headers.get("content-length"),
          encoding: web.headers.get("transfer-encoding"),
        });
      });
      const url = await serve(createServer(app));
      const chunks = ['{"name":', '"chunked"}'];
      const seen = await (
        await fetch(`${url}/echo`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: new ReadableStream({
            start(controller) {
              for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
              controller.close();
            },
          }),
          duplex: "half",
        } as RequestInit)
      ).json();
      expect(JSON.parse(seen.body)).toEqual({ name: "chunked" });
      expect(seen.length).toBe(String(Buffer.byteLength(seen.body)));
      expect(seen.encoding).toBeNull();
      expect(seen.headers["content-type"]).toBe("application/json");
    });

    it(`${label}: leaves out the body when asked for headers only`, async () => {
      const app = factory();
      app.post("/echo", async (req, res) => {
        res.json(await describeWebRequest(toWebRequest(req, { headersOnly: true })));
      });
      const url = await serve(createServer(app));
      const seen = await (await fetch(`${url}/echo`, { method: "POST", body: "text" })).json();
      expect(seen.method).toBe("POST");
      expect(seen.body).toBeNull();
    });
  }

  it("aborts the Web request's signal when the client goes away", async () => {
    let aborted: (reason: unknown) => void = () => undefined;
    const abortedOnServer = new Promise((resolve) => {
      aborted = resolve;
    });
    const url = await serve(
      createServer((req, res) => {
        const web = toWebRequest(req, { response: res });
        web.signal.addEventListener("abort", () => aborted(true));
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: hi\n\n");
      }),
    );
    const controller = new AbortController();
    const response = await fetch(url, { signal: controller.signal });
    await response.body!.getReader().read();
    controller.abort();
    expect(await abortedOnServer).toBe(true);
  });
});
