import { describe, expect, it } from "vitest";
import type { ServerDefinition } from "../../src/config/schema.js";
import { isCredentialName } from "../../src/security/credential-names.js";
import { isEnvelope, randomKeyRing } from "../../src/security/crypto.js";
import { isSecretKey, isSecretParameter, redactDefinition, redactUrl, sanitize } from "../../src/security/redact.js";
import {
  credentialValuesOf,
  maskCredentials,
  maskCredentialText,
  needsRotation,
  openDefinition,
  resealDefinition,
  sealDefinition,
} from "../../src/security/secrets.js";
import { createMcpHooks } from "../../src/hooks.js";
import { DEFAULT_LIMITS } from "../../src/options.js";
import { buildToolView, MAX_ANNOTATIONS_LENGTH } from "../../src/tools/convert.js";
import { createToolNamer } from "../../src/tools/naming.js";
import { checkInputSchema, MAX_REJECTION_REASON_LENGTH } from "../../src/tools/schema.js";

/*
 * SPEC §4: a secret is a credential, named by ONE list that redaction, encryption at rest and masking
 * share; masking works on string leaves, never re-parses, never throws, and never touches ordinary
 * values. The end-to-end proofs (real servers, byte-identical results, an echoing server) are in
 * masking-real-servers.test.ts.
 */

const CONTEXT = { scope: { kind: "global" } as const, name: "srv" };

describe("the one list of credential names", () => {
  // [name, is a credential]: SPEC §4's list (token, key, secret, password, passwd, pass, credential,
  // auth, session, cookie, sig) in the spellings real servers use, and ordinary flags.
  const names: [string, boolean][] = [
    ["Authorization", true],
    ["Cookie", true],
    ["X-Api-Key", true],
    ["api_key", true],
    ["GITHUB_PERSONAL_ACCESS_TOKEN", true],
    ["client_secret", true],
    ["DB_PASSWORD", true],
    ["passwd", true],
    ["pass", true],
    ["passphrase", true],
    ["AWS_CREDENTIALS", true],
    ["X-Auth-Token", true],
    ["sessionId", true],
    ["X-Amz-Signature", true],
    ["sig", true],
    ["jwt", true],
    ["READ_ONLY", false],
    ["LOG_LEVEL", false],
    ["ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS", false],
    ["X-Tenant", false],
    ["MEMORY_FILE_PATH", false],
    ["KUBECONFIG", false],
    ["page", false],
    ["Content-Type", false],
  ];
  it.each(names)("%s → %s, and redaction, URL parameters and flags agree", (name, credential) => {
    expect(isCredentialName(name)).toBe(credential);
    expect(isSecretKey(name)).toBe(credential);
    expect(isSecretParameter(name)).toBe(credential);
    const url = `https://mcp.example.com/mcp?${encodeURIComponent(name)}=value-1234567`;
    expect(redactUrl(url).includes("value-1234567")).toBe(!credential);
    // A stored URL is sealed exactly when it carries a credential-named parameter.
    const sealed = sealDefinition({ url }, randomKeyRing(), CONTEXT);
    expect(isEnvelope(sealed.url)).toBe(credential);
    // The argument after a credential-named flag is masked in a shown definition.
    const shown = redactDefinition({ command: "srv", args: [`--${name}`, "value-1234567"] }, { connection: true });
    expect(JSON.stringify(shown).includes("value-1234567")).toBe(!credential);
  });

  it("a URL stored before `pass` was a credential name still opens, and rotation seals it", () => {
    const ring = randomKeyRing();
    const legacy: ServerDefinition = { url: "https://mcp.example.com/mcp?pass=legacy-plaintext" };
    expect(openDefinition(legacy, ring, CONTEXT)).toEqual(legacy);
    expect(needsRotation(legacy, ring)).toBe(true);
    const resealed = resealDefinition(legacy, ring, CONTEXT);
    expect(isEnvelope(resealed.url)).toBe(true);
    expect(openDefinition(resealed, ring, CONTEXT)).toEqual(legacy);
  });
});

