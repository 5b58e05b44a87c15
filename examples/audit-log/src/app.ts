import { createWriteStream } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createMcpServerSide, type McpServerSideOptions } from "@mcp-server-side/core";
import { mcpServerSide } from "@mcp-server-side/express";
import express from "express";
import { auditLog } from "./audit.js";

export interface AuditAppOptions {
  /** Where the JSON lines go. @default "audit.log" in the working directory */
  file?: string;
  /** The port; 0 picks a free one. @default 3000 */
  port?: number;
  /** Passed on to createMcpServerSide (allowedHosts for a local server, hooks …). */
  mcp?: McpServerSideOptions;
  /** An app route that uses the tools (the demo's chat), mounted after the middleware. */
  routes?: (app: express.Express) => void;
}

export interface AuditApp {
  url: string;
  file: string;
  close(): Promise<void>;
}

/** An Express app with the MCP middleware and an audit log of its hooks. */
export async function startAuditApp(options: AuditAppOptions = {}): Promise<AuditApp> {
  const file = options.file ?? "audit.log";
  const out = createWriteStream(file, { flags: "a" });
  const mcp = createMcpServerSide(options.mcp);
  const stop = auditLog(mcp.hooks, (line) => out.write(line));
  await mcp.ready();

  const app = express();
  app.use(express.json());
  app.use(mcpServerSide(mcp));
  options.routes?.(app);

  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(options.port ?? 3000, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    file,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      stop();
      await mcp.close();
      await new Promise<void>((resolve) => out.end(resolve));
    },
  };
}
