import { startAuditApp } from "./app.js";

// Register, change and remove servers through http://127.0.0.1:3000/mcp-servers and watch audit.log.
const app = await startAuditApp({ port: Number(process.env.PORT ?? 3000) });
console.log(`audit-log demo on ${app.url}; JSON lines go to ${app.file}`);
console.log(
  `try: curl -s -X POST ${app.url}/mcp-servers -H 'x-api-key: demo' -H 'x-request-id: my-first' -H 'content-type: application/json' -d '{"name":"docs","url":"https://docs.example.com/mcp"}'`,
);
process.on("SIGINT", () => {
  void app.close().then(() => process.exit(0));
});
