import { createOpenAI } from "@ai-sdk/openai";
import { ChatOpenAI } from "@langchain/openai";
import type { McpServerSideOptions } from "@mcp-server-side/core";
import { APICallError, generateText, streamText } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { addThenAnswer, type RunningApp, useScriptedApp } from "./e2e-suite.js";
import { lastToolResult } from "./helpers.js";

type StreamValue = Extract<
  Exclude<ConstructorParameters<typeof MockLanguageModelV4>[0], undefined>["doStream"],
  { stream: unknown }
>;
type StreamPart = StreamValue["stream"] extends ReadableStream<infer P> ? P : never;

const USAGE = {
  inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 5, text: 5, reasoning: 0 },
};

/** A provider that rate-limits every call, as an OpenAI-style upstream does (429 with Retry-After). */
function rateLimitedModel(): MockLanguageModelV4 {
  const error = (): APICallError =>
    new APICallError({
      message: "Rate limit reached for requests",
      url: "https://api.example.com/v1/responses",
      requestBodyValues: {},
      statusCode: 429,
      responseHeaders: { "retry-after": "7" },
      // The AI SDK would retry it itself; the test wants the caller to see the 429 at once.
      isRetryable: false,
    });
  return new MockLanguageModelV4({
    doGenerate: async () => {
      throw error();
    },
    doStream: async () => {
      throw error();
    },
  });
}

/** A provider whose stream sends some text and then drops (the connection went away). */
function droppingModel(): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    doStream: async () => ({
      stream: (() => {
        const parts: StreamPart[] = [
          { type: "stream-start", warnings: [] },
          { type: "text-start", id: "t" },
          { type: "text-delta", id: "t", delta: "The answer is" },
        ];
        let index = 0;
        // One part per pull, then the failure: erroring at once would drop the parts still queued.
        return new ReadableStream<StreamPart>({
          pull(controller) {
            const part = parts[index++];
            if (part === undefined) controller.error(new TypeError("terminated"));
            else controller.enqueue(part);
          },
        });
      })(),
    }),
    doGenerate: async () => ({
      content: [{ type: "text", text: "unused" }],
      finishReason: { unified: "stop", raw: undefined },
      usage: USAGE,
      warnings: [],
    }),
  });
}

/**
 * The rest of the OpenAI-compatible surface end to end, run by the Express and the Hono suites: the
 * Responses API (through the official `openai` client, `@ai-sdk/openai`'s default provider and
 * LangChain), `GET /v1/models`, approvals, upstream errors and request ids. Real MCP servers count
 * every call they receive; only the language model is scripted.
 */