describe("the credential values of a definition", () => {
  // [what, definition, credentials expected, ordinary values that must NOT be credentials]
  const cases: [string, ServerDefinition, string[], string[]][] = [
    [
      "stdio env: only credential-named variables",
      {
        command: "srv",
        env: {
          READ_ONLY: "true",
          LOG_LEVEL: "info",
          ROOT_DIR: "/home/tenant/projects",
          GITHUB_TOKEN: "ghp_credential_value",
          DISABLE_AUTH: "true",
        },
      },
      ["ghp_credential_value"],
      ["true", "info", "/home/tenant/projects"],
    ],
    [
      "headers: Authorization (and its bearer credential), X-Api-Key, not X-Tenant",
      {
        url: "https://a.example/mcp",
        headers: {
          Authorization: "Bearer bearer-credential",
          "X-Api-Key": "api-key-value",
          "X-Tenant": "acme-corp-tenant",
        },
      },
      ["Bearer bearer-credential", "bearer-credential", "api-key-value"],
      ["acme-corp-tenant"],
    ],
    [
      "auth.token, auth.headers values (any name), oauth client secret",
      { url: "https://a.example/mcp", auth: { type: "bearer", token: "the-bearer-token" } },
      ["the-bearer-token"],
      [],
    ],
    [
      "auth.headers values whatever their name",
      { url: "https://a.example/mcp", auth: { type: "headers", headers: { "X-Tenant-Id": "tenant-credential" } } },
      ["tenant-credential"],
      [],
    ],
    [
      "oauth2 client secret",
      {
        url: "https://a.example/mcp",
        auth: { type: "oauth2", clientId: "public-client-id", clientSecret: "client-secret-1" },
      },
      ["client-secret-1"],
      ["public-client-id"],
    ],
    [
      "URL userinfo and credential-named parameters (pass, passphrase included), not others",
      {
        url: "https://user-name:pass%40word1@a.example/mcp?pass=query-pass-1&passphrase=phrase-value&page=page-value-2",
      },
      ["user-name", "pass%40word1", "pass@word1", "query-pass-1", "phrase-value"],
      ["page-value-2"],
    ],
    [
      "values shorter than 8 characters are never credentials to mask",
      { url: "https://a.example/mcp", headers: { "X-Api-Key": "short" } },
      [],
      ["short"],
    ],
  ];
  it.each(cases)("%s", (_what, definition, credentials, ordinary) => {
    const values = credentialValuesOf(definition);
    expect([...values].sort()).toEqual([...credentials].sort());
    for (const value of ordinary) expect(values).not.toContain(value);
    // Longest first: a credential containing another is masked whole.
    for (let index = 1; index < values.length; index++)
      expect(values[index - 1]!.length).toBeGreaterThanOrEqual(values[index]!.length);
  });
});

