import { McpServerSideError } from "../errors.js";
import type { ResolvedServer, Tier } from "../types.js";
import { connectionKey, connectionScope } from "./key.js";
import { type CloseReason, createSlot, type Slot, type SlotDeps } from "./slot.js";

/**
 * The connection pool (SPEC §5): one slot per pool key, at most `maxConnections` of them. A new slot
 * beyond the bound closes the least recently used idle one; slots unused for `idleTimeoutMs` are
 * closed by a sweep. Evicting a server (its definition changed or was removed) closes all its slots.
 */

export interface Pool {
  /** The slot for a server, created (not yet connected) when missing; throws `limit_exceeded` when full of busy slots. */
  slotFor(server: ResolvedServer): Slot;
  evict(match: { source: Tier; scope?: string; name: string }, reason: "changed" | "removed"): Promise<void>;
  close(): Promise<void>;
  readonly size: number;
}

export type PoolDeps = Omit<SlotDeps, "replacement">;

/** The sweep runs at half the idle timeout, within these bounds. */
const MIN_SWEEP_MS = 50;
const MAX_SWEEP_MS = 60_000;

export function createPool(deps: PoolDeps): Pool {
  const { limits } = deps;
  const slots = new Map<string, Slot>();
  let sweeper: ReturnType<typeof setInterval> | undefined;
  let closed = false;

  const remove = (slot: Slot, reason: CloseReason): Promise<void> => {
    if (slots.get(slot.key) === slot) slots.delete(slot.key);
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

  /** Makes room for one more slot: the least recently used idle slot goes, unconnected ones first. */
  const makeRoom = (): void => {
    if (slots.size < limits.maxConnections) return;
    let victim: Slot | undefined;
    for (const slot of slots.values()) {
      if (slot.busy) continue;
      if (
        victim === undefined ||
        (victim.connected && !slot.connected) ||
        (victim.connected === slot.connected && slot.lastUsed < victim.lastUsed)
      ) {
        victim = slot;
      }
    }
    if (victim === undefined) {
      throw new McpServerSideError(
        "limit_exceeded",
        `the connection pool is full (maxConnections: ${limits.maxConnections}) and every connection is busy`,
      );
    }
    void remove(victim, "evicted");
  };

  const slotDeps: SlotDeps = { ...deps, replacement: (server) => pool.slotFor(server) };

  const pool: Pool = {
    get size() {
      return slots.size;
    },

    slotFor(server) {
      if (closed) throw new McpServerSideError("connection_failed", "the MCP engine is closed");
      const key = connectionKey(server);
      const existing = slots.get(key);
      if (existing !== undefined) return existing;
      makeRoom();
      const slot = createSlot(key, server, slotDeps);
      slots.set(key, slot);
      startSweeping();
      return slot;
    },

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
