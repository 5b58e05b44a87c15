import type { ServerDefinition } from "../config/schema.js";
import { isCredentialName, normalizeCredentialName } from "./credential-names.js";

/**
 * The one sanitizer (SPEC §4): responses, problem documents, log lines, hook payloads and request
 * errors all go through `sanitize` / `sanitizeText`, so that no secret reaches any of them: header
 * values, tokens, client secrets, URL userinfo, and query parameters named like a secret.
 */

/** What a secret is replaced with. */
export const MASK = "***";

/**
 * Object keys whose string values are secrets: every credential name (see `isCredentialName`: token,
 * key, secret, password, passwd, pass, credential, auth, session, cookie, sig …) in any case with
 * `-`, `_` or `.` between words, e.g. `client_secret`, `access_token`, `X-Api-Key`, `signature`.
 */
export function isSecretKey(key: string): boolean {
  return isCredentialName(key);
}

/** Keys whose values are maps of names to secret values (header maps, process environments). */
const SECRET_MAP_KEYS: ReadonlySet<string> = new Set(["headers", "env"]);

/**
 * Query parameters (and `name=value` pairs in text) with a credential name, and `code` (an OAuth
 * authorization code in a callback URL).
 */
export function isSecretParameter(name: string): boolean {
  return normalizeCredentialName(name) === "code" || isCredentialName(name);
}

const FLAG_SHAPE = /^--?[A-Za-z0-9_.-]+$/;

/** A command-line flag with a credential name takes a secret as its next argument, e.g. `--api-key abc`. */
const SECRET_FLAG = { test: (arg: string): boolean => FLAG_SHAPE.test(arg) && isCredentialName(arg) };

const URL_IN_TEXT = /\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>`]+/g;
const JSON_PAIR = /"([^"\\]{1,128})"(\s*:\s*)"((?:[^"\\]|\\.)*)"/g;
const HEADER_LINE =
  /\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token)(\s*:\s*)([^\r\n]*)/gi;
// Bearer in any case; Basic only as written in headers, so that prose such as "basic auth" stays.
const AUTH_SCHEME = /\b([Bb][Ee][Aa][Rr][Ee][Rr]|Basic|BASIC)(\s+)[A-Za-z0-9\-._~+/]+=*/g;
// A value stops at '?' too, so in ".../a=?token=x" the secret parameter after it is still seen.
const NAME_VALUE = /([A-Za-z0-9_.\-[\]%]{1,128})=([^\s&#;,"'<>?]*)/g;
// Credentials that are recognizable by their shape alone, wherever they appear.
const KNOWN_SHAPES =
  /\b(?:eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})/g;

function maskUrlUserinfo(url: string): string {
  const start = url.indexOf("://") + 3;
  const rest = url.slice(start);
  const end = rest.search(/[/?#\\]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  // WHATWG takes the last '@' of the authority, so a password may itself contain '@'.
  const at = authority.lastIndexOf("@");
  if (at === -1) return url;
  return `${url.slice(0, start)}${MASK}${rest.slice(at)}`;
}

/**
 * Masks secrets in free text: URL userinfo (`https://u:p@h` → `https://***@h`), secret-named query
 * parameters and `name=value` pairs (`?token=abc` → `?token=***`), secret-named JSON string members,
 * `Authorization`/`Cookie`/`X-Api-Key` header lines, `Bearer`/`Basic` credentials, and tokens with a
 * recognizable shape (JWTs, common provider keys). Idempotent.
 */
export function sanitizeText(text: string): string {
  if (typeof text !== "string" || text.length === 0) return text;
  return text
    .replace(URL_IN_TEXT, maskUrlUserinfo)
    .replace(JSON_PAIR, (match, key: string, separator: string) =>
      isSecretKey(key) ? `"${key}"${separator}"${MASK}"` : match,
    )
    .replace(HEADER_LINE, (_match, name: string, separator: string) => `${name}${separator}${MASK}`)
    .replace(AUTH_SCHEME, (_match, scheme: string, space: string) => `${scheme}${space}${MASK}`)
    .replace(NAME_VALUE, (match, name: string) => (isSecretParameter(name) ? `${name}=${MASK}` : match))
    .replace(KNOWN_SHAPES, MASK);
}

/** Deeper structures are cut here rather than risking the stack on a hostile payload. */
const MAX_DEPTH = 200;

type Mode = "normal" | "secret" | "secret-map" | "args";

