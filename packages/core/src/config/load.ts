import { readFileSync } from "node:fs";
import { McpServerSideError } from "../errors.js";
import { configFileSchema, isRemote, type ServerDefinition } from "./schema.js";
import { normalizeConfigTop, normalizeServerDialect, translateVariables } from "./dialects.js";
import { expandPlaceholders } from "./env.js";

export type ConfigSource = string | { mcpServers: Record<string, unknown> } | undefined;

/**
 * Loads the config tier once, synchronously: reads the file, accepts other clients' dialects (VS Code's
 * `servers`, Claude Code's `type`, Cline's `disabled`, …, see dialects.ts), resolves `${VAR}`
 * placeholders in every string of every server, and validates the result. Every problem throws, naming the server and the
 * field or variable, so a broken config stops the start instead of running half-configured.
 */
export function loadConfigTier(
  source: ConfigSource,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Map<string, ServerDefinition> {
  if (source === undefined) return new Map();
  const file = typeof source === "string" ? readConfigFile(source) : source;
  if (typeof file !== "object" || file === null || Array.isArray(file)) {
    throw configError("the config must be an object with an 'mcpServers' object");
  }
  const top = normalizeConfigTop(file as Record<string, unknown>);
  if (!top.ok) throw configError(`field '${top.path.join(".")}': ${top.message}`);
  const raw = top.value;
  const servers = raw["mcpServers"];
  const expanded: Record<string, unknown> = {};
  if (typeof servers === "object" && servers !== null && !Array.isArray(servers)) {
    for (const [name, definition] of Object.entries(servers)) {
      const fail = (message: string, path: string[]): McpServerSideError =>
        configError(`server '${name}': ${path.length > 0 ? `field '${path.join(".")}': ` : ""}${message}`);
      // Dialects first, so that a refused field is reported for what it is, not for a placeholder in it.
      const canonical = normalizeServerDialect(definition);
      if (!canonical.ok) throw fail(canonical.message, canonical.path);
      expanded[name] = expandDeep(canonical.value, fail, env);
    }
  }
  const parsed = configFileSchema.safeParse({
    ...raw,
    mcpServers: servers === undefined ? undefined : expanded,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    const where =
      path[0] === "mcpServers" && path.length > 1
        ? `server '${String(path[1])}'${path.length > 2 ? `: field '${path.slice(2).join(".")}'` : ""}`
        : `field '${path.join(".") || "(root)"}'`;
    const detail =
      issue?.code === "unrecognized_keys"
        ? `unknown field(s) ${issue.keys.map((key) => `'${key}'`).join(", ")}`
        : issue?.message;
    throw configError(`${where}: ${detail ?? "invalid"}`);
  }
  const result = new Map<string, ServerDefinition>();
  for (const [name, definition] of Object.entries(parsed.data.mcpServers)) {
    if (isRemote(definition) && !URL.canParse(definition.url))
      throw configError(`server '${name}': field 'url': not a valid URL`);
    result.set(name, definition);
  }
  return result;
}

function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw configError(`cannot read the config file '${path}'`, error);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw configError(`the config file '${path}' is not valid JSON`, error);
  }
}

function expandDeep(
  value: unknown,
  fail: (message: string, path: string[]) => Error,
  env: Readonly<Record<string, string | undefined>>,
  path: string[] = [],
): unknown {
  if (typeof value === "string") {
    const translated = translateVariables(value);
    if (!translated.ok) throw fail(translated.message, path);
    const result = expandPlaceholders(translated.value, env);
    if (!result.ok) throw fail(result.message, path);
    return result.value;
  }
  if (Array.isArray(value)) return value.map((item, index) => expandDeep(item, fail, env, [...path, String(index)]));
  if (typeof value === "object" && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(copy, key, {
        value: expandDeep(item, fail, env, [...path, key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return copy;
  }
  return value;
}

function configError(message: string, cause?: unknown): McpServerSideError {
  return new McpServerSideError("invalid_config", `Invalid MCP config: ${message}`, { status: 500, cause });
}
