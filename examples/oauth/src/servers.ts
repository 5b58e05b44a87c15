import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { createRemoteJWKSet, jwtVerify } from "jose";
import Provider, { type Configuration } from "oidc-provider";

/**
 * The two servers an OAuth-protected MCP deployment has, run locally: an authorization server
 * (oidc-provider, with dynamic client registration, PKCE, resource indicators, rotating refresh tokens
 * and revocation; its development login page accepts any login and password) and an MCP server that
 * only answers the JWT access tokens that authorization server issued for it, publishing RFC 9728
 * protected-resource metadata. A real deployment has its own of both; the middleware only needs the
 * MCP server's URL.
 */

export interface Running {
  url: string;
  close(): Promise<void>;
}

export interface AuthorizationServerOptions {
  /** The port to listen on (0: a free one). @default 0 */
  port?: number;
  /** The protected resource: the MCP server's URL, the audience of the access tokens. */
  resource: () => string;
  /** The scope the resource grants. @default "issues:read" */
  scope?: string;
  /** Access token lifetime in seconds. @default 300 */
  accessTokenTtl?: number;
  /** More oidc-provider configuration, laid over this one (its `features` merged with these). */
  configuration?: Configuration;
  /** Answers each request, given the provider's own handler (e.g. to rewrite an answer). @default that handler */
  handle?: (callback: RequestHandler) => RequestHandler;
}

export interface AuthorizationServer extends Running {
  /** The oidc-provider instance, for its events and models. */
  provider: Provider;
}

type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

export async function startAuthorizationServer(options: AuthorizationServerOptions): Promise<AuthorizationServer> {
  const http = createServer();
  const bound = await listen(http, options.port ?? 0);
  const issuer = `http://127.0.0.1:${bound}`;
  const { resource, configuration = {} } = options;
  const scope = options.scope ?? "issues:read";
  const provider = new Provider(issuer, {
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
    scopes: ["openid", "offline_access", scope],
    pkce: { required: () => true },
    ttl: { Session: 3600, Interaction: 600, Grant: 3600, RefreshToken: 86400, AuthorizationCode: 60 },
    // Rotating refresh tokens for every client: a refresh token spent twice revokes the grant.
    rotateRefreshToken: () => true,
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    // Consent is implied once the user logged in (a real authorization server asks).
    loadExistingGrant: async (ctx) => {
      const given = ctx.oidc.result?.consent?.grantId;
      if (typeof given === "string") return ctx.oidc.provider.Grant.find(given);
      const { session, client } = ctx.oidc;
      if (!session?.accountId || !client) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope("openid offline_access");
      grant.addResourceScope(resource(), scope);
      await grant.save();
      return grant;
    },
    ...configuration,
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => resource(),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          if (indicator !== resource()) throw new Error("unknown resource");
          return {
            scope,
            audience: indicator,
            accessTokenFormat: "jwt",
            accessTokenTTL: options.accessTokenTtl ?? 300,
          };
        },
      },
      ...configuration.features,
    },
  });
  const callback = provider.callback();
  http.on("request", options.handle ? options.handle(callback) : callback);
  return { url: issuer, provider, close: () => close(http) };
}

/** Protected-resource metadata (RFC 9728): where a client finds the resource's authorization server. */
export function sendResourceMetadata(
  response: ServerResponse,
  resource: string,
  issuer: string,
  scopes: string[],
): void {
  response.writeHead(200, { "content-type": "application/json" }).end(
    JSON.stringify({
      resource,
      authorization_servers: [issuer],
      scopes_supported: scopes,
      bearer_methods_supported: ["header"],
    }),
  );
}

export async function startIssueTracker(port: number, issuer: () => string): Promise<Running> {
  const http = createServer();
  const bound = await listen(http, port);
  const url = `http://127.0.0.1:${bound}/mcp`;
  const metadataUrl = `http://127.0.0.1:${bound}/.well-known/oauth-protected-resource/mcp`;
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  http.on("request", (request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      if (request.url === "/.well-known/oauth-protected-resource/mcp") {
        sendResourceMetadata(response, url, issuer(), ["issues:read", "offline_access"]);
        return;
      }
      const token = (request.headers.authorization ?? "").replace(/^Bearer /, "");
      let user: string;
      try {
        jwks ??= createRemoteJWKSet(new URL(`${issuer()}/jwks`));
        user = String((await jwtVerify(token, jwks, { issuer: issuer(), audience: url })).payload.sub);
      } catch {
        response
          .writeHead(401, { "www-authenticate": `Bearer resource_metadata="${metadataUrl}"` })
          .end('{"error":"invalid_token"}');
        return;
      }
      const server = new McpServer({ name: "issue-tracker", version: "1.0.0" });
      server.registerTool("my_issues", { description: "The calling user's open issues" }, async () => ({
        content: [{ type: "text", text: `${user}'s open issues: #12 Fix login, #31 Dark mode` }],
      }));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      response.on("close", () => void server.close());
      await server.connect(transport);
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString("utf8");
      await transport.handleRequest(request, response, text === "" ? undefined : JSON.parse(text));
    })().catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  return { url, close: () => close(http) };
}

export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}

export function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
