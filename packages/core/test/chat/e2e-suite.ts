import type { McpServerSideOptions } from "@mcp-server-side/core";
import type { LanguageModel } from "ai";
import type { MockLanguageModelV4 } from "ai/test";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ScriptEntry, type TestMcpServer, lastToolResult, scriptedModel, startMcpServer } from "./helpers.js";

/** A running app with the middleware mounted; `url` is its origin (`http://127.0.0.1:port`). */
export interface RunningApp {
  url: string;
  close(): Promise<void>;
}

/** What each end-to-end suite runs against: one app, two real MCP servers, the model it scripts. */
export interface ScriptedApp {
  readonly app: RunningApp;
  /** The config tier's `calc` server. */
  readonly calc: TestMcpServer;
  /** A second server, for the suite to register or to name in a request. */
  readonly second: TestMcpServer;
  /** What the `scripted` model plays on its next run. */
  script: ScriptEntry[];
  /** The `scripted` model of the last run. */
  readonly lastModel: MockLanguageModelV4 | undefined;
  /** The official `openai` client against the app's `/v1`. */
  client(apiKey?: string): OpenAI;
  /** The tool names the model was offered on its first call. */
  offeredTools(): string[];
}

/**
 * Starts (in `beforeAll`) two real MCP servers and the app, with `calc` in the config tier and the
 * `scripted` model (or one of `models`) behind the OpenAI endpoints; closes them in `afterAll`.
 */
