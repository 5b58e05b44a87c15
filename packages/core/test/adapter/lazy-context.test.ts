import { describe, expect, it } from "vitest";
import { LazyRequestContext, mountedContext } from "../../src/adapter.js";
import { createMcpServerSide } from "../../src/create.js";
import type { McpRequestContext, McpServerSide } from "../../src/types.js";

/** A lazy context whose `make()` is the given function. */
function lazy(mcp: McpServerSide, make: () => McpRequestContext): McpRequestContext {
  return new (class extends LazyRequestContext {
    protected make(): McpRequestContext {
      return make();
    }
  })(mcp);
}

describe("LazyRequestContext", () => {
  it("makes the context on the first call that needs it, once, and hands every call to it", async () => {
    const mcp = createMcpServerSide({ logger: false, warmup: false });
    let made = 0;
    const context = lazy(mcp, () => {
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

  it("hands out the context's own functions, so they work taken off the object", async () => {
    const mcp = createMcpServerSide({ logger: false, warmup: false });
    const context = lazy(mcp, () => mcp.forRequest(new Request("http://localhost/chat")));
    const { tools, identity } = context;
    expect(await tools()).toEqual({});
    expect(await identity()).toBeNull();
    await mcp.close();
  });

  it("reading errors makes the context, and it is the context's own array", () => {
    const errors: McpRequestContext["errors"] = [];
    let made = 0;
    const context = lazy({} as McpServerSide, () => {
      made++;
      return { errors } as McpRequestContext;
    });
    expect(context.errors).toBe(errors);
    expect(made).toBe(1);
  });

  it("a failure to make the context rejects the call instead of throwing", async () => {
    const context = lazy({} as McpServerSide, () => {
      throw new Error("no request");
    });
    const call = context.tools();
    expect(call).toBeInstanceOf(Promise);
    await expect(call).rejects.toThrow("no request");
  });

  it("is marked with its instance: the same instance mounted again keeps it, another one fails", () => {
    const mcp = createMcpServerSide({ logger: false, warmup: false });
    const other = createMcpServerSide({ logger: false, warmup: false });
    let made = 0;
    const context = lazy(mcp, () => {
      made++;
      return mcp.forRequest(new Request("http://localhost/chat"));
    });
    expect(mountedContext(mcp, context)).toBe(context);
    expect(() => mountedContext(other, context)).toThrow(/two mcpServerSide\(\) middlewares/);
    expect(mountedContext(mcp, undefined)).toBeUndefined();
    expect(made).toBe(0);
    return Promise.all([mcp.close(), other.close()]);
  });
});
