import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { createExampleMcpServer, type ReceivedToolCall } from "./server.js";

export interface StartExampleServerOptions {
  /** The port to listen on; 0 picks a free one. @default 3334 */
  port?: number;
  /** Called for every tool call the server receives (in addition to `calls`). */
  onToolCall?: (call: ReceivedToolCall) => void;
}

export interface ExampleServerHandle {
  /** The MCP endpoint, e.g. `http://127.0.0.1:3334/mcp`. */
  url: string;
  port: number;
  /** Every tool call received so far, oldest first. */
  readonly calls: ReceivedToolCall[];
  /** Ends every session and stops listening. */
  close(): Promise<void>;
}

const HOST = "127.0.0.1";

/**
 * Serves the example MCP server over Streamable HTTP at `http://127.0.0.1:<port>/mcp`, with sessions:
 * each client that initializes gets its own server instance, found again by its `Mcp-Session-Id`.
 */
export async function startExampleServer(options: StartExampleServerOptions = {}): Promise<ExampleServerHandle> {
  const calls: ReceivedToolCall[] = [];
  // Known once listening (port 0 picks one); requests only arrive after that.
  let port = 0;
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const onToolCall = (call: ReceivedToolCall): void => {
    calls.push(call);
    options.onToolCall?.(call);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (new URL(req.url ?? "/", `http://${HOST}`).pathname !== "/mcp") {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not found: the MCP endpoint is /mcp\n");
      return;
    }
    const sessionId = req.headers["mcp-session-id"];
    const existing = typeof sessionId === "string" ? sessions.get(sessionId) : undefined;
    if (existing) {
      await existing.handleRequest(req, res);
      return;
    }
    if (sessionId !== undefined) {
      // The MCP spec's answer to an unknown session: 404, and the client starts a new one.
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null }));
      return;
    }
    // No session yet: this must be an initialize request; the transport answers anything else with an error.
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
      // Only local clients talk to this demo server; refuse DNS-rebound requests from a browser.
      enableDnsRebindingProtection: true,
      allowedHosts: [`${HOST}:${port}`, `localhost:${port}`],
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await createExampleMcpServer({ onToolCall }).connect(transport);
    await transport.handleRequest(req, res);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`Internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port ?? 3334, HOST, () => resolve());
  });
  port = (http.address() as AddressInfo).port;

  return {
    url: `http://${HOST}:${port}/mcp`,
    port,
    calls,
    async close() {
      await Promise.allSettled([...sessions.values()].map((transport) => transport.close()));
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
