import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ContextError } from "../../src/types.js";
import {
  echoTool,
  isAlive,
  manyTools,
  type McpFixture,
  startSseServer,
  startStreamableServer,
  stdioFixture,
} from "../fixtures/mcp-servers.js";
import { closeEngines, eventually, makeEngine, server } from "./helpers.js";

const call = { toolCallId: "c", messages: [], context: {} };

let http: McpFixture;

beforeAll(async () => {
  http = await startStreamableServer({ tools: [echoTool()] });
});
afterEach(closeEngines);
afterAll(async () => {
  await http?.close();
});

function pidsIn(file: string): number[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe("connection pool", () => {
  it("concurrent first requests share one connect", async () => {
    const fresh = await startStreamableServer({ tools: [echoTool()] });
    try {
      const engine = makeEngine();
      const definition = { url: fresh.url };
      const sets = await Promise.all(Array.from({ length: 20 }, () => engine.tools([server("s", definition)], [])));
      expect(sets.every((tools) => Object.keys(tools).join() === "s__echo")).toBe(true);
      expect(fresh.initializations).toBe(1);
      expect(fresh.sessions).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it("a warm request reuses the connection and its tool list: no new session, no tools/list", async () => {
    const fresh = await startStreamableServer({ tools: [echoTool()] });
    try {
      const engine = makeEngine();
      const definition = { url: fresh.url };
      await engine.tools([server("s", definition)], []);
      const requests = fresh.requestHeaders.length;
      for (let index = 0; index < 5; index++) await engine.tools([server("s", { url: fresh.url })], []);
      expect(fresh.initializations).toBe(1);
      expect(fresh.requestHeaders.length).toBe(requests);
    } finally {
      await fresh.close();
    }
  });

  it("requests share one frozen ToolSet, so filtering one request's set can never change another's", async () => {
    const engine = makeEngine();
    const first = await engine.tools([server("s", { url: http.url })], []);
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => {
      delete (first as Record<string, unknown>).s__echo;
    }).toThrow(TypeError);
    // A copy is the request's own to filter.
    const filtered = { ...first };
    delete filtered.s__echo;
    const second = await engine.tools([server("s", { url: http.url })], []);
    expect(second).toBe(first);
    expect(Object.keys(second)).toEqual(["s__echo"]);
  });

  it("tenants never share a connection; config servers are shared by everyone", async () => {
    const fresh = await startStreamableServer({ tools: [echoTool()] });
    try {
      const engine = makeEngine();
      const definition = { url: fresh.url };
      await engine.tools([server("s", definition, "scope", "tenant-a")], []);
      await engine.tools([server("s", definition, "scope", "tenant-b")], []);
      expect(fresh.initializations).toBe(2);
      await engine.tools([server("c", definition, "config", "tenant-a")], []);
      await engine.tools([server("c", definition, "config", "tenant-b")], []);
      expect(fresh.initializations).toBe(3);
    } finally {
      await fresh.close();
    }
  });

  it("a changed definition gets a new connection; evicting the old one terminates its session", async () => {
    const fresh = await startStreamableServer({ tools: [echoTool()] });
    try {
      const engine = makeEngine();
      const closes: string[] = [];
      engine.hooks.hook("connection:close", ({ reason }) => {
        closes.push(reason);
      });
      await engine.tools([server("s", { url: fresh.url }, "global")], []);
      await engine.tools([server("s", { url: fresh.url, timeoutMs: 5000 }, "global")], []);
      expect(fresh.initializations).toBe(2);
      expect(fresh.sessions).toBe(2);
      await engine.evict({ source: "global", name: "s" }, "changed");
      expect(fresh.sessions).toBe(0);
      expect(fresh.terminations).toBe(2);
      expect(closes).toEqual(["changed", "changed"]);
    } finally {
      await fresh.close();
    }
  });

  it("evict only touches the named server of the named tier and scope", async () => {
    const fresh = await startStreamableServer({ tools: [echoTool()] });
    try {
      const engine = makeEngine();
      const definition = { url: fresh.url };
      await engine.tools([server("s", definition, "scope", "a"), server("t", definition, "scope", "a")], []);
      await engine.tools([server("s", definition, "scope", "b")], []);
      expect(fresh.sessions).toBe(3);
      await engine.evict({ source: "scope", scope: "a", name: "s" }, "removed");
      expect(fresh.sessions).toBe(2);
    } finally {
      await fresh.close();
    }
  });

  it("a tool set held after its server was removed fails the call instead of reconnecting", async () => {
    const engine = makeEngine();
    const tools = await engine.tools([server("s", { url: http.url }, "global")], []);
    await engine.evict({ source: "global", name: "s" }, "removed");
    const before = http.calls.length;
    await expect(tools.s__echo!.execute!({ text: "x" }, call)).rejects.toMatchObject({ code: "connection_failed" });
    expect(http.calls.length).toBe(before);
  });

  it("maxConnections bounds the pool: the least recently used connection is closed", async () => {
    const fresh = await startStreamableServer({ tools: [echoTool()] });
    try {
      const engine = makeEngine({ maxConnections: 2 });
      const evicted: string[] = [];
      engine.hooks.hook("connection:close", ({ server: ref, reason }) => {
        evicted.push(`${ref.name}:${reason}`);
      });
      const tenant = (name: string) => server(name, { url: fresh.url }, "scope", "t");
      await engine.tools([tenant("a")], []);
      await engine.tools([tenant("b")], []);
      await engine.tools([tenant("a")], []);
      await engine.tools([tenant("c")], []);
      await eventually(() => evicted.length === 1);
      expect(evicted).toEqual(["b:evicted"]);
      await eventually(() => fresh.sessions === 2);
    } finally {
      await fresh.close();
    }
  });

  it("idle connections are closed after idleTimeoutMs, and a held tool set reconnects on its next call", async () => {
    const fresh = await startStreamableServer({ tools: [echoTool()] });
    try {
      const engine = makeEngine({ idleTimeoutMs: 200 });
      const tools = await engine.tools([server("s", { url: fresh.url })], []);
      expect(fresh.sessions).toBe(1);
      await eventually(() => fresh.sessions === 0);
      expect(fresh.terminations).toBe(1);
      const result = await tools.s__echo!.execute!({ text: "again" }, call);
      expect(result).toEqual({ content: [{ type: "text", text: "echo: again" }] });
      expect(fresh.initializations).toBe(2);
    } finally {
      await fresh.close();
    }
  });

  it("close() ends every stdio child and terminates every HTTP session", async () => {
    const fresh = await startStreamableServer({ tools: [echoTool()] });
    const legacy = await startSseServer({ tools: [echoTool()] });
    const pidFile = join(mkdtempSync(join(tmpdir(), "mcp-engine-")), "pids");
    try {
      const engine = makeEngine();
      const errors: ContextError[] = [];
      await engine.tools(
        [
          server("one", stdioFixture({ pidFile })),
          server("two", stdioFixture({ pidFile, tools: [{ name: "other" }] })),
          server("http", { url: fresh.url }),
          server("sse", { url: legacy.url }),
        ],
        errors,
      );
      expect(errors).toEqual([]);
      const pids = pidsIn(pidFile);
      expect(pids).toHaveLength(2);
      expect(pids.every(isAlive)).toBe(true);
      expect(fresh.sessions).toBe(1);
      await eventually(() => legacy.sessions === 1);
      await engine.close();
      expect(pids.some(isAlive)).toBe(false);
      expect(fresh.sessions).toBe(0);
      await eventually(() => legacy.sessions === 0);
      const after = await engine.tools([server("http", { url: fresh.url })], errors);
      expect(after).toEqual({});
    } finally {
      await fresh.close();
      await legacy.close();
    }
  });
});

describe("closing HTTP sessions", () => {
  it("close() ends a session with its id, protocol version and the definition's headers, so a server requiring auth ends it too", async () => {
    const fresh = await startStreamableServer({
      tools: [echoTool()],
      requireHeaders: { authorization: "Bearer t0ken" },
    });
    try {
      const engine = makeEngine();
      const errors: ContextError[] = [];
      await engine.tools([server("http", { url: fresh.url, headers: { Authorization: "Bearer t0ken" } })], errors);
      expect(errors).toEqual([]);
      expect(fresh.sessions).toBe(1);
      await engine.close();
      expect(fresh.terminations).toBe(1);
      expect(fresh.sessions).toBe(0);
      const deleted = fresh.requestHeaders.at(-1)!;
      expect(deleted["mcp-session-id"]).toEqual(expect.any(String));
      expect(deleted["mcp-protocol-version"]).toEqual(expect.any(String));
    } finally {
      await fresh.close();
    }
  });
});

describe("tool lists and sessions that change", () => {
  it("refreshes the tool list on notifications/tools/list_changed", async () => {
    const fresh = await startStreamableServer({ tools: [echoTool()] });
    try {
      const engine = makeEngine();
      const definition = { url: fresh.url };
      expect(Object.keys(await engine.tools([server("s", definition)], []))).toEqual(["s__echo"]);
      await fresh.setTools([echoTool(), ...manyTools(2)]);
      await eventually(async () => Object.keys(await engine.tools([server("s", definition)], [])).length === 3);
      expect(Object.keys(await engine.tools([server("s", definition)], [])).sort()).toEqual([
        "s__echo",
        "s__tool_0",
        "s__tool_1",
      ]);
      expect(fresh.initializations).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it("re-initializes a session the server forgot after a restart, and the call goes through", async () => {
    const fresh = await startStreamableServer({ tools: [echoTool()] });
    try {
      const engine = makeEngine();
      const definition = { url: fresh.url };
      const tools = await engine.tools([server("s", definition)], []);
      await fresh.restart();
      // A real restart takes a moment; the client's idle sockets see their close meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(fresh.sessions).toBe(0);
      const result = await tools.s__echo!.execute!({ text: "after restart" }, call);
      expect(result).toEqual({ content: [{ type: "text", text: "echo: after restart" }] });
      expect(fresh.initializations).toBe(2);
      const errors: ContextError[] = [];
      expect(Object.keys(await engine.tools([server("s", definition)], errors))).toEqual(["s__echo"]);
      expect(errors).toEqual([]);
    } finally {
      await fresh.close();
    }
  });

  it("notices a restarted server through its event stream and re-initializes on the next request", async () => {
    const fresh = await startStreamableServer({ tools: [echoTool()] });
    try {
      const engine = makeEngine({ coolDownMs: 0 });
      const definition = { url: fresh.url };
      await engine.tools([server("s", definition)], []);
      await fresh.restart();
      const errors: ContextError[] = [];
      await eventually(async () => {
        const tools = await engine.tools([server("s", definition)], errors);
        return Object.keys(tools).join() === "s__echo" && fresh.sessions === 1;
      });
      expect(errors).toEqual([]);
      expect(fresh.initializations).toBe(2);
    } finally {
      await fresh.close();
    }
  });

  it("a call while the server is down fails as a tool error; once it is back the next call re-initializes", async () => {
    const fresh = await startStreamableServer({ tools: [echoTool()] });
    try {
      const engine = makeEngine({ coolDownMs: 0, connectRetryDelayMs: 10 });
      const tools = await engine.tools([server("s", { url: fresh.url })], []);
      await fresh.stop();
      await expect(tools.s__echo!.execute!({ text: "down" }, call)).rejects.toMatchObject({
        code: expect.stringMatching(/tool_call_failed|connection_failed/),
      });
      await fresh.start();
      const result = await tools.s__echo!.execute!({ text: "up" }, call);
      expect(result).toEqual({ content: [{ type: "text", text: "echo: up" }] });
      expect(fresh.initializations).toBe(2);
    } finally {
      await fresh.close();
    }
  });

  it("a stdio server that dies mid-session is spawned again on next use", async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), "mcp-engine-")), "pids");
    const engine = makeEngine({ coolDownMs: 0 });
    const definition = stdioFixture({ pidFile, tools: [{ name: "echo" }, { name: "crash", behavior: "crash" }] });
    const closes: string[] = [];
    engine.hooks.hook("connection:close", ({ reason }) => {
      closes.push(reason);
    });
    const tools = await engine.tools([server("local", definition)], []);
    const [firstPid] = pidsIn(pidFile);
    await expect(tools.local__crash!.execute!({}, call)).rejects.toMatchObject({ code: "tool_call_failed" });
    await eventually(() => !isAlive(firstPid!));
    expect(closes).toEqual(["error"]);
    const result = (await tools.local__echo!.execute!({ value: 1 }, call)) as { content: { text: string }[] };
    const answeredBy = JSON.parse(result.content[0]!.text).pid as number;
    expect(answeredBy).not.toBe(firstPid);
    expect(pidsIn(pidFile)).toEqual([firstPid, answeredBy]);
  });
});
