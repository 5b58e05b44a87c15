/**
 * `npm start` (here): starts a local authorization server, an OAuth-protected MCP server and the app,
 * runs the walkthrough (Alice connects and gets her issues, Bob gets oauth_required, Alice
 * disconnects), and exits. `npm run serve` keeps serving on :3000 for your browser afterwards.
 */
import { startOAuthDemo } from "./demo.js";
import { runWalkthrough } from "./walkthrough.js";

const serve = process.argv.includes("--serve");
const demo = await startOAuthDemo({
  app: Number(process.env.PORT ?? (serve ? 3000 : 0)),
  auth: Number(process.env.AUTH_PORT ?? (serve ? 3400 : 0)),
  mcp: Number(process.env.MCP_PORT ?? (serve ? 3401 : 0)),
});
console.log(`app: ${demo.appUrl}`);
try {
  await runWalkthrough(demo.appUrl);
} catch (error) {
  console.error("The walkthrough failed:", error);
  await demo.close();
  process.exit(1);
}
if (serve) {
  console.log(`\nOpen ${demo.appUrl}/ in a browser (log in as alice or bob, then Connect). Ctrl-C stops.`);
} else {
  await demo.close();
}
