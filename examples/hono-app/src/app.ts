import { type McpServerSide, type McpServerSideEnv, mcpServerSide } from "@mcp-server-side/hono";
import { generateText, isStepCount, type LanguageModel, type ModelMessage } from "ai";
import { Hono } from "hono";

export interface ChatAppOptions {
  /** The model behind `/chat`. */
  model: LanguageModel;
  /** The config tier: the path of an `mcpServers` JSON file. */
  config: string;
}

/** A Hono chat backend: `app.use(mcpServerSide(...))`, then `c.var.mcp` in every route. */
export function createChatApp(options: ChatAppOptions): { app: Hono<McpServerSideEnv>; mcp: McpServerSide } {
  const middleware = mcpServerSide({
    config: options.config,
    // DEMO ONLY: lets a tenant register the example server on 127.0.0.1 (every port on it). By default
    // tenants get public https servers only, so they cannot point this server at its own network.
    allowedHosts: ["127.0.0.1"],
  });
  const app = new Hono<McpServerSideEnv>();
  app.use(middleware); // mounts /mcp-servers and sets c.var.mcp

  // Body: { messages, mcp_servers?, mcp_select? }; the middleware reads the last two itself.
  app.post("/chat", async (c) => {
    const body = await c.req.json<{ messages?: ModelMessage[] }>().catch(() => ({}) as { messages?: ModelMessage[] });
    if (!Array.isArray(body.messages))
      return c.json({ error: "Send { messages: [{ role: 'user', content: '…' }] }" }, 400);
    const tools = await c.var.mcp.tools(); // every effective server's tools, named <server>__<tool>
    const result = await generateText({
      model: options.model,
      instructions: await c.var.mcp.instructions(),
      messages: body.messages,
      tools,
      stopWhen: isStepCount(5),
    });
    const content = result.steps.flatMap((step) => step.content);
    return c.json({
      text: result.text,
      toolsOffered: Object.keys(tools),
      toolCalls: content.flatMap((part) =>
        part.type === "tool-call" ? [{ toolName: part.toolName, input: part.input }] : [],
      ),
      mcpErrors: c.var.mcp.errors,
    });
  });

  return { app, mcp: middleware.mcp };
}
