import { type ServerDefinition, toPointer } from "../config/schema.js";
import { McpServerSideError } from "../errors.js";
import { assertServerName, scopeLabel } from "../store/keys.js";
import type { StoreScope } from "../store/types.js";
import { type KeyRing, isEnvelope } from "./crypto.js";
import { redactUrl } from "./redact.js";

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
 * Returns a copy of `definition` with `transform` applied to every secret field: a `url` holding
 * credentials, `headers` values,
 * `auth.token` (bearer), `auth.headers` values, `auth.clientSecret` (oauth2), and `env` values.
 * `env` belongs to stdio servers, which only the config tier has and which are never stored; it is
 * covered anyway so that a stdio record reaching a store could not hold a plaintext. This is the one
 * list of secret fields: sealing, opening and rotation all go through it.
 */
export function mapSecretFields(
  definition: ServerDefinition,
  transform: (value: string, pointer: string) => string,
): ServerDefinition {
  const copy: ServerDefinition = structuredClone(definition);
  // A URL is a secret field only when it carries one (userinfo, a `?token=`-like parameter).
  if (copy.url !== undefined && (isEnvelope(copy.url) || redactUrl(copy.url) !== copy.url)) {
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
 * The secret values of a definition (what `mapSecretFields` visits), for masking them wherever a
 * server might echo them back. Values shorter than 4 characters would mask ordinary text and are left.
 */
export function secretValuesOf(definition: ServerDefinition): string[] {
  const values: string[] = [];
  mapSecretFields(definition, (value) => {
    if (value.length >= 4) values.push(value);
    return value;
  });
  return [...new Set(values)];
}

/** `text` with every occurrence of the given secret values replaced by `***`. */
export function maskSecretText(text: string, secrets: readonly string[]): string {
  let masked = text;
  for (const secret of secrets) if (masked.includes(secret)) masked = masked.split(secret).join("***");
  return masked;
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

/**
 * Decrypts every secret field of a stored definition. Throws `decryption_failed` when a field does not
 * decrypt, and also when it is not an envelope at all: a plaintext in a stored record is a bug or a
 * tampered store, and passing it through would hide both.
 */
export function openDefinition(definition: ServerDefinition, ring: KeyRing, context: SealContext): ServerDefinition {
  return mapSecretFields(definition, (value, pointer) => {
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
