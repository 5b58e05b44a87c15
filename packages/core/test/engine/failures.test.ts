import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { McpServerSideError } from "../../src/errors.js";
import type { ContextError } from "../../src/types.js";
import {
  bigResultTool,
  echoTool,
  type HangingServer,
  hangingTool,
  manyTools,
  type McpFixture,
  startHangingServer,
  startHttpServer,
  startStreamableServer,
  stdioFixture,
} from "../fixtures/mcp-servers.js";
import { closeEngines, makeEngine, server } from "./helpers.js";

const call = { toolCallId: "c", messages: [], context: {} };

let good: McpFixture;
let hanging: HangingServer;
let closedPortUrl: string;

beforeAll(async () => {
  good = await startStreamableServer({ tools: [echoTool()] });
  hanging = await startHangingServer();
  const closed = await startHttpServer(() => undefined);
  closedPortUrl = `${closed.url}/mcp`;
  await closed.close();
});
afterEach(closeEngines);
afterAll(async () => {
  await good?.close();
  await hanging?.close();
});

describe("one slow or broken server never breaks a request", () => {
  it("tools() returns the other servers' tools within toolsTimeoutMs when one server never answers", async () => {
    const engine = makeEngine({ connectTimeoutMs: 60_000 });
    // The good server is warm first: a cold connect on a busy machine may itself take 300 ms.
    await engine.tools([server("good", { url: good.url })], []);
    const errors: ContextError[] = [];
    const failures: { name: string; code: string }[] = [];
    engine.hooks.hook("connection:error", ({ server: ref, code }) => {
      failures.push({ name: ref.name, code });
    });
    const tools = await engine.tools(
      [server("slow", { url: hanging.url }), server("good", { url: good.url })],
      errors,
      { timeoutMs: 300 },
    );
    expect(Object.keys(tools)).toEqual(["good__echo"]);
    expect(errors).toEqual([
      { code: "timeout", server: "slow", message: "the MCP server did not answer within 300 ms" },
    ]);
    expect(failures).toEqual([{ name: "slow", code: "timeout" }]);
  });

  it("a server whose connect fails is retried once, then cools down instead of being retried on every request", async () => {
    const engine = makeEngine({ connectTimeoutMs: 200, connectRetryDelayMs: 50, coolDownMs: 60_000 });
    const before = hanging.requests;
    const errors: ContextError[] = [];
    await engine.tools([server("slow", { url: hanging.url })], errors, { timeoutMs: 2_000 });
    expect(errors).toEqual([
      { code: "timeout", server: "slow", message: "the MCP server did not complete the connection within 200 ms" },
    ]);
    expect(hanging.requests - before).toBe(2);
    const next: ContextError[] = [];
    const tools = await engine.tools([server("slow", { url: hanging.url }), server("good", { url: good.url })], next);
    expect(Object.keys(tools)).toEqual(["good__echo"]);
    expect(next).toEqual([{ code: "cooling_down", server: "slow", message: expect.stringContaining("timeout") }]);
    expect(hanging.requests - before).toBe(2);
  });

  it("after the cool-down the server is tried again", async () => {
    let clock = 0;
    const engine = makeEngine({ coolDownMs: 1_000, connectRetryDelayMs: 10 }, { now: () => clock });
    const errors: ContextError[] = [];
    await engine.tools([server("gone", { url: closedPortUrl })], errors);
    expect(errors.map((error) => error.code)).toEqual(["connection_failed"]);
    const cooling: ContextError[] = [];
    await engine.tools([server("gone", { url: closedPortUrl })], cooling);
    expect(cooling.map((error) => error.code)).toEqual(["cooling_down"]);
    clock += 1_001;
    const retried: ContextError[] = [];
    await engine.tools([server("gone", { url: closedPortUrl })], retried);
    expect(retried.map((error) => error.code)).toEqual(["connection_failed"]);
  });

  it("reports a refused connection, refused credentials and a non-MCP endpoint with their codes", async () => {
    const locked = await startStreamableServer({
      tools: [echoTool()],
      requireHeaders: { authorization: "Bearer right" },
    });
    const web = await startHttpServer((_request, response) => {
      response.writeHead(404, { "content-type": "text/html" }).end("<h1>nope</h1>");
    });
    try {
      const engine = makeEngine({ connectRetryDelayMs: 10 });
      const errors: ContextError[] = [];
      const tools = await engine.tools(
        [
          server("gone", { url: closedPortUrl }),
          server("locked", { url: locked.url, auth: { type: "bearer", token: "wrong" } }),
          server("web", { url: `${web.url}/mcp` }),
          server("good", { url: good.url }),
        ],
        errors,
      );
      expect(Object.keys(tools)).toEqual(["good__echo"]);
      expect(errors.map(({ server: name, code }) => `${name}:${code}`).sort()).toEqual([
        "gone:connection_failed",
        "locked:auth_failed",
        "web:not_mcp_server",
      ]);
      expect(JSON.stringify(errors)).not.toContain("wrong");
      expect(JSON.stringify(errors)).not.toContain("127.0.0.1");
    } finally {
      await locked.close();
      await web.close();
    }
  });

  it("a stdio command that does not exist is reported, not thrown", async () => {
    const engine = makeEngine();
    const errors: ContextError[] = [];
    const tools = await engine.tools([server("missing", { command: "/nonexistent/mcp-server-binary" })], errors);
    expect(tools).toEqual({});
    expect(errors).toEqual([
      {
        code: "connection_failed",
        server: "missing",
        message: "the server's command '/nonexistent/mcp-server-binary' could not be started (ENOENT)",
      },
    ]);
  });

  it("an aborted tools() returns at once with what it has", async () => {
    const engine = makeEngine({ connectTimeoutMs: 60_000 });
    const controller = new AbortController();
    const errors: ContextError[] = [];
    const pending = engine.tools([server("slow", { url: hanging.url })], errors, {
      signal: controller.signal,
      timeoutMs: 60_000,
    });
    controller.abort();
    expect(await pending).toEqual({});
    expect(errors.map((error) => error.code)).toEqual(["aborted"]);
  });
});

