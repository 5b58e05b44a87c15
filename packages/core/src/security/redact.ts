import type { ServerDefinition } from "../config/schema.js";
import type { RedactedDefinition, ServerAuthSummary as AuthSummary } from "../types.js";
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

/*
 * Every pass below costs time linear in the text, whatever the text is: it runs on every response,
 * hook payload, log line and listing, on text that tenants and MCP servers write. A pass is either a
 * regular expression whose every attempt starts at a literal and whose repeated parts cannot overlap
 * what follows them (so no character is read by more than a bounded number of attempts), or, where a
 * regular expression would rescan (an unanchored `[…]*://` read again from every word boundary), a
 * scanner below that finds exactly the same matches, left to right, reading each character a bounded
 * number of times. test/security/linear-time.test.ts holds every pass to that.
 */
const JSON_PAIR = /"([^"\\]{1,128})"(\s*:\s*)"((?:[^"\\]|\\.)*)"/g;
const HEADER_LINE =
  /\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token)(\s*:\s*)([^\r\n]*)/gi;
// Bearer in any case; Basic only as written in headers, so that prose such as "basic auth" stays.
const AUTH_SCHEME = /\b([Bb][Ee][Aa][Rr][Ee][Rr]|Basic|BASIC)(\s+)[A-Za-z0-9\-._~+/]+=*/g;
/** The longest `name` of a `name=value` pair that is judged (the pair's last 128 characters before `=`). */
const MAX_PARAMETER_NAME = 128;

const isLetter = (code: number): boolean => (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;
const isAlphanumeric = (code: number): boolean => isLetter(code) || isDigit(code);
/** `\w`, what `\b` looks at. */
const isWordChar = (code: number): boolean => isAlphanumeric(code) || code === 0x5f;
/** What JavaScript's `\s` matches. */
function isSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}
/** `[A-Za-z0-9+.-]`: a URL scheme after its first letter. */
const isSchemeChar = (code: number): boolean => isAlphanumeric(code) || code === 0x2b || code === 0x2e || code === 0x2d;
/** `[^\s"'<>\`]`: a URL in text runs until one of these. */
const isUrlChar = (code: number): boolean =>
  !isSpace(code) && code !== 0x22 && code !== 0x27 && code !== 0x3c && code !== 0x3e && code !== 0x60;
/** `[A-Za-z0-9_.\-[\]%]`: the name of a `name=value` pair. */
const isParameterNameChar = (code: number): boolean =>
  isWordChar(code) || code === 0x2e || code === 0x2d || code === 0x5b || code === 0x5d || code === 0x25;
/** `[^\s&#;,"'<>?]`: a value stops at '?' too, so in ".../a=?token=x" the secret parameter after it is still seen. */
const isParameterValueChar = (code: number): boolean =>
  !isSpace(code) &&
  code !== 0x26 &&
  code !== 0x23 &&
  code !== 0x3b &&
  code !== 0x2c &&
  code !== 0x22 &&
  code !== 0x27 &&
  code !== 0x3c &&
  code !== 0x3e &&
  code !== 0x3f;
/** `[A-Za-z0-9_-]`: base64url, the pieces of a JWT and of `sk-` keys. */
const isBase64UrlChar = (code: number): boolean => isWordChar(code) || code === 0x2d;
const isUpperOrDigit = (code: number): boolean => isDigit(code) || (code >= 0x41 && code <= 0x5a);

/** The end of the run of `accepts` characters that starts at `start`. */
function runEnd(text: string, start: number, accepts: (code: number) => boolean, limit = text.length): number {
  let end = start;
  while (end < limit && end < text.length && accepts(text.charCodeAt(end))) end++;
  return end;
}

/** Collects the output of one pass: the text with non-overlapping ranges replaced, left to right. */
function createSplicer(text: string): { replace(start: number, end: number, by: string): void; result(): string } {
  let output = "";
  let copied = 0;
  return {
    replace(start, end, by) {
      output += text.slice(copied, start) + by;
      copied = end;
    },
    result: () => (copied === 0 ? text : output + text.slice(copied)),
  };
}

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
 * Masks the userinfo of every URL in the text: the matches of `\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>`]+`,
 * found from each `://` instead of from each word boundary. A scheme cannot hold ':', so the only
 * starts a `://` can have lie in the run of scheme characters just before it; the leftmost of them
 * that is a letter at a word boundary is where the expression would have matched.
 */
function maskUrls(text: string): string {
  const splicer = createSplicer(text);
  let from = 0;
  let search = 0;
  for (;;) {
    const colon = text.indexOf("://", search);
    if (colon === -1) break;
    let runStart = colon;
    while (runStart > from && isSchemeChar(text.charCodeAt(runStart - 1))) runStart--;
    let start = -1;
    for (let index = runStart; index < colon; index++) {
      if (isLetter(text.charCodeAt(index)) && (index === 0 || !isWordChar(text.charCodeAt(index - 1)))) {
        start = index;
        break;
      }
    }
    // Read past "://" only for a real start, so a run of starts-that-are-not cannot rescan the rest.
    const end = start === -1 ? colon + 3 : runEnd(text, colon + 3, isUrlChar);
    if (end > colon + 3) {
      const url = text.slice(start, end);
      const masked = maskUrlUserinfo(url);
      if (masked !== url) splicer.replace(start, end, masked);
      from = end;
      search = end;
    } else {
      search = colon + 1;
    }
  }
  return splicer.result();
}

/**
 * Masks the value of every `name=value` pair whose name is a secret parameter: the matches of
 * `([A-Za-z0-9_.\-[\]%]{1,128})=([^\s&#;,"'<>?]*)`, found from each '=' (at most 128 characters back)
 * instead of from every position.
 */
function maskNameValues(text: string): string {
  const splicer = createSplicer(text);
  let from = 0;
  let search = 0;
  for (;;) {
    const equals = text.indexOf("=", search);
    if (equals === -1) break;
    let start = equals;
    const limit = Math.max(from, equals - MAX_PARAMETER_NAME);
    while (start > limit && isParameterNameChar(text.charCodeAt(start - 1))) start--;
    if (start === equals) {
      search = equals + 1;
      continue;
    }
    const end = runEnd(text, equals + 1, isParameterValueChar);
    const name = text.slice(start, equals);
    if (isSecretParameter(name)) splicer.replace(start, end, `${name}=${MASK}`);
    from = end;
    search = end;
  }
  return splicer.result();
}

/**
 * Masks credentials recognizable by their shape alone, wherever they appear: the matches of
 * `\b(?:eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})`.
 * Every shape but the JWT either matches its whole run or reads a bounded prefix; a JWT that fails,
 * fails for every later `eyJ` inside the same first piece (same run, shorter), so those are skipped.
 */
function maskKnownShapes(text: string): string {
  const splicer = createSplicer(text);
  let jwtFailsBefore = -1;
  let position = 0;
  while (position < text.length) {
    const code = text.charCodeAt(position);
    let end = -1;
    if (position === 0 || !isWordChar(text.charCodeAt(position - 1))) {
      if (code === 0x65 /* e */ && text.startsWith("eyJ", position) && position + 3 > jwtFailsBefore) {
        const first = runEnd(text, position + 3, isBase64UrlChar);
        if (first - position - 3 >= 8 && text.charCodeAt(first) === 0x2e) {
          const second = runEnd(text, first + 1, isBase64UrlChar);
          if (second - first - 1 >= 8 && text.charCodeAt(second) === 0x2e)
            end = runEnd(text, second + 1, isBase64UrlChar);
        }
        if (end === -1) jwtFailsBefore = first;
      } else if (code === 0x73 /* s */ && text.startsWith("sk-", position)) {
        const run = runEnd(text, position + 3, isBase64UrlChar);
        if (run - position - 3 >= 16) end = run;
      } else if (code === 0x67 /* g */ && text.startsWith("github_pat_", position)) {
        const run = runEnd(text, position + 11, isWordChar);
        if (run - position - 11 >= 20) end = run;
      } else if (
        code === 0x67 /* g */ &&
        text.startsWith("gh", position) &&
        "pousr".includes(text[position + 2] ?? "-")
      ) {
        if (text.charCodeAt(position + 3) === 0x5f) {
          const run = runEnd(text, position + 4, isAlphanumeric);
          if (run - position - 4 >= 20) end = run;
        }
      } else if (
        code === 0x78 /* x */ &&
        text.startsWith("xox", position) &&
        "abprs".includes(text[position + 3] ?? "-")
      ) {
        if (text.charCodeAt(position + 4) === 0x2d) {
          const run = runEnd(text, position + 5, (next) => isAlphanumeric(next) || next === 0x2d);
          if (run - position - 5 >= 10) end = run;
        }
      } else if (code === 0x41 /* A */ && text.startsWith("AKIA", position)) {
        if (runEnd(text, position + 4, isUpperOrDigit, position + 20) === position + 20) end = position + 20;
      }
    }
    if (end === -1) {
      position++;
    } else {
      splicer.replace(position, end, MASK);
      position = end;
    }
  }
  return splicer.result();
}

/**
 * Masks secrets in free text: URL userinfo (`https://u:p@h` → `https://***@h`), secret-named query
 * parameters and `name=value` pairs (`?token=abc` → `?token=***`), secret-named JSON string members,
 * `Authorization`/`Cookie`/`X-Api-Key` header lines, `Bearer`/`Basic` credentials, and tokens with a
 * recognizable shape (JWTs, common provider keys). Idempotent, and linear in the length of the text.
 */
export function sanitizeText(text: string): string {
  if (typeof text !== "string" || text.length === 0) return text;
  const masked = maskUrls(text)
    .replace(JSON_PAIR, (match, key: string, separator: string) =>
      isSecretKey(key) ? `"${key}"${separator}"${MASK}"` : match,
    )
    .replace(HEADER_LINE, (_match, name: string, separator: string) => `${name}${separator}${MASK}`)
    .replace(AUTH_SCHEME, (_match, scheme: string, space: string) => `${scheme}${space}${MASK}`);
  return maskKnownShapes(maskNameValues(masked));
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
export function redactDefinition(definition: ServerDefinition, view: RedactView): RedactedDefinition {
  const result: RedactedDefinition = {};
  for (const field of PUBLIC_FIELDS) {
    if (definition[field] !== undefined) (result as Record<string, unknown>)[field] = sanitize(definition[field]);
  }
  if (!view.connection) return result;
  if (definition.url !== undefined) result.url = redactUrl(definition.url);
  if (definition.command !== undefined) {
    result.command = sanitizeText(definition.command);
    if (definition.args !== undefined) result.args = sanitizeArgs(definition.args, new WeakMap(), 0) as string[];
    if (definition.cwd !== undefined) result.cwd = sanitizeText(definition.cwd);
    if (definition.env !== undefined)
      result.env = Object.fromEntries(Object.keys(definition.env).map((name) => [name, MASK]));
    return result;
  }
  result.auth = summarizeAuth(definition, view);
  return result;
}
