import { promises as dns } from "node:dns";
import ipaddr from "ipaddr.js";
import { McpServerSideError, type Result, fail, ok } from "../errors.js";
import type { Logger, Lookup, LookupAddress, McpServerSideOptions, NetworkPolicy } from "../options.js";

/**
 * What an IP address is, for the SSRF rules of SPEC §9. Only `public` is reachable by default;
 * `allowPrivateNetworks` opens `loopback`, `private`, `unique-local` and `cgnat`; everything else is
 * opened only by naming the host in `allowedHosts`.
 */
export type AddressClass =
  | "public"
  | "loopback"
  | "private"
  | "unique-local"
  | "cgnat"
  | "link-local"
  | "metadata"
  | "multicast"
  | "reserved"
  | "unspecified"
  | "invalid";

/** The classes that `allowPrivateNetworks: true` opens (never link-local or metadata: SPEC §11). */
const PRIVATE_NETWORK_CLASSES: ReadonlySet<AddressClass> = new Set(["loopback", "private", "unique-local", "cgnat"]);

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Table = readonly (readonly [[Address, number], AddressClass])[];

const table = (entries: readonly (readonly [string, AddressClass])[]): Table =>
  entries.map(([range, kind]) => [ipaddr.parseCIDR(range), kind] as const);

// First match wins, so the single metadata addresses come before the ranges that hold them.
const IPV4_TABLE = table([
  // Every major cloud's documented metadata endpoints (SPEC §9). Most sit in link-local space and would
  // be blocked anyway; naming them keeps them blocked if a range rule ever loosens, and the ones
  // outside it (Azure's wire server, Alibaba's in CGNAT space, Oracle's) are blocked only by these.
  ["169.254.169.254/32", "metadata"], // AWS, GCP, Azure, Oracle, DigitalOcean, Hetzner, Linode, OpenStack, IBM …
  ["169.254.170.2/32", "metadata"], // AWS ECS task metadata and credentials
  ["169.254.170.23/32", "metadata"], // AWS EKS Pod Identity agent (credentials)
  ["169.254.0.23/32", "metadata"], // Tencent Cloud metadata (metadata.tencentyun.com)
  ["168.63.129.16/32", "metadata"], // Azure wire server (otherwise a public address)
  ["100.100.100.200/32", "metadata"], // Alibaba Cloud metadata (inside CGNAT space)
  ["192.0.0.192/32", "metadata"], // Oracle Cloud legacy metadata
  ["0.0.0.0/8", "unspecified"], // "this network": 0.0.0.0 connects to the local host on Linux
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "cgnat"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "reserved"], // IETF protocol assignments
  ["192.0.2.0/24", "reserved"], // TEST-NET-1
  ["192.88.99.0/24", "reserved"], // 6to4 relay anycast (deprecated)
  ["192.168.0.0/16", "private"],
  ["198.18.0.0/15", "reserved"], // benchmarking
  ["198.51.100.0/24", "reserved"], // TEST-NET-2
  ["203.0.113.0/24", "reserved"], // TEST-NET-3
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved"], // future use and the limited broadcast 255.255.255.255
]);

// IPv6 forms that carry an IPv4 address are classified by that address (see classifyIPv6); the rest
// of ::/8 and everything outside 2000::/3 is not global unicast and so is reserved.
const IPV6_TABLE = table([
  // Metadata endpoints inside unique-local space, which allowPrivateNetworks would otherwise open.
  ["fd00:ec2::254/128", "metadata"], // AWS instance metadata over IPv6
  ["fd00:ec2::23/128", "metadata"], // AWS EKS Pod Identity agent over IPv6
  ["fd20:ce::254/128", "metadata"], // GCP metadata server over IPv6
  ["fd00:c1::a9fe:a9fe/128", "metadata"], // Oracle Cloud metadata over IPv6
  ["fd00:a9fe:a9fe::1/128", "metadata"], // Akamai / Linode metadata over IPv6
  ["fe80::a9fe:a9fe/128", "metadata"], // OpenStack and Linode metadata, link-local IPv6
  ["fc00::/7", "unique-local"],
  ["fe80::/10", "link-local"],
  ["fec0::/10", "private"], // deprecated site-local
  ["ff00::/8", "multicast"],
  ["2002::/16", "reserved"], // 6to4: tunnels to an arbitrary IPv4 address
  ["2001::/32", "reserved"], // Teredo: tunnels to an arbitrary IPv4 address
  ["2001::/23", "reserved"], // IETF protocol assignments (benchmarking, ORCHID …)
  ["2001:db8::/32", "reserved"], // documentation
  ["3fff::/20", "reserved"], // documentation (RFC 9637)
]);

