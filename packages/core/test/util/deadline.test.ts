import { describe, expect, it } from "vitest";
import { raceDeadline, sleep } from "../../src/util/deadline.js";

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

describe("raceDeadline", () => {
  it("settles as the work does when the work finishes first", async () => {
    const signal = new AbortController().signal;
    await expect(raceDeadline(Promise.resolve("done"), 60_000, signal, () => "expired")).resolves.toBe("done");
    await expect(raceDeadline(Promise.reject(new Error("broke")), 60_000, signal, () => "expired")).rejects.toThrow(
      "broke",
    );
  });

  it("answers with onExpiry('timeout') when the deadline passes first", async () => {
    const reasons: string[] = [];
    const value = await raceDeadline(never<string>(), 5, undefined, (why) => {
      reasons.push(why);
      return "expired";
    });
    expect(value).toBe("expired");
    expect(reasons).toEqual(["timeout"]);
  });

  it("rejects with what onExpiry throws", async () => {
    await expect(
      raceDeadline(never(), 1, undefined, () => {
        throw new Error("too slow");
      }),
    ).rejects.toThrow("too slow");
  });

  it("expires as aborted at once with a signal that is already aborted, even when the work is done", async () => {
    const controller = new AbortController();
    controller.abort(new Error("gone"));
    const reasons: string[] = [];
    const value = await raceDeadline(Promise.resolve("done"), 60_000, controller.signal, (why) => {
      reasons.push(why);
      return "expired";
    });
    expect(value).toBe("expired");
    expect(reasons).toEqual(["aborted"]);
  });

  it("expires as aborted when the signal aborts while the work runs, and leaves no listener behind", async () => {
    const watched = (): { signal: AbortSignal; abort: () => void; listeners: Set<unknown> } => {
      const controller = new AbortController();
      const listeners = new Set<unknown>();
      const { signal } = controller;
      const add = signal.addEventListener.bind(signal);
      const remove = signal.removeEventListener.bind(signal);
      signal.addEventListener = ((type: string, listener: EventListener, options?: AddEventListenerOptions) => {
        listeners.add(listener);
        add(type, listener, options);
      }) as typeof signal.addEventListener;
      signal.removeEventListener = ((type: string, listener: EventListener) => {
        listeners.delete(listener);
        remove(type, listener);
      }) as typeof signal.removeEventListener;
      return { signal, abort: () => controller.abort(), listeners };
    };

    const aborting = watched();
    const raced = raceDeadline(never(), 60_000, aborting.signal, (why) => why);
    expect(aborting.listeners.size).toBe(1);
    aborting.abort();
    await expect(raced).resolves.toBe("aborted");
    expect(aborting.listeners.size).toBe(0);

    const finishing = watched();
    await expect(raceDeadline(Promise.resolve(1), 60_000, finishing.signal, (why) => why)).resolves.toBe(1);
    expect(finishing.listeners.size).toBe(0);

    const timing = watched();
    await expect(raceDeadline(never(), 1, timing.signal, (why) => why)).resolves.toBe("timeout");
    expect(timing.listeners.size).toBe(0);
  });

  it("calls onExpiry at most once and ignores the work's late outcome", async () => {
    let expiries = 0;
    let fail: (error: Error) => void = () => undefined;
    const work = new Promise<never>((_, reject) => {
      fail = reject;
    });
    const value = await raceDeadline(work, 1, undefined, () => ++expiries);
    // A late failure of the abandoned work is consumed: no unhandled rejection fails the run.
    fail(new Error("late"));
    await sleep(5);
    expect(value).toBe(1);
    expect(expiries).toBe(1);
  });

  it("treats an infinite or oversized duration as no deadline, not as zero", async () => {
    const controller = new AbortController();
    const infinite = raceDeadline(never(), Number.POSITIVE_INFINITY, controller.signal, (why) => why);
    const huge = raceDeadline(never(), 2 ** 40, controller.signal, (why) => why);
    await sleep(20);
    controller.abort();
    // Had either fired at once (Node's behaviour for such timers), it would say "timeout".
    await expect(infinite).resolves.toBe("aborted");
    await expect(huge).resolves.toBe("aborted");
  });

  it("treats a deadline already in the past as expired on the next timer turn, not before the work could win", async () => {
    await expect(raceDeadline(Promise.resolve("done"), -50, undefined, () => "expired")).resolves.toBe("done");
    await expect(raceDeadline(never(), -50, undefined, () => "expired")).resolves.toBe("expired");
  });
});

describe("sleep", () => {
  it("resolves after the time and at once on abort, never rejecting", async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
    const controller = new AbortController();
    const sleeping = sleep(60_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(sleeping).resolves.toBeUndefined();
    const aborted = AbortSignal.abort();
    await expect(sleep(60_000, aborted)).resolves.toBeUndefined();
  });
});
