import { afterEach, describe, expect, it } from "vitest";
import { handledInCoreOnly, usesRequestSignal } from "../../src/adapter.js";
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

describe("handledInCoreOnly", () => {
  const chatCompletions = { model: () => new MockLanguageModelV4() };

  it("is true for the management routes with the built-in identify: they read headers and the JSON body only", () => {
    const mcp = make({ chatCompletions });
    expect(handledInCoreOnly(mcp, "/mcp-servers")).toBe(true);
    expect(handledInCoreOnly(mcp, "/mcp-servers/docs")).toBe(true);
  });

  it("is false for the OpenAI routes, which stop generating when the client leaves (the signal)", () => {
    const mcp = make({ chatCompletions });
    expect(handledInCoreOnly(mcp, "/v1/chat/completions")).toBe(false);
    expect(handledInCoreOnly(mcp, "/v1/responses")).toBe(false);
  });

  it("is false for every route with a custom identify (it gets the request), and for an instance this core did not make", () => {
    expect(handledInCoreOnly(make({ identify: () => null }), "/mcp-servers")).toBe(false);
    expect(handledInCoreOnly({ ...make({}) }, "/mcp-servers")).toBe(false);
  });
});
