import { APICallError } from "ai";
import type { MockLanguageModelV4 } from "ai/test";
import { afterAll, describe, expect, it } from "vitest";
import { createApprovalSeal } from "../../src/chat/approval.js";
import { generationError } from "../../src/chat/errors.js";
import { requestIdOf } from "../../src/http/request-id.js";
import { toResponsesPrompt } from "../../src/chat/responses-input.js";
import { mcpToolsAsServers } from "../../src/chat/responses-mcp.js";
import { parseResponsesRequest } from "../../src/chat/responses-schema.js";
import { createMcpServerSide } from "../../src/create.js";
import { randomKeyRing } from "../../src/security/crypto.js";
import { type BadInput, badInputs } from "../security/network-helpers.js";
import { scriptedModel } from "./helpers.js";

/*
 * The Responses API's pieces on their own, and the core handler (no adapter) for the request-tier
 * rules that its `{ type: "mcp" }` tools must obey. The clients' view, through Express and Hono, is in
 * responses-e2e-suite.ts.
 */

const rejected = (category: string): BadInput[] =>
  badInputs(category).filter((entry) => entry.expect === "reject" && !("options" in entry));

const DNS: Record<string, string[]> = Object.assign(
  {},
  ...badInputs("ssrf-dns").map((entry) => (entry.input as { dns: Record<string, string[]> }).dns),
);

let lastModel: MockLanguageModelV4 | undefined;
const mcp = createMcpServerSide({
  logger: false,
  // Names resolve as the sample says; anything else to a public address that nothing will be asked for.
  lookup: async (hostname) =>
    (DNS[hostname] ?? ["93.184.216.34"]).map((address) => ({ address, family: address.includes(":") ? 6 : 4 })),
  chatCompletions: {
    model: () => {
      lastModel = scriptedModel([{ text: "ok" }]);
      return lastModel;
    },
    models: ["scripted"],
  },
});
afterAll(() => mcp.close());

