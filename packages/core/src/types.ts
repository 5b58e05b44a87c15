import type { ToolSet } from "ai";
import type { Availability, ToolFilter } from "./config/schema.js";
import type { ErrorCode } from "./errors.js";

/** Who is calling: their scope (tenant), optionally a user within it, and whether they are an admin. */
export interface Identity {
  scope: string;
  user?: string;
  admin?: boolean;
}

export type Tier = "config" | "global" | "scope" | "request";

/** What a caller sees of a server's authentication instead of its secrets (SPEC §4). */
export type ServerAuthSummary = {
  type: "none" | "bearer" | "headers" | "oauth2";
  /** bearer: whether a token is set. */
  hasToken?: boolean;
  /** Whether headers are set (`headers` auth, or plain `headers` on the server). */
  hasHeaders?: boolean;
  /** oauth2: whether a client secret is configured. */
  hasClientSecret?: boolean;
  /** oauth2: whether the caller has connected this server. */
  connected?: boolean;
  /** oauth2: the client id (not a secret), when configured. */
  clientId?: string;
  /** oauth2: the requested scopes when configured, the granted ones once connected. */
  scopes?: string[];
  /** oauth2: when the caller's access token expires (ISO 8601). */
  expiresAt?: string;
  /** oauth2: scopes the server asked for (`403 insufficient_scope`): the user must connect again (step-up). */
  missingScopes?: string[];
};

/**
 * A server definition as a caller may see it (SPEC §4): no secret, only the `auth` summary. The
 * connection fields (`url`, `command`, `args`, `cwd`, `env` names, `auth`) are there only for a caller
 * who may see how the server is reached: an admin, or anyone for their own scope and request servers.
 */
export type RedactedDefinition = {
  description?: string;
  transport?: "streamable-http" | "sse";
  enabled?: boolean;
  availability?: Availability;
  locked?: boolean;
  tools?: ToolFilter;
  timeoutMs?: number;
  /** The URL, its userinfo and secret-named query parameters masked. */
  url?: string;
  command?: string;
  /** The arguments, the one after a secret-named flag masked. */
  args?: string[];
  cwd?: string;
  /** The variable names, each value `***`. */
  env?: Record<string, string>;
  auth?: ServerAuthSummary;
};

/**
 * A server as a caller sees it: the redacted definition (secrets replaced by `auth.has*` flags)
 * plus its `name`, the tier it comes from, and the highest lower tier it hides.
 */
export interface EffectiveServer extends RedactedDefinition {
  name: string;
  source: Tier;
  shadows?: Exclude<Tier, "request">;
}

/** One thing that went wrong for a request: sanitized, never a secret. */
export interface ContextError {
  code: ErrorCode | (string & {});
  message: string;
  server?: string;
  tool?: string;
  /** For `oauth_required`: the path (below the app's origin) where the user connects the server. */
  connectUrl?: string;
  /** For `oauth_required` after a `403 insufficient_scope`: the scopes the server asked for (step-up). */
  scopes?: string[];
}

/** Per-request inputs that adapters read from the JSON body (`mcp_servers`, `mcp_select`). */
export interface RequestOverrides {
  /** `null`/absent inherit, `{}` opts out, `{ name: definition }` adds, `{ name: false }` drops. */
  servers?: unknown;
  /** When given, only `force_on` servers plus these names are injected. */
  select?: unknown;
}

/** Overrides may be given lazily, so an adapter can read a body that is parsed after it ran. */
export type OverridesSource =
  | RequestOverrides
  | undefined
  | (() => RequestOverrides | undefined | Promise<RequestOverrides | undefined>);

export interface ToolsOptions {
  /** Overall budget for collecting tools; defaults to the `toolsTimeoutMs` option. */
  timeoutMs?: number;
  /** Aborts collecting tools. */
  signal?: AbortSignal;
}

/** What `req.mcp` / `c.var.mcp` is: the MCP side of one request. */
export interface McpRequestContext {
  /** The AI SDK tool set of every effective server, within `toolsTimeoutMs`; never throws for a server's failure. */
  tools(options?: ToolsOptions): Promise<ToolSet>;
  /** `params` with the MCP tools merged into `params.tools`; the app's own tools win a name clash. */
  inject<P extends object>(params: P & { tools?: ToolSet }, options?: ToolsOptions): Promise<P & { tools: ToolSet }>;
  /** The effective servers, as `mcp.resolve` returns them. */
  servers(): Promise<EffectiveServer[]>;
  /** The `instructions` the effective servers sent at initialize, each headed by the server's name. */
  instructions(): Promise<string>;
  /** The identity of the caller, or null when anonymous. */
  identity(): Promise<Identity | null>;
  /** What went wrong for this request so far (filled as the context works). */
  readonly errors: ContextError[];
}

/** What `ready()` resolves with. */
export interface ReadyReport {
  /** Config servers that could not be connected at start-up, with the reason (`code`, `server`, `message`). */
  failedServers: ContextError[];
}

/** The instance `createMcpServerSide` returns. */
export interface McpServerSide {
  /** The typed `hookable` instance. */
  readonly hooks: import("./hooks.js").McpHookable;
  /** The instance's sanitizing logger (the `logger` option, the console by default, silent for `false`); adapters warn through it. */
  readonly logger: import("./options.js").Logger;
  /** Where the management routes are mounted (normalized, no trailing slash). */
  readonly basePath: string;
  /**
   * True when `path` belongs to this instance (management routes or the chat endpoint). Pass the path
   * the framework routed, undecoded and unnormalized: a path that only normalizes into `basePath` is not ours.
   */
  owns(path: string): boolean;
  /**
   * Serves the management routes (and the chat endpoint); `undefined` when the request is not ours.
   * `path` is the path the framework routed (as for `owns`); it defaults to the request URL's pathname.
   */
  handle(request: Request, path?: string): Promise<Response | undefined>;
  /** The MCP context of one request. */
  forRequest(request: Request, overrides?: OverridesSource): McpRequestContext;
  /** The effective servers for a request (SPEC §2), redacted. */
  resolve(request: Request, overrides?: OverridesSource): Promise<EffectiveServer[]>;
  /**
   * Re-encrypts every stored secret under the first of `encryptionKeys`, users' OAuth records (tokens,
   * client registrations, pending authorizations) included; run it before dropping an old key. Returns
   * how many scopes and servers it saw, how many servers it rewrote, and how many OAuth records.
   */
  rotateSecrets(): Promise<{ scopes: number; servers: number; rotated: number; oauthRecords: number }>;
  /**
   * Resolves when asynchronous start-up (store checks) finished, and — unless `warmup: false` — the
   * config tier's servers are connected or failed (each failure is also logged as a warning and
   * retried on use); rejects with the store's error.
   */
  ready(): Promise<ReadyReport>;
  /** Closes every pooled connection, ends every stdio child, and unsubscribes from the store. */
  close(): Promise<void>;
}

/**
 * A server ready to connect to, as the engine receives it: the definition with secrets opened
 * (plaintext, in memory only), where it comes from, and whom it is for.
 */
export interface ResolvedServer {
  name: string;
  source: Tier;
  definition: import("./config/schema.js").ServerDefinition;
  /** The caller's scope id for scope- and request-tier servers. */
  scope?: string;
  /** The user, for servers whose connections are per user (OAuth). */
  user?: string;
}
