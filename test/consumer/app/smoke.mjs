// The smoke driver shared by the four apps (Express and Hono, ESM and CJS): it only talks HTTP to the
// app under test and hands the app a scripted model. The one fake is the AI SDK's own test model.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as aiTest from "ai/test";

/** The app's config tier: the stdio server next to this file, started with the Node running the app. */
export const config = {
  mcpServers: {
    smoke: { command: process.execPath, args: [fileURLToPath(new URL("./mcp-server.mjs", import.meta.url))] },
  },
};

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

/**
 * A model that calls the injected `add` tool, then `pixel`, then answers with what it read back. AI SDK 7
 * ships MockLanguageModelV4, AI SDK 6 MockLanguageModelV3; both take the same results here.
 */
export function scriptedModel() {
  const Mock = aiTest.MockLanguageModelV4 ?? aiTest.MockLanguageModelV3;
  const prompts = [];
  const model = new Mock({
    doGenerate: async (options) => {
      prompts.push(options.prompt);
      const names = (options.tools ?? []).map((tool) => tool.name);
      const step = prompts.length;
      if (step === 1 || step === 2) {
        const toolName = names.find((name) => name.endsWith(step === 1 ? "__add" : "__pixel"));
        assert.ok(toolName, `the model was not offered the injected tool (it got: ${names.join(", ")})`);
        const input = step === 1 ? { a: 2, b: 3 } : {};
        return {
          content: [{ type: "tool-call", toolCallId: `call-${step}`, toolName, input: JSON.stringify(input) }],
          finishReason: { unified: "tool-calls", raw: "tool_calls" },
          usage,
          warnings: [],
        };
      }
      const results = options.prompt.filter((message) => message.role === "tool").flatMap((message) => message.content);
      return {
        content: [{ type: "text", text: `results: ${JSON.stringify(results.map((part) => part.output))}` }],
        finishReason: { unified: "stop", raw: "stop" },
        usage,
        warnings: [],
      };
    },
  });
  return model;
}

/** Drives a running app: the management route lists the stdio server, and a chat turn runs its tools. */
export async function drive(name, baseUrl) {
  const listed = await fetch(`${baseUrl}/mcp-servers`, { headers: { "x-api-key": "tenant-a" } });
  assert.equal(listed.status, 200, `${name}: GET /mcp-servers answered ${listed.status}`);
  const body = await listed.json();
  assert.ok(JSON.stringify(body).includes('"smoke"'), `${name}: GET /mcp-servers does not list the smoke server`);

  const chat = await fetch(`${baseUrl}/chat`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "tenant-a" },
    body: JSON.stringify({ messages: [{ role: "user", content: "add 2 and 3, then draw a pixel" }] }),
  });
  assert.equal(chat.status, 200, `${name}: POST /chat answered ${chat.status}: ${await chat.clone().text()}`);
  const { text, toolResults, warnings } = await chat.json();
  // The MCP result reaches the app as MCP content, and the model reads it back as its tool output.
  assert.deepEqual(
    toolResults[0],
    { content: [{ type: "text", text: "5" }] },
    `${name}: add returned ${JSON.stringify(toolResults[0])}`,
  );
  const outputs = JSON.parse(text.slice("results: ".length));
  assert.deepEqual(
    outputs[0],
    { type: "content", value: [{ type: "text", text: "5" }] },
    `${name}: the model read ${text}`,
  );
  // The image reached the model as a binary part, spelled so that the installed AI SDK reads it without
  // a deprecation warning (the runner fails on any "AI SDK Warning" the app prints).
  const image = outputs[1]?.value?.[0];
  assert.equal(image?.mediaType, "image/png", `${name}: the model did not get the pixel: ${text}`);
  assert.match(JSON.stringify(image), /iVBORw0KGgo/, `${name}: the model did not get the pixel's bytes: ${text}`);
  assert.deepEqual(warnings, [], `${name}: the AI SDK warned: ${JSON.stringify(warnings)}`);
  console.log(`  ok ${name}`);
}

/** The body the apps' /chat routes answer with. */
export function chatBody(result) {
  return {
    text: result.text,
    toolResults: result.steps.flatMap((step) => step.toolResults.map((part) => part.output)),
    warnings: result.steps.flatMap((step) => step.warnings ?? []),
  };
}
