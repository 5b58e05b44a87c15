import type { ToolSet } from "ai";
import { McpServerSideError } from "../errors.js";
import { type HookOrigin, INSTANCE_ORIGIN, type McpHookable } from "../hooks.js";
import type { Limits, Logger } from "../options.js";
import { DEFAULT_MAX_RESPONSE_BYTES } from "../security/guarded-fetch.js";
import { type ServerToolView, summarizeTools } from "../tools/convert.js";
import { joinInstructions, serverInstructions } from "../tools/instructions.js";
import { createToolSetMerger } from "../tools/merge.js";
import { createToolNamer } from "../tools/naming.js";
import type { SlotState, Telemetry } from "../telemetry/telemetry.js";
import type { ContextError, ResolvedServer, Tier, ToolsOptions } from "../types.js";
import { classifyConnectError, type ConnectFailureCode } from "./classify.js";
import { type Connection, openConnection } from "./connection.js";
import { createPool } from "./pool.js";
import { fireHook } from "./lifecycle.js";
import type { Slot } from "./slot.js";
import { raceDeadline } from "../util/deadline.js";

/**
 * The injection engine (SPEC §5): pooled connections to MCP servers and their tools as AI SDK tools.
 * The request context resolves which servers a request gets; the engine connects to them, keeps the
 * connections, and builds the request's `ToolSet`. A warm request does no I/O and no conversion: it
 * copies the cached tools of each server into a new object.
 */

export interface EngineDeps {
  limits: Limits;
  /** `connection:*` and `tool:*` hooks are called from here; `tools:resolved` by the request context. */
  hooks: McpHookable;
  /** Already sanitizing. */
  logger?: Logger;
  /** Names the AI SDK tool of a server's tool; the result is still made provider-safe and unique. @default `${server}__${tool}` */
  toolName?: (server: string, tool: string) => string;
  /** The fetch for a server's HTTP transport: SSRF-guarded for tenant tiers, the global fetch for config. */
  fetchFor: (server: ResolvedServer) => typeof fetch;
  /** Largest JSON-RPC message accepted from a stdio server. @default 16 MiB, or 4 × maxToolResultBytes when larger */
  maxStdioMessageBytes?: number;
  /** Clock for idle eviction and cool-downs. @default Date.now */
  now?: () => number;
  /** Spans and metrics (absent without OpenTelemetry). */
  telemetry?: Telemetry;
  /**
   * A server's tools just arrived for a request (not when they were ready): tool pinning fingerprints
   * them here, while the other servers are still answering.
   */
  toolsArrived?: (server: ResolvedServer, view: ServerToolView) => void;
}

export type TestResult =
  | { ok: true; tools: { name: string; description?: string }[]; latencyMs: number }
  | { ok: false; error: { code: ConnectFailureCode; message: string } };

export interface ListedTool {
  name: string;
  toolName: string;
  description?: string;
  inputSchema: unknown;
}

/** What makes a request's hook origin when a failure needs it (a warm request makes none). */
export interface OriginMaker {
  hookOrigin(): HookOrigin;
}

/** A request's hook origin, or its maker. */
export type OriginSource = HookOrigin | OriginMaker;

