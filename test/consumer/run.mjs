#!/usr/bin/env node
// The consumer test: what a user gets from the registry. It packs the four packages, installs the
// tarballs into a scratch app outside the workspace with a plain `npm install` (no flags), and runs
// the smoke apps in test/consumer/app (Express and Hono, ESM and CJS, a stdio MCP server, a tool call
// driven by the AI SDK's test model) on each supported Node major and AI SDK major.
//
//   node test/consumer/run.mjs [--no-build] [--keep] [--only=<cell name>,...]
//
// Node binaries come from the registry's `node` package (node@22 → node_modules/node/bin/node) and
// are cached in $MCP_CONSUMER_CACHE (default: <tmpdir>/mcp-server-side-consumer-cache); the Node
// running this script is used for its own major.
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const appSource = join(root, "test/consumer/app");
const packages = ["core", "express", "hono", "storage-redis"];
const args = new Set(process.argv.slice(2));
const only = [...args]
  .find((arg) => arg.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",");

/**
 * The matrix, kept to four installs. Node 20 gets both AI SDKs: a bare `ai` resolves to 6 there (AI
 * SDK 7 declares Node ≥ 22), which is the install line the READMEs give, and an explicit `ai@^7`
 * is what an app upgraded on Node 20 holds. Node 22 and 24 get a bare `ai` (→ 7), the default
 * there. What differs between AI SDK 6 and 7 is plain JavaScript that does not depend on the Node
 * version, and what differs between Node majors (require(esm), engines) is covered by the three
 * Node cells. Types do not depend on the Node version: they are compiled in the two Node 20 cells.
 * The Redis store runs in every cell, on ioredis 5 and, in the Node 24 cell, 6.
 */
const matrix = [
  { name: "node20-ai6", node: 20, ai: "ai", expectAi: 6, typecheck: true },
  // AI SDK 7 declares Node ≥ 22: npm warns about it (and its own @ai-sdk packages) and nothing else.
  {
    name: "node20-ai7",
    node: 20,
    ai: "ai@^7",
    expectAi: 7,
    typecheck: true,
    engineWarningsAllowed: /^(ai|@ai-sdk\/.*)@/,
  },
  { name: "node22-ai7", node: 22, ai: "ai", expectAi: 7 },
  // ioredis 6 on the newest Node (a bare `ioredis` dedupes to 5 next to unstorage's own ioredis 5).
  { name: "node24-ai7", node: 24, ai: "ai", expectAi: 7, ioredis: "ioredis@^6", expectIoredis: 6 },
].filter((cell) => only === undefined || only.includes(cell.name));

// redis.mjs needs a Redis on $REDIS_URL (default 127.0.0.1:6379), as the test suite does.
const apps = ["express.mjs", "express.cjs", "hono.mjs", "hono.cjs", "redis.mjs", "tenant-http.mjs"];

function log(message) {
  console.log(`[consumer] ${message}`);
}

/** Runs a command; resolves with its exit code and combined output, killing it after `timeoutMs`. */
function run(command, commandArgs, { cwd, env = process.env, timeoutMs = 300_000 } = {}) {
  return new Promise((done) => {
    const child = spawn(command, commandArgs, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      output += `\n[consumer] killed after ${timeoutMs} ms`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code: code ?? 1, output });
    });
  });
}

async function mustRun(label, command, commandArgs, options) {
  const result = await run(command, commandArgs, options);
  if (result.code !== 0) throw new Error(`${label} failed (exit ${result.code}):\n${result.output}`);
  return result.output;
}

