import { randomBytes } from "node:crypto";
import { createMcpServerSide, type Logger } from "@mcp-server-side/core";
import { redisStore } from "@mcp-server-side/storage-redis";
import { afterEach, describe, expect, it, vi } from "vitest";

// A config server nothing listens for, its URL carrying a secret the log line must not show.
const SECRET = "s3cret-value-in-the-url";
const unreachable = {
  mcpServers: { down: { url: `http://127.0.0.1:9/mcp?token=${SECRET}`, transport: "streamable-http" } },
};

function capture(): { lines: unknown[][]; logger: Logger } {
  const lines: unknown[][] = [];
  const push = (...args: unknown[]): void => void lines.push(args);
  return { lines, logger: { debug: push, info: push, warn: push, error: push } };
}

async function askTools(logger?: Logger | false): Promise<void> {
  const mcp = createMcpServerSide({
    config: unreachable,
    connectRetryDelayMs: 0,
    ...(logger === undefined ? {} : { logger }),
  });
  try {
    const context = mcp.forRequest(new Request("http://app.test/chat"));
    await context.tools();
    expect(context.errors.map((error) => error.server)).toContain("down");
  } finally {
    await mcp.close();
  }
}

describe("the default logger", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("prints a warning to the console, sanitized, when a config server cannot be reached and no logger is given", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    await askTools();
    const printed = warn.mock.calls.map((args) => args.map(String).join(" "));
    const line = printed.find((text) => text.includes("down"));
    expect(line).toMatch(/^mcp-server-side: /);
    expect(printed.join("\n")).not.toContain(SECRET);
  });

  it("prints nothing with logger: false", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    await askTools(false);
    expect(warn).not.toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
  });

  it("sends the lines to the app's logger instead of the console, sanitized", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const { lines, logger } = capture();
    await askTools(logger);
    expect(warn).not.toHaveBeenCalled();
    const text = lines.map((args) => args.map(String).join(" ")).join("\n");
    expect(text).toContain("down");
    expect(text).not.toContain(SECRET);
  });

  it("reports an unreachable Redis on the console, sanitized, even when nobody awaits ready()", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    // A real Redis store pointed at a port where nothing listens, its password in the URL.
    const failing = createMcpServerSide({
      storage: redisStore({ url: `redis://:${SECRET}@127.0.0.1:9/0`, timeoutMs: 500 }),
      encryptionKey: randomBytes(32).toString("base64"),
      warmup: false,
    });
    await expect(failing.ready()).rejects.toThrow();
    await vi.waitFor(() => expect(error).toHaveBeenCalled());
    const text = error.mock.calls.map((args) => args.map(String).join(" ")).join("\n");
    expect(text).toMatch(/^mcp-server-side: start-up failed/);
    expect(text).not.toContain(SECRET);
    await failing.close();
  });
});
