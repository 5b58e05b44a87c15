import { type McpServerSide, mcpServerSide } from "@mcp-server-side/express";
import type { LanguageModel } from "ai";
import express, { type Express } from "express";

export interface OpenAICompatibleAppOptions {
  /** Maps the request's `model` field to an AI SDK model. */
  model: (id: string) => LanguageModel;
  /** The MCP server every request gets (the config tier), e.g. `http://127.0.0.1:3334/mcp`. */
  weatherServerUrl: string;
}

/**
 * An Express app that is an OpenAI-compatible API: `POST /v1/chat/completions` runs the model with
 * the MCP servers' tools executed here, and answers as OpenAI does. Any OpenAI client can use it.
 */
export function createOpenAICompatibleApp(options: OpenAICompatibleAppOptions): { app: Express; mcp: McpServerSide } {
  const middleware = mcpServerSide({
    config: { mcpServers: { weather: { url: options.weatherServerUrl, tools: { allow: ["get_weather"] } } } },
    chatCompletions: {
      model: options.model,
      // At most this many model calls per request, tool calls included.
      maxSteps: 5,
    },
  });
  const app = express();
  app.use(express.json());
  app.use(middleware); // mounts /v1/chat/completions (and /mcp-servers)
  return { app, mcp: middleware.mcp };
}
