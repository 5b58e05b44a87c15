import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport, SseError } from "@modelcontextprotocol/sdk/client/sse.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { FetchLike, Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  CallToolResultSchema,
  ErrorCode as JsonRpcErrorCode,
  McpError,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import { isStdio, type ServerDefinition } from "../config/schema.js";
import { McpServerSideError } from "../errors.js";
import type { Logger } from "../options.js";
import { REFUSED_HEADER_NAMES } from "../security/headers.js";
import { credentialsOf, maskCredentialText } from "../security/secrets.js";
import type { ResolvedServer } from "../types.js";
import type { ChildProcess } from "node:child_process";
import type { Operation, Telemetry } from "../telemetry/telemetry.js";
import { raceDeadline, sleep } from "../util/deadline.js";
import {
  ChildExitError,
  classifyConnectError,
  ConnectTimeoutError,
  httpStatusOf,
  isStaleSession,
  suggestsSseFallback,
} from "./classify.js";

/**
 * One live MCP session: an SDK `Client` on a stdio, Streamable HTTP or SSE transport. The pool's
 * slot owns it and replaces it when it breaks; this module only opens, uses and closes it.
 */

export type TransportKind = "stdio" | "streamable-http" | "sse";

export interface ConnectionEvents {
  /** The server sent `notifications/tools/list_changed`. */
  onToolsChanged(): void;
  /** The transport closed, or the server forgot the session, without us closing it. */
  onLost(): void;
}

export interface OpenOptions {
  server: ResolvedServer;
  /** The fetch for HTTP transports (the SSRF-guarded one for tenant tiers). */
  fetch: FetchLike;
  /** Deadline for the whole open, transport fallback included. */
  timeoutMs: number;
  /** Aborts the open (engine shutdown). */
  signal?: AbortSignal;
  /** Largest JSON-RPC line accepted from a stdio server. */
  maxStdioMessageBytes: number;
  logger?: Logger;
  events: ConnectionEvents;
  /** Spans and metrics of initialize, tools/list and tools/call (absent without OpenTelemetry). */
  telemetry?: Telemetry;
}

export interface Connection {
  readonly kind: TransportKind;
  /** The `instructions` of the server's initialize result. */
  readonly instructions: string | undefined;
  /** False once the connection broke or was retired; a new one must be opened. */
  readonly alive: boolean;
  /** Whether the server declared the tools capability. */
  readonly hasTools: boolean;
  /** The Streamable HTTP session id (`mcp.session.id`); undefined for other transports. */
  readonly sessionId: string | undefined;
  /**
   * Every page of `tools/list`, up to `maxTools` entries and `maxPages` pages, each entry as the
   * server sent it. `timeoutMs` bounds the whole listing, not each page.
   */
  listTools(options: { timeoutMs: number; maxTools: number; maxPages: number }): Promise<unknown[]>;
  callTool(
    name: string,
    args: Record<string, unknown>,
    options: { signal?: AbortSignal; timeoutMs: number },
  ): Promise<unknown>;
  /** Marks the connection unusable and closes it once its in-flight requests finished. */
  retire(): void;
  /** Terminates the session on the server (HTTP DELETE) and closes the transport (ends a stdio child). */
  close(): Promise<void>;
}

const CLIENT_INFO = { name: "mcp-server-side", version: "0.1.0" };
/** How much of a stdio child's stderr is kept to explain a failed start (the last lines). */
const STDERR_TAIL_BYTES = 2_048;

/** What a stdio child said and how it ended, kept to explain a failed start. */
interface ChildReport {
  stderrTail: string;
  exit?: { code: number | null; signal: string | null };
}

/** Bound on the DELETE that ends an HTTP session at close; the close never waits longer. */
const TERMINATE_TIMEOUT_MS = 2_000;

/**
 * Output-schema validation is skipped. The SDK's default builds an Ajv instance per client (heap per
 * pooled connection) and its `listTools` compiles a validator per output-schema tool on every listing
 * (bench: ~9× slower for 50 such tools); our listing goes through `client.request` and never compiles.
 * The server owns both the schema and the content, so validating one against the other protects
 * nothing, and the model reads the content anyway.
 */
const skipOutputValidation: jsonSchemaValidator = {
  getValidator: () => (input: unknown) => ({ valid: true, data: input as never, errorMessage: undefined }),
};

