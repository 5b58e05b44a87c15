import { createMcpServerSide, type McpServerSide, type McpServerSideOptions } from "@mcp-server-side/core";
import { generateText, stepCountIs } from "ai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMcpHooks, hasHandlers } from "../../src/hooks.js";
import { scriptedModel } from "../engine/helpers.js";
import { echoTool, hangingTool, type McpFixture, startStreamableServer } from "../fixtures/mcp-servers.js";

const ADMIN_KEY = "admin-key-audit";
const MEMBER_KEY = "member-key-audit";
const TOKEN = "tok-audit-secret-5c1e";

let upstream: McpFixture;
const instances: McpServerSide[] = [];
beforeAll(async () => {
  upstream = await startStreamableServer({ tools: [echoTool(), hangingTool()] });
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await Promise.all(instances.splice(0).map((instance) => instance.close()));
});

type Event = { hook: string; payload: Record<string, unknown> };

function instance(options: McpServerSideOptions = {}): { mcp: McpServerSide; events: Event[]; lines: string[] } {
  const events: Event[] = [];
  const lines: string[] = [];
  const record =
    (hook: string) =>
    (payload: Record<string, unknown>): void => {
      events.push({ hook, payload: structuredClone({ ...payload, tools: undefined }) });
    };
  const line = (...args: unknown[]): void => {
    lines.push(args.map(String).join(" "));
  };
  const mcp = createMcpServerSide({
    logger: { debug: line, info: line, warn: line, error: line },
    identify: (request) => {
      const key = request.headers.get("x-api-key");
      if (key === ADMIN_KEY) return { scope: "ops", user: "alice", admin: true };
      if (key === MEMBER_KEY) return { scope: "tenant", user: "bob" };
      return null;
    },
    lookup: async () => [{ address: "93.184.216.34", family: 4 }],
    config: { mcpServers: { docs: { url: upstream.url } } },
    hooks: Object.fromEntries(
      [
        "config:loaded",
        "server:registered",
        "server:updated",
        "server:removed",
        "connection:error",
        "tools:resolved",
        "tool:before-call",
        "tool:after-call",
        "tool:error",
      ].map((hook) => [hook, record(hook)]),
    ),
    ...options,
  });
  instances.push(mcp);
  return { mcp, events, lines };
}

function send(mcp: McpServerSide, method: string, path: string, init: { key?: string; id?: string; body?: unknown }) {
  const headers: Record<string, string> = {};
  if (init.key !== undefined) headers["x-api-key"] = init.key;
  if (init.id !== undefined) headers["x-request-id"] = init.id;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  return mcp.handle(
    new Request(`http://app.test${path}`, {
      method,
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    }),
  ) as Promise<Response>;
}

const of = (events: Event[], hook: string): Record<string, unknown>[] =>
  events.filter((event) => event.hook === hook).map((event) => event.payload);

