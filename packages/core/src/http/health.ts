import type { ServerDefinition } from "../config/schema.js";
import { isEnabled } from "../config/schema.js";
import type { Registry } from "../registry/registry.js";
import type { SlotState } from "../telemetry/telemetry.js";
import { raceDeadline } from "../util/deadline.js";
import { jsonResponse } from "./problem.js";

/**
 * `GET {basePath}/_health` (SPEC §4): a readiness report for operators and load balancers. The
 * segment starts with `_`, which no server name can, so it never hides a server's `GET /:name`.
 * Ready (200) means started and the store answers; a failing MCP server is reported but does not
 * make the instance unready, since every other server and the app's own routes still work. 503 otherwise.
 */

export interface HealthOptions {
  /**
   * Answers without an identity, for a readiness probe that has no API key. The report names the
   * config and global servers and their states, no definitions. @default false (admins only)
   */
  public?: boolean;
}

export interface HealthDeps {
  options: HealthOptions;
  /** Pings the store; rejects when it does not answer. */
  pingStore: () => Promise<void>;
  /** Whether start-up (store checks, the subscription) finished: undefined while it runs. */
  started: () => "ok" | "failed" | undefined;
  registry: Registry;
  config: ReadonlyMap<string, ServerDefinition>;
  states: () => SlotState[];
  maxConnections: number;
  now: () => number;
}

/** The state of one config or global server in the report. */
export interface ServerHealth {
  name: string;
  source: "config" | "global";
  state: "connected" | "connecting" | "cooling_down" | "idle" | "disabled";
  /** While cooling down: the failure's code and when it is tried again (ISO 8601). */
  code?: string;
  retryAt?: string;
}

/** A store that has not answered within this long counts as unreachable (a probe must answer quickly). */
const STORE_PING_TIMEOUT_MS = 2_000;

function within<T>(work: Promise<T>, ms: number): Promise<T> {
  return raceDeadline(work, ms, undefined, () => {
    throw new Error("timed out");
  });
}

export async function healthResponse(deps: HealthDeps): Promise<Response> {
  const [store, global] = await Promise.all([
    within(deps.pingStore(), STORE_PING_TIMEOUT_MS).then(
      () => true,
      () => false,
    ),
    within(deps.registry.servers({ kind: "global" }), STORE_PING_TIMEOUT_MS).then(
      (snapshot) => snapshot.definitions,
      () => new Map<string, ServerDefinition>(),
    ),
  ]);
  const started = deps.started();
  // Shared slots only (no scope, no user): a tenant's or a user's connections are not the instance's health.
  const states = deps.states();
  const stateOf = (name: string, source: "config" | "global"): SlotState | undefined =>
    states.find((slot) => slot.server.name === name && slot.server.source === source);
  const servers: ServerHealth[] = [];
  const add = (name: string, source: "config" | "global", definition: ServerDefinition): void => {
    if (!isEnabled(definition)) {
      servers.push({ name, source, state: "disabled" });
      return;
    }
    const slot = stateOf(name, source);
    const entry: ServerHealth = { name, source, state: slot?.state ?? "idle" };
    if (slot?.code !== undefined) entry.code = slot.code;
    if (slot?.retryAt !== undefined) entry.retryAt = new Date(slot.retryAt).toISOString();
    servers.push(entry);
  };
  for (const [name, definition] of deps.config) add(name, "config", definition);
  for (const [name, definition] of global) if (!deps.config.has(name)) add(name, "global", definition);
  const ready = store && started === "ok";
  return jsonResponse(
    {
      status: ready ? "ready" : "unavailable",
      started: started ?? "starting",
      store: { reachable: store },
      pool: { connections: states.length, maxConnections: deps.maxConnections },
      servers,
    },
    ready ? 200 : 503,
    { "cache-control": "no-store" },
  );
}
