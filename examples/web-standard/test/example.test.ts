import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { McpServerSide } from "@mcp-server-side/core";
import { type ExampleServerHandle, startExampleServer } from "example-mcp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createChatHandler, type FetchHandler } from "../src/handler.js";
import { createScriptedModel } from "../src/scripted-model.js";
import { serveFetch } from "../src/serve.js";

const TENANT = { "X-API-Key": "web-standard-tenant" };
const question = { messages: [{ role: "user", content: "What's the weather in Paris?" }] };

describe("the Web-standard example: a fetch handler with no adapter (real MCP servers over HTTP and stdio)", () => {
  let exampleServer: ExampleServerHandle;
  let handler: FetchHandler;
  let mcp: McpServerSide;
  let server: Server;
  let origin: string;

  const post = (path: string, body: unknown, headers: Record<string, string> = TENANT): Promise<Response> =>
    fetch(`${origin}${path}`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    process.env.EXAMPLE_MCP_SERVER_DIR ??= fileURLToPath(new URL("../../example-mcp-server", import.meta.url));
    exampleServer = await startExampleServer({ port: 0 });
    ({ fetch: handler, mcp } = createChatHandler({
      model: createScriptedModel(),
      config: fileURLToPath(new URL("../mcp.config.json", import.meta.url)),
    }));
    await mcp.ready();
    server = serveFetch(handler).listen(0, "127.0.0.1");
    await once(server, "listening");
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await mcp?.close();
    await exampleServer?.close();
  });

  it("registers the tenant's server with 201 and lists it next to the config server", async () => {
    const created = await post("/mcp-servers", { name: "weather", url: exampleServer.url });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: "weather", source: "scope", url: exampleServer.url });
    const listed = await fetch(`${origin}/mcp-servers`, { headers: TENANT });
    expect(listed.status).toBe(200);
    const { servers } = (await listed.json()) as { servers: { name: string; source: string }[] };
    expect(servers.map(({ name, source }) => ({ name, source }))).toEqual(
      expect.arrayContaining([
        { name: "notes", source: "config" },
        { name: "weather", source: "scope" },
      ]),
    );
  });

  it("runs a chat turn whose tool call reaches the tenant's MCP server through forRequest", async () => {
    const response = await post("/chat", question);
    expect(response.status).toBe(200);
    const reply = (await response.json()) as { text: string; toolsOffered: string[]; toolCalls: unknown[] };
    expect(reply.toolsOffered).toEqual(expect.arrayContaining(["notes__search_notes", "weather__get_weather"]));
    expect(reply.toolCalls).toEqual([{ toolName: "weather__get_weather", input: { city: "Paris" } }]);
    expect(exampleServer.calls).toContainEqual({ tool: "get_weather", arguments: { city: "Paris" } });
    expect(reply.text).toContain("18 °C");
  });

  it("offers no MCP tool when the body opts out with mcp_servers: {}", async () => {
    const reply = (await (await post("/chat", { ...question, mcp_servers: {} })).json()) as {
      text: string;
      toolsOffered: string[];
    };
    expect(reply.toolsOffered).toEqual([]);
    expect(reply.text).toBe("I have no weather tool.");
  });

  it("keeps the core's policy without an adapter: 401 without a key, 415 for a body not labelled JSON", async () => {
    const anonymous = await fetch(`${origin}/mcp-servers`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("content-type")).toContain("application/problem+json");
    const notJson = await fetch(`${origin}/mcp-servers`, {
      method: "POST",
      headers: { ...TENANT, "content-type": "text/plain" },
      body: JSON.stringify({ name: "other", url: exampleServer.url }),
    });
    expect(notJson.status).toBe(415);
  });

  it("answers a Request handed to it directly, as Bun, Deno or a Next.js route handler would", async () => {
    const listed = await handler(new Request("https://app.example/mcp-servers", { headers: TENANT }));
    expect(listed.status).toBe(200);
    const { servers } = (await listed.json()) as { servers: { name: string }[] };
    expect(servers.map((entry) => entry.name)).toContain("weather");
    expect((await handler(new Request("https://app.example/elsewhere"))).status).toBe(404);
    const get = await handler(new Request("https://app.example/chat"));
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });
});
