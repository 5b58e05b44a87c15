import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { McpServerSideError } from "../errors.js";
import type { HookServerRef, McpHookable, McpHooks } from "../hooks.js";
import type { Limits, Logger } from "../options.js";
import type { CallOptions } from "../tools/call.js";
import { buildToolView, type ServerToolView } from "../tools/convert.js";
import type { ToolNamer } from "../tools/naming.js";
import type { ContextError, ResolvedServer } from "../types.js";
import { classifyConnectError, isConnectionBroken, isRetrySafe } from "./classify.js";
import { type Connection, openConnection } from "./connection.js";

/**
 * A pool slot: everything the engine keeps for one server as one caller group sees it (one pool key).
 * It opens the connection once for all concurrent callers (single flight), retries a failed connect
 * once, cools down after a failure, re-initializes a session the server lost, caches the tool list
 * (refreshed on `notifications/tools/list_changed`) and the AI SDK tools built from it.
 */

export type CloseReason = "idle" | "changed" | "removed" | "evicted" | "shutdown" | "error";

export interface SlotDeps {
  limits: Limits;
  hooks: McpHookable;
  logger?: Logger;
  namer: ToolNamer;
  fetchFor: (server: ResolvedServer) => FetchLike;
  authProviderFor?: (server: ResolvedServer) => OAuthClientProvider | undefined;
  now: () => number;
  /** Aborted when the engine closes: pending connects stop at once. */
  shutdown: AbortSignal;
  maxStdioMessageBytes: number;
  /** The current slot for a server, for a call that arrives after this slot was closed as idle. */
  replacement: (server: ResolvedServer) => Slot;
}

export interface Slot {
  readonly key: string;
  readonly server: ResolvedServer;
  readonly ref: HookServerRef;
  /** Last time a request or call used the slot (the `now` clock). */
  lastUsed: number;
  /** A call, a connect or a listing is in flight. */
  readonly busy: boolean;
  readonly connected: boolean;
  readonly closed: boolean;
  /** The tools, synchronously, when the connection is alive and its tool list current. */
  readyView(): ServerToolView | undefined;
  /** A `cooling_down` error while the slot skips a server that failed recently. */
  coolingDown(now: number): ContextError | undefined;
  view(): Promise<ServerToolView>;
  connection(): Promise<Connection>;
  call(tool: string, args: Record<string, unknown>, options: CallOptions): Promise<unknown>;
  close(reason: CloseReason): Promise<void>;
}

/** How many tools a server may list before the listing stops (the rest could never be offered). */
const MAX_LISTED_TOOLS = 10_000;

interface Failure {
  until: number;
  code: string;
  message: string;
}