const GLOBAL_UNICAST = ipaddr.parseCIDR("2000::/3");
const NAT64_WELL_KNOWN = ipaddr.parseCIDR("64:ff9b::/96");
const NAT64_LOCAL_USE = ipaddr.parseCIDR("64:ff9b:1::/48");
const IPV4_MAPPED = ipaddr.parseCIDR("::ffff:0:0/96");
const IPV4_TRANSLATED = ipaddr.parseCIDR("::ffff:0:0:0/96");
const IPV4_COMPATIBLE = ipaddr.parseCIDR("::/96");

function lookupTable(address: Address, entries: Table): AddressClass | undefined {
  for (const [range, kind] of entries) {
    if (address.kind() === range[0].kind() && address.match(range)) return kind;
  }
  return undefined;
}

function ipv4FromBytes(bytes: readonly number[]): ipaddr.IPv4 {
  return new ipaddr.IPv4(bytes.map((byte) => byte ?? 0));
}

/** The most restrictive class among candidate embedded IPv4 addresses; `public` only if all are. */
function classifyEmbedded(candidates: readonly ipaddr.IPv4[]): AddressClass {
  for (const candidate of candidates) {
    const kind = classifyIPv4(candidate);
    if (kind !== "public") return kind;
  }
  return "public";
}

function classifyIPv4(address: ipaddr.IPv4): AddressClass {
  return lookupTable(address, IPV4_TABLE) ?? "public";
}

function classifyIPv6(address: ipaddr.IPv6): AddressClass {
  const bytes = address.toByteArray();
  const last32 = ipv4FromBytes(bytes.slice(12, 16));
  if (address.match(IPV4_MAPPED) || address.match(IPV4_TRANSLATED) || address.match(NAT64_WELL_KNOWN)) {
    return classifyIPv4(last32);
  }
  if (address.match(IPV4_COMPATIBLE)) {
    // :: and ::1 are IPv6's own; the rest is the deprecated IPv4-compatible form (WHATWG writes
    // [::127.0.0.1] as [::7f00:1]) and is judged by the IPv4 address it carries.
    if (address.toNormalizedString() === "0:0:0:0:0:0:0:0") return "unspecified";
    if (address.toNormalizedString() === "0:0:0:0:0:0:0:1") return "loopback";
    return classifyIPv4(last32);
  }
  if (address.match(NAT64_LOCAL_USE)) {
    // RFC 6052 lets a local-use NAT64 prefix be /48, /56, /64 or /96 long, each placing the IPv4
    // address elsewhere; every layout the address fits (its other bits zero) is read, and any
    // non-public reading wins. A translator in the operator's own network is private even when it
    // leads to a public address.
    const zero = (from: number, to: number): boolean => bytes.slice(from, to).every((byte) => byte === 0);
    const candidates: ipaddr.IPv4[] = [];
    if (zero(8, 9) && zero(11, 16))
      candidates.push(ipv4FromBytes([bytes[6] ?? 0, bytes[7] ?? 0, bytes[9] ?? 0, bytes[10] ?? 0]));
    if (zero(8, 9) && zero(12, 16))
      candidates.push(ipv4FromBytes([bytes[7] ?? 0, bytes[9] ?? 0, bytes[10] ?? 0, bytes[11] ?? 0]));
    if (zero(8, 9) && zero(13, 16)) candidates.push(ipv4FromBytes(bytes.slice(9, 13)));
    if (zero(6, 12)) candidates.push(last32);
    const kind = classifyEmbedded(candidates);
    return kind === "public" ? "private" : kind;
  }
  const kind = lookupTable(address, IPV6_TABLE);
  if (kind !== undefined) return kind;
  return address.match(GLOBAL_UNICAST) ? "public" : "reserved";
}

/**
 * Parses an IP literal strictly: dotted-quad IPv4 or IPv6 (brackets and a zone id tolerated).
 * Shorthand IPv4 such as `127.1` is refused here; WHATWG URL has already canonicalized URL hosts,
 * and a resolver answer in that shape is not trusted.
 */
export function parseIpAddress(ip: string): Address | undefined {
  const bare = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare);
  if (bare.includes(":") && ipaddr.IPv6.isValid(bare)) return ipaddr.IPv6.parse(bare);
  return undefined;
}

