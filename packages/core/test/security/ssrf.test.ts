import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AddressClass,
  classifyAddress,
  defaultLookup,
  isAddressAllowed,
  normalizeHost,
  validateRemoteUrl,
} from "../../src/security/ssrf.js";
import { badInputs, networkPolicy, sequenceLookup, tableLookup } from "./network-helpers.js";

describe("validateRemoteUrl against the shared bad-input sample", () => {
  for (const sample of badInputs("ssrf-url")) {
    it(`${sample.expect}s ${JSON.stringify(sample.input)} (${sample.why})`, async () => {
      // Names in these cases would resolve publicly; literals never reach the resolver.
      const policy = networkPolicy({ lookup: tableLookup({}) });
      const result = await validateRemoteUrl(sample.input, policy);
      expect(result.ok).toBe(sample.expect === "accept");
      if (!result.ok) expect(["invalid_url", "blocked_address"]).toContain(result.code);
    });
  }

  for (const sample of badInputs("ssrf-dns")) {
    const input = sample.input as { url: string; dns: Record<string, string[]>; options?: { allowedHosts?: string[] } };
    it(`${sample.expect}s ${input.url} resolving to ${JSON.stringify(input.dns)} (${sample.why})`, async () => {
      const lookup = tableLookup(input.dns);
      const result = await validateRemoteUrl(
        input.url,
        networkPolicy({ lookup, allowedHosts: input.options?.allowedHosts ?? [] }),
      );
      expect(result.ok).toBe(sample.expect === "accept");
      if (!result.ok) expect(result.code).toBe("blocked_address");
      expect(lookup.calls.length).toBeGreaterThan(0);
    });
  }

  it("rejects the secret-leak sample as blocked_address without naming the internal address", async () => {
    const [sample] = badInputs("secret-leak").filter((entry) => entry.expect === "reject");
    const input = sample?.input as { url: string; dns: Record<string, string[]> };
    const result = await validateRemoteUrl(input.url, networkPolicy({ lookup: tableLookup(input.dns) }));
    expect(result).toMatchObject({ ok: false, code: "blocked_address" });
    expect(JSON.stringify(result)).not.toContain("10.0.0.5");
  });
});

describe("validateRemoteUrl accepts ordinary public servers", () => {
  const publicDns = {
    "mcp.example.com": ["93.184.216.34"],
    "dual.example.com": ["93.184.216.34", "2606:4700:4700::1111"],
    "api.github.com": ["140.82.112.6"],
  };
  const accepted = [
    "https://mcp.example.com/mcp",
    "https://MCP.Example.COM/mcp",
    "https://mcp.example.com./mcp",
    "https://dual.example.com/mcp",
    "https://api.github.com:8443/mcp?x=1#frag",
    "https://1.1.1.1/mcp",
    "https://8.8.8.8/",
    "https://[2606:4700:4700::1111]/mcp",
    "https://[2001:4860:4860::8888]:443/mcp",
    "https://[::ffff:8.8.8.8]/mcp",
    "https://[64:ff9b::808:808]/mcp",
    "https://168.63.129.17/",
    "https://100.63.255.255/",
    "https://100.128.0.0/",
    "https://172.32.0.1/",
    "https://192.169.0.1/",
  ];
  for (const url of accepted) {
    it(`accepts ${url}`, async () => {
      const result = await validateRemoteUrl(url, networkPolicy({ lookup: tableLookup(publicDns) }));
      expect(result.ok).toBe(true);
      if (result.ok) expect(result.value).toBeInstanceOf(URL);
    });
  }

  it("returns the canonical URL that WHATWG parsed", async () => {
    const result = await validateRemoteUrl(
      "https://MCP.example.com:443/a/../mcp",
      networkPolicy({ lookup: tableLookup(publicDns) }),
    );
    expect(result.ok && result.value.href).toBe("https://mcp.example.com/mcp");
  });
});