describe("one bad tool never breaks a request", () => {
  it("quarantines invalid input schemas and keeps the server's other tools", async () => {
    let deep: Record<string, unknown> = { type: "string" };
    for (let level = 0; level < 1000; level++) deep = { type: "object", properties: { x: deep } };
    const bad = await startStreamableServer({
      tools: [
        echoTool(),
        { name: "array_root", inputSchema: { type: "array", items: { type: "string" } } },
        { name: "bad_type", inputSchema: { type: "object", properties: { a: { type: "strin" } } } },
        {
          name: "remote_ref",
          inputSchema: { type: "object", properties: { a: { $ref: "https://evil.example/schema.json" } } },
        },
        { name: "dangling_ref", inputSchema: { type: "object", properties: { a: { $ref: "#/$defs/missing" } } } },
        { name: "bad_pattern", inputSchema: { type: "object", properties: { a: { type: "string", pattern: "([" } } } },
        { name: "too_deep", inputSchema: deep },
        { name: "string_schema", inputSchema: "not a schema" },
        {
          name: "local_ref",
          inputSchema: { type: "object", $defs: { n: { type: "number" } }, properties: { a: { $ref: "#/$defs/n" } } },
        },
      ],
    });
    try {
      const engine = makeEngine();
      const errors: ContextError[] = [];
      const tools = await engine.tools([server("s", { url: bad.url })], errors);
      expect(Object.keys(tools).sort()).toEqual(["s__echo", "s__local_ref"]);
      expect(errors.every((error) => error.code === "tool_schema_rejected" && error.server === "s")).toBe(true);
      expect(errors.map((error) => error.tool).sort()).toEqual([
        "array_root",
        "bad_pattern",
        "bad_type",
        "dangling_ref",
        "remote_ref",
        "string_schema",
        "too_deep",
      ]);
    } finally {
      await bad.close();
    }
  });

  it("keeps maxToolsPerServer tools of a server with 1000 and reports the rest", async () => {
    const crowded = await startStreamableServer({ tools: manyTools(1000), pageSize: 100 });
    try {
      const engine = makeEngine();
      const errors: ContextError[] = [];
      const tools = await engine.tools([server("s", { url: crowded.url })], errors);
      expect(Object.keys(tools)).toHaveLength(128);
      expect(tools.s__tool_0).toBeDefined();
      expect(tools.s__tool_127).toBeDefined();
      expect(errors).toEqual([
        {
          code: "tool_limit_exceeded",
          server: "s",
          message: "the server offers 1000 tools; 872 over the limit of 128 were left out",
        },
      ]);
    } finally {
      await crowded.close();
    }
  });

  it("applies allow/deny globs (deny wins) before the limit, and requireApproval sets needsApproval", async () => {
    const crowded = await startStreamableServer({ tools: [...manyTools(20, "read"), ...manyTools(5, "write")] });
    try {
      const engine = makeEngine({ maxToolsPerServer: 10 });
      const errors: ContextError[] = [];
      const tools = await engine.tools(
        [
          server("s", {
            url: crowded.url,
            tools: { allow: ["read_1*", "write_*"], deny: ["write_4"], requireApproval: ["write_*"] },
          }),
        ],
        errors,
      );
      expect(Object.keys(tools).sort()).toEqual([
        "s__read_1",
        "s__read_10",
        "s__read_11",
        "s__read_12",
        "s__read_13",
        "s__read_14",
        "s__read_15",
        "s__read_16",
        "s__read_17",
        "s__read_18",
      ]);
      expect(errors.map((error) => error.code)).toEqual(["tool_limit_exceeded"]);
      const approving = await engine.tools(
        [server("w", { url: crowded.url, tools: { allow: ["write_*"], requireApproval: ["write_1"] } })],
        [],
      );
      expect(approving.w__write_1?.needsApproval).toBe(true);
      expect(approving.w__write_0?.needsApproval).toBeUndefined();
    } finally {
      await crowded.close();
    }
  });

  it("makes every name provider-safe, shortening with a stable hash, and caps long descriptions", async () => {
    const odd = await startStreamableServer({
      tools: [
        { name: "get.weather/today", description: "d".repeat(100_000) },
        { name: "get_weather_today" },
        { name: `very_${"long_".repeat(20)}name` },
      ],
    });
    try {
      const engine = makeEngine();
      const first = await engine.tools([server("s", { url: odd.url })], []);
      const names = Object.keys(first);
      expect(names).toHaveLength(3);
      expect(names.every((name) => /^[A-Za-z0-9_-]{1,64}$/.test(name))).toBe(true);
      expect(names).toContain("s__get_weather_today");
      const dotted = names.find((name) => name.startsWith("s__get_weather_today_"));
      expect(dotted).toMatch(/^s__get_weather_today_[0-9a-f]{8}$/);
      expect((first[dotted!]?.description ?? "").length).toBeLessThanOrEqual(4096);
      const again = await makeEngine().tools([server("s", { url: odd.url })], []);
      expect(Object.keys(again).sort()).toEqual([...names].sort());
    } finally {
      await odd.close();
    }
  });

  it("a name two servers produce never lets one replace the other", async () => {
    const other = await startStreamableServer({ tools: [echoTool()] });
    try {
      const engine = makeEngine({}, { toolName: (_server, tool) => tool });
      const errors: ContextError[] = [];
      const tools = await engine.tools([server("a", { url: good.url }), server("b", { url: other.url })], errors);
      const names = Object.keys(tools);
      expect(names).toHaveLength(2);
      expect(names[0]).toBe("echo");
      expect(names[1]).toMatch(/^echo_[0-9a-f]{8}$/);
      expect(errors.map((error) => `${error.code}:${error.server}`)).toEqual(["tool_name_conflict:b"]);
      const before = other.calls.length;
      await tools[names[1]!]!.execute!({ text: "to b" }, call);
      expect(other.calls.slice(before)).toEqual([{ tool: "echo", arguments: { text: "to b" } }]);
    } finally {
      await other.close();
    }
  });
});

