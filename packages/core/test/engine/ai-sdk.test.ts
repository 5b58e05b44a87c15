import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { aiSdkMajor } from "../../src/ai-sdk.js";
import { mcpToModelOutput } from "../../src/tools/result.js";

// The workspace runs AI SDK 7; AI SDK 6 is exercised on the packed packages by test/consumer.
const installed = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("ai/package.json"), "utf8")) as {
  version: string;
};

describe("the AI SDK version probe", () => {
  it("names the installed major", () => {
    expect(aiSdkMajor).toBe(Number(installed.version.split(".")[0]));
  });

  it("spells a binary tool-result part the way that major reads it without a warning", () => {
    const output = mcpToModelOutput({ output: { content: [{ type: "image", data: "AAA", mimeType: "image/png" }] } });
    expect(output).toEqual({
      type: "content",
      value: [
        aiSdkMajor === 7
          ? { type: "file", mediaType: "image/png", data: { type: "data", data: "AAA" } }
          : { type: "file-data", mediaType: "image/png", data: "AAA" },
      ],
    });
  });
});
