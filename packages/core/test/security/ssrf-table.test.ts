import { createServer, type Server, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { McpServerSideError } from "../../src/errors.js";
import { type GuardedFetch, createGuardedFetch } from "../../src/security/guarded-fetch.js";
import { checkHost, classifyAddress, validateRemoteUrl } from "../../src/security/ssrf.js";
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