export interface Engine {
  /**
   * Tools of all servers within options.timeoutMs (default limits.toolsTimeoutMs); failures pushed to
   * errors (sanitized), never thrown. The set itself, no promise, when every server had its tools
   * ready (the warm path).
   */
  tools(
    servers: ResolvedServer[],
    errors: ContextError[],
    options?: ToolsOptions,
    origin?: OriginSource,
  ): ToolSet | Promise<ToolSet>;
  /** The servers' initialize `instructions`, each capped and headed by the server's name. Never throws. */
  instructions(servers: ResolvedServer[], errors: ContextError[], origin?: OriginSource): Promise<string>;
  /** For GET /:name/tools: the tools after allow/deny as the model sees them; throws McpServerSideError("upstream_error"). */
  listTools(server: ResolvedServer, origin?: HookOrigin): Promise<ListedTool[]>;
  /**
   * For POST /test: connect without pooling, list tools, close. Failures of the server are results;
   * it throws only `limit_exceeded` (429) when the caller's scope already runs `maxConcurrentTestsPerScope` tests.
   */
  test(server: ResolvedServer): Promise<TestResult>;
  /**
   * Connects the given (config) servers and lists their tools into the pool, so that the first
   * request finds them warm. Resolves when every one connected or failed; never throws.
   */
  warmup(servers: ResolvedServer[]): Promise<ContextError[]>;
  /** Close pooled connections of a server whose definition changed or was removed (scope undefined = config/global). */
  evict(match: { source: Tier; scope?: string; name: string }, reason: "changed" | "removed"): Promise<void>;
  /** Every pooled connection's state (the health route). */
  states(): SlotState[];
  close(): Promise<void>;
}

/** A request-context error, once per (code, server, tool): tools() and instructions() may both report a server. */
function pushError(errors: ContextError[], error: ContextError): void {
  for (const existing of errors) {
    if (existing.code === error.code && existing.server === error.server && existing.tool === error.tool) return;
  }
  errors.push(error);
}

/** The views of the servers that answered; the array itself when all did (the warm path). */
function present(views: (ServerToolView | undefined)[]): ServerToolView[] {
  if (!views.includes(undefined)) return views as ServerToolView[];
  return views.filter((view): view is ServerToolView => view !== undefined);
}

function failureOf(error: unknown): { code: string; message: string } {
  if (McpServerSideError.isInstance(error)) return { code: error.code, message: error.message };
  return classifyConnectError(error);
}

