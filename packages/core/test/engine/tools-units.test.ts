import { describe, expect, it } from "vitest";
import { compileToolFilter } from "../../src/tools/filter.js";
import { capInstructions } from "../../src/tools/instructions.js";
import { createToolNamer, providerSafeName, PROVIDER_TOOL_NAME } from "../../src/tools/naming.js";
import { capToolResult, mcpToModelOutput } from "../../src/tools/result.js";
import { utf8Length } from "../../src/util/utf8.js";
import { checkInputSchema } from "../../src/tools/schema.js";

describe("tool names", () => {
  it("keeps a valid name and gives an invalid one a stable hash suffix", () => {
    expect(providerSafeName("docs__search")).toBe("docs__search");
    const dotted = providerSafeName("docs__search.v2");
    expect(dotted).toMatch(/^docs__search_v2_[0-9a-f]{8}$/);
    expect(providerSafeName("docs__search.v2")).toBe(dotted);
    expect(providerSafeName("docs__search_v2")).not.toBe(dotted);
  });

  it("shortens names over 64 characters and keeps distinct long names distinct", () => {
    const one = providerSafeName(`s__${"a".repeat(80)}1`);
    const two = providerSafeName(`s__${"a".repeat(80)}2`);
    expect(one).toMatch(PROVIDER_TOOL_NAME);
    expect(two).toMatch(PROVIDER_TOOL_NAME);
    expect(one).not.toBe(two);
  });

  it("turns names of only invalid characters into a valid one", () => {
    expect(providerSafeName("")).toMatch(/^tool_[0-9a-f]{8}$/);
    expect(providerSafeName("工具")).toMatch(/^___[0-9a-f]{8}$/);
  });

  it("still makes a custom toolName valid, and falls back to the default when it throws", () => {
    expect(createToolNamer((server, tool) => `${server}.${tool}`)("a", "b")).toMatch(/^a_b_[0-9a-f]{8}$/);
    expect(
      createToolNamer(() => {
        throw new Error("bug");
      })("a", "b"),
    ).toBe("a__b");
  });
});

describe("allow, deny and requireApproval", () => {
  it("deny wins over allow; * matches any run of characters", () => {
    const filter = compileToolFilter({
      allow: ["get_*", "list"],
      deny: ["get_secret*"],
      requireApproval: ["*delete*"],
    });
    expect(["get_user", "get_secret_key", "list", "lister", "delete_all"].filter(filter.allows)).toEqual([
      "get_user",
      "list",
    ]);
    expect(filter.needsApproval("bulk_delete_rows")).toBe(true);
    expect(filter.needsApproval("get_user")).toBe(false);
  });

  it("treats regex characters in names literally", () => {
    const filter = compileToolFilter({ allow: ["a.b", "x(*)"] });
    expect(filter.allows("a.b")).toBe(true);
    expect(filter.allows("axb")).toBe(false);
    expect(filter.allows("x(1)")).toBe(true);
  });

  it("an empty allow list offers nothing; no lists offer everything", () => {
    expect(compileToolFilter({ allow: [] }).allows("x")).toBe(false);
    expect(compileToolFilter(undefined).allows("x")).toBe(true);
  });
});

