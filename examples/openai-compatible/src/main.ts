/**
 * `npm start` (here): starts the example MCP server and the OpenAI-compatible app, runs the openai
 * client against it, and exits. `npm run serve` (or OPENAI_API_KEY=…) keeps serving for curl.
 *
 *   OPENAI_API_KEY   use real OpenAI models (`model` in the request picks which); else a scripted model
 *   PORT             the app's port when serving (default 3000); MCP_PORT the MCP server's (default 3334)
 */
import type { AddressInfo } from "node:net";
import type { LanguageModel } from "ai";
import { startExampleServer } from "example-mcp-server";
import { createOpenAICompatibleApp } from "./app.js";
import { runClientDemo } from "./client-demo.js";
import { runResponsesDemo } from "./responses-demo.js";
import { createScriptedModel } from "./scripted-model.js";

const real = process.env.OPENAI_API_KEY !== undefined;
const serve = real || process.argv.includes("--serve");
const port = (name: string, fallback: number): number => Number(process.env[name] ?? (serve ? fallback : 0));

let model: (id: string) => LanguageModel = () => createScriptedModel();
if (real) {
  // Loaded only when used, so the scripted demo never needs the provider package.
  const { openai } = await import("@ai-sdk/openai");
  // Callers pick the model by name: allow the ones you pay for; any other name is a 404 model_not_found.
  const allowed = new Set(["gpt-4o-mini", "gpt-4.1-mini", process.env.OPENAI_MODEL]);
  model = (id) => {
    if (!allowed.has(id)) throw new Error(`model ${id} is not offered here`);
    return openai(id);
  };
}

const weather = await startExampleServer({ port: port("MCP_PORT", 3334) });
const modelId = real ? (process.env.OPENAI_MODEL ?? "gpt-4o-mini") : "scripted";
const { app, mcp } = createOpenAICompatibleApp({ model, models: [modelId], weatherServerUrl: weather.url });
const server = app.listen(port("PORT", 3000), "127.0.0.1");
await new Promise<void>((resolve) => server.once("listening", () => resolve()));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const stop = async (): Promise<void> => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await mcp.close();
  await weather.close();
};

console.log(`OpenAI-compatible endpoint: ${origin}/v1/chat/completions and ${origin}/v1/responses`);
console.log(`MCP server "weather":       ${weather.url}`);
try {
  await runClientDemo(`${origin}/v1`, modelId);
  await runResponsesDemo(`${origin}/v1`, modelId, weather.url);
} catch (error) {
  console.error("\nThe demo failed:", error);
  await stop();
  process.exit(1);
}

if (!serve) {
  await stop();
} else {
  const body = JSON.stringify({ model: modelId, messages: [{ role: "user", content: "Weather in Paris?" }] });
  console.log(`\nServing. Try:\n  curl -s ${origin}/v1/chat/completions -H 'Authorization: Bearer my-key' \\`);
  console.log(`    -H 'Content-Type: application/json' -d '${body}'`);
  process.once("SIGINT", () => void stop().then(() => process.exit(0)));
  process.once("SIGTERM", () => void stop().then(() => process.exit(0)));
}
