import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { RedisAppOptions } from "./app.js";

const WORKER = fileURLToPath(new URL("./worker.ts", import.meta.url));
/** The repository root: tsx reads its tsconfig.json there, whose `paths` map the packages to their sources. */
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

export interface RunningWorker {
  /** `http://127.0.0.1:<port>` of the worker's app. */
  url: string;
  pid: number;
  /** Asks the worker to close its app and exit; kills it if it has not exited after a few seconds. */
  close(): Promise<void>;
}

/** Starts one worker process of the app (see worker.ts) and resolves once it listens. */
export function startWorker(options: RedisAppOptions, startTimeoutMs = 30_000): Promise<RunningWorker> {
  const child = fork(WORKER, [], {
    cwd: ROOT,
    execArgv: ["--import", "tsx"],
    env: { ...process.env, MCP_WORKER_OPTIONS: JSON.stringify(options), TSX_TSCONFIG_PATH: `${ROOT}tsconfig.json` },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the worker did not start within ${startTimeoutMs} ms`));
    }, startTimeoutMs);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`the worker exited with code ${code} before it was ready`));
    };
    child.once("exit", onExit);
    child.on("message", (message: { type?: string; url?: string; message?: string }) => {
      if (message?.type === "failed") {
        clearTimeout(timer);
        child.off("exit", onExit);
        reject(new Error(`the worker failed to start: ${message.message}`));
      } else if (message?.type === "ready" && typeof message.url === "string") {
        clearTimeout(timer);
        child.off("exit", onExit);
        resolve({ url: message.url, pid: child.pid ?? 0, close: () => stopWorker(child) });
      }
    });
  });
}

function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.send({ type: "close" });
    else child.kill("SIGTERM");
  });
}
