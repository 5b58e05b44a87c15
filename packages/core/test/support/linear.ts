import { expect } from "vitest";

/**
 * Growth checks for code that reads untrusted text (SPEC §9: linear time). A case runs a function on
 * an adversarial input of size n and of size 8n and compares the time per call: linear code gives a
 * ratio near 8, quadratic code near 64, anything worse far more. The bound is 40, wide enough that a
 * busy 2-core machine does not make linear code fail: every time is the median of several batches,
 * and a batch repeats the call until it lasts long enough to measure.
 */

export interface GrowthCase<T> {
  /** What is measured, for the failure message. */
  name: string;
  /** The input at a size; the check uses `size` and `size * factor`. */
  input: (size: number) => T;
  /** The code under test. Its result is kept, so the call cannot be optimized away. */
  run: (input: T) => unknown;
  /** The small size. Pick it so that `size * factor` is at (or under) the field's cap. */
  size: number;
}

export interface GrowthOptions {
  /** How much larger the large input is. */
  factor?: number;
  /** The largest accepted time ratio between the large and the small input. */
  maxRatio?: number;
  /** Batches per size; the median is used. */
  batches?: number;
  /** A batch repeats the call until it has run at least this long. */
  minBatchMs?: number;
}

export interface Growth {
  smallMs: number;
  largeMs: number;
  ratio: number;
}

let sink: unknown;

function timePerCall<T>(run: (input: T) => unknown, input: T, batches: number, minBatchMs: number): number {
  // Warm up (JIT, caches), and find how many calls make a batch long enough to time.
  let calls = 1;
  for (;;) {
    const started = performance.now();
    for (let index = 0; index < calls; index++) sink = run(input);
    const elapsed = performance.now() - started;
    if (elapsed >= minBatchMs) break;
    calls *= elapsed < minBatchMs / 8 ? 8 : 2;
  }
  const perCall: number[] = [];
  for (let batch = 0; batch < batches; batch++) {
    const started = performance.now();
    for (let index = 0; index < calls; index++) sink = run(input);
    perCall.push((performance.now() - started) / calls);
  }
  perCall.sort((a, b) => a - b);
  return perCall[Math.floor(perCall.length / 2)] ?? Number.NaN;
}

/** Times `run` on its input at `size` and `size * factor`. */
export function measureGrowth<T>(testCase: GrowthCase<T>, options: GrowthOptions = {}): Growth {
  const factor = options.factor ?? 8;
  const batches = options.batches ?? 5;
  const minBatchMs = options.minBatchMs ?? 15;
  const small = testCase.input(testCase.size);
  const large = testCase.input(testCase.size * factor);
  const smallMs = timePerCall(testCase.run, small, batches, minBatchMs);
  const largeMs = timePerCall(testCase.run, large, batches, minBatchMs);
  return { smallMs, largeMs, ratio: largeMs / smallMs };
}

/**
 * Fails when `run` grows faster than linearly on its input. A measurement over the bound is taken
 * again, up to three times in all (a GC pause or a neighbour's burst can slow one set of batches), and
 * every one must be over the bound to fail; quadratic code sits near 64 in each.
 */
export function expectLinear<T>(testCase: GrowthCase<T>, options: GrowthOptions = {}): Growth {
  const maxRatio = options.maxRatio ?? 40;
  let growth = measureGrowth(testCase, options);
  for (let attempt = 1; attempt < 3 && growth.ratio >= maxRatio; attempt++) growth = measureGrowth(testCase, options);
  expect(
    growth.ratio,
    `${testCase.name}: ${growth.smallMs.toFixed(4)} ms at n=${testCase.size}, ${growth.largeMs.toFixed(4)} ms at ${options.factor ?? 8}n`,
  ).toBeLessThan(maxRatio);
  return growth;
}

/** Keeps the last result reachable, so that no call is dead code. */
export function lastResult(): unknown {
  return sink;
}
