import { createServer, type Server, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { McpServerSideError } from "../../src/errors.js";
import type { NetworkPolicy } from "../../src/options.js";
import { type GuardedFetch, createGuardedFetch } from "../../src/security/guarded-fetch.js";
import {
  checkHost,
  classifyAddress,
  createNetworkPolicy,
  formatAllowedHost,
  parseAllowedHost,
  validateRemoteUrl,
} from "../../src/security/ssrf.js";
import { expectThrown } from "../support/errors.js";
import { networkPolicy, tableLookup } from "./network-helpers.js";

/*
 * More spellings for the SSRF table (SPEC §9), beside ssrf.test.ts: NAT64, 6to4 and Teredo carrying
 * private addresses, zone ids, trailing dots, upper case, percent-encoded and IDNA-mapped hosts, and
 * the same literals at connect time against a real listener on 127.0.0.1, which must see zero
 * connections. Then the public inputs that must keep working.
 */

const blockedLiterals: [string, string][] = [
  // NAT64 (64:ff9b::/96, RFC 6052) of private, link-local and special IPv4 addresses.
  ["https://[64:ff9b::10.0.0.1]/", "NAT64 of 10.0.0.1, dotted"],
  ["https://[64:ff9b::a00:1]/", "NAT64 of 10.0.0.1"],
  ["https://[64:ff9b::6440:1]/", "NAT64 of CGNAT 100.64.0.1"],
  ["https://[64:ff9b::]/", "NAT64 of 0.0.0.0"],
  ["https://[64:ff9b::a8:3f81:10]/", "NAT64 of 168.63.129.16 (Azure wire server)"],
  ["https://[64:ff9b:1::a00:1]/", "local-use NAT64 of 10.0.0.1"],
  ["https://[64:ff9b:1:a00:1::]/", "local-use NAT64 /48 layout of 10.0.0.1"],
  ["https://[0064:ff9b:0000:0000:0000:0000:7f00:0001]/", "NAT64 of loopback, every zero written"],
  // 6to4 (2002::/16) carrying private and metadata addresses.
  ["https://[2002:a9fe:a9fe::1]/", "6to4 of 169.254.169.254"],
  ["https://[2002:a00:1::1]/", "6to4 of 10.0.0.1"],
  ["https://[2002:c0a8:101::]/", "6to4 of 192.168.1.1"],
  // Teredo (2001::/32): the client's IPv4 address is obfuscated inside; the whole prefix is refused.
  ["https://[2001::1]/", "Teredo"],
  ["https://[2001:0:5ef5:79fd:0:59d:a0e5:ba1]/", "Teredo with a server and client"],
  ["https://[2001:0:a00:1::]/", "Teredo with a private server address"],
  // IPv4-mapped and -translated forms not in the first table.
  ["https://[::ffff:0a00:0001]/", "mapped 10.0.0.1 with leading zeros"],
  ["https://[::ffff:100.64.0.1]/", "mapped CGNAT"],
  ["https://[::ffff:0.0.0.0]/", "mapped unspecified"],
  ["https://[::ffff:224.0.0.1]/", "mapped multicast"],
  ["https://[::ffff:0:a9fe:a9fe]/", "IPv4-translated metadata"],
  // Trailing dots, upper case, percent-encoding and IDNA mapping all canonicalize to a blocked literal.
  ["https://127.0.0.1./", "a trailing dot on a literal"],
  ["https://0x7f.1./", "a hex literal with a trailing dot"],
  ["https://%31%32%37.0.0.1/", "percent-encoded digits"],
  ["https://127%2e0%2e0%2e1/", "percent-encoded dots"],
  ["https://127。0。0。1/", "ideographic full stops"],
  ["https://169.254.169.254:80/", "metadata with an explicit port"],
  ["https://0251.0376.0251.0376/", "metadata in octal"],
  ["https://0xA9FEA9FE/", "metadata as a hex dword, upper case"],
  ["https://[0:0:0:0:0:FFFF:A9FE:A9FE]/", "mapped metadata, upper case hex"],
];

const blockedNames: [string, string][] = [
  ["https://localhost../", "localhost with two trailing dots"],
  ["https://LocalHost./mcp", "mixed-case localhost with a trailing dot"],
  ["https://%6c%6f%63%61%6c%68%6f%73%74/", "percent-encoded localhost"],
  ["https://foo%2elocalhost/", "a percent-encoded dot before localhost"],
  ["https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", "circled letters that IDNA maps to localhost"],
  ["https://LOCALHOST%2E/", "a percent-encoded trailing dot"],
  ["https://metadata.google.internal%2e/", "metadata with a percent-encoded trailing dot"],
  ["https://METADATA.GOOGLE.INTERNAL../", "metadata in upper case with two trailing dots"],
  ["https://Instance-Data./latest", "AWS's instance-data name"],
];

const invalidUrls: [string, string][] = [
  ["https://[::ffff:127.0.0.1%25eth0]/", "a mapped address with a zone id"],
  ["https://[fe80::1%25eth0]/", "a link-local address with a zone id"],
  ["https://[fe80::1%eth0]/", "a raw zone id"],
  ["https://%5B::1%5D/", "percent-encoded brackets"],
  ["https://[::ffff:7f00:1]./", "a trailing dot after an IPv6 literal"],
  ["https://localhost%00/", "a percent-encoded NUL in the host"],
  ["https://127.0.0.1%0a/", "a percent-encoded line feed in the host"],
  ["https://user@[::1]/", "userinfo before an IPv6 literal"],
];

describe("validateRemoteUrl refuses more spellings of blocked addresses", () => {
  for (const [url, why] of blockedLiterals) {
    it(`refuses ${url} (${why}) as blocked_address without asking DNS`, async () => {
      const lookup = tableLookup({});
      const result = await validateRemoteUrl(url, networkPolicy({ lookup, allowPrivateNetworks: false }));
      expect(result).toMatchObject({ ok: false, code: "blocked_address" });
      expect(lookup.calls).toEqual([]);
    });
  }

  for (const [url, why] of blockedNames) {
    it(`refuses ${url} (${why}) by name, whatever DNS would say`, async () => {
      const lookup = tableLookup({});
      const result = await validateRemoteUrl(url, networkPolicy({ lookup }));
      expect(result).toMatchObject({ ok: false, code: "blocked_address" });
      expect(lookup.calls).toEqual([]);
    });
  }

  for (const [url, why] of invalidUrls) {
    it(`refuses ${url} (${why}) as invalid_url`, async () => {
      const result = await validateRemoteUrl(url, networkPolicy({ lookup: tableLookup({}) }));
      expect(result).toMatchObject({ ok: false, code: "invalid_url" });
    });
  }

  it("keeps refusing NAT64, 6to4 and Teredo forms of private addresses with allowPrivateNetworks when they carry metadata", async () => {
    const policy = networkPolicy({ allowPrivateNetworks: true, lookup: tableLookup({}) });
    for (const url of [
      "https://[64:ff9b::a9fe:a9fe]/",
      "https://[2002:a9fe:a9fe::1]/",
      "https://[::ffff:0:a9fe:a9fe]/",
    ]) {
      expect(await validateRemoteUrl(url, policy), url).toMatchObject({ ok: false, code: "blocked_address" });
    }
  });
});

describe("a DNS answer is judged in every spelling it may come in", () => {
  const answers: [string, string[]][] = [
    ["a link-local answer with a zone id", ["fe80::1%eth0"]],
    ["a mapped loopback answer with a zone id", ["::ffff:127.0.0.1%lo"]],
    ["a NAT64 answer of a private address", ["64:ff9b::c0a8:1"]],
    ["a 6to4 answer", ["2002:a9fe:a9fe::1"]],
    ["a Teredo answer", ["2001:0:4136:e378:8000:63bf:3fff:fdd2"]],
    ["an upper-case IPv6 answer", ["FD00:EC2::254"]],
    ["an answer with a trailing dot", ["127.0.0.1."]],
    ["an answer with leading zeros", ["010.000.000.001"]],
    ["an answer in hex", ["0x7f000001"]],
    ["an empty answer", [""]],
  ];
  for (const [label, addresses] of answers) {
    it(`refuses ${label}`, async () => {
      const result = await checkHost(
        "svc.example.com",
        networkPolicy({ lookup: tableLookup({ "svc.example.com": addresses }) }),
      );
      expect(result).toMatchObject({ ok: false, code: "blocked_address" });
      for (const address of addresses) if (address !== "") expect(JSON.stringify(result)).not.toContain(address);
    });
  }

  it("asks the resolver once for a name spelled with upper case and a trailing dot, and judges its answer", async () => {
    const lookup = tableLookup({ "svc.example.com": ["10.0.0.7"] });
    expect(await validateRemoteUrl("https://SVC.Example.COM./mcp", networkPolicy({ lookup }))).toMatchObject({
      ok: false,
      code: "blocked_address",
    });
    expect(lookup.calls).toHaveLength(1);
  });

  it("classifies the zone-id forms like their bare addresses", () => {
    expect(classifyAddress("fe80::1%eth0")).toBe("link-local");
    expect(classifyAddress("::ffff:127.0.0.1%lo")).toBe("loopback");
    expect(classifyAddress("fd00:ec2::254%2")).toBe("metadata");
  });
});

describe("the connect step refuses the same spellings against a live listener on 127.0.0.1", () => {
  let listener: Server;
  let port: number;
  const sockets = new Set<Socket>();
  let connections = 0;
  let fetcher: GuardedFetch;

  beforeAll(async () => {
    listener = createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
      socket.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    });
    port = await new Promise<number>((resolve) => {
      listener.listen(0, "127.0.0.1", () => {
        const address = listener.address();
        resolve(typeof address === "object" && address !== null ? address.port : 0);
      });
    });
  });

  afterEach(async () => {
    await fetcher?.close();
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  });

  const hosts = [
    "127.0.0.1.",
    "%31%32%37.0.0.1",
    "127%2e0%2e0%2e1",
    "127。0。0。1",
    "0x7F.1",
    "[::FFFF:7F00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::ffff:0:7f00:1]",
    "[64:ff9b::127.0.0.1]",
    "[::127.0.0.1]",
    "localhost.",
    "LOCALHOST",
    "%6c%6f%63%61%6c%68%6f%73%74",
    "0.0.0.0",
  ];
  for (const host of hosts) {
    it(`refuses http://${host}:port and the listener sees no connection`, async () => {
      const lookup = tableLookup({});
      fetcher = createGuardedFetch(networkPolicy({ requireHttps: false, lookup }));
      const before = connections;
      const error = await fetcher(`http://${host}:${port}/mcp`).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(McpServerSideError.isInstance(error) && error.code, String(error)).toBe("blocked_address");
      expect(connections).toBe(before);
      expect(lookup.calls).toEqual([]);
    });
  }

  it("reaches the same listener once allowPrivateNetworks opens loopback (the listener really answers)", async () => {
    fetcher = createGuardedFetch(networkPolicy({ requireHttps: false, allowPrivateNetworks: true }));
    const before = connections;
    const response = await fetcher(`http://%31%32%37.0.0.1:${port}/mcp`);
    expect(await response.text()).toBe("ok");
    expect(connections).toBe(before + 1);
  });
});