/**
 * `tools/list` read leniently: the SDK's own schema rejects the whole list when one tool is malformed
 * (a non-object root schema, a non-string description …), which would let one bad tool hide all the
 * others. Each entry is checked on its own later (tools/convert, tools/schema).
 */
const LenientListToolsResultSchema = z.looseObject({ tools: z.array(z.unknown()), nextCursor: z.unknown().optional() });

/** Header names the transport itself sets; a definition's value for them is dropped. */
const TRANSPORT_HEADERS: ReadonlySet<string> = new Set([...REFUSED_HEADER_NAMES, "content-type", "accept"]);

/** The definition's headers and auth as request headers: `headers`, then `auth.headers`, then a bearer token. */
export function remoteHeaders(definition: ServerDefinition): Record<string, string> {
  const headers: Record<string, string> = {};
  const add = (name: string, value: string): void => {
    if (TRANSPORT_HEADERS.has(name.toLowerCase())) return;
    for (const existing of Object.keys(headers)) {
      if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    }
    headers[name] = value;
  };
  for (const [name, value] of Object.entries(definition.headers ?? {})) add(name, value);
  const auth = definition.auth;
  if (auth?.type === "headers") for (const [name, value] of Object.entries(auth.headers)) add(name, value);
  if (auth?.type === "bearer") add("Authorization", `Bearer ${auth.token}`);
  return headers;
}

function parseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new McpServerSideError("invalid_url", "the server URL is not a valid URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new McpServerSideError("invalid_url", "the server URL must use http or https");
  return url;
}

function createTransport(kind: TransportKind, options: OpenOptions, child: ChildReport): Transport {
  const definition = options.server.definition;
  if (kind === "stdio") {
    const transport = new StdioClientTransport({
      command: definition.command ?? "",
      ...(definition.args ? { args: definition.args } : {}),
      // The SDK adds a safe default environment (PATH, HOME …) under these.
      ...(definition.env ? { env: definition.env } : {}),
      ...(definition.cwd ? { cwd: definition.cwd } : {}),
      stderr: "pipe",
      maxBufferSize: options.maxStdioMessageBytes,
    });
    // A pipe nobody reads fills up and blocks the child: always drain it.
    const stderr = transport.stderr;
    const name = options.server.name;
    // The child's own env credentials are masked in what it prints before anything keeps or logs it.
    const credentials = credentialsOf(definition);
    stderr?.on("data", (chunk: Buffer) => {
      const text = maskCredentialText(
        chunk.toString("utf8", Math.max(0, chunk.length - STDERR_TAIL_BYTES)),
        credentials,
      );
      child.stderrTail = (child.stderrTail + text).slice(-STDERR_TAIL_BYTES);
      options.logger?.debug(
        `mcp-server-side: ${name} (stdio) stderr: ${maskCredentialText(chunk.toString("utf8", 0, 500), credentials).trimEnd()}`,
      );
    });
    // The SDK does not expose the child's exit status, which is what explains a failed start; it keeps
    // the process in `_process` once started.
    const start = transport.start.bind(transport);
    transport.start = async () => {
      await start();
      const process = (transport as unknown as { _process?: ChildProcess })._process;
      process?.once("exit", (code, signal) => {
        child.exit = { code, signal };
      });
    };
    return transport;
  }
  const url = parseUrl(definition.url ?? "");
  const requestInit: RequestInit = { headers: remoteHeaders(definition) };
  const common = {
    fetch: options.fetch,
    requestInit,
    // Tenant tiers: redirects are left to the guarded fetch, which follows them same-origin only,
    // at most 5 hops, each re-checked (SPEC §9). The config tier keeps the SDK's same-origin policy.
    redirectPolicy: options.server.source === "config" ? ("same-origin" as const) : ("follow" as const),
  };
  return kind === "sse" ? new SSEClientTransport(url, common) : new StreamableHTTPClientTransport(url, common);
}