/** Classifies an IP address for the SSRF rules; anything that does not parse is `invalid`. */
export function classifyAddress(ip: string): AddressClass {
  const address = parseIpAddress(ip);
  if (address === undefined) return "invalid";
  return address.kind() === "ipv4" ? classifyIPv4(address as ipaddr.IPv4) : classifyIPv6(address as ipaddr.IPv6);
}

/**
 * The comparable form of a host: lower case, no IPv6 brackets, no trailing dot, and IP literals in
 * one canonical spelling (IPv4-mapped IPv6 unwrapped), so `allowedHosts` matches however it is written.
 */
export function normalizeHost(host: string): string {
  let bare = host.trim().toLowerCase();
  if (bare.startsWith("[") && bare.endsWith("]")) bare = bare.slice(1, -1);
  const address = parseIpAddress(bare);
  if (address !== undefined) {
    const unwrapped =
      address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress()
        ? (address as ipaddr.IPv6).toIPv4Address()
        : address;
    return unwrapped.toString();
  }
  // A loop, not /\.+$/: that expression rescans a run of dots from each of its dots (quadratic).
  let end = bare.length;
  while (end > 0 && bare.charCodeAt(end - 1) === 0x2e) end--;
  return bare.slice(0, end);
}

/** One `allowedHosts` entry: a canonical host, and the one port it opens (undefined: every port). */
export interface AllowedHost {
  host: string;
  port: number | undefined;
}

/** URL delimiters and wildcards a host name in `allowedHosts` never holds; WHATWG would split or decode on them. */
const NOT_IN_ALLOWED_HOST = /[/?#@\\%*[\]]/;

/**
 * Parses an `allowedHosts` entry: `host`, `host:port`, an IPv6 literal bare or in brackets, or
 * `[v6]:port`. Names and IPv4 literals are canonicalized as WHATWG URL canonicalizes a URL's host
 * (IDNA, lower case, `0x7f.1` → `127.0.0.1`), so an entry matches however a tenant spells the URL.
 * Undefined for anything else: a URL, a wildcard, a path, a port outside 1–65535.
 */
export function parseAllowedHost(entry: unknown): AllowedHost | undefined {
  if (typeof entry !== "string" || entry.length === 0 || entry.length > 300) return undefined;
  let host: string;
  let portText: string | undefined;
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]");
    if (close < 0) return undefined;
    host = entry.slice(1, close);
    const rest = entry.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) return undefined;
    portText = rest === "" ? undefined : rest.slice(1);
    if (!host.includes(":")) return undefined;
  } else if (entry.indexOf(":") !== entry.lastIndexOf(":")) {
    host = entry; // a bare IPv6 literal, which cannot carry a port without brackets
  } else {
    const colon = entry.indexOf(":");
    host = colon < 0 ? entry : entry.slice(0, colon);
    portText = colon < 0 ? undefined : entry.slice(colon + 1);
  }
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
    if (port < 1 || port > 65535) return undefined;
  }
  if (host.includes(":")) {
    // IPv6: strictly an address, no zone id (a URL's host never carries one).
    if (host.includes("%") || !ipaddr.IPv6.isValid(host)) return undefined;
    return { host: normalizeHost(host), port };
  }
  if (host === "" || NOT_IN_ALLOWED_HOST.test(host) || hasForbiddenUrlCharacter(host)) return undefined;
  let canonical: string;
  try {
    canonical = new URL(`http://${host}/`).hostname;
  } catch {
    return undefined;
  }
  if (canonical === "") return undefined;
  return { host: normalizeHost(canonical), port };
}

