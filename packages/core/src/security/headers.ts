import { toPointer } from "../config/schema.js";
import type { FieldError } from "../errors.js";
import type { Limits } from "../options.js";

/**
 * Headers a server definition may not set (SPEC §9): hop-by-hop and framing headers that would let
 * a tenant smuggle requests or break the connection, and the headers the MCP transport owns.
 */
export const REFUSED_HEADER_NAMES: ReadonlySet<string> = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "te",
  "trailer",
  "upgrade",
  "proxy-authorization",
  "proxy-connection",
  "mcp-session-id",
  "mcp-protocol-version",
]);

/**
 * Headers that cloud metadata services take as proof that a request is deliberate (SPEC §9): GCP's
 * `Metadata-Flavor` and `X-Google-Metadata-Request`, Azure's `Metadata`, IBM's `Metadata-Flavor`.
 * A tenant has no reason to send them; refusing them keeps a metadata endpoint that some network
 * path still reaches from answering.
 */
const METADATA_GATE_NAMES: ReadonlySet<string> = new Set(["metadata", "metadata-flavor", "x-google-metadata-request"]);

/** Prefixes of metadata token headers: AWS IMDSv2, Alibaba's hardened mode, Akamai/Linode (`Metadata-Token*`). */
const METADATA_GATE_PREFIXES: readonly string[] = [
  "x-aws-ec2-metadata-token",
  "x-aliyun-ecs-metadata-token",
  "metadata-token",
];

/** True for a header a metadata service uses as a gate (compared ignoring case). */
export function isMetadataGateHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return METADATA_GATE_NAMES.has(lower) || METADATA_GATE_PREFIXES.some((prefix) => lower.startsWith(prefix));
}

/** RFC 9110 §5.6.2 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Long enough for any real header name; a longer one is a mistake or an attack. */
const MAX_HEADER_NAME_LENGTH = 256;

export type HeaderLimits = Pick<Limits, "maxHeadersPerServer" | "maxHeaderValueBytes">;

export function isHeaderName(name: string): boolean {
  return name.length <= MAX_HEADER_NAME_LENGTH && TOKEN.test(name);
}

/**
 * Why a header value is refused, or undefined when it is fine. A value is a ByteString (every
 * character ≤ 0xFF, sent as Latin-1, so its length is its size in bytes) without CR, LF, NUL or any
 * other control character but HTAB (the HTTP client refuses those at send time, so they are refused
 * here, at registration, instead).
 */
export function headerValueProblem(value: string, maxBytes: number): string | undefined {
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code === 0x0d || code === 0x0a) return "must not contain CR or LF";
    if (code === 0x00) return "must not contain NUL";
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return "must not contain control characters";
    if (code > 0xff) return "must contain only Latin-1 characters (a ByteString)";
  }
  if (value.length > maxBytes) return `must be at most ${maxBytes} bytes`;
  return undefined;
}

export interface HeaderRuleOptions {
  /**
   * The operator's own servers (the config tier) may send metadata gate headers; every other tier's
   * are refused. @default false
   */
  trusted?: boolean;
}

/**
 * Checks a server's headers (SPEC §9) and returns one error per failing header, each with a JSON
 * Pointer under `pointerPrefix` (e.g. `/headers/X-Foo`). `extraNames` are headers the server sends
 * anyway (an `Authorization` from bearer auth, the other header map of the same definition), so a
 * name clashing with them ignoring case is a duplicate too. Never throws.
 */
