import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMcpServerSide, type McpServerSide } from "../../src/index.js";
import { echoTool, type McpFixture, startStreamableServer } from "../fixtures/mcp-servers.js";

const APP = "http://app.test";
let upstream: McpFixture;
const open: McpServerSide[] = [];

beforeAll(async () => {
  upstream = await startStreamableServer({ tools: [echoTool()] });
});
afterAll(async () => {
  await upstream?.close();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((mcp) => mcp.close()));
});

function instance(): McpServerSide {
  const mcp = createMcpServerSide({
    identify: (request) => {
      const user = request.headers.get("x-user");
      return user === null ? null : { scope: "acme", user, admin: user === "admin" };
    },
    config: {
      mcpServers: {
        usual: { url: upstream.url },
        rare: { url: upstream.url, availability: "default_off" },
        always: { url: upstream.url, availability: "force_on" },
      },
    },
    allowPrivateNetworks: true,
    requireHttps: false,
    logger: false,
    warmup: false,
  });
  open.push(mcp);
  return mcp;
}

function as(user: string, path: string, init: RequestInit = {}): Request {
  const headers = new Headers(init.headers);
  headers.set("x-user", user);
  return new Request(`${APP}${path}`, { ...init, headers });
}

function put(user: string, name: string, body: unknown): Request {
  return as(user, `/mcp-servers/${name}/preference`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function toolNames(mcp: McpServerSide, user: string): Promise<string[]> {
  return Object.keys(await mcp.forRequest(as(user, "/chat")).tools()).sort();
}

describe("PUT /:name/preference", () => {
  it("switches a default_on server off and a default_off server on for that user only", async () => {
    const mcp = instance();
    expect(await toolNames(mcp, "alice")).toEqual(["always__echo", "usual__echo"]);

    const off = await mcp.handle(put("alice", "usual", { enabled: false }));
    expect(off?.status).toBe(200);
    expect(await off?.json()).toEqual({ name: "usual", preference: false });
    expect((await mcp.handle(put("alice", "rare", { enabled: true })))?.status).toBe(200);

    expect(await toolNames(mcp, "alice")).toEqual(["always__echo", "rare__echo"]);
    expect(await toolNames(mcp, "bob")).toEqual(["always__echo", "usual__echo"]);

    const list = (await (await mcp.handle(as("alice", "/mcp-servers")))?.json()) as {
      servers: { name: string; preference?: boolean }[];
    };
    expect(Object.fromEntries(list.servers.map((server) => [server.name, server.preference]))).toEqual({
      usual: false,
      rare: true,
      always: undefined,
    });

    // DELETE goes back to the server's availability.
    expect((await mcp.handle(as("alice", "/mcp-servers/usual/preference", { method: "DELETE" })))?.status).toBe(204);
    expect(await toolNames(mcp, "alice")).toEqual(["always__echo", "rare__echo", "usual__echo"]);
  });

  it("lets a request's mcp_select win over the user's switches", async () => {
    const mcp = instance();
    await mcp.handle(put("alice", "usual", { enabled: false }));
    const context = mcp.forRequest(as("alice", "/chat"), { select: ["usual"] });
    expect(Object.keys(await context.tools()).sort()).toEqual(["always__echo", "usual__echo"]);
  });

  it("answers 422 at /enabled for a body without a boolean and for a force_on server", async () => {
    const mcp = instance();
    for (const [name, body] of [
      ["usual", { enabled: "no" }],
      ["always", { enabled: false }],
    ] as const) {
      const response = await mcp.handle(put("alice", name, body));
      expect(response?.status).toBe(422);
      const problem = (await response?.json()) as { errors: { pointer: string }[] };
      expect(problem.errors.map((error) => error.pointer)).toEqual(["/enabled"]);
    }
  });

  it("answers 404 for a server the caller cannot see and 401 without an identity", async () => {
    const mcp = instance();
    expect((await mcp.handle(put("alice", "nope", { enabled: true })))?.status).toBe(404);
    const anonymous = await mcp.handle(
      new Request(`${APP}/mcp-servers/usual/preference`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ enabled: false }),
      }),
    );
    expect(anonymous?.status).toBe(401);
  });

  it("forgets the switches of a deleted server: one re-created by that name starts from its default", async () => {
    const mcp = instance();
    for (const scope of [undefined, "global"]) {
      const create = (): Promise<Response | undefined> =>
        mcp.handle(
          as("admin", "/mcp-servers", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ name: "team", url: upstream.url, ...(scope ? { scope } : {}) }),
          }),
        );
      expect((await create())?.status, scope).toBe(201);
      expect((await mcp.handle(put("alice", "team", { enabled: false })))?.status).toBe(200);
      expect(await toolNames(mcp, "alice")).not.toContain("team__echo");

      expect((await mcp.handle(as("admin", "/mcp-servers/team", { method: "DELETE" })))?.status).toBe(204);
      expect((await create())?.status).toBe(201);
      expect(await toolNames(mcp, "alice")).toContain("team__echo");
      const list = (await (await mcp.handle(as("alice", "/mcp-servers")))?.json()) as {
        servers: { name: string; preference?: boolean }[];
      };
      expect(list.servers.find((server) => server.name === "team")?.preference, scope).toBeUndefined();
      expect((await mcp.handle(as("admin", "/mcp-servers/team", { method: "DELETE" })))?.status).toBe(204);
    }
  });
});
