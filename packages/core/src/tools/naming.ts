/**
 * AI SDK tool names (SPEC §5): `${server}__${tool}` by default, made valid for every major provider
 * (`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`) and unique. A name that had to change gets a stable hash suffix of the
 * name it was meant to be, so two different MCP tools never collapse into one name and the same tool
 * keeps its name across requests, processes and restarts.
 */

/**
 * What OpenAI, Anthropic, Google and Bedrock all accept as a function name: their common ground is
 * OpenAI's `[A-Za-z0-9_-]{1,64}` with Gemini's "must start with a letter or an underscore", so a
 * server named `1password` cannot hand its name's first character to a tool.
 */
export const PROVIDER_TOOL_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

const MAX_LENGTH = 64;
/** `_` plus 8 hex digits. */
const SUFFIX_LENGTH = 9;

export type ToolNamer = (server: string, tool: string) => string;

export const defaultToolName: ToolNamer = (server, tool) => `${server}__${tool}`;

/** FNV-1a over UTF-16 code units: 32 bits, stable everywhere, no runtime dependency. */
export function stableHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/**
 * `raw` itself when it is already a valid provider name; otherwise its invalid characters replaced
 * by `_`, a `_` put first when it starts with a digit or `-`, cut to fit, and suffixed with a hash of `raw`.
 */
export function providerSafeName(raw: string): string {
  if (PROVIDER_TOOL_NAME.test(raw)) return raw;
  const replaced = raw.replace(/[^A-Za-z0-9_-]/g, "_");
  const headed = replaced === "" || /^[A-Za-z_]/.test(replaced) ? replaced : `_${replaced}`;
  const cleaned = headed.slice(0, MAX_LENGTH - SUFFIX_LENGTH);
  return `${cleaned === "" ? "tool" : cleaned}_${stableHash(raw)}`;
}

/**
 * The name a tool falls back to when its preferred name is taken: the preferred name cut to fit,
 * suffixed with a hash of the (server, tool) pair, which differs between any two tools.
 */
export function disambiguatedName(preferred: string, server: string, tool: string): string {
  return `${preferred.slice(0, MAX_LENGTH - SUFFIX_LENGTH)}_${stableHash(`${server}\u0000${tool}`)}`;
}

/**
 * Names tools with the user's `toolName` (or the default) and makes the result provider-safe. A
 * `toolName` that throws or returns a non-string falls back to the default rather than losing the tool.
 */
export function createToolNamer(toolName: ToolNamer | undefined): ToolNamer {
  if (toolName === undefined) return (server, tool) => providerSafeName(defaultToolName(server, tool));
  return (server, tool) => {
    let raw: unknown;
    try {
      raw = toolName(server, tool);
    } catch {
      raw = undefined;
    }
    return providerSafeName(typeof raw === "string" ? raw : defaultToolName(server, tool));
  };
}