describe("public inputs are accepted", () => {
  const publicDns = {
    "mcp.example.com": ["93.184.216.34"],
    "xn--bcher-kva.example": ["93.184.216.34"],
    "sub.domain-with-dash.example.co.uk": ["2606:4700:4700::1111"],
    "both.example.com": ["93.184.216.34", "2606:4700:4700::1111"],
    "mcp.example.com.cdn.example.net": ["8.8.4.4"],
  };
  const accepted: [string, string][] = [
    ["https://mcp.example.com:443/mcp", "an explicit default port"],
    ["https://mcp.example.com:8443/mcp", "another port"],
    ["https://MCP.EXAMPLE.COM/mcp", "an upper-case name"],
    ["https://mcp.example.com./mcp", "a fully qualified name (trailing dot)"],
    ["https://bücher.example/mcp", "an IDN host"],
    ["https://xn--bcher-kva.example/mcp", "its punycode"],
    ["https://sub.domain-with-dash.example.co.uk/mcp", "a name with an IPv6 answer"],
    ["https://both.example.com/mcp", "a name with IPv4 and IPv6 answers"],
    ["https://mcp.example.com.cdn.example.net/mcp", "a name with a private-looking label"],
    ["https://mcp.example.com/mcp?api_version=2&region=eu", "query parameters"],
    ["https://mcp.example.com/a%20b/mcp", "a percent-encoded path"],
    ["https://8.8.4.4/mcp", "a public IPv4 literal"],
    ["https://[2606:4700:4700::1001]/mcp", "a public IPv6 literal"],
    ["https://[2606:4700:4700:0:0:0:0:1001]:8443/mcp", "a public IPv6 literal written out, with a port"],
    ["https://[64:ff9b::8.8.4.4]/mcp", "NAT64 of a public address"],
    ["https://[::ffff:8.8.4.4]/mcp", "a mapped public address"],
    ["https://100.128.0.1/", "just above CGNAT"],
    ["https://11.0.0.1/", "just above 10/8"],
    ["https://172.15.255.255/", "just below 172.16/12"],
    ["https://:@1.1.1.1/", "an empty userinfo, which WHATWG drops: no credentials"],
    ["https://1.1.1.1\\@127.0.0.1/", "a backslash, which WHATWG reads as a path: the host is 1.1.1.1"],
  ];
  for (const [url, why] of accepted) {
    it(`accepts ${url} (${why})`, async () => {
      const result = await validateRemoteUrl(url, networkPolicy({ lookup: tableLookup(publicDns) }));
      expect(result.ok, JSON.stringify(result)).toBe(true);
    });
  }

  it("connects where it validated: the host of the accepted backslash URL is the public one", async () => {
    const result = await validateRemoteUrl("https://1.1.1.1\\@127.0.0.1/", networkPolicy());
    expect(result.ok && result.value.hostname).toBe("1.1.1.1");
    expect(new URL("https://1.1.1.1\\@127.0.0.1/").hostname).toBe("1.1.1.1");
  });
});

