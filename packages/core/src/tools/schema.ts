import type { JSONSchema7 } from "ai";
import { fail, ok, type Result } from "../errors.js";

/**
 * Schema quarantine (SPEC §5, §9): a tool's input schema reaches the model only when it is a JSON
 * Schema object that every major provider takes. Checked by hand rather than by compiling a validator:
 * the walk is bounded in depth and size (a hostile server's 1000-deep schema costs nothing), never
 * dereferences anything over the network, and costs microseconds per tool.
 */

/** Nesting of subschemas (properties → schema → items → …) deeper than this is refused. */
export const MAX_SCHEMA_DEPTH = 32;
/** Schema nodes (subschemas) per tool. */
export const MAX_SCHEMA_NODES = 10_000;
/** Serialized size of one input schema. */
export const MAX_SCHEMA_BYTES = 128 * 1024;

const TYPES: ReadonlySet<string> = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);
/** Keywords whose value is one subschema. */
const SCHEMA_KEYWORDS = [
  "additionalProperties",
  "additionalItems",
  "unevaluatedProperties",
  "unevaluatedItems",
  "not",
  "contains",
  "propertyNames",
  "if",
  "then",
  "else",
  "contentSchema",
] as const;
/** Keywords whose value is a map of names to subschemas. */
const SCHEMA_MAP_KEYWORDS = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"] as const;
/** Keywords whose value is a non-empty array of subschemas. */
const SCHEMA_ARRAY_KEYWORDS = ["allOf", "anyOf", "oneOf", "prefixItems"] as const;
const NON_NEGATIVE_INTEGER_KEYWORDS = [
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "minContains",
  "maxContains",
] as const;
const NUMBER_KEYWORDS = ["minimum", "maximum", "multipleOf"] as const;
const STRING_KEYWORDS = [
  "title",
  "description",
  "format",
  "$schema",
  "$id",
  "$comment",
  "$anchor",
  "contentMediaType",
  "contentEncoding",
] as const;
const REF_KEYWORDS = ["$ref", "$dynamicRef", "$recursiveRef"] as const;

const EXCLUSIVE_KEYWORDS = ["exclusiveMinimum", "exclusiveMaximum"] as const;

/**
 * Which keyword lists a node uses, as bits, from its own keys: a node has a few keys, and looking up
 * each of the 45 keywords of these lists on every node cost more than the rest of the walk.
 */
const REF = 1;
const STRING = 2;
const NON_NEGATIVE_INTEGER = 4;
const NUMBER = 8;
const EXCLUSIVE = 16;
const SUBSCHEMA = 32;
const SUBSCHEMA_MAP = 64;
const SUBSCHEMA_ARRAY = 128;
const KEYWORD_LIST: ReadonlyMap<string, number> = new Map([
  ...REF_KEYWORDS.map((keyword) => [keyword, REF] as const),
  ...STRING_KEYWORDS.map((keyword) => [keyword, STRING] as const),
  ...NON_NEGATIVE_INTEGER_KEYWORDS.map((keyword) => [keyword, NON_NEGATIVE_INTEGER] as const),
  ...NUMBER_KEYWORDS.map((keyword) => [keyword, NUMBER] as const),
  ...EXCLUSIVE_KEYWORDS.map((keyword) => [keyword, EXCLUSIVE] as const),
  ...SCHEMA_KEYWORDS.map((keyword) => [keyword, SUBSCHEMA] as const),
  ...SCHEMA_MAP_KEYWORDS.map((keyword) => [keyword, SUBSCHEMA_MAP] as const),
  ...SCHEMA_ARRAY_KEYWORDS.map((keyword) => [keyword, SUBSCHEMA_ARRAY] as const),
]);

/**
 * A rejection reason quotes the server's own text (property names on the path, a `$ref`): cut to this
 * many characters, so a hostile schema's megabyte property name never reaches `errors` whole.
 */
export const MAX_REJECTION_REASON_LENGTH = 512;

function capReason(reason: string): string {
  return reason.length > MAX_REJECTION_REASON_LENGTH ? `${reason.slice(0, MAX_REJECTION_REASON_LENGTH - 1)}…` : reason;
}

