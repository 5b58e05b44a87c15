import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { McpServerSideError } from "../errors.js";
import type { HookServerRef, McpHookable, McpHooks } from "../hooks.js";
import type { Limits, Logger } from "../options.js";
import type { CallOptions } from "../tools/call.js";
import { buildToolView, type ServerToolView } from "../tools/convert.js";
import type { ToolNamer } from "../tools/naming.js";
import { isStdio } from "../config/schema.js";
import type { ContextError, ResolvedServer } from "../types.js";
import { classifyConnectError, isConnectionBroken, isRetrySafe } from "./classify.js";
import { type Connection, openConnection } from "./connection.js";
import type { Release } from "./gate.js";

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
  /**
   * Waits for the permits a connect needs (the scope's connect cap, the spawn cap for stdio); the
   * connect deadline starts once they are held. Rejects when `signal` aborts first.
   */
  admit: (server: ResolvedServer, signal: AbortSignal) => Promise<Release>;
}

export interface Slot {
  readonly key: string;
  readonly server: ResolvedServer;
  readonly ref: HookServerRef;
  /** Last time a request or call used the slot (the `now` clock). */
  lastUsed: number;
  /** A call, a connect or a listing is in flight (a connect still waiting for its turn is not). */
  readonly busy: boolean;
  readonly connected: boolean;
  readonly closed: boolean;
  /** The tools, synchronously, when the connection is alive and its tool list current. */
  readyView(): ServerToolView | undefined;
  /** A `cooling_down` error while the slot skips a server that failed recently. */
  coolingDown(now: number): ContextError | undefined;
  view(): Promise<ServerToolView>;
  /**
   * Connects and lists the tools ahead of any request (start-up warmup). A failure here starts no
   * cool-down: the first request still tries, and reports, for itself.
   */
  warm(): Promise<void>;
  connection(): Promise<Connection>;
  call<T>(
    tool: string,
    args: Record<string, unknown>,
    options: CallOptions,
    onResult: (raw: unknown) => T | PromiseLike<T>,
    onError: (error: unknown) => T | PromiseLike<T>,
  ): Promise<T>;
  close(reason: CloseReason): Promise<void>;
}

/** How many tools a server may list before the listing stops (the rest could never be offered). */
const MAX_LISTED_TOOLS = 10_000;

/** The first cool-down; each further failure in a row doubles it, up to `coolDownMs`. */
const FIRST_COOL_DOWN_MS = 1_000;

/** How long a server is skipped after `failures` failures in a row: about a second, doubling to the cap. */
export function coolDownFor(failures: number, capMs: number): number {
  const first = Math.min(FIRST_COOL_DOWN_MS, capMs);
  return Math.min(capMs, first * 2 ** Math.min(30, Math.max(0, failures - 1)));
}

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
      Math.max(0, Math.ceil(deadline - performance.now())),
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

/**
 * The options of one `tools/call` within the call's deadline. Whole milliseconds: Node keeps one timer
 * list per distinct duration, and a fractional duration would create (and sort) a new list per call.
 * A plain function, not a per-call closure: this is the hot path of every tool call.
 */
