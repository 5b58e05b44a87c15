import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { issuesToFieldErrors, serverDefinitionSchema } from "../../src/config/schema.js";
import { findForbiddenKeys, hasForbiddenKeys, parseJsonBody } from "../../src/security/json-body.js";
import { badInputs } from "./network-helpers.js";

/** What the registration route does with a body: parse it, then validate the definition. */
function registrationErrors(text: string): { status: 400 | 422 | 201; pointers: string[] } {
  const parsed = parseJsonBody(text);
  if (!parsed.ok)
    return parsed.errors === undefined
      ? { status: 400, pointers: [] }
      : { status: 422, pointers: parsed.errors.map((error) => error.pointer) };
  const { name: _name, ...definition } = parsed.value as Record<string, unknown>;
  const result = serverDefinitionSchema.safeParse(definition);
  return result.success
    ? { status: 201, pointers: [] }
    : { status: 422, pointers: issuesToFieldErrors(result.error.issues).map((error) => error.pointer) };
}

describe("request bodies from the shared bad-input sample", () => {
  for (const sample of badInputs("json-body")) {
    it(`${sample.expect}s ${String(sample.input)} (${sample.why})`, () => {
      const outcome = registrationErrors(sample.input as string);
      expect(outcome.status === 201).toBe(sample.expect === "accept");
      if (sample.expect === "reject") expect(outcome.status).toBe(422);
    });
  }

  it("points at the duplicate url key", () => {
    const result = parseJsonBody('{"name":"x","url":"https://1.1.1.1/mcp","url":"https://169.254.169.254/"}');
    expect(result).toEqual({
      ok: false,
      code: "invalid_request",
      message: expect.any(String),
      errors: [{ pointer: "/url", detail: "duplicate key 'url'" }],
    });
  });
});

describe("parseJsonBody refuses prototype-pollution keys at any depth", () => {
  afterEach(() => {
    // Had anything reached Object.prototype, every later object would show it.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  const bodies: [string, string, string[]][] = [
    ["__proto__ at the top", '{"__proto__":{"polluted":true}}', ["/__proto__"]],
    [
      "constructor at the top",
      '{"constructor":{"prototype":{"polluted":true}}}',
      ["/constructor", "/constructor/prototype"],
    ],
    ["prototype at the top", '{"prototype":1}', ["/prototype"]],
    [
      "__proto__ in headers",
      '{"url":"https://1.1.1.1/","headers":{"__proto__":{"admin":true}}}',
      ["/headers/__proto__"],
    ],
    ["__proto__ inside an array", '{"tools":{"allow":[{"__proto__":{"polluted":1}}]}}', ["/tools/allow/0/__proto__"]],
    ["an escaped __proto__", '{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":true}}', ["/__proto__"]],
    ["an escaped constructor", '{"a":{"construct\\u006fr":1}}', ["/a/constructor"]],
    [
      "__proto__ deep down",
      `${'{"a":'.repeat(50)}{"__proto__":{"polluted":true}}${"}".repeat(50)}`,
      [`${"/a".repeat(50)}/__proto__`],
    ],
    [
      "mcp_servers with a __proto__ server",
      '{"mcp_servers":{"__proto__":{"url":"https://1.1.1.1/"}}}',
      ["/mcp_servers/__proto__"],
    ],
  ];
  for (const [label, text, pointers] of bodies) {
    it(`refuses ${label} with 422 pointers ${pointers.join(", ")}`, () => {
      const result = parseJsonBody(text);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.code).toBe("invalid_request");
      expect(result.errors?.map((error) => error.pointer)).toEqual(pointers);
      // JSON.parse alone would have accepted every one of these.
      expect(() => JSON.parse(text)).not.toThrow();
    });
  }

  it("refuses keys that are duplicates only after unescaping", () => {
    expect(parseJsonBody('{"a":1,"\\u0061":2}')).toMatchObject({ ok: false, errors: [{ pointer: "/a" }] });
    expect(parseJsonBody('{"x":{"k":1,"k":1}}')).toMatchObject({ ok: false, errors: [{ pointer: "/x/k" }] });
    expect(parseJsonBody('[{"a/b":1,"a/b":2}]')).toMatchObject({ ok: false, errors: [{ pointer: "/0/a~1b" }] });
  });

  it("keeps the same name in different objects", () => {
    expect(parseJsonBody('{"a":{"k":1},"b":{"k":2},"k":3}')).toEqual({
      ok: true,
      value: { a: { k: 1 }, b: { k: 2 }, k: 3 },
    });
  });

  it("accepts names that only resemble the forbidden keys", () => {
    const text = '{"proto":1,"__proto":2,"Constructor":3,"prototypes":4,"constructor_":5,"__PROTO__":6}';
    expect(parseJsonBody(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });
});

describe("parseJsonBody refuses text that is not JSON with 400", () => {
  const notJson = [
    "",
    " ",
    "{",
    "}",
    "{'a':1}",
    '{"a":1,}',
    "[1,]",
    "[1 2]",
    '{"a" 1}',
    '{"a":1 "b":2}',
    "01",
    "1.",
    ".5",
    "+1",
    "1e",
    "NaN",
    "Infinity",
    "undefined",
    "tru",
    "nul",
    '"\t"',
    '"a\nb"',
    '"\\x41"',
    '"\\u12"',
    '"unterminated',
    "{} x",
    "{}{}",
    "\ufeff{}",
    "/* comment */ {}",
    "{a:1}",
  ];
  for (const text of notJson) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const result = parseJsonBody(text);
      expect(result).toMatchObject({ ok: false, code: "invalid_request" });
      expect(result.ok === false && result.errors).toBeUndefined();
    });
  }

  it("refuses nesting deeper than it accepts without throwing", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const result = parseJsonBody(deep);
    expect(result).toMatchObject({ ok: false, code: "invalid_request" });
    expect(result.ok === false && result.errors?.length).toBe(1);
  });

  it("never throws, whatever the input", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.json()), (text) => {
        expect(() => parseJsonBody(text)).not.toThrow();
      }),
    );
  });
});