describe("schema quarantine", () => {
  it("accepts an object schema and adds the properties a provider requires", () => {
    const checked = checkInputSchema({ type: "object" });
    expect(checked).toEqual({ ok: true, value: { type: "object", properties: {} } });
  });

  it.each([
    ["a non-object root", { type: "string" }],
    ["no type", { properties: {} }],
    ["an unknown type", { type: "object", properties: { a: { type: "text" } } }],
    ["a network $ref", { type: "object", properties: { a: { $ref: "http://x.example/s.json" } } }],
    ["a relative-URL $ref", { type: "object", properties: { a: { $ref: "other.json#/a" } } }],
    ["a $ref that points nowhere", { type: "object", properties: { a: { $ref: "#/definitions/none" } } }],
    ["required that is not a list", { type: "object", required: "a" }],
    ["properties that is not an object", { type: "object", properties: [] }],
    ["an invalid pattern", { type: "object", properties: { a: { type: "string", pattern: "(" } } }],
    ["a negative maxLength", { type: "object", properties: { a: { type: "string", maxLength: -1 } } }],
    ["an empty anyOf", { type: "object", properties: { a: { anyOf: [] } } }],
    ["a __proto__ key", JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}}}')],
  ])("refuses a schema with %s", (_label, schema) => {
    const checked = checkInputSchema(schema);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.code).toBe("tool_schema_rejected");
  });

  it("refuses schemas deeper than 32 levels and accepts 30", () => {
    const nest = (levels: number): Record<string, unknown> => {
      let schema: Record<string, unknown> = { type: "string" };
      for (let level = 0; level < levels; level++) schema = { type: "object", properties: { x: schema } };
      return schema;
    };
    expect(checkInputSchema(nest(30)).ok).toBe(true);
    expect(checkInputSchema(nest(40)).ok).toBe(false);
  });

  it("refuses a schema over 128 KiB", () => {
    const properties = Object.fromEntries(
      Array.from({ length: 3000 }, (_, index) => [`p${index}`, { type: "string", description: "d".repeat(50) }]),
    );
    expect(checkInputSchema({ type: "object", properties }).ok).toBe(false);
  });

  it("accepts local references, booleans schemas and draft-04 exclusive bounds", () => {
    const checked = checkInputSchema({
      type: "object",
      definitions: { n: { type: "number", minimum: 0, exclusiveMinimum: true } },
      properties: { a: { $ref: "#/definitions/n" }, b: true, c: { type: ["string", "null"] } },
      additionalProperties: false,
    });
    expect(checked.ok).toBe(true);
  });

  it("refuses a malformed value of each kind of keyword it checks, at the root and nested", () => {
    const malformed: Record<string, unknown>[] = [
      { $ref: 5 },
      { $dynamicRef: "https://example.com/s.json" },
      { title: 5 },
      { contentEncoding: [] },
      { minLength: -1 },
      { maxContains: 1.5 },
      { maximum: "10" },
      { exclusiveMinimum: "0" },
      { additionalProperties: 5 },
      { propertyNames: "x" },
      { patternProperties: [] },
      { $defs: { a: 5 } },
      { anyOf: [] },
      { prefixItems: [5] },
      { type: ["string", "string"] },
      { type: "text" },
    ];
    for (const keywords of malformed) {
      expect(checkInputSchema({ type: "object", ...keywords }).ok, JSON.stringify(keywords)).toBe(false);
      const nested = { type: "object", properties: { a: { ...keywords } } };
      expect(checkInputSchema(nested).ok, `nested ${JSON.stringify(keywords)}`).toBe(false);
    }
  });
});

describe("results", () => {
  it("returns a result within the limit unchanged", () => {
    const result = { content: [{ type: "text" as const, text: "short" }] };
    expect(capToolResult(result, 100)).toBe(result);
  });

  it("returns a result that fits only by its exact UTF-8 size unchanged", () => {
    // 3 bytes per UTF-16 unit would not fit; the real size (2 bytes per "é", 4 per emoji) does.
    const result = { content: [{ type: "text" as const, text: `${"é".repeat(200)}${"😀".repeat(25)}` }] };
    expect(capToolResult(result, 500)).toBe(result);
    expect(capToolResult(result, 499)).not.toBe(result);
  });

  it("cuts text at the limit on a character boundary and says so", () => {
    const capped = capToolResult({ content: [{ type: "text", text: "é".repeat(1000) }] }, 500);
    const text = capped.content.map((part) => (part.type === "text" ? part.text : "")).join("");
    expect(utf8Length(text)).toBeLessThanOrEqual(500);
    expect(text).toContain("[truncated by mcp-server-side");
    expect(text.startsWith("éé")).toBe(true);
  });

  it("drops binary parts and structured content that do not fit", () => {
    const capped = capToolResult(
      {
        content: [
          { type: "text", text: "a" },
          { type: "image", data: "A".repeat(10_000), mimeType: "image/png" },
        ],
        structuredContent: { big: "x".repeat(10_000) },
      },
      1000,
    );
    expect(capped.content.map((part) => part.type)).toEqual(["text", "text"]);
    expect(capped.structuredContent).toBeUndefined();
  });

  it("gives the model an isError result as error text and content as content parts", () => {
    expect(mcpToModelOutput({ output: { content: [{ type: "text", text: "boom" }], isError: true } })).toEqual({
      type: "error-text",
      value: "boom",
    });
    expect(
      mcpToModelOutput({
        output: {
          content: [
            { type: "text", text: "ok" },
            { type: "image", data: "AAA", mimeType: "image/png" },
          ],
        },
      }),
    ).toEqual({
      type: "content",
      value: [
        { type: "text", text: "ok" },
        { type: "file", mediaType: "image/png", data: { type: "data", data: "AAA" } },
      ],
    });
  });

  it("caps instructions on a UTF-8 boundary", () => {
    const capped = capInstructions("€".repeat(100), 50);
    expect(utf8Length(capped)).toBeLessThanOrEqual(50);
    expect(capped.endsWith("…")).toBe(true);
    expect(capInstructions("  short  ", 50)).toBe("short");
  });
});