export function validateHeaders(
  headers: Record<string, string>,
  pointerPrefix: string,
  limits: HeaderLimits,
  extraNames: readonly string[] = [],
  options: HeaderRuleOptions = {},
): FieldError[] {
  const errors: FieldError[] = [];
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    return [{ pointer: pointerPrefix, detail: "must be an object of header names to values" }];
  }
  const names = Object.keys(headers);
  if (names.length > limits.maxHeadersPerServer) {
    return [{ pointer: pointerPrefix, detail: `at most ${limits.maxHeadersPerServer} headers are allowed` }];
  }
  const seen = new Set(extraNames.map((name) => name.toLowerCase()));
  for (const name of names) {
    const pointer = toPointer([name], pointerPrefix);
    const value: unknown = headers[name];
    if (!isHeaderName(name)) {
      errors.push({ pointer, detail: "header name must be an HTTP token (RFC 9110)" });
      continue;
    }
    const lower = name.toLowerCase();
    if (REFUSED_HEADER_NAMES.has(lower)) {
      errors.push({
        pointer,
        detail: `header '${name}' is managed by the HTTP client or the MCP transport and cannot be set`,
      });
      continue;
    }
    if (options.trusted !== true && isMetadataGateHeader(name)) {
      errors.push({
        pointer,
        detail: `header '${name}' is one that cloud metadata services require, and cannot be set on a tenant's server`,
      });
      continue;
    }
    if (seen.has(lower)) {
      errors.push({ pointer, detail: `header '${name}' is given more than once (names ignore case)` });
      continue;
    }
    seen.add(lower);
    if (typeof value !== "string") {
      errors.push({ pointer, detail: "header value must be a string" });
      continue;
    }
    const problem = headerValueProblem(value, limits.maxHeaderValueBytes);
    if (problem !== undefined) errors.push({ pointer, detail: `header value ${problem}` });
  }
  return errors;
}

/** The parts of a server definition that become request headers. */
export interface DefinitionHeaders {
  headers?: Record<string, string> | undefined;
  auth?: { type: string; headers?: Record<string, string>; token?: string } | undefined;
}

/**
 * Every header a definition sends, checked together (SPEC §9): `headers`, `auth.headers` and a
 * bearer token's `Authorization` count against one limit, their names are unique ignoring case across
 * all of them, and the bearer token obeys the value rules of any header (it is sent as one). Errors
 * point under `pointerPrefix` (`/headers/…`, `/auth/headers/…`, `/auth/token`); never throws.
 */
export function validateDefinitionHeaders(
  definition: DefinitionHeaders,
  pointerPrefix: string,
  limits: HeaderLimits,
  options: HeaderRuleOptions = {},
): FieldError[] {
  const headers = definition.headers ?? {};
  const auth = definition.auth;
  const authHeaders = auth?.type === "headers" && auth.headers !== undefined ? auth.headers : {};
  const bearer = auth?.type === "bearer" && typeof auth.token === "string" ? auth.token : undefined;
  const maps = [headers, authHeaders];
  if (maps.some((map) => typeof map !== "object" || map === null || Array.isArray(map))) {
    return [
      ...validateHeaders(headers, `${pointerPrefix}/headers`, limits, [], options),
      ...validateHeaders(authHeaders, `${pointerPrefix}/auth/headers`, limits, [], options),
    ];
  }
  const plainCount = Object.keys(headers).length;
  const total = plainCount + Object.keys(authHeaders).length + (bearer === undefined ? 0 : 1);
  if (total > limits.maxHeadersPerServer) {
    return [
      {
        pointer: `${pointerPrefix}${plainCount > 0 ? "/headers" : "/auth/headers"}`,
        detail: `at most ${limits.maxHeadersPerServer} headers are allowed (headers, auth.headers and a bearer token's Authorization together)`,
      },
    ];
  }
  const reserved = bearer === undefined ? [] : ["Authorization"];
  const errors = [
    ...validateHeaders(
      headers,
      `${pointerPrefix}/headers`,
      limits,
      [...reserved, ...Object.keys(authHeaders)],
      options,
    ),
    ...validateHeaders(authHeaders, `${pointerPrefix}/auth/headers`, limits, reserved, options),
  ];
  if (bearer !== undefined) {
    // Sent as `Authorization: Bearer <token>`: a CR, LF or non-Latin-1 character would fail (or split
    // the header) at send time, so it is refused here, without echoing the token.
    const problem = headerValueProblem(bearer, limits.maxHeaderValueBytes);
    if (problem !== undefined)
      errors.push({ pointer: `${pointerPrefix}/auth/token`, detail: `bearer token ${problem}` });
  }
  return errors;
}
