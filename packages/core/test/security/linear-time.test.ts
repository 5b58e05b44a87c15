import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../../src/chat/request-schema.js";
import { parseChatCompletionRequest } from "../../src/chat/request-schema.js";
import { toModelMessages } from "../../src/chat/messages.js";
import { expandPlaceholders, findPlaceholders } from "../../src/config/env.js";
import { validateDefinitionShape } from "../../src/config/validate.js";
import {
  MAX_DESCRIPTION_LENGTH,
  MAX_TOOL_PATTERN_LENGTH,
  MAX_TOOL_PATTERNS,
  serverDefinitionSchema,
} from "../../src/config/schema.js";
import { createMcpHooks } from "../../src/hooks.js";
import { DEFAULT_LIMITS } from "../../src/options.js";
import { validateHeaders } from "../../src/security/headers.js";
import { findForbiddenKeys, parseJsonBody } from "../../src/security/json-body.js";
import { redactUrl, sanitize, sanitizeText } from "../../src/security/redact.js";
import { maskCredentialText } from "../../src/security/secrets.js";
import { isLocalhostName, isMetadataName, normalizeHost, parseRemoteUrl } from "../../src/security/ssrf.js";
import { buildToolView } from "../../src/tools/convert.js";
import { compileToolFilter, globMatcher } from "../../src/tools/filter.js";
import { createToolNamer, providerSafeName } from "../../src/tools/naming.js";
import { type GrowthCase, expectLinear, measureGrowth } from "../support/linear.js";

/*
 * SPEC §9: everything that reads text from a tenant, a request or an MCP server runs in linear time.
 * Each row feeds one such function an input built to make a backtracking or rescanning
 * implementation slow, at n and 8n, and fails on super-linear growth (see support/linear.ts).
 */

const repeat = (unit: string, size: number): string => unit.repeat(Math.max(1, Math.ceil(size / unit.length)));

/** A glob at the caps that a backtracking matcher takes forever on: `*a*a*…*b`. */
const STARRY = `${"*a".repeat((MAX_TOOL_PATTERN_LENGTH - 1) / 2)}b`;

/** The table holds cases of different input types. */
type AnyCase = GrowthCase<any>;

const sanitizerInputs: [string, (size: number) => string][] = [
  ["word boundaries", (n) => repeat("a.", n)],
  ["scheme runs before ://", (n) => `${repeat("a.", n)}://`],
  ["a:// repeated", (n) => repeat("a://", n)],
  ["_:// repeated (no start)", (n) => repeat("_://", n)],
  ["a URL of '@'s", (n) => `https://${repeat("@", n)}`],
  ["eyJ and dashes", (n) => repeat("eyJ-", n)],
  ["eyJ with a first piece and dots", (n) => repeat("eyJaaaaaaaaa.", n)],
  ["eyJ with two pieces and no second dot", (n) => `${repeat("eyJ-", n / 2)}.${repeat("a", n / 2)}`],
  ["sk- and short keys", (n) => repeat("sk-abc ", n)],
  ["ghp_ and github_pat_", (n) => repeat("ghp_x github_pat_x ", n)],
  ["AKIA runs", (n) => repeat("AKIA", n)],
  ["'=' runs", (n) => repeat("=", n)],
  ["name= pairs", (n) => repeat("a=", n)],
  ["a long name without '='", (n) => repeat("a", n)],
  ["JSON keys without values", (n) => repeat('"a"', n)],
  ["an unterminated JSON value of escaped quotes", (n) => `"token":"${repeat('\\"a\\":\\"', n)}`],
  ["JSON pairs with whitespace", (n) => repeat('"a" :  ', n)],
  ["header names", (n) => repeat("set-cookie ", n)],
  ["bearer words", (n) => repeat("bearer ", n)],
  ["bearer and whitespace", (n) => `bearer${repeat(" ", n)}`],
  ["everything at once", (n) => repeat('a.b://x eyJ-sk-a=b "k":"v" Bearer ', n)],
];

