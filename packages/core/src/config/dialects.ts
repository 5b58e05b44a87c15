/**
 * Other MCP clients' config dialects (SPEC §3), so that anyone can paste the file they already keep:
 * Claude Code `.mcp.json`, VS Code `.vscode/mcp.json`, Cline, Windsurf and Gemini CLI. Each client
 * field is mapped to its meaning here or refused with the reason; any other unknown field is left for
 * the schema to reject. Only the config tier (the operator's file) speaks dialects: the API and the
 * request tier accept the canonical format alone, so a tenant's body has one meaning.
 */

export type DialectResult<T> = { ok: true; value: T } | { ok: false; path: string[]; message: string };

const fail = (path: string[], message: string): { ok: false; path: string[]; message: string } => ({
  ok: false,
  path,
  message,
});

/**
 * The top level: `mcpServers` (Claude Desktop, Cursor, Claude Code, Cline, Windsurf, Gemini CLI) or
 * `servers` (VS Code), and VS Code's `inputs` (prompts for `${input:…}`, which are refused where used).
 */
export function normalizeConfigTop(raw: Record<string, unknown>): DialectResult<Record<string, unknown>> {
  const { servers, inputs, ...rest } = raw;
  if (inputs !== undefined && !Array.isArray(inputs)) return fail(["inputs"], "must be an array (VS Code's inputs)");
  if (servers === undefined) return { ok: true, value: rest };
  if (rest["mcpServers"] !== undefined) {
    return fail(["servers"], "give either 'mcpServers' or VS Code's 'servers', not both");
  }
  return { ok: true, value: { ...rest, mcpServers: servers } };
}

/**
 * Rewrites client variable syntax in one config string before `${VAR}` expansion: `${env:VAR}` (VS
 * Code, Windsurf) becomes `${VAR}`; VS Code's `${input:id}` prompts a person in the editor, which a
 * server cannot do, so it is refused.
 */
export function translateVariables(text: string): { ok: true; value: string } | { ok: false; message: string } {
  if (!text.includes("${")) return { ok: true, value: text };
  const input = /\$\{input:([^}]{0,64})\}?/.exec(text);
  if (input !== null) {
    return {
      ok: false,
      message: `\${input:${input[1] ?? ""}} is a VS Code prompt, which a server cannot show: put the value in the process environment and write \${VAR}`,
    };
  }
  return { ok: true, value: text.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)/g, "${$1") };
}

type Definition = Record<string, unknown>;

/** Fields that only tell a desktop client whether to ask the user before a call; here nothing asks unless `tools.requireApproval` says so. */
const CONFIRMATION_FIELDS: Readonly<Record<string, "array" | "boolean">> = {
  autoApprove: "array", // Cline
  alwaysAllow: "array", // Cline (older name)
  trust: "boolean", // Gemini CLI
};

/** Client fields with no meaning on a server, and what to write instead. */
const REFUSED: Readonly<Record<string, string>> = {
  envFile: "not supported: put the variables in the process environment and use ${VAR} in 'env'",
  dev: "VS Code's watch/debug mode has no meaning on a server: remove it",
  oauth: 'Gemini CLI\'s \'oauth\' is not read here: use "auth": { "type": "oauth2", … }',
  authProviderType: "Gemini CLI's 'authProviderType' is not read here: use 'auth' (bearer, headers or oauth2)",
};

const CLINE_MARKERS = ["autoApprove", "alwaysAllow", "disabled", "transportType"];
const GEMINI_MARKERS = ["httpUrl", "trust", "includeTools", "excludeTools"];

/**
 * One config-tier server in any supported dialect → the canonical definition (not yet validated: the
 * schema checks the result and reports anything it does not know).
 */
