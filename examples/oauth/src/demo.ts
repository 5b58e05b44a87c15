import { createOAuthApp } from "./app.js";
import { close, listen, startAuthorizationServer, startIssueTracker } from "./servers.js";
import { createServer } from "node:http";

export interface OAuthDemo {
  appUrl: string;
  close(): Promise<void>;
}

/** Starts the authorization server, the protected MCP server and the app (port 0: free ports). */
export async function startOAuthDemo(ports: { app: number; auth: number; mcp: number }): Promise<OAuthDemo> {
  let trackerUrl = "";
  const authorization = await startAuthorizationServer({ port: ports.auth, resource: () => trackerUrl });
  const tracker = await startIssueTracker(ports.mcp, () => authorization.url);
  trackerUrl = tracker.url;
  // The app's port must be known before the middleware is created: the redirect URI is built from it.
  const http = createServer();
  const port = await listen(http, ports.app);
  const { app, mcp } = createOAuthApp({ trackerUrl, origin: `http://127.0.0.1:${port}` });
  http.on("request", app);
  return {
    appUrl: `http://127.0.0.1:${port}`,
    async close() {
      await close(http);
      await mcp.close();
      await tracker.close();
      await authorization.close();
    },
  };
}
