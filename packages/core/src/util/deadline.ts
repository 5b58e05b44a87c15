/**
 * The one race of a piece of work against a deadline and an abort signal. Every wait with a time
 * limit in the project goes through here, so the timer and the abort listener are always removed,
 * an already-aborted signal is always seen, and a late failure of the abandoned work is never an
 * unhandled rejection.
 */

/** Why the work lost the race. */
export type Expiry = "timeout" | "aborted";

/** The longest delay `setTimeout` keeps; a longer (or infinite) one would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Settles as `work` does, unless `ms` milliseconds pass or `signal` aborts first: then as
 * `onExpiry(why)` does (its value resolves, its throw rejects). An aborted `signal` wins at once.
 * `ms` is rounded up to whole milliseconds (Node keeps one timer list per distinct duration); a
 * duration beyond what a timer can hold, `Infinity` included, means no deadline.
 */
export function raceDeadline<T, U>(
  work: PromiseLike<T>,
  ms: number,
  signal: AbortSignal | undefined,
  onExpiry: (why: Expiry) => U,
): Promise<T | U> {
  return new Promise<T | U>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settle();
    };
    const expire = (why: Expiry): void =>
      finish(() => {
        try {
          resolve(onExpiry(why));
        } catch (error) {
          reject(error);
        }
      });
    const onAbort = (): void => expire("aborted");
    // Handlers first: the work's outcome is always consumed, even after it lost.
    work.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(error)),
    );
    if (signal?.aborted) return expire("aborted");
    const wait = Math.max(0, Math.ceil(ms));
    if (wait <= MAX_TIMER_MS) timer = setTimeout(() => expire("timeout"), wait);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Resolves after `ms` milliseconds, or at once when `signal` aborts (it never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return raceDeadline(new Promise<void>(() => undefined), ms, signal, () => undefined);
}
