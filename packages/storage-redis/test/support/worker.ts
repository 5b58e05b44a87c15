/**
 * One worker process of an app on the Redis store, for the multi-process tests. Started by
 * `startWorker()` (child_process.fork with `--import tsx`); it reads its `RedisAppOptions` from the
 * MCP_WORKER_OPTIONS environment variable, tells the parent `{ type: "ready", url }` once it
 * listens, and closes on `{ type: "close" }` or when the parent goes away.
 */
import { type RedisAppOptions, startRedisApp } from "./app.js";

const send = (message: unknown): Promise<void> =>
  new Promise((resolve) => {
    if (process.send === undefined) resolve();
    else process.send(message, () => resolve());
  });

const options = JSON.parse(process.env.MCP_WORKER_OPTIONS ?? "null") as RedisAppOptions | null;
if (options === null || process.send === undefined) {
  console.error("worker.ts runs as a forked child with MCP_WORKER_OPTIONS set");
  process.exit(2);
}

try {
  const app = await startRedisApp(options);
  let closing = false;
  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    await app.close().catch(() => undefined);
    process.exit(0);
  };
  process.on("message", (message: { type?: string }) => {
    if (message?.type === "close") void close();
  });
  // An orphaned worker must not outlive the test run that started it.
  process.on("disconnect", () => void close());
  await send({ type: "ready", url: app.url, pid: process.pid });
} catch (error) {
  await send({ type: "failed", message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
