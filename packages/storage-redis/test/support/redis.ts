import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { Redis } from "ioredis";

/** The real Redis every test of this package runs against. */
export const REDIS_HOST = "127.0.0.1";
export const REDIS_PORT = 6379;
export const REDIS_URL = `redis://${REDIS_HOST}:${REDIS_PORT}`;

/** A key prefix unique to this run and label, so parallel runs and other packages never meet. */
export function testPrefix(label: string): string {
  return `mcp-test-${label}-${process.pid}-${randomUUID().slice(0, 8)}:`;
}

/** A fresh encryption key (32 random bytes, base64), as a persistent store requires. */
export function newEncryptionKey(): string {
  return randomBytes(32).toString("base64");
}

/** Deletes every key under `prefix` (SCAN, never KEYS: other runs share this Redis). */
export async function deleteKeys(prefix: string, url = REDIS_URL): Promise<void> {
  const admin = new Redis(url);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await admin.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    await admin.quit();
  }
}

/** A port that was free a moment ago and on which nothing listens now. */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export interface RedisProxy {
  port: number;
  /** `redis://127.0.0.1:<port>`: Redis as the clients behind the proxy see it. */
  url: string;
  /** Stops listening and cuts every open connection, as a Redis that went away. */
  stop(): Promise<void>;
  /** Listens again on the same port, as a Redis that came back. */
  start(): Promise<void>;
  /**
   * Keeps every connection open but passes nothing on, as a Redis (or a network) that stopped
   * answering without closing anything; bytes sent meanwhile wait and are passed on by `resume()`.
   */
  pause(): void;
  resume(): void;
  /**
   * From now on, a client's chunk that carries SUBSCRIBE is swallowed (never reaches Redis, so never
   * answered), as a Redis that went away again right after a client reconnected.
   */
  swallowSubscribes(): void;
  /** How many chunks `swallowSubscribes()` has swallowed. */
  swallowed(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy to the real Redis that can be taken down and brought back on the same port. Clients
 * behind it see exactly what a stopped and restarted Redis looks like (connections reset, then
 * refused, then accepted again), while the Redis that other test runs share keeps running.
 */
export async function startProxy(target = { host: REDIS_HOST, port: REDIS_PORT }): Promise<RedisProxy> {
  const sockets = new Set<Socket>();
  /** Bytes held back while paused, each with the socket it is for, in arrival order. */
  const held: [Socket, Buffer][] = [];
  let paused = false;
  let swallowing = false;
  let swallowedChunks = 0;
  let server: Server | undefined;
  let port = 0;

  const forward = (to: Socket) => (chunk: Buffer) => {
    if (paused) held.push([to, chunk]);
    else to.write(chunk);
  };

  function listen(): Promise<void> {
    const current = createServer((socket) => {
      const upstream = tcpConnect(target.port, target.host);
      for (const end of [socket, upstream]) {
        sockets.add(end);
        end.on("close", () => {
          sockets.delete(end);
          socket.destroy();
          upstream.destroy();
        });
        end.on("error", () => {
          socket.destroy();
          upstream.destroy();
        });
      }
      const toUpstream = forward(upstream);
      socket.on("data", (chunk: Buffer) => {
        if (swallowing && chunk.toString("latin1").toUpperCase().includes("SUBSCRIBE")) swallowedChunks += 1;
        else toUpstream(chunk);
      });
      upstream.on("data", forward(socket));
    });
    server = current;
    return new Promise((resolve, reject) => {
      current.once("error", reject);
      current.listen(port, "127.0.0.1", () => {
        const address = current.address();
        port = typeof address === "object" && address !== null ? address.port : 0;
        resolve();
      });
    });
  }

  async function stop(): Promise<void> {
    const current = server;
    server = undefined;
    held.length = 0;
    paused = false;
    for (const socket of sockets) socket.destroy();
    if (current !== undefined) await new Promise<void>((resolve) => current.close(() => resolve()));
  }

  await listen();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start: listen,
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const [to, chunk] of held.splice(0)) if (!to.destroyed) to.write(chunk);
    },
    swallowSubscribes() {
      swallowing = true;
    },
    swallowed: () => swallowedChunks,
    close: stop,
  };
}
