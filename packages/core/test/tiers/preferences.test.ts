import { describe, expect, it } from "vitest";
import type { ServerDefinition } from "../../src/config/schema.js";
import { mergeTiers } from "../../src/tiers/merge.js";

const remote = (extra: Partial<ServerDefinition> = {}): ServerDefinition => ({ url: "https://1.1.1.1/mcp", ...extra });
const names = (result: { name: string }[]): string[] => result.map((server) => server.name).sort();
const tiers = {
  config: {
    always: remote({ availability: "force_on" }),
    usual: remote(),
    rare: remote({ availability: "default_off" }),
  },
  scope: { mine: remote() },
};

describe("mergeTiers with the caller's preferences", () => {
  it("switches a default_on server off and a default_off server on", () => {
    const preferences = new Map([
      ["usual", false],
      ["rare", true],
    ]);
    expect(names(mergeTiers({ ...tiers, preferences }).servers)).toEqual(["always", "mine", "rare"]);
  });

  it("never switches a force_on server off", () => {
    expect(names(mergeTiers({ ...tiers, preferences: new Map([["always", false]]) }).servers)).toEqual([
      "always",
      "mine",
      "usual",
    ]);
  });

  it("lets a request's mcp_select win over the preferences", () => {
    const preferences = new Map([
      ["usual", false],
      ["mine", false],
    ]);
    expect(names(mergeTiers({ ...tiers, preferences, select: ["usual"] }).servers)).toEqual(["always", "usual"]);
  });

  it("lets a request's opt-out and its own servers win over the preferences", () => {
    const preferences = new Map([
      ["usual", true],
      ["extra", false],
    ]);
    expect(names(mergeTiers({ ...tiers, preferences, request: {} }).servers)).toEqual(["always"]);
    expect(names(mergeTiers({ ...tiers, preferences, request: { extra: remote() } }).servers)).toEqual([
      "always",
      "extra",
      "mine",
      "usual",
    ]);
  });

  it("keeps a disabled server out whatever the preference says", () => {
    const result = mergeTiers({
      scope: { off: remote({ enabled: false }) },
      preferences: new Map([["off", true]]),
    });
    expect(result.servers).toEqual([]);
  });
});
