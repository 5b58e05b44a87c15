import { describe, expect, it } from "vitest";
import { createGate, createGateMap } from "../../src/pool/gate.js";

describe("the gate behind the per-scope and spawn caps", () => {
  it("lets `limit` holders in and hands each freed permit to the next waiter in arrival order", async () => {
    const gate = createGate(2);
    const first = gate.tryAcquire();
    const second = gate.tryAcquire();
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(gate.tryAcquire()).toBeUndefined();
    const order: string[] = [];
    const a = gate.acquire().then((release) => {
      order.push("a");
      return release;
    });
    const b = gate.acquire().then((release) => {
      order.push("b");
      return release;
    });
    expect(gate.waiting).toBe(2);
    first!();
    first!(); // releasing twice frees one permit only
    (await a)();
    second!();
    (await b)();
    expect(order).toEqual(["a", "b"]);
    expect(gate.active).toBe(0);
  });

  it("a waiter whose signal aborts leaves the queue and never holds a permit", async () => {
    const gate = createGate(1);
    const held = gate.tryAcquire()!;
    const controller = new AbortController();
    const waiting = gate.acquire(controller.signal);
    controller.abort(new Error("gave up"));
    await expect(waiting).rejects.toThrow("gave up");
    expect(gate.waiting).toBe(0);
    held();
    expect(gate.active).toBe(0);
    expect(gate.tryAcquire()).toBeDefined();
  });

  it("a gate of zero still lets one through instead of waiting forever", () => {
    expect(createGate(0).tryAcquire()).toBeDefined();
  });

  it("keeps one gate per key: one key at its limit never blocks another", async () => {
    const gates = createGateMap(1);
    const mine = gates.tryAcquire("scope-a");
    expect(mine).toBeDefined();
    expect(gates.tryAcquire("scope-a")).toBeUndefined();
    const other = await gates.acquire("scope-b");
    other();
    mine!();
    expect(gates.tryAcquire("scope-a")).toBeDefined();
  });
});
