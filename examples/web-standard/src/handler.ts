import { createMcpServerSide, type McpServerSide } from "@mcp-server-side/core";
import { generateText, isStepCount, type LanguageModel, type ModelMessage } from "ai";

export interface ChatHandlerOptions {
  /** The model behind `POST /chat`. */
  model: LanguageModel;
  /** The config tier: the path of an `mcpServers` JSON file. */
  config: string;
}

/** A fetch handler: what Bun.serve, Deno.serve, Cloudflare Workers and Next.js route handlers call. */
export type FetchHandler = (request: Request) => Promise<Response>;

interface ChatBody {
  messages?: ModelMessage[];
  mcp_servers?: unknown;
  mcp_select?: unknown;
}

/**
 * A chat backend with no framework at all: one `Request → Response` function. The core serves the
 * management routes itself (`mcp.handle`); the app's own route asks `mcp.forRequest` for the tools.
 */
export function createChatHandler(options: ChatHandlerOptions): { fetch: FetchHandler; mcp: McpServerSide } {
  const mcp = createMcpServerSide({
    config: options.config,
    // DEMO ONLY: lets a tenant register the example server on 127.0.0.1 (every port on it). By default
    // tenants get public https servers only, so they cannot point this server at its own network.
    allowedHosts: ["127.0.0.1"],
  });

  // Body: { messages, mcp_servers?, mcp_select? }. Without an adapter, the route passes the last two on itself.
  async function chat(request: Request): Promise<Response> {
    const body = (await request.json().catch(() => undefined)) as ChatBody | undefined;
    if (!Array.isArray(body?.messages))
      return Response.json({ error: "Send { messages: [{ role: 'user', content: '…' }] }" }, { status: 400 });
    // Absent or null inherits the servers of the caller's tiers; `{}` opts this request out.
    const context = mcp.forRequest(request, { servers: body.mcp_servers, select: body.mcp_select });
    // `inject` merges every effective server's tools (named <server>__<tool>) into the call's own.
    const params = await context.inject({ model: options.model, messages: body.messages, stopWhen: isStepCount(5) });
    const result = await generateText(params);
    return Response.json({
      text: result.text,
      toolsOffered: Object.keys(params.tools),
      toolCalls: result.steps.flatMap((step) => step.toolCalls.map(({ toolName, input }) => ({ toolName, input }))),
      mcpErrors: context.errors,
    });
  }

  async function fetch(request: Request): Promise<Response> {
    // /mcp-servers/… (and the OpenAI-compatible routes when configured); undefined for anything else.
    const managed = await mcp.handle(request);
    if (managed !== undefined) return managed;
    if (new URL(request.url).pathname !== "/chat") return Response.json({ error: "not found" }, { status: 404 });
    if (request.method !== "POST") return new Response(null, { status: 405, headers: { allow: "POST" } });
    return chat(request);
  }

  return { fetch, mcp };
}
