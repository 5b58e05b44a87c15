import { availableParallelism } from "node:os";
import type { LanguageModel } from "ai";
import type { Storage } from "unstorage";
import type { McpHooks } from "./hooks.js";
import type { ServerDefinition } from "./config/schema.js";
import type { McpStore } from "./store/types.js";
import type { HealthOptions } from "./http/health.js";
import type { TelemetryOptions } from "./telemetry/telemetry.js";
import type { Identity } from "./types.js";
import { McpServerSideError } from "./errors.js";

/** A DNS answer in the shape of `dns.promises.lookup(hostname, { all: true })`. */
export interface LookupAddress {
  address: string;
  family: 4 | 6;
}

export type Lookup = (hostname: string) => Promise<LookupAddress[]>;

/** Any logger with these four methods: pino, consola and `console` fit. Every line it gets is sanitized. */
export interface Logger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface ChatCompletionsOptions {
  /** Maps the request's `model` string to an AI SDK model. */
  model: (id: string) => LanguageModel | Promise<LanguageModel>;
  /** @default "/v1/chat/completions" */
  path?: string;
  /** Server-side tool steps per request. @default 5 */
  maxSteps?: number;
  /**
   * The model ids `GET /v1/models` lists (beside the chat path: `/v1/models` for the default path),
   * so that `client.models.list()` and model pickers show them. Listing only: `model` still decides
   * which ids a request may use. @default [] (an empty list)
   */
  models?: string[];
}

export interface McpServerSideOptions {
  /** The config tier: a path to a JSON file or an object in the `mcpServers` format. */
  config?: string | { mcpServers: Record<string, unknown> };
  /** An unstorage `Storage` (any driver) or a store. @default an in-memory unstorage */
  storage?: Storage | McpStore;
  /** Where the management routes are mounted. @default "/mcp-servers" */
  basePath?: string;
  /** Who is calling. @default the hashed `X-API-Key` or `Authorization: Bearer` key as the scope */
  identify?: (request: Request) => Identity | null | Promise<Identity | null>;
  /** Names the AI SDK tool of a server's tool; the result is still made valid and unique. @default `${server}__${tool}` */
  toolName?: (server: string, tool: string) => string;
  /**
   * Receives sanitized log lines; `false` silences the instance.
   * @default warnings and errors to the console (`console.warn` / `console.error`), sanitized
   */
  logger?: Logger | false;
  /** Hook functions registered at creation. */
  hooks?: Partial<McpHooks>;
  /** 32 bytes (base64 or bytes) to encrypt secrets at rest. @default a random per-process key for in-memory storage */
  encryptionKey?: string | Uint8Array;
  /** Several keys: the first encrypts, all decrypt (rotation). */
  encryptionKeys?: (string | Uint8Array)[];
  /**
   * Host names or IP literals that tenants may use even though they resolve to private, link-local or
   * metadata addresses. `host:port` (`[v6]:port` for IPv6) opens that port only; a bare host every
   * port. A malformed entry throws `invalid_config` at creation.
   */
  allowedHosts?: string[];
  /** Opens loopback and private ranges to tenant servers (never link-local or metadata). @default false */
  allowPrivateNetworks?: boolean;
  /** Requires `https` for tenant servers except opened hosts. @default true */
  requireHttps?: boolean;
  /** The resolver used for SSRF checks. @default dns.promises.lookup with { all: true } */
  lookup?: Lookup;
  /** Mounts an OpenAI-compatible Chat Completions endpoint. */
  chatCompletions?: ChatCompletionsOptions;
  /** @default 10 */
  maxServersPerScope?: number;
  /** @default 128 */
  maxToolsPerServer?: number;
  /** @default 10000 */
  connectTimeoutMs?: number;
  /** A failed connect is retried once after this long. @default 3000 */
  connectRetryDelayMs?: number;
  /** @default 10000 */
  toolsTimeoutMs?: number;
  /** @default 60000 */
  callTimeoutMs?: number;
  /** @default 1 MiB */
  maxToolResultBytes?: number;
  /** @default 1000 */
  maxConnections?: number;
  /** Idle pooled connections are closed after this long. @default 300000 */
  idleTimeoutMs?: number;
  /** @default 64 KiB */
  maxBodyBytes?: number;
  /**
   * The longest a server that keeps failing is skipped. The first failure skips it for about a
   * second, each further one doubles that up to this cap, and the first success ends it. @default 30000
   */
  coolDownMs?: number;
  /** Pooled connections (connecting ones included) one scope may hold; the anonymous caller counts as one scope. @default 50 */
  maxConnectionsPerScope?: number;
  /** Connects one scope may have in flight; further ones wait their turn. @default 8 */
  maxConcurrentConnectsPerScope?: number;
  /** `POST /test` runs one scope may have in flight; one more answers `limit_exceeded`. @default 4 */
  maxConcurrentTestsPerScope?: number;
  /** Stdio children being started (spawn to initialize) at once, across all tiers; the rest wait. @default the number of CPUs, at least 2 */
  maxConcurrentSpawns?: number;
  /** Pages of `tools/list` read from one server; a longer listing stops there. @default 20 */
  maxToolListPages?: number;
  /**
   * Headers one server may send: `headers`, `auth.headers` and a bearer token's `Authorization`
   * together. A definition with more is refused. @default 32
   */
  maxHeadersPerServer?: number;
  /** Bytes of one header value (a bearer token included); a longer one is refused. @default 4096 */
  maxHeaderValueBytes?: number;
  /** Bytes of UTF-8 of one server's `instructions` handed to the model; longer ones are cut. @default 4096 */
  maxInstructionsBytes?: number;
  /**
   * Connects the config tier's servers at start-up, so `ready()` resolves with them connected (or
   * with the reasons they failed) and the first request finds them warm. @default true
   */
  warmup?: boolean;
  /**
   * Tool pinning (SPEC §8): each tool's definition is fingerprinted at first sight; a later change is
   * reported (`tool_changed` in `errors`, the `tools:changed` hook). `"block"` also leaves changed tools
   * out until they are approved through `POST /:name/pins/approve`; `"off"` turns it off. A store
   * without the pin methods turns it off (with a warning). @default "warn"
   */
  toolPinning?: "warn" | "block" | "off";
  /**
   * Per-user OAuth for `auth.type: "oauth2"` servers (SPEC §7): the callback URL, where the browser
   * goes afterwards, and refresh timing. @default {} (OAuth servers are listed but cannot be connected
   * until `oauth.redirectUri` is set)
   */
  oauth?: import("./oauth/manager.js").OAuthOptions;
  /**
   * OpenTelemetry spans and metrics through `@opentelemetry/api`, when the app has it installed (an
   * optional peer; without it nothing is loaded). `false` turns them off; `recordArguments: true` also
   * records tool arguments and results (sanitized, capped) as span attributes. @default {} (on, no arguments)
   */
  telemetry?: TelemetryOptions | false;
  /**
   * `GET {basePath}/_health`, a readiness report (200 ready, 503 not): store reachability, pool size
   * and each config and global server's state. Admins only unless `public: true`; `false` removes the
   * route. @default {} (admins only)
   */
  health?: HealthOptions | false;
  /**
   * The settings UI: `GET {basePath}/ui` (a complete page) and `GET {basePath}/ui/element.js` (the
   * `<mcp-servers-settings>` web component). It calls the management routes with the app's identity. @default false
   */
  ui?: boolean | import("./ui/serve.js").SettingsUiOptions;
  /** Clock, injectable for tests. @default Date.now */
  now?: () => number;
}

