import { afterEach, describe, expect, it } from "vitest";
import { handleUsesRequestSignal, usesRequestSignal } from "../../src/adapter.js";
import { MockLanguageModelV4 } from "ai/test";
import { createMcpServerSide } from "../../src/create.js";
import type { McpServerSide } from "../../src/types.js";

const instances: McpServerSide[] = [];
const make = (options: Parameters<typeof createMcpServerSide>[0]): McpServerSide => {
  const mcp = createMcpServerSide({ logger: false, warmup: false, ...options });
  instances.push(mcp);
  return mcp;
};
afterEach(async () => {
  await Promise.all(instances.splice(0).map((mcp) => mcp.close()));
});

describe("usesRequestSignal", () => {
  it("is false for the built-in identify, which reads headers only", async () => {
    const mcp = make({});
    expect(usesRequestSignal(mcp)).toBe(false);
    // The built-in identify still sees the key without a signal on the request.
    const identity = await mcp
      .forRequest(new Request("http://localhost/", { headers: { "x-api-key": "k" } }))
      .identity();
    expect(identity?.scope).toMatch(/^key-[0-9a-f]{40}$/);
  });

  it("is true for a custom identify, which gets the request and may read its signal", () => {
    expect(usesRequestSignal(make({ identify: () => null }))).toBe(true);
  });

  it("is true for an instance this core did not make (a wrapper or another copy)", () => {
    const mcp = make({});
    expect(usesRequestSignal({ ...mcp })).toBe(true);
  });
});

describe("handleUsesRequestSignal", () => {
  const chatCompletions = { model: () => new MockLanguageModelV4() };

  it("is false for the management routes, which never read the signal, with the built-in identify", () => {
    const mcp = make({ chatCompletions });
    expect(handleUsesRequestSignal(mcp, "/mcp-servers")).toBe(false);
    expect(handleUsesRequestSignal(mcp, "/mcp-servers/docs")).toBe(false);
  });

  it("is true for the OpenAI routes, which stop generating when the client leaves", () => {
    const mcp = make({ chatCompletions });
    expect(handleUsesRequestSignal(mcp, "/v1/chat/completions")).toBe(true);
    expect(handleUsesRequestSignal(mcp, "/v1/responses")).toBe(true);
  });

  it("is true for every route with a custom identify, and for an instance this core did not make", () => {
    expect(handleUsesRequestSignal(make({ identify: () => null }), "/mcp-servers")).toBe(true);
    expect(handleUsesRequestSignal({ ...make({}) }, "/mcp-servers")).toBe(true);
  });
});