/*
 * Every major cloud's documented metadata endpoints (SPEC §9), IPv4 and IPv6: blocked even under
 * allowPrivateNetworks (several IPv6 ones sit in unique-local space, which that option opens), in
 * every spelling that carries them, by literal and by DNS answer; only allowedHosts opens them.
 */
const metadataEndpoints: [string, string][] = [
  ["169.254.169.254", "AWS, GCP, Azure, Oracle, DigitalOcean, Hetzner, Linode, OpenStack, IBM"],
  ["169.254.170.2", "AWS ECS task metadata"],
  ["169.254.170.23", "AWS EKS Pod Identity agent"],
  ["169.254.0.23", "Tencent Cloud metadata"],
  ["168.63.129.16", "Azure wire server"],
  ["192.0.0.192", "Oracle Cloud legacy metadata"],
  ["100.100.100.200", "Alibaba Cloud metadata"],
  ["fd00:ec2::254", "AWS instance metadata over IPv6"],
  ["fd00:ec2::23", "AWS EKS Pod Identity over IPv6"],
  ["fd20:ce::254", "GCP metadata over IPv6"],
  ["fd00:c1::a9fe:a9fe", "Oracle Cloud metadata over IPv6"],
  ["fd00:a9fe:a9fe::1", "Akamai / Linode metadata over IPv6"],
  ["fe80::a9fe:a9fe", "OpenStack and Linode link-local IPv6 metadata"],
];

