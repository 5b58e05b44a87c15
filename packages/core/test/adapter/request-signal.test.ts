import { afterEach, describe, expect, it } from "vitest";
import { usesRequestSignal } from "../../src/adapter.js";
import { createMcpServerSide } from "../../src/create.js";
import type { McpServerSide } from "../../src/types.js";

describe("usesRequestSignal", () => {
  const instances: McpServerSide[] = [];
  const make = (options: Parameters<typeof createMcpServerSide>[0]): McpServerSide => {
    const mcp = createMcpServerSide({ logger: false, warmup: false, ...options });
    instances.push(mcp);
    return mcp;
  };
  afterEach(async () => {
    await Promise.all(instances.splice(0).map((mcp) => mcp.close()));
  });

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
