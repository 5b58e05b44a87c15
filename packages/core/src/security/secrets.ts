import { type ServerDefinition, toPointer } from "../config/schema.js";
import { McpServerSideError } from "../errors.js";
import { assertServerName, scopeLabel } from "../store/keys.js";
import type { StoreScope } from "../store/types.js";
import { type KeyRing, isEnvelope } from "./crypto.js";
import { isCredentialName } from "./credential-names.js";
import { isSecretParameter, MASK, redactUrl } from "./redact.js";

/** Where a sealed definition lives; both parts are bound into every ciphertext. */
export interface SealContext {
  scope: StoreScope;
  /** The server's name (validated; the store key uses the same name). */
  name: string;
}

/**
 * The additional authenticated data of one secret field: `"<scope label>|<server>|<JSON Pointer>"`,
 * e.g. `"global|github|/auth/token"`. Scope labels and server names cannot contain `|`, so two
 * different places never share an aad, and a ciphertext copied to another scope, server or field
 * fails authentication.
 */
export function secretAad(context: SealContext, pointer: string): string {
  assertServerName(context.name);
  return `${scopeLabel(context.scope)}|${context.name}|${pointer}`;
}

/**
 * Whether a URL carries a credential: userinfo, or a query or fragment parameter whose name is a
 * credential name (`isSecretParameter`, the one list). Such a URL is a secret field (sealed at rest).
 */
export function urlHasCredentials(raw: string): boolean {
  if (plainUrls.has(raw)) return false;
  if (urlCredentials(raw).length > 0 || redactUrl(raw) !== raw) return true;
  // A pure function of the text, asked on every write's seal and re-open (two URL parses and a
  // sanitizing pass each). Only URLs found to hold no credential are remembered, so no secret is
  // kept here; bounded, a full table starts over.
  if (plainUrls.size >= MAX_PLAIN_URLS) plainUrls.clear();
  plainUrls.add(raw);
  return false;
}

const MAX_PLAIN_URLS = 1024;
const plainUrls = new Set<string>();

/**
 * Returns a copy of `definition` with `transform` applied to every secret field: a `url` holding
 * credentials, `headers` values,
 * `auth.token` (bearer), `auth.headers` values, `auth.clientSecret` (oauth2), and `env` values.
 * `env` belongs to stdio servers, which only the config tier has and which are never stored; it is
 * covered anyway so that a stdio record reaching a store could not hold a plaintext. This is the one
 * list of secret fields: sealing, opening and rotation all go through it. Every header value is
 * sealed, not only credential-named ones: a header is the place for a credential, and records sealed
 * that way must keep opening.
 */
export function mapSecretFields(
  definition: ServerDefinition,
  transform: (value: string, pointer: string) => string,
): ServerDefinition {
  const copy: ServerDefinition = structuredClone(definition);
  // A URL is a secret field only when it carries one (userinfo, a credential-named parameter).
  if (copy.url !== undefined && (isEnvelope(copy.url) || urlHasCredentials(copy.url))) {
    copy.url = transform(copy.url, toPointer(["url"]));
  }
  if (copy.headers !== undefined) copy.headers = mapValues(copy.headers, ["headers"], transform);
  if (copy.env !== undefined) copy.env = mapValues(copy.env, ["env"], transform);
  const auth = copy.auth;
  if (auth?.type === "bearer") {
    auth.token = transform(auth.token, toPointer(["auth", "token"]));
  } else if (auth?.type === "headers") {
    auth.headers = mapValues(auth.headers, ["auth", "headers"], transform);
  } else if (auth?.type === "oauth2" && auth.clientSecret !== undefined) {
    auth.clientSecret = transform(auth.clientSecret, toPointer(["auth", "clientSecret"]));
  }
  return copy;
}

/**
 * Echoed values shorter than this are never masked: `"true"`, `"info"`, `"8080"` are data, and a
 * credential that short is no credential.
 */
export const MIN_MASKED_LENGTH = 8;

