import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMcpServerSide } from "../../src/create.js";
import type { ContextError } from "../../src/types.js";
import {
  echoTool,
  type HangingServer,
  manyTools,
  type McpFixture,
  startHangingServer,
  startStreamableServer,
} from "../fixtures/mcp-servers.js";
import { closeEngines, eventually, makeEngine, server } from "./helpers.js";

let good: McpFixture;
let hanging: HangingServer;

beforeAll(async () => {
  good = await startStreamableServer({ tools: [echoTool()] });
  hanging = await startHangingServer();
});
afterEach(closeEngines);
afterAll(async () => {
  await good?.close();
  await hanging?.close();
});

const tenant = (name: string, url: string, scope: string) => server(name, { url }, "scope", scope);

describe("one caller cannot starve the others", () => {
  it("a scope whose servers accept TCP and never answer takes at most its connect cap; every other scope keeps its warm connections", async () => {
    const engine = makeEngine({
      maxConnections: 16,
      maxConnectionsPerScope: 6,
      maxConcurrentConnectsPerScope: 2,
      connectTimeoutMs: 30_000,
    });
    const closed: string[] = [];
    engine.hooks.hook("connection:close", ({ server: ref, reason }) => {
      closed.push(`${ref.scope}/${ref.name}:${reason}`);
    });
    const others = ["a", "b", "c", "d", "e"];
    // Five tenants, two warm connections each: 10 of 16 slots.
    for (const scope of others) {
      const errors: ContextError[] = [];
      await engine.tools([tenant("one", good.url, scope), tenant("two", good.url, scope)], errors);
      expect(errors).toEqual([]);
    }
    const sessions = good.initializations;
    const openBefore = hanging.open;

    // The hostile scope asks for twenty servers that never answer, in several requests at once,
    // while every other tenant keeps working.
    const hostile = Array.from({ length: 20 }, (_, index) => tenant(`h${index}`, hanging.url, "evil"));
    const hostileErrors: ContextError[][] = [];
    const hostileRequests = [0, 1, 2].map(async (round) => {
      const errors: ContextError[] = [];
      hostileErrors.push(errors);
      const tools = await engine.tools(hostile.slice(round * 5, round * 5 + 10), errors, { timeoutMs: 400 });
      expect(tools).toEqual({});
    });
    const otherRequests = others.flatMap((scope) =>
      [0, 1, 2].map(async () => {
        const errors: ContextError[] = [];
        const tools = await engine.tools([tenant("one", good.url, scope), tenant("two", good.url, scope)], errors, {
          timeoutMs: 5_000,
        });
        return { scope, names: Object.keys(tools).sort(), errors };
      }),
    );
    const [answers] = await Promise.all([Promise.all(otherRequests), Promise.all(hostileRequests)]);

    for (const answer of answers) {
      expect(answer).toEqual({ scope: answer.scope, names: ["one__echo", "two__echo"], errors: [] });
    }
    // Nobody else was evicted or reconnected.
    expect(closed.filter((entry) => !entry.startsWith("evil/"))).toEqual([]);
    expect(good.initializations).toBe(sessions);
    // The hostile scope never had more than its two connects open, and it heard why it got nothing.
    expect(hanging.open - openBefore).toBeLessThanOrEqual(2);
    const codes = new Set(hostileErrors.flat().map((error) => error.code));
    expect(codes.has("limit_exceeded")).toBe(true);
    for (const code of codes) expect(["limit_exceeded", "timeout"]).toContain(code);
  });

  it("a scope over maxConnectionsPerScope gets limit_exceeded in its own errors when all its connections are busy", async () => {
    const engine = makeEngine({
      maxConnectionsPerScope: 2,
      maxConcurrentConnectsPerScope: 2,
      connectTimeoutMs: 30_000,
    });
    const first: ContextError[] = [];
    await engine.tools([tenant("h1", hanging.url, "evil"), tenant("h2", hanging.url, "evil")], first, {
      timeoutMs: 200,
    });
    expect(first.map((error) => error.code)).toEqual(["timeout", "timeout"]);
    // Both connects are still running (busy): a third server of the same scope cannot get a slot.
    const over: ContextError[] = [];
    await engine.tools([tenant("h3", hanging.url, "evil")], over, { timeoutMs: 200 });
    expect(over).toEqual([
      {
        code: "limit_exceeded",
        server: "h3",
        message: expect.stringContaining("maxConnectionsPerScope: 2"),
      },
    ]);
    // Another scope in the same pool is not affected.
    const fine: ContextError[] = [];
    const tools = await engine.tools([tenant("ok", good.url, "other")], fine);
    expect(Object.keys(tools)).toEqual(["ok__echo"]);
    expect(fine).toEqual([]);
  });

  it("anonymous callers count as one scope: together they get limit_exceeded, a keyed scope does not", async () => {
    const engine = makeEngine({
      maxConnectionsPerScope: 2,
      maxConcurrentConnectsPerScope: 2,
      connectTimeoutMs: 30_000,
    });
    const anonymous = (name: string) => server(name, { url: hanging.url }, "request");
    await engine.tools([anonymous("h1")], [], { timeoutMs: 100 });
    await engine.tools([anonymous("h2")], [], { timeoutMs: 100 });
    const third: ContextError[] = [];
    await engine.tools([anonymous("h3")], third, { timeoutMs: 100 });
    expect(third.map((error) => error.code)).toEqual(["limit_exceeded"]);
    const keyed: ContextError[] = [];
    await engine.tools([server("h3", { url: hanging.url }, "request", "someone")], keyed, { timeoutMs: 100 });
    expect(keyed.map((error) => error.code)).toEqual(["timeout"]);
  });

  it("config servers are never evicted by tenants' pressure on a full pool", async () => {
    const shared = await startStreamableServer({ tools: [echoTool()] });
    try {
      const engine = makeEngine({ maxConnections: 3 });
      const closed: string[] = [];
      engine.hooks.hook("connection:close", ({ server: ref, reason }) => {
        closed.push(`${ref.source}/${ref.name}:${reason}`);
      });
      await engine.tools([server("cfg", { url: shared.url })], []);
      for (const name of ["a", "b", "c", "d", "e"]) {
        const errors: ContextError[] = [];
        const tools = await engine.tools([tenant(name, good.url, `t-${name}`)], errors);
        expect(Object.keys(tools)).toEqual([`${name}__echo`]);
      }
      const tools = await engine.tools([server("cfg", { url: shared.url })], []);
      expect(Object.keys(tools)).toEqual(["cfg__echo"]);
      expect(shared.initializations).toBe(1);
      await eventually(() => closed.length === 3);
      expect(closed.every((entry) => entry.startsWith("scope/") && entry.endsWith(":evicted"))).toBe(true);
    } finally {
      await shared.close();
    }
  });

  it("many scopes at once against slow servers: each gets its own tools", async () => {
    const slow = await startStreamableServer({ tools: [echoTool()], listDelayMs: 150 });
    try {
      // Generous connect deadline: twelve scopes connect at once on a machine that may be busy.
      const engine = makeEngine({ maxConcurrentConnectsPerScope: 1, connectTimeoutMs: 30_000 });
      const scopes = Array.from({ length: 12 }, (_, index) => `tenant-${index}`);
      const answers = await Promise.all(
        scopes.map(async (scope) => {
          const errors: ContextError[] = [];
          const tools = await engine.tools([tenant("slow", slow.url, scope), tenant("fast", good.url, scope)], errors, {
            timeoutMs: 60_000,
          });
          return { names: Object.keys(tools).sort(), codes: errors.map((error) => `${error.server}:${error.code}`) };
        }),
      );
      for (const answer of answers) {
        expect(answer).toEqual({ names: ["fast__echo", "slow__echo"], codes: [] });
      }
      expect(slow.initializations).toBe(12);
    } finally {
      await slow.close();
    }
  });
});

