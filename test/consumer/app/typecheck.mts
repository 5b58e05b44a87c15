// Compiled with `tsc` against the installed packages (strict, NodeNext, skipLibCheck off): the
// published .d.ts files must compile against whichever AI SDK (6 or 7) the app installed.
import { createServer } from "node:http";
import { createMcpServerSide, type McpRequestContext } from "@mcp-server-side/core";
import { sendWebResponse, toWebRequest } from "@mcp-server-side/core/node";
import { mcpServerSide as expressMcp } from "@mcp-server-side/express";
import { type McpServerSideEnv, mcpServerSide as honoMcp } from "@mcp-server-side/hono";
import { type LanguageModel, type ToolSet, generateText, stepCountIs } from "ai";
import express from "express";
import { Hono } from "hono";

declare const model: LanguageModel;

const core = createMcpServerSide({ config: { mcpServers: {} } });
export async function fetchHandler(request: Request): Promise<Response> {
  const managed = await core.handle(request);
  if (managed) return managed;
  const context: McpRequestContext = core.forRequest(request);
  const tools: ToolSet = await context.tools();
  const result = await generateText({ model, prompt: "hi", tools, stopWhen: stepCountIs(5) });
  return Response.json({ text: result.text, errors: context.errors });
}
// The same handler on node:http without a framework, through the core's Node ↔ Web conversion.
createServer((req, res) => {
  void fetchHandler(toWebRequest(req, { response: res })).then((response) => sendWebResponse(res, response));
});

const app = express();
app.use(express.json());
app.use(expressMcp({ config: { mcpServers: {} } }));
app.post("/chat", async (req, res) => {
  const result = await generateText({ model, messages: req.body.messages, tools: await req.mcp.tools() });
  res.json({ text: result.text });
});

const hono = new Hono<McpServerSideEnv>();
hono.use(honoMcp({ config: { mcpServers: {} } }));
hono.post("/chat", async (c) => {
  const result = await generateText({ model, prompt: "hi", tools: await c.var.mcp.tools() });
  return c.json({ text: result.text });
});
