import { type McpServerSide, mcpServerSide } from "@mcp-server-side/express";
import {
  convertToModelMessages,
  generateText,
  isStepCount,
  type LanguageModel,
  type ModelMessage,
  pipeUIMessageStreamToResponse,
  streamText,
  tool,
  toUIMessageStream,
  type UIMessage,
} from "ai";
import express, { type ErrorRequestHandler, type Express } from "express";
import { z } from "zod";

export interface ChatAppOptions {
  /** The model behind `/chat`: a real one, or the scripted one of the walkthrough. */
  model: LanguageModel;
  /** The config tier: the path of an `mcpServers` JSON file. */
  config: string;
}

const INSTRUCTIONS = "You are a helpful assistant. Use the tools you are given when they help; keep answers short.";

/** The app's own tool: `inject()` merges the MCP tools next to it, and the app's tool wins a name clash. */
const appTools = {
  server_time: tool({
    description: "The current date and time on the server, as ISO 8601.",
    inputSchema: z.object({}),
    execute: async () => new Date().toISOString(),
  }),
};

/**
 * The demo app: an ordinary Express 5 chat backend. Two lines make MCP servers' tools available to
 * every AI SDK call in it: `app.use(mcpServerSide(...))` and `await req.mcp.inject(...)` (or `tools()`).
 */
export function createChatApp(options: ChatAppOptions): { app: Express; mcp: McpServerSide } {
  const app = express();
  app.use(express.json());

  const middleware = mcpServerSide({
    // The operator's servers: a JSON file in the format Claude Desktop, Cursor and VS Code use.
    config: options.config,
    // DEMO ONLY. Tenants may register remote servers, and by default only public https ones: a
    // private address would let a tenant make this server call into its own network (SSRF). The
    // walkthrough registers the example server on 127.0.0.1, so this opens exactly that host (and
    // every port on it: never do this where other local services listen).
    allowedHosts: ["127.0.0.1"],
    // Who is calling: by default the hashed `X-API-Key` (or `Authorization: Bearer`) is the tenant.
    // A real app plugs its own auth in here, e.g.:
    // identify: async (request) => { const user = await auth(request); return user ? { scope: user.orgId, user: user.id } : null; },
  });
  // Mounts the management routes at /mcp-servers and sets `req.mcp` on every other request.
  app.use(middleware);

  // JSON in, JSON out: one `generateText` turn, tool calls included. Body: { messages, mcp_servers?, mcp_select? }.
  app.post("/chat", async (req, res) => {
    const messages = req.body?.messages as ModelMessage[] | undefined;
    if (!Array.isArray(messages)) {
      res.status(400).json({ error: "Send { messages: [{ role: 'user', content: '…' }] }" });
      return;
    }
    const serverInstructions = await req.mcp.instructions();
    const params = await req.mcp.inject({
      model: options.model,
      instructions: [INSTRUCTIONS, serverInstructions].filter(Boolean).join("\n\n"),
      messages,
      tools: appTools,
      stopWhen: isStepCount(5),
    });
    const result = await generateText(params);

    const content = result.steps.flatMap((step) => step.content);
    res.json({
      text: result.text,
      toolsOffered: Object.keys(params.tools),
      toolCalls: content.flatMap((part) =>
        part.type === "tool-call" ? [{ toolName: part.toolName, input: part.input }] : [],
      ),
      toolResults: content.flatMap((part): { toolName: string; output?: unknown; error?: string }[] => {
        if (part.type === "tool-result") return [{ toolName: part.toolName, output: part.output }];
        if (part.type === "tool-error") return [{ toolName: part.toolName, error: String(part.error) }];
        return [];
      }),
      // What went wrong on the MCP side for this request (a server down, a name ignored), sanitized.
      mcpErrors: req.mcp.errors,
    });
  });

  // The route a `useChat()` front end talks to: UI messages in, a UI message stream out (SPEC §1).
  app.post("/chat/stream", async (req, res) => {
    const messages = req.body?.messages as UIMessage[] | undefined;
    if (!Array.isArray(messages)) {
      res.status(400).json({ error: "Send { messages: UIMessage[] } as useChat() does" });
      return;
    }
    const result = streamText({
      model: options.model,
      instructions: INSTRUCTIONS,
      messages: await convertToModelMessages(messages),
      // `tools()` is the MCP tool set alone; spread the app's own tools last so they win a name clash.
      tools: { ...(await req.mcp.tools()), ...appTools },
      stopWhen: isStepCount(5),
    });
    await pipeUIMessageStreamToResponse({ response: res, stream: toUIMessageStream({ stream: result.stream }) });
  });

  // Express 5 forwards a rejected async route here. The details go to the log, not to the client.
  const onError: ErrorRequestHandler = (error, req, res, _next) => {
    console.error(`${req.method} ${req.originalUrl} failed:`, error);
    if (res.headersSent) res.end();
    else res.status(500).json({ error: "internal error" });
  };
  app.use(onError);

  return { app, mcp: middleware.mcp };
}