/** The canonical spelling of an entry (`host`, `host:port`, `[v6]:port`), so one host is one set member. */
export function formatAllowedHost({ host, port }: AllowedHost): string {
  if (port === undefined) return host;
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * True when the operator opened this host (name or IP literal) with `allowedHosts`: a bare entry
 * opens every port, a `host:port` entry only that port (so a call that does not know the port
 * matches bare entries only).
 */
export function isHostOpened(host: string, policy: Pick<NetworkPolicy, "allowedHosts">, port?: number): boolean {
  if (policy.allowedHosts.size === 0) return false;
  const wanted = normalizeHost(host);
  for (const entry of policy.allowedHosts) {
    const allowed = parseAllowedHost(entry);
    if (allowed === undefined || allowed.host !== wanted) continue;
    if (allowed.port === undefined || allowed.port === port) return true;
  }
  return false;
}

/**
 * Whether a connection to `ip` is allowed. `hostname` is the URL's host (a name, or the literal
 * itself); when it is in `allowedHosts` (for this `port`) every address is allowed. Without a
 * hostname the address itself is looked up in `allowedHosts`, so an IP literal listed there only
 * opens URLs that use it.
 */
export function isAddressAllowed(
  ip: string,
  policy: Pick<NetworkPolicy, "allowedHosts" | "allowPrivateNetworks">,
  hostname?: string,
  port?: number,
): boolean {
  if (isHostOpened(hostname ?? ip, policy, port)) return true;
  const kind = classifyAddress(ip);
  if (kind === "public") return true;
  return policy.allowPrivateNetworks && PRIVATE_NETWORK_CLASSES.has(kind);
}

/** Names that are loopback by definition (RFC 6761): answered locally, never by DNS. */
export function isLocalhostName(host: string): boolean {
  const name = normalizeHost(host);
  return name === "localhost" || name.endsWith(".localhost");
}

/** Names of cloud metadata services. DNS would usually show them as link-local, but not every resolver is the cloud's. */
const METADATA_NAMES: ReadonlySet<string> = new Set([
  "metadata.google.internal",
  "metadata.goog",
  "metadata",
  "instance-data",
  "instance-data.ec2.internal",
  "metadata.tencentyun.com",
  "metadata.platformequinix.com",
  "api.metadata.cloud.ibm.com",
]);

export function isMetadataName(host: string): boolean {
  return METADATA_NAMES.has(normalizeHost(host));
}

const LOCALHOST_ADDRESSES: readonly LookupAddress[] = [
  { address: "127.0.0.1", family: 4 },
  { address: "::1", family: 6 },
];

/**
 * How a checked host is reached: `opened` by `allowedHosts`, only `public` addresses, or at least one
 * address that `allowPrivateNetworks` opened (`private`). Decides whether plain http is allowed.
 */
export type HostReach = "opened" | "public" | "private";

export interface CheckedHost {
  /** The host without IPv6 brackets. */
  hostname: string;
  /** Every address of the host, each allowed by the policy; connect to these and nothing else. */
  addresses: LookupAddress[];
  reach: HostReach;
}

const NOT_PUBLIC_LITERAL = "the URL's host is an address that is not allowed";
const NOT_PUBLIC_NAME = "the URL's host resolves to an address that is not allowed";

/** Why a host was refused, for the operator's log line: an address class, or plain http to a public host. */
export type RefusalReason = AddressClass | "plain-http";

const REASON_TEXT: Partial<Record<RefusalReason, string>> = {
  loopback: "a loopback address",
  private: "a private address",
  "unique-local": "a unique-local IPv6 address",
  cgnat: "a carrier-grade NAT address",
  "link-local": "a link-local address",
  metadata: "a cloud metadata endpoint",
  multicast: "a multicast address",
  unspecified: "the unspecified address",
  reserved: "a reserved address",
  invalid: "an answer that is not an IP address",
};

/**
 * Tells the operator, at warn level through the instance's (sanitizing) logger, which option would
 * open a refused host. The tenant's error stays generic; this line names the host and port the
 * tenant gave (never a resolved address) and the option: `allowedHosts` for that host and port,
 * `allowPrivateNetworks` for a private range, `requireHttps: false` for plain http.
 */
export function warnRefusedHost(
  policy: NetworkPolicy,
  host: string,
  port: number | undefined,
  reason: RefusalReason,
): void {
  if (policy.logger === undefined) return;
  const bare = normalizeHost(host).slice(0, 256);
  const entry = formatAllowedHost({ host: bare, port });
  const where = `a tenant server at ${entry}`;
  let advice: string;
  if (reason === "plain-http") {
    advice = `was refused: plain http to a public host. Use https, open exactly this host with allowedHosts: ["${entry}"], or set requireHttps: false.`;
  } else if (PRIVATE_NETWORK_CLASSES.has(reason)) {
    advice = `was refused: it is ${REASON_TEXT[reason]}. To open exactly this host, add allowedHosts: ["${entry}"]; allowPrivateNetworks: true opens every private address.`;
  } else {
    advice = `was refused: it is ${REASON_TEXT[reason] ?? "a blocked address"}, which allowPrivateNetworks never opens. Only allowedHosts: ["${entry}"] opens it; do so only if you trust every tenant with it.`;
  }
  policy.logger.warn(`mcp-server-side: ${where} ${advice}`);
}

/**
 * The one host check, shared by registration (validateRemoteUrl) and the connect step
 * (guarded-fetch): name rules, then every address the host has. `port` is the port connected to, for
 * `host:port` entries of `allowedHosts` (without it only bare entries open the host). Messages never
 * name an address; a refusal is explained to the operator's log (warnRefusedHost).
 */
export async function checkHost(host: string, policy: NetworkPolicy, port?: number): Promise<Result<CheckedHost>> {
  const hostname = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const opened = isHostOpened(hostname, policy, port);
  const literal = parseIpAddress(hostname);
  if (literal !== undefined) {
    const kind = classifyAddress(hostname);
    if (!isAddressAllowed(hostname, policy, undefined, port)) {
      warnRefusedHost(policy, hostname, port, kind);
      return fail("blocked_address", NOT_PUBLIC_LITERAL);
    }
    const reach: HostReach = opened ? "opened" : kind === "public" ? "public" : "private";
    return ok({ hostname, addresses: [{ address: hostname, family: literal.kind() === "ipv4" ? 4 : 6 }], reach });
  }
  if (isLocalhostName(hostname)) {
    // Loopback whatever DNS says; opened like any loopback address.
    if (!opened && !policy.allowPrivateNetworks) {
      warnRefusedHost(policy, hostname, port, "loopback");
      return fail("blocked_address", "localhost names are not allowed");
    }
    return ok({ hostname, addresses: [...LOCALHOST_ADDRESSES], reach: opened ? "opened" : "private" });
  }
  if (isMetadataName(hostname) && !opened) {
    warnRefusedHost(policy, hostname, port, "metadata");
    return fail("blocked_address", "cloud metadata hosts are not allowed");
  }

  let answers: LookupAddress[];
  try {
    answers = await policy.lookup(hostname);
  } catch {
    return fail("invalid_url", "the URL's host does not resolve");
  }
  if (!Array.isArray(answers) || answers.length === 0) return fail("invalid_url", "the URL's host does not resolve");
  let everyPublic = true;
  const addresses: LookupAddress[] = [];
  for (const answer of answers) {
    const address = typeof answer?.address === "string" ? parseIpAddress(answer.address) : undefined;
    // An answer that is not an IP address is refused rather than handed to a resolver again.
    if (address === undefined) {
      warnRefusedHost(policy, hostname, port, "invalid");
      return fail("blocked_address", NOT_PUBLIC_NAME);
    }
    if (!isAddressAllowed(answer.address, policy, hostname, port)) {
      warnRefusedHost(policy, hostname, port, classifyAddress(answer.address));
      return fail("blocked_address", NOT_PUBLIC_NAME);
    }
    if (classifyAddress(answer.address) !== "public") everyPublic = false;
    addresses.push({ address: answer.address, family: address.kind() === "ipv4" ? 4 : 6 });
  }
  return ok({ hostname, addresses, reach: opened ? "opened" : everyPublic ? "public" : "private" });
}

/**
 * Plain http is allowed with `requireHttps: false`, or for a host that the operator opened: named in
 * `allowedHosts`, or reached through a private address that `allowPrivateNetworks` opened. A public
 * host always needs https otherwise.
 */
export function isPlainHttpAllowed(reach: HostReach, policy: Pick<NetworkPolicy, "requireHttps">): boolean {
  return !policy.requireHttps || reach !== "public";
}

/**
 * Characters refused anywhere in a URL: C0 and C1 controls, DEL, space and every other Unicode
 * white space or invisible format character, and lone surrogates. WHATWG URL would silently trim,
 * drop or encode some of them, and what is stored must be exactly what was sent.
 */
function hasForbiddenUrlCharacter(raw: string): boolean {
  for (let index = 0; index < raw.length; index++) {
    const code = raw.charCodeAt(index);
    if (code <= 0x20 || (code >= 0x7f && code <= 0xa0) || code === 0xad) return true;
    if (code === 0x1680 || code === 0x180e || (code >= 0x2000 && code <= 0x200f)) return true;
    if ((code >= 0x2028 && code <= 0x202f) || (code >= 0x205f && code <= 0x206f)) return true;
    if (code === 0x3000 || code === 0xfeff || (code >= 0xfff0 && code <= 0xffff)) return true;
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = raw.charCodeAt(index + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
      index++;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return true;
    }
  }
  return false;
}

/** The static part of the URL rules (no DNS): a string, parseable, http(s), no userinfo, no raw control characters. */
export function parseRemoteUrl(raw: unknown): Result<URL> {
  if (typeof raw !== "string") return fail("invalid_url", "the URL must be a string");
  if (raw.length === 0 || raw.length > 8192) return fail("invalid_url", "the URL must be 1 to 8192 characters");
  if (hasForbiddenUrlCharacter(raw)) return fail("invalid_url", "the URL contains control characters or white space");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail("invalid_url", "the URL is not a valid absolute URL");
  }
  return checkRemoteUrl(url);
}

