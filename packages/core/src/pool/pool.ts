import { McpServerSideError } from "../errors.js";
import type { SlotState } from "../telemetry/telemetry.js";
import type { ResolvedServer, Tier } from "../types.js";
import { isStdio } from "../config/schema.js";
import { createGate, createGateMap, type Release } from "./gate.js";
import { connectionKey, connectionParty, connectionScope } from "./key.js";
import { type CloseReason, createSlot, type Slot, type SlotDeps } from "./slot.js";

/**
 * The connection pool (SPEC §5): one slot per pool key, at most `maxConnections` of them; slots
 * unused for `idleTimeoutMs` are closed by a sweep, and evicting a server (its definition changed or
 * was removed) closes all its slots.
 *
 * Fairness (SPEC §9): each scope (the anonymous caller is one) holds at most `maxConnectionsPerScope`
 * slots and runs at most `maxConcurrentConnectsPerScope` connects at once; the rest wait their turn
 * without counting as busy. A full pool evicts an idle slot of the scope that holds the most, never a
 * shared (config or global) one. So servers that accept TCP and never answer cost their own scope a
 * few connects, and a scope over its cap gets `limit_exceeded` for itself alone.
 */

export interface Pool {
  /** The slot for a server, created (not yet connected) when missing; throws `limit_exceeded` when its scope or the pool is full of busy slots. */
  slotFor(server: ResolvedServer): Slot;
  /** A permit for one `POST /test` run of the server's scope, or `limit_exceeded`. */
  admitTest(server: ResolvedServer): Release;
  /** Waits for the permits an unpooled connect needs (the spawn cap for stdio). */
  admitSpawn(server: ResolvedServer, signal: AbortSignal): Promise<Release>;
  evict(match: { source: Tier; scope?: string; name: string }, reason: "changed" | "removed"): Promise<void>;
  close(): Promise<void>;
  readonly size: number;
  /** Every slot's state (health, the pool gauge). */
  states(): SlotState[];
}

export type PoolDeps = Omit<SlotDeps, "replacement" | "admit">;

/** The sweep runs at half the idle timeout, within these bounds. */
const MIN_SWEEP_MS = 50;
const MAX_SWEEP_MS = 60_000;

