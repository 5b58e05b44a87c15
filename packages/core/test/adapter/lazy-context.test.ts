import { describe, expect, it } from "vitest";
import { lazyContext } from "../../src/adapter.js";
import { createMcpServerSide } from "../../src/create.js";
import type { McpRequestContext } from "../../src/types.js";

describe("lazyContext", () => {
  it("makes the context on the first call that needs it, once, and hands every call to it", async () => {
    const mcp = createMcpServerSide({ logger: false, warmup: false });
    let made = 0;
    const context = lazyContext(() => {
      made++;
      return mcp.forRequest(new Request("http://localhost/chat", { headers: { "x-api-key": "k" } }));
    });
    expect(made).toBe(0);
    const identity = await context.identity();
    expect(identity?.scope).toMatch(/^key-[0-9a-f]{40}$/);
    expect(await context.tools()).toEqual({});
    expect(await context.servers()).toEqual([]);
    expect(await context.instructions()).toBe("");
    const params = await context.inject({ prompt: "hi" });
    expect(params).toEqual({ prompt: "hi", tools: {} });
    expect(context.errors).toBe(context.errors);
    expect(made).toBe(1);
    await mcp.close();
  });

  it("reading errors makes the context, and it is the context's own array", () => {
    const errors: McpRequestContext["errors"] = [];
    let made = 0;
    const context = lazyContext(() => {
      made++;
      return { errors } as McpRequestContext;
    });
    expect(context.errors).toBe(errors);
    expect(made).toBe(1);
  });

  it("a failure to make the context rejects the call instead of throwing", async () => {
    const context = lazyContext(() => {
      throw new Error("no request");
    });
    const call = context.tools();
    expect(call).toBeInstanceOf(Promise);
    await expect(call).rejects.toThrow("no request");
  });
});
