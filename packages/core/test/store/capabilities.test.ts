import {
  McpServerSideError,
  type McpStore,
  resolveStore,
  STORE_CAPABILITY_METHODS,
  unstorageStore,
} from "@mcp-server-side/core/store";
import { createStorage } from "unstorage";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMcpServerSide } from "../../src/create.js";
import type { McpServerSideOptions } from "../../src/options.js";
import type { McpServerSide } from "../../src/types.js";

const opened: McpServerSide[] = [];

afterEach(async () => {
  for (const mcp of opened.splice(0)) await mcp.close();
});

function instance(options: McpServerSideOptions): McpServerSide {
  const mcp = createMcpServerSide({ warmup: false, logger: false, ...options });
  opened.push(mcp);
  return mcp;
}

/** The unstorage store without the given methods: what a third-party store that has fewer looks like. */
function storeWithout(...methods: (keyof McpStore)[]): McpStore {
  const full: Record<string, unknown> = { ...unstorageStore(createStorage()) };
  delete full.capabilities;
  for (const method of methods) delete full[method];
  return full as unknown as McpStore;
}

const OAUTH_METHODS = STORE_CAPABILITY_METHODS.oauth;

function configError(create: () => unknown): McpServerSideError {
  try {
    create();
  } catch (error) {
    if (McpServerSideError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("expected createMcpServerSide to throw");
}

describe("store capabilities checked when the instance is created", () => {
  it("refuses a store without the OAuth methods when the config has an OAuth server, naming the server", () => {
    const error = configError(() =>
      instance({
        storage: storeWithout(...OAUTH_METHODS),
        config: { mcpServers: { docs: { url: "https://docs.example.com/mcp", auth: { type: "oauth2" } } } },
      }),
    );
    expect(error.code).toBe("invalid_config");
    expect(error.message).toContain("'docs'");
    expect(error.message).toContain("capability 'oauth'");
    expect(error.message).toContain("getUserSecret");
  });

  it("refuses a store without the OAuth methods when the oauth option is set", () => {
    const error = configError(() =>
      instance({ storage: storeWithout(...OAUTH_METHODS), oauth: { redirectUri: "https://app.example.com/cb" } }),
    );
    expect(error.code).toBe("invalid_config");
    expect(error.message).toMatch(/`oauth` option.*capability 'oauth'/);
  });

  it("starts with a store that has only the server methods when no feature needs more", async () => {
    const mcp = instance({
      storage: storeWithout(...OAUTH_METHODS, "listScopes", "watch", "watchHealthy"),
      config: { mcpServers: { docs: { url: "https://docs.example.com/mcp" } } },
    });
    await expect(mcp.ready()).resolves.toEqual({ failedServers: [] });
  });

  it("rejects rotateSecrets() with invalid_config when the store has no scope index", async () => {
    const mcp = instance({ storage: storeWithout("listScopes") });
    await mcp.ready();
    await expect(mcp.rotateSecrets()).rejects.toMatchObject({
      code: "invalid_config",
      message: expect.stringContaining("rotateSecrets() needs it"),
    });
  });

  it("refuses a store that declares a capability without its methods", () => {
    const store = { ...storeWithout("addToolPins"), capabilities: { pins: true } };
    const error = configError(() => instance({ storage: store }));
    expect(error.code).toBe("invalid_config");
    expect(error.message).toBe("The store declares capabilities.pins but has no addToolPins");
  });

  it("refuses a store with some methods of a capability and no flag, naming the missing ones", () => {
    const error = configError(() => instance({ storage: storeWithout("takePending", "putPendingIfAbsent") }));
    expect(error.code).toBe("invalid_config");
    expect(error.message).toContain("but not takePending, putPendingIfAbsent");
  });

  it("turns tool pinning off when the store declares pins false, though it has the methods", () => {
    const warn = vi.fn();
    const store = { ...unstorageStore(createStorage()), capabilities: { pins: false } };
    const mcp = instance({ storage: store, toolPinning: "block", logger: { ...console, warn } });
    expect(mcp).toBeDefined();
    expect(warn.mock.calls.filter((args) => String(args[0]).includes("toolPinning is off"))).toHaveLength(1);
  });
});

describe("resolveStore", () => {
  it("returns a store with every capability as it is", () => {
    const store = unstorageStore(createStorage());
    expect(resolveStore(store)).toBe(store);
  });

  it("keeps `this` for a class-based store that lacks a capability", async () => {
    class CountingStore {
      readonly persistent = false;
      #calls = 0;
      readonly #inner = unstorageStore(createStorage());
      list: McpStore["list"] = (scope) => this.#count(() => this.#inner.list(scope));
      async get(...args: Parameters<McpStore["get"]>): ReturnType<McpStore["get"]> {
        return this.#count(() => this.#inner.get(...args));
      }
      create: McpStore["create"] = (...args) => this.#count(() => this.#inner.create(...args));
      update: McpStore["update"] = (...args) => this.#count(() => this.#inner.update(...args));
      delete: McpStore["delete"] = (...args) => this.#count(() => this.#inner.delete(...args));
      calls(): number {
        return this.#calls;
      }
      #count<T>(work: () => T): T {
        this.#calls += 1;
        return work();
      }
    }
    const store = new CountingStore();
    const resolved = resolveStore(store);
    expect(resolved).not.toBe(store);
    expect(await resolved.get({ kind: "global" }, "docs")).toBeNull();
    expect(store.calls()).toBe(1);
    await expect(resolved.getUserSecret({ kind: "global" }, "docs", "alice")).rejects.toMatchObject({
      code: "invalid_config",
    });
    expect(resolved.getToolPins).toBeUndefined();
  });
});