/** Hooks must never break the engine: their errors are logged and dropped, and they are not awaited. */
export function fireHook<N extends "connection:open" | "connection:error" | "connection:close">(
  hooks: McpHookable,
  logger: Logger | undefined,
  name: N,
  payload: Parameters<McpHooks[N]>[0],
): void {
  try {
    const result = (hooks.callHook as (name: N, payload: Parameters<McpHooks[N]>[0]) => unknown)(name, payload);
    if (result instanceof Promise)
      result.catch((error: unknown) => logger?.warn(`mcp-server-side: the ${name} hook failed`, error));
  } catch (error) {
    logger?.warn(`mcp-server-side: the ${name} hook failed`, error);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** `promise`, or a `timeout` error once `deadline` (performance.now) passed or `signal` aborted. */
function within<T>(
  promise: Promise<T>,
  deadline: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => finish(() => reject(signal?.reason));
    const timer = setTimeout(
      () =>
        finish(() => reject(new McpServerSideError("timeout", `the tool call did not finish within ${timeoutMs} ms`))),
      Math.max(0, deadline - performance.now()),
    );
    function finish(settle: () => void): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settle();
    }
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}

export function createSlot(key: string, server: ResolvedServer, deps: SlotDeps): Slot {
  const { limits, hooks, logger } = deps;
  const ref: HookServerRef = {
    name: server.name,
    source: server.source,
    ...(server.scope === undefined ? {} : { scope: server.scope }),
  };

  let conn: Connection | undefined;
  let opening: Promise<Connection> | undefined;
  let failure: Failure | undefined;
  let closedReason: CloseReason | undefined;
  let activeCalls = 0;

  let tools: unknown[] | undefined;
  let toolsVersion = 0;
  /** Bumped by every tools/list_changed; a listing that started before a bump is stale when it ends. */
  let changes = 0;
  let listedAt = -1;
  let listing: Promise<unknown[]> | undefined;
  let view: ServerToolView | undefined;
  let viewVersion = -1;

  const coolDown = (code: string, message: string): void => {
    failure = { until: deps.now() + limits.coolDownMs, code, message };
  };

  const closedError = (): McpServerSideError =>
    new McpServerSideError(
      "connection_failed",
      closedReason === "removed"
        ? `the server '${server.name}' was removed`
        : closedReason === "changed"
          ? `the server '${server.name}' was changed`
          : "the MCP engine is closed",
    );

  /** Forget a broken connection so that the next use opens a new one. */
  const markLost = (lost: Connection): void => {
    if (conn !== lost) return;
    conn = undefined;
    lost.retire();
  };

  const open = async (): Promise<Connection> => {
    for (let attempt = 0; ; attempt++) {
      // Events name the connection they come from, so a late event of a replaced one changes nothing.
      let opened: Connection | undefined;
      try {
        const authProvider = deps.authProviderFor?.(server);
        opened = await openConnection({
          server,
          fetch: deps.fetchFor(server),
          timeoutMs: limits.connectTimeoutMs,
          signal: deps.shutdown,
          maxStdioMessageBytes: deps.maxStdioMessageBytes,
          ...(authProvider ? { authProvider } : {}),
          ...(logger ? { logger } : {}),
          events: {
            onToolsChanged: () => {
              if (opened === undefined || opened !== conn) return;
              changes++;
              // Refresh at once, so the next request finds the new list ready.
              if (listing === undefined) listedTools().catch(() => undefined);
            },
            onLost: () => {
              if (opened === undefined || opened !== conn) return;
              logger?.warn(
                `mcp-server-side: ${server.name}: the connection closed; it will be re-initialized on next use`,
              );
              markLost(opened);
              fireHook(hooks, logger, "connection:close", { server: ref, reason: "error" });
            },
          },
        });
        return opened;
      } catch (error) {
        const failed = classifyConnectError(error);
        if (attempt > 0 || !failed.retryable || deps.shutdown.aborted || closedReason !== undefined) {
          throw new McpServerSideError(failed.code, failed.message, { cause: error });
        }
        await sleep(limits.connectRetryDelayMs, deps.shutdown);
      }
    }
  };

  const connection = (): Promise<Connection> => {
    if (closedReason !== undefined) return Promise.reject(closedError());
    if (conn?.alive) return Promise.resolve(conn);
    if (opening) return opening;
    if (failure && deps.now() < failure.until) {
      return Promise.reject(
        new McpServerSideError("cooling_down", `skipped after a recent failure (${failure.code}: ${failure.message})`),
      );
    }
    if (conn) markLost(conn);
    const started = performance.now();
    const pending = open().then(
      (opened) => {
        if (closedReason !== undefined) {
          void opened.close();
          throw closedError();
        }
        conn = opened;
        failure = undefined;
        // A new session may come with a new tool list (a restarted server).
        changes++;
        fireHook(hooks, logger, "connection:open", {
          server: ref,
          transport: opened.kind,
          latencyMs: Math.round(performance.now() - started),
        });
        return opened;
      },
      (error: unknown) => {
        if (McpServerSideError.isInstance(error)) coolDown(error.code, error.message);
        throw error;
      },
    );
    opening = pending;
    const clear = (): void => {
      if (opening === pending) opening = undefined;
    };
    pending.then(clear, clear);
    return pending;
  };

  /**
   * Runs an idempotent request on a live connection; when the connection turns out broken (a session
   * the server forgot, a socket it closed), once more on a new one.
   */
  const withConnection = async <T>(use: (connection: Connection) => Promise<T>): Promise<T> => {
    const first = await connection();
    try {
      return await use(first);
    } catch (error) {
      if (!isConnectionBroken(error) || closedReason !== undefined) throw error;
      markLost(first);
      return use(await connection());
    }
  };

  const listedTools = (): Promise<unknown[]> => {
    if (tools !== undefined && listedAt === changes && conn?.alive) return Promise.resolve(tools);
    listing ??= (async () => {
      try {
        return await withConnection(async (live) => {
          const startedAt = changes;
          const list = live.hasTools
            ? await live.listTools({ timeoutMs: limits.toolsTimeoutMs, maxTools: MAX_LISTED_TOOLS })
            : [];
          if (live === conn) {
            tools = list;
            toolsVersion++;
            listedAt = startedAt;
          }
          return list;
        });
      } catch (error) {
        if (McpServerSideError.isInstance(error)) throw error;
        const failed = classifyConnectError(error);
        const code = failed.code === "timeout" ? "timeout" : "upstream_error";
        const message =
          code === "timeout"
            ? "the MCP server did not list its tools in time"
            : "the MCP server failed to list its tools";
        coolDown(code, message);
        throw new McpServerSideError(code, message, { cause: error });
      } finally {
        listing = undefined;
      }
    })();
    return listing;
  };

  const currentView = (): ServerToolView => {
    if (view === undefined || viewVersion !== toolsVersion) {
      view = buildToolView({
        server: server.name,
        ref,
        definition: server.definition,
        tools: tools ?? [],
        namer: deps.namer,
        limits,
        hooks,
        call: (tool, args, options) => slot.call(tool, args, options),
        ...(logger ? { logger } : {}),
      });
      viewVersion = toolsVersion;
    }
    return view;
  };

  const slot: Slot = {
    key,
    server,
    ref,
    lastUsed: deps.now(),
    get busy() {
      return activeCalls > 0 || opening !== undefined || listing !== undefined;
    },
    get connected() {
      return conn?.alive === true;
    },
    get closed() {
      return closedReason !== undefined;
    },

    readyView() {
      if (tools === undefined || listedAt !== changes || !conn?.alive) return undefined;
      return currentView();
    },

    coolingDown(now) {
      if (failure === undefined || now >= failure.until || conn?.alive) return undefined;
      return {
        code: "cooling_down",
        server: server.name,
        message: `skipped after a recent failure (${failure.code}: ${failure.message})`,
      };
    },

    async view() {
      await listedTools();
      return currentView();
    },

    connection,

    async call(tool, args, options) {
      // A tool set held past an idle eviction still works: the call goes to the server's current slot.
      if (closedReason === "idle" || closedReason === "evicted")
        return deps.replacement(server).call(tool, args, options);
      if (closedReason !== undefined) throw closedError();
      const deadline = performance.now() + options.timeoutMs;
      const remaining = (): number => Math.max(1, deadline - performance.now());
      activeCalls++;
      slot.lastUsed = deps.now();
      const live = async (): Promise<Connection> =>
        conn?.alive ? conn : within(connection(), deadline, options.timeoutMs, options.signal);
      try {
        const first = await live();
        try {
          return await first.callTool(tool, args, {
            ...(options.signal ? { signal: options.signal } : {}),
            timeoutMs: remaining(),
          });
        } catch (error) {
          if (isConnectionBroken(error)) markLost(first);
          if (!isRetrySafe(error) || closedReason !== undefined || options.signal?.aborted) throw error;
          const second = await live();
          return await second.callTool(tool, args, {
            ...(options.signal ? { signal: options.signal } : {}),
            timeoutMs: remaining(),
          });
        }
      } finally {
        activeCalls--;
        slot.lastUsed = deps.now();
      }
    },

    async close(reason) {
      if (closedReason !== undefined) return;
      closedReason = reason;
      const open = conn;
      conn = undefined;
      const pending = opening;
      if (open) {
        await open.close();
        fireHook(hooks, logger, "connection:close", { server: ref, reason });
      }
      // A connect still in flight closes what it opens (it sees closedReason); wait for it.
      if (pending) await pending.catch(() => undefined);
    },
  };
  return slot;
}