const urlHost = (address: string): string => (address.includes(":") ? `[${address}]` : address);

/** The IPv6 forms that carry an IPv4 address, each of which connects (or translates) to it. */
function carriedForms(ipv4: string): [string, string][] {
  const hex = ipv4
    .split(".")
    .map((octet) => Number(octet).toString(16).padStart(2, "0"))
    .join("")
    .replace(/^(.{4})/, "$1:");
  return [
    [`::ffff:${ipv4}`, "IPv4-mapped"],
    [`::ffff:${hex}`, "IPv4-mapped in hex"],
    [`::ffff:0:${hex}`, "IPv4-translated"],
    [`64:ff9b::${ipv4}`, "NAT64 well-known prefix"],
    [`::${hex}`, "IPv4-compatible"],
    [`2002:${hex}::1`, "6to4"],
  ];
}

describe("every cloud's metadata endpoints stay blocked under allowPrivateNetworks", () => {
  const open = { allowPrivateNetworks: true, requireHttps: false } as const;

  for (const [address, cloud] of metadataEndpoints) {
    it(`classifies ${address} (${cloud}) as metadata`, () => {
      expect(classifyAddress(address)).toBe("metadata");
    });

    it(`refuses the literal ${address} (${cloud}) with allowPrivateNetworks, over http and https`, async () => {
      const lookup = tableLookup({});
      for (const scheme of ["http", "https"]) {
        const result = await validateRemoteUrl(`${scheme}://${urlHost(address)}/`, networkPolicy({ ...open, lookup }));
        expect(result, scheme).toMatchObject({ ok: false, code: "blocked_address" });
      }
      expect(lookup.calls).toEqual([]);
    });

    it(`refuses a name resolving to ${address} (${cloud}) with allowPrivateNetworks, without naming the address`, async () => {
      const lookup = tableLookup({ "innocent.example.com": [address] });
      const result = await validateRemoteUrl("https://innocent.example.com/mcp", networkPolicy({ ...open, lookup }));
      expect(result).toMatchObject({ ok: false, code: "blocked_address" });
      expect(JSON.stringify(result)).not.toContain(address);
    });

    it(`opens ${address} (${cloud}) only when allowedHosts names it, on the named port`, async () => {
      const policy = networkPolicy({ ...open, allowedHosts: [`${urlHost(address)}:8080`] });
      expect((await validateRemoteUrl(`http://${urlHost(address)}:8080/`, policy)).ok).toBe(true);
      expect(await validateRemoteUrl(`http://${urlHost(address)}:8081/`, policy)).toMatchObject({
        ok: false,
        code: "blocked_address",
      });
    });

    if (!address.includes(":")) {
      for (const [form, label] of carriedForms(address)) {
        it(`refuses ${address} (${cloud}) in its ${label} form [${form}] with allowPrivateNetworks`, async () => {
          expect(classifyAddress(form)).not.toBe("public");
          const result = await validateRemoteUrl(`https://[${form}]/`, networkPolicy({ ...open }));
          expect(result).toMatchObject({ ok: false, code: "blocked_address" });
          const byName = await checkHost(
            "innocent.example.com",
            networkPolicy({ ...open, lookup: tableLookup({ "innocent.example.com": [form] }) }),
          );
          expect(byName).toMatchObject({ ok: false, code: "blocked_address" });
        });
      }
    }
  }

  const metadataNames: [string, string][] = [
    ["metadata.google.internal", "GCP"],
    ["metadata", "GCP's short name"],
    ["metadata.goog", "GCP"],
    ["instance-data", "AWS"],
    ["instance-data.ec2.internal", "AWS"],
    ["metadata.tencentyun.com", "Tencent Cloud"],
    ["api.metadata.cloud.ibm.com", "IBM Cloud VPC"],
    ["metadata.platformequinix.com", "Equinix Metal"],
  ];
  for (const [name, cloud] of metadataNames) {
    it(`refuses the metadata name ${name} (${cloud}) with allowPrivateNetworks, without asking DNS`, async () => {
      const lookup = tableLookup({ [name]: ["10.0.0.1"] });
      const result = await validateRemoteUrl(`http://${name.toUpperCase()}./x`, networkPolicy({ ...open, lookup }));
      expect(result).toMatchObject({ ok: false, code: "blocked_address" });
      expect(lookup.calls).toEqual([]);
    });
  }

  it("still opens ordinary private addresses with allowPrivateNetworks (the metadata rows are exact)", async () => {
    const policy = networkPolicy({ ...open });
    for (const url of [
      "http://10.0.0.1/",
      "http://[fd00:ec2::255]/",
      "http://[fd20:ce::253]/",
      "http://100.100.100.201/",
    ]) {
      expect((await validateRemoteUrl(url, policy)).ok, url).toBe(true);
    }
  });
});