const toolViewInput = (name: string, description: string) => ({
  server: "s",
  ref: { name: "s", source: "request" as const },
  definition: {
    url: "https://example.com/mcp",
    tools: { allow: Array.from({ length: MAX_TOOL_PATTERNS }, () => STARRY), deny: [STARRY] },
  },
  tools: Array.from({ length: 8 }, (_, index) => ({
    name: `${name}${index}`,
    description,
    inputSchema: { type: "object", properties: { q: { type: "string", description } } },
  })),
  namer: createToolNamer(undefined),
  limits: DEFAULT_LIMITS,
  hooks: createMcpHooks(),
  call: () => Promise.reject(new Error("not called")),
});

const chatMessages = (size: number): ChatMessage[] => {
  const parsed = parseChatCompletionRequest({
    model: "m",
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: repeat("a.", size) },
          { type: "image_url", image_url: { url: `data:a/b${repeat(";a=b", size)}` } },
        ],
      },
    ],
  });
  if (!parsed.ok) throw new Error("the fixture request is invalid");
  return parsed.value.messages;
};

const cases: AnyCase[] = [
  // Tool filters: the pattern comes from a request-tier definition, the name from its server.
  {
    name: "compileToolFilter: many-star globs at the caps against a long name",
    size: 2_000,
    input: (n: number) => repeat("a", n),
    run: (() => {
      const filter = compileToolFilter({
        allow: Array.from({ length: MAX_TOOL_PATTERNS }, () => STARRY),
        deny: [STARRY],
        requireApproval: [STARRY],
      });
      return (name: string) => filter.allows(name) || filter.needsApproval(name);
    })(),
  },
  {
    name: "globMatcher: long middle pieces that almost match",
    size: 2_000,
    input: (n: number) => repeat("a", n),
    run: (() => {
      const glob = globMatcher(`*${"a".repeat(60)}b*${"a".repeat(60)}b*`);
      return (name: string) => glob(name);
    })(),
  },
  // The sanitizer, on every free-text field of every response, hook payload and log line.
  ...sanitizerInputs.map(
    ([label, input]): AnyCase => ({ name: `sanitizeText: ${label}`, size: 4_000, input, run: sanitizeText }),
  ),
  {
    name: "sanitize: a payload of hostile strings, args with flag shapes",
    size: 2_000,
    input: (n: number) => ({
      message: repeat("a.", n),
      detail: repeat("eyJ-", n),
      args: [`--${repeat("token", n)}!`, repeat("a=", n)],
    }),
    run: sanitize,
  },
  {
    name: "redactUrl: many parameters",
    size: 1_000,
    input: (n: number) => `https://h/?${repeat("a=&", n)}`,
    run: redactUrl,
  },
  { name: "redactUrl: text that is not a URL", size: 4_000, input: (n: number) => repeat("a.", n), run: redactUrl },
  {
    name: "redactUrl: userinfo of '@'s",
    size: 1_000,
    input: (n: number) => `https://u:${repeat("@", n)}h/`,
    run: redactUrl,
  },
  // The definition schema, on API bodies and request-tier entries.
  {
    name: "serverDefinitionSchema: description, url and tool patterns up to their caps",
    size: MAX_DESCRIPTION_LENGTH / 8,
    input: (n: number) => ({
      url: `https://example.com/${repeat("a.", n * 8)}`,
      description: repeat("a.", n),
      tools: { allow: Array.from({ length: Math.min(MAX_TOOL_PATTERNS, n / 2) }, () => STARRY) },
    }),
    run: (definition: unknown) => serverDefinitionSchema.safeParse(definition),
  },
  {
    name: "validateDefinitionShape: unknown fields, hostile headers and text over the caps",
    size: 500,
    input: (n: number) => ({
      url: `https://example.com/${repeat("a.", n)}`,
      description: repeat("eyJ-", n * 4),
      headers: { "X-A": repeat("a", n), [repeat("b(", n)]: "v" },
      tools: { allow: Array.from({ length: n / 4 }, () => STARRY) },
      ...Object.fromEntries(Array.from({ length: n / 8 }, (_, index) => [`unknown${index}`, 1])),
    }),
    run: (definition: unknown) => validateDefinitionShape(definition, "request", { limits: DEFAULT_LIMITS }),
  },
  {
    name: "validateHeaders: long names and values",
    size: 4_000,
    input: (n: number) => ({ [repeat("a", n)]: "v", "X-Long": repeat("a\u00ff", n), "X-Ctl": `${repeat("a", n)}\n` }),
    run: (headers: Record<string, string>) => validateHeaders(headers, "/headers", DEFAULT_LIMITS),
  },
  // JSON bodies, before anything else reads them.
  { name: "parseJsonBody: nesting", size: 4_000, input: (n: number) => repeat("[", n), run: parseJsonBody },
  {
    name: "parseJsonBody: escapes in a long string",
    size: 4_000,
    input: (n: number) => `"${repeat("\\u0041\\n", n)}"`,
    run: parseJsonBody,
  },
  {
    name: "parseJsonBody: many keys, duplicates and forbidden ones",
    size: 4_000,
    input: (n: number) =>
      `{${Array.from({ length: n / 8 }, (_, index) => `"k${index % 50}":1,"__proto__":2`).join(",")}}`,
    run: parseJsonBody,
  },
  {
    name: "parseJsonBody: long numbers",
    size: 4_000,
    input: (n: number) => `[${repeat("1", n)}.${repeat("0", n)}e${repeat("1", n)}]`,
    run: parseJsonBody,
  },
  {
    name: "findForbiddenKeys: a wide object",
    size: 2_000,
    input: (n: number) => Object.fromEntries(Array.from({ length: n }, (_, index) => [`k${index}`, { a: [1] }])),
    run: (value: unknown) => findForbiddenKeys(value),
  },
  // Hosts of tenant URLs (a URL is at most 8 192 characters).
  {
    name: "normalizeHost: a run of dots before the end",
    size: 1_000,
    input: (n: number) => `a${".".repeat(n)}x`,
    run: normalizeHost,
  },
  {
    name: "isMetadataName and isLocalhostName: a run of dots",
    size: 1_000,
    input: (n: number) => `a${".".repeat(n)}x`,
    run: (host: string) => isMetadataName(host) || isLocalhostName(host),
  },
  {
    name: "parseRemoteUrl: a host of dots",
    size: 1_000,
    input: (n: number) => `https://a${".".repeat(n)}x/`,
    run: parseRemoteUrl,
  },
  // Placeholders: expanded in the operator's config, refused everywhere else.
  {
    name: "expandPlaceholders: unterminated defaults",
    size: 4_000,
    input: (n: number) => repeat("${A:-", n),
    run: (text: string) => expandPlaceholders(text, { A: "x" }),
  },
  {
    name: "expandPlaceholders: many placeholders",
    size: 4_000,
    input: (n: number) => repeat("${A}${B:-b}$", n),
    run: (text: string) => expandPlaceholders(text, { A: "x" }),
  },
  {
    name: "findPlaceholders: a wide body",
    size: 2_000,
    input: (n: number) => ({ list: Array.from({ length: n }, () => "x${") }),
    run: (value: unknown) => findPlaceholders(value),
  },
  // What an MCP server sends: tool lists, names, descriptions.
  {
    name: "buildToolView: long names and descriptions against many-star filters",
    size: 30,
    input: (n: number) => ({ name: repeat("a", n), description: repeat("a.", n * 16) }),
    run: ({ name, description }: { name: string; description: string }) =>
      buildToolView(toolViewInput(name, description)),
  },
  {
    name: "maskCredentialText: a server's text against its credentials",
    size: 4_000,
    input: (n: number) => repeat("secret-valu", n),
    run: (text: string) => maskCredentialText(text, ["secret-value-1", "secret-value-2"]),
  },
  {
    name: "providerSafeName: a long invalid name",
    size: 4_000,
    input: (n: number) => repeat("é.", n),
    run: providerSafeName,
  },
  {
    name: "createToolNamer: long server and tool names",
    size: 4_000,
    input: (n: number) => repeat("a_", n),
    run: (() => {
      const namer = createToolNamer(undefined);
      return (tool: string) => namer("server", tool);
    })(),
  },
  // The chat endpoint: messages and data URLs.
  { name: "toModelMessages: text and data URL parameters", size: 2_000, input: chatMessages, run: toModelMessages },
];

