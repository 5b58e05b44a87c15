import { inspect } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ServerDefinition } from "../../src/config/schema.js";
import { McpServerSideError } from "../../src/errors.js";
import {
  isSecretKey,
  isSecretParameter,
  MASK,
  redactDefinition,
  redactUrl,
  sanitize,
  sanitizeText,
} from "../../src/security/redact.js";
import { badInputs } from "./network-helpers.js";

/** Everything a value shows when logged or serialized: nested Maps, Sets, errors, causes and hidden properties. */
function everything(value: unknown): string {
  const seen = new WeakSet<object>();
  const json = JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === "object" && item !== null) {
      if (seen.has(item)) return "[cycle]";
      seen.add(item);
    }
    return item instanceof Map ? [...item] : item instanceof Set ? [...item] : item;
  });
  return `${inspect(value, { depth: null, showHidden: true, maxArrayLength: null, maxStringLength: null })}\n${json}`;
}

describe("sanitizeText", () => {
  const cases: [string, string][] = [
    ["https://u:p@h/x?token=abc", "https://***@h/x?token=***"],
    ["https://user@h/", "https://***@h/"],
    ["https://u:p@ss@h/x", "https://***@h/x"],
    ["connect to redis://:hunter2@10.0.0.1:6379 failed", "connect to redis://***@10.0.0.1:6379 failed"],
    ["https://h/x?a=1&api_key=abc&b=2", "https://h/x?a=1&api_key=***&b=2"],
    [
      "https://h/x?sig=abc&X-Amz-Signature=def&password=ghi&client_secret=jkl",
      "https://h/x?sig=***&X-Amz-Signature=***&password=***&client_secret=***",
    ],
    ["https://h/cb#access_token=abc&state=xyz", "https://h/cb#access_token=***&state=xyz"],
    ["https://h/cb?code=abc&state=xyz", "https://h/cb?code=***&state=xyz"],
    ["Authorization: Bearer abc.def", "Authorization: ***"],
    ["sent Bearer abc.def-ghi to the server", "sent Bearer *** to the server"],
    ["basic auth: Basic dXNlcjpwYXNz", "basic auth: Basic ***"],
    ["authorization: bearer abc", "authorization: ***"],
    ["the bearer abc was refused", "the bearer *** was refused"],
    ['{"token":"abc","name":"x"}', '{"token":"***","name":"x"}'],
    ['{"client_secret" : "abc"}', '{"client_secret" : "***"}'],
    ["x-api-key: abc123", "x-api-key: ***"],
    ["Cookie: session=abc", "Cookie: ***"],
    [
      "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U here",
      "jwt *** here",
    ],
    ["key sk-abcdefghijklmnopqrstuvwx leaked", "key *** leaked"],
    ["ghp_abcdefghijklmnopqrstuvwxyz0123456789", "***"],
    ["nothing secret here: https://example.com/mcp?page=2", "nothing secret here: https://example.com/mcp?page=2"],
    ["tool weather__forecast failed: timeout after 10000 ms", "tool weather__forecast failed: timeout after 10000 ms"],
  ];
  for (const [input, output] of cases) {
    it(`masks ${JSON.stringify(input)}`, () => {
      expect(sanitizeText(input)).toBe(output);
    });
  }

  it("is idempotent", () => {
    fc.assert(
      fc.property(fc.string(), fc.webUrl({ withQueryParameters: true, withFragments: true }), (text, url) => {
        for (const input of [text, url, `${text} ${url}`]) {
          const once = sanitizeText(input);
          expect(sanitizeText(once)).toBe(once);
        }
      }),
    );
  });

  it("masks every secret-named query parameter of any URL", () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9]{8,20}$/).map((value) => `SENTINEL${value}`);
    const name = fc.constantFrom(
      "token",
      "access_token",
      "apiKey",
      "key",
      "secret",
      "password",
      "sig",
      "signature",
      "X-Amz-Credential",
    );
    fc.assert(
      fc.property(fc.webUrl(), name, secret, (url, parameter, value) => {
        const withSecret = `${url.split("#")[0]}${url.includes("?") ? "&" : "?"}${parameter}=${value}`;
        expect(sanitizeText(`failed: ${withSecret}`)).not.toContain(value);
        expect(redactUrl(withSecret)).not.toContain(value);
      }),
    );
  });

  /**
   * The regular-expression pipeline sanitizeText used before its rescanning expressions became
   * scanners (linear-time.test.ts). The scanners must find exactly the same matches.
   */
  function referenceSanitizeText(text: string): string {
    const maskUserinfo = (url: string): string => {
      const start = url.indexOf("://") + 3;
      const rest = url.slice(start);
      const end = rest.search(/[/?#\\]/);
      const at = (end === -1 ? rest : rest.slice(0, end)).lastIndexOf("@");
      return at === -1 ? url : `${url.slice(0, start)}${MASK}${rest.slice(at)}`;
    };
    return text
      .replace(/\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>`]+/g, maskUserinfo)
      .replace(/"([^"\\]{1,128})"(\s*:\s*)"((?:[^"\\]|\\.)*)"/g, (match, key: string, separator: string) =>
        isSecretKey(key) ? `"${key}"${separator}"${MASK}"` : match,
      )
      .replace(
        /\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token)(\s*:\s*)([^\r\n]*)/gi,
        (_match, name: string, separator: string) => `${name}${separator}${MASK}`,
      )
      .replace(
        /\b([Bb][Ee][Aa][Rr][Ee][Rr]|Basic|BASIC)(\s+)[A-Za-z0-9\-._~+/]+=*/g,
        (_match, scheme: string, space: string) => `${scheme}${space}${MASK}`,
      )
      .replace(/([A-Za-z0-9_.\-[\]%]{1,128})=([^\s&#;,"'<>?]*)/g, (match, name: string) =>
        isSecretParameter(name) ? `${name}=${MASK}` : match,
      )
      .replace(
        /\b(?:eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})/g,
        MASK,
      );
  }

  it("finds exactly what the regular expressions it replaced found", () => {
    const fragment = fc.constantFrom(
      "a",
      "Z",
      "0",
      "_",
      "-",
      ".",
      "+",
      ":",
      "://",
      "/",
      "@",
      "?",
      "#",
      "&",
      "=",
      ";",
      ",",
      " ",
      "\n",
      "\u00a0",
      '"',
      "'",
      "<",
      "`",
      "\\",
      "[",
      "%",
      "é",
      "https",
      "token",
      "key",
      "code",
      "eyJ",
      "eyJabcdefgh",
      "abcdefgh",
      "sk-",
      "ghp_",
      "github_pat_",
      "xoxb-",
      "AKIA",
      "ABCDEFGHIJ",
      "0123456789",
      "Bearer",
      "cookie",
      "set-cookie",
      '"token"',
      '":"',
    );
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 40 }), (parts) => {
        const text = parts.join("");
        expect(sanitizeText(text)).toBe(referenceSanitizeText(text));
      }),
      { numRuns: 20_000 },
    );
  });

  const scannerCases: [string, string][] = [
    ["x_https://u:p@h/", "x_https://u:p@h/"],
    ["1https://u:p@h/", "1https://u:p@h/"],
    ["_a.b+c-d://u:p@h/", "_a.b+c-d://***@h/"],
    ["a://", "a://"],
    ["::a://u:p@h :// b://u:p@h", "::a://***@h :// b://***@h"],
    [`${"n".repeat(200)}=v&token=s`, `${"n".repeat(200)}=v&token=***`],
    [`${"x".repeat(130)}token=s`, `${"x".repeat(130)}token=***`],
    ["a==token=s", "a==token=s"],
    ["?=x&=y&token=s", "?=x&=y&token=***"],
    ["eyJ-abc eyJ-eyJabcdefgh.abcdefgh.x", "eyJ-abc ***"],
    ["eyJabcdefghi.abcdefg.x eyJabcdefgh.abcdefgh.", "eyJabcdefghi.abcdefg.x ***"],
    ["AKIA0123456789ABCDEFG", "***G"],
    ["xAKIA0123456789ABCDEF", "xAKIA0123456789ABCDEF"],
    ["ghx_abcdefghijklmnopqrstu gho_abcdefghijklmnopqrst", "ghx_abcdefghijklmnopqrstu ***"],
    ["xoxz-abcdefghij xoxp-abcdefghij", "xoxz-abcdefghij ***"],
  ];
  for (const [input, output] of scannerCases) {
    it(`masks ${JSON.stringify(input)} as the expressions did`, () => {
      expect(sanitizeText(input)).toBe(output);
      expect(referenceSanitizeText(input)).toBe(output);
    });
  }
});