describe("allowedHosts entries", () => {
  const accepted: [string, string][] = [
    ["mcp.corp.example", "mcp.corp.example"],
    ["MCP.Corp.Example.", "mcp.corp.example"],
    ["mcp.corp.example:8443", "mcp.corp.example:8443"],
    ["localhost:5173", "localhost:5173"],
    ["127.0.0.1", "127.0.0.1"],
    ["127.0.0.1:3000", "127.0.0.1:3000"],
    ["0x7f.1:3000", "127.0.0.1:3000"],
    ["::1", "::1"],
    ["[::1]", "::1"],
    ["[::1]:8443", "[::1]:8443"],
    ["[0:0::1]:80", "[::1]:80"],
    ["[::ffff:127.0.0.1]:80", "127.0.0.1:80"],
    ["bücher.example:443", "xn--bcher-kva.example:443"],
    ["169.254.169.254", "169.254.169.254"],
    ["host:65535", "host:65535"],
  ];
  for (const [entry, canonical] of accepted) {
    it(`accepts ${JSON.stringify(entry)} as ${canonical}`, () => {
      const policy = createNetworkPolicy({ allowedHosts: [entry] });
      expect([...policy.allowedHosts]).toEqual([canonical]);
      const parsed = parseAllowedHost(entry);
      expect(parsed && formatAllowedHost(parsed)).toBe(canonical);
    });
  }

  const malformed: [unknown, string][] = [
    ["", "empty"],
    ["https://mcp.corp.example", "a URL"],
    ["mcp.corp.example/mcp", "a path"],
    ["*.corp.example", "a wildcard"],
    ["mcp.corp.example:0", "port 0"],
    ["mcp.corp.example:65536", "a port over 65535"],
    ["mcp.corp.example:", "an empty port"],
    ["mcp.corp.example:http", "a named port"],
    ["mcp.corp.example:+80", "a signed port"],
    [":8080", "a port without a host"],
    ["[::1", "an unclosed bracket"],
    ["[::1]8080", "a port without a colon"],
    ["[127.0.0.1]:80", "an IPv4 literal in brackets"],
    ["fe80::1%eth0", "a zone id"],
    ["mcp corp", "white space"],
    ["user@mcp.corp.example", "userinfo"],
    ["mcp.corp.example?x", "a query"],
    ["mcp%2ecorp.example", "percent-encoding"],
    ["256.0.0.1", "an invalid IPv4 literal"],
    ["a".repeat(301), "over 300 characters"],
    [42, "not a string"],
  ];
  for (const [entry, why] of malformed) {
    it(`refuses ${JSON.stringify(entry).slice(0, 40)} (${why}) at creation with invalid_config naming it`, () => {
      expect(parseAllowedHost(entry)).toBeUndefined();
      const error = expectThrown(() => createNetworkPolicy({ allowedHosts: [entry as string] }), "invalid_config");
      if (typeof entry === "string" && entry.length <= 100) expect(error.message).toContain(JSON.stringify(entry));
    });
  }

  it("refuses an allowedHosts that is not an array", () => {
    expectThrown(() => createNetworkPolicy({ allowedHosts: "127.0.0.1" as unknown as string[] }), "invalid_config");
  });

  const lookup = tableLookup({ "mcp.corp.example": ["10.0.0.5"] });
  const matching: [string[], string, boolean, string][] = [
    [["mcp.corp.example:8443"], "https://mcp.corp.example:8443/mcp", true, "the named port"],
    [["mcp.corp.example:8443"], "https://mcp.corp.example/mcp", false, "the default port, not named"],
    [["mcp.corp.example:8443"], "https://mcp.corp.example:8444/mcp", false, "another port"],
    [["mcp.corp.example:443"], "https://mcp.corp.example/mcp", true, "https's default port, named"],
    [["mcp.corp.example:80"], "http://mcp.corp.example/mcp", true, "http's default port, named, plain http"],
    [["mcp.corp.example:80"], "https://mcp.corp.example/mcp", false, "port 80 named, https connects to 443"],
    [["mcp.corp.example"], "https://mcp.corp.example:9999/mcp", true, "a bare host opens every port"],
    [
      ["mcp.corp.example:1", "mcp.corp.example"],
      "https://mcp.corp.example:2/",
      true,
      "a bare entry beside a port entry",
    ],
    [["127.0.0.1:3000"], "http://127.0.0.1:3000/mcp", true, "a loopback literal on its port"],
    [["127.0.0.1:3000"], "http://127.1:3000/mcp", true, "the same literal spelled short"],
    [["127.0.0.1:3000"], "http://[::ffff:7f00:1]:3000/mcp", true, "the same literal, IPv4-mapped"],
    [["127.0.0.1:3000"], "http://127.0.0.1:3001/mcp", false, "the literal on another port"],
    [["[::1]:3000"], "http://[::1]:3000/mcp", true, "an IPv6 literal on its port"],
    [["[::1]:3000"], "http://[::1]:3001/mcp", false, "an IPv6 literal on another port"],
    [["localhost:5173"], "http://localhost:5173/", true, "localhost on its port"],
    [["localhost:5173"], "http://localhost:5174/", false, "localhost on another port"],
    [["127.0.0.1:3000"], "http://mcp.corp.example:3000/", false, "a name resolving to a private address"],
  ];
  for (const [entries, url, allowed, why] of matching) {
    it(`${allowed ? "opens" : "keeps closed"} ${url} with allowedHosts ${JSON.stringify(entries)} (${why})`, async () => {
      const policy = createNetworkPolicy({ allowedHosts: entries, lookup });
      const result = await validateRemoteUrl(url, policy);
      if (allowed) expect(result.ok, JSON.stringify(result)).toBe(true);
      else expect(result).toMatchObject({ ok: false, code: "blocked_address" });
    });
  }
});