describe("tool calls that go wrong", () => {
  it("truncates a 10 MB result to maxToolResultBytes with a marker", async () => {
    const big = await startStreamableServer({ tools: [bigResultTool(10 * 1024 * 1024)] });
    try {
      const engine = makeEngine();
      const tools = await engine.tools([server("s", { url: big.url })], []);
      const result = (await tools.s__big!.execute!({}, call)) as { content: { type: string; text: string }[] };
      const text = result.content.map((part) => part.text).join("");
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1024 * 1024);
      expect(text).toContain("[truncated by mcp-server-side");
      expect(text.startsWith("xxxx")).toBe(true);
    } finally {
      await big.close();
    }
  });

  it("a call that never answers fails with timeout at the server's timeoutMs, an overall deadline", async () => {
    const slow = await startStreamableServer({ tools: [hangingTool()] });
    try {
      const engine = makeEngine();
      const seen: string[] = [];
      engine.hooks.hook("tool:error", ({ code, toolName }) => {
        seen.push(`${toolName}:${code}`);
      });
      const tools = await engine.tools([server("s", { url: slow.url, timeoutMs: 200 })], []);
      const failure = await tools.s__hang!.execute!({}, call).catch((error: unknown) => error);
      expect(McpServerSideError.isInstance(failure)).toBe(true);
      expect(failure).toMatchObject({ code: "timeout", message: "the tool call did not finish within 200 ms" });
      expect(seen).toEqual(["s__hang:timeout"]);
    } finally {
      await slow.close();
    }
  });

  it("the AI SDK's abort signal cancels a running call", async () => {
    const slow = await startStreamableServer({ tools: [hangingTool()] });
    try {
      const engine = makeEngine();
      const tools = await engine.tools([server("s", { url: slow.url })], []);
      const controller = new AbortController();
      const pending = tools.s__hang!.execute!({}, { ...call, abortSignal: controller.signal });
      setTimeout(() => controller.abort(new Error("user went away")), 50);
      await expect(pending).rejects.toThrow("user went away");
    } finally {
      await slow.close();
    }
  });
});

