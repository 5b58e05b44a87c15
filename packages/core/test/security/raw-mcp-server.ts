import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/*
 * A Streamable HTTP MCP server written on raw node:http, so that a test can make it misbehave in ways
 * the MCP SDK's server never would: drip one byte at a time, answer 50 MB, send schemas and
 * instructions no real server should. It speaks just enough MCP (JSON responses, no sessions) for the
 * client to initialize, list tools and call them.
 */

export interface RawReply {
  /** JSON-RPC `result` to answer with (as application/json). */
  result?: unknown;
  /** Answer by hand instead (status, headers and body are the handler's); `id` is the request's. */
  raw?: (response: ServerResponse, id: unknown) => void;
}

export interface RawMcpOptions {
  instructions?: string;
  /** `tools/list` result; default no tools. */
  tools?: unknown[];
  /** Handles a JSON-RPC request by method; `undefined` falls back to the default behaviour. */
  handle?: (method: string, params: unknown, headers: IncomingMessage["headers"]) => RawReply | undefined;
}

export interface RawMcpServer {
  url: string;
  /** Every JSON-RPC method received, in order (notifications included). */
  methods: string[];
  /** Every HTTP request received (method and path). */
  requests: string[];
  close(): Promise<void>;
}

export async function startRawMcpServer(options: RawMcpOptions = {}): Promise<RawMcpServer> {
  const methods: string[] = [];
  const requests: string[] = [];

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    requests.push(`${request.method} ${request.url}`);
    if (request.method !== "POST") {
      response.writeHead(405, { allow: "POST" }).end();
      return;
    }
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      let message: { id?: unknown; method?: unknown; params?: unknown };
      try {
        message = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof message;
      } catch {
        response.writeHead(400).end();
        return;
      }
      const method = String(message.method);
      methods.push(method);
      if (message.id === undefined) {
        response.writeHead(202).end();
        return;
      }
      const custom = options.handle?.(method, message.params, request.headers);
      if (custom?.raw) {
        custom.raw(response, message.id);
        return;
      }
      let result = custom?.result;
      if (result === undefined) {
        if (method === "initialize") {
          const params = (message.params ?? {}) as { protocolVersion?: string };
          result = {
            protocolVersion: params.protocolVersion ?? "2025-06-18",
            capabilities: { tools: {} },
            serverInfo: { name: "raw", version: "1.0.0" },
            ...(options.instructions === undefined ? {} : { instructions: options.instructions }),
          };
        } else if (method === "tools/list") {
          result = { tools: options.tools ?? [] };
        } else {
          result = {};
        }
      }
      response
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ jsonrpc: "2.0", id: message.id, result }));
    });
  });
  server.on("connection", (socket) => socket.on("error", () => undefined));

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    methods,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Handles registered by the reply helpers below; `close()` of the server clears their timers. */
const activeTimers = new Set<ReturnType<typeof setInterval>>();

/**
 * A reply that sends headers at once and then one byte every `intervalMs` for ever: JSON white space
 * (which a JSON parser waits through) or, as an event stream, SSE comment bytes.
 */
export function drip(kind: "json" | "event-stream", intervalMs = 500): RawReply {
  return {
    raw(response) {
      response.writeHead(200, {
        "content-type": kind === "json" ? "application/json" : "text/event-stream",
        "cache-control": "no-store",
      });
      response.flushHeaders();
      const bytes = kind === "json" ? [" "] : [":", "\n"];
      let index = 0;
      const timer = setInterval(() => {
        if (response.destroyed || response.writableEnded) {
          clearInterval(timer);
          activeTimers.delete(timer);
          return;
        }
        response.write(bytes[index++ % bytes.length]);
      }, intervalMs);
      activeTimers.add(timer);
      response.on("close", () => {
        clearInterval(timer);
        activeTimers.delete(timer);
      });
    },
  };
}

export interface Flood {
  reply: RawReply;
  /** Bytes written so far (what the client took before it hung up, plus what the kernel buffered). */
  readonly written: number;
  /** True once the client closed the connection before the whole body was sent. */
  readonly cut: boolean;
}

/**
 * A JSON-RPC response of about `totalBytes`: a result whose one text content is that long, written in
 * 64 KiB chunks with backpressure, so that a client that stops reading stops the server too.
 */
export function flood(totalBytes: number, as: "json" | "event-stream" = "json"): Flood {
  let written = 0;
  let cut = false;
  const reply: RawReply = {
    raw(response, id) {
      response.writeHead(200, { "content-type": as === "json" ? "application/json" : "text/event-stream" });
      const head = `${as === "json" ? "" : "event: message\ndata: "}{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"content":[{"type":"text","text":"`;
      const tail = `"}]}}${as === "json" ? "" : "\n\n"}`;
      const chunk = "x".repeat(64 * 1024);
      let remaining = totalBytes;
      response.on("close", () => {
        if (!response.writableFinished) cut = true;
      });
      const pump = (): void => {
        if (response.destroyed) return;
        if (written === 0) {
          written += Buffer.byteLength(head);
          response.write(head);
        }
        while (remaining > 0) {
          const piece = remaining >= chunk.length ? chunk : chunk.slice(0, remaining);
          remaining -= piece.length;
          written += piece.length;
          if (!response.write(piece)) {
            response.once("drain", pump);
            return;
          }
        }
        response.end(tail);
      };
      pump();
    },
  };
  return {
    reply,
    get written() {
      return written;
    },
    get cut() {
      return cut;
    },
  };
}

/** Stops every dripping reply still running (call in afterAll). */
export function stopDripping(): void {
  for (const timer of activeTimers) clearInterval(timer);
  activeTimers.clear();
}
