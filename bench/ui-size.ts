/**
 * What a page loads for the settings UI (`npm run bench:ui`): the bytes of `{basePath}/ui` and
 * `{basePath}/ui/element.js` as the middleware serves them, raw and gzipped (level 9, as a CDN or
 * compression middleware would send them). Budget: 12 KiB gzipped for both together.
 *
 * Prints a table and writes bench/results/ui-size.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { createMcpServerSide } from "../packages/core/src/index.js";

const BUDGET_GZIPPED = 12 * 1024;

const mcp = createMcpServerSide({ ui: true, logger: false, warmup: false });
const rows: { file: string; bytes: number; gzipped: number }[] = [];
for (const file of ["/mcp-servers/ui", "/mcp-servers/ui/element.js"]) {
  const response = await mcp.handle(new Request(`http://bench.test${file}`));
  const body = Buffer.from(await (response as Response).arrayBuffer());
  rows.push({ file, bytes: body.length, gzipped: gzipSync(body, { level: 9 }).length });
}
await mcp.close();

const total = rows.reduce((sum, row) => sum + row.gzipped, 0);
console.table([...rows, { file: "total", bytes: rows.reduce((sum, row) => sum + row.bytes, 0), gzipped: total }]);
const verdict = total <= BUDGET_GZIPPED ? "met" : "NOT met";
console.log(`settings UI: ${total} B gzipped, budget ${BUDGET_GZIPPED} B: ${verdict}`);

const directory = fileURLToPath(new URL("./results/", import.meta.url));
mkdirSync(directory, { recursive: true });
writeFileSync(
  `${directory}ui-size.json`,
  `${JSON.stringify({ rows, totalGzipped: total, budgetGzipped: BUDGET_GZIPPED }, null, 2)}\n`,
);
console.log("wrote bench/results/ui-size.json");
if (total > BUDGET_GZIPPED) process.exitCode = 1;
