/**
 * The change-event subscriber reconnecting: its SUBSCRIBE after a reconnect may never be answered (the
 * store closes, Redis goes away again). That must not become an unhandled rejection, which ends a Node
 * process by default. The proxy in front of the real Redis swallows SUBSCRIBE commands on request, so
 * the store closes with one in flight, every time.
 */
import { redisStore } from "@mcp-server-side/storage-redis";
import { afterEach, expect, it, vi } from "vitest";
import { startProxy, testPrefix } from "./support/redis.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

it("closing the store while its re-SUBSCRIBE after a reconnect is unanswered leaves no unhandled rejection", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on("unhandledRejection", onUnhandled);
  cleanups.push(async () => {
    process.off("unhandledRejection", onUnhandled);
  });
  const proxy = await startProxy();
  cleanups.push(() => proxy.close());
  const store = redisStore({ url: proxy.url, prefix: `${testPrefix("resubscribe")}:` });
  cleanups.push(() => store.close?.() ?? Promise.resolve());
  const unwatch = await store.watch?.(() => undefined);
  expect(store.watchHealthy?.()).toBe(true);

  proxy.swallowSubscribes();
  await proxy.stop();
  await proxy.start();
  // The subscriber reconnects by itself and sends SUBSCRIBE again, which the proxy swallows.
  await vi.waitFor(() => expect(proxy.swallowed()).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
  expect(store.watchHealthy?.()).toBe(false);

  await unwatch?.();
  await store.close?.();
  // A rejection nobody handles is reported after the microtask queue drains; give it a few turns.
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
  expect(unhandled).toEqual([]);
});
