import { randomUUID } from "node:crypto";
import { createServer, type Server as HttpServer } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  isInitializeRequest,
  ListToolsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { ToolSet } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMcpServerSide } from "../../src/create.js";
import type { Identity, McpServerSide } from "../../src/types.js";
import { call, LOOPBACK } from "./app-helpers.js";

/*
 * SPEC §4: whatever a server says has the server's own credentials masked before a member, the model,
 * a hook or a log sees it. A real MCP server (the SDK's McpServer over Streamable HTTP on 127.0.0.1)
 * echoes its credentials in every field it controls: tool names, titles, descriptions, schema
 * descriptions / enums / defaults / property names / `$ref`s, annotations, output schemas,
 * instructions, results, structured content, error messages, and a list_changed update. It runs as a
 * config-tier and as a global-tier server; a member looks at every surface. Ordinary values that travel
 * the same way (the `X-Tenant` header) must come through untouched.
 */

const run = randomUUID().slice(0, 8);
const MEMBER_KEY = `member-key-${run}`;
const ADMIN_KEY = `admin-key-${run}`;
const identities: Record<string, Identity> = {
  [MEMBER_KEY]: { scope: "member" },
  [ADMIN_KEY]: { scope: "ops", admin: true },
};
const TENANT = `acme-tenant-${run}`;

interface Tier {
  tier: "config" | "global";
  name: string;
  /** Every credential the server holds and echoes. */
  credentials: string[];
}

const config: Tier = {
  tier: "config",
  name: "cfg",
  credentials: [
    `cfg-bearer-${run}`,
    `cfg-api-key-${run}`,
    `cfg-query-${run}`,
    // JSON-token-like: spliced into serialized JSON, it used to corrupt the result or make it throw.
    '"},{"type":"text","text":"',
  ],
};
const global: Tier = {
  tier: "global",
  name: "glob",
  credentials: [`glob-token-${run}`, `glob-auth-header-${run}`],
};
const ALL_CREDENTIALS = [...config.credentials, ...global.credentials];

interface EchoServer {
  url: string;
  /** Replace the tool list's description and send notifications/tools/list_changed. */
  change(description: string): void;
  close(): Promise<void>;
}

/** The tool list of a server echoing `held` everywhere a server can put text. */
function echoingTools(held: string[], description: string): unknown[] {
  const first = held[0]!;
  return [
    {
      name: "echo",
      title: `Echo (${held.join(" ")})`,
      description,
      inputSchema: {
        type: "object",
        description: `schema ${first}`,
        properties: {
          text: {
            type: "string",
            description: `text ${first}`,
            enum: [...held, "plain"],
            default: first,
            examples: [first],
          },
          [`prop_${first}`]: { type: "string", title: first },
          thing: { $ref: "#/$defs/thing" },
        },
        $defs: { thing: { type: "string", description: `defs ${first}`, const: first } },
      },
      outputSchema: { type: "object", description: `out ${first}`, properties: {} },
      annotations: { title: `annotated ${first}`, readOnlyHint: true },
    },
    { name: "fails", description: "always fails", inputSchema: { type: "object", properties: {} } },
    { name: "reports", description: "an isError result", inputSchema: { type: "object", properties: {} } },
    // Error text quoting a `$ref` (quarantine names the reference it refuses).
    {
      name: "badref",
      description: "refused",
      inputSchema: { type: "object", properties: { x: { $ref: `https://evil.example/${first}` } } },
    },
    // A tool whose very name is a credential is left out (a masked name could not be called).
    { name: `leak_${first}`, description: "named after a credential", inputSchema: { type: "object" } },
  ];
}

