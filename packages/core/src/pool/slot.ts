import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { McpServerSideError } from "../errors.js";
import type { HookServerRef, McpHookable } from "../hooks.js";
import type { Limits, Logger } from "../options.js";
import type { CallOptions, ToolCaller } from "../tools/call.js";
import { buildToolView, type ServerToolView } from "../tools/convert.js";
import type { ToolNamer } from "../tools/naming.js";
import type { SlotState, Telemetry } from "../telemetry/telemetry.js";
import type { ContextError, ResolvedServer } from "../types.js";
import { isConnectionBroken, isRetrySafe } from "./classify.js";
import type { Connection } from "./connection.js";
import type { Release } from "./gate.js";
import { createLifecycle } from "./lifecycle.js";
import { createToolList } from "./tool-list.js";
import { raceDeadline } from "../util/deadline.js";

/**
 * A pool slot: everything the engine keeps for one server as one caller group sees it (one pool key).
 * It is three parts: the connection's lifecycle (single-flight connect, one retry, back-off,
 * re-initializing a lost session — `lifecycle.ts`), the tool-list cache (`tool-list.ts`), and the
 * tool call below, whose warm path goes straight to the live connection.
 */

export type CloseReason = "idle" | "changed" | "removed" | "evicted" | "shutdown" | "error";

export interface SlotDeps {
  limits: Limits;
  hooks: McpHookable;
  logger?: Logger;
  namer: ToolNamer;
  fetchFor: (server: ResolvedServer) => FetchLike;
  now: () => number;
  /** Aborted when the engine closes: pending connects stop at once. */
  shutdown: AbortSignal;
  maxStdioMessageBytes: number;
  /** Spans and metrics (absent without OpenTelemetry). */
  telemetry?: Telemetry;
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
  /** What health and the pool gauge report for this slot. */
  state(now: number): SlotState;
  view(): Promise<ServerToolView>;
  /**
   * Connects and lists the tools ahead of any request (start-up warmup). A failure here starts no
   * cool-down: the first request still tries, and reports, for itself.
   */
  warm(): Promise<void>;
  connection(): Promise<Connection>;
  /** A `tools/call` on this slot's server (see `ToolCaller`). */
  call: ToolCaller;
  close(reason: CloseReason): Promise<void>;
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
  let activeCalls = 0;

  const lifecycle = createLifecycle(server, ref, deps, {
    onOpened: () => tools.stale(),
    onToolsChanged: () => tools.changed(),
  });
  const tools = createToolList(lifecycle, limits, (listed) =>
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
    }),
  );

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
    const live = await raceDeadline(lifecycle.connection(), deadline - performance.now(), options.signal, (why) => {
      throw why === "aborted"
        ? options.signal?.reason
        : new McpServerSideError("timeout", `the tool call did not finish within ${options.timeoutMs} ms`);
    });
    return live.callTool(tool, args, callOptions(options, deadline));
  };

  const slot: Slot = {
    key,
    server,
    ref,
    lastUsed: deps.now(),
    get busy() {
      return activeCalls > 0 || lifecycle.connecting || tools.running > 0;
    },
    get connected() {
      return lifecycle.current !== undefined;
    },
    get closed() {
      return lifecycle.closedReason !== undefined;
    },

    readyView: () => tools.ready(),

    coolingDown: (now) => lifecycle.coolingDown(now),

    state(now) {
      if (lifecycle.current !== undefined) return { server, state: "connected" };
      if (lifecycle.connecting) return { server, state: "connecting" };
      const cooling = lifecycle.cooling(now);
      if (cooling !== undefined) return { server, state: "cooling_down", code: cooling.code, retryAt: cooling.until };
      return { server, state: "idle" };
    },

    view: () => tools.view(),

    async warm() {
      try {
        await tools.view();
      } catch (error) {
        lifecycle.forgetFailure();
        throw error;
      }
    },

    connection: () => lifecycle.connection(),

    call(tool, args, options, onResult, onError) {
      const closedReason = lifecycle.closedReason;
      // A tool set held past an idle eviction still works: the call goes to the server's current slot.
      if (closedReason === "idle" || closedReason === "evicted") {
        return deps.replacement(server).call(tool, args, options, onResult, onError);
      }
      if (closedReason !== undefined) return Promise.reject(lifecycle.closedError()).then(undefined, onError);
      const deadline = performance.now() + options.timeoutMs;
      activeCalls++;
      slot.lastUsed = deps.now();
      const live = lifecycle.current;
      if (live === undefined) {
        return callOnNewConnection(tool, args, options, deadline).then(
          (raw) => finishCall(onResult, raw),
          (error: unknown) => finishCall(onError, error),
        );
      }
      // The warm path: the caller's callbacks are the one reaction to the SDK's promise, and nothing
      // here allocates a named closure per call. Unlike a listing (lifecycle.withConnection), a call
      // is sent again only when it provably never ran.
      return live.callTool(tool, args, callOptions(options, deadline)).then(
        (raw) => finishCall(onResult, raw),
        (error: unknown) => {
          if (isConnectionBroken(error)) lifecycle.markLost(live);
          if (!isRetrySafe(error) || lifecycle.closedReason !== undefined || options.signal?.aborted)
            return finishCall(onError, error);
          return callOnNewConnection(tool, args, options, deadline).then(
            (raw) => finishCall(onResult, raw),
            (retryError: unknown) => finishCall(onError, retryError),
          );
        },
      );
    },

    close: (reason) => lifecycle.close(reason),
  };
  return slot;
}