export function describeOpenAISurfaceEndToEnd(
  adapter: string,
  startApp: (options: McpServerSideOptions) => Promise<RunningApp>,
): void {
  describe(`the Responses API and the rest of the OpenAI surface through ${adapter}`, () => {
    const e2e = useScriptedApp(startApp, {
      models: { limited: rateLimitedModel, dropping: droppingModel },
      listed: ["scripted", "openai/gpt-4o"],
    });
    const { client, offeredTools } = e2e;
    const notesTool = (requireApproval?: "always" | "never") =>
      ({
        type: "mcp",
        server_label: "notes",
        server_url: e2e.second.url,
        ...(requireApproval === undefined ? {} : { require_approval: requireApproval }),
      }) as const;

    describe("POST /v1/responses with the openai client", () => {
      it("answers a string input with a message item, output_text and usage", async () => {
        e2e.script = [{ text: "Hello from the server." }];
        const response = await client().responses.create({
          model: "scripted",
          input: "Hi",
          instructions: "Be brief.",
        });
        expect(response.object).toBe("response");
        expect(response.status).toBe("completed");
        expect(response.output_text).toBe("Hello from the server.");
        expect(response.usage).toMatchObject({ input_tokens: 10, output_tokens: 5, total_tokens: 15 });
        const prompt = e2e.lastModel?.doStreamCalls[0]?.prompt ?? [];
        expect(prompt[0]).toMatchObject({ role: "system", content: "Be brief." });
        expect(offeredTools()).toEqual(["calc__add", "calc__echo"]);
      });

      it("runs the MCP tool on the MCP server and reports mcp_list_tools and mcp_call items", async () => {
        e2e.calc.calls.length = 0;
        e2e.script = addThenAnswer;
        const response = await client().responses.create({ model: "scripted", input: "What is 20 + 22?" });
        expect(e2e.calc.calls).toEqual([{ tool: "add", arguments: { a: 20, b: 22 } }]);
        expect(response.output_text).toBe("The answer is 42.");
        expect(response.output.map((item) => item.type)).toEqual(["mcp_list_tools", "mcp_call", "message"]);
        const listing = response.output[0] as OpenAI.Responses.ResponseOutputItem.McpListTools;
        expect(listing.server_label).toBe("calc");
        expect(listing.tools.map((tool) => tool.name)).toEqual(["add", "echo"]);
        expect(response.output[1]).toMatchObject({
          type: "mcp_call",
          server_label: "calc",
          name: "add",
          arguments: '{"a":20,"b":22}',
          output: "42",
          error: null,
          status: "completed",
        });
        expect(response.usage?.total_tokens).toBe(30);
      });

      it("streams typed events that responses.stream() accumulates into the same response", async () => {
        e2e.calc.calls.length = 0;
        e2e.script = addThenAnswer;
        const stream = client().responses.stream({ model: "scripted", input: "What is 20 + 22?" });
        const types: string[] = [];
        let deltas = "";
        for await (const event of stream) {
          types.push(event.type);
          if (event.type === "response.output_text.delta") deltas += event.delta;
        }
        const final = await stream.finalResponse();
        expect(e2e.calc.calls).toEqual([{ tool: "add", arguments: { a: 20, b: 22 } }]);
        expect(deltas).toBe("The answer is 42.");
        expect(final.output_text).toBe("The answer is 42.");
        expect(final.status).toBe("completed");
        expect(types.slice(0, 2)).toEqual(["response.created", "response.in_progress"]);
        expect(types.at(-1)).toBe("response.completed");
        expect(types).toEqual(
          expect.arrayContaining([
            "response.output_item.added",
            "response.mcp_call.completed",
            "response.content_part.added",
            "response.output_text.done",
            "response.output_item.done",
          ]),
        );
      });

      it("returns the client's function tool as a function_call item and takes its output back", async () => {
        e2e.calc.calls.length = 0;
        e2e.script = [{ toolCalls: [{ id: "call_ui", name: "show_confetti", input: { colour: "gold" } }] }];
        const tools: OpenAI.Responses.Tool[] = [
          {
            type: "function",
            name: "show_confetti",
            parameters: { type: "object", properties: { colour: { type: "string" } }, required: ["colour"] },
            strict: false,
          },
        ];
        const first = await client().responses.create({ model: "scripted", input: "Celebrate", tools });
        const call = first.output.find((item) => item.type === "function_call");
        expect(call).toMatchObject({ call_id: "call_ui", name: "show_confetti", arguments: '{"colour":"gold"}' });
        expect(first.status).toBe("completed");

        e2e.script = [(prompt) => ({ text: `Shown: ${lastToolResult(prompt)}` })];
        const second = await client().responses.create({
          model: "scripted",
          tools,
          input: [
            { role: "user", content: "Celebrate" },
            ...(first.output as OpenAI.Responses.ResponseInputItem[]),
            { type: "function_call_output", call_id: "call_ui", output: "confetti shown" },
          ],
        });
        expect(second.output_text).toBe("Shown: confetti shown");
        expect(e2e.calc.calls).toEqual([]);
      });

      it("streams a function call's arguments as function_call_arguments events", async () => {
        e2e.script = [{ toolCalls: [{ id: "call_ui", name: "show_confetti", input: { colour: "red" } }] }];
        const stream = client().responses.stream({
          model: "scripted",
          input: "Celebrate",
          tools: [{ type: "function", name: "show_confetti", parameters: { type: "object" }, strict: false }],
        });
        let args = "";
        for await (const event of stream) {
          if (event.type === "response.function_call_arguments.delta") args += event.delta;
        }
        expect(args).toBe('{"colour":"red"}');
        const final = await stream.finalResponse();
        expect(final.output.find((item) => item.type === "function_call")).toMatchObject({ call_id: "call_ui" });
      });

      it("maps a { type: 'mcp' } tool to a request-tier server whose calls really run there", async () => {
        e2e.second.calls.length = 0;
        e2e.script = [
          { toolCalls: [{ id: "c1", name: "notes__echo", input: { text: "from the request tier" } }] },
          (prompt) => ({ text: `Echoed: ${lastToolResult(prompt)}` }),
        ];
        const response = await client().responses.create({
          model: "scripted",
          input: "Echo something",
          tools: [
            {
              ...notesTool("never"),
              server_url: `${e2e.second.url}?token=secret-in-query`,
              headers: { "x-notes-token": "secret-token" },
            },
          ],
        });
        expect(e2e.second.calls).toEqual([{ tool: "echo", arguments: { text: "from the request tier" } }]);
        expect(response.output_text).toBe("Echoed: from the request tier");
        expect(response.output.find((item) => item.type === "mcp_call")).toMatchObject({
          server_label: "notes",
          name: "echo",
          output: "from the request tier",
        });
        // The echo of the request never repeats the tool's headers or the URL's query.
        expect(response.tools).toEqual([
          expect.objectContaining({ type: "mcp", server_url: e2e.second.url, headers: null }),
        ]);
        expect(JSON.stringify(response.tools)).not.toContain("secret");
      });

      it("applies the request tier's rules to a { type: 'mcp' } tool: a blocked address is reported, not called", async () => {
        e2e.script = [{ text: "ok" }];
        const response = await client().responses.create({
          model: "scripted",
          input: "hi",
          tools: [
            { type: "mcp", server_label: "meta", server_url: "http://169.254.169.254/mcp", require_approval: "never" },
          ],
        });
        const listing = response.output.find(
          (item) => item.type === "mcp_list_tools" && item.server_label === "meta",
        ) as OpenAI.Responses.ResponseOutputItem.McpListTools | undefined;
        expect(listing?.tools).toEqual([]);
        expect(listing?.error).toContain("blocked_address");
        expect(offeredTools()).toEqual(["calc__add", "calc__echo"]);
      });

      it("asks for approval, then runs the approved call once in the follow-up", async () => {
        e2e.second.calls.length = 0;
        e2e.script = [{ toolCalls: [{ id: "c1", name: "notes__add", input: { a: 2, b: 3 } }] }];
        const first = await client().responses.create({
          model: "scripted",
          input: "Add 2 and 3",
          tools: [notesTool()],
        });
        const request = first.output.find((item) => item.type === "mcp_approval_request");
        expect(request).toMatchObject({ server_label: "notes", name: "add", arguments: '{"a":2,"b":3}' });
        expect(e2e.second.calls).toEqual([]);

        e2e.script = [(prompt) => ({ text: `Sum: ${lastToolResult(prompt)}` })];
        const history: OpenAI.Responses.ResponseInput = [
          { role: "user", content: "Add 2 and 3" },
          ...(first.output as OpenAI.Responses.ResponseInputItem[]),
          { type: "mcp_approval_response", approval_request_id: request?.id ?? "", approve: true },
        ];
        const second = await client().responses.create({ model: "scripted", input: history, tools: [notesTool()] });
        expect(e2e.second.calls).toEqual([{ tool: "add", arguments: { a: 2, b: 3 } }]);
        expect(second.output_text).toBe("Sum: 5");
        expect(second.output.find((item) => item.type === "mcp_call")).toMatchObject({
          name: "add",
          output: "5",
          approval_request_id: request?.id,
        });

        // The next turn carries the whole history, the answered approval included: it does not run again.
        e2e.script = [{ text: "Anything else?" }];
        await client().responses.create({
          model: "scripted",
          tools: [notesTool()],
          input: [
            ...history,
            ...(second.output as OpenAI.Responses.ResponseInputItem[]),
            { role: "user", content: "thanks" },
          ],
        });
        expect(e2e.second.calls).toHaveLength(1);
      });

      it("streams an approval request as an output item and runs nothing", async () => {
        e2e.second.calls.length = 0;
        e2e.script = [
          { text: "Let me add that.", toolCalls: [{ id: "c1", name: "notes__add", input: { a: 4, b: 4 } }] },
        ];
        const stream = client().responses.stream({ model: "scripted", input: "Add 4 and 4", tools: [notesTool()] });
        const added: string[] = [];
        for await (const event of stream) if (event.type === "response.output_item.added") added.push(event.item.type);
        const final = await stream.finalResponse();
        expect(added).toEqual(["mcp_list_tools", "mcp_list_tools", "message", "mcp_approval_request"]);
        expect(final.status).toBe("completed");
        expect(final.output_text).toBe("Let me add that.");
        expect(final.output.at(-1)).toMatchObject({
          type: "mcp_approval_request",
          name: "add",
          arguments: '{"a":4,"b":4}',
        });
        expect(e2e.second.calls).toEqual([]);
      });

      it("skips a denied call and tells the model", async () => {
        e2e.second.calls.length = 0;
        e2e.script = [{ toolCalls: [{ id: "c1", name: "notes__add", input: { a: 1, b: 1 } }] }];
        const first = await client().responses.create({ model: "scripted", input: "Add", tools: [notesTool()] });
        const request = first.output.find((item) => item.type === "mcp_approval_request");
        e2e.script = [(prompt) => ({ text: `Tool said: ${lastToolResult(prompt)}` })];
        const second = await client().responses.create({
          model: "scripted",
          tools: [notesTool()],
          input: [
            { role: "user", content: "Add" },
            {
              type: "mcp_approval_response",
              approval_request_id: request?.id ?? "",
              approve: false,
              reason: "not now",
            },
          ],
        });
        expect(e2e.second.calls).toEqual([]);
        expect(second.output_text).toContain("did not approve");
        expect(second.output_text).toContain("not now");
      });

      it("refuses an approval id it did not issue to this caller with a 400", async () => {
        e2e.script = [{ toolCalls: [{ id: "c1", name: "notes__add", input: { a: 1, b: 1 } }] }];
        const first = await client("key-tenant-a").responses.create({
          model: "scripted",
          input: "Add",
          tools: [notesTool()],
        });
        const id = first.output.find((item) => item.type === "mcp_approval_request")?.id ?? "";
        e2e.second.calls.length = 0;
        for (const [apiKey, approvalId] of [
          ["key-tenant-b", id], // another caller
          ["key-tenant-a", `${id.slice(0, -2)}AA`], // a changed id
          ["key-tenant-a", "mcpr_forged"],
        ] as const) {
          const error = await client(apiKey)
            .responses.create({
              model: "scripted",
              tools: [notesTool()],
              input: [{ type: "mcp_approval_response", approval_request_id: approvalId, approve: true }],
            })
            .catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(OpenAI.BadRequestError);
          expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("input[0].approval_request_id");
        }
        expect(e2e.second.calls).toEqual([]);
      });

      it("answers previous_response_id with a 400 that says the server is stateless", async () => {
        const error = await client()
          .responses.create({ model: "scripted", input: "hi", previous_response_id: "resp_123" })
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        const badRequest = error as InstanceType<typeof OpenAI.BadRequestError>;
        expect(badRequest.param).toBe("previous_response_id");
        expect(badRequest.message).toContain("stores no responses");
      });
    });

    describe("other OpenAI clients on the Responses API", () => {
      it("works with @ai-sdk/openai's default provider through generateText and streamText", async () => {
        const provider = createOpenAI({ baseURL: `${e2e.app.url}/v1`, apiKey: "key-tenant-a" });
        e2e.calc.calls.length = 0;
        e2e.script = addThenAnswer;
        const generated = await generateText({
          model: provider("scripted"),
          prompt: "What is 20 + 22?",
          maxRetries: 0,
        });
        expect(generated.text).toBe("The answer is 42.");
        expect(e2e.calc.calls).toEqual([{ tool: "add", arguments: { a: 20, b: 22 } }]);

        e2e.calc.calls.length = 0;
        e2e.script = addThenAnswer;
        const streamed = streamText({ model: provider("scripted"), prompt: "What is 20 + 22?", maxRetries: 0 });
        let text = "";
        for await (const delta of streamed.textStream) text += delta;
        expect(text).toBe("The answer is 42.");
        expect(e2e.calc.calls).toEqual([{ tool: "add", arguments: { a: 20, b: 22 } }]);
      });

      it("works with LangChain's ChatOpenAI on the Responses API", async () => {
        e2e.calc.calls.length = 0;
        e2e.script = addThenAnswer;
        const chat = new ChatOpenAI({
          model: "scripted",
          apiKey: "key-tenant-a",
          configuration: { baseURL: `${e2e.app.url}/v1` },
          useResponsesApi: true,
          maxRetries: 0,
        });
        const message = await chat.invoke("What is 20 + 22?");
        expect(message.text).toBe("The answer is 42.");
        expect(e2e.calc.calls).toEqual([{ tool: "add", arguments: { a: 20, b: 22 } }]);
      });
    });

    describe("GET /v1/models", () => {
      it("lists the configured ids for models.list() and retrieves one, with slashes in its id", async () => {
        const ids: string[] = [];
        for await (const model of client().models.list()) ids.push(model.id);
        expect(ids).toEqual(["scripted", "openai/gpt-4o"]);
        const model = await client().models.retrieve("openai/gpt-4o");
        expect(model).toMatchObject({ id: "openai/gpt-4o", object: "model" });
      });

      it("answers an unknown id with an OpenAI-style 404", async () => {
        const error = await client()
          .models.retrieve("gpt-nope")
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(OpenAI.NotFoundError);
        expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
      });
    });

    describe("errors and request ids", () => {
      it("passes an upstream 429 on as a 429 with Retry-After on both endpoints", async () => {
        for (const call of [
          () => client().chat.completions.create({ model: "limited", messages: [{ role: "user", content: "hi" }] }),
          () => client().responses.create({ model: "limited", input: "hi" }),
          () => client().responses.create({ model: "limited", input: "hi", stream: true }),
        ]) {
          const error = await call().catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(OpenAI.RateLimitError);
          const limited = error as InstanceType<typeof OpenAI.RateLimitError>;
          expect(limited.status).toBe(429);
          expect(limited.type).toBe("rate_limit_error");
          expect(limited.headers.get("retry-after")).toBe("7");
          expect(limited.requestID).toMatch(/^req_[0-9a-f]{32}$/);
        }
      });

      it("ends a stream that drops mid-way with an error that says so", async () => {
        const chat = await client().chat.completions.create({
          model: "dropping",
          messages: [{ role: "user", content: "hi" }],
          stream: true,
        });
        let text = "";
        const chatError = await (async () => {
          for await (const chunk of chat) text += chunk.choices[0]?.delta.content ?? "";
        })().catch((caught: unknown) => caught);
        expect(text).toBe("The answer is");
        expect(chatError).toBeInstanceOf(OpenAI.APIError);
        expect((chatError as Error).message).toContain("stream broke off");
        expect((chatError as Error).message).not.toContain("HTTP 200");

        const types: string[] = [];
        const responsesError = await (async () => {
          for await (const event of client().responses.stream({ model: "dropping", input: "hi" }))
            types.push(event.type);
        })().catch((caught: unknown) => caught);
        expect(responsesError).toBeInstanceOf(OpenAI.APIError);
        expect((responsesError as Error).message).toContain("stream broke off");
        expect(types).toContain("response.output_text.delta");
      });

      it("ends a broken Responses stream with an error event, then response.failed, in sequence", async () => {
        const response = await fetch(`${e2e.app.url}/v1/responses`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "dropping", input: "hi", stream: true }),
        });
        expect(response.status).toBe(200);
        const events = (await response.text())
          .split("\n\n")
          .filter((block) => block.startsWith("event: "))
          .map((block) => {
            const [eventLine, dataLine] = block.split("\n");
            const data = JSON.parse(dataLine?.slice("data: ".length) ?? "{}") as {
              type: string;
              sequence_number: number;
              response?: { status: string; error: { code: string } | null };
            };
            expect(eventLine).toBe(`event: ${data.type}`);
            return data;
          });
        expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
        expect(events.slice(-2).map((event) => event.type)).toEqual(["error", "response.failed"]);
        expect(events.at(-1)?.response).toMatchObject({
          status: "failed",
          error: { code: "upstream_stream_interrupted" },
        });
      });

      it("keeps a valid incoming x-request-id and replaces an invalid one", async () => {
        const kept = await fetch(`${e2e.app.url}/v1/models`, { headers: { "x-request-id": "trace-123.abc" } });
        expect(kept.headers.get("x-request-id")).toBe("trace-123.abc");
        const replaced = await fetch(`${e2e.app.url}/v1/models`, { headers: { "x-request-id": "a b" } });
        expect(replaced.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
        const onError = await fetch(`${e2e.app.url}/v1/responses`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "scripted" }),
        });
        expect(onError.status).toBe(400);
        expect(onError.headers.get("x-request-id")).toMatch(/^req_/);
      });
    });

    describe("Chat Completions beside it", () => {
      it("does not offer a tool that needs approval, and says why in mcp_errors", async () => {
        e2e.second.calls.length = 0;
        e2e.script = [{ text: "ok" }];
        const completion = await client().chat.completions.create({
          model: "scripted",
          messages: [{ role: "user", content: "add" }],
          // @ts-expect-error: mcp_servers is this endpoint's extension of the OpenAI request
          mcp_servers: { notes: { url: e2e.second.url, tools: { requireApproval: ["add"] } } },
        });
        expect(offeredTools()).toEqual(["calc__add", "calc__echo", "notes__echo"]);
        expect(completion.choices[0]?.finish_reason).toBe("stop");
        expect((completion as unknown as { mcp_errors: unknown[] }).mcp_errors).toEqual([
          expect.objectContaining({ code: "approval_required", server: "notes", tool: "notes__add" }),
        ]);
      });

      it("streams content: null on the first chunk of a tool-call turn, as OpenAI does", async () => {
        e2e.script = [{ toolCalls: [{ id: "call_ui", name: "show_confetti", input: {} }] }];
        const response = await fetch(`${e2e.app.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            model: "scripted",
            stream: true,
            messages: [{ role: "user", content: "go" }],
            tools: [{ type: "function", function: { name: "show_confetti", parameters: { type: "object" } } }],
          }),
        });
        const events = (await response.text())
          .split("\n\n")
          .filter((line) => line.startsWith("data: {"))
          .map((line) => JSON.parse(line.slice(6)) as OpenAI.ChatCompletionChunk);
        expect(events[0]?.choices[0]?.delta).toMatchObject({ role: "assistant", content: null });
        expect(events[0]?.choices[0]?.delta.tool_calls?.[0]?.function?.name).toBe("show_confetti");
        expect(response.headers.get("x-request-id")).toMatch(/^req_/);
      });
    });
  });
}