async function startEchoServer(held: string[]): Promise<EchoServer> {
  let description = `Echoes. I hold ${held.join(" and ")}.`;
  const servers = new Set<McpServer>();
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const build = (): McpServer => {
    const mcp = new McpServer(
      { name: "echo-credentials", version: "1.0.0" },
      {
        capabilities: { tools: { listChanged: true } },
        instructions: `Instructions: my credentials are ${held.join(", ")}.`,
      },
    );
    // The low-level handlers of the McpServer: the list is sent as written (raw JSON Schemas).
    mcp.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: echoingTools(held, description) }) as never);
    mcp.server.setRequestHandler(CallToolRequestSchema, (request, extra): CallToolResult => {
      const received = extra.requestInfo?.headers ?? {};
      const args = JSON.stringify(request.params.arguments ?? {});
      const echo = `args ${args}; I hold ${held.join(" ")}; raw ${held.join("|")}; headers ${JSON.stringify(received)}`;
      if (request.params.name === "fails") throw new Error(`failed: ${echo}`);
      if (request.params.name === "reports") return { content: [{ type: "text", text: echo }], isError: true };
      return {
        content: [
          { type: "text", text: echo },
          { type: "resource", resource: { uri: `mem://${held[0]}`, text: `resource ${held.join(" ")}` } },
        ],
        structuredContent: { held, headers: received, [`key_${held[0]}`]: held[0], nested: [{ deep: held }] },
      };
    });
    servers.add(mcp);
    return mcp;
  };
  const http: HttpServer = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const body: unknown = text === "" ? undefined : JSON.parse(text);
    const id = request.headers["mcp-session-id"];
    let transport = typeof id === "string" ? sessions.get(id) : undefined;
    if (transport === undefined) {
      if (!isInitializeRequest(body)) {
        response.writeHead(typeof id === "string" ? 404 : 400).end();
        return;
      }
      const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (session): void => {
          sessions.set(session, created);
        },
      });
      transport = created;
      await build().connect(created);
    }
    await transport?.handleRequest(request, response, body);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const address = http.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    change(next) {
      description = next;
      for (const server of servers) if (server.isConnected()) server.sendToolListChanged();
    },
    async close() {
      http.closeAllConnections();
      await Promise.all([...servers].map((server) => server.close().catch(() => undefined)));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

let configServer: EchoServer;
let globalServer: EchoServer;
let mcp: McpServerSide;
const logLines: string[] = [];
const hookPayloads: unknown[] = [];

/** Every string reachable from `value` (getters such as a schema's `jsonSchema` included). */
function textOf(value: unknown): string {
  const seen = new Set<unknown>();
  const parts: string[] = [];
  const visit = (item: unknown, depth: number): void => {
    if (depth > 50) return;
    if (typeof item === "string") parts.push(item);
    else if (item instanceof Error) {
      parts.push(item.message, String(item.stack));
      visit((item as { cause?: unknown }).cause, depth + 1);
    } else if (typeof item === "object" && item !== null && !seen.has(item)) {
      seen.add(item);
      for (const key of Reflect.ownKeys(item)) {
        if (typeof key === "string") parts.push(key);
        let child: unknown;
        try {
          child = (item as Record<string | symbol, unknown>)[key];
        } catch {
          continue;
        }
        visit(child, depth + 1);
      }
      const schema = (item as { jsonSchema?: unknown }).jsonSchema;
      if (schema !== undefined) visit(schema, depth + 1);
    }
  };
  visit(value, 0);
  return parts.join("\n");
}

function expectNoCredential(where: string, value: unknown): void {
  const text = textOf(value);
  for (const credential of ALL_CREDENTIALS) {
    expect(text.includes(credential), `${where} shows the credential ${JSON.stringify(credential)}`).toBe(false);
  }
}

beforeAll(async () => {
  [configServer, globalServer] = await Promise.all([
    startEchoServer(config.credentials),
    startEchoServer(global.credentials),
  ]);
  const [cfgBearer, cfgKey, cfgQuery, cfgJsonLike] = config.credentials as [string, string, string, string];
  const capture = (...args: unknown[]): void => {
    logLines.push(textOf(args));
  };
  mcp = createMcpServerSide({
    ...LOOPBACK,
    identify: (request) => identities[request.headers.get("x-api-key") ?? ""] ?? null,
    logger: { debug: capture, info: capture, warn: capture, error: capture },
    config: {
      mcpServers: {
        cfg: {
          url: `${configServer.url}?api_key=${cfgQuery}`,
          headers: {
            Authorization: `Bearer ${cfgBearer}`,
            "X-Api-Key": cfgKey,
            "X-Session-Token": cfgJsonLike,
            "X-Tenant": TENANT,
          },
        },
      },
    },
  });
  mcp.hooks.hook("tools:resolved", (payload) => {
    hookPayloads.push(payload);
  });
  mcp.hooks.hook("tool:error", (payload) => {
    hookPayloads.push(payload);
  });
  const [globToken, globHeader] = global.credentials as [string, string];
  const registered = await call(mcp, "POST", "/mcp-servers", {
    key: ADMIN_KEY,
    body: {
      name: "glob",
      scope: "global",
      url: globalServer.url,
      // Every `auth.headers` value is a credential; plain headers are credentials only by name.
      auth: { type: "bearer", token: globToken },
      headers: { "X-Auth-Header": globHeader, "X-Tenant": TENANT },
    },
  });
  expect(registered.status).toBe(201);
}, 30_000);

afterAll(async () => {
  await mcp?.close();
  await Promise.all([configServer?.close(), globalServer?.close()]);
});

function memberRequest(): Request {
  return new Request("http://app.test/chat", { method: "POST", headers: { "x-api-key": MEMBER_KEY } });
}

async function execute(tools: ToolSet, name: string): Promise<{ value?: unknown; error?: unknown }> {
  const tool = tools[name];
  if (tool?.execute === undefined) throw new Error(`no tool ${name}`);
  const pending = tool.execute(
    { text: "hello" },
    { toolCallId: "call-1", messages: [], context: {} },
  ) as Promise<unknown>;
  return pending.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

describe.each([config, global])("a $tier-tier server echoing its credentials everywhere", (tier) => {
  it("tools(), results, errors, instructions and hook payloads show none of them", async () => {
    const context = mcp.forRequest(memberRequest());
    const tools = await context.tools();
    const own = Object.fromEntries(Object.entries(tools).filter(([name]) => name.startsWith(`${tier.name}__`)));

    // The echoing tools are there, their texts masked; the badref and credential-named tools are out.
    expect(Object.keys(own).sort()).toEqual([`${tier.name}__echo`, `${tier.name}__fails`, `${tier.name}__reports`]);
    expect(own[`${tier.name}__echo`]?.description).toContain("***");
    expectNoCredential("tools()", own);
    const rejected = context.errors.filter((error) => error.server === tier.name);
    expect(rejected.map((error) => error.code).sort()).toEqual(["tool_schema_rejected", "tool_schema_rejected"]);
    expect(rejected.some((error) => error.message.includes("https://evil.example/***"))).toBe(true);

    // A result: every credential masked, every other byte kept (the tenant header comes through).
    const echoed = await execute(tools, `${tier.name}__echo`);
    expect(echoed.error).toBeUndefined();
    expectNoCredential("the result", echoed.value);
    expect(textOf(echoed.value)).toContain(TENANT);
    expect(JSON.stringify(echoed.value)).toContain("I hold ***");
    // The JSON-like credential was masked in the leaves; the result kept its shape (no throw, no splice).
    const content = (echoed.value as { content: { type: string }[] }).content;
    expect(content.map((part) => part.type)).toEqual(["text", "resource"]);
    const structured = (echoed.value as { structuredContent: { held: string[] } }).structuredContent;
    expect(structured.held).toEqual(tier.credentials.map(() => "***"));

    // An isError result and a JSON-RPC error.
    const reported = await execute(tools, `${tier.name}__reports`);
    expect((reported.value as { isError?: boolean }).isError).toBe(true);
    expectNoCredential("an isError result", reported.value);
    const failed = await execute(tools, `${tier.name}__fails`);
    expect((failed.error as { code?: string }).code).toBe("tool_call_failed");
    expect((failed.error as Error).message).toContain("***");
    expectNoCredential("a call error", failed.error);

    const instructions = await context.instructions();
    expect(instructions).toContain(`## ${tier.name}`);
    expect(instructions).toContain("Instructions: my credentials are ***");
    expectNoCredential("instructions()", instructions);
    expectNoCredential("errors", context.errors);
    expectNoCredential("hook payloads", hookPayloads);
    expect(hookPayloads.length).toBeGreaterThan(0);
    // The failed call was logged (as a warning) with its message masked.
    expect(logLines.some((line) => line.includes(`${tier.name}/fails`))).toBe(true);
    expectNoCredential("log lines", logLines);
  });

  it("GET /mcp-servers/:name/tools shows a member none of them", async () => {
    const reply = await call(mcp, "GET", `/mcp-servers/${tier.name}/tools`, { key: MEMBER_KEY });
    expect(reply.status).toBe(200);
    expect(reply.text).toContain("***");
    expectNoCredential("GET /:name/tools", reply.text);
  });
});

describe("POST /mcp-servers/test", () => {
  it("shows a member who tests an echoing candidate none of its credentials", async () => {
    const [globToken, globHeader] = global.credentials as [string, string];
    const reply = await call(mcp, "POST", "/mcp-servers/test", {
      key: MEMBER_KEY,
      body: {
        url: globalServer.url,
        auth: { type: "headers", headers: { Authorization: `Bearer ${globToken}`, "X-Auth-Header": globHeader } },
      },
    });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ ok: true });
    expect(reply.text).toContain("***");
    // The tool named after a credential is left out; the others stay.
    expect((reply.json as { tools: { name: string }[] }).tools.map((tool) => tool.name)).toEqual([
      "echo",
      "fails",
      "reports",
      "badref",
    ]);
    expectNoCredential("POST /test", reply.text);
  });
});

describe("a list_changed update", () => {
  it("is masked like the first list", async () => {
    const first = await mcp.forRequest(memberRequest()).tools();
    expect(first.glob__echo?.description).toContain("I hold ***");
    globalServer.change(`Changed. Now I say ${global.credentials.join(" ")} again.`);
    let description: string | undefined;
    for (let attempt = 0; attempt < 100; attempt++) {
      const current = (await mcp.forRequest(memberRequest()).tools()).glob__echo?.description;
      description = typeof current === "string" ? current : undefined;
      if (description?.startsWith("Changed.")) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(description).toBe("Changed. Now I say *** *** again.");
    expectNoCredential("hook payloads after the change", hookPayloads);
  });
});
