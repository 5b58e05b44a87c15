import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isValidServerName } from "../../src/config/schema.js";
import { validateDefinitionShape } from "../../src/config/validate.js";
import { DEFAULT_LIMITS } from "../../src/options.js";
import { validateDefinitionHeaders, validateHeaders } from "../../src/security/headers.js";
import { badInputs } from "./network-helpers.js";

const limits = {
  maxHeadersPerServer: DEFAULT_LIMITS.maxHeadersPerServer,
  maxHeaderValueBytes: DEFAULT_LIMITS.maxHeaderValueBytes,
};

describe("validateHeaders against the shared bad-input sample", () => {
  for (const sample of badInputs("header-injection")) {
    it(`${sample.expect}s ${JSON.stringify(sample.input)} (${sample.why})`, () => {
      const errors = validateHeaders(sample.input as Record<string, string>, "/headers", limits);
      expect(errors.length === 0).toBe(sample.expect === "accept");
    });
  }

  it("rejects the oversized sample of 3,000 headers with one error at the map", () => {
    const headers = Object.fromEntries(Array.from({ length: 3000 }, (_, index) => [`X-H-${index}`, "v"]));
    expect(validateHeaders(headers, "/headers", limits)).toEqual([
      { pointer: "/headers", detail: "at most 32 headers are allowed" },
    ]);
  });
});

describe("validateHeaders accepts ordinary headers", () => {
  const accepted: Record<string, string>[] = [
    {},
    { Authorization: "Bearer abc.def-ghi_jkl~mno+pqr/stu=" },
    { "X-Api-Key": "k_live_0123456789abcdef", Accept: "application/json" },
    { "x-tenant": "", "X-Empty": "" },
    { "X-Weird-But-Legal!#$%&'*+.^_`|~": "ok" },
    { "X-Latin": "café ÿ ¡" },
    { "X-Tab": "a\tb" },
    { "X-Spaces": "  padded  " },
    { "User-Agent": "my-app/1.0 (+https://example.com)" },
    { Cookie: "a=b; c=d" },
    { "X-Max": "v".repeat(4096) },
    Object.fromEntries(Array.from({ length: 32 }, (_, index) => [`X-Header-${index}`, "v"])),
  ];
  for (const headers of accepted) {
    it(`accepts ${JSON.stringify(headers).slice(0, 80)}`, () => {
      expect(validateHeaders(headers, "/headers", limits)).toEqual([]);
    });
  }

  it("accepts any token name with any printable Latin-1 value", () => {
    const tchar = fc.constantFrom(..."!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    const name = fc.array(tchar, { minLength: 1, maxLength: 40 }).map((chars) => `X-${chars.join("")}`);
    const valueChar = fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }),
      fc.integer({ min: 0x80, max: 0xff }),
      fc.constant(0x09),
    );
    const value = fc.array(valueChar, { maxLength: 200 }).map((codes) => String.fromCharCode(...codes));
    fc.assert(
      fc.property(name, value, (headerName, headerValue) => {
        expect(validateHeaders({ [headerName]: headerValue }, "/headers", limits)).toEqual([]);
      }),
    );
  });
});

