import { type McpServerSide, mcpServerSide } from "@mcp-server-side/express";
import express, { type Express } from "express";

export interface OAuthAppOptions {
  /** The protected MCP server's URL. */
  trackerUrl: string;
  /** The app's public origin, e.g. http://localhost:3000 (the redirect URI is built from it). */
  origin: string;
}

/**
 * The app: Express with the middleware. The issue tracker is declared with `auth.type: "oauth2"`;
 * each user connects their own account. Who the user is comes from `identify` — here, for the demo,
 * a `user` cookie set by `/login?user=…` (a real app uses its session).
 */
export function createOAuthApp(options: OAuthAppOptions): { app: Express; mcp: McpServerSide } {
  const app = express();
  const middleware = mcpServerSide({
    config: { mcpServers: { tracker: { url: options.trackerUrl, auth: { type: "oauth2" } } } },
    identify: (request) => {
      const user = /(?:^|;\s*)user=([A-Za-z0-9_-]{1,64})/.exec(request.headers.get("cookie") ?? "")?.[1];
      return user === undefined ? null : { scope: "demo", user };
    },
    oauth: { redirectUri: `${options.origin}/mcp-servers/oauth/callback`, returnTo: "/" },
    logger: false,
  });
  app.use(middleware);

  app.get("/login", (req, res) => {
    const user =
      String(req.query.user ?? "alice")
        .replace(/[^A-Za-z0-9_-]/g, "")
        .slice(0, 64) || "alice";
    res.cookie("user", user, { httpOnly: true, sameSite: "lax" }).redirect("/");
  });

  // What the user's AI SDK calls would get: the tools, or `oauth_required` with a Connect link.
  app.get("/tools", async (req, res) => {
    const tools = await req.mcp.tools();
    res.json({ tools: Object.keys(tools), errors: req.mcp.errors });
  });

  // Calls the user's `tracker__my_issues` tool (as the model would).
  app.get("/issues", async (req, res) => {
    const tools = await req.mcp.tools();
    const tool = tools.tracker__my_issues;
    if (tool?.execute === undefined) {
      res.status(409).json({ errors: req.mcp.errors });
      return;
    }
    res.json(await tool.execute({}, { toolCallId: "demo", messages: [], context: {} }));
  });

  app.get("/", async (req, res) => {
    const identity = await req.mcp.identity();
    if (identity === null) {
      res
        .type("html")
        .send('<p><a href="/login?user=alice">Log in as alice</a> · <a href="/login?user=bob">as bob</a></p>');
      return;
    }
    await req.mcp.tools();
    const needed = req.mcp.errors.find((error) => error.code === "oauth_required");
    res
      .type("html")
      .send(
        needed?.connectUrl
          ? `<p>Hello ${identity.user}. <a href="${needed.connectUrl}">Connect the issue tracker</a></p>`
          : `<p>Hello ${identity.user}: connected. <a href="/issues">My issues</a></p>`,
      );
  });
  return { app, mcp: middleware.mcp };
}