/** The limits of SPEC §9, normalized once at creation. */
export interface Limits {
  maxServersPerScope: number;
  maxToolsPerServer: number;
  connectTimeoutMs: number;
  connectRetryDelayMs: number;
  toolsTimeoutMs: number;
  callTimeoutMs: number;
  maxToolResultBytes: number;
  maxConnections: number;
  idleTimeoutMs: number;
  maxBodyBytes: number;
  coolDownMs: number;
  maxConnectionsPerScope: number;
  maxConcurrentConnectsPerScope: number;
  maxConcurrentTestsPerScope: number;
  maxConcurrentSpawns: number;
  maxToolListPages: number;
  maxHeadersPerServer: number;
  maxHeaderValueBytes: number;
  maxInstructionsBytes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxServersPerScope: 10,
  maxToolsPerServer: 128,
  connectTimeoutMs: 10_000,
  connectRetryDelayMs: 3_000,
  toolsTimeoutMs: 10_000,
  callTimeoutMs: 60_000,
  maxToolResultBytes: 1024 * 1024,
  maxConnections: 1_000,
  idleTimeoutMs: 5 * 60_000,
  maxBodyBytes: 64 * 1024,
  coolDownMs: 30_000,
  // 1 000 connections shared by 100 busy tenants: 20 full scopes never starve the rest, because an
  // idle connection of the biggest scope is evicted first and connecting ones are capped at 8.
  maxConnectionsPerScope: 50,
  maxConcurrentConnectsPerScope: 8,
  maxConcurrentTestsPerScope: 4,
  // A child's start is mostly CPU (loading and compiling modules): about one per core at a time
  // starts each sooner than all at once, and none runs into connectTimeoutMs while the others load.
  maxConcurrentSpawns: Math.max(2, availableParallelism()),
  maxToolListPages: 20,
  maxHeadersPerServer: 32,
  maxHeaderValueBytes: 4096,
  maxInstructionsBytes: 4096,
});

/** The network policy for servers from the global, scope and request tiers. */
export interface NetworkPolicy {
  /** Canonical `allowedHosts` entries: `host`, `host:port` or `[v6]:port` (see security/ssrf parseAllowedHost). */
  allowedHosts: ReadonlySet<string>;
  allowPrivateNetworks: boolean;
  requireHttps: boolean;
  lookup: Lookup;
  /** Where a refused host is explained to the operator (which option would open it). */
  logger?: Pick<Logger, "warn">;
}

export function resolveLimits(options: McpServerSideOptions): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    // Typed access: a limit without an option of its name in McpServerSideOptions does not compile.
    const value: unknown = options[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new McpServerSideError(
        "invalid_config",
        `createMcpServerSide: option '${key}' must be a non-negative number`,
      );
    }
    limits[key] = value;
  }
  return limits;
}

export function normalizeBasePath(basePath: string | undefined): string {
  const path = (basePath ?? "/mcp-servers").replace(/\/+$/, "");
  if (path !== "" && !/^\/[A-Za-z0-9._~\-/]*$/.test(path)) {
    throw new McpServerSideError(
      "invalid_config",
      "createMcpServerSide: 'basePath' must be a path such as /mcp-servers",
    );
  }
  return path;
}

/** A definition tagged with the name it is registered under. */
export interface NamedDefinition {
  name: string;
  definition: ServerDefinition;
}
