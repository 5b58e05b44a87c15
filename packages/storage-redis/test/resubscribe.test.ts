/**
 * The change-event subscriber reconnecting: its SUBSCRIBE after a reconnect may never be answered (the
 * store closes, Redis goes away again). That must not become an unhandled rejection, which ends a Node
 * process by default. A proxy in front of the real Redis holds SUBSCRIBE commands back on request, so the
 * store closes with one in flight, every time.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { redisStore } from "@mcp-server-side/storage-redis";
import { afterEach, expect, it, vi } from "vitest";
import { REDIS_HOST, REDIS_PORT, testPrefix } from "./support/redis.js";

interface HoldingProxy {
  url: string;
  /** From now on, a client chunk carrying SUBSCRIBE is kept back (never forwarded). */
  holdSubscribes(): void;
  /** How many chunks were kept back. */
  held(): number;
  /** Drops every connection; new ones are accepted as before. */
  dropConnections(): void;
  close(): Promise<void>;
}

async function startHoldingProxy(): Promise<HoldingProxy> {
  const sockets = new Set<Socket>();
  let holding = false;
  let held = 0;
  const server: Server = createServer((socket) => {
    const upstream = tcpConnect(REDIS_PORT, REDIS_HOST);
    for (const end of [socket, upstream]) {
      sockets.add(end);
      end.on("close", () => {
        sockets.delete(end);
        socket.destroy();
        upstream.destroy();
      });
      end.on("error", () => undefined);
    }
    socket.on("data", (chunk: Buffer) => {
      if (holding && chunk.toString("latin1").toUpperCase().includes("SUBSCRIBE")) held += 1;
      else upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => socket.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    holdSubscribes: () => {
      holding = true;
    },
    held: () => held,
    dropConnections: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

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
  const proxy = await startHoldingProxy();
  cleanups.push(() => proxy.close());
  const store = redisStore({ url: proxy.url, prefix: `${testPrefix("resubscribe")}:` });
  cleanups.push(() => store.close?.() ?? Promise.resolve());
  const unwatch = await store.watch?.(() => undefined);
  expect(store.watchHealthy?.()).toBe(true);

  proxy.holdSubscribes();
  proxy.dropConnections();
  // The subscriber reconnects by itself and sends SUBSCRIBE again, which the proxy keeps back.
  await vi.waitFor(() => expect(proxy.held()).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
  expect(store.watchHealthy?.()).toBe(false);

  await unwatch?.();
  await store.close?.();
  // A rejection nobody handles is reported after the microtask queue drains; give it a few turns.
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
  expect(unhandled).toEqual([]);
});