describe("validateRemoteUrl refuses loopback, private and metadata targets however they are spelled", () => {
  const blockedLiterals = [
    "https://127.0.0.1/",
    "https://127.255.255.254/",
    "https://0x7f.1/",
    "https://0x7f.0x0.0x0.0x1/",
    "https://017700000001/",
    "https://127.000.000.001/",
    "https://0177.0.1/",
    "https://0/",
    "https://0.0.0.0/",
    "https://0.1.2.3/",
    "https://[::]/",
    "https://[::1]:8443/",
    "https://[0:0:0:0:0:0:0:1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[0:0:0:0:0:ffff:7f00:1]/",
    "https://[::ffff:a9fe:a9fe]/",
    "https://[::ffff:10.0.0.1]/",
    "https://[::ffff:0:7f00:1]/",
    "https://[::7f00:1]/",
    "https://[::a9fe:a9fe]/",
    "https://[::10.1.2.3]/",
    "https://[64:ff9b::7f00:1]/",
    "https://[64:ff9b::127.0.0.1]/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[64:ff9b::c0a8:101]/",
    "https://[64:ff9b:1::7f00:1]/",
    "https://[64:ff9b:1:7f00:1::]/",
    "https://[64:ff9b:1::808:808]/",
    "https://[2002:7f00:1::1]/",
    "https://[2002:808:808::1]/",
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "https://[2001:db8::1]/",
    "https://[3fff::1]/",
    "https://[100::1]/",
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://[fe80::1]/",
    "https://[fec0::1]/",
    "https://[ff02::1]/",
    "https://[fd00:ec2::254]/",
    "https://[5f00::1]/",
    "https://10.0.0.1/",
    "https://10.255.255.255/",
    "https://172.16.0.1/",
    "https://172.31.255.255/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",
    "https://100.127.255.254/",
    "https://169.254.169.254/latest/meta-data/",
    "https://169.254.170.2/v2/credentials",
    "https://168.63.129.16/",
    "https://100.100.100.200/",
    "https://169.254.1.1/",
    "https://192.0.0.1/",
    "https://192.0.2.1/",
    "https://198.18.0.1/",
    "https://198.51.100.7/",
    "https://203.0.113.10/",
    "https://192.88.99.1/",
    "https://224.0.0.1/",
    "https://239.255.255.250/",
    "https://240.0.0.1/",
    "https://255.255.255.255/",
    "https://１２７.０.０.１/",
    "https://①②⑦.0.0.1/",
  ];
  for (const url of blockedLiterals) {
    it(`refuses ${url} as blocked_address`, async () => {
      const lookup = tableLookup({});
      const result = await validateRemoteUrl(url, networkPolicy({ lookup }));
      expect(result).toMatchObject({ ok: false, code: "blocked_address" });
      expect(lookup.calls).toEqual([]);
    });
  }

  const blockedNames = [
    "https://localhost/",
    "https://LOCALHOST./mcp",
    "https://foo.localhost/",
    "https://a.b.LocalHost/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://METADATA.GOOGLE.INTERNAL./",
    "https://metadata/",
    "https://metadata.goog/",
    "https://instance-data/",
  ];
  for (const url of blockedNames) {
    it(`refuses the name in ${url} without asking DNS`, async () => {
      // The resolver would call them public: the name alone must be enough.
      const lookup = sequenceLookup([["93.184.216.34"]]);
      const result = await validateRemoteUrl(url, networkPolicy({ lookup }));
      expect(result).toMatchObject({ ok: false, code: "blocked_address" });
      expect(lookup.calls).toEqual([]);
    });
  }

  const blockedAnswers: [string, string[]][] = [
    ["loopback", ["127.0.0.1"]],
    ["loopback IPv6", ["::1"]],
    ["private", ["192.168.0.10"]],
    ["unique-local", ["fd00::5"]],
    ["cgnat", ["100.64.1.1"]],
    ["link-local", ["169.254.10.10"]],
    ["metadata", ["169.254.169.254"]],
    ["metadata IPv6", ["fd00:ec2::254"]],
    ["Azure wire server", ["168.63.129.16"]],
    ["mapped loopback", ["::ffff:127.0.0.1"]],
    ["NAT64 metadata", ["64:ff9b::a9fe:a9fe"]],
    ["unspecified", ["0.0.0.0"]],
    ["multicast", ["224.0.0.251"]],
    ["documentation", ["192.0.2.55"]],
    ["one bad answer after good ones", ["1.1.1.1", "8.8.8.8", "10.0.0.1"]],
    ["one bad IPv6 answer among IPv4 ones", ["93.184.216.34", "fe80::1"]],
    ["an answer that is not an address", ["127.1"]],
    ["an answer that is a name", ["localhost"]],
  ];
  for (const [label, answers] of blockedAnswers) {
    it(`refuses a name resolving to ${label} and never names the address`, async () => {
      const result = await validateRemoteUrl(
        "https://svc.example.com/mcp",
        networkPolicy({ lookup: tableLookup({ "svc.example.com": answers }) }),
      );
      expect(result).toMatchObject({ ok: false, code: "blocked_address" });
      const text = JSON.stringify(result);
      for (const answer of answers) expect(text).not.toContain(answer);
    });
  }

  it("reports invalid_url 'does not resolve' when the resolver fails or answers nothing", async () => {
    const failing = await validateRemoteUrl("https://nowhere.example.com/", networkPolicy({ lookup: tableLookup({}) }));
    expect(failing).toMatchObject({ ok: false, code: "invalid_url" });
    expect(!failing.ok && failing.message).toContain("does not resolve");
    const empty = await validateRemoteUrl(
      "https://empty.example.com/",
      networkPolicy({ lookup: tableLookup({ "empty.example.com": [] }) }),
    );
    expect(empty).toMatchObject({ ok: false, code: "invalid_url" });
  });

  it("asks the resolver for the punycode form of an IDN host", async () => {
    const lookup = tableLookup({ "xn--r8jz45g.xn--zckzah": ["93.184.216.34"] });
    const result = await validateRemoteUrl("https://例え.テスト/mcp", networkPolicy({ lookup }));
    expect(result.ok).toBe(true);
    expect(lookup.calls).toEqual(["xn--r8jz45g.xn--zckzah"]);
  });
});