/** The `node` binary of `major`: this process's own, or the registry's `node@<major>` package, cached. */
async function nodeBinary(major) {
  if (Number(process.versions.node.split(".")[0]) === major) return process.execPath;
  const cache = process.env.MCP_CONSUMER_CACHE ?? join(tmpdir(), "mcp-server-side-consumer-cache");
  const dir = join(cache, `node-${major}`);
  const binary = join(dir, "node_modules/node/bin/node");
  if (existsSync(binary) && (await run(binary, ["--version"])).output.startsWith(`v${major}.`)) return binary;
  log(`installing node@${major} into ${dir}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `node-${major}`, private: true }));
  await mustRun(`npm install node@${major}`, "npm", ["install", "--no-audit", "--no-fund", `node@${major}`], {
    cwd: dir,
  });
  const version = (await run(binary, ["--version"])).output.trim();
  if (!version.startsWith(`v${major}.`)) throw new Error(`node@${major} installed ${version || "nothing"}`);
  return binary;
}

/** The packages as the registry would serve them. */
async function pack(work) {
  const out = join(work, "tarballs");
  mkdirSync(out);
  const tarballs = {};
  for (const name of packages) {
    const output = await mustRun(`npm pack ${name}`, "npm", ["pack", "--json", "--pack-destination", out], {
      cwd: join(root, "packages", name),
    });
    const [info] = JSON.parse(output.slice(output.indexOf("[")));
    const path = join(out, info.filename);
    const files = info.files.map((file) => file.path);
    for (const required of ["LICENSE", "README.md", "package.json"])
      if (!files.includes(required)) throw new Error(`${info.name}: the tarball has no ${required}`);
    if (files.some((file) => file.endsWith(".map"))) throw new Error(`${info.name}: the tarball ships source maps`);
    log(
      `packed ${info.name}: ${(statSync(path).size / 1024).toFixed(0)} kB packed, ${(info.unpackedSize / 1024).toFixed(0)} kB unpacked, ${files.length} files`,
    );
    tarballs[name] = path;
  }
  return tarballs;
}

/** npm's EBADENGINE warnings, as `name@version` strings. */
function engineWarnings(output) {
  return [...output.matchAll(/EBADENGINE\s+package: '([^']+)'/g)].map((match) => match[1]);
}

async function runCell(cell, work, tarballs) {
  const started = Date.now();
  const node = await nodeBinary(cell.node);
  const env = { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH}` };
  // Nothing of the workspace may leak in: no npm_config_* or npm_package_* of an enclosing `npm run`.
  for (const key of Object.keys(env)) if (key.startsWith("npm_")) delete env[key];
  const dir = join(work, cell.name);
  cpSync(appSource, dir, { recursive: true });
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify({ name: "consumer-smoke", version: "0.0.0", private: true }, null, 2)}\n`,
  );

  // What a user types: the tarballs stand for `@mcp-server-side/*`, then the app's own packages.
  const installArgs = [
    "install",
    tarballs.core,
    tarballs.express,
    tarballs.hono,
    tarballs["storage-redis"],
    cell.ai,
    "express",
    "hono",
    "@hono/node-server",
    cell.ioredis ?? "ioredis",
    "@modelcontextprotocol/sdk",
    "zod",
    ...(cell.typecheck ? ["typescript", "@types/express", "@types/node"] : []),
  ];
  const install = await run("npm", installArgs, { cwd: dir, env, timeoutMs: 600_000 });
  if (install.code !== 0 || /ERESOLVE/.test(install.output))
    throw new Error(`${cell.name}: npm install failed (exit ${install.code}):\n${install.output}`);
  const unexpected = engineWarnings(install.output).filter((pkg) => !cell.engineWarningsAllowed?.test(pkg));
  if (unexpected.length > 0)
    throw new Error(`${cell.name}: packages that do not support Node ${cell.node}: ${unexpected.join(", ")}`);
  // `npm ls` exits non-zero on an invalid or missing peer: the state the install left behind.
  await mustRun(`${cell.name}: npm ls`, "npm", ["ls"], { cwd: dir, env });

  const aiVersion = JSON.parse(readFileSync(join(dir, "node_modules/ai/package.json"), "utf8")).version;
  if (Number(aiVersion.split(".")[0]) !== cell.expectAi)
    throw new Error(`${cell.name}: \`npm install ${cell.ai}\` installed ai@${aiVersion}, expected ${cell.expectAi}.x`);
  const ioredisVersion = JSON.parse(readFileSync(join(dir, "node_modules/ioredis/package.json"), "utf8")).version;
  if (cell.expectIoredis !== undefined && Number(ioredisVersion.split(".")[0]) !== cell.expectIoredis)
    throw new Error(`${cell.name}: \`npm install ${cell.ioredis}\` installed ioredis@${ioredisVersion}`);
  const nodeVersion = (await run(node, ["--version"])).output.trim();
  log(
    `${cell.name}: installed on Node ${nodeVersion} with ai@${aiVersion} and ioredis@${ioredisVersion} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );

  if (cell.typecheck) {
    // skipLibCheck is off so that our .d.ts files are checked; other packages' own declaration errors
    // (unstorage's optional drivers, @ai-sdk/provider's json-schema import) are theirs, and left out.
    const tsc = await run(node, [join(dir, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], {
      cwd: dir,
      env,
    });
    const errors = tsc.output
      .split("\n")
      .filter((line) => /error TS/.test(line) && !/^node_modules\/(?!@mcp-server-side\/)/.test(line));
    if (errors.length > 0 || (tsc.code !== 0 && !/error TS/.test(tsc.output)))
      throw new Error(`${cell.name}: tsc failed:\n${errors.join("\n") || tsc.output}`);
    log(`${cell.name}: the .d.ts files compile against ai@${aiVersion}`);
  }
  for (const app of apps) {
    const output = await mustRun(`${cell.name}: ${app}`, node, [app], { cwd: dir, env, timeoutMs: 60_000 });
    if (/AI SDK Warning/i.test(output)) throw new Error(`${cell.name}: ${app}: the AI SDK warned:\n${output}`);
    process.stdout.write(output.replace(/^/gm, `[consumer] ${cell.name}: `).replace(/\[consumer\] [^:]+: $/, ""));
  }
  log(`${cell.name}: passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** Whether a Redis answers PING at $REDIS_URL. */