describe("POST /test has a per-scope concurrency cap", () => {
  it("a scope over maxConcurrentTestsPerScope gets limit_exceeded (429); another scope's test goes through", async () => {
    const engine = makeEngine({ maxConcurrentTestsPerScope: 2, connectTimeoutMs: 1_000 });
    const openBefore = hanging.open;
    const runs = Array.from({ length: 5 }, (_, index) =>
      engine.test(tenant(`h${index}`, hanging.url, "evil")).then(
        (result) => (result.ok ? "ok" : result.error.code),
        (error: { code?: string; status?: number }) => `${error.code}:${error.status}`,
      ),
    );
    const other = await engine.test(tenant("fine", good.url, "other"));
    expect(other.ok).toBe(true);
    expect(hanging.open - openBefore).toBeLessThanOrEqual(2);
    const outcomes = await Promise.all(runs);
    expect(outcomes.filter((outcome) => outcome === "limit_exceeded:429")).toHaveLength(3);
    expect(outcomes.filter((outcome) => outcome === "timeout")).toHaveLength(2);
  });

  it("the management route answers a problem document for the scope over its cap", async () => {
    const mcp = createMcpServerSide({
      allowPrivateNetworks: true,
      requireHttps: false,
      maxConcurrentTestsPerScope: 1,
      connectTimeoutMs: 2_000,
      logger: false as never,
    });
    try {
      const post = (key: string, url: string): Promise<Response> =>
        mcp.handle(
          new Request("http://app.test/mcp-servers/test", {
            method: "POST",
            headers: { "content-type": "application/json", "x-api-key": key },
            body: JSON.stringify({ url }),
          }),
        ) as Promise<Response>;
      const first = post("key-evil", hanging.url);
      // Let the first test take the scope's one permit.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const second = await post("key-evil", hanging.url);
      expect(second.status).toBe(429);
      expect(second.headers.get("content-type")).toContain("application/problem+json");
      expect(await second.json()).toMatchObject({ code: "limit_exceeded" });
      const other = await post("key-other", good.url);
      expect(other.status).toBe(200);
      expect(await other.json()).toMatchObject({ ok: true });
      expect(await (await first).json()).toMatchObject({ ok: false, error: { code: "timeout" } });
    } finally {
      await mcp.close();
    }
  });
});

