import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { closedPort } from "./redis.js";

const run = promisify(execFile);

export interface ClusterNode {
  host: string;
  port: number;
}

export interface PrivateRedisCluster {
  /** The masters, each owning a share of the 16384 hash slots. */
  nodes: ClusterNode[];
  /** The node (`host:port`) that owns a hash slot, from `CLUSTER SLOTS` as the cluster reports it now. */
  ownerOf(slot: number): string;
  /** One plain connection per node, for `CLUSTER KEYSLOT`, `SCAN` and the like; closed by `close()`. */
  admin(node: ClusterNode): Redis;
  /** Kills one node (SIGKILL), as a machine that died; the cluster loses that node's slots. */
  stopNode(node: ClusterNode): Promise<void>;
  /** Kills every node and removes their directory. */
  close(): Promise<void>;
}

/**
 * Why a cluster cannot be started here, or undefined when `redis-server` and `redis-cli` are on PATH.
 * Checked before any test runs, so a missing binary skips the cluster tests by name instead of failing them.
 */
export function clusterUnavailableReason(): string | undefined {
  for (const binary of ["redis-server", "redis-cli"]) {
    const probe = spawnSync(binary, ["--version"], { stdio: "ignore" });
    if (probe.error !== undefined || probe.status !== 0) return `${binary} is not on PATH`;
  }
  return undefined;
}

/**
 * A Redis Cluster of the test's own: `size` masters without replicas on 127.0.0.1, free ports, a fresh
 * directory, no persistence. Resolves once every node reports `cluster_state:ok` and agrees on who owns
 * every slot, so the first command of a test is not met by a half-formed cluster.
 */
export async function startPrivateRedisCluster(size = 3): Promise<PrivateRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), "mcp-redis-cluster-"));
  const children = new Map<number, ChildProcess>();
  const admins = new Map<number, Redis>();
  const nodes: ClusterNode[] = [];

  async function close(): Promise<void> {
    for (const admin of admins.values()) admin.disconnect();
    admins.clear();
    await Promise.all([...children.values()].map(stopProcess));
    await rm(dir, { recursive: true, force: true });
  }

  try {
    // A node also listens on port + 10000 for the cluster bus: both must be free, and no node's pair may
    // meet another's.
    const ports: number[] = [];
    while (ports.length < size) {
      const port = await closedPort();
      if (port > 55_535 || ports.some((taken) => Math.abs(taken - port) === 10_000 || taken === port)) continue;
      if (!(await isFree(port + 10_000))) continue;
      ports.push(port);
    }
    for (const port of ports) {
      const child = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(dir, `nodes-${port}.conf`),
          "--cluster-node-timeout",
          "2000",
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          dir,
          "--daemonize",
          "no",
          "--protected-mode",
          "yes",
        ],
        { stdio: "ignore" },
      );
      children.set(port, child);
      nodes.push({ host: "127.0.0.1", port });
    }
    for (const node of nodes) {
      const admin = new Redis(node.port, node.host, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
      admin.on("error", () => undefined);
      admins.set(node.port, admin);
    }
    await until(async () => {
      for (const admin of admins.values()) if ((await admin.ping().catch(() => "")) !== "PONG") return false;
      return true;
    }, "every node to answer PING");

    await run(
      "redis-cli",
      [
        "--cluster",
        "create",
        ...nodes.map((node) => `${node.host}:${node.port}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ],
      { timeout: 20_000 },
    );

    await until(async () => {
      for (const admin of admins.values()) {
        const info = String(await admin.cluster("INFO"));
        if (!info.includes("cluster_state:ok")) return false;
        if (field(info, "cluster_known_nodes") !== size || field(info, "cluster_slots_ok") !== 16_384) return false;
      }
      return true;
    }, "cluster_state:ok on every node");
  } catch (error) {
    await close();
    throw error;
  }

  // The slot map is fixed once formed: these tests never reshard or fail a node over.
  const slotOwners: string[] = new Array(16_384);
  const first = admins.values().next().value;
  if (first === undefined) throw new Error("no node");
  for (const [from, to, master] of await first.cluster("SLOTS")) {
    if (master === undefined) throw new Error(`slots ${from}-${to} have no master`);
    for (let slot = from; slot <= to; slot++) slotOwners[slot] = `${master[0]}:${master[1]}`;
  }

  return {
    nodes,
    ownerOf(slot) {
      const owner = slotOwners[slot];
      if (owner === undefined) throw new Error(`slot ${slot} has no owner`);
      return owner;
    },
    admin(node) {
      const admin = admins.get(node.port);
      if (admin === undefined) throw new Error(`no node on port ${node.port}`);
      return admin;
    },
    async stopNode(node) {
      const child = children.get(node.port);
      if (child !== undefined) await stopProcess(child);
    },
    close,
  };
}

/** A numeric field of `CLUSTER INFO`. */
function field(info: string, name: string): number {
  return Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1]);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** SIGKILL: nothing is persisted, so there is nothing to let Redis finish writing. */
function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}
