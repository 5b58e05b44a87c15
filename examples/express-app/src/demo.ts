import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { McpServerSide } from "@mcp-server-side/express";
import type { LanguageModel } from "ai";
import { type ExampleServerHandle, startExampleServer } from "example-mcp-server";
import { createChatApp } from "./app.js";

export interface StartDemoOptions {
  model: LanguageModel;
  /** The app's port; 0 picks a free one. @default 3000 */
  port?: number;
  /** The example MCP server's port; 0 picks a free one. @default 3334 */
  mcpPort?: number;
}

export interface DemoHandle {
  /** The app, e.g. `http://127.0.0.1:3000`. */
  appUrl: string;
  exampleServer: ExampleServerHandle;
  mcp: McpServerSide;
  /** Stops the app, closes every MCP connection (ending the stdio child) and the example server. */
  close(): Promise<void>;
}

/** Where mcp.config.json's `${EXAMPLE_MCP_SERVER_DIR:-../example-mcp-server}` points when the variable is unset. */
const EXAMPLE_MCP_SERVER_DIR = fileURLToPath(new URL("../../example-mcp-server", import.meta.url));
const CONFIG_PATH = fileURLToPath(new URL("../mcp.config.json", import.meta.url));

/** Starts the example MCP server (Streamable HTTP, in this process) and the Express app, both on 127.0.0.1. */
export async function startDemo(options: StartDemoOptions): Promise<DemoHandle> {
  // The file's default is relative to this folder (where `npm start` runs); this makes the demo work
  // from any directory. Setting the variable yourself still wins.
  process.env.EXAMPLE_MCP_SERVER_DIR ??= EXAMPLE_MCP_SERVER_DIR;

  const exampleServer = await startExampleServer({ port: options.mcpPort ?? 3334 });
  const { app, mcp } = createChatApp({ model: options.model, config: CONFIG_PATH });
  await mcp.ready();
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(options.port ?? 3000, "127.0.0.1", (error?: Error) =>
      error ? reject(error) : resolve(listening),
    );
  });

  return {
    appUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exampleServer,
    mcp,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await mcp.close();
      await exampleServer.close();
    },
  };
}