function redisAnswers() {
  const url = new URL(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  return new Promise((done) => {
    const socket = connect(Number(url.port || 6379), url.hostname);
    socket.setTimeout(2000, () => socket.destroy());
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (data) => {
      socket.destroy();
      done(data.toString().startsWith("+PONG"));
    });
    socket.on("error", () => done(false));
    socket.on("close", () => done(false));
  });
}

async function main() {
  const started = Date.now();
  if (!(await redisAnswers()))
    throw new Error("no Redis answers at $REDIS_URL (default 127.0.0.1:6379): start one (.ci/run does)");
  if (!args.has("--no-build")) await mustRun("npm run build", "npm", ["run", "build"], { cwd: root });
  const work = mkdtempSync(join(tmpdir(), "mcp-server-side-consumer-"));
  log(`scratch folder ${work}`);
  try {
    const tarballs = await pack(work);
    // Binaries first (sequentially: one download each), then the cells two at a time.
    for (const major of new Set(matrix.map((cell) => cell.node))) await nodeBinary(major);
    const queue = [...matrix];
    const failures = [];
    const worker = async () => {
      for (let cell = queue.shift(); cell !== undefined; cell = queue.shift()) {
        try {
          await runCell(cell, work, tarballs);
        } catch (error) {
          failures.push(cell.name);
          console.error(`[consumer] FAIL ${error instanceof Error ? error.message : error}`);
        }
      }
    };
    await Promise.all([worker(), worker()]);
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    if (failures.length > 0) {
      console.error(
        `[consumer] ${failures.length} of ${matrix.length} cells failed (${failures.join(", ")}) in ${seconds} s`,
      );
      process.exitCode = 1;
    } else log(`all ${matrix.length} cells passed in ${seconds} s`);
  } finally {
    if (args.has("--keep") || process.exitCode) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

await main();