describe("audit: every hook names its caller and request", () => {
  it("server:registered, server:updated and server:removed name the actor, the request id and the change, redacted", async () => {
    const { mcp, events } = instance();
    await mcp.ready();
    const created = await send(mcp, "POST", "/mcp-servers", {
      key: MEMBER_KEY,
      id: "trace-create-1",
      body: { name: "crm", url: "https://crm.example.com/mcp", auth: { type: "bearer", token: TOKEN } },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("x-request-id")).toBe("trace-create-1");
    const updated = await send(mcp, "PATCH", "/mcp-servers/crm", {
      key: MEMBER_KEY,
      id: "trace-update-2",
      body: { description: "the CRM" },
    });
    expect(updated.status).toBe(200);
    const removed = await send(mcp, "DELETE", "/mcp-servers/crm", { key: MEMBER_KEY, id: "trace-remove-3" });
    expect(removed.status).toBe(204);
    expect(removed.headers.get("x-request-id")).toBe("trace-remove-3");

    const caller = { scope: expect.stringMatching(/tenant/), user: "bob" };
    const [registered] = of(events, "server:registered");
    expect(registered).toMatchObject({ caller, requestId: "trace-create-1", server: { name: "crm", source: "scope" } });
    expect(registered?.caller).not.toHaveProperty("admin");
    const [change] = of(events, "server:updated");
    expect(change).toMatchObject({ caller, requestId: "trace-update-2", changed: ["description"] });
    const [gone] = of(events, "server:removed");
    expect(gone).toMatchObject({
      caller,
      requestId: "trace-remove-3",
      definition: { url: "https://crm.example.com/mcp" },
    });
    expect(JSON.stringify(events)).not.toContain(TOKEN);
    expect(of(events, "config:loaded")).toEqual([{ caller: null, servers: ["docs"] }]);
  });

  it("an admin's global registration says admin: true", async () => {
    const { mcp, events } = instance();
    const created = await send(mcp, "POST", "/mcp-servers", {
      key: ADMIN_KEY,
      body: { name: "shared", url: "https://shared.example.com/mcp", scope: "global" },
    });
    expect(created.status).toBe(201);
    const [registered] = of(events, "server:registered");
    expect(registered).toMatchObject({ caller: { user: "alice", admin: true }, server: { source: "global" } });
    // No id sent: a generated one, the same in the hook and on the answer.
    expect(registered?.requestId).toBe(created.headers.get("x-request-id"));
    expect(registered?.requestId).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it("tool hooks name the caller and request of the tool set that made the call", async () => {
    const { mcp, events } = instance();
    await mcp.ready();
    const request = new Request("http://app.test/chat", {
      method: "POST",
      headers: { "x-api-key": MEMBER_KEY, "x-request-id": "chat-42" },
    });
    const tools = await mcp.forRequest(request).tools();
    await generateText({
      model: scriptedModel("docs__echo", { text: "hi" }),
      prompt: "go",
      tools,
      stopWhen: stepCountIs(3),
    });
    const origin = { caller: { scope: expect.stringMatching(/tenant/), user: "bob" }, requestId: "chat-42" };
    expect(of(events, "tools:resolved")[0]).toMatchObject(origin);
    expect(of(events, "tool:before-call")[0]).toMatchObject({ ...origin, tool: "echo", arguments: { text: "hi" } });
    expect(of(events, "tool:after-call")[0]).toMatchObject({ ...origin, tool: "echo", isError: false });
  });

  it("a failed call's hook and log line carry the request id", async () => {
    const { mcp, events, lines } = instance({ callTimeoutMs: 200 });
    await mcp.ready();
    const request = new Request("http://app.test/chat", { headers: { "x-request-id": "slow-7" } });
    const tools = await mcp.forRequest(request).tools();
    await generateText({ model: scriptedModel("docs__hang", {}), prompt: "go", tools, stopWhen: stepCountIs(3) });
    expect(of(events, "tool:error")[0]).toMatchObject({ caller: null, requestId: "slow-7", code: "timeout" });
    expect(lines.some((line) => line.includes("[slow-7]") && line.includes("docs/hang: timeout"))).toBe(true);
  });

  it("connection:error names the request that met the failure", async () => {
    const dead = await startStreamableServer({});
    const url = dead.url;
    await dead.close();
    const { mcp, events, lines } = instance({
      config: { mcpServers: { gone: { url } } },
      warmup: false,
      connectRetryDelayMs: 10,
    });
    await mcp
      .forRequest(new Request("http://app.test/chat", { headers: { "x-api-key": ADMIN_KEY, "x-request-id": "r-9" } }))
      .tools();
    expect(of(events, "connection:error")[0]).toMatchObject({
      caller: { user: "alice", admin: true },
      requestId: "r-9",
      code: "connection_failed",
    });
    expect(lines.some((line) => line.includes("[r-9] gone: connection_failed"))).toBe(true);
  });
});

describe("the tool-call origin copies", () => {
  it("are made only while a tool-call hook is registered (hookable's handler table is read as expected)", () => {
    const hooks = createMcpHooks();
    expect(hasHandlers(hooks, ["tool:after-call"])).toBe(false);
    const off = hooks.hook("tool:after-call", () => undefined);
    expect(hasHandlers(hooks, ["tool:before-call", "tool:after-call"])).toBe(true);
    off();
    expect(hasHandlers(hooks, ["tool:after-call"])).toBe(false);
  });

  it("leave the tool set as the engine built it when no tool-call hook is registered", async () => {
    const mcp = createMcpServerSide({ logger: false, config: { mcpServers: { docs: { url: upstream.url } } } });
    instances.push(mcp);
    await mcp.ready();
    const first = await mcp.forRequest(new Request("http://app.test/a")).tools();
    const second = await mcp.forRequest(new Request("http://app.test/b")).tools();
    expect(second.docs__echo).toBe(first.docs__echo);
    mcp.hooks.hook("tool:error", () => undefined);
    const third = await mcp.forRequest(new Request("http://app.test/c")).tools();
    expect(third.docs__echo).not.toBe(first.docs__echo);
    expect(third.docs__echo?.metadata).toEqual(first.docs__echo?.metadata);
  });
});

describe("x-request-id", () => {
  it.each([
    ["a space", "has space"],
    ["a semicolon", "a;b"],
    ["a quote", 'say"hi'],
    ["a Latin-1 letter", "caf\u00e9"],
    ["over 128 characters", "x".repeat(129)],
    ["an empty value", ""],
  ])("replaces a caller's id with %s by a generated one", async (_label, id) => {
    const { mcp } = instance();
    const response = await send(mcp, "GET", "/mcp-servers", { key: MEMBER_KEY, id });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it("is in every problem document, as a member and a header", async () => {
    const { mcp } = instance();
    const missing = await send(mcp, "GET", "/mcp-servers/nope", { key: MEMBER_KEY, id: "p-1" });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toBe("application/problem+json");
    expect(missing.headers.get("x-request-id")).toBe("p-1");
    expect(await missing.json()).toMatchObject({ code: "not_found", requestId: "p-1" });
    const anonymous = await send(mcp, "GET", "/mcp-servers", {});
    const body = (await anonymous.json()) as { requestId: string };
    expect(body.requestId).toBe(anonymous.headers.get("x-request-id"));
    expect(body.requestId).toMatch(/^req_/);
  });

  it("names one id for an OpenAI-compatible answer and the hooks of its request", async () => {
    const { mcp, events } = instance({
      chatCompletions: { model: () => scriptedModel("docs__echo", { text: "hi" }) },
    });
    await mcp.ready();
    const response = (await mcp.handle(
      new Request("http://app.test/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": MEMBER_KEY },
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "go" }] }),
      }),
    )) as Response;
    expect(response.status).toBe(200);
    const id = response.headers.get("x-request-id");
    expect(id).toMatch(/^req_/);
    expect(of(events, "tools:resolved")[0]?.requestId).toBe(id);
    expect(of(events, "tool:after-call")[0]?.requestId).toBe(id);
  });
});