describe("validateRemoteUrl refuses malformed URLs as invalid_url", () => {
  const malformed: [string, unknown][] = [
    ["an array holding a URL", ["https://1.1.1.1/mcp"]],
    ["a URL object", new URL("https://1.1.1.1/mcp")],
    ["a number", 2130706433],
    ["null", null],
    ["an object with toString", { toString: () => "https://1.1.1.1/" }],
    ["an empty string", ""],
    ["a relative path", "/mcp"],
    ["a scheme-relative URL", "//1.1.1.1/mcp"],
    ["file", "file:///etc/passwd"],
    ["ftp", "ftp://1.1.1.1/"],
    ["gopher", "gopher://1.1.1.1:70/_x"],
    ["javascript", "javascript:alert(1)"],
    ["data", "data:text/plain,hi"],
    ["ws", "ws://1.1.1.1/"],
    ["userinfo", "https://user:pass@1.1.1.1/mcp"],
    ["a user name only", "https://user@1.1.1.1/mcp"],
    ["userinfo hiding the real host", "https://1.1.1.1@127.0.0.1/"],
    ["a leading space", " https://1.1.1.1/mcp"],
    ["a trailing newline", "https://1.1.1.1/mcp\n"],
    ["CRLF in the path", "https://1.1.1.1/mcp\r\nX-Evil: 1"],
    ["a tab in the host", "https://1.1.\t1.1/"],
    ["a space in the path", "https://1.1.1.1/a b"],
    ["a NUL in the middle", "https://1.1.1.1\u0000.evil.com/"],
    ["DEL", "https://1.1.1.1/\u007f"],
    ["a C1 control", "https://1.1.1.1/\u0085"],
    ["a no-break space", "https://1.1.1.1/\u00a0"],
    ["a zero-width space in the host", "https://1.1.1\u200b.1/"],
    ["a byte-order mark", "\ufeffhttps://1.1.1.1/"],
    ["an ideographic space", "https://1.1.1.1/\u3000"],
    ["a lone surrogate", "https://1.1.1.1/\ud800"],
    ["an invalid IPv4", "https://256.0.0.1/"],
    ["an invalid IPv6", "https://[::g]/"],
    ["a missing host", "https:///mcp"],
    ["an overlong URL", `https://1.1.1.1/${"a".repeat(9000)}`],
  ];
  for (const [label, input] of malformed) {
    it(`refuses ${label}`, async () => {
      const lookup = tableLookup({});
      const result = await validateRemoteUrl(input, networkPolicy({ lookup }));
      expect(result).toMatchObject({ ok: false, code: "invalid_url" });
    });
  }
});