export function useScriptedApp(
  startApp: (options: McpServerSideOptions) => Promise<RunningApp>,
  options: { models?: Record<string, () => LanguageModel>; listed?: string[] } = {},
): ScriptedApp {
  let app: RunningApp | undefined;
  let calc: TestMcpServer | undefined;
  let second: TestMcpServer | undefined;
  let lastModel: MockLanguageModelV4 | undefined;
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the app starts in beforeAll");
    return value;
  };
  const harness: ScriptedApp = {
    get app() {
      return started(app);
    },
    get calc() {
      return started(calc);
    },
    get second() {
      return started(second);
    },
    script: [],
    get lastModel() {
      return lastModel;
    },
    client: (apiKey = "key-tenant-a") => new OpenAI({ baseURL: `${started(app).url}/v1`, apiKey, maxRetries: 0 }),
    offeredTools: () =>
      (lastModel?.doGenerateCalls[0] ?? lastModel?.doStreamCalls[0])?.tools?.map((tool) => tool.name) ?? [],
  };

  beforeAll(async () => {
    calc = await startMcpServer();
    second = await startMcpServer();
    app = await startApp({
      config: { mcpServers: { calc: { url: calc.url } } },
      // The second server listens on 127.0.0.1 over http; a real deployment would not open this.
      allowPrivateNetworks: true,
      requireHttps: false,
      chatCompletions: {
        model: (id) => {
          const other = options.models?.[id];
          if (other !== undefined) return other();
          if (id !== "scripted") throw new Error(`no model ${id}`);
          lastModel = scriptedModel(harness.script);
          return lastModel;
        },
        ...(options.listed === undefined ? {} : { models: options.listed }),
        maxSteps: 4,
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    await calc?.close();
    await second?.close();
  });
  return harness;
}

/** The model calls `calc__add` with 20 and 22, then answers with the tool's result. */
export const addThenAnswer: ScriptEntry[] = [
  { toolCalls: [{ id: "call_add", name: "calc__add", input: { a: 20, b: 22 } }] },
  (prompt) => ({ text: `The answer is ${lastToolResult(prompt)}.` }),
];

/**
 * The OpenAI endpoint end to end, run by the Express and the Hono suites alike: the official `openai`
 * client against a real app on a port, the middleware's real context and pool, and a real MCP server
 * in the config tier. Only the language model is scripted.
 */
export function describeChatCompletionsEndToEnd(
  adapter: string,
  startApp: (options: McpServerSideOptions) => Promise<RunningApp>,
  setup: {
    /**
     * The app parses JSON before the middleware (`app.use(express.json())` first): a body that is not
     * JSON is then refused by the app's parser (with its own 400 page) before the endpoint sees it.
     */
    appParsesJsonFirst?: boolean;
  } = {},
): void {
  describe(`the OpenAI-compatible endpoint through ${adapter}`, () => {
    const e2e = useScriptedApp(startApp);
    const { client, offeredTools } = e2e;

    it("answers a plain chat as a chat.completion", async () => {
      e2e.script = [{ text: "Hello from the server." }];
      const completion = await client().chat.completions.create({
        model: "scripted",
        messages: [{ role: "user", content: "Hi" }],
      });
      expect(completion.object).toBe("chat.completion");
      expect(completion.choices[0]?.message.content).toBe("Hello from the server.");
      expect(completion.choices[0]?.finish_reason).toBe("stop");
      expect(completion.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
      expect(offeredTools()).toEqual(["calc__add", "calc__echo"]);
    });

    it("calls the MCP tool on the MCP server and answers with its result, not showing the call", async () => {
      e2e.calc.calls.length = 0;
      e2e.script = addThenAnswer;
      const completion = await client().chat.completions.create({
        model: "scripted",
        messages: [{ role: "user", content: "What is 20 + 22?" }],
      });
      expect(e2e.calc.calls).toEqual([{ tool: "add", arguments: { a: 20, b: 22 } }]);
      expect(completion.choices[0]?.message.content).toBe("The answer is 42.");
      expect(completion.choices[0]?.message.tool_calls).toBeUndefined();
      expect(completion.usage?.total_tokens).toBe(30);
    });

    it("streams the same run as chunks ending with [DONE]", async () => {
      e2e.calc.calls.length = 0;
      e2e.script = addThenAnswer;
      const stream = await client().chat.completions.create({
        model: "scripted",
        messages: [{ role: "user", content: "What is 20 + 22?" }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | null | undefined;
      let sawToolCall = false;
      for await (const chunk of stream) {
        expect(chunk.object).toBe("chat.completion.chunk");
        text += chunk.choices[0]?.delta.content ?? "";
        finish = chunk.choices[0]?.finish_reason ?? finish;
        sawToolCall ||= chunk.choices[0]?.delta.tool_calls !== undefined;
        usage = chunk.usage ?? usage;
      }
      expect(e2e.calc.calls).toEqual([{ tool: "add", arguments: { a: 20, b: 22 } }]);
      expect(text).toBe("The answer is 42.");
      expect(finish).toBe("stop");
      expect(sawToolCall).toBe(false);
      expect(usage?.total_tokens).toBe(30);
    });

    it("ends the raw event stream with data: [DONE]", async () => {
      e2e.script = [{ text: "ok" }];
      const response = await fetch(`${e2e.app.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "scripted", stream: true, messages: [{ role: "user", content: "hi" }] }),
      });
      expect(response.headers.get("content-type")).toContain("text/event-stream");
      expect((await response.text()).trimEnd().endsWith("data: [DONE]")).toBe(true);
    });

    it("returns the client's function tool as tool_calls with finish_reason tool_calls", async () => {
      e2e.calc.calls.length = 0;
      e2e.script = [
        {
          toolCalls: [
            { id: "call_add", name: "calc__add", input: { a: 1, b: 1 } },
            { id: "call_ui", name: "show_confetti", input: { colour: "gold" } },
          ],
        },
      ];
      const completion = await client().chat.completions.create({
        model: "scripted",
        messages: [{ role: "user", content: "Celebrate 1 + 1" }],
        tools: [
          {
            type: "function",
            function: {
              name: "show_confetti",
              parameters: { type: "object", properties: { colour: { type: "string" } }, required: ["colour"] },
            },
          },
        ],
      });
      expect(completion.choices[0]?.finish_reason).toBe("tool_calls");
      expect(completion.choices[0]?.message.tool_calls).toEqual([
        { id: "call_ui", type: "function", function: { name: "show_confetti", arguments: '{"colour":"gold"}' } },
      ]);
      // The MCP call of the same step ran here and is not handed to the client.
      expect(e2e.calc.calls).toEqual([{ tool: "add", arguments: { a: 1, b: 1 } }]);
    });

    it("offers no MCP tool to a request that opts out with mcp_servers: {}", async () => {
      e2e.calc.calls.length = 0;
      e2e.script = [{ text: "No tools today." }];
      const completion = await client().chat.completions.create({
        model: "scripted",
        messages: [{ role: "user", content: "Hi" }],
        // @ts-expect-error: mcp_servers is this endpoint's extension of the OpenAI request
        mcp_servers: {},
      });
      expect(completion.choices[0]?.message.content).toBe("No tools today.");
      expect(offeredTools()).toEqual([]);
      expect(e2e.calc.calls).toEqual([]);
    });

    it("answers a malformed request with a 400 in OpenAI's error shape", async () => {
      const error = await client()
        .chat.completions.create({ model: "scripted", messages: [{ role: "wizard", content: "hi" }] } as never)
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      const badRequest = error as InstanceType<typeof OpenAI.BadRequestError>;
      expect(badRequest.status).toBe(400);
      expect(badRequest.type).toBe("invalid_request_error");
      expect(badRequest.param).toBe("messages[0].role");

      const raw = await fetch(`${e2e.app.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"model": "scripted", "messages": ',
      });
      expect(raw.status).toBe(400);
      if (setup.appParsesJsonFirst) return;
      const body = (await raw.json()) as { error: Record<string, unknown> };
      expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
    });

    it("gives a caller the servers of its own scope only, as the other routes do", async () => {
      const registered = await fetch(`${e2e.app.url}/mcp-servers`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer key-tenant-a" },
        body: JSON.stringify({ name: "notes", url: e2e.second.url }),
      });
      expect(registered.status).toBe(201);

      e2e.script = [{ text: "ok" }];
      await client("key-tenant-a").chat.completions.create({
        model: "scripted",
        messages: [{ role: "user", content: "hi" }],
      });
      expect(offeredTools()).toEqual(expect.arrayContaining(["calc__add", "notes__add", "notes__echo"]));

      await client("key-tenant-b").chat.completions.create({
        model: "scripted",
        messages: [{ role: "user", content: "hi" }],
      });
      expect(offeredTools()).toEqual(["calc__add", "calc__echo"]);

      // Without a key: no 401 (that is for the management routes), and only config and global servers.
      const anonymous = await fetch(`${e2e.app.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "scripted", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(anonymous.status).toBe(200);
      expect(offeredTools()).toEqual(["calc__add", "calc__echo"]);
    });
  });
}
