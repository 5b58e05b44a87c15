import type { AddressInfo } from "node:net";
import { type MCPClient, createMCPClient } from "@ai-sdk/mcp";
import { type ServerType, createAdaptorServer } from "@hono/node-server";
import type { ToolSet } from "ai";
import type { MockLanguageModelV4 } from "ai/test";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createChatCompletionsHandler } from "../../src/chat/handler.js";
import type { McpRequestContext, RequestOverrides } from "../../src/types.js";
import { type ScriptEntry, type TestMcpServer, lastToolResult, scriptedModel, startMcpServer } from "./helpers.js";

/*
 * The Web handler on a real HTTP server, driven by the official `openai` client. The MCP tools come
 * from a real MCP server through the AI SDK's own MCP client; the middleware's context (tiers, scope,
 * pool) is tested end to end in the Express and Hono suites.
 */

let mcpServer: TestMcpServer;
let mcpClient: MCPClient;
let mcpTools: ToolSet;
let http: ServerType;
let baseURL: string;
/** The script the next request's model plays; each request gets a fresh model. */
let script: ScriptEntry[] = [];
let lastModel: MockLanguageModelV4 | undefined;
const overridesSeen: RequestOverrides[] = [];
const openai = (): OpenAI => new OpenAI({ baseURL, apiKey: "test-key", maxRetries: 0 });

function contextWith(tools: ToolSet): McpRequestContext {
  const errors: McpRequestContext["errors"] = [];
  return {
    tools: async () => tools,
    inject: async (params) => ({ ...params, tools: { ...tools, ...params.tools } }),
    servers: async () => [],
    instructions: async () => "Use add for arithmetic.",
    identity: async () => null,
    errors,
  };
}