describe("one deadline per listing, pages included", () => {
  it("test() against a server that pages slowly stops at toolsTimeoutMs, not one budget per page", async () => {
    const pager = await startStreamableServer({ tools: manyTools(15), pageSize: 1, listDelayMs: 200 });
    try {
      const engine = makeEngine({ toolsTimeoutMs: 500 });
      const result = await engine.test(tenant("pager", pager.url, "t"));
      expect(result).toEqual({
        ok: false,
        error: { code: "timeout", message: "the MCP server did not list its tools in time" },
      });
      // A fresh budget per page would have read all 15 pages.
      expect(pager.listRequests).toBeLessThan(6);
    } finally {
      await pager.close();
    }
  });

  it("tools() gives up on a slow pager within one budget and reports a timeout", async () => {
    const pager = await startStreamableServer({ tools: manyTools(15), pageSize: 1, listDelayMs: 200 });
    try {
      const engine = makeEngine({ toolsTimeoutMs: 500 });
      const errors: ContextError[] = [];
      const tools = await engine.tools([tenant("pager", pager.url, "t")], errors, { timeoutMs: 30_000 });
      expect(tools).toEqual({});
      expect(errors.map((error) => error.code)).toEqual(["timeout"]);
      expect(pager.listRequests).toBeLessThan(6);
    } finally {
      await pager.close();
    }
  });

  it("stops a listing at maxToolListPages", async () => {
    const pager = await startStreamableServer({ tools: manyTools(30), pageSize: 2 });
    try {
      const engine = makeEngine({ maxToolListPages: 3 });
      const tools = await engine.tools([tenant("pager", pager.url, "t")], []);
      expect(Object.keys(tools)).toHaveLength(6);
      expect(pager.listRequests).toBe(3);
    } finally {
      await pager.close();
    }
  });
});
