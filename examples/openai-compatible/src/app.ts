import { type McpServerSide, mcpServerSide } from "@mcp-server-side/express";
import type { LanguageModel } from "ai";
import express, { type Express } from "express";

export interface OpenAICompatibleAppOptions {
  /** Maps the request's `model` field to an AI SDK model. */
  model: (id: string) => LanguageModel;
  /** The ids `GET /v1/models` lists. @default ["scripted"] */
  models?: string[];
  /** The MCP server every request gets (the config tier), e.g. `http://127.0.0.1:3334/mcp`. */
  weatherServerUrl: string;
}

/**
 * An Express app that is an OpenAI-compatible API: `POST /v1/chat/completions` and `POST /v1/responses`
 * run the model with the MCP servers' tools executed here, and answer as OpenAI does; `GET /v1/models`
 * lists the models. Any OpenAI client can use it.
 */
export function createOpenAICompatibleApp(options: OpenAICompatibleAppOptions): { app: Express; mcp: McpServerSide } {
  const middleware = mcpServerSide({
    config: { mcpServers: { weather: { url: options.weatherServerUrl, tools: { allow: ["get_weather"] } } } },
    // Requests may name MCP servers of their own (Responses API `mcp` tools, `mcp_servers`); the demo's
    // server runs on this machine over http, which only an operator can open, and only for that host.
    allowedHosts: [new URL(options.weatherServerUrl).host],
    chatCompletions: {
      model: options.model,
      // What GET /v1/models lists (model pickers, client.models.list()).
      models: options.models ?? ["scripted"],
      // At most this many model calls per request, tool calls included.
      maxSteps: 5,
    },
  });
  const app = express();
  app.use(express.json());
  app.use(middleware); // mounts /v1/chat/completions, /v1/responses, /v1/models (and /mcp-servers)
  return { app, mcp: middleware.mcp };
}
