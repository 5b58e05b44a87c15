import { createServer, type Server } from "node:http";
import { sendWebResponse, toWebRequest } from "@mcp-server-side/core/node";
import type { FetchHandler } from "./handler.js";

/**
 * Serves a fetch handler on Node's own http server. The Node ↔ Web conversion is the core's
 * (`@mcp-server-side/core/node`); on Bun or Deno this file is `Bun.serve({ fetch })` / `Deno.serve(fetch)`.
 */
export function serveFetch(fetch: FetchHandler): Server {
  return createServer((req, res) => {
    // `response: res` aborts the Web request's signal when the client leaves, which cancels its MCP calls.
    fetch(toWebRequest(req, { response: res }))
      .then((response) => sendWebResponse(res, response))
      .catch((error: unknown) => {
        console.error(`${req.method} ${req.url} failed:`, error);
        if (res.headersSent) res.destroy();
        else res.writeHead(500, { "content-type": "application/json" }).end('{"error":"internal error"}');
      });
  });
}