describe("the operator's openings", () => {
  it("accepts plain http only for hosts the operator opened, or everywhere with requireHttps: false", async () => {
    const lookup = tableLookup({ "mcp.example.com": ["93.184.216.34"], "intra.example": ["10.1.2.3"] });
    expect(await validateRemoteUrl("http://mcp.example.com/", networkPolicy({ lookup }))).toMatchObject({
      ok: false,
      code: "invalid_url",
    });
    expect(
      (await validateRemoteUrl("http://mcp.example.com/", networkPolicy({ lookup, requireHttps: false }))).ok,
    ).toBe(true);
    expect(
      (await validateRemoteUrl("http://mcp.example.com/", networkPolicy({ lookup, allowedHosts: ["mcp.example.com"] })))
        .ok,
    ).toBe(true);
    // allowPrivateNetworks opens private hosts, not plain http to the public internet.
    expect(
      await validateRemoteUrl("http://mcp.example.com/", networkPolicy({ lookup, allowPrivateNetworks: true })),
    ).toMatchObject({ ok: false, code: "invalid_url" });
    expect(
      (await validateRemoteUrl("http://intra.example/", networkPolicy({ lookup, allowPrivateNetworks: true }))).ok,
    ).toBe(true);
    expect(
      (await validateRemoteUrl("http://127.0.0.1:3000/mcp", networkPolicy({ lookup, allowPrivateNetworks: true }))).ok,
    ).toBe(true);
  });

  it("opens loopback, private, unique-local and CGNAT with allowPrivateNetworks, and nothing else", async () => {
    const policy = networkPolicy({
      allowPrivateNetworks: true,
      lookup: tableLookup({ "db.internal.example": ["10.0.0.8", "fd00::8"] }),
    });
    for (const url of [
      "https://127.0.0.1/",
      "https://[::1]/",
      "https://10.0.0.1/",
      "https://192.168.1.1/",
      "https://[fd12::1]/",
      "https://100.64.0.1/",
      "https://localhost:8443/",
      "https://api.localhost/",
      "https://db.internal.example/",
      "https://[::ffff:192.168.0.1]/",
    ]) {
      expect((await validateRemoteUrl(url, policy)).ok, url).toBe(true);
    }
    for (const url of [
      "https://169.254.169.254/",
      "https://[fe80::1]/",
      "https://[fd00:ec2::254]/",
      "https://168.63.129.16/",
      "https://metadata.google.internal/",
      "https://0.0.0.0/",
      "https://[::]/",
      "https://224.0.0.1/",
      "https://192.0.2.1/",
      "https://[::ffff:169.254.169.254]/",
    ]) {
      expect(await validateRemoteUrl(url, policy), url).toMatchObject({ ok: false, code: "blocked_address" });
    }
  });

  it("lets allowedHosts open exactly the named host, whatever it resolves to", async () => {
    const lookup = tableLookup({
      "mcp.corp.example": ["10.1.2.3", "169.254.169.254"],
      "other.corp.example": ["10.1.2.3"],
    });
    const policy = networkPolicy({ lookup, allowedHosts: ["MCP.corp.example."] });
    expect((await validateRemoteUrl("https://mcp.corp.example/mcp", policy)).ok).toBe(true);
    expect(await validateRemoteUrl("https://other.corp.example/mcp", policy)).toMatchObject({
      ok: false,
      code: "blocked_address",
    });
  });

  it("lets an IP literal in allowedHosts open URLs that use that literal, in any spelling, and no name resolving to it", async () => {
    const policy = networkPolicy({
      allowedHosts: ["169.254.169.254", "[fe80::1]"],
      lookup: tableLookup({ "evil.example.com": ["169.254.169.254"] }),
    });
    expect((await validateRemoteUrl("https://169.254.169.254/", policy)).ok).toBe(true);
    expect((await validateRemoteUrl("https://2852039166/", policy)).ok).toBe(true);
    expect((await validateRemoteUrl("https://[::ffff:a9fe:a9fe]/", policy)).ok).toBe(true);
    expect((await validateRemoteUrl("https://[fe80:0::1]/", policy)).ok).toBe(true);
    expect(await validateRemoteUrl("https://evil.example.com/", policy)).toMatchObject({
      ok: false,
      code: "blocked_address",
    });
  });

  it("opens a metadata name or localhost only when allowedHosts names it", async () => {
    const lookup = tableLookup({ "metadata.google.internal": ["169.254.169.254"] });
    expect(
      (
        await validateRemoteUrl(
          "http://metadata.google.internal/",
          networkPolicy({ lookup, allowedHosts: ["metadata.google.internal"] }),
        )
      ).ok,
    ).toBe(true);
    expect((await validateRemoteUrl("http://localhost:3000/", networkPolicy({ allowedHosts: ["localhost"] }))).ok).toBe(
      true,
    );
    expect(
      await validateRemoteUrl(
        "https://metadata.google.internal/",
        networkPolicy({ lookup, allowPrivateNetworks: true }),
      ),
    ).toMatchObject({
      ok: false,
      code: "blocked_address",
    });
  });

  it("checks the DNS answer of each validation afresh", async () => {
    const lookup = sequenceLookup([["93.184.216.34"], ["127.0.0.1"]]);
    const policy = networkPolicy({ lookup });
    expect((await validateRemoteUrl("https://rebind.example.com/", policy)).ok).toBe(true);
    expect(await validateRemoteUrl("https://rebind.example.com/", policy)).toMatchObject({
      ok: false,
      code: "blocked_address",
    });
  });
});