export function normalizeServerDialect(definition: unknown): DialectResult<unknown> {
  if (typeof definition !== "object" || definition === null || Array.isArray(definition)) {
    return { ok: true, value: definition };
  }
  const source = definition as Definition;
  const out: Definition = { ...source };
  let transport: "streamable-http" | "sse" | undefined;
  let transportFrom: string | undefined;

  for (const [field, reason] of Object.entries(REFUSED)) {
    if (Object.hasOwn(source, field)) return fail([field], reason);
  }

  // Claude Code, VS Code and Cline say `type`; older Cline files say `transportType`.
  for (const field of ["type", "transportType"]) {
    if (!Object.hasOwn(source, field)) continue;
    const value = source[field];
    delete out[field];
    if (value === "stdio") {
      if (source["command"] === undefined) return fail([field], "'stdio' needs 'command'");
      continue;
    }
    const mapped =
      value === "http" || value === "streamableHttp" || value === "streamable-http"
        ? "streamable-http"
        : value === "sse"
          ? "sse"
          : undefined;
    if (mapped === undefined) {
      return fail(
        [field],
        "must be 'stdio', 'http', 'streamableHttp' or 'sse' (or use 'transport': 'streamable-http' | 'sse')",
      );
    }
    if (source["command"] !== undefined) return fail([field], `'${String(value)}' is for remote servers (with a URL)`);
    if (transport !== undefined && transport !== mapped) return fail([field], `contradicts '${transportFrom}'`);
    transport = mapped;
    transportFrom = field;
  }

  // Windsurf's `serverUrl`; Gemini CLI's `httpUrl` (Streamable HTTP; its `url` means SSE, which the
  // default transport falls back to by itself).
  for (const field of ["serverUrl", "httpUrl"]) {
    if (!Object.hasOwn(source, field)) continue;
    if (out["url"] !== undefined) return fail([field], "give one URL: 'url', 'serverUrl' or 'httpUrl'");
    out["url"] = source[field];
    delete out[field];
    if (field === "httpUrl") {
      if (transport === "sse") return fail([field], `contradicts '${transportFrom}'`);
      transport = "streamable-http";
      transportFrom = field;
    }
  }
  if (transport !== undefined) {
    if (source["transport"] !== undefined && source["transport"] !== transport) {
      return fail([transportFrom ?? "transport"], "contradicts 'transport'");
    }
    out["transport"] = transport;
  }

  // Cline and Windsurf's `disabled`.
  if (Object.hasOwn(source, "disabled")) {
    const disabled = source["disabled"];
    if (typeof disabled !== "boolean") return fail(["disabled"], "must be true or false");
    if (typeof source["enabled"] === "boolean" && source["enabled"] === disabled) {
      return fail(["disabled"], "contradicts 'enabled'");
    }
    delete out["disabled"];
    out["enabled"] = !disabled;
  }

  for (const [field, shape] of Object.entries(CONFIRMATION_FIELDS)) {
    if (!Object.hasOwn(source, field)) continue;
    const value = source[field];
    const fits =
      shape === "boolean"
        ? typeof value === "boolean"
        : Array.isArray(value) && value.every((v) => typeof v === "string");
    if (!fits) return fail([field], shape === "boolean" ? "must be true or false" : "must be an array of tool names");
    delete out[field];
  }

  // Gemini CLI's tool filters.
  for (const [field, target] of [
    ["includeTools", "allow"],
    ["excludeTools", "deny"],
  ] as const) {
    if (!Object.hasOwn(source, field)) continue;
    const tools = out["tools"] ?? {};
    if (typeof tools !== "object" || tools === null || Array.isArray(tools)) continue; // the schema reports 'tools'
    if ((tools as Definition)[target] !== undefined)
      return fail([field], `give either '${field}' or 'tools.${target}'`);
    out["tools"] = { ...tools, [target]: source[field] };
    delete out[field];
  }

  // `timeout`: seconds in Cline, milliseconds in Gemini CLI; the file's other fields tell which.
  if (Object.hasOwn(source, "timeout")) {
    const timeout = source["timeout"];
    if (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout <= 0) {
      return fail(["timeout"], "must be a positive number");
    }
    if (source["timeoutMs"] !== undefined) return fail(["timeout"], "give either 'timeout' or 'timeoutMs'");
    const cline = CLINE_MARKERS.some((field) => Object.hasOwn(source, field)) || source["type"] === "streamableHttp";
    const gemini = GEMINI_MARKERS.some((field) => Object.hasOwn(source, field));
    if (cline === gemini) {
      return fail(
        ["timeout"],
        "is ambiguous (seconds in Cline, milliseconds in Gemini CLI): write 'timeoutMs' in milliseconds",
      );
    }
    delete out["timeout"];
    out["timeoutMs"] = Math.round(cline ? timeout * 1000 : timeout);
  }

  return { ok: true, value: out };
}

/** What a client dialect field is called in the canonical format, for the API's unknown-field errors. */
const CANONICAL: Readonly<Record<string, string>> = {
  type: '\'transport\' ("streamable-http" or "sse")',
  transportType: '\'transport\' ("streamable-http" or "sse")',
  serverUrl: "'url'",
  httpUrl: "'url'",
  disabled: "'enabled'",
  autoApprove: "nothing: no tool asks for approval unless 'tools.requireApproval' lists it",
  alwaysAllow: "nothing: no tool asks for approval unless 'tools.requireApproval' lists it",
  trust: "nothing: no tool asks for approval unless 'tools.requireApproval' lists it",
  includeTools: "'tools.allow'",
  excludeTools: "'tools.deny'",
  timeout: "'timeoutMs' (milliseconds)",
};

/**
 * A hint for an unknown field of an API or request-tier definition that is another client's dialect:
 * only the config file translates dialects, so the caller learns the canonical name instead.
 */
export function dialectHint(field: string): string | undefined {
  const canonical = Object.hasOwn(CANONICAL, field) ? CANONICAL[field] : undefined;
  return canonical === undefined ? undefined : `a client dialect only the config file accepts; here write ${canonical}`;
}