function modeForKey(key: string): Mode {
  if (SECRET_MAP_KEYS.has(key.toLowerCase())) return "secret-map";
  if (key === "args") return "args";
  return isSecretKey(key) ? "secret" : "normal";
}

function sanitizeArgs(args: readonly unknown[], copies: WeakMap<object, unknown>, depth: number): unknown[] {
  const result: unknown[] = [];
  let maskNext = false;
  for (const arg of args) {
    if (typeof arg !== "string") {
      result.push(copy(arg, "normal", copies, depth + 1));
      maskNext = false;
      continue;
    }
    result.push(maskNext ? MASK : sanitizeText(arg));
    maskNext = SECRET_FLAG.test(arg);
  }
  return result;
}

function copyEntries(
  source: object,
  target: Record<string, unknown>,
  copies: WeakMap<object, unknown>,
  depth: number,
  childMode: (key: string) => Mode,
): void {
  for (const key of Object.keys(source)) {
    const value = (source as Record<string, unknown>)[key];
    // defineProperty, not assignment: a '__proto__' key stays an own property and never a prototype.
    Object.defineProperty(target, key, {
      value: copy(value, childMode(key), copies, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
}

function copyError(error: Error, copies: WeakMap<object, unknown>, depth: number): Error {
  const result = Object.create(Object.getPrototypeOf(error) as object | null) as Error;
  copies.set(error, result);
  for (const key of Reflect.ownKeys(error)) {
    const descriptor = Object.getOwnPropertyDescriptor(error, key);
    if (descriptor === undefined) continue;
    const mode = typeof key === "string" ? modeForKey(key) : "normal";
    const value = "value" in descriptor ? descriptor.value : undefined;
    Object.defineProperty(result, key, {
      value: copy(value, mode, copies, depth + 1),
      enumerable: descriptor.enumerable ?? false,
      writable: true,
      configurable: true,
    });
  }
  return result;
}

function copy(value: unknown, mode: Mode, copies: WeakMap<object, unknown>, depth: number): unknown {
  if (typeof value === "string") return mode === "secret" || mode === "secret-map" ? MASK : sanitizeText(value);
  if (typeof value !== "object" || value === null) return value;
  const known = copies.get(value);
  if (known !== undefined) return known;
  if (depth > MAX_DEPTH) return "[Truncated]";
  // A map of headers or env masks every value; an object under a secret-named key (`auth`,
  // `tokens`, `credentials`) is judged key by key, so `auth.type` stays readable and `auth.token` not.
  const childMode = (key: string): Mode => (mode === "secret-map" ? "secret" : modeForKey(key));
  const itemMode: Mode = mode === "secret" || mode === "secret-map" ? "secret" : "normal";

  if (Array.isArray(value)) {
    if (mode === "args") {
      const result = sanitizeArgs(value, copies, depth);
      copies.set(value, result);
      return result;
    }
    const result: unknown[] = [];
    copies.set(value, result);
    for (const item of value) result.push(copy(item, itemMode, copies, depth + 1));
    return result;
  }
  if (value instanceof Error) return copyError(value, copies, depth);
  if (value instanceof Map) {
    const result = new Map<unknown, unknown>();
    copies.set(value, result);
    for (const [key, item] of value) {
      result.set(key, copy(item, typeof key === "string" ? childMode(key) : itemMode, copies, depth + 1));
    }
    return result;
  }
  if (value instanceof Set) {
    const result = new Set<unknown>();
    copies.set(value, result);
    for (const item of value) result.add(copy(item, itemMode, copies, depth + 1));
    return result;
  }
  if (value instanceof Date) return new Date(value.getTime());
  if (value instanceof URL) return new URL(redactUrl(value.href));
  if (typeof Headers !== "undefined" && value instanceof Headers) {
    const result = new Headers();
    for (const [name] of value) result.set(name, MASK);
    return result;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
  const result: Record<string, unknown> = {};
  copies.set(value, result);
  copyEntries(value, result, copies, depth, childMode);
  return result;
}

/**
 * A deep copy of `value` with every secret masked: values of secret-named keys (see `isSecretKey`),
 * every value of `headers` and `env` maps, the argument after a secret-named command-line flag in
 * `args`, and in every other string what `sanitizeText` masks. Cycles are kept as cycles; Errors keep
 * their prototype, `code` and `status`, with message, stack and cause sanitized; Maps, Sets, Dates,
 * URLs and Headers are copied as such; other objects become plain objects of their own enumerable keys.
 */
export function sanitize<T>(value: T): T {
  return copy(value, "normal", new WeakMap(), 0) as T;
}

/**
 * A URL for display: userinfo replaced by `***` and secret-named query and fragment parameters
 * masked. Text that is not a URL is sanitized as text.
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return sanitizeText(raw);
  }
  if (url.username !== "" || url.password !== "") {
    url.password = "";
    url.username = MASK;
  }
  // Rebuilt by hand so that parameters that are not secrets keep their exact spelling.
  if (url.search.length > 1) {
    url.search = url.search
      .slice(1)
      .split("&")
      .map((pair) => {
        const name = pair.split("=", 1)[0] ?? "";
        let decoded = name;
        try {
          decoded = decodeURIComponent(name.replaceAll("+", " "));
        } catch {
          // keep the raw name
        }
        return isSecretParameter(decoded) ? `${name}=${MASK}` : pair;
      })
      .join("&");
  }
  return sanitizeText(url.href);
}

/** What a caller sees of a server's authentication instead of its secrets (SPEC §4). */
export interface AuthSummary {
  type: "none" | "bearer" | "headers" | "oauth2";
  hasToken?: boolean;
  hasHeaders?: boolean;
  hasClientSecret?: boolean;
  /** oauth2: whether the caller has connected this server. */
  connected?: boolean;
  /** oauth2: the client id (not a secret), when configured. */
  clientId?: string;
  /** oauth2: the requested scopes, when configured. */
  scopes?: string[];
}

export interface RedactView {
  /**
   * Whether the viewer may see how the server is reached (url, command, args, env names, cwd, auth
   * summary). `false` for a member looking at a global or config-tier server.
   */
  connection: boolean;
  /** For oauth2 servers: whether the viewing user has connected it. */
  connected?: boolean;
}

/** Fields that hold no secret and no connection detail; copied as they are. */
const PUBLIC_FIELDS = ["description", "transport", "enabled", "availability", "locked", "tools", "timeoutMs"] as const;

export function summarizeAuth(definition: ServerDefinition, view: Pick<RedactView, "connected"> = {}): AuthSummary {
  const plainHeaders = definition.headers !== undefined && Object.keys(definition.headers).length > 0;
  const auth = definition.auth;
  let summary: AuthSummary;
  switch (auth?.type) {
    case "bearer":
      summary = { type: "bearer", hasToken: auth.token.length > 0 };
      break;
    case "headers":
      summary = { type: "headers", hasHeaders: Object.keys(auth.headers).length > 0 };
      break;
    case "oauth2":
      summary = {
        type: "oauth2",
        hasClientSecret: auth.clientSecret !== undefined,
        connected: view.connected === true,
      };
      if (auth.clientId !== undefined) summary.clientId = auth.clientId;
      if (auth.scopes !== undefined) summary.scopes = [...auth.scopes];
      break;
    default:
      // Plain `headers` are the shorthand for `type: "headers"` (SPEC §3).
      summary = plainHeaders ? { type: "headers" } : { type: "none" };
  }
  if (plainHeaders) summary.hasHeaders = true;
  return summary;
}

/**
 * A server definition as a caller may see it (SPEC §4). Secrets are never included: `headers`,
 * `auth.token`, `auth.headers` and `auth.clientSecret` are replaced by the `auth` summary, `env`
 * values by `***`, the URL's userinfo and secret-named parameters are masked, and so is the argument
 * after a secret-named flag in `args`. With `connection: false` (a member looking at a global or
 * config-tier server) url, command, args, env, cwd, headers and auth are left out entirely. Fields
 * outside the schema are dropped, so a stored record with extra data cannot leak it.
 */
export function redactDefinition(definition: ServerDefinition, view: RedactView): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const field of PUBLIC_FIELDS) {
    if (definition[field] !== undefined) result[field] = sanitize(definition[field]);
  }
  if (!view.connection) return result;
  if (definition.url !== undefined) result.url = redactUrl(definition.url);
  if (definition.command !== undefined) {
    result.command = sanitizeText(definition.command);
    if (definition.args !== undefined) result.args = sanitizeArgs(definition.args, new WeakMap(), 0);
    if (definition.cwd !== undefined) result.cwd = sanitizeText(definition.cwd);
    if (definition.env !== undefined)
      result.env = Object.fromEntries(Object.keys(definition.env).map((name) => [name, MASK]));
    return result;
  }
  result.auth = summarizeAuth(definition, view);
  return result;
}