describe("masking what a server says", () => {
  const credentials = ["sk-live-credential", "null-but-long"];

  it("masks string leaves and keys, and keeps every other value and type", () => {
    const input = {
      content: [{ type: "text", text: "token sk-live-credential ok" }],
      structuredContent: {
        ["key-sk-live-credential"]: 1,
        n: 3,
        flag: true,
        nothing: null,
        list: ["a", "sk-live-credential"],
      },
      isError: false,
    };
    expect(maskCredentials(input, credentials)).toEqual({
      content: [{ type: "text", text: "token *** ok" }],
      structuredContent: { "key-***": 1, n: 3, flag: true, nothing: null, list: ["a", "***"] },
      isError: false,
    });
    // The input is not modified.
    expect(input.content[0]!.text).toBe("token sk-live-credential ok");
  });

  it("returns the very same object when nothing is to mask (byte-identical results)", () => {
    const input = { content: [{ type: "text", text: "true info /home/tenant" }], isError: false };
    expect(maskCredentials(input, credentials)).toBe(input);
    expect(maskCredentials(input, [])).toBe(input);
  });

  // Values that are JSON tokens or break JSON when spliced into serialized text: the old masking
  // replaced text inside JSON.stringify(result) and re-parsed it, which threw or corrupted data.
  const tokenLike = ['"]}', "null", "true", '{"a":', "\\", '","', "12345678", '"]},"x":"', "\\u0000\\n"];
  it.each(tokenLike)("a credential %j never makes masking throw or change the shape", (value) => {
    const long = value.length >= 8 ? [value] : [value.padEnd(8, value)];
    const result = {
      content: [{ type: "text", text: `before ${long[0]} after ${JSON.stringify({ a: null, b: [true] })}` }],
      structuredContent: { a: null, b: [true, 12345678], c: '"]}' },
    };
    const masked = maskCredentials(result, long);
    expect(Object.keys(masked)).toEqual(["content", "structuredContent"]);
    expect(masked.content[0]!.text).not.toContain(long[0]);
    expect(() => JSON.stringify(masked)).not.toThrow();
  });

  it("never throws on deep or cyclic data", () => {
    let deep: Record<string, unknown> = { text: "sk-live-credential" };
    for (let depth = 0; depth < 100_000; depth++) deep = { child: deep };
    expect(() => maskCredentials(deep, credentials)).not.toThrow();
    const cyclic: Record<string, unknown> = { text: "sk-live-credential" };
    cyclic.self = cyclic;
    const masked = maskCredentials(cyclic, credentials);
    expect(masked.text).toBe("***");
    expect(masked.self).toBe(masked);
  });

  it("keeps a __proto__ key an own property (so quarantine still sees it)", () => {
    const schema = JSON.parse('{"type":"object","description":"sk-live-credential","__proto__":{"x":1}}') as unknown;
    const masked = maskCredentials(schema, credentials) as Record<string, unknown>;
    expect(Object.hasOwn(masked, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(masked)).toBe(Object.prototype);
    expect(checkInputSchema(masked).ok).toBe(false);
  });

  it("masks overlapping credentials whole (longest first)", () => {
    expect(maskCredentialText("a sk-live-credential-2 b", ["sk-live-credential-2", "sk-live-credential"])).toBe(
      "a *** b",
    );
  });

  it("caps a schema rejection that quotes the server's own text", () => {
    const name = "p".repeat(100_000);
    const checked = checkInputSchema({ type: "object", properties: { [name]: { $ref: "#/nowhere" } } });
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.message.length).toBeLessThan(MAX_REJECTION_REASON_LENGTH + 100);
  });

  it("sanitize agrees with the list: a `passphrase` member is masked, `page` is not", () => {
    expect(sanitize({ passphrase: "x", page: "2" })).toEqual({ passphrase: "***", page: "2" });
  });
});

describe("the tool view of a server's list", () => {
  const view = (tools: unknown[], definition: ServerDefinition = { url: "https://a.example/mcp" }) =>
    buildToolView({
      server: "s",
      ref: { name: "s", source: "config" },
      definition,
      tools,
      namer: createToolNamer(undefined),
      limits: DEFAULT_LIMITS,
      hooks: createMcpHooks(),
      call: () => Promise.reject(new Error("not called")),
    });

  it("keeps annotations up to their cap and leaves larger ones out (the tool stays)", () => {
    const small = { title: "a".repeat(100), readOnlyHint: true };
    const big = { title: "a".repeat(MAX_ANNOTATIONS_LENGTH) };
    const built = view([
      { name: "small", inputSchema: { type: "object" }, annotations: small },
      { name: "big", inputSchema: { type: "object" }, annotations: big },
    ]);
    expect(built.entries.map((entry) => [entry.name, entry.annotations])).toEqual([
      ["small", small],
      ["big", undefined],
    ]);
  });

  it("masks the server's credentials in annotations and leaves out a tool named after one", () => {
    const definition: ServerDefinition = {
      url: "https://a.example/mcp",
      auth: { type: "bearer", token: "tok-1234567890" },
    };
    const built = view(
      [
        { name: "ok", inputSchema: { type: "object" }, annotations: { title: "uses tok-1234567890" } },
        { name: "x_tok-1234567890", inputSchema: { type: "object" } },
      ],
      definition,
    );
    expect(built.entries.map((entry) => [entry.name, entry.annotations])).toEqual([["ok", { title: "uses ***" }]]);
    expect(JSON.stringify(built.errors)).not.toContain("tok-1234567890");
    expect(built.errors.map((error) => error.code)).toEqual(["tool_schema_rejected"]);
  });
});
