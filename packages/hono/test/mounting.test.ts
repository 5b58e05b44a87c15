import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { createMcpServerSide, type Logger, type McpServerSide } from "@mcp-server-side/core";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { listen } from "../../../test/http/index.js";
import { type McpServerSideEnv, mcpServerSide } from "../src/index.js";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((close) => close()));
});

function capture(): { errors: string[]; logger: Logger } {
  const errors: string[] = [];
  const quiet = (): void => {};
  return {
    errors,
    logger: {
      debug: quiet,
      info: quiet,
      warn: quiet,
      error: (...args) => void errors.push(args.map(String).join(" ")),
    },
  };
}

function instance(server: string, logger: Logger): McpServerSide {
  const mcp = createMcpServerSide({
    config: { mcpServers: { [server]: { url: `https://${server}.example.com/mcp` } } },
    logger,
    warmup: false,
  });
  cleanup.push(() => mcp.close());
  return mcp;
}

async function serve(app: Hono<McpServerSideEnv>): Promise<string> {
  app.onError((error, c) => c.json({ message: error.message, code: (error as { code?: string }).code }, 500));
  const running = await listen(createAdaptorServer({ fetch: app.fetch }) as Server);
  cleanup.push(running.close);
  return running.url;
}

const names = (app: Hono<McpServerSideEnv>, path: string): void => {
  app.post(path, async (c) => c.json((await c.var.mcp.servers()).map((server) => server.name)));
};
const chat = (url: string): Promise<Response> =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });

describe("mounting on Hono", () => {
  it("fails loudly, with the fix, when two instances are mounted on one app", async () => {
    const { errors, logger } = capture();
    const app = new Hono<McpServerSideEnv>();
    app.use(mcpServerSide(instance("first", logger)));
    app.use(mcpServerSide(instance("second", logger)));
    names(app, "/chat");
    const reply = await chat(`${await serve(app)}/chat`);
    expect(reply.status).toBe(500);
    const body = await reply.json();
    expect(body.code).toBe("invalid_config");
    expect(body.message).toContain("two mcpServerSide() middlewares on one app");
    expect(errors.filter((line) => line.includes("two mcpServerSide()"))).toHaveLength(1);
  });

  it("accepts one instance mounted twice (on the app and on a sub-app)", async () => {
    const { errors, logger } = capture();
    const shared = instance("shared", logger);
    const sub = new Hono<McpServerSideEnv>();
    sub.use(mcpServerSide(shared));
    names(sub, "/chat");
    const app = new Hono<McpServerSideEnv>();
    app.use(mcpServerSide(shared));
    app.route("/a", sub);
    const reply = await chat(`${await serve(app)}/a/chat`);
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual(["shared"]);
    expect(errors).toEqual([]);
  });

  it("accepts two instances on separate sub-apps: each request passes one", async () => {
    const { logger } = capture();
    const app = new Hono<McpServerSideEnv>();
    for (const [path, server] of [
      ["/a", "alpha"],
      ["/b", "beta"],
    ] as const) {
      const sub = new Hono<McpServerSideEnv>();
      sub.use(mcpServerSide(instance(server, logger)));
      names(sub, "/chat");
      app.route(path, sub);
    }
    const url = await serve(app);
    expect(await (await chat(`${url}/a/chat`)).json()).toEqual(["alpha"]);
    expect(await (await chat(`${url}/b/chat`)).json()).toEqual(["beta"]);
  });
});
