import { toPointer } from "../config/schema.js";
import { type FieldError, type Result, fail, ok } from "../errors.js";

/** Keys that reach an object's prototype chain in some consumer; refused at any depth (SPEC §9). */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** Deeper nesting than this is refused rather than risking the stack; definitions are a few levels deep. */
export const MAX_JSON_DEPTH = 256;

/** More problems than this are not worth listing. */
const MAX_REPORTED = 20;

class JsonSyntaxError extends Error {}

class DepthExceeded extends Error {}

/**
 * A strict RFC 8259 parser that builds the value itself, so that what was checked (duplicate and
 * forbidden keys, compared after unescaping: `"\u0061"` is `"a"`) is exactly what is returned.
 * `JSON.parse` silently keeps the last of two equal keys, which would let `{"url": safe, "url": evil}`
 * pass a check made on another parse.
 */
function createParser(text: string) {
  let position = 0;
  const problems: FieldError[] = [];

  const syntax = (what: string): never => {
    throw new JsonSyntaxError(`${what} at position ${position}`);
  };

  const skipWhitespace = (): void => {
    while (position < text.length) {
      const code = text.charCodeAt(position);
      if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return;
      position++;
    }
  };

  const parseString = (): string => {
    // position is at the opening quote
    position++;
    let result = "";
    let chunkStart = position;
    while (position < text.length) {
      const code = text.charCodeAt(position);
      if (code === 0x22) {
        result += text.slice(chunkStart, position);
        position++;
        return result;
      }
      if (code < 0x20) syntax("control character in string");
      if (code === 0x5c) {
        result += text.slice(chunkStart, position);
        const escaped = text[position + 1];
        switch (escaped) {
          case '"':
            result += '"';
            break;
          case "\\":
            result += "\\";
            break;
          case "/":
            result += "/";
            break;
          case "b":
            result += "\b";
            break;
          case "f":
            result += "\f";
            break;
          case "n":
            result += "\n";
            break;
          case "r":
            result += "\r";
            break;
          case "t":
            result += "\t";
            break;
          case "u": {
            const hex = text.slice(position + 2, position + 6);
            if (!/^[0-9A-Fa-f]{4}$/.test(hex)) syntax("bad unicode escape");
            result += String.fromCharCode(Number.parseInt(hex, 16));
            position += 4;
            break;
          }
          default:
            syntax("bad escape");
        }
        position += 2;
        chunkStart = position;
        continue;
      }
      position++;
    }
    return syntax("unterminated string");
  };

  // Sticky and made of parts that cannot overlap what follows them: linear in the number's length.
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const parseNumber = (): number => {
    NUMBER.lastIndex = position;
    const match = NUMBER.exec(text);
    if (match === null || match[0].length === 0) return syntax("unexpected character");
    position += match[0].length;
    return Number(match[0]);
  };

  const literal = (word: string, value: boolean | null): boolean | null => {
    if (text.startsWith(word, position)) {
      position += word.length;
      return value;
    }
    return syntax("unexpected character");
  };

  const parseValue = (path: string[]): unknown => {
    skipWhitespace();
    if (position >= text.length) syntax("unexpected end of input");
    const char = text[position];
    if (char === "{") return parseObject(path);
    if (char === "[") return parseArray(path);
    if (char === '"') return parseString();
    if (char === "t") return literal("true", true);
    if (char === "f") return literal("false", false);
    if (char === "n") return literal("null", null);
    return parseNumber();
  };

  const checkDepth = (path: string[]): void => {
    if (path.length >= MAX_JSON_DEPTH) {
      // Not a syntax error: the text is JSON, but not one we accept.
      problems.push({ pointer: toPointer(path), detail: `nested deeper than ${MAX_JSON_DEPTH} levels` });
      throw new DepthExceeded();
    }
  };

  const parseObject = (path: string[]): Record<string, unknown> => {
    checkDepth(path);
    position++;
    // Never holds a forbidden key (they are reported instead), so plain assignment cannot reach a prototype.
    const result: Record<string, unknown> = {};
    const keys = new Set<string>();
    skipWhitespace();
    if (text[position] === "}") {
      position++;
      return result;
    }
    for (;;) {
      skipWhitespace();
      if (text[position] !== '"') syntax("expected a string key");
      const key = parseString();
      skipWhitespace();
      if (text[position] !== ":") syntax("expected ':'");
      position++;
      const childPath = [...path, key];
      if (FORBIDDEN_KEYS.has(key)) {
        if (problems.length < MAX_REPORTED)
          problems.push({ pointer: toPointer(childPath), detail: `the key '${key}' is not allowed` });
      } else if (keys.has(key)) {
        if (problems.length < MAX_REPORTED)
          problems.push({ pointer: toPointer(childPath), detail: `duplicate key '${key}'` });
      }
      const value = parseValue(childPath);
      if (!FORBIDDEN_KEYS.has(key) && !keys.has(key)) result[key] = value;
      keys.add(key);
      skipWhitespace();
      const next = text[position];
      position++;
      if (next === "}") return result;
      if (next !== ",") syntax("expected ',' or '}'");
    }
  };

  const parseArray = (path: string[]): unknown[] => {
    checkDepth(path);
    position++;
    const result: unknown[] = [];
    skipWhitespace();
    if (text[position] === "]") {
      position++;
      return result;
    }
    for (;;) {
      result.push(parseValue([...path, String(result.length)]));
      skipWhitespace();
      const next = text[position];
      position++;
      if (next === "]") return result;
      if (next !== ",") syntax("expected ',' or ']'");
    }
  };

  return {
    problems,
    parseDocument(): unknown {
      const value = parseValue([]);
      skipWhitespace();
      if (position < text.length) syntax("unexpected data after the JSON value");
      return value;
    },
  };
}