export function createEngine(deps: EngineDeps): Engine {
  const { limits, hooks, logger } = deps;
  const now = deps.now ?? Date.now;
  const shutdown = new AbortController();
  const merger = createToolSetMerger();
  const maxStdioMessageBytes =
    deps.maxStdioMessageBytes ?? Math.max(DEFAULT_MAX_RESPONSE_BYTES, 4 * limits.maxToolResultBytes);
  const pool = createPool({
    limits,
    hooks,
    ...(logger ? { logger } : {}),
    namer: createToolNamer(deps.toolName),
    fetchFor: deps.fetchFor,
    now,
    shutdown: shutdown.signal,
    maxStdioMessageBytes,
    ...(deps.telemetry ? { telemetry: deps.telemetry } : {}),
  });
  deps.telemetry?.observePool(() => pool.states());

  /** Records a server's failure for the request and tells the `connection:error` hook. */
  const report = (
    errors: ContextError[],
    server: ResolvedServer,
    failure: { code: string; message: string },
    source: OriginSource = INSTANCE_ORIGIN,
  ): void => {
    pushError(errors, { code: failure.code, server: server.name, message: failure.message });
    const origin = "hookOrigin" in source ? source.hookOrigin() : source;
    // A server in cool-down is reported on every request; the failure itself was logged as a warning.
    const request = origin.requestId === undefined ? "" : ` [${origin.requestId}]`;
    const line = `mcp-server-side:${request} ${server.name}: ${failure.code}: ${failure.message}`;
    if (failure.code === "cooling_down") logger?.debug(line);
    else logger?.warn(line);
    deps.telemetry?.error(server, failure.code);
    fireHook(hooks, logger, "connection:error", {
      ...origin,
      server: {
        name: server.name,
        source: server.source,
        ...(server.scope === undefined ? {} : { scope: server.scope }),
      },
      code: failure.code,
      message: failure.message,
    });
  };

  /**
   * For each server, `ready(slot)` when it answers synchronously, else `load(slot)` within the
   * budget. Servers that fail, cool down or do not answer in time are reported and left out. When
   * every server answered synchronously (the warm path) the results come back as they are, no promise.
   */
  const collect = <T>(
    servers: ResolvedServer[],
    errors: ContextError[],
    timeoutMs: number,
    signal: AbortSignal | undefined,
    ready: (slot: Slot) => T | undefined,
    load: (slot: Slot) => Promise<T>,
    origin: OriginSource = INSTANCE_ORIGIN,
  ): (T | undefined)[] | Promise<(T | undefined)[]> => {
    const results = new Array<T | undefined>(servers.length);
    let failures: unknown[] | undefined;
    let pending: number[] | undefined;
    let work: Promise<void>[] | undefined;
    const at = now();
    for (let index = 0; index < servers.length; index++) {
      const server = servers[index]!;
      let slot: Slot;
      try {
        slot = pool.slotFor(server);
      } catch (error) {
        report(errors, server, failureOf(error), origin);
        continue;
      }
      slot.lastUsed = at;
      const value = ready(slot);
      if (value !== undefined) {
        results[index] = value;
        continue;
      }
      const cooling = slot.coolingDown(at);
      if (cooling !== undefined) {
        report(errors, server, cooling, origin);
        continue;
      }
      pending ??= [];
      work ??= [];
      pending.push(index);
      work.push(
        load(slot).then(
          (loaded) => {
            results[index] = loaded;
          },
          (error: unknown) => {
            failures ??= [];
            failures[index] = error;
          },
        ),
      );
    }
    if (work === undefined || pending === undefined) return results;
    const waiting = work;
    const loading = pending;
    return (async () => {
      // Resolves either way: work that lost the race goes on and fills the pool for later requests.
      await raceDeadline(Promise.all(waiting), timeoutMs, signal, () => undefined);
      const answered = [...results];
      for (const index of loading) {
        if (answered[index] !== undefined) continue;
        const server = servers[index]!;
        if (failures?.[index] !== undefined) report(errors, server, failureOf(failures[index]), origin);
        else if (signal?.aborted)
          pushError(errors, {
            code: "aborted",
            server: server.name,
            message: "collecting this server's tools was aborted",
          });
        else
          report(
            errors,
            server,
            { code: "timeout", message: `the MCP server did not answer within ${timeoutMs} ms` },
            origin,
          );
      }
      return answered;
    })();
  };

  /** One POST /test run: connect (after its spawn turn), list within one budget, close. */
  const testOnce = async (server: ResolvedServer): Promise<TestResult> => {
    let connection: Connection | undefined;
    let spawnTurn: () => void;
    try {
      spawnTurn = await pool.admitSpawn(server, shutdown.signal);
    } catch {
      return { ok: false, error: { code: "connection_failed", message: "the MCP engine is closed" } };
    }
    const started = performance.now();
    try {
      connection = await openConnection({
        server,
        fetch: deps.fetchFor(server),
        timeoutMs: limits.connectTimeoutMs,
        signal: shutdown.signal,
        maxStdioMessageBytes,
        ...(logger ? { logger } : {}),
        ...(deps.telemetry ? { telemetry: deps.telemetry } : {}),
        events: { onToolsChanged: () => undefined, onLost: () => undefined },
      });
    } catch (error) {
      const failure = classifyConnectError(error);
      return { ok: false, error: { code: failure.code, message: failure.message } };
    } finally {
      spawnTurn();
    }
    try {
      // One budget for the whole listing, however many pages the server sends.
      const listed = connection.hasTools
        ? await connection.listTools({
            timeoutMs: limits.toolsTimeoutMs,
            maxTools: 10_000,
            maxPages: limits.maxToolListPages,
          })
        : [];
      // Credentials masked, names and descriptions capped: the one rule of tools/convert.ts.
      const tools = summarizeTools(listed, server.definition);
      return { ok: true, tools, latencyMs: Math.round(performance.now() - started) };
    } catch (error) {
      const timedOut = classifyConnectError(error).code === "timeout";
      return {
        ok: false,
        error: timedOut
          ? { code: "timeout", message: "the MCP server did not list its tools in time" }
          : { code: "connection_failed", message: "the MCP server connected but failed to list its tools" },
      };
    } finally {
      await connection.close();
    }
  };

  const arrived = deps.toolsArrived;
  const loadView =
    arrived === undefined
      ? (slot: Slot) => slot.view()
      : (slot: Slot) =>
          slot.view().then((view) => {
            arrived(slot.server, view);
            return view;
          });

  const readyView = (slot: Slot): ServerToolView | undefined => slot.readyView();

  /**
   * Every server's tool view when each one's slot has it ready (the warm path: no closure, no promise),
   * else undefined and `collect` does the work, reporting what fails.
   */
  const readyViews = (servers: ResolvedServer[]): ServerToolView[] | undefined => {
    const views = new Array<ServerToolView>(servers.length);
    const at = now();
    for (let index = 0; index < servers.length; index++) {
      let slot: Slot;
      try {
        slot = pool.slotFor(servers[index]!);
      } catch {
        return undefined;
      }
      const view = slot.readyView();
      if (view === undefined) return undefined;
      slot.lastUsed = at;
      views[index] = view;
    }
    return views;
  };

  return {
    tools(servers, errors, options, origin) {
      const ready = readyViews(servers);
      if (ready !== undefined) return merger.merge(ready, errors);
      const views = collect<ServerToolView>(
        servers,
        errors,
        options?.timeoutMs ?? limits.toolsTimeoutMs,
        options?.signal,
        readyView,
        loadView,
        origin,
      );
      if (Array.isArray(views)) return merger.merge(present(views), errors);
      return views.then((collected) => merger.merge(present(collected), errors));
    },

    async instructions(servers, errors, origin) {
      const connections = await collect<Connection>(
        servers,
        errors,
        limits.toolsTimeoutMs,
        undefined,
        () => undefined,
        (slot) => slot.connection(),
        origin,
      );
      const entries: { server: string; instructions: string }[] = [];
      connections.forEach((connection, index) => {
        const text = connection?.instructions;
        if (typeof text === "string" && text.trim() !== "") {
          entries.push({
            server: servers[index]!.name,
            instructions: serverInstructions(text, servers[index]!.definition, limits.maxInstructionsBytes),
          });
        }
      });
      return joinInstructions(entries);
    },

    async listTools(server, origin) {
      const errors: ContextError[] = [];
      const [view] = await collect<ServerToolView>(
        [server],
        errors,
        limits.toolsTimeoutMs,
        undefined,
        (slot) => slot.readyView(),
        (slot) => slot.view(),
        origin,
      );
      if (view === undefined) {
        const reason = errors.find((error) => error.server === server.name);
        throw new McpServerSideError(
          "upstream_error",
          `the MCP server '${server.name}' is unavailable${reason ? `: ${reason.code}: ${reason.message}` : ""}`,
        );
      }
      return view.entries.map((entry) => ({
        name: entry.name,
        toolName: entry.toolName,
        ...(entry.description === undefined ? {} : { description: entry.description }),
        inputSchema: entry.inputSchema,
      }));
    },

    async test(server) {
      const release = pool.admitTest(server);
      try {
        return await testOnce(server);
      } finally {
        release();
      }
    },

    async warmup(servers) {
      const errors: ContextError[] = [];
      // Per-user (OAuth) connections need a user; they start on that user's first request.
      const shared = servers.filter((server) => server.definition.auth?.type !== "oauth2");
      await Promise.allSettled(
        shared.map(async (server) => {
          try {
            const slot = pool.slotFor(server);
            await slot.warm();
            // What a request's load would do on arrival (pin fingerprints), done now, off the first request.
            const view = slot.readyView();
            if (arrived !== undefined && view !== undefined) arrived(server, view);
          } catch (error) {
            report(errors, server, failureOf(error));
          }
        }),
      );
      return errors;
    },

    evict: (match, reason) => pool.evict(match, reason),

    states: () => pool.states(),

    async close() {
      shutdown.abort();
      await pool.close();
    },
  };
}
