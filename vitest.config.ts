import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const source = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: "@mcp-server-side/core/adapter", replacement: source("./packages/core/src/adapter.ts") },
      { find: "@mcp-server-side/core/node", replacement: source("./packages/core/src/node/index.ts") },
      { find: "@mcp-server-side/core/testing", replacement: source("./packages/core/src/testing/index.ts") },
      { find: "@mcp-server-side/core/store", replacement: source("./packages/core/src/store/index.ts") },
      { find: "@mcp-server-side/core", replacement: source("./packages/core/src/index.ts") },
      { find: "@mcp-server-side/express", replacement: source("./packages/express/src/index.ts") },
      { find: "@mcp-server-side/hono", replacement: source("./packages/hono/src/index.ts") },
      { find: "@mcp-server-side/storage-redis", replacement: source("./packages/storage-redis/src/index.ts") },
    ],
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/*/test/**/*.test.ts"],
    // The instance's default console logger heads its lines so; tests that cause warnings on purpose stay quiet.
    onConsoleLog: (log) => !log.startsWith("mcp-server-side:"),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});