class Rejected {
  constructor(readonly reason: string) {}
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function isValidPattern(pattern: string): boolean {
  try {
    new RegExp(pattern, "u");
    return true;
  } catch {
    try {
      new RegExp(pattern);
      return true;
    } catch {
      return false;
    }
  }
}

/** RFC 6901 pointer inside the schema itself; only `#` and `#/…` fragments are local. */
function resolvesLocally(root: Record<string, unknown>, reference: string): boolean {
  if (reference === "#") return true;
  if (!reference.startsWith("#/")) return false;
  let current: unknown = root;
  for (const raw of reference.slice(2).split("/")) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    } catch {
      return false;
    }
    if (segment === "__proto__") return false;
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isObject(current) && Object.hasOwn(current, segment)) current = current[segment];
    else return false;
  }
  return current !== undefined;
}

interface WalkState {
  root: Record<string, unknown>;
  nodes: number;
}

function walk(schema: unknown, path: string, depth: number, state: WalkState): void {
  if (typeof schema === "boolean") return;
  if (!isObject(schema)) throw new Rejected(`${path || "the schema"} is not a JSON Schema (an object or a boolean)`);
  if (depth > MAX_SCHEMA_DEPTH) throw new Rejected(`the schema nests deeper than ${MAX_SCHEMA_DEPTH} levels`);
  if (++state.nodes > MAX_SCHEMA_NODES) throw new Rejected(`the schema has more than ${MAX_SCHEMA_NODES} subschemas`);
  if (Object.hasOwn(schema, "__proto__")) throw new Rejected(`${path || "the schema"} has a '__proto__' key`);
  let lists = 0;
  for (const key of Object.keys(schema)) lists |= KEYWORD_LIST.get(key) ?? 0;

  const type = schema.type;
  // A single type (nearly every node) is checked without building an array or a set.
  if (typeof type === "string") {
    if (!TYPES.has(type)) throw new Rejected(`${path}/type is not a JSON Schema type`);
  } else if (type !== undefined) {
    if (
      !Array.isArray(type) ||
      type.length === 0 ||
      !type.every((entry) => typeof entry === "string" && TYPES.has(entry))
    ) {
      throw new Rejected(`${path}/type is not a JSON Schema type`);
    }
    if (new Set(type).size !== type.length) throw new Rejected(`${path}/type lists a type twice`);
  }
  if (lists & REF) {
    for (const keyword of REF_KEYWORDS) {
      const reference = schema[keyword];
      if (reference === undefined) continue;
      if (typeof reference !== "string") throw new Rejected(`${path}/${keyword} is not a string`);
      // A reference outside the document would have to be fetched: never done, so the tool is left out.
      if (!reference.startsWith("#"))
        throw new Rejected(`${path}/${keyword} points outside the schema (${reference.slice(0, 100)})`);
      if (keyword === "$ref" && !resolvesLocally(state.root, reference))
        throw new Rejected(`${path}/$ref does not resolve inside the schema`);
    }
  }
  if (lists & STRING) {
    for (const keyword of STRING_KEYWORDS) {
      if (schema[keyword] !== undefined && typeof schema[keyword] !== "string")
        throw new Rejected(`${path}/${keyword} is not a string`);
    }
  }
  if (lists & NON_NEGATIVE_INTEGER) {
    for (const keyword of NON_NEGATIVE_INTEGER_KEYWORDS) {
      const value = schema[keyword];
      if (value !== undefined && !(typeof value === "number" && Number.isInteger(value) && value >= 0)) {
        throw new Rejected(`${path}/${keyword} is not a non-negative integer`);
      }
    }
  }
  if (lists & NUMBER) {
    for (const keyword of NUMBER_KEYWORDS) {
      const value = schema[keyword];
      if (value !== undefined && !(typeof value === "number" && Number.isFinite(value)))
        throw new Rejected(`${path}/${keyword} is not a number`);
    }
  }
  if (typeof schema.multipleOf === "number" && schema.multipleOf <= 0)
    throw new Rejected(`${path}/multipleOf is not positive`);
  if (lists & EXCLUSIVE) {
    for (const keyword of EXCLUSIVE_KEYWORDS) {
      const value = schema[keyword];
      // Booleans are draft-04's form, which providers still accept.
      if (value !== undefined && typeof value !== "boolean" && !(typeof value === "number" && Number.isFinite(value))) {
        throw new Rejected(`${path}/${keyword} is not a number`);
      }
    }
  }
  if (schema.required !== undefined) {
    // draft-03 put `required: true` on properties; it means nothing to providers, so it is tolerated.
    if (
      typeof schema.required !== "boolean" &&
      !(Array.isArray(schema.required) && schema.required.every((entry) => typeof entry === "string"))
    ) {
      throw new Rejected(`${path}/required is not a list of property names`);
    }
  }
  if (schema.enum !== undefined && !Array.isArray(schema.enum)) throw new Rejected(`${path}/enum is not an array`);
  if (schema.pattern !== undefined && (typeof schema.pattern !== "string" || !isValidPattern(schema.pattern))) {
    throw new Rejected(`${path}/pattern is not a valid regular expression`);
  }

  if (lists & SUBSCHEMA) {
    for (const keyword of SCHEMA_KEYWORDS) {
      if (schema[keyword] !== undefined) walk(schema[keyword], `${path}/${keyword}`, depth + 1, state);
    }
  }
  if (lists & SUBSCHEMA_MAP) {
    for (const keyword of SCHEMA_MAP_KEYWORDS) {
      const map = schema[keyword];
      if (map === undefined) continue;
      if (!isObject(map)) throw new Rejected(`${path}/${keyword} is not an object`);
      if (Object.hasOwn(map, "__proto__")) throw new Rejected(`${path}/${keyword} has a '__proto__' key`);
      for (const [name, subschema] of Object.entries(map)) {
        if (keyword === "patternProperties" && !isValidPattern(name))
          throw new Rejected(`${path}/patternProperties has an invalid pattern`);
        walk(subschema, `${path}/${keyword}/${name}`, depth + 1, state);
      }
    }
  }
  if (lists & SUBSCHEMA_ARRAY) {
    for (const keyword of SCHEMA_ARRAY_KEYWORDS) {
      const list = schema[keyword];
      if (list === undefined) continue;
      if (!Array.isArray(list) || list.length === 0) throw new Rejected(`${path}/${keyword} is not a non-empty array`);
      for (const [index, subschema] of list.entries()) walk(subschema, `${path}/${keyword}/${index}`, depth + 1, state);
    }
  }
  const items = schema.items;
  if (items !== undefined) {
    if (Array.isArray(items))
      for (const [index, subschema] of items.entries()) walk(subschema, `${path}/items/${index}`, depth + 1, state);
    else walk(items, `${path}/items`, depth + 1, state);
  }
  const dependencies = schema.dependencies;
  if (dependencies !== undefined) {
    if (!isObject(dependencies)) throw new Rejected(`${path}/dependencies is not an object`);
    for (const [name, dependency] of Object.entries(dependencies)) {
      if (!Array.isArray(dependency)) walk(dependency, `${path}/dependencies/${name}`, depth + 1, state);
    }
  }
}

/**
 * Checks a tool's `inputSchema`. On success the value is the schema to give the model: the same
 * content, with `properties: {}` added to a root that has none (OpenAI refuses an object schema
 * without it). Never throws; never mutates the input.
 */
export function checkInputSchema(schema: unknown): Result<JSONSchema7> {
  if (!isObject(schema)) return fail("tool_schema_rejected", "the input schema is not an object");
  if (schema.type !== "object") return fail("tool_schema_rejected", "the input schema's root is not of type 'object'");
  try {
    walk(schema, "", 0, { root: schema, nodes: 0 });
  } catch (error) {
    if (error instanceof Rejected)
      return fail("tool_schema_rejected", `the input schema is refused: ${capReason(error.reason)}`);
    throw error;
  }
  // Measured after the walk, which bounded depth and size, so serializing is cheap and cannot overflow.
  const bytes = JSON.stringify(schema).length;
  if (bytes > MAX_SCHEMA_BYTES)
    return fail("tool_schema_rejected", `the input schema is larger than ${MAX_SCHEMA_BYTES} bytes`);
  const checked = (schema.properties === undefined ? { ...schema, properties: {} } : schema) as JSONSchema7;
  return ok(checked);
}