/**
 * The checks of `parseRemoteUrl` on a URL already parsed (each hop of the guarded fetch): its href is
 * canonical, so the character checks, which look at what the parser would strip or encode, hold.
 */
export function checkRemoteUrl(url: URL): Result<URL> {
  if (url.href.length > 8192) return fail("invalid_url", "the URL must be 1 to 8192 characters");
  if (url.protocol !== "https:" && url.protocol !== "http:") return fail("invalid_url", "the URL must use https");
  if (url.username !== "" || url.password !== "")
    return fail("invalid_url", "the URL must not contain credentials (userinfo)");
  if (url.hostname === "") return fail("invalid_url", "the URL has no host");
  // Port 0 is no port: connecting to it fails, or on some stacks picks whatever the OS says.
  if (url.port !== "" && Number(url.port) === 0) return fail("invalid_url", "the URL's port must be 1 to 65535");
  return ok(url);
}

/**
 * Checks a tenant's remote server URL (SPEC §9) at registration: parsed with WHATWG URL (so
 * decimal, hex, octal, short and fullwidth IPv4 spellings are canonical before the check), then every
 * address the host resolves to through `policy.lookup`. `invalid_url` for a malformed URL, a wrong
 * scheme or a host that does not resolve; `blocked_address` for a host the policy blocks. The
 * connect step checks again (guarded-fetch), so a later DNS answer cannot widen this.
 */
