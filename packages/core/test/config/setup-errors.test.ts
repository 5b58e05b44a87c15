import { createMcpServerSide, type McpServerSideOptions } from "@mcp-server-side/core";
import { describe, expect, it } from "vitest";
import { expectThrown } from "../support/errors.js";

/** Options an app could pass by mistake (from untyped config, say), as createMcpServerSide receives them. */
const create = (options: Record<string, unknown>): unknown =>
  createMcpServerSide({ logger: false, warmup: false, ...options } as McpServerSideOptions);

/** Never called: these options fail before any request. */
const model = (): never => {
  throw new Error("the model is not asked for at setup");
};

describe("every setup error is an McpServerSideError with code invalid_config, naming the option", () => {
  it.each([
    ["a negative limit", { callTimeoutMs: -1 }, "'callTimeoutMs' must be a non-negative number"],
    [
      "a limit that is not a number",
      { maxInstructionsBytes: "4096" },
      "'maxInstructionsBytes' must be a non-negative number",
    ],
    ["a basePath that is not a path", { basePath: "mcp servers" }, "'basePath' must be a path"],
    ["an unknown toolPinning mode", { toolPinning: "strict" }, "'toolPinning' must be"],
    ["a chatCompletions without a model function", { chatCompletions: { model: "gpt-4o" } }, "'chatCompletions.model'"],
    [
      "a chatCompletions.maxSteps of zero",
      { chatCompletions: { model, maxSteps: 0 } },
      "'chatCompletions.maxSteps' must be an integer",
    ],
    [
      "a chatCompletions.models entry that is empty",
      { chatCompletions: { model, models: [""] } },
      "'chatCompletions.models' must be an array",
    ],
  ])("throws for %s", (_, options, message) => {
    const error = expectThrown(() => create(options), "invalid_config");
    expect(error.message).toContain(message);
  });

  it("accepts every limit it reads as a typed option, the header and instructions limits included", async () => {
    const mcp = createMcpServerSide({
      logger: false,
      warmup: false,
      maxHeadersPerServer: 8,
      maxHeaderValueBytes: 1024,
      maxInstructionsBytes: 512,
    });
    await mcp.close();
    expectThrown(() => create({ maxHeadersPerServer: Number.NaN }), "invalid_config");
  });
});
