import { createServer } from "node:http";
import { createMcpServerSide } from "@mcp-server-side/core";
import express from "express";
import express4 from "express4";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningApp, listen } from "../../../test/http/index.js";
import { fakeLookup, newKey, PUBLIC_URL } from "../../../test/http/matrix.js";
import { isMcpServerSide, mcpServerSide } from "../src/index.js";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((close) => close()));
});

async function serve(app: express.Express): Promise<string> {
  const running: RunningApp = await listen(createServer(app));
  cleanup.push(running.close);
  return running.url;
}

for (const [label, factory] of [
  ["Express 5", express],
  ["Express 4", express4],
] as const) {
  describe(`mcpServerSide for ${label}`, () => {
    it("creates its own instance from options and exposes it as .mcp", async () => {
      const middleware = mcpServerSide({
        lookup: fakeLookup(),
        config: { mcpServers: { docs: { url: "https://docs.example.com/mcp" } } },
      });
      cleanup.push(() => middleware.mcp.close());
      expect(isMcpServerSide(middleware.mcp)).toBe(true);
      const app = factory();
      app.use(middleware);
      const url = await serve(app);
      const reply = await fetch(`${url}/mcp-servers`, { headers: { "x-api-key": newKey() } });
      expect(reply.status).toBe(200);
      expect((await reply.json()).servers.map((server: { name: string }) => server.name)).toEqual(["docs"]);
    });

    it("shares one instance between two apps", async () => {
      const mcp = createMcpServerSide({ lookup: fakeLookup() });
      cleanup.push(() => mcp.close());
      const first = mcpServerSide(mcp);
      expect(first.mcp).toBe(mcp);
      const appA = factory();
      appA.use(first);
      const appB = factory();
      appB.use(mcpServerSide(mcp));
      const [urlA, urlB] = await Promise.all([serve(appA), serve(appB)]);
      const key = newKey();
      const created = await fetch(`${urlA}/mcp-servers`, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: JSON.stringify({ name: "shared", url: PUBLIC_URL }),
      });
      expect(created.status).toBe(201);
      const listed = await (await fetch(`${urlB}/mcp-servers`, { headers: { "x-api-key": key } })).json();
      expect(listed.servers.map((server: { name: string }) => server.name)).toEqual(["shared"]);
    });

    it("sets req.mcp on other routes and lets them run; the body is read when the route asks", async () => {
      const middleware = mcpServerSide({
        lookup: fakeLookup(),
        config: { mcpServers: { docs: { url: "https://docs.example.com/mcp" } } },
      });
      cleanup.push(() => middleware.mcp.close());
      const app = factory();
      app.use(middleware);
      app.use(factory.json());
      app.post("/chat", async (req, res) => {
        res.json({ servers: (await req.mcp.servers()).map((server) => server.name), messages: req.body.messages });
      });
      const url = await serve(app);
      const reply = await fetch(`${url}/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: ["hi"], mcp_servers: { extra: { url: PUBLIC_URL } } }),
      });
      expect(await reply.json()).toEqual({ servers: ["docs", "extra"], messages: ["hi"] });
    });

    it("makes the Web request when the route asks: headers and URL as routed, aborted once the client left", async () => {
      const seen: { url: string; key: string | null; aborted: boolean }[] = [];
      const middleware = mcpServerSide({
        lookup: fakeLookup(),
        identify: (request) => {
          seen.push({ url: request.url, key: request.headers.get("x-api-key"), aborted: request.signal.aborted });
          return null;
        },
      });
      cleanup.push(() => middleware.mcp.close());
      const app = factory();
      app.use(middleware);
      app.get("/plain", (_req, res) => {
        res.send("plain");
      });
      app.get("/asks", async (req, res) => {
        res.json({ identity: await req.mcp.identity() });
      });
      let late: Promise<void> = Promise.resolve();
      app.get("/late", (req, res) => {
        // Asks only after the client went away: the request it gets is already aborted.
        late = new Promise((resolve) => {
          res.once("close", () => {
            void req.mcp.identity().then(() => resolve());
          });
        });
      });
      const url = await serve(app);
      expect(await (await fetch(`${url}/plain`, { headers: { "x-api-key": "k1" } })).text()).toBe("plain");
      expect(seen).toEqual([]);
      expect(await (await fetch(`${url}/asks?x=1`, { headers: { "x-api-key": "k2" } })).json()).toEqual({
        identity: null,
      });
      expect(seen).toEqual([{ url: `${url}/asks?x=1`, key: "k2", aborted: false }]);
      const leaving = new AbortController();
      const pending = fetch(`${url}/late`, { signal: leaving.signal }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
      leaving.abort();
      await pending;
      await new Promise((resolve) => setTimeout(resolve, 200));
      await late;
      expect(seen[1]).toEqual({ url: `${url}/late`, key: null, aborted: true });
    });

    it("works when mounted under a path, with basePath naming the full path", async () => {
      const middleware = mcpServerSide({ lookup: fakeLookup(), basePath: "/api/mcp-servers" });
      cleanup.push(() => middleware.mcp.close());
      const app = factory();
      app.use("/api", middleware);
      app.get("/api/hello", (_req, res) => {
        res.send("hello");
      });
      const url = await serve(app);
      const key = newKey();
      const created = await fetch(`${url}/api/mcp-servers`, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: JSON.stringify({ name: "mounted", url: PUBLIC_URL }),
      });
      expect(created.status).toBe(201);
      expect((await fetch(`${url}/api/mcp-servers/mounted`, { headers: { "x-api-key": key } })).status).toBe(200);
      expect(await (await fetch(`${url}/api/hello`)).text()).toBe("hello");
    });
  });
}

describe("isMcpServerSide", () => {
  it("tells an instance from options by its methods", () => {
    expect(isMcpServerSide({ config: "./mcp.config.json" })).toBe(false);
    expect(isMcpServerSide(null)).toBe(false);
    expect(isMcpServerSide({ handle: () => undefined })).toBe(false);
  });
});
