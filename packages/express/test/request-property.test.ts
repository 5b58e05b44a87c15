import { createServer } from "node:http";
import { createMcpServerSide, type McpRequestContext, type McpServerSide } from "@mcp-server-side/core";
import express from "express";
import express4 from "express4";
import { afterEach, describe, expect, it } from "vitest";
import { listen } from "../../../test/http/index.js";
import { fakeLookup, newKey, PUBLIC_URL } from "../../../test/http/matrix.js";
import { mcpServerSide } from "../src/index.js";

// `req.mcp` must read, destructure and assign like a plain property, per request, on Express 4 and 5,
// in sub-apps, and on a plain Node request.

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((close) => close()));
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const running = await listen(createServer(handler));
  cleanup.push(running.close);
  return running.url;
}

function instance(server: string): McpServerSide {
  const mcp = createMcpServerSide({
    lookup: fakeLookup(),
    config: { mcpServers: { [server]: { url: `https://${server}.example.com/mcp` } } },
    logger: false,
    warmup: false,
  });
  cleanup.push(() => mcp.close());
  return mcp;
}

const names = async (context: McpRequestContext | undefined): Promise<string[] | null> =>
  context === undefined ? null : (await context.servers()).map((server) => server.name);

for (const [label, factory] of [
  ["Express 5", express],
  ["Express 4", express4],
] as const) {
  describe(`req.mcp on ${label}`, () => {
    it("is undefined on a route before the middleware and a context behind it, destructured or not", async () => {
      const app = factory();
      app.get("/before", async (req, res) => {
        res.json({ servers: await names(req.mcp) });
      });
      app.use(mcpServerSide(instance("docs")));
      app.get("/behind", async (req, res) => {
        const context = req.mcp;
        const { servers } = context;
        res.json({
          servers: (await servers()).map((server) => server.name),
          again: req.mcp === context,
        });
      });
      const url = await serve(app);
      expect(await (await fetch(`${url}/before`)).json()).toEqual({ servers: null });
      expect(await (await fetch(`${url}/behind`)).json()).toEqual({ servers: ["docs"], again: true });
      // A later request of the same app does not see an earlier one's context.
      expect(await (await fetch(`${url}/before`)).json()).toEqual({ servers: null });
    });

    it("gives each request its own context: concurrent callers with different keys see their own servers", async () => {
      const mcp = createMcpServerSide({ lookup: fakeLookup(), logger: false, warmup: false });
      cleanup.push(() => mcp.close());
      const app = factory();
      app.use(mcpServerSide(mcp));
      app.get("/servers", async (req, res) => {
        res.json(await names(req.mcp));
      });
      const url = await serve(app);
      const keys = [newKey(), newKey()];
      for (const [index, key] of keys.entries()) {
        const created = await fetch(`${url}/mcp-servers`, {
          method: "POST",
          headers: { "x-api-key": key, "content-type": "application/json" },
          body: JSON.stringify({ name: `own${index}`, url: PUBLIC_URL }),
        });
        expect(created.status).toBe(201);
      }
      const replies = await Promise.all(
        [0, 1, 0, 1, 0, 1].map(async (index) => {
          const reply = await fetch(`${url}/servers`, { headers: { "x-api-key": keys[index]! } });
          return [index, await reply.json()] as const;
        }),
      );
      for (const [index, servers] of replies) expect(servers).toEqual([`own${index}`]);
    });

    it("reaches routes of a mounted sub-app, and the parent's routes after a sub-app that mounted it", async () => {
      const parentFirst = factory();
      parentFirst.use(mcpServerSide(instance("outer")));
      const inner = factory();
      inner.get("/servers", async (req, res) => {
        res.json(await names(req.mcp));
      });
      parentFirst.use("/sub", inner);

      const parentAfter = factory();
      const mounting = factory();
      mounting.use(mcpServerSide(instance("inner")));
      parentAfter.use("/sub", mounting);
      parentAfter.get("/sub/servers", async (req, res) => {
        res.json(await names(req.mcp));
      });

      const [first, after] = await Promise.all([serve(parentFirst), serve(parentAfter)]);
      expect(await (await fetch(`${first}/sub/servers`)).json()).toEqual(["outer"]);
      expect(await (await fetch(`${after}/sub/servers`)).json()).toEqual(["inner"]);
    });

    it("assigns like a property: a value set before the middleware is replaced, one set after is read", async () => {
      const app = factory();
      app.use((req, _res, next) => {
        (req as { mcp: unknown }).mcp = { placeholder: true };
        next();
      });
      app.use(mcpServerSide(instance("docs")));
      app.get("/servers", async (req, res) => {
        res.json(await names(req.mcp));
      });
      app.get("/replaced", (req, res) => {
        const own = { servers: async () => [{ name: "app's own" }] } as unknown as McpRequestContext;
        req.mcp = own;
        res.json({ same: req.mcp === own });
      });
      const url = await serve(app);
      expect(await (await fetch(`${url}/servers`)).json()).toEqual(["docs"]);
      expect(await (await fetch(`${url}/replaced`)).json()).toEqual({ same: true });
    });

    it("still fails for a second instance on the same request", async () => {
      const app = factory();
      app.use(mcpServerSide(instance("first")));
      app.use(mcpServerSide(instance("second")));
      app.get("/servers", (_req, res) => {
        res.json("unreachable");
      });
      app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        res.status(500).json({ code: (error as { code?: string }).code });
      });
      const url = await serve(app);
      const reply = await fetch(`${url}/servers`);
      expect(reply.status).toBe(500);
      expect(await reply.json()).toEqual({ code: "invalid_config" });
    });
  });
}

describe("req.mcp without Express", () => {
  it("is set on a plain Node request", async () => {
    const middleware = mcpServerSide(instance("docs"));
    const url = await serve((req, res) => {
      middleware(req, res, () => {
        const context = (req as { mcp?: McpRequestContext }).mcp;
        void names(context).then((servers) => {
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify({ servers, own: Object.hasOwn(req, "mcp") }));
        });
      });
    });
    expect(await (await fetch(`${url}/anything`)).json()).toEqual({ servers: ["docs"], own: true });
  });
});