describe("parseJsonBody agrees with JSON.parse on JSON without duplicate or forbidden keys", () => {
  it("returns what JSON.parse returns", () => {
    fc.assert(
      fc.property(fc.json({ depthSize: "medium" }), (text) => {
        const expected: unknown = JSON.parse(text);
        const result = parseJsonBody(text);
        if (hasForbiddenKeys(expected)) {
          expect(result.ok).toBe(false);
        } else {
          expect(result).toEqual({ ok: true, value: expected });
        }
      }),
      { numRuns: 500 },
    );
  });

  it("accepts and rejects exactly the texts that JSON.parse does", () => {
    const jsonish = fc.stringMatching(/^[\s{}[\],:"\\a-z0-9.+\-eE]{0,30}$/);
    fc.assert(
      fc.property(jsonish, (text) => {
        let parses = true;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          parses = false;
        }
        const result = parseJsonBody(text);
        if (!parses) expect(result.ok === false && result.errors === undefined).toBe(true);
        else if (result.ok) expect(result.value).toEqual(value);
        else expect(result.errors?.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps strings, numbers and escapes exactly", () => {
    const text =
      '{"s":"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00","n":[0,-0,1.5e3,-2E-2,12345678901234567890],"b":[true,false,null]}';
    expect(parseJsonBody(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });
});

describe("findForbiddenKeys on values parsed elsewhere", () => {
  it("finds the own __proto__ key that JSON.parse creates", () => {
    const value = JSON.parse('{"a":[{"__proto__":{"x":1}}],"constructor":1}') as unknown;
    expect(findForbiddenKeys(value, "/body")).toEqual([
      { pointer: "/body/a/0/__proto__", detail: expect.any(String) },
      { pointer: "/body/constructor", detail: expect.any(String) },
    ]);
    expect(hasForbiddenKeys(value)).toBe(true);
  });

  it("accepts ordinary values and survives cycles", () => {
    const cyclic: Record<string, unknown> = { name: "x" };
    cyclic.self = cyclic;
    expect(findForbiddenKeys(cyclic)).toEqual([]);
    expect(hasForbiddenKeys({ url: "https://1.1.1.1/", tools: { allow: ["a"] } })).toBe(false);
    expect(hasForbiddenKeys(null)).toBe(false);
    expect(hasForbiddenKeys("__proto__")).toBe(false);
  });
});