describe("validateHeaders refuses dangerous headers", () => {
  const refused: [string, Record<string, string>, string][] = [
    ["CRLF in a value", { "X-A": "1\r\nX-Evil: 1" }, "/headers/X-A"],
    ["a bare LF in a value", { "X-A": "1\nX-Evil: 1" }, "/headers/X-A"],
    ["a bare CR in a value", { "X-A": "1\rX-Evil: 1" }, "/headers/X-A"],
    ["NUL in a value", { "X-A": "a\u0000b" }, "/headers/X-A"],
    ["another control character in a value", { "X-A": "a\u0001b" }, "/headers/X-A"],
    ["DEL in a value", { "X-A": "a\u007fb" }, "/headers/X-A"],
    ["a character above U+00FF in a value", { "X-A": "€" }, "/headers/X-A"],
    ["an emoji in a value", { "X-A": "😀" }, "/headers/X-A"],
    ["a Unicode line separator in a value", { "X-A": "a\u2028b" }, "/headers/X-A"],
    ["a value over 4 KiB", { "X-A": "v".repeat(4097) }, "/headers/X-A"],
    ["an empty name", { "": "v" }, "/headers/"],
    ["a space in the name", { "X A": "v" }, "/headers/X A"],
    ["a colon in the name", { "X-A:": "v" }, "/headers/X-A:"],
    ["CRLF in the name", { "X-Api-Key\r\nX-Evil": "1" }, "/headers/X-Api-Key\r\nX-Evil"],
    ["a slash in the name (escaped in the pointer)", { "X/A": "v" }, "/headers/X~1A"],
    ["a tilde-slash name (escaped in the pointer)", { "~/": "v" }, "/headers/~0~1"],
    ["a non-ASCII name", { "X-é": "v" }, "/headers/X-é"],
    ["a Cyrillic homoglyph in the name", { "X-Аpi": "v" }, "/headers/X-Аpi"],
    ["a name over 256 characters", { [`X-${"a".repeat(300)}`]: "v" }, `/headers/X-${"a".repeat(300)}`],
    ["Host", { Host: "internal" }, "/headers/Host"],
    ["host in lower case", { host: "internal" }, "/headers/host"],
    ["Content-Length", { "Content-Length": "0" }, "/headers/Content-Length"],
    ["Transfer-Encoding", { "TRANSFER-ENCODING": "chunked" }, "/headers/TRANSFER-ENCODING"],
    ["Connection", { Connection: "close" }, "/headers/Connection"],
    ["Keep-Alive", { "Keep-Alive": "timeout=5" }, "/headers/Keep-Alive"],
    ["TE", { te: "trailers" }, "/headers/te"],
    ["Trailer", { Trailer: "X" }, "/headers/Trailer"],
    ["Upgrade", { Upgrade: "websocket" }, "/headers/Upgrade"],
    ["Proxy-Authorization", { "Proxy-Authorization": "Basic x" }, "/headers/Proxy-Authorization"],
    ["Proxy-Connection", { "Proxy-Connection": "keep-alive" }, "/headers/Proxy-Connection"],
    ["Mcp-Session-Id", { "mcp-session-id": "abc" }, "/headers/mcp-session-id"],
    ["Mcp-Protocol-Version", { "MCP-Protocol-Version": "2025-06-18" }, "/headers/MCP-Protocol-Version"],
  ];
  for (const [label, headers, pointer] of refused) {
    it(`refuses ${label} at ${JSON.stringify(pointer)}`, () => {
      const errors = validateHeaders(headers, "/headers", limits);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.pointer).toBe(pointer);
    });
  }

  it("refuses names that differ only in case, and names clashing with headers the server sends anyway", () => {
    expect(validateHeaders({ "X-Key": "a", "x-key": "b" }, "/headers", limits)).toEqual([
      { pointer: "/headers/x-key", detail: expect.stringContaining("more than once") },
    ]);
    expect(validateHeaders({ authorization: "Bearer x" }, "/auth/headers", limits, ["Authorization"])).toEqual([
      { pointer: "/auth/headers/authorization", detail: expect.stringContaining("more than once") },
    ]);
  });

  it("refuses 33 headers", () => {
    const headers = Object.fromEntries(Array.from({ length: 33 }, (_, index) => [`X-Header-${index}`, "v"]));
    expect(validateHeaders(headers, "/headers", limits)).toHaveLength(1);
  });

  it("refuses values that are not strings and a map that is not an object", () => {
    expect(validateHeaders({ "X-A": 1 } as unknown as Record<string, string>, "/headers", limits)).toHaveLength(1);
    expect(
      validateHeaders("Authorization: Bearer x" as unknown as Record<string, string>, "/headers", limits),
    ).toHaveLength(1);
    expect(validateHeaders(["X-A"] as unknown as Record<string, string>, "/headers", limits)).toHaveLength(1);
  });

  it("never echoes a header value in its error details", () => {
    const errors = validateHeaders({ "X-A": "SENTINEL-VALUE\r\n", "X B": "SENTINEL-VALUE" }, "/headers", limits);
    expect(errors).toHaveLength(2);
    expect(JSON.stringify(errors)).not.toContain("SENTINEL");
  });

  it("refuses every value holding CR, LF or NUL anywhere", () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom("\r", "\n", "\u0000"), fc.string(), (before, bad, after) => {
        expect(validateHeaders({ "X-A": `${before}${bad}${after}` }, "/headers", limits)).toHaveLength(1);
      }),
    );
  });

  it("honours smaller limits", () => {
    expect(
      validateHeaders({ "X-A": "12345" }, "/headers", { maxHeadersPerServer: 32, maxHeaderValueBytes: 4 }),
    ).toHaveLength(1);
    expect(
      validateHeaders({ "X-A": "1", "X-B": "2" }, "/headers", { maxHeadersPerServer: 1, maxHeaderValueBytes: 4 }),
    ).toHaveLength(1);
  });
});