describe("classifyAddress", () => {
  const table: [string, AddressClass][] = [
    ["1.1.1.1", "public"],
    ["93.184.216.34", "public"],
    ["2606:4700:4700::1111", "public"],
    ["127.0.0.1", "loopback"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::7f00:1", "loopback"],
    ["64:ff9b::7f00:1", "loopback"],
    ["10.0.0.1", "private"],
    ["172.20.0.1", "private"],
    ["192.168.255.255", "private"],
    ["fec0::1", "private"],
    ["64:ff9b:1::808:808", "private"],
    ["fc00::1", "unique-local"],
    ["fdff:ffff::1", "unique-local"],
    ["100.64.0.0", "cgnat"],
    ["100.127.255.255", "cgnat"],
    ["169.254.0.1", "link-local"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["169.254.169.254", "metadata"],
    ["::ffff:169.254.169.254", "metadata"],
    ["168.63.129.16", "metadata"],
    ["fd00:ec2::254", "metadata"],
    ["100.100.100.200", "metadata"],
    ["224.0.0.1", "multicast"],
    ["ff02::1", "multicast"],
    ["ff0e::1", "multicast"],
    ["0.0.0.0", "unspecified"],
    ["0.255.255.255", "unspecified"],
    ["::", "unspecified"],
    ["::ffff:0.0.0.0", "unspecified"],
    ["192.0.2.1", "reserved"],
    ["198.51.100.1", "reserved"],
    ["203.0.113.1", "reserved"],
    ["198.19.255.255", "reserved"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.255", "reserved"],
    ["2001:db8::1", "reserved"],
    ["2002:c000:0204::1", "reserved"],
    ["2001:0:4136:e378::1", "reserved"],
    ["100::1", "reserved"],
    ["::2:0:0", "reserved"],
    ["4000::1", "reserved"],
    ["127.1", "invalid"],
    ["0x7f000001", "invalid"],
    ["localhost", "invalid"],
    ["", "invalid"],
    ["1.2.3.4.5", "invalid"],
  ];
  for (const [ip, kind] of table) {
    it(`classifies ${ip || "(empty)"} as ${kind}`, () => {
      expect(classifyAddress(ip)).toBe(kind);
    });
  }

  it("judges every IPv4 address the same in its mapped, translated, compatible and NAT64 IPv6 forms", () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        const [a = 0, b = 0, c = 0, d = 0] = ip.split(".").map(Number);
        const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
        const expected = classifyAddress(ip);
        expect(classifyAddress(`::ffff:${ip}`)).toBe(expected);
        expect(classifyAddress(`::ffff:${hex}`)).toBe(expected);
        expect(classifyAddress(`::ffff:0:${hex}`)).toBe(expected);
        expect(classifyAddress(`64:ff9b::${hex}`)).toBe(expected);
        if (a !== 0 || b !== 0 || c !== 0 || d > 1) expect(classifyAddress(`::${hex}`)).toBe(expected);
        // Local-use NAT64 is never public: the translator is in the operator's network.
        expect(classifyAddress(`64:ff9b:1::${hex}`)).not.toBe("public");
      }),
    );
  });
});

