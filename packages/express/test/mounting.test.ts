import { createServer } from "node:http";
import { createMcpServerSide, type Logger, type McpServerSide } from "@mcp-server-side/core";
import express from "express";
import express4 from "express4";
import { afterEach, describe, expect, it } from "vitest";
import { listen } from "../../../test/http/index.js";
import { mcpServerSide } from "../src/index.js";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((close) => close()));
});

function capture(): { lines: { level: string; text: string }[]; logger: Logger } {
  const lines: { level: string; text: string }[] = [];
  const at =
    (level: string) =>
    (...args: unknown[]): void =>
      void lines.push({ level, text: args.map(String).join(" ") });
  return { lines, logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") } };
}

/** An instance whose config tier holds one server (never connected: these tests only resolve). */
function instance(server: string, logger: Logger, basePath?: string): McpServerSide {
  const mcp = createMcpServerSide({
    config: { mcpServers: { [server]: { url: `https://${server}.example.com/mcp` } } },
    logger,
    warmup: false,
    ...(basePath ? { basePath } : {}),
  });
  cleanup.push(() => mcp.close());
  return mcp;
}

async function serve(app: express.Express): Promise<string> {
  const running = await listen(createServer(app));
  cleanup.push(running.close);
  return running.url;
}

const chat = (url: string, body: unknown = { messages: [] }): Promise<Response> =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

for (const [label, factory] of [
  ["Express 5", express],
  ["Express 4", express4],
] as const) {
  describe(`mounting on ${label}`, () => {
    function appWithRoutes(mount: (app: express.Express) => void): express.Express {
      const app = factory();
      app.use(factory.json());
      mount(app);
      const names = async (req: express.Request, res: express.Response, next: express.NextFunction) => {
        try {
          res.json((await req.mcp.servers()).map((server) => server.name));
        } catch (error) {
          next(error);
        }
      };
      app.post("/chat", names);
      app.post("/a/chat", names);
      app.post("/b/chat", names);
      app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        res.status(500).json({ message: error.message, code: (error as { code?: string }).code });
      });
      return app;
    }

    it("fails loudly, with the fix, when two instances are mounted on one app", async () => {
      const { lines, logger } = capture();
      const first = instance("first", logger);
      const second = instance("second", logger);
      const url = await serve(
        appWithRoutes((app) => {
          app.use(mcpServerSide(first));
          app.use(mcpServerSide(second));
        }),
      );
      for (let attempt = 0; attempt < 2; attempt++) {
        const reply = await chat(`${url}/chat`);
        expect(reply.status).toBe(500);
        const body = await reply.json();
        expect(body.code).toBe("invalid_config");
        expect(body.message).toContain("two mcpServerSide() middlewares on one app");
        expect(body.message).toContain("create one instance and pass it to both");
      }
      // Logged once through the instance's logger, whatever the app's error handler does with it.
      expect(lines.filter((line) => line.level === "error" && line.text.includes("two mcpServerSide()"))).toHaveLength(
        1,
      );
    });

    it("still serves the second instance's own management routes on its basePath", async () => {
      const { logger } = capture();
      const first = instance("first", logger);
      const second = instance("second", logger, "/admin/mcp-servers");
      const url = await serve(
        appWithRoutes((app) => {
          app.use(mcpServerSide(first));
          app.use(mcpServerSide(second));
        }),
      );
      const reply = await fetch(`${url}/admin/mcp-servers`, { headers: { "x-api-key": "k" } });
      expect(reply.status).toBe(200);
      expect((await reply.json()).servers.map((server: { name: string }) => server.name)).toEqual(["second"]);
    });

    it("accepts one instance mounted twice (on the app and on a router)", async () => {
      const { lines, logger } = capture();
      const shared = instance("shared", logger);
      const url = await serve(
        appWithRoutes((app) => {
          app.use(mcpServerSide(shared));
          const router = factory.Router();
          router.use(mcpServerSide(shared));
          app.use("/a", router);
        }),
      );
      const reply = await chat(`${url}/a/chat`);
      expect(reply.status).toBe(200);
      expect(await reply.json()).toEqual(["shared"]);
      expect(lines.filter((line) => line.level === "error")).toEqual([]);
    });

    it("accepts two instances on separate routers: each request passes one", async () => {
      const { logger } = capture();
      const url = await serve(
        appWithRoutes((app) => {
          app.use("/a", mcpServerSide(instance("alpha", logger)));
          app.use("/b", mcpServerSide(instance("beta", logger)));
        }),
      );
      expect(await (await chat(`${url}/a/chat`)).json()).toEqual(["alpha"]);
      expect(await (await chat(`${url}/b/chat`)).json()).toEqual(["beta"]);
    });

    it("warns once when a JSON body reaches req.mcp unparsed, since its mcp_servers opt-out is then ignored", async () => {
      const { lines, logger } = capture();
      const mcp = instance("docs", logger);
      const app = factory();
      app.use(mcpServerSide(mcp)); // no express.json() anywhere
      app.post("/chat", async (req, res) => {
        res.json((await req.mcp.servers()).map((server) => server.name));
      });
      const url = await serve(app);
      const warnings = () => lines.filter((line) => line.level === "warn" && line.text.includes("express.json()"));
      expect(await (await chat(`${url}/chat`, { mcp_servers: {} })).json()).toEqual(["docs"]);
      expect(warnings()).toHaveLength(1);
      expect(warnings()[0]?.text).toContain("req.body undefined");
      expect(await (await chat(`${url}/chat`, { mcp_servers: {} })).json()).toEqual(["docs"]);
      expect(warnings()).toHaveLength(1);
    });

    it("does not warn with express.json() after the middleware, and honours the opt-out", async () => {
      const { lines, logger } = capture();
      const mcp = instance("docs", logger);
      const app = factory();
      app.use(mcpServerSide(mcp));
      app.use(factory.json());
      app.post("/chat", async (req, res) => {
        res.json((await req.mcp.servers()).map((server) => server.name));
      });
      app.post("/plain", async (req, res) => {
        res.json((await req.mcp.servers()).map((server) => server.name));
      });
      const url = await serve(app);
      expect(await (await chat(`${url}/chat`, { mcp_servers: {} })).json()).toEqual([]);
      // A request without a body has nothing to parse: no warning either.
      expect(await (await fetch(`${url}/plain`, { method: "POST" })).json()).toEqual(["docs"]);
      expect(lines.filter((line) => line.level === "warn")).toEqual([]);
    });
  });
}
