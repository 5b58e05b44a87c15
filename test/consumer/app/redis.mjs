// The Redis store with the app's own ioredis (a peer dependency: 5 or 6), against the Redis on
// $REDIS_URL (default 127.0.0.1:6379): a tenant registration is written to Redis and read back,
// and the chat turn runs as in the other apps.
import { randomBytes } from "node:crypto";
import assert from "node:assert/strict";
import { mcpServerSide } from "@mcp-server-side/express";
import { redisStore } from "@mcp-server-side/storage-redis";
import { generateText, stepCountIs } from "ai";
import express from "express";
import { Redis } from "ioredis";
import { chatBody, config, drive, scriptedModel } from "./smoke.mjs";

const client = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const prefix = `consumer-smoke:${randomBytes(6).toString("hex")}:`;
const app = express();
app.use(express.json());
const middleware = mcpServerSide({
  config,
  storage: redisStore({ client, prefix }),
  encryptionKey: randomBytes(32).toString("base64"),
  // The registration below names a loopback address (no DNS, nothing listening: it is only stored).
  allowedHosts: ["127.0.0.1:9"],
});
app.use(middleware);
app.post("/chat", async (req, res) => {
  const result = await generateText({
    model: scriptedModel(),
    messages: req.body.messages,
    tools: await req.mcp.tools(),
    stopWhen: stepCountIs(5),
  });
  res.json(chatBody(result));
});
const server = app.listen(0, "127.0.0.1");
await new Promise((resolve) => server.once("listening", resolve));
const baseUrl = `http://127.0.0.1:${server.address().port}`;
try {
  const registered = await fetch(`${baseUrl}/mcp-servers`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "tenant-a" },
    body: JSON.stringify({ name: "docs", url: "http://127.0.0.1:9/mcp", availability: "default_off" }),
  });
  assert.equal(
    registered.status,
    201,
    `redis: POST /mcp-servers answered ${registered.status}: ${await registered.text()}`,
  );
  const keys = await client.keys(`${prefix}*`);
  assert.ok(keys.length > 0, "redis: the registration wrote nothing under the store's prefix");
  const one = await fetch(`${baseUrl}/mcp-servers/docs`, { headers: { "x-api-key": "tenant-a" } });
  assert.equal(one.status, 200, `redis: GET /mcp-servers/docs answered ${one.status}`);
  await drive("express esm + redis store", baseUrl);
} finally {
  server.close();
  await middleware.mcp.close();
  const keys = await client.keys(`${prefix}*`);
  if (keys.length > 0) await client.del(...keys);
  client.disconnect();
}