export async function validateRemoteUrl(raw: unknown, policy: NetworkPolicy): Promise<Result<URL>> {
  const parsed = parseRemoteUrl(raw);
  if (!parsed.ok) return parsed;
  const url = parsed.value;
  const port = effectivePort(url.protocol, url.port);
  const host = await checkHost(url.hostname, policy, port);
  if (!host.ok) return host;
  if (url.protocol === "http:" && !isPlainHttpAllowed(host.value.reach, policy)) {
    warnRefusedHost(policy, url.hostname, port, "plain-http");
    return fail("invalid_url", "the URL must use https (http is allowed only for hosts the operator opened)");
  }
  return ok(url);
}

/** The port a connection goes to: the URL's, else the scheme's default. */
export function effectivePort(protocol: string, port: string | number | undefined): number {
  const explicit = Number(port);
  if (port !== undefined && port !== "" && Number.isInteger(explicit) && explicit > 0) return explicit;
  return protocol === "http:" ? 80 : 443;
}

/**
 * The network policy of an instance from its options. Every `allowedHosts` entry is parsed here, so a
 * malformed one (a URL, a wildcard, a port outside 1–65535) throws at creation instead of silently
 * never matching.
 */
export function createNetworkPolicy(
  options: Pick<McpServerSideOptions, "allowedHosts" | "allowPrivateNetworks" | "requireHttps" | "lookup">,
  logger?: Pick<Logger, "warn">,
): NetworkPolicy {
  const entries: unknown = options.allowedHosts ?? [];
  if (!Array.isArray(entries)) {
    throw new McpServerSideError(
      "invalid_config",
      "createMcpServerSide: 'allowedHosts' must be an array of host names",
    );
  }
  const allowedHosts = new Set<string>();
  for (const entry of entries as unknown[]) {
    const parsed = parseAllowedHost(entry);
    if (parsed === undefined) {
      const shown = typeof entry === "string" ? JSON.stringify(entry.slice(0, 100)) : typeof entry;
      throw new McpServerSideError(
        "invalid_config",
        `createMcpServerSide: allowedHosts entry ${shown} is not a host name, an IP literal, host:port or [IPv6]:port (port 1-65535; no scheme, path or wildcard)`,
      );
    }
    allowedHosts.add(formatAllowedHost(parsed));
  }
  return {
    allowedHosts,
    allowPrivateNetworks: options.allowPrivateNetworks === true,
    requireHttps: options.requireHttps !== false,
    lookup: options.lookup ?? defaultLookup,
    ...(logger ? { logger } : {}),
  };
}

/** The default resolver: every answer of the system resolver, in its order. */
export const defaultLookup: Lookup = async (hostname) => {
  const answers = await dns.lookup(hostname, { all: true, verbatim: true });
  return answers.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};
