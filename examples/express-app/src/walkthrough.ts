import type { ReceivedToolCall } from "example-mcp-server";
import { createPrinter, type Printer } from "./print.js";

/** One HTTP exchange of the walkthrough, as the tests check it. */
export interface Exchange {
  status: number;
  body: unknown;
}

/** What the chat route answers (see app.ts). */
export interface ChatReply {
  text: string;
  toolsOffered: string[];
  toolCalls: { toolName: string; input: unknown }[];
  toolResults: { toolName: string; output?: unknown; error?: string }[];
  mcpErrors: { code: string; message: string; server?: string }[];
}

export interface WalkthroughOptions {
  /** The running app, e.g. `http://127.0.0.1:3000`. */
  appUrl: string;
  /** The example MCP server that the tenant registers, and the calls it received. */
  exampleServer: { url: string; readonly calls: ReceivedToolCall[] };
  /** Printed next to the model's answers, e.g. "scripted model, no API key set". */
  modelLabel: string;
  /** The tenant's API key. @default "demo-tenant-key" */
  apiKey?: string;
  /** Where the lines go. @default console.log */
  out?: (line: string) => void;
  color?: boolean;
}

export interface WalkthroughResult {
  register: Exchange;
  list: Exchange;
  listWithoutKey: Exchange;
  tools: Exchange;
  chat: Exchange & { body: ChatReply };
  /** The tool calls the example MCP server received during the chat turn. */
  receivedCalls: ReceivedToolCall[];
  optOut: Exchange & { body: ChatReply };
}

/** The server name the tenant registers; its tools become `weather__get_weather`, `weather__add`. */
export const TENANT_SERVER = "weather";

/**
 * Walks through the demo against a running app, printing each request and answer: register a
 * server for a tenant, list, inspect its tools, chat with an injected tool, opt out.
 */
export async function runWalkthrough(options: WalkthroughOptions): Promise<WalkthroughResult> {
  const print = createPrinter(options.out, options.color === undefined ? {} : { color: options.color });
  const apiKey = options.apiKey ?? "demo-tenant-key";
  const call = (method: string, path: string, init: { apiKey?: string; body?: unknown } = {}): Promise<Exchange> =>
    exchange(print, options.appUrl, method, path, init);

  print.step(
    1,
    "Register an MCP server for a tenant",
    "A tenant is whoever calls with an API key (the X-API-Key header, hashed). It adds a remote MCP\n" +
      "server for itself; only the operator's config file may start local (stdio) servers.",
  );
  const register = await call("POST", "/mcp-servers", {
    apiKey,
    body: {
      name: TENANT_SERVER,
      url: options.exampleServer.url,
      description: "The example MCP server over Streamable HTTP",
      tools: { allow: ["get_weather", "add"] },
    },
  });

  print.step(
    2,
    "List the servers this tenant gets",
    'The operator\'s servers from mcp.config.json (source "config") and the tenant\'s own (source "scope").',
  );
  const list = await call("GET", "/mcp-servers", { apiKey });
  print.note("Without a key, the management routes answer 401:");
  const listWithoutKey = await call("GET", "/mcp-servers");

  print.step(3, "See a server's tools as the model will", "Named <server>__<tool>, after the server's allow list.");
  const tools = await call("GET", `/mcp-servers/${TENANT_SERVER}/tools`, { apiKey });

  print.step(
    4,
    "Chat: the model calls an injected MCP tool",
    "POST /chat runs generateText(await req.mcp.inject({ model, messages, tools: appTools })).\n" +
      `The model here is the ${options.modelLabel}.`,
  );
  const callsBefore = options.exampleServer.calls.length;
  const chat = await call("POST", "/chat", {
    apiKey,
    body: { messages: [{ role: "user", content: "What's the weather in Paris?" }] },
  });
  const receivedCalls = options.exampleServer.calls.slice(callsBefore);
  const chatReply = chat.body as ChatReply;
  printChat(print, chatReply, receivedCalls);

  print.step(
    5,
    "Opt out for one request",
    'With "mcp_servers": {} in the body, no MCP server is injected into this request (servers marked\n' +
      "force_on aside); the app's own tools stay.",
  );
  const optOut = await call("POST", "/chat", {
    apiKey,
    body: { messages: [{ role: "user", content: "What's the weather in Paris?" }], mcp_servers: {} },
  });
  printChat(print, optOut.body as ChatReply, []);

  print.line();
  print.title("Done.");
  print.note(
    "Keep the app running and try it by hand:  npm run serve --workspace=examples/express-app\n" +
      "With OPENAI_API_KEY set, the same app answers with a real model.",
  );

  return {
    register,
    list,
    listWithoutKey,
    tools,
    chat: { ...chat, body: chatReply },
    receivedCalls,
    optOut: { ...optOut, body: optOut.body as ChatReply },
  };
}

async function exchange(
  print: Printer,
  appUrl: string,
  method: string,
  path: string,
  init: { apiKey?: string; body?: unknown },
): Promise<Exchange> {
  const headers: Record<string, string> = {};
  if (init.apiKey !== undefined) headers["X-API-Key"] = init.apiKey;
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  print.request(method, path, init.apiKey === undefined ? {} : { "X-API-Key": init.apiKey }, init.body);
  const response = await fetch(new URL(path, appUrl), {
    method,
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  const body: unknown = text === "" ? undefined : parseJson(text);
  const isChat = path === "/chat" && response.ok;
  print.response(response.status, isChat ? undefined : shorten(path, body));
  return { status: response.status, body };
}

function printChat(print: Printer, reply: ChatReply, receivedCalls: ReceivedToolCall[]): void {
  const mcpTools = reply.toolsOffered.filter((name) => name.includes("__"));
  print.field("tools offered", reply.toolsOffered.join(", ") + (mcpTools.length === 0 ? "   (no MCP tools)" : ""));
  for (const toolCall of reply.toolCalls)
    print.field("tool call", `${toolCall.toolName} ${JSON.stringify(toolCall.input)}`);
  for (const received of receivedCalls) {
    print.field("MCP server got", `${received.tool} ${JSON.stringify(received.arguments)}`);
  }
  for (const result of reply.toolResults) {
    print.field("tool result", result.error === undefined ? resultText(result.output) : `error: ${result.error}`);
  }
  print.field("answer", reply.text);
  for (const error of reply.mcpErrors) print.field("mcp error", `${error.code}: ${error.message}`);
}

/** The text of an MCP tool result (`{ content: [{ type: "text", text }] }`), or its JSON. */
function resultText(output: unknown): string {
  const content = (output as { content?: unknown } | null)?.content;
  if (Array.isArray(content)) {
    return content
      .map((part: { type?: string; text?: string }) => (part.type === "text" ? part.text : `[${part.type}]`))
      .join("\n");
  }
  return typeof output === "string" ? output : JSON.stringify(output);
}

/** The tools listing is long (input schemas): show each tool on one line instead. */
function shorten(path: string, body: unknown): unknown {
  const tools = (body as { tools?: unknown } | null)?.tools;
  if (!path.endsWith("/tools") || !Array.isArray(tools)) return body;
  return {
    tools: tools.map(
      (entry: { toolName?: string; description?: string }) => `${entry.toolName} — ${entry.description ?? ""}`,
    ),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
