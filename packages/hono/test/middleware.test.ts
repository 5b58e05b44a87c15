import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { createMcpServerSide } from "@mcp-server-side/core";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { listen } from "../../../test/http/index.js";
import { fakeLookup, newKey, PUBLIC_URL } from "../../../test/http/matrix.js";
import { type McpServerSideEnv, isMcpServerSide, mcpServerSide } from "../src/index.js";

const config = { mcpServers: { docs: { url: "https://docs.example.com/mcp" } } };
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((close) => close()));
});

async function serve(app: Hono<McpServerSideEnv> | Hono): Promise<string> {
  const running = await listen(createAdaptorServer({ fetch: app.fetch }) as Server);
  cleanup.push(running.close);
  return running.url;
}

function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

describe("mcpServerSide for Hono", () => {
  it("creates its own instance from options and exposes it as .mcp", async () => {
    const middleware = mcpServerSide({ lookup: fakeLookup(), config });
    cleanup.push(() => middleware.mcp.close());
    expect(isMcpServerSide(middleware.mcp)).toBe(true);
    const app = new Hono();
    app.use(middleware);
    const url = await serve(app);
    const reply = await fetch(`${url}/mcp-servers`, { headers: { "x-api-key": newKey() } });
    expect((await reply.json()).servers.map((server: { name: string }) => server.name)).toEqual(["docs"]);
  });

  it("shares one instance between two apps", async () => {
    const mcp = createMcpServerSide({ lookup: fakeLookup() });
    cleanup.push(() => mcp.close());
    expect(mcpServerSide(mcp).mcp).toBe(mcp);
    const appA = new Hono().use(mcpServerSide(mcp));
    const appB = new Hono().use(mcpServerSide(mcp));
    const [urlA, urlB] = await Promise.all([serve(appA), serve(appB)]);
    const key = newKey();
    expect(
      (await postJson(`${urlA}/mcp-servers`, { name: "shared", url: PUBLIC_URL }, { "x-api-key": key })).status,
    ).toBe(201);
    const listed = await (await fetch(`${urlB}/mcp-servers`, { headers: { "x-api-key": key } })).json();
    expect(listed.servers.map((server: { name: string }) => server.name)).toEqual(["shared"]);
  });

  it("reads mcp_servers from the body when the route never reads it", async () => {
    const middleware = mcpServerSide({ lookup: fakeLookup(), config });
    cleanup.push(() => middleware.mcp.close());
    const app = new Hono<McpServerSideEnv>();
    app.use(middleware);
    app.post("/chat", async (c) => c.json((await c.var.mcp.servers()).map((server) => server.name)));
    const url = await serve(app);
    expect(await (await postJson(`${url}/chat`, { mcp_servers: {} })).json()).toEqual([]);
    expect(await (await postJson(`${url}/chat`, { mcp_select: ["docs"] })).json()).toEqual(["docs"]);
  });

  it("leaves the body readable for the route after the context read it", async () => {
    const middleware = mcpServerSide({ lookup: fakeLookup(), config });
    cleanup.push(() => middleware.mcp.close());
    const app = new Hono();
    app.use(middleware);
    // Typed through ContextVariableMap, without passing McpServerSideEnv.
    app.post("/chat", async (c) => {
      const servers = (await c.get("mcp").servers()).map((server) => server.name);
      const body = await c.req.json();
      return c.json({ servers, messages: body.messages });
    });
    const url = await serve(app);
    const reply = await postJson(`${url}/chat`, { messages: ["hi"], mcp_servers: { docs: false } });
    expect(await reply.json()).toEqual({ servers: [], messages: ["hi"] });
  });

  it("ignores a body that is not JSON or does not parse", async () => {
    const middleware = mcpServerSide({ lookup: fakeLookup(), config });
    cleanup.push(() => middleware.mcp.close());
    const app = new Hono<McpServerSideEnv>();
    app.use(middleware);
    app.post("/chat", async (c) => c.json((await c.var.mcp.servers()).map((server) => server.name)));
    const url = await serve(app);
    const broken = await fetch(`${url}/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{oops",
    });
    expect(await broken.json()).toEqual(["docs"]);
    const form = await fetch(`${url}/chat`, { method: "POST", body: new URLSearchParams({ mcp_servers: "{}" }) });
    expect(await form.json()).toEqual(["docs"]);
  });

  it("serves a management route whose body an earlier middleware already read", async () => {
    const middleware = mcpServerSide({ lookup: fakeLookup() });
    cleanup.push(() => middleware.mcp.close());
    const app = new Hono();
    app.use(async (c, next) => {
      if (c.req.method === "POST") await c.req.json();
      await next();
    });
    app.use(middleware);
    const url = await serve(app);
    const key = newKey();
    const created = await postJson(`${url}/mcp-servers`, { name: "after", url: PUBLIC_URL }, { "x-api-key": key });
    expect(created.status).toBe(201);
    expect((await created.json()).name).toBe("after");
  });

  it("works inside a sub-app mounted with app.route, with basePath naming the full path", async () => {
    const middleware = mcpServerSide({ lookup: fakeLookup(), basePath: "/api/mcp-servers" });
    cleanup.push(() => middleware.mcp.close());
    const api = new Hono<McpServerSideEnv>();
    api.use(middleware);
    api.get("/hello", (c) => c.text(c.var.mcp ? "hello" : "no context"));
    const app = new Hono().route("/api", api);
    const url = await serve(app);
    const key = newKey();
    expect(
      (await postJson(`${url}/api/mcp-servers`, { name: "mounted", url: PUBLIC_URL }, { "x-api-key": key })).status,
    ).toBe(201);
    expect((await fetch(`${url}/api/mcp-servers/mounted`, { headers: { "x-api-key": key } })).status).toBe(200);
    expect(await (await fetch(`${url}/api/hello`)).text()).toBe("hello");
  });
});