/** The credential values in a URL: userinfo (as written and decoded) and credential-named parameters. */
function urlCredentials(raw: string): string[] {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return [];
  }
  const values: string[] = [];
  for (const part of [url.username, url.password]) {
    if (part === "") continue;
    values.push(part, safeDecode(part));
  }
  for (const section of [url.search.slice(1), url.hash.slice(1)]) {
    if (section === "") continue;
    for (const pair of section.split("&")) {
      const equals = pair.indexOf("=");
      if (equals <= 0) continue;
      const name = safeDecode(pair.slice(0, equals).replaceAll("+", " "));
      if (!isSecretParameter(name)) continue;
      const value = pair.slice(equals + 1);
      values.push(value, safeDecode(value.replaceAll("+", " ")));
    }
  }
  return values.filter((value) => value !== "");
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A header value and, for `Bearer x` / `Basic x` / `Token x`, the credential after the scheme. */
function headerCredentials(value: string): string[] {
  const scheme = /^[A-Za-z][A-Za-z0-9_-]*[ \t]+(\S+)\s*$/.exec(value);
  return scheme?.[1] === undefined ? [value] : [value, scheme[1]];
}

/**
 * The credential values of a definition, for masking wherever its server echoes them (SPEC §4):
 * `auth.token`, `auth.headers` values, `auth.clientSecret`, `headers` and `env` values whose name is a
 * credential name (`isCredentialName`), URL userinfo and credential-named URL parameters. Ordinary
 * values (`READ_ONLY=true`, `LOG_LEVEL=info`, a tenant name in `X-Tenant`, a directory path) are not
 * credentials and are never masked; neither is any value shorter than `MIN_MASKED_LENGTH`. Longest
 * first, so a credential that contains another is masked whole.
 */
export function credentialValuesOf(definition: ServerDefinition): string[] {
  const values: string[] = [];
  const named = (record: Record<string, string> | undefined): void => {
    if (record === undefined) return;
    for (const [name, value] of Object.entries(record)) {
      if (isCredentialName(name)) values.push(...headerCredentials(value));
    }
  };
  named(definition.headers);
  named(definition.env);
  if (definition.url !== undefined) values.push(...urlCredentials(definition.url));
  const auth = definition.auth;
  if (auth?.type === "bearer") values.push(...headerCredentials(auth.token));
  else if (auth?.type === "headers")
    for (const value of Object.values(auth.headers)) values.push(...headerCredentials(value));
  else if (auth?.type === "oauth2" && auth.clientSecret !== undefined) values.push(auth.clientSecret);
  const kept = new Set(values.filter((value) => value.length >= MIN_MASKED_LENGTH));
  return [...kept].sort((a, b) => b.length - a.length);
}

const credentialCache = new WeakMap<ServerDefinition, readonly string[]>();

/** `credentialValuesOf`, computed once per definition object (definitions are never mutated). */
export function credentialsOf(definition: ServerDefinition): readonly string[] {
  let values = credentialCache.get(definition);
  if (values === undefined) {
    values = Object.freeze(credentialValuesOf(definition));
    credentialCache.set(definition, values);
  }
  return values;
}

/** `text` with every occurrence of the given credential values replaced by `***`. Linear per value. */
export function maskCredentialText(text: string, credentials: readonly string[]): string {
  let masked = text;
  for (const credential of credentials) {
    if (credential.length > 0 && masked.includes(credential)) masked = masked.split(credential).join(MASK);
  }
  return masked;
}

function hasCredential(text: string, credentials: readonly string[]): boolean {
  for (const credential of credentials) if (credential.length > 0 && text.includes(credential)) return true;
  return false;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;

/**
 * `value` (JSON-shaped data a server sent: a tool, a result, a text) with every occurrence of the
 * credentials masked in its string leaves and object keys. Never serializes and re-parses, so no value
 * can turn into invalid JSON; never throws (iterative, so depth costs no stack); returns `value`
 * itself, untouched, when no credential occurs in it, so a clean result stays byte-identical to what
 * the server sent. A copy keeps `__proto__` keys as own properties (they stay visible to quarantine).
 */
export function maskCredentials<T>(value: T, credentials: readonly string[]): T {
  if (credentials.length === 0) return value;
  if (typeof value === "string") return maskCredentialText(value, credentials) as T;
  if (!isRecord(value) || !containsCredential(value, credentials)) return value;
  return copyMasked(value, credentials) as T;
}

function containsCredential(root: object, credentials: readonly string[]): boolean {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current === "string") {
      if (hasCredential(current, credentials)) return true;
      continue;
    }
    if (!isRecord(current) || seen.has(current)) continue;
    seen.add(current);
    for (const key of Object.keys(current)) {
      if (hasCredential(key, credentials)) return true;
      stack.push((current as Record<string, unknown>)[key]);
    }
  }
  return false;
}

