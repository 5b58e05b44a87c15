import { describe, expect, it } from "vitest";
import { parseChatCompletionRequest } from "../../src/chat/request-schema.js";
import { pointerToParam, validationError } from "../../src/chat/errors.js";

const minimal = { model: "m", messages: [{ role: "user", content: "hi" }] };

function errorOf(body: unknown) {
  const result = parseChatCompletionRequest(body);
  if (result.ok) throw new Error("expected a validation failure");
  return validationError(result.errors ?? [], result.message);
}

describe("the chat completions request schema", () => {
  it("accepts a minimal request", () => {
    const result = parseChatCompletionRequest(minimal);
    expect(result.ok).toBe(true);
  });

  it("ignores fields that OpenAI accepts and this endpoint does not use", () => {
    const result = parseChatCompletionRequest({
      ...minimal,
      messages: [{ role: "user", content: "hi", name: "ann" }],
      user: "u-1",
      logprobs: false,
      store: false,
      metadata: { a: "b" },
      parallel_tool_calls: true,
      response_format: { type: "text" },
      service_tier: "auto",
    });
    expect(result.ok).toBe(true);
  });

  it("accepts every message role and null where OpenAI allows it", () => {
    const result = parseChatCompletionRequest({
      model: "m",
      messages: [
        { role: "developer", content: "be brief" },
        { role: "system", content: [{ type: "text", text: "sys" }] },
        { role: "user", content: [{ type: "text", text: "hi" }] },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "c1", content: "ok" },
      ],
      temperature: null,
      max_tokens: null,
      stream: null,
      tools: null,
      mcp_servers: null,
      mcp_select: null,
    });
    expect(result.ok).toBe(true);
  });

  it("names a missing messages field in param", () => {
    const error = errorOf({ model: "m" });
    expect(error.status).toBe(400);
    expect(error.body.error.type).toBe("invalid_request_error");
    expect(error.body.error.param).toBe("messages");
  });

  it("names an unknown role and lists the supported ones", () => {
    const error = errorOf({ model: "m", messages: [{ role: "robot", content: "x" }] });
    expect(error.body.error.param).toBe("messages[0].role");
    expect(error.body.error.message).toContain("'user'");
  });

  it("follows a content array to the part that is wrong instead of saying 'Invalid input'", () => {
    const error = errorOf({ model: "m", messages: [{ role: "user", content: [{ type: "text" }] }] });
    expect(error.body.error.param).toBe("messages[0].content[0].text");
  });

  it("refuses n greater than 1, since a tool loop produces one choice", () => {
    expect(errorOf({ ...minimal, n: 2 }).body.error.param).toBe("n");
    expect(parseChatCompletionRequest({ ...minimal, n: 1 }).ok).toBe(true);
  });

  it("refuses out-of-range sampling settings", () => {
    expect(errorOf({ ...minimal, temperature: 3 }).body.error.param).toBe("temperature");
    expect(errorOf({ ...minimal, max_tokens: 0 }).body.error.param).toBe("max_tokens");
  });

  it("refuses function names OpenAI would refuse, and duplicate names", () => {
    const tool = (name: string) => ({ type: "function", function: { name, parameters: { type: "object" } } });
    expect(errorOf({ ...minimal, tools: [tool("has space")] }).body.error.param).toBe("tools[0].function.name");
    expect(errorOf({ ...minimal, tools: [tool("a"), tool("a")] }).body.error.param).toBe("tools[1].function.name");
  });

  it("checks the shapes of mcp_servers and mcp_select but not their entries", () => {
    expect(errorOf({ ...minimal, mcp_select: "docs" }).body.error.param).toBe("mcp_select");
    expect(errorOf({ ...minimal, mcp_servers: ["docs"] }).body.error.param).toBe("mcp_servers");
    const result = parseChatCompletionRequest({
      ...minimal,
      mcp_servers: { docs: false, x: { url: 1 } },
      mcp_select: [],
    });
    expect(result.ok).toBe(true);
  });

  it("refuses a body that is not an object", () => {
    expect(parseChatCompletionRequest([minimal]).ok).toBe(false);
  });
});

describe("pointerToParam", () => {
  it("writes JSON Pointers the way OpenAI names params", () => {
    expect(pointerToParam("/messages/0/content/1/image_url/url")).toBe("messages[0].content[1].image_url.url");
    expect(pointerToParam("/tool_choice")).toBe("tool_choice");
    expect(pointerToParam("")).toBeNull();
  });
});
