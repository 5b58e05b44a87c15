import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { closedPort } from "./redis.js";

export interface PrivateRedis {
  url: string;
  /** Shuts Redis down (SIGTERM: it finishes writing its append-only file) and waits for the exit. */
  stop(): Promise<void>;
  /** Starts Redis again on the same port and directory, and waits until it answers. */
  start(): Promise<void>;
  /** Stops Redis and removes its directory. */
  close(): Promise<void>;
}

/**
 * A Redis server of the test's own, on 127.0.0.1, that a test may really stop and start again (the
 * shared one on 6379 serves other runs). Every write is fsynced to its append-only file before
 * Redis answers, so what Redis acknowledged is still there after a restart.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = await mkdtemp(join(tmpdir(), "mcp-redis-"));
  const port = await closedPort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""];
    args.push("--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--protected-mode", "yes");
    const started = spawn("redis-server", args, { stdio: "ignore" });
    child = started;
    let exited = false;
    started.once("exit", () => {
      exited = true;
    });
    const deadline = Date.now() + 10_000;
    while (!(await answers(url))) {
      if (exited || Date.now() > deadline) {
        started.kill("SIGKILL");
        throw new Error(`redis-server ${exited ? "exited at start" : "did not answer within 10 s"}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once("exit", () => resolve());
      running.kill("SIGTERM");
    });
  }

  await start();
  return {
    url,
    stop,
    start,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One connection attempt and a PING, without retrying. */
async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on("error", () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