async function openWith(kind: TransportKind, options: OpenOptions, deadline: number): Promise<Connection> {
  const remaining = (): number => Math.max(1, Math.ceil(deadline - performance.now()));
  const child: ChildReport = { stderrTail: "" };
  const transport = createTransport(kind, options, child);
  const client = new Client(CLIENT_INFO, { capabilities: {}, jsonSchemaValidator: skipOutputValidation });
  let alive = false;
  let closing = false;
  let active = 0;
  let retired = false;
  let closed: Promise<void> | undefined;
  /** The server answered 404 for the session: there is nothing left to terminate. */
  let sessionGone = false;

  const lose = (): void => {
    if (!alive) return;
    alive = false;
    if (!closing) options.events.onLost();
  };
  client.onclose = lose;
  client.onerror = (error: Error) => {
    if (isStaleSession(error)) sessionGone = true;
    if (!alive) return;
    // 404 (or the reference server's 400) on the session id (the server restarted), a GET stream that could not be re-opened, or an
    // SSE stream that dropped (reconnecting it would start a session nobody initialized).
    if (sessionGone || /Maximum reconnection attempts/.test(error.message) || error instanceof SseError) {
      options.logger?.debug(
        `mcp-server-side: ${options.server.name}: the session was lost; it will be re-initialized on next use`,
      );
      lose();
    }
  };
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => options.events.onToolsChanged());

  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      alive = false;
      if (transport instanceof StreamableHTTPClientTransport && transport.sessionId !== undefined && !sessionGone) {
        await raceDeadline(
          transport.terminateSession().catch(() => undefined),
          TERMINATE_TIMEOUT_MS,
          undefined,
          () => undefined,
        );
      }
      await client.close().catch(() => undefined);
    })();
    return closed;
  };

  // The SDK's own timeout covers initialize only, not the transport's start (an SSE endpoint that
  // never sends its `endpoint` event would hang it): one deadline covers both, and the abort signal
  // of the engine cuts it short.
  try {
    // Our deadline fires first and closes the transport; the SDK's own timeout would also send a
    // cancellation notification on a new request to a server that does not answer.
    await raceDeadline(
      client.connect(transport, { timeout: remaining() + 60_000 }),
      remaining(),
      options.signal,
      (why) => {
        throw why === "timeout"
          ? new ConnectTimeoutError(Math.round(options.timeoutMs))
          : new McpServerSideError("connection_failed", "the connection was cancelled (shutting down)");
      },
    );
  } catch (error) {
    closing = true;
    const exited = kind === "stdio" && isConnectionClosed(error);
    if (exited) await drained();
    await client.close().catch(() => undefined);
    // A failed SSE start leaves its EventSource reconnecting; closing the transport stops it.
    await transport.close().catch(() => undefined);
    // "Connection closed" says nothing; the child's exit status and last stderr lines say why.
    if (exited)
      throw new ChildExitError(child.exit?.code ?? null, child.exit?.signal ?? null, child.stderrTail, {
        cause: error,
      });
    throw error;
  }
  alive = true;

  const settle = (): void => {
    active--;
    if (retired && active === 0) void close();
  };

  return {
    kind,
    instructions: client.getInstructions(),
    get sessionId() {
      return sessionIdOf(transport);
    },
    get alive() {
      return alive;
    },
    hasTools: client.getServerCapabilities()?.tools !== undefined,
    async listTools({ timeoutMs, maxTools, maxPages }) {
      active++;
      const operation = options.telemetry?.start("tools/list", options.server);
      operation?.session(sessionIdOf(transport));
      try {
        // One deadline for the listing: a server that pages slowly must not get a fresh budget per page.
        const listDeadline = performance.now() + timeoutMs;
        const tools: unknown[] = [];
        let cursor: string | undefined;
        // At least the first page: a cap of zero would offer no tools at all.
        const pages = Math.max(1, maxPages);
        for (let page = 0; page < pages && tools.length < maxTools; page++) {
          const left = Math.ceil(listDeadline - performance.now());
          if (left <= 0) throw new McpError(JsonRpcErrorCode.RequestTimeout, "tools/list did not finish in time");
          const result = await client.request(
            { method: "tools/list", ...(cursor === undefined ? {} : { params: { cursor } }) },
            LenientListToolsResultSchema,
            { timeout: left, maxTotalTimeout: left },
          );
          for (const tool of result.tools) if (tools.length < maxTools) tools.push(tool);
          cursor = typeof result.nextCursor === "string" ? result.nextCursor : undefined;
          if (cursor === undefined) break;
          if (page + 1 >= pages) {
            options.logger?.warn(
              `mcp-server-side: ${options.server.name}: tools/list stopped after ${pages} pages (maxToolListPages)`,
            );
          }
        }
        operation?.end();
        return tools;
      } catch (error) {
        operation?.end(error);
        throw error;
      } finally {
        settle();
      }
    },
    callTool(name, args, { signal, timeoutMs }) {
      active++;
      // The SDK never removes its listener from a caller's signal; give it a signal of its own.
      let controller: AbortController | undefined;
      let forward: (() => void) | undefined;
      if (signal) {
        controller = new AbortController();
        const own = controller;
        forward = () => own.abort(signal.reason);
        if (signal.aborted) forward();
        else signal.addEventListener("abort", forward, { once: true });
      }
      const operation = options.telemetry?.start("tools/call", options.server, name);
      // `client.request`, not `client.callTool`: what callTool adds (the task-tool guard, output-schema
      // validation) reads caches that only the SDK's own `listTools` fills, which is never called here
      // (see skipOutputValidation), and its async wrapper would put two more promise turns between the
      // response and the caller, each behind the response stream's own queued work.
      const pending = client.request(
        { method: "tools/call", params: { name, arguments: args } },
        CallToolResultSchema,
        controller ? { signal: controller.signal, timeout: timeoutMs } : { timeout: timeoutMs },
      );
      if (operation) traceCall(operation, transport, args, pending);
      // Not an async wrapper: on the hot path every extra await is a turn behind the HTTP response's
      // stream processing. Bookkeeping hangs off the same promise instead.
      const unlink = forward;
      const cleanup =
        unlink === undefined
          ? settle
          : () => {
              signal?.removeEventListener("abort", unlink);
              settle();
            };
      pending.then(cleanup, cleanup);
      return pending;
    },
    retire() {
      alive = false;
      retired = true;
      if (active === 0) void close();
    },
    close,
  };
}