function copyMasked(root: object, credentials: readonly string[]): unknown {
  const copies = new Map<object, unknown>();
  const shell = (source: object): Record<string, unknown> | unknown[] => {
    const target = Array.isArray(source) ? [] : {};
    copies.set(source, target);
    return target;
  };
  const rootCopy = shell(root);
  const stack: [object, Record<string, unknown> | unknown[]][] = [[root, rootCopy]];
  while (stack.length > 0) {
    const [source, target] = stack.pop() as [object, Record<string, unknown> | unknown[]];
    for (const key of Object.keys(source)) {
      const item = (source as Record<string, unknown>)[key];
      let copied: unknown = item;
      if (typeof item === "string") copied = maskCredentialText(item, credentials);
      else if (isRecord(item)) {
        copied = copies.get(item);
        if (copied === undefined) {
          const child = shell(item);
          stack.push([item, child]);
          copied = child;
        }
      }
      if (Array.isArray(target)) target[Number(key)] = copied;
      else
        Object.defineProperty(target, maskCredentialText(key, credentials), {
          value: copied,
          enumerable: true,
          writable: true,
          configurable: true,
        });
    }
  }
  return rootCopy;
}

function mapValues(
  record: Record<string, string>,
  path: readonly string[],
  transform: (value: string, pointer: string) => string,
): Record<string, string> {
  // A null-prototype object: a header named "__proto__" stays a plain entry.
  const result: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(record)) {
    result[key] = transform(value, toPointer([...path, key]));
  }
  return result;
}

/**
 * Encrypts every secret field of a definition for the store. Every field is encrypted, even a value
 * that looks like an envelope already: what a user sends is plaintext by definition.
 */
export function sealDefinition(definition: ServerDefinition, ring: KeyRing, context: SealContext): ServerDefinition {
  return mapSecretFields(definition, (value, pointer) => ring.encrypt(value, secretAad(context, pointer)));
}

const URL_POINTER = toPointer(["url"]);

/**
 * Decrypts every secret field of a stored definition. Throws `decryption_failed` when a field does not
 * decrypt, and also when it is not an envelope at all: a plaintext in a stored record is a bug or a
 * tampered store, and passing it through would hide both. (One exception: a plaintext URL, below.)
 */
export function openDefinition(definition: ServerDefinition, ring: KeyRing, context: SealContext): ServerDefinition {
  return mapSecretFields(definition, (value, pointer) => {
    // A URL sealed by nothing: written before one of its parameter names (`pass`, `passphrase`) was a
    // credential name. It is no worse than any plaintext URL; `needsRotation` reports it, and
    // `rotateSecrets()` seals it.
    if (pointer === URL_POINTER && !isEnvelope(value)) return value;
    if (!isEnvelope(value)) {
      throw new McpServerSideError(
        "decryption_failed",
        `could not decrypt a stored secret: the field ${pointer} of server '${context.name}' in ${scopeLabel(context.scope)} is not encrypted`,
      );
    }
    return ring.decrypt(value, secretAad(context, pointer));
  });
}

/**
 * True when some secret field is not encrypted under the ring's current key (an older key, or not an
 * envelope at all, which `resealDefinition` then reports instead of it going unnoticed).
 */
export function needsRotation(definition: ServerDefinition, ring: KeyRing): boolean {
  let stale = false;
  mapSecretFields(definition, (value) => {
    if (!ring.isCurrent(value)) stale = true;
    return value;
  });
  return stale;
}

/** Re-encrypts every secret field under the current key (for `rotateSecrets()`); throws like `openDefinition`. */
export function resealDefinition(definition: ServerDefinition, ring: KeyRing, context: SealContext): ServerDefinition {
  return sealDefinition(openDefinition(definition, ring, context), ring, context);
}