describe("server names from the shared bad-input sample", () => {
  for (const sample of badInputs("server-name")) {
    it(`${sample.expect}s ${JSON.stringify(sample.input)} (${sample.why})`, () => {
      expect(isValidServerName(sample.input)).toBe(sample.expect === "accept");
    });
  }
});

describe("headers that cloud metadata services use as a gate", () => {
  const gates = [
    "Metadata-Flavor",
    "metadata-flavor",
    "Metadata",
    "METADATA",
    "X-Google-Metadata-Request",
    "X-aws-ec2-metadata-token",
    "x-aws-ec2-metadata-token-ttl-seconds",
    "X-AWS-EC2-Metadata-Token-Anything",
    "X-aliyun-ecs-metadata-token",
    "X-aliyun-ecs-metadata-token-ttl-seconds",
    "Metadata-Token",
    "Metadata-Token-Expiry-Seconds",
  ];
  for (const name of gates) {
    it(`refuses ${name} in headers and in auth.headers of a tenant's server, at its pointer`, () => {
      expect(validateDefinitionHeaders({ headers: { [name]: "true" } }, "", limits)).toEqual([
        { pointer: `/headers/${name}`, detail: expect.stringContaining("metadata") },
      ]);
      expect(
        validateDefinitionHeaders(
          { auth: { type: "headers", headers: { [name]: "Google" } } },
          "/mcp_servers/x",
          limits,
        ),
      ).toEqual([{ pointer: `/mcp_servers/x/auth/headers/${name}`, detail: expect.stringContaining("metadata") }]);
    });

    it(`lets the operator's config tier send ${name}`, () => {
      expect(validateDefinitionHeaders({ headers: { [name]: "true" } }, "", limits, { trusted: true })).toEqual([]);
    });
  }

  for (const name of ["X-Metadata", "Flavor", "X-Request-Metadata", "Metadatas"]) {
    it(`accepts ${name}, which only looks like a gate header`, () => {
      expect(validateDefinitionHeaders({ headers: { [name]: "v" } }, "", limits)).toEqual([]);
    });
  }
});

describe("one header limit for headers, auth.headers and a bearer token together", () => {
  const many = (prefix: string, count: number): Record<string, string> =>
    Object.fromEntries(Array.from({ length: count }, (_, index) => [`${prefix}-${index}`, "v"]));
  const rows: [string, Parameters<typeof validateDefinitionHeaders>[0], string | undefined][] = [
    ["32 in headers", { headers: many("X-A", 32) }, undefined],
    ["16 plus 16", { headers: many("X-A", 16), auth: { type: "headers", headers: many("X-B", 16) } }, undefined],
    ["17 plus 16", { headers: many("X-A", 17), auth: { type: "headers", headers: many("X-B", 16) } }, "/headers"],
    ["0 plus 33 in auth.headers", { auth: { type: "headers", headers: many("X-B", 33) } }, "/auth/headers"],
    ["31 plus a bearer token", { headers: many("X-A", 31), auth: { type: "bearer", token: "t" } }, undefined],
    ["32 plus a bearer token", { headers: many("X-A", 32), auth: { type: "bearer", token: "t" } }, "/headers"],
  ];
  for (const [label, definition, pointer] of rows) {
    it(`${pointer === undefined ? "accepts" : "refuses"} ${label}`, () => {
      const errors = validateDefinitionHeaders(definition, "", limits);
      if (pointer === undefined) expect(errors).toEqual([]);
      else expect(errors).toEqual([{ pointer, detail: expect.stringContaining("at most 32 headers") }]);
    });
  }

  const clashes: [string, Parameters<typeof validateDefinitionHeaders>[0], string][] = [
    [
      "the same name in headers and auth.headers, case apart",
      { headers: { "X-Key": "a" }, auth: { type: "headers", headers: { "x-key": "b" } } },
      "/headers/X-Key",
    ],
    [
      "Authorization beside a bearer token",
      { headers: { AUTHORIZATION: "x" }, auth: { type: "bearer", token: "t" } },
      "/headers/AUTHORIZATION",
    ],
  ];
  for (const [label, definition, pointer] of clashes) {
    it(`refuses ${label} once, at ${pointer}`, () => {
      expect(validateDefinitionHeaders(definition, "", limits)).toEqual([
        { pointer, detail: expect.stringContaining("more than once") },
      ]);
    });
  }
});

