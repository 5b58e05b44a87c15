import { createMcpServerSide } from "@mcp-server-side/core";
import { describe, expect, it } from "vitest";
import { createToolNamer, PROVIDER_TOOL_NAME, providerSafeName } from "../../src/tools/naming.js";
import { stdioFixture } from "../fixtures/mcp-servers.js";

// What every major provider accepts: OpenAI's character set and length with Gemini's first character.
const EVERY_PROVIDER = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

describe("tool names valid for every provider", () => {
  it("uses the intersection of the providers' rules", () => {
    expect(PROVIDER_TOOL_NAME.source).toBe(EVERY_PROVIDER.source);
  });

  const cases: { raw: string; kept?: boolean; starts?: string }[] = [
    { raw: "docs__search", kept: true },
    { raw: "_private__x", kept: true },
    { raw: `a${"b".repeat(63)}`, kept: true },
    { raw: "1password__item_get", starts: "_1password__item_get_" },
    { raw: "0__x", starts: "_0__x_" },
    { raw: "-dash__x", starts: "_-dash__x_" },
    { raw: "9", starts: "_9_" },
    { raw: "docs__search.v2", starts: "docs__search_v2_" },
    { raw: "café__menu", starts: "caf___menu_" },
    { raw: "", starts: "tool_" },
    { raw: "工具", starts: "___" },
    { raw: `1${"x".repeat(200)}`, starts: "_1xxx" },
    { raw: `${"a".repeat(64)}b`, starts: "aaaa" },
  ];

  for (const { raw, kept, starts } of cases) {
    it(`names ${JSON.stringify(raw.length > 24 ? `${raw.slice(0, 24)}…` : raw)} validly and stably`, () => {
      const name = providerSafeName(raw);
      expect(name).toMatch(EVERY_PROVIDER);
      expect(providerSafeName(raw)).toBe(name);
      if (kept) expect(name).toBe(raw);
      else expect(name).toMatch(/_[0-9a-f]{8}$/);
      if (starts !== undefined) expect(name.startsWith(starts)).toBe(true);
    });
  }

  it("keeps names that differ only where they were repaired apart", () => {
    const names = ["1password__x", "_1password__x", "1password.x", "2password__x"].map(providerSafeName);
    expect(new Set(names).size).toBe(names.length);
  });

  it("makes a custom toolName's result valid too", () => {
    const namer = createToolNamer((server, tool) => `${tool}-${server}`);
    expect(namer("docs", "search")).toBe("search-docs");
    const digitFirst = namer("docs", "3d_render");
    expect(digitFirst).toMatch(EVERY_PROVIDER);
    expect(digitFirst.startsWith("_3d_render-docs_")).toBe(true);
  });

  it("gives a real server registered as '1password' tool names that Gemini accepts", async () => {
    const mcp = createMcpServerSide({
      logger: false,
      config: {
        mcpServers: { "1password": stdioFixture({ tools: [{ name: "item_get" }, { name: "vault.list" }] }) },
      },
    });
    try {
      const context = mcp.forRequest(new Request("http://app.test/chat"));
      const tools = await context.tools();
      expect(context.errors).toEqual([]);
      const names = Object.keys(tools);
      expect(names).toHaveLength(2);
      for (const name of names) expect(name).toMatch(EVERY_PROVIDER);
      expect(names.some((name) => name.startsWith("_1password__item_get_"))).toBe(true);
      // The same server yields the same names on the next request.
      expect(Object.keys(await mcp.forRequest(new Request("http://app.test/chat")).tools())).toEqual(names);
      const result = await tools[names.find((name) => name.includes("item_get")) ?? ""]?.execute?.(
        { id: "42" },
        { toolCallId: "call-1", messages: [], context: {} },
      );
      expect(JSON.stringify(result)).toContain("42");
    } finally {
      await mcp.close();
    }
  });
});