async function post(path: string, body: unknown): Promise<Response> {
  const request = new Request(`http://app.test${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer key-a" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const response = await mcp.handle(request, path);
  if (response === undefined) throw new Error(`${path} is not served`);
  return response;
}

describe("which paths the OpenAI surface owns", () => {
  it.each([
    ["/v1/chat/completions", true],
    ["/v1/responses", true],
    ["/v1/responses/", true],
    ["/v1/models", true],
    ["/v1/models/", true],
    ["/v1/models/gpt-4o", true],
    ["/v1/models/openai/gpt-4o", true],
    ["/v1/responses//", false],
    ["/v1/responses/x", false],
    ["/V1/responses", false],
    ["/v1/responsesx", false],
    ["/v1/modelsx", false],
    ["/x/../v1/responses", false],
    ["/v1/responses%2f", false],
  ])("%s → %s", (path, owned) => {
    expect(mcp.owns(path)).toBe(owned);
  });

  it("puts /responses and /models beside a custom chat path", async () => {
    const custom = createMcpServerSide({
      logger: false,
      chatCompletions: { model: () => scriptedModel([]), path: "/api/chat" },
    });
    try {
      expect(["/api/chat", "/api/responses", "/api/models"].map((path) => custom.owns(path))).toEqual([
        true,
        true,
        true,
      ]);
      expect(custom.owns("/v1/responses")).toBe(false);
    } finally {
      await custom.close();
    }
  });
});

describe("GET /v1/models", () => {
  it("answers other methods with a 405 naming GET", async () => {
    const response = await post("/v1/models", {});
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("refuses a models option that is not a list of ids, at creation", () => {
    expect(() =>
      createMcpServerSide({ logger: false, chatCompletions: { model: () => scriptedModel([]), models: [""] } }),
    ).toThrow(/chatCompletions\.models/);
  });
});

describe("x-request-id", () => {
  it.each([
    ["req-123", true],
    ["01J9ZK7Q3R:trace/span=1", true],
    ["a".repeat(128), true],
    ["a".repeat(129), false],
    ["a b", false],
    ["x\u00e9", false],
    ["", false],
  ])("keeps %j: %s", (incoming, kept) => {
    const request = new Request("http://app.test/v1/models", { headers: { "x-request-id": incoming } });
    const id = requestIdOf(request);
    if (kept) expect(id).toBe(incoming);
    else expect(id).toMatch(/^req_[0-9a-f]{32}$/);
  });
});

describe("an upstream rate limit", () => {
  const limited = (headers: Record<string, string>) =>
    generationError(
      new APICallError({
        message: "rate limited",
        url: "https://api.example.com",
        requestBodyValues: {},
        statusCode: 429,
        responseHeaders: headers,
      }),
    );

  it.each([
    [{ "retry-after": "7" }, "7"],
    [{ "retry-after": "Wed, 21 Oct 2026 07:28:00 GMT" }, "Wed, 21 Oct 2026 07:28:00 GMT"],
    [{ "retry-after-ms": "1500" }, "2"],
    [{ "retry-after": "x".repeat(100) }, undefined],
    [{ "retry-after": "soon" }, undefined],
    [{}, undefined],
  ])("with %j is a 429 with Retry-After %s", (headers, retryAfter) => {
    const error = limited(headers);
    expect(error.status).toBe(429);
    expect(error.body.error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
    expect(error.headers?.["retry-after"]).toBe(retryAfter);
  });

  it("does not repeat the provider's message, which may quote its configuration", () => {
    expect(limited({}).body.error.message).not.toContain("rate limited");
  });
});

describe("the Responses request", () => {
  it.each([
    [
      {
        model: "m",
        input: "x",
        tools: [
          { type: "function", name: "a" },
          { type: "function", name: "a" },
        ],
      },
      "/tools/1/name",
    ],
    [
      {
        model: "m",
        input: "x",
        tools: [
          { type: "mcp", server_label: "s", server_url: "https://a.example/mcp" },
          { type: "mcp", server_label: "s", server_url: "https://b.example/mcp" },
        ],
      },
      "/tools/1/server_label",
    ],
    [
      {
        model: "m",
        input: "x",
        mcp_servers: { s: false },
        tools: [{ type: "mcp", server_label: "s", server_url: "https://a.example/mcp" }],
      },
      "/tools/0/server_label",
    ],
    [{ model: "m", input: [] }, "/input"],
    [{ model: "m", input: [{ type: "wizardry" }] }, "/input/0/type"],
    [{ model: "m", input: "x", tools: [{ type: "web_search" }] }, "/tools/0/type"],
  ])("refuses %j at %s", (body, pointer) => {
    const parsed = parseResponsesRequest(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors?.[0]?.pointer).toBe(pointer);
  });

  it.each(rejected("server-name").map((entry) => [entry.input]))("refuses the server_label %j", (label) => {
    const parsed = parseResponsesRequest({
      model: "m",
      input: "x",
      tools: [{ type: "mcp", server_label: label, server_url: "https://a.example/mcp" }],
    });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors?.[0]?.pointer).toBe("/tools/0/server_label");
  });
});

describe("a { type: 'mcp' } tool as a request-tier server", () => {
  const mapped = (tool: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const parsed = parseResponsesRequest({
      model: "m",
      input: "x",
      tools: [{ type: "mcp", server_label: "docs", server_url: "https://docs.example/mcp", ...tool }],
      ...extra,
    });
    if (!parsed.ok) throw new Error(parsed.message);
    const result = mcpToolsAsServers(parsed.value);
    if (!result.ok) throw new Error(result.error.detail);
    return result.value;
  };

  it.each([
    [undefined, ["*"], []],
    ["always", ["*"], []],
    ["never", undefined, []],
    [{ never: { tool_names: ["read"] } }, ["*"], ["read"]],
    [{ always: { tool_names: ["write"] } }, ["write"], []],
    [{ always: { tool_names: ["write"] }, never: { tool_names: ["read", "write"] } }, ["*"], ["read"]],
  ])("require_approval %j asks for %j, exempting %j", (setting, requireApproval, exempt) => {
    const value = mapped(setting === undefined ? {} : { require_approval: setting });
    const server = value.servers?.["docs"] as { tools: { requireApproval?: string[] } };
    expect(server.tools.requireApproval).toEqual(requireApproval);
    expect([...(value.exempt.get("docs") ?? [])]).toEqual(exempt);
  });

  it("carries the URL, headers, allowed tools and an authorization as a bearer token", () => {
    const value = mapped({
      headers: { "X-Team": "blue" },
      authorization: "token-1",
      allowed_tools: { tool_names: ["search"] },
      require_approval: "never",
    });
    expect(value.servers?.["docs"]).toEqual({
      url: "https://docs.example/mcp",
      headers: { "X-Team": "blue" },
      auth: { type: "bearer", token: "token-1" },
      tools: { allow: ["search"] },
    });
  });

  it("keeps the request's own MCP tools when mcp_servers: {} opts out of the other tiers", () => {
    expect(mapped({}, { mcp_servers: {} }).select).toEqual(["docs"]);
    expect(mapped({}).select).toBeUndefined();
  });

  it("refuses a connector without a server_url", () => {
    const parsed = parseResponsesRequest({
      model: "m",
      input: "x",
      tools: [{ type: "mcp", server_label: "drive", connector_id: "connector_googledrive" }],
    });
    if (!parsed.ok) throw new Error(parsed.message);
    const result = mcpToolsAsServers(parsed.value);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.pointer).toBe("/tools/0/server_url");
  });

  const listing = async (tool: Record<string, unknown>) => {
    const response = await post("/v1/responses", {
      model: "scripted",
      input: "hi",
      tools: [{ type: "mcp", server_label: "probe", require_approval: "never", ...tool }],
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { output: { type: string; server_label?: string; error?: string }[] };
    expect(lastModel?.doStreamCalls[0]?.tools ?? []).toEqual([]);
    return body.output.find((item) => item.type === "mcp_list_tools" && item.server_label === "probe");
  };

  it.each(
    [...rejected("ssrf-url"), ...rejected("ssrf-dns")].map((entry) => [
      typeof entry.input === "string" ? entry.input : (entry.input as { url: string }).url,
    ]),
  )("refuses %s before connecting, reporting why", async (url) => {
    const item = await listing({ server_url: url });
    expect(item?.error).toMatch(/^(blocked_address|invalid_url): /);
    expect(item?.error).not.toMatch(/connection_failed/);
  });

  it.each(rejected("header-injection").map((entry) => [entry.input]))("refuses the headers %j", async (headers) => {
    const item = await listing({ server_url: "https://docs.example/mcp", headers });
    expect(item?.error).toBe("invalid_request: the server's headers are invalid");
    expect(item?.error).not.toMatch(/connection_failed/);
  });

  it.each(rejected("json-body").map((entry) => [entry.input]))("answers the body %s with a 400", async (raw) => {
    const response = await post("/v1/responses", raw);
    expect(response.status).toBe(400);
  });
});

describe("the input items as a prompt", () => {
  const seal = createApprovalSeal(randomKeyRing());
  const context = { seal, scope: "scope:a", toolNameOf: (server: string, tool: string) => `${server}__${tool}` };
  const prompt = (input: unknown[]) => {
    const parsed = parseResponsesRequest({ model: "m", input });
    if (!parsed.ok) throw new Error(parsed.message);
    return toResponsesPrompt(parsed.value, context);
  };

  it("pairs function calls with their outputs and groups one turn's calls", () => {
    const result = prompt([
      { role: "user", content: "go" },
      { type: "function_call", call_id: "c1", name: "a", arguments: "{}" },
      { type: "function_call", call_id: "c2", name: "b", arguments: '{"x":1}' },
      { type: "function_call_output", call_id: "c1", output: "one" },
      { type: "function_call_output", call_id: "c2", output: "two" },
    ]);
    if (!result.ok) throw new Error(result.message);
    expect(result.value.messages.map((message) => message.role)).toEqual(["user", "assistant", "tool"]);
    expect(result.value.messages[2]?.content).toHaveLength(2);
  });

  it("refuses an output without its call, naming the item", () => {
    const result = prompt([{ type: "function_call_output", call_id: "nope", output: "x" }]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors?.[0]?.pointer).toBe("/input/0/call_id");
  });

  it("refuses an item_reference: nothing is stored here", () => {
    const result = prompt([{ type: "item_reference", id: "msg_1" }]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain("store");
  });

  it("does not run an approval again once an mcp_call of the input answered it", () => {
    const id = seal.seal({ server: "docs", tool: "write", arguments: "{}", callId: "call_1" }, "scope:a");
    const answered = prompt([
      { role: "user", content: "go" },
      { type: "mcp_approval_request", id, server_label: "docs", name: "write", arguments: "{}" },
      { type: "mcp_approval_response", approval_request_id: id, approve: true },
      {
        type: "mcp_call",
        id: "mcp_1",
        server_label: "docs",
        name: "write",
        arguments: "{}",
        output: "done",
        approval_request_id: id,
      },
    ]);
    if (!answered.ok) throw new Error(answered.message);
    expect(answered.value.answers).toEqual([]);
    const open = prompt([{ type: "mcp_approval_response", approval_request_id: id, approve: true }]);
    if (!open.ok) throw new Error(open.message);
    expect(open.value.answers.map((answer) => answer.call)).toEqual([
      { server: "docs", tool: "write", arguments: "{}", callId: "call_1" },
    ]);
  });
});

describe("sealed approval ids", () => {
  const call = { server: "docs", tool: "write", arguments: '{"path":"/a"}', callId: "call_1" };

  it("opens for the scope it was issued to, and not for another, after a change or after an hour", () => {
    let now = 1_000_000;
    const seal = createApprovalSeal(randomKeyRing(), () => now);
    const id = seal.seal(call, "scope:a");
    expect(id.startsWith("mcpr_")).toBe(true);
    expect(id).not.toContain("/a");
    expect(seal.open(id, "scope:a")).toEqual(call);
    expect(seal.open(id, "scope:b")).toBeUndefined();
    expect(
      seal.open(
        id.replace(/.$/, (last) => (last === "A" ? "B" : "A")),
        "scope:a",
      ),
    ).toBeUndefined();
    expect(createApprovalSeal(randomKeyRing(), () => now).open(id, "scope:a")).toBeUndefined();
    now += 60 * 60 * 1000 + 1;
    expect(seal.open(id, "scope:a")).toBeUndefined();
  });

  it("refuses a huge id without decrypting it", () => {
    const seal = createApprovalSeal(randomKeyRing());
    expect(seal.open(`mcpr_${"A".repeat(1_000_000)}`, "scope:a")).toBeUndefined();
  });
});