describe("port 0", () => {
  for (const url of ["https://mcp.example.com:0/mcp", "https://1.1.1.1:00/", "https://[2606:4700:4700::1111]:0/"]) {
    it(`refuses ${url} as invalid_url without asking DNS`, async () => {
      const lookup = tableLookup({ "mcp.example.com": ["93.184.216.34"] });
      expect(await validateRemoteUrl(url, networkPolicy({ lookup }))).toMatchObject({ ok: false, code: "invalid_url" });
      expect(lookup.calls).toEqual([]);
    });
  }
});

describe("a refused host is explained to the operator's log, never to the tenant", () => {
  const lookup = tableLookup({
    "svc.example.com": ["10.0.0.5"],
    "public.example.com": ["93.184.216.34"],
    "meta.example.com": ["fd20:ce::254"],
  });
  const cases: [string, string, Partial<NetworkPolicy>, string, string[], string[]][] = [
    [
      "a loopback literal",
      "http://127.0.0.1:3000/mcp",
      {},
      "blocked_address",
      ['allowedHosts: ["127.0.0.1:3000"]', "allowPrivateNetworks: true", "loopback"],
      [],
    ],
    [
      "a name resolving to a private address",
      "https://svc.example.com/mcp",
      {},
      "blocked_address",
      ['allowedHosts: ["svc.example.com:443"]', "allowPrivateNetworks: true", "private"],
      ["10.0.0.5"],
    ],
    [
      "localhost",
      "http://localhost:5173/mcp",
      {},
      "blocked_address",
      ['allowedHosts: ["localhost:5173"]', "allowPrivateNetworks"],
      [],
    ],
    [
      "an IPv6 unique-local literal",
      "https://[fd12::1]:8443/",
      {},
      "blocked_address",
      ['allowedHosts: ["[fd12::1]:8443"]', "allowPrivateNetworks: true"],
      [],
    ],
    [
      "a metadata literal under allowPrivateNetworks",
      "http://169.254.169.254/latest",
      { allowPrivateNetworks: true },
      "blocked_address",
      ["cloud metadata", "allowPrivateNetworks never opens", 'allowedHosts: ["169.254.169.254:80"]'],
      [],
    ],
    [
      "a name resolving to a metadata address under allowPrivateNetworks",
      "https://meta.example.com/",
      { allowPrivateNetworks: true },
      "blocked_address",
      ["cloud metadata", "never opens"],
      ["fd20:ce::254"],
    ],
    [
      "a metadata name",
      "http://metadata.google.internal/",
      { allowPrivateNetworks: true },
      "blocked_address",
      ["cloud metadata", "metadata.google.internal:80"],
      [],
    ],
    [
      "plain http to a public host",
      "http://public.example.com/mcp",
      {},
      "invalid_url",
      ["requireHttps: false", "plain http", 'allowedHosts: ["public.example.com:80"]'],
      ["93.184.216.34"],
    ],
  ];
  for (const [label, url, overrides, code, hints, secret] of cases) {
    it(`logs which option opens ${label}, at warn level, and keeps the tenant's message generic`, async () => {
      const lines: { level: string; text: string }[] = [];
      const logger = {
        warn: (...args: unknown[]) => lines.push({ level: "warn", text: args.map(String).join(" ") }),
      };
      const result = await validateRemoteUrl(url, { ...networkPolicy({ lookup }), ...overrides, logger });
      expect(result).toMatchObject({ ok: false, code });
      expect(lines).toHaveLength(1);
      const [line] = lines;
      expect(line?.level).toBe("warn");
      for (const hint of hints) expect(line?.text).toContain(hint);
      for (const address of secret) expect(line?.text).not.toContain(address);
      // The tenant sees neither the options nor any address.
      const tenant = JSON.stringify(result);
      for (const word of ["allowedHosts", "allowPrivateNetworks", "requireHttps", ...secret])
        expect(tenant).not.toContain(word);
    });
  }

  it("logs nothing for an accepted host, and nothing without a logger", async () => {
    const lines: string[] = [];
    const logger = { warn: (...args: unknown[]) => lines.push(args.map(String).join(" ")) };
    expect((await validateRemoteUrl("https://public.example.com/", { ...networkPolicy({ lookup }), logger })).ok).toBe(
      true,
    );
    expect(lines).toEqual([]);
    expect(await validateRemoteUrl("http://127.0.0.1/", networkPolicy())).toMatchObject({ ok: false });
  });
});