/**
 * Parses a request body. Text that is not JSON fails with `invalid_request` and no `errors` (the
 * routes answer 400); JSON with a duplicate key or a `__proto__`, `constructor` or `prototype` key at
 * any depth fails with `invalid_request` and `errors: [{ pointer, detail }]` (the routes answer 422).
 * The returned value never carries a forbidden key. Never throws.
 */
export function parseJsonBody(text: string): Result<unknown> {
  if (typeof text !== "string") return fail("invalid_request", "the body is not JSON");
  const parser = createParser(text);
  let value: unknown;
  try {
    value = parser.parseDocument();
  } catch (error) {
    if (error instanceof DepthExceeded)
      return fail("invalid_request", "the JSON body is nested too deeply", parser.problems);
    if (error instanceof JsonSyntaxError) return fail("invalid_request", `the body is not JSON: ${error.message}`);
    return fail("invalid_request", "the body is not JSON");
  }
  if (parser.problems.length > 0) {
    return fail("invalid_request", "the JSON body has duplicate or forbidden keys", parser.problems);
  }
  return ok(value);
}

/**
 * Finds `__proto__`, `constructor` and `prototype` keys at any depth of an already parsed value
 * (e.g. one that a framework's body parser produced with `JSON.parse`, which keeps `__proto__` as an
 * own key). Each is reported with its JSON Pointer. Cycles and very deep values are handled.
 */
export function findForbiddenKeys(value: unknown, prefix = ""): FieldError[] {
  const problems: FieldError[] = [];
  const seen = new WeakSet<object>();
  const walk = (node: unknown, path: string[]): void => {
    if (problems.length >= MAX_REPORTED || typeof node !== "object" || node === null) return;
    if (seen.has(node)) return;
    seen.add(node);
    if (path.length >= MAX_JSON_DEPTH) {
      problems.push({ pointer: toPointer(path, prefix), detail: `nested deeper than ${MAX_JSON_DEPTH} levels` });
      return;
    }
    const entries: [string, unknown][] = Array.isArray(node)
      ? node.map((item, index) => [String(index), item])
      : Object.keys(node).map((key) => [key, (node as Record<string, unknown>)[key]]);
    for (const [key, child] of entries) {
      if (!Array.isArray(node) && FORBIDDEN_KEYS.has(key)) {
        problems.push({ pointer: toPointer([...path, key], prefix), detail: `the key '${key}' is not allowed` });
        continue;
      }
      walk(child, [...path, key]);
    }
  };
  walk(value, []);
  return problems;
}

/** True when a parsed value holds a forbidden key at any depth. */
export function hasForbiddenKeys(value: unknown): boolean {
  return findForbiddenKeys(value).length > 0;
}