describe("management helpers", () => {
  it("listTools() gives name, toolName, description and inputSchema after allow/deny", async () => {
    const engine = makeEngine();
    const listed = await engine.listTools(server("docs", { url: good.url, tools: { deny: ["nothing"] } }));
    expect(listed).toEqual([
      {
        name: "echo",
        toolName: "docs__echo",
        description: "Echoes the text back",
        inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
      },
    ]);
  });

  it("listTools() throws upstream_error when the server cannot be reached", async () => {
    const engine = makeEngine({ connectRetryDelayMs: 10 });
    await expect(engine.listTools(server("gone", { url: closedPortUrl }))).rejects.toMatchObject({
      code: "upstream_error",
      status: 502,
    });
  });

  it("test() connects without pooling, lists the tools and closes the session", async () => {
    const fresh = await startStreamableServer({ tools: [echoTool(), ...manyTools(2)] });
    try {
      const engine = makeEngine();
      const result = await engine.test(server("candidate", { url: fresh.url }, "scope", "t"));
      expect(result).toEqual({
        ok: true,
        tools: [
          { name: "echo", description: "Echoes the text back" },
          { name: "tool_0", description: "Tool number 0" },
          { name: "tool_1", description: "Tool number 1" },
        ],
        latencyMs: expect.any(Number),
      });
      expect(fresh.sessions).toBe(0);
      expect(fresh.terminations).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it("test() answers each failure with its code and never throws", async () => {
    const locked = await startStreamableServer({ requireHeaders: { "x-key": "k" } });
    const web = await startHttpServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/html" }).end("<html></html>");
    });
    try {
      // Only the server that never answers meets the short connect timeout; the others answer, however
      // slowly a busy machine lets them, within seconds of margin.
      const engine = makeEngine({ connectTimeoutMs: 20_000, maxConcurrentTestsPerScope: 5 });
      const codes = await Promise.all([
        engine.test(server("a", { url: closedPortUrl })),
        makeEngine({ connectTimeoutMs: 300 }).test(server("b", { url: hanging.url })),
        engine.test(server("c", { url: locked.url })),
        engine.test(server("d", { url: `${web.url}/mcp` })),
        engine.test(server("e", { url: "ftp://example.com/mcp" })),
        engine.test(server("f", stdioFixture({ tools: [{ name: "echo" }] }))),
      ]);
      expect(codes.map((result) => (result.ok ? "ok" : result.error.code))).toEqual([
        "connection_failed",
        "timeout",
        "auth_failed",
        "not_mcp_server",
        "invalid_url",
        "ok",
      ]);
    } finally {
      await locked.close();
      await web.close();
    }
  });

  it("test() reports blocked_address from the guarded fetch without revealing the address", async () => {
    const engine = makeEngine(
      {},
      {
        fetchFor: () => async () => {
          throw new TypeError("fetch failed", {
            cause: new McpServerSideError("blocked_address", "the host resolves to a blocked address"),
          });
        },
      },
    );
    const result = await engine.test(server("x", { url: "https://internal.example.com/mcp" }, "scope", "t"));
    expect(result).toEqual({
      ok: false,
      error: { code: "blocked_address", message: "the host resolves to a blocked address" },
    });
  });
});
