import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    "adapter/index": "src/adapter.ts",
    "node/index": "src/node/index.ts",
    "store/index": "src/store/index.ts",
    "testing/index": "src/testing/index.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: false,
  clean: true,
  target: "node20",
  treeshake: true,
  splitting: true,
});