function callOptions(options: CallOptions, deadline: number): { signal?: AbortSignal; timeoutMs: number } {
  const timeoutMs = Math.max(1, Math.ceil(deadline - performance.now()));
  return options.signal ? { signal: options.signal, timeoutMs } : { timeoutMs };
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
  /** Failures in a row; the first success resets it. */
  let failuresInRow = 0;
  /** A connect holds its permits (it is really connecting, not waiting for its turn). */
  let connecting = false;
  /** Listings running on a live connection. */
  let listingsRunning = 0;
  /** Aborted when the slot closes: a connect waiting for its turn gives up its place. */
  const closing = new AbortController();
  const stop = AbortSignal.any([deps.shutdown, closing.signal]);

  /** The tools of the last listing; the raw list itself is not kept (heap per connection). */
  let view: ServerToolView | undefined;
  /** Bumped by every tools/list_changed; a listing that started before a bump is stale when it ends. */
  let changes = 0;
  let listedAt = -1;
  let listing: Promise<ServerToolView> | undefined;

  const coolDown = (code: string, message: string): void => {
    failuresInRow++;
    failure = { until: deps.now() + coolDownFor(failuresInRow, limits.coolDownMs), code, message };
  };

  const closedError = (): McpServerSideError =>
    closedReason === "evicted"
      ? new McpServerSideError(
          "limit_exceeded",
          "the connection pool is full; this connection was closed before it was ready",
        )
      : new McpServerSideError(
          "connection_failed",
          closedReason === "removed"
            ? `the server '${server.name}' was removed`
            : closedReason === "changed"
              ? `the server '${server.name}' was changed`
              : closedReason === "idle"
                ? `the connection to '${server.name}' was closed as idle before it was ready`
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
      let release: Release | undefined;
      try {
        // Waiting for a turn is not connecting: the slot stays evictable, the deadline has not started.
        release = await deps.admit(server, stop);
        if (closedReason !== undefined) throw closedError();
        connecting = true;
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
        if (closedReason !== undefined) throw closedError();
        if (deps.shutdown.aborted) throw new McpServerSideError("connection_failed", "the MCP engine is closed");
        const failed = classifyConnectError(error);
        // A child that did not start in time is not retried: killing it and spawning another doubles
        // the load that made it slow.
        const retryable = failed.retryable && !(failed.code === "timeout" && isStdio(server.definition));
        if (attempt > 0 || !retryable) {
          throw new McpServerSideError(failed.code, failed.message, { cause: error });
        }
      } finally {
        connecting = false;
        release?.();
      }
      await sleep(limits.connectRetryDelayMs, stop);
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
        failuresInRow = 0;
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

  const buildView = (listed: readonly unknown[]): ServerToolView =>
    buildToolView({
      server: server.name,
      ref,
      definition: server.definition,
      tools: listed,
      namer: deps.namer,
      limits,
      hooks,
      call: (tool, args, options, onResult, onError) => slot.call(tool, args, options, onResult, onError),
      ...(logger ? { logger } : {}),
    });

  /** The view of a current tool list: listed once per connection and per tools/list_changed. */
  const listedTools = (): Promise<ServerToolView> => {
    if (view !== undefined && listedAt === changes && conn?.alive) return Promise.resolve(view);
    listing ??= (async () => {
      try {
        return await withConnection(async (live) => {
          const startedAt = changes;
          listingsRunning++;
          let listed: unknown[];
          try {
            listed = live.hasTools
              ? await live.listTools({
                  timeoutMs: limits.toolsTimeoutMs,
                  maxTools: MAX_LISTED_TOOLS,
                  maxPages: limits.maxToolListPages,
                })
              : [];
          } finally {
            listingsRunning--;
          }
          const built = buildView(listed);
          if (live === conn) {
            view = built;
            listedAt = startedAt;
          }
          return built;
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

  /** Ends a call's bookkeeping and hands its outcome on. */
  const finishCall = <V, T>(next: (value: V) => T, value: V): T => {
    activeCalls--;
    slot.lastUsed = deps.now();
    return next(value);
  };

  /** A call that needs a connection first (none yet, or the previous one broke), within the call's deadline. */
  const callOnNewConnection = async (
    tool: string,
    args: Record<string, unknown>,
    options: CallOptions,
    deadline: number,
  ): Promise<unknown> => {
    const live = await within(connection(), deadline, options.timeoutMs, options.signal);
    return live.callTool(tool, args, callOptions(options, deadline));
  };

  const slot: Slot = {
    key,
    server,
    ref,
    lastUsed: deps.now(),
    get busy() {
      return activeCalls > 0 || connecting || listingsRunning > 0;
    },
    get connected() {
      return conn?.alive === true;
    },
    get closed() {
      return closedReason !== undefined;
    },

    readyView() {
      return view !== undefined && listedAt === changes && conn?.alive ? view : undefined;
    },

    coolingDown(now) {
      if (failure === undefined || now >= failure.until || conn?.alive) return undefined;
      return {
        code: "cooling_down",
        server: server.name,
        message: `skipped after a recent failure (${failure.code}: ${failure.message})`,
      };
    },

    view: () => listedTools(),

    async warm() {
      try {
        await listedTools();
      } catch (error) {
        failure = undefined;
        failuresInRow = 0;
        throw error;
      }
    },

    connection,

    call(tool, args, options, onResult, onError) {
      // A tool set held past an idle eviction still works: the call goes to the server's current slot.
      if (closedReason === "idle" || closedReason === "evicted") {
        return deps.replacement(server).call(tool, args, options, onResult, onError);
      }
      if (closedReason !== undefined) return Promise.reject(closedError()).then(undefined, onError);
      const deadline = performance.now() + options.timeoutMs;
      activeCalls++;
      slot.lastUsed = deps.now();
      const live = conn?.alive ? conn : undefined;
      if (live === undefined) {
        return callOnNewConnection(tool, args, options, deadline).then(
          (raw) => finishCall(onResult, raw),
          (error: unknown) => finishCall(onError, error),
        );
      }
      // The warm path: the caller's callbacks are the one reaction to the SDK's promise, and nothing
      // here allocates a named closure per call.
      return live.callTool(tool, args, callOptions(options, deadline)).then(
        (raw) => finishCall(onResult, raw),
        (error: unknown) => {
          if (isConnectionBroken(error)) markLost(live);
          if (!isRetrySafe(error) || closedReason !== undefined || options.signal?.aborted)
            return finishCall(onError, error);
          return callOnNewConnection(tool, args, options, deadline).then(
            (raw) => finishCall(onResult, raw),
            (retryError: unknown) => finishCall(onError, retryError),
          );
        },
      );
    },

    async close(reason) {
      if (closedReason !== undefined) return;
      closedReason = reason;
      closing.abort(closedError());
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