describe("a bearer token obeys the header value rules", () => {
  const refused: [string, string][] = [
    ["CRLF", "abc\r\nX-Evil: 1"],
    ["a bare LF", "abc\ndef"],
    ["a bare CR", "abc\rdef"],
    ["NUL", "abc\u0000def"],
    ["another control character", "abc\u0001"],
    ["a character above U+00FF", "tok€n"],
    ["an emoji", "😀"],
    ["over 4 KiB", "t".repeat(4097)],
  ];
  for (const [label, token] of refused) {
    it(`refuses a token with ${label} at /auth/token, without echoing it`, () => {
      const errors = validateDefinitionHeaders({ auth: { type: "bearer", token: `SENTINEL${token}` } }, "/p", limits);
      expect(errors).toEqual([{ pointer: "/p/auth/token", detail: expect.stringContaining("bearer token") }]);
      expect(JSON.stringify(errors)).not.toContain("SENTINEL");
    });
  }

  for (const token of ["abc.def-ghi_jkl~mno+pqr/stu=", "t".repeat(4096), "café", "a\tb"]) {
    it(`accepts the token ${JSON.stringify(token).slice(0, 40)}`, () => {
      expect(validateDefinitionHeaders({ auth: { type: "bearer", token } }, "", limits)).toEqual([]);
    });
  }
});

describe("the header rules at registration, through validateDefinitionShape", () => {
  const deps = { limits };
  const rows: [string, unknown, string][] = [
    [
      "a metadata gate header",
      { url: "https://mcp.example.com/mcp", headers: { "Metadata-Flavor": "Google" } },
      "/headers/Metadata-Flavor",
    ],
    [
      "an AWS token header in auth.headers",
      { url: "https://mcp.example.com/mcp", auth: { type: "headers", headers: { "X-aws-ec2-metadata-token": "t" } } },
      "/auth/headers/X-aws-ec2-metadata-token",
    ],
    [
      "a bearer token with CRLF",
      { url: "https://mcp.example.com/mcp", auth: { type: "bearer", token: "a\r\nb" } },
      "/auth/token",
    ],
    [
      "33 headers across both maps",
      {
        url: "https://mcp.example.com/mcp",
        headers: Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`X-A-${index}`, "v"])),
        auth: {
          type: "headers",
          headers: Object.fromEntries(Array.from({ length: 13 }, (_, index) => [`X-B-${index}`, "v"])),
        },
      },
      "/headers",
    ],
  ];
  for (const [label, definition, pointer] of rows) {
    it(`refuses ${label} from a tenant with invalid_request at ${pointer}`, () => {
      const result = validateDefinitionShape(definition, "scope", deps);
      expect(result).toMatchObject({ ok: false, code: "invalid_request" });
      expect(result.ok ? [] : result.errors?.map((error) => error.pointer)).toEqual([pointer]);
    });
  }

  it("lets the config tier send a metadata gate header but not a bearer token with CRLF", () => {
    const gate = { url: "https://mcp.example.com/mcp", headers: { "Metadata-Flavor": "Google" } };
    expect(validateDefinitionShape(gate, "config", deps).ok).toBe(true);
    expect(validateDefinitionShape(gate, "global", deps).ok).toBe(false);
    expect(validateDefinitionShape(gate, "request", deps).ok).toBe(false);
    const crlf = { url: "https://mcp.example.com/mcp", auth: { type: "bearer", token: "a\r\nb" } };
    expect(validateDefinitionShape(crlf, "config", deps).ok).toBe(false);
  });
});