describe("every reader of untrusted text runs in linear time", () => {
  for (const testCase of cases) {
    it(testCase.name, () => {
      const growth = expectLinear(testCase);
      if (process.env.LINEAR_DEBUG)
        console.log(`${growth.ratio.toFixed(1)} ${growth.smallMs.toFixed(4)} ${testCase.name}`);
    }, 120_000);
  }
});

describe("the growth check", () => {
  it("fails a quadratic function (the URL expression sanitizeText used before)", () => {
    const quadratic = /\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>`]+/g;
    const testCase = {
      name: "quadratic",
      size: 3_000,
      input: (n: number) => repeat("a.", n),
      run: (text: string) => text.replace(quadratic, ""),
    };
    // Noise only ever hides growth here, so the clearest of three measurements counts.
    const ratios: number[] = [];
    for (let attempt = 0; attempt < 3 && !ratios.some((ratio) => ratio > 40); attempt++) {
      ratios.push(measureGrowth(testCase, { batches: 3 }).ratio);
    }
    expect(Math.max(...ratios), ratios.map((ratio) => ratio.toFixed(1)).join(", ")).toBeGreaterThan(40);
  }, 120_000);
});

describe("tool filter globs", () => {
  /** What the filter compiled globs to before: `*` as `.*`, the rest literal. */
  const reference = (pattern: string): RegExp =>
    new RegExp(
      `^${pattern
        .split("*")
        .map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, "\\$&"))
        .join(".*")}$`,
      "s",
    );

  it("match exactly what the regular expression matched", () => {
    const text = (alphabet: string[], maxLength: number) =>
      fc.array(fc.constantFrom(...alphabet), { maxLength }).map((parts) => parts.join(""));
    fc.assert(
      fc.property(text(["a", "b", "*", ".", "ab"], 8), text(["a", "b", ".", "ab", "*"], 12), (pattern, name) => {
        expect(globMatcher(pattern)(name)).toBe(reference(pattern).test(name));
      }),
      { numRuns: 5_000 },
    );
  });

  it("answer a many-star pattern against a long name at once", () => {
    const name = "a".repeat(100_000);
    expect(globMatcher(STARRY)(name)).toBe(false);
    expect(globMatcher(STARRY)(`${name}b`)).toBe(true);
    expect(globMatcher("a*a")("a")).toBe(false);
    expect(globMatcher("*")("")).toBe(true);
  });
});

describe("caps on a definition's free text", () => {
  const base = { url: "https://example.com/mcp" };
  const table: [string, unknown, boolean][] = [
    ["a description at the cap", { ...base, description: "d".repeat(MAX_DESCRIPTION_LENGTH) }, true],
    ["a description over the cap", { ...base, description: "d".repeat(MAX_DESCRIPTION_LENGTH + 1) }, false],
    ["a pattern at the cap", { ...base, tools: { allow: ["*".repeat(MAX_TOOL_PATTERN_LENGTH)] } }, true],
    ["a pattern over the cap", { ...base, tools: { deny: ["*".repeat(MAX_TOOL_PATTERN_LENGTH + 1)] } }, false],
    ["patterns at the cap", { ...base, tools: { allow: Array(MAX_TOOL_PATTERNS).fill("a*") } }, true],
    ["patterns over the cap", { ...base, tools: { requireApproval: Array(MAX_TOOL_PATTERNS + 1).fill("a*") } }, false],
  ];
  for (const [label, definition, accepted] of table) {
    it(`${accepted ? "accepts" : "refuses"} ${label}`, () => {
      expect(serverDefinitionSchema.safeParse(definition).success).toBe(accepted);
    });
  }
});