describe("sanitize", () => {
  const S = (field: string): string => `SENTINEL-${field}`;

  function payloadWithSecretsEverywhere(): Record<string, unknown> {
    const error = new McpServerSideError(
      "connection_failed",
      `could not reach https://svc:${S("err-userinfo")}@h/mcp?token=${S("err-query")}`,
      {
        cause: Object.assign(new Error(`upstream said Bearer ${S("cause-bearer")}`), {
          code: "ECONNRESET",
          config: { headers: { Authorization: S("cause-auth") } },
        }),
      },
    );
    const cyclic: Record<string, unknown> = { password: S("cyclic-password") };
    cyclic.self = cyclic;
    return {
      token: S("token"),
      secret: S("secret"),
      password: S("password"),
      passwd: S("passwd"),
      authorization: S("authorization"),
      Authorization: `Bearer ${S("Authorization")}`,
      cookie: S("cookie"),
      "set-cookie": [S("set-cookie-1"), S("set-cookie-2")],
      "api-key": S("api-key"),
      apikey: S("apikey"),
      apiKey: S("apiKey"),
      "X-Api-Key": S("X-Api-Key"),
      client_secret: S("client_secret"),
      clientSecret: S("clientSecret"),
      access_token: S("access_token"),
      refresh_token: S("refresh_token"),
      id_token: S("id_token"),
      key: S("key"),
      sig: S("sig"),
      signature: S("signature"),
      credential: S("credential"),
      credentials: { username: "bob", password: S("credentials.password") },
      privateKey: S("privateKey"),
      encryptionKeys: [S("encryptionKeys-0"), S("encryptionKeys-1")],
      auth: { type: "bearer", token: S("auth.token") },
      oauth: { tokens: { access_token: S("oauth.access"), refresh_token: S("oauth.refresh"), expires_in: 3600 } },
      headers: { "X-Custom": S("headers.X-Custom"), "Content-Type": S("headers.Content-Type") },
      env: { GITHUB_TOKEN: S("env.GITHUB_TOKEN"), HOME: S("env.HOME") },
      args: ["--token", S("args-token"), `--api-key=${S("args-api-key")}`, "--verbose"],
      url: `https://user:${S("url-userinfo")}@mcp.example.com/mcp?token=${S("url-token")}&key=${S("url-key")}&secret=${S("url-secret")}&password=${S("url-password")}&sig=${S("url-sig")}`,
      message: `request failed with Authorization: Bearer ${S("message-bearer")}`,
      nested: [{ deeper: [{ refreshToken: S("nested.refreshToken") }] }],
      map: new Map<string, unknown>([
        ["token", S("map.token")],
        ["info", `https://x:${S("map-userinfo")}@h/`],
      ]),
      set: new Set([`https://h/?access_token=${S("set-query")}`]),
      urlObject: new URL(`https://u:${S("URL-userinfo")}@h/x?token=${S("URL-token")}`),
      requestHeaders: new Headers({ "x-anything": S("Headers-value") }),
      error,
      cyclic,
    };
  }

  it("leaves no sentinel of any secret field in the output", () => {
    const output = sanitize(payloadWithSecretsEverywhere());
    const shown = everything(output);
    expect(shown).not.toContain("SENTINEL");
    // The test is meaningful: the input shows every sentinel.
    expect(everything(payloadWithSecretsEverywhere()).match(/SENTINEL-[\w.-]+/g)?.length).toBeGreaterThan(50);
  });

  it("keeps what is not secret", () => {
    const input = {
      name: "github",
      description: "GitHub tools",
      url: "https://mcp.example.com/mcp?page=2",
      code: "blocked_address",
      usage: { inputTokens: 12, outputTokens: 34, totalTokens: 46 },
      maxTokens: 1000,
      auth: { type: "oauth2", clientId: "public-client" },
      credentials: { username: "bob" },
      tools: { allow: ["search_*"] },
      list: [1, "two", null, true],
      when: new Date(0),
    };
    expect(sanitize(input)).toEqual(input);
  });

  it("returns a copy and leaves the input untouched", () => {
    const input = { token: "abc", nested: { password: "p" } };
    const output = sanitize(input);
    expect(input).toEqual({ token: "abc", nested: { password: "p" } });
    expect(output).toEqual({ token: MASK, nested: { password: MASK } });
    expect(output.nested).not.toBe(input.nested);
  });

  it("keeps cycles as cycles", () => {
    const input: Record<string, unknown> = { token: "abc" };
    input.self = input;
    const output = sanitize(input);
    expect(output.self).toBe(output);
    expect(output.token).toBe(MASK);
  });

  it("keeps an error's type, code, status and field errors, sanitizing its message, stack and cause", () => {
    const error = new McpServerSideError("upstream_error", "GET https://h/?token=abc failed", {
      status: 502,
      errors: [{ pointer: "/url", detail: "bad" }],
      cause: new Error("Bearer abc"),
    });
    const output = sanitize(error);
    expect(McpServerSideError.isInstance(output)).toBe(true);
    expect(output).toBeInstanceOf(McpServerSideError);
    expect(output.code).toBe("upstream_error");
    expect(output.status).toBe(502);
    expect(output.errors).toEqual([{ pointer: "/url", detail: "bad" }]);
    expect(output.message).toBe("GET https://h/?token=*** failed");
    expect(output.stack).not.toContain("token=abc");
    expect((output.cause as Error).message).toBe("Bearer ***");
  });

  it("copies Maps, Sets and primitives", () => {
    expect(sanitize(new Map([["api_key", "abc"]]))).toEqual(new Map([["api_key", MASK]]));
    expect(sanitize(new Set(["https://u:p@h/"]))).toEqual(new Set(["https://***@h/"]));
    expect(sanitize("Bearer abc")).toBe("Bearer ***");
    expect(sanitize(42)).toBe(42);
    expect(sanitize(null)).toBe(null);
    expect(sanitize(undefined)).toBe(undefined);
  });

  it("never turns a __proto__ key into a prototype", () => {
    const input = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>;
    const output = sanitize(input);
    expect(Object.getPrototypeOf(output)).toBe(Object.prototype);
    expect((output as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("survives very deep values", () => {
    let deep: Record<string, unknown> = { token: "abc" };
    for (let index = 0; index < 5000; index++) deep = { next: deep };
    expect(() => sanitize(deep)).not.toThrow();
    expect(everything(sanitize(deep))).not.toContain("abc");
  });
});

describe("redactDefinition", () => {
  const S = (field: string): string => `SENTINEL-${field}`;

  const remote: ServerDefinition = {
    url: `https://svc:${S("userinfo")}@mcp.example.com/mcp?token=${S("query-token")}&region=eu`,
    transport: "streamable-http",
    description: "Remote tools",
    headers: { "X-Api-Key": S("headers.X-Api-Key"), "X-Tenant": S("headers.X-Tenant") },
    auth: { type: "bearer", token: S("auth.token") },
    availability: "default_on",
    enabled: true,
    tools: { allow: ["search_*"], requireApproval: ["delete_*"] },
    timeoutMs: 5000,
  };
  const stdio: ServerDefinition = {
    command: "npx",
    args: ["-y", "@modelcontextprotocol/server-github", "--token", S("args.token"), `--api-key=${S("args.api-key")}`],
    env: { GITHUB_TOKEN: S("env.GITHUB_TOKEN"), PATH: S("env.PATH") },
    cwd: "/srv/mcp",
    locked: true,
  };
  const oauth: ServerDefinition = {
    url: "https://mcp.example.com/mcp",
    auth: { type: "oauth2", clientId: "client-1", clientSecret: S("clientSecret"), scopes: ["read"] },
  };
  const authHeaders: ServerDefinition = {
    url: "https://mcp.example.com/mcp",
    auth: { type: "headers", headers: { "X-Key": S("auth.headers.X-Key") } },
  };

  for (const [label, definition] of [
    ["remote", remote],
    ["stdio", stdio],
    ["oauth2", oauth],
    ["auth headers", authHeaders],
  ] as const) {
    for (const connection of [true, false]) {
      it(`shows no secret of a ${label} server (connection: ${connection})`, () => {
        const output = redactDefinition(definition, { connection, connected: true });
        expect(everything(output)).not.toContain("SENTINEL");
      });
    }
  }

  it("summarizes bearer auth and plain headers, and masks the URL", () => {
    expect(redactDefinition(remote, { connection: true })).toEqual({
      url: "https://***@mcp.example.com/mcp?token=***&region=eu",
      transport: "streamable-http",
      description: "Remote tools",
      auth: { type: "bearer", hasToken: true, hasHeaders: true },
      availability: "default_on",
      enabled: true,
      tools: { allow: ["search_*"], requireApproval: ["delete_*"] },
      timeoutMs: 5000,
    });
  });

  it("counts plain headers as type headers, and no auth as type none", () => {
    expect(redactDefinition({ url: "https://h/", headers: { A: "b" } }, { connection: true }).auth).toEqual({
      type: "headers",
      hasHeaders: true,
    });
    expect(redactDefinition(authHeaders, { connection: true }).auth).toEqual({ type: "headers", hasHeaders: true });
    expect(redactDefinition({ url: "https://h/" }, { connection: true }).auth).toEqual({ type: "none" });
    expect(redactDefinition({ url: "https://h/", auth: { type: "none" } }, { connection: true }).auth).toEqual({
      type: "none",
    });
  });

  it("summarizes oauth2 with hasClientSecret and the viewer's connected state", () => {
    expect(redactDefinition(oauth, { connection: true, connected: true }).auth).toEqual({
      type: "oauth2",
      hasClientSecret: true,
      connected: true,
      clientId: "client-1",
      scopes: ["read"],
    });
    expect(redactDefinition(oauth, { connection: true }).auth).toMatchObject({ connected: false });
  });

  it("shows a stdio server's command with env names but no env values", () => {
    expect(redactDefinition(stdio, { connection: true })).toEqual({
      command: "npx",
      args: ["-y", "@modelcontextprotocol/server-github", "--token", MASK, "--api-key=***"],
      env: { GITHUB_TOKEN: MASK, PATH: MASK },
      cwd: "/srv/mcp",
      locked: true,
    });
  });

  it("leaves out every connection detail for a member's view", () => {
    for (const definition of [remote, stdio, oauth]) {
      const output = redactDefinition(definition, { connection: false });
      for (const field of ["url", "command", "args", "env", "cwd", "headers", "auth"])
        expect(output).not.toHaveProperty(field);
    }
    expect(redactDefinition(remote, { connection: false })).toMatchObject({
      description: "Remote tools",
      enabled: true,
      tools: { allow: ["search_*"] },
    });
  });

  it("drops fields outside the schema", () => {
    const stored = { url: "https://h/", secretSauce: S("extra") } as unknown as ServerDefinition;
    expect(redactDefinition(stored, { connection: true })).not.toHaveProperty("secretSauce");
  });

  it("redacts the userinfo of the config-tier secret-leak sample", () => {
    const sample = badInputs("secret-leak").find((entry) => entry.expect === "accept");
    const url = (sample?.input as { url: string } | undefined)?.url ?? "";
    expect(url).toContain("SENTINEL");
    const output = redactDefinition({ url }, { connection: true });
    expect(output.url).toBe("https://***@mcp.internal.example/mcp");
    expect(everything(sanitize({ url }))).not.toContain("SENTINEL");
  });
});
