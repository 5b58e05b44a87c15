import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import type { McpServerSide } from "@mcp-server-side/hono";
import type { LanguageModel } from "ai";
import { type ExampleServerHandle, startExampleServer } from "example-mcp-server";
import { createChatApp } from "./app.js";

export interface DemoHandle {
  appUrl: string;
  exampleServer: ExampleServerHandle;
  mcp: McpServerSide;
  close(): Promise<void>;
}

/** Starts the example MCP server (Streamable HTTP, in this process) and the Hono app, both on 127.0.0.1. */
export async function startDemo(options: {
  model: LanguageModel;
  port?: number;
  mcpPort?: number;
}): Promise<DemoHandle> {
  // mcp.config.json's `${EXAMPLE_MCP_SERVER_DIR:-../example-mcp-server}` suits `npm start` here; this suits any directory.
  process.env.EXAMPLE_MCP_SERVER_DIR ??= fileURLToPath(new URL("../../example-mcp-server", import.meta.url));
  const exampleServer = await startExampleServer({ port: options.mcpPort ?? 3334 });
  const { app, mcp } = createChatApp({
    model: options.model,
    config: fileURLToPath(new URL("../mcp.config.json", import.meta.url)),
  });
  await mcp.ready();
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>((resolve) => {
    const server = serve({ fetch: app.fetch, port: options.port ?? 3000, hostname: "127.0.0.1" }, (info: AddressInfo) =>
      resolve({ server, port: info.port }),
    );
  });
  return {
    appUrl: `http://127.0.0.1:${port}`,
    exampleServer,
    mcp,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await mcp.close();
      await exampleServer.close();
    },
  };
}
