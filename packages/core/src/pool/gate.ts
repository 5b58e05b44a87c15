/**
 * A counting gate (semaphore) with a FIFO queue: at most `limit` holders at once. The pool uses one
 * per scope for connects and tests, and one for all stdio spawns, so that one caller (or fifteen
 * children starting at once on two cores) cannot take every socket, slot or CPU.
 */

export type Release = () => void;

export interface Gate {
  /** A permit now, or `undefined` when all are taken. */
  tryAcquire(): Release | undefined;
  /** Waits for a permit in arrival order; rejects with `signal.reason` when the signal aborts first. */
  acquire(signal?: AbortSignal): Promise<Release>;
  readonly active: number;
  readonly waiting: number;
}

interface Waiter {
  grant(release: Release): void;
}

export function createGate(requested: number): Gate {
  // A gate of zero would wait forever; the smallest useful gate lets one through.
  const limit = Math.max(1, Math.floor(requested));
  let active = 0;
  const queue: Waiter[] = [];

  const permit = (): Release => {
    active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      active--;
      // Hand the freed permit to the next waiter, if any is still waiting.
      const next = queue.shift();
      if (next !== undefined) next.grant(permit());
    };
  };

  return {
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
    tryAcquire() {
      return active < limit ? permit() : undefined;
    },
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (active < limit) return Promise.resolve(permit());
      return new Promise<Release>((resolve, reject) => {
        const onAbort = (): void => {
          const index = queue.indexOf(waiter);
          if (index !== -1) queue.splice(index, 1);
          reject(signal?.reason);
        };
        const waiter: Waiter = {
          grant(release) {
            signal?.removeEventListener("abort", onAbort);
            resolve(release);
          },
        };
        queue.push(waiter);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
  };
}

/** Gates per key, created on first use and dropped once nobody holds or waits for them. */
export interface GateMap {
  tryAcquire(key: string): Release | undefined;
  acquire(key: string, signal?: AbortSignal): Promise<Release>;
}

export function createGateMap(limit: number): GateMap {
  const gates = new Map<string, Gate>();
  const gateFor = (key: string): Gate => {
    let gate = gates.get(key);
    if (gate === undefined) {
      gate = createGate(limit);
      gates.set(key, gate);
    }
    return gate;
  };
  const tracked = (key: string, gate: Gate, release: Release): Release => {
    return () => {
      release();
      if (gate.active === 0 && gate.waiting === 0 && gates.get(key) === gate) gates.delete(key);
    };
  };
  return {
    tryAcquire(key) {
      const gate = gateFor(key);
      const release = gate.tryAcquire();
      if (release === undefined) return undefined;
      return tracked(key, gate, release);
    },
    async acquire(key, signal) {
      const gate = gateFor(key);
      try {
        return tracked(key, gate, await gate.acquire(signal));
      } catch (error) {
        if (gate.active === 0 && gate.waiting === 0 && gates.get(key) === gate) gates.delete(key);
        throw error;
      }
    },
  };
}