describe("URL spellings and the address check agree", () => {
  const dotted = (value: number): string => [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");

  it("gives a decimal or hex dword host the verdict of its dotted address", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 0xffffffff }), async (value) => {
        const expected = classifyAddress(dotted(value)) === "public";
        const policy = networkPolicy();
        expect((await validateRemoteUrl(`https://${value}/`, policy)).ok).toBe(expected);
        expect((await validateRemoteUrl(`https://0x${value.toString(16)}/`, policy)).ok).toBe(expected);
        expect((await validateRemoteUrl(`https://[::ffff:${dotted(value)}]/`, policy)).ok).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses every address of 127.0.0.0/8 and 169.254.0.0/16 in every IPv4 spelling", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(127, 169), fc.integer({ min: 0, max: 0xffffff }), async (first, rest) => {
        const value = first === 127 ? ((127 << 24) | rest) >>> 0 : ((169 << 24) | (254 << 16) | (rest & 0xffff)) >>> 0;
        const parts = dotted(value).split(".").map(Number);
        const spellings = [
          `${value}`,
          `0x${value.toString(16)}`,
          `0${value.toString(8)}`,
          parts.map((part) => `0${part.toString(8)}`).join("."),
          parts.map((part) => `0x${part.toString(16)}`).join("."),
          `${parts[0]}.${((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)}`,
          `[::ffff:${dotted(value)}]`,
          `[64:ff9b::${dotted(value)}]`,
        ];
        for (const host of spellings) {
          expect(await validateRemoteUrl(`https://${host}/`, networkPolicy()), host).toMatchObject({
            ok: false,
            code: "blocked_address",
          });
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe("isAddressAllowed and normalizeHost", () => {
  it("allows public addresses and nothing private by default", () => {
    const policy = networkPolicy();
    expect(isAddressAllowed("8.8.8.8", policy)).toBe(true);
    expect(isAddressAllowed("2001:4860:4860::8888", policy)).toBe(true);
    expect(isAddressAllowed("127.0.0.1", policy)).toBe(false);
    expect(isAddressAllowed("not-an-ip", policy)).toBe(false);
  });

  it("lets a host named in allowedHosts reach any address", () => {
    const policy = networkPolicy({ allowedHosts: ["intranet.example"] });
    expect(isAddressAllowed("169.254.169.254", policy, "intranet.example")).toBe(true);
    expect(isAddressAllowed("169.254.169.254", policy, "other.example")).toBe(false);
  });

  it("normalizes hosts for comparison", () => {
    expect(normalizeHost("[::FFFF:7F00:1]")).toBe("127.0.0.1");
    expect(normalizeHost("Example.COM..")).toBe("example.com");
    expect(normalizeHost("[0:0::1]")).toBe("::1");
  });
});

describe("defaultLookup", () => {
  it("returns every answer in the dns.promises.lookup shape", async () => {
    // An IP literal resolves locally, without any DNS traffic.
    expect(await defaultLookup("127.0.0.1")).toEqual([{ address: "127.0.0.1", family: 4 }]);
  });
});