beforeAll(async () => {
  mcpServer = await startMcpServer();
  mcpClient = await createMCPClient({ transport: { type: "http", url: mcpServer.url } });
  const raw = await mcpClient.tools();
  // Named as the middleware names them: server__tool.
  mcpTools = Object.fromEntries(Object.entries(raw).map(([name, tool]) => [`calc__${name}`, tool])) as ToolSet;
  const handler = createChatCompletionsHandler(
    {
      model: (id) => {
        if (id !== "scripted-model") throw new Error(`unknown model ${id}`);
        lastModel = scriptedModel(script);
        return lastModel;
      },
      maxSteps: 3,
    },
    {
      forRequest: (_request, overrides) => {
        overridesSeen.push(overrides);
        return contextWith(mcpTools);
      },
    },
  );
  http = createAdaptorServer({ fetch: handler, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  baseURL = `http://127.0.0.1:${(http.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await mcpClient.close();
  await mcpServer.close();
});

const addThenAnswer: ScriptEntry[] = [
  { toolCalls: [{ id: "call_add", name: "calc__add", input: { a: 2, b: 3 } }] },
  (prompt) => ({ text: `The sum is ${lastToolResult(prompt)}.` }),
];

describe("the chat completions handler with the openai client", () => {
  it("answers a plain chat with a chat.completion and passes system messages and settings to the model", async () => {
    script = [{ text: "Hi!" }];
    const completion = await openai().chat.completions.create({
      model: "scripted-model",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hello" },
      ],
      temperature: 0.2,
      max_completion_tokens: 50,
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe("scripted-model");
    expect(completion.choices[0]?.message.content).toBe("Hi!");
    expect(completion.usage?.total_tokens).toBe(15);
    const call = lastModel?.doGenerateCalls[0];
    expect(call?.temperature).toBe(0.2);
    expect(call?.maxOutputTokens).toBe(50);
    expect(call?.prompt.map((message) => message.role)).toEqual(["system", "system", "user"]);
    expect(call?.prompt[0]).toMatchObject({ role: "system", content: "Use add for arithmetic." });
    expect(call?.tools?.map((tool) => tool.name)).toEqual(["calc__add", "calc__echo"]);
  });

  it("runs an MCP tool on the MCP server and answers with its result, without leaking the call", async () => {
    mcpServer.calls.length = 0;
    script = addThenAnswer;
    const completion = await openai().chat.completions.create({
      model: "scripted-model",
      messages: [{ role: "user", content: "What is 2 + 3?" }],
    });
    expect(mcpServer.calls).toEqual([{ tool: "add", arguments: { a: 2, b: 3 } }]);
    expect(completion.choices[0]?.message.content).toBe("The sum is 5.");
    expect(completion.choices[0]?.message.tool_calls).toBeUndefined();
    expect(completion.choices[0]?.finish_reason).toBe("stop");
  });

  it("streams the same run as chunks that the openai client assembles", async () => {
    mcpServer.calls.length = 0;
    script = addThenAnswer;
    const stream = await openai().chat.completions.create({
      model: "scripted-model",
      messages: [{ role: "user", content: "What is 2 + 3?" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let toolCallChunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.choices[0]?.delta.tool_calls) toolCallChunks++;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(mcpServer.calls).toEqual([{ tool: "add", arguments: { a: 2, b: 3 } }]);
    expect(text).toBe("The sum is 5.");
    expect(finish).toBe("stop");
    expect(toolCallChunks).toBe(0);
    expect(usage?.total_tokens).toBe(30);
  });

  it("returns a client function tool as tool_calls and continues once the client sends its result", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "get_location",
          description: "The user's city.",
          parameters: { type: "object", properties: { precise: { type: "boolean" } } },
        },
      },
    ];
    script = [{ toolCalls: [{ id: "call_loc", name: "get_location", input: { precise: true } }] }];
    const first = await openai().chat.completions.create({
      model: "scripted-model",
      messages: [{ role: "user", content: "Where am I?" }],
      tools,
    });
    const message = first.choices[0]?.message;
    expect(first.choices[0]?.finish_reason).toBe("tool_calls");
    expect(message?.tool_calls).toEqual([
      { id: "call_loc", type: "function", function: { name: "get_location", arguments: '{"precise":true}' } },
    ]);

    script = [(prompt) => ({ text: `You are in ${lastToolResult(prompt)}.` })];
    const second = await openai().chat.completions.create({
      model: "scripted-model",
      messages: [
        { role: "user", content: "Where am I?" },
        message as OpenAI.ChatCompletionMessageParam,
        { role: "tool", tool_call_id: "call_loc", content: "Oslo" },
      ],
      tools,
    });
    expect(second.choices[0]?.message.content).toBe("You are in Oslo.");
  });

  it("streams a client tool call that the openai client's stream helper assembles", async () => {
    script = [{ text: "Checking.", toolCalls: [{ id: "call_1", name: "lookup", input: { q: "x" } }] }];
    const runner = openai().chat.completions.stream({
      model: "scripted-model",
      messages: [{ role: "user", content: "look it up" }],
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }],
    });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect(final.choices[0]?.message.content).toBe("Checking.");
    expect(final.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      id: "call_1",
      function: { name: "lookup", arguments: '{"q":"x"}' },
    });
  });

  it("hands mcp_servers and mcp_select to the request context", async () => {
    script = [{ text: "ok" }];
    overridesSeen.length = 0;
    await openai().chat.completions.create({
      model: "scripted-model",
      messages: [{ role: "user", content: "hi" }],
      // @ts-expect-error: the extension fields are not in OpenAI's types
      mcp_servers: {},
      mcp_select: ["calc"],
    });
    expect(overridesSeen).toEqual([{ servers: {}, select: ["calc"] }]);
  });

  it("forces tool_choice only for the first step, so the model can answer the tool's result", async () => {
    script = addThenAnswer;
    const completion = await openai().chat.completions.create({
      model: "scripted-model",
      messages: [{ role: "user", content: "2+3" }],
      tool_choice: "required",
    });
    expect(completion.choices[0]?.message.content).toBe("The sum is 5.");
    expect(lastModel?.doGenerateCalls.map((call) => call.toolChoice)).toEqual([{ type: "required" }, { type: "auto" }]);
  });
});

describe("errors in OpenAI's shape", () => {
  it("answers a malformed request with 400 and the failing param", async () => {
    const error = await openai()
      .chat.completions.create({ model: "scripted-model", messages: [{ role: "user" }] } as never)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const apiError = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(apiError.status).toBe(400);
    expect(apiError.type).toBe("invalid_request_error");
    expect(apiError.param).toBe("messages[0].content");
  });

  it("answers an unknown model with 404 model_not_found", async () => {
    const error = await openai()
      .chat.completions.create({ model: "gpt-unknown", messages: [{ role: "user", content: "hi" }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
  });

  it("answers a tool_choice naming no tool with 400", async () => {
    const error = await openai()
      .chat.completions.create({
        model: "scripted-model",
        messages: [{ role: "user", content: "hi" }],
        tool_choice: { type: "function", function: { name: "nope" } },
      })
      .catch((caught: unknown) => caught);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("tool_choice");
  });

  it("answers a tool result without its call with 400", async () => {
    const error = await openai()
      .chat.completions.create({
        model: "scripted-model",
        messages: [
          { role: "user", content: "hi" },
          { role: "tool", tool_call_id: "ghost", content: "x" },
        ],
      })
      .catch((caught: unknown) => caught);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("messages[1].tool_call_id");
  });

  it("answers bodies that are not JSON, too large, or carry prototype keys, and other methods", async () => {
    const url = `${baseURL}/chat/completions`;
    const post = (body: string, type = "application/json") =>
      fetch(url, { method: "POST", headers: { "content-type": type }, body });
    const notJson = await post("{nope");
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
    expect((await post("{}", "text/plain")).status).toBe(415);
    expect((await post(JSON.stringify({ model: "m", messages: [], pad: "x".repeat(1024 * 1024) }))).status).toBe(413);
    const polluted = await post('{"model":"m","messages":[{"role":"user","content":"hi","__proto__":{"x":1}}]}');
    expect(polluted.status).toBe(400);
    const get = await fetch(url);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });
});