/** The Streamable HTTP session id, for `mcp.session.id` (other transports have none). */
function sessionIdOf(transport: Transport): string | undefined {
  return transport instanceof StreamableHTTPClientTransport ? transport.sessionId : undefined;
}

/** Ends a call's span with its outcome; a result with `isError` is a `tool_error` (the MCP conventions). */
function traceCall(operation: Operation, transport: Transport, args: unknown, pending: Promise<unknown>): void {
  operation.session(sessionIdOf(transport));
  operation.payload("arguments", args);
  pending.then(
    (result) => {
      const isError =
        typeof result === "object" && result !== null && (result as { isError?: unknown }).isError === true;
      operation.payload("result", (result as { content?: unknown } | null)?.content);
      operation.end(isError ? "tool_error" : undefined);
    },
    (error: unknown) => operation.end(error),
  );
}

function isConnectionClosed(error: unknown): boolean {
  return error instanceof McpError && error.code === JsonRpcErrorCode.ConnectionClosed;
}

/** A few turns of the event loop, so that a child's last stderr chunk and exit event are in. */
function drained(): Promise<void> {
  return sleep(20);
}

/**
 * Opens a connection within `timeoutMs`. A remote server without an explicit `transport: "sse"` is
 * tried with Streamable HTTP first and, when the endpoint answers as an older SSE-only server would
 * (400/404/405), with SSE.
 */
export async function openConnection(options: OpenOptions): Promise<Connection> {
  const operation = options.telemetry?.start("initialize", options.server);
  if (operation === undefined) return openTransport(options);
  try {
    const connection = await openTransport(options);
    operation.session(connection.sessionId);
    operation.end();
    return connection;
  } catch (error) {
    operation.end(classifyConnectError(error).code);
    throw error;
  }
}

async function openTransport(options: OpenOptions): Promise<Connection> {
  const deadline = performance.now() + options.timeoutMs;
  const definition = options.server.definition;
  if (isStdio(definition)) return openWith("stdio", options, deadline);
  parseUrl(definition.url ?? "");
  if (definition.transport === "sse") return openWith("sse", options, deadline);
  try {
    return await openWith("streamable-http", options, deadline);
  } catch (error) {
    if (!suggestsSseFallback(error) || performance.now() >= deadline) throw error;
    try {
      return await openWith("sse", options, deadline);
    } catch (sseError) {
      // Neither transport is spoken here: report what the Streamable HTTP attempt got (e.g. a 404).
      throw pickFallbackError(error, sseError);
    }
  }
}

/** After a failed fallback, the SSE error tells more only when the SSE endpoint answered differently. */
function pickFallbackError(streamableError: unknown, sseError: unknown): unknown {
  const status = httpStatusOf(sseError);
  if (status === 401 || status === 403) return sseError;
  if (sseError instanceof ConnectTimeoutError || McpServerSideError.isInstance(sseError)) return sseError;
  return streamableError;
}