export function createPool(deps: PoolDeps): Pool {
  const { limits } = deps;
  const slots = new Map<string, Slot>();
  /** Slots per party (see connectionParty); shared slots have no party and are not counted. */
  const held = new Map<string, number>();
  const parties = new WeakMap<Slot, string>();
  const connects = createGateMap(limits.maxConcurrentConnectsPerScope);
  const tests = createGateMap(limits.maxConcurrentTestsPerScope);
  const spawns = createGate(limits.maxConcurrentSpawns);
  let sweeper: ReturnType<typeof setInterval> | undefined;
  let closed = false;

  const remove = (slot: Slot, reason: CloseReason): Promise<void> => {
    if (slots.get(slot.key) === slot) {
      slots.delete(slot.key);
      const party = parties.get(slot);
      if (party !== undefined) {
        const count = (held.get(party) ?? 1) - 1;
        if (count <= 0) held.delete(party);
        else held.set(party, count);
      }
    }
    if (slots.size === 0) stopSweeping();
    return slot.close(reason);
  };

  const sweep = (): void => {
    const now = deps.now();
    for (const slot of slots.values()) {
      if (!slot.busy && now - slot.lastUsed >= limits.idleTimeoutMs && slot.coolingDown(now) === undefined) {
        void remove(slot, "idle");
      }
    }
  };

  const startSweeping = (): void => {
    if (sweeper !== undefined || limits.idleTimeoutMs <= 0 || !Number.isFinite(limits.idleTimeoutMs)) return;
    sweeper = setInterval(sweep, Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, limits.idleTimeoutMs / 2)));
    // The sweep must not keep a process alive that has nothing else to do.
    sweeper.unref?.();
  };

  function stopSweeping(): void {
    if (sweeper !== undefined) clearInterval(sweeper);
    sweeper = undefined;
  }

  /**
   * The idle slot to close for room: only slots that count against a party (shared ones stay), of
   * the party holding the most (`only` restricts it to one), unconnected before connected, least
   * recently used first.
   */
  const victimOf = (only: string | undefined): Slot | undefined => {
    let victim: Slot | undefined;
    let victimHeld = 0;
    for (const slot of slots.values()) {
      const party = parties.get(slot);
      if (party === undefined || slot.busy || (only !== undefined && party !== only)) continue;
      const count = held.get(party) ?? 0;
      if (
        victim === undefined ||
        count > victimHeld ||
        (count === victimHeld &&
          ((victim.connected && !slot.connected) ||
            (victim.connected === slot.connected && slot.lastUsed < victim.lastUsed)))
      ) {
        victim = slot;
        victimHeld = count;
      }
    }
    return victim;
  };

  /** Makes room for one more slot of `party`: first within the party's own cap, then within the pool. */
  const makeRoom = (party: string | undefined): void => {
    if (party !== undefined && (held.get(party) ?? 0) >= limits.maxConnectionsPerScope) {
      const own = victimOf(party);
      if (own === undefined) {
        throw new McpServerSideError(
          "limit_exceeded",
          `this scope holds its maximum of connections (maxConnectionsPerScope: ${limits.maxConnectionsPerScope}) and every one is busy`,
          { status: 429 },
        );
      }
      void remove(own, "evicted");
    }
    if (slots.size < limits.maxConnections) return;
    const victim = victimOf(undefined);
    if (victim !== undefined) {
      void remove(victim, "evicted");
      return;
    }
    // Shared servers are the operator's and bounded by the config: they get their slot regardless.
    if (party === undefined) return;
    throw new McpServerSideError(
      "limit_exceeded",
      `the connection pool is full (maxConnections: ${limits.maxConnections}) and every connection is busy`,
      { status: 429 },
    );
  };

  const admit = async (server: ResolvedServer, signal: AbortSignal): Promise<Release> => {
    const party = connectionParty(server);
    const scopeTurn = party === undefined ? undefined : await connects.acquire(party, signal);
    try {
      const spawnTurn = isStdio(server.definition) ? await spawns.acquire(signal) : undefined;
      return () => {
        spawnTurn?.();
        scopeTurn?.();
      };
    } catch (error) {
      scopeTurn?.();
      throw error;
    }
  };

  const slotDeps: SlotDeps = { ...deps, replacement: (server) => pool.slotFor(server), admit };

  const pool: Pool = {
    get size() {
      return slots.size;
    },

    states() {
      const at = deps.now();
      return [...slots.values()].map((slot) => slot.state(at));
    },

    slotFor(server) {
      if (closed) throw new McpServerSideError("connection_failed", "the MCP engine is closed");
      const key = connectionKey(server);
      const existing = slots.get(key);
      if (existing !== undefined) return existing;
      const party = connectionParty(server);
      makeRoom(party);
      const slot = createSlot(key, server, slotDeps);
      slots.set(key, slot);
      if (party !== undefined) {
        parties.set(slot, party);
        held.set(party, (held.get(party) ?? 0) + 1);
      }
      startSweeping();
      return slot;
    },

    admitTest(server) {
      const party = connectionParty(server) ?? "";
      const release = tests.tryAcquire(party);
      if (release === undefined) {
        throw new McpServerSideError(
          "limit_exceeded",
          `this scope already runs its maximum of server tests at once (maxConcurrentTestsPerScope: ${limits.maxConcurrentTestsPerScope})`,
          { status: 429 },
        );
      }
      return release;
    },

    admitSpawn: async (server, signal) => (isStdio(server.definition) ? spawns.acquire(signal) : () => undefined),

    async evict(match, reason) {
      const scope = match.source === "scope" || match.source === "request" ? (match.scope ?? "") : "";
      const closing: Promise<void>[] = [];
      for (const slot of slots.values()) {
        if (
          slot.server.source === match.source &&
          slot.server.name === match.name &&
          connectionScope(slot.server) === scope
        ) {
          closing.push(remove(slot, reason));
        }
      }
      await Promise.allSettled(closing);
    },

    async close() {
      closed = true;
      stopSweeping();
      const all = [...slots.values()];
      slots.clear();
      await Promise.allSettled(all.map((slot) => slot.close("shutdown")));
    },
  };
  return pool;
}
