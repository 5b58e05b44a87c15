import { isStdio } from "../config/schema.js";
import { McpServerSideError } from "../errors.js";
import { type HookServerRef, INSTANCE_ORIGIN, type McpHookable, type McpHooks } from "../hooks.js";
import type { Logger } from "../options.js";
import type { ContextError, ResolvedServer } from "../types.js";
import { classifyConnectError, isConnectionBroken } from "./classify.js";
import { type Connection, openConnection } from "./connection.js";
import type { Release } from "./gate.js";
import type { CloseReason, SlotDeps } from "./slot.js";
import { sleep } from "../util/deadline.js";

/**
 * The connection lifecycle of one pool slot: it opens the connection once for all concurrent callers
 * (single flight) after its turn (`admit`), retries a failed connect once, backs off after failures
 * (about a second, doubling up to `coolDownMs`, ended by the first success), forgets a connection
 * that broke so that the next use opens a new one, and closes.
 */

export interface LifecycleEvents {
  /** A new connection is open (a new session may come with a new tool list). */
  onOpened(): void;
  /** The current connection's server sent `notifications/tools/list_changed`. */
  onToolsChanged(): void;
}

export interface Lifecycle {
  /** The live connection, if any: the warm path uses it without a promise. */
  readonly current: Connection | undefined;
  /** A connect holds its permits (it is really connecting, not waiting for its turn). */
  readonly connecting: boolean;
  readonly closedReason: CloseReason | undefined;
  /** The live connection, or a single-flight connect; `cooling_down` while backing off. */
  connection(): Promise<Connection>;
  /**
   * Runs an idempotent request on a live connection; when the connection turns out broken (a session
   * the server forgot, a socket it closed), once more on a new one.
   */
  withConnection<T>(use: (connection: Connection) => Promise<T>): Promise<T>;
  /** Forget a broken connection so that the next use opens a new one. */
  markLost(lost: Connection): void;
  /** Starts (or lengthens) the back-off after a failure. */
  coolDown(code: string, message: string): void;
  /** Ends the back-off (a failure that should not count, such as one of the start-up warmup). */
  forgetFailure(): void;
  /** A `cooling_down` error while the server is skipped. */
  coolingDown(now: number): ContextError | undefined;
  /** The failure's code and retry time while the server is skipped (health, the pool gauge). */
  cooling(now: number): { code: string; until: number } | undefined;
  /** The error for a use after close, by close reason. */
  closedError(): McpServerSideError;
  close(reason: CloseReason): Promise<void>;
}

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

/** The one wording of a skipped server, for the error a use gets and the one a request reports. */
function coolingMessage(failure: Failure): string {
  return `skipped after a recent failure (${failure.code}: ${failure.message})`;
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

export function createLifecycle(
  server: ResolvedServer,
  ref: HookServerRef,
  deps: SlotDeps,
  events: LifecycleEvents,
): Lifecycle {
  const { limits, hooks, logger } = deps;
  let conn: Connection | undefined;
  let opening: Promise<Connection> | undefined;
  let failure: Failure | undefined;
  /** Failures in a row; the first success resets it. */
  let failuresInRow = 0;
  let connecting = false;
  let closedReason: CloseReason | undefined;
  /** Aborted when the slot closes: a connect waiting for its turn gives up its place. */
  const closing = new AbortController();
  const stop = AbortSignal.any([deps.shutdown, closing.signal]);

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

  const markLost = (lost: Connection): void => {
    if (conn !== lost) return;
    conn = undefined;
    lost.retire();
  };

  const coolDown = (code: string, message: string): void => {
    failuresInRow++;
    failure = { until: deps.now() + coolDownFor(failuresInRow, limits.coolDownMs), code, message };
    deps.telemetry?.coolDown(server, code);
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
        opened = await openConnection({
          server,
          fetch: deps.fetchFor(server),
          timeoutMs: limits.connectTimeoutMs,
          signal: deps.shutdown,
          maxStdioMessageBytes: deps.maxStdioMessageBytes,
          ...(logger ? { logger } : {}),
          ...(deps.telemetry ? { telemetry: deps.telemetry } : {}),
          events: {
            onToolsChanged: () => {
              if (opened !== undefined && opened === conn) events.onToolsChanged();
            },
            onLost: () => {
              if (opened === undefined || opened !== conn) return;
              logger?.warn(
                `mcp-server-side: ${server.name}: the connection closed; it will be re-initialized on next use`,
              );
              markLost(opened);
              fireHook(hooks, logger, "connection:close", { ...INSTANCE_ORIGIN, server: ref, reason: "error" });
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
      return Promise.reject(new McpServerSideError("cooling_down", coolingMessage(failure)));
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
        events.onOpened();
        fireHook(hooks, logger, "connection:open", {
          ...INSTANCE_ORIGIN,
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

  return {
    get current() {
      return conn?.alive ? conn : undefined;
    },
    get connecting() {
      return connecting;
    },
    get closedReason() {
      return closedReason;
    },
    connection,
    async withConnection(use) {
      const first = await connection();
      try {
        return await use(first);
      } catch (error) {
        if (!isConnectionBroken(error) || closedReason !== undefined) throw error;
        markLost(first);
        return use(await connection());
      }
    },
    markLost,
    coolDown,
    forgetFailure() {
      failure = undefined;
      failuresInRow = 0;
    },
    coolingDown(now) {
      if (failure === undefined || now >= failure.until || conn?.alive) return undefined;
      return { code: "cooling_down", server: server.name, message: coolingMessage(failure) };
    },
    cooling(now) {
      if (failure === undefined || now >= failure.until || conn?.alive) return undefined;
      return { code: failure.code, until: failure.until };
    },
    closedError,
    async close(reason) {
      if (closedReason !== undefined) return;
      closedReason = reason;
      closing.abort(closedError());
      const open = conn;
      conn = undefined;
      const pending = opening;
      if (open) {
        await open.close();
        fireHook(hooks, logger, "connection:close", { ...INSTANCE_ORIGIN, server: ref, reason });
      }
      // A connect still in flight closes what it opens (it sees closedReason); wait for it.
      if (pending) await pending.catch(() => undefined);
    },
  };
}
