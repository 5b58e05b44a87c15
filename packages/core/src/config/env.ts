import type { FieldError } from "../errors.js";
import { toPointer } from "./schema.js";

/**
 * `${VAR}` or `${VAR:-default}`; the default may not contain `$`, `{` or `}`. Linear in the text (SPEC
 * §9): every attempt starts at a literal `${`, and the default cannot run past the next `$`, where the
 * next attempt starts, so no character is read by two attempts.
 */
const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^${}]*))?\}/g;

export type ExpandResult = { ok: true; value: string } | { ok: false; message: string };

/**
 * Resolves the placeholders of one config-tier string in a single pass: a value taken from the
 * environment is never expanded again, so `A=${B}` sends the literal `${B}`. A value holding CR, LF or
 * NUL is refused, since it would become a header or argument the operator did not write.
 */
export function expandPlaceholders(input: string, env: Readonly<Record<string, string | undefined>>): ExpandResult {
  let missing: string | undefined;
  let unsafe: string | undefined;
  const value = input.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
    const resolved = env[name] ?? fallback;
    if (resolved === undefined) {
      missing ??= name;
      return "";
    }
    if (/[\r\n\0]/.test(resolved)) unsafe ??= name;
    return resolved;
  });
  if (missing !== undefined) return { ok: false, message: `environment variable '${missing}' is not set` };
  if (unsafe !== undefined) return { ok: false, message: `environment variable '${unsafe}' holds a CR, LF or NUL` };
  // What is left of "${" after the known forms were replaced is malformed: nested, unterminated or empty.
  const rest = input.replace(PLACEHOLDER, "");
  if (rest.includes("${"))
    return { ok: false, message: "malformed placeholder (use ${VAR} or ${VAR:-default}, not nested)" };
  return { ok: true, value };
}

/**
 * Every place in untrusted input (API bodies, request tiers) that holds `${`: such input is refused,
 * so a tenant can never make the server send one of its environment's secrets.
 */
export function findPlaceholders(value: unknown, path: PropertyKey[] = []): FieldError[] {
  if (typeof value === "string") {
    return value.includes("${")
      ? [
          {
            pointer: toPointer(path),
            detail: "placeholders such as ${VAR} are only resolved in the operator's config file",
          },
        ]
      : [];
  }
  if (Array.isArray(value)) return value.flatMap((item, index) => findPlaceholders(item, [...path, index]));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => [
      ...(key.includes("${")
        ? [{ pointer: toPointer([...path, key]), detail: "placeholders are not allowed in names" }]
        : []),
      ...findPlaceholders(item, [...path, key]),
    ]);
  }
  return [];
}
