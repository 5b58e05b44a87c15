import type { ToolFilter } from "../config/schema.js";

/** A server's `tools` settings, compiled once per definition. */
export interface CompiledToolFilter {
  /** Offered to the model: matches `allow` (when given) and not `deny`; deny wins. */
  allows(tool: string): boolean;
  /** Matches `requireApproval`. */
  needsApproval(tool: string): boolean;
}

type Matcher = (name: string) => boolean;

const never: Matcher = () => false;

/** `*` matches any run of characters (also none); everything else is literal. */
export function globToRegExp(pattern: string): RegExp {
  const source = pattern
    .split("*")
    .map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`, "s");
}

function compileList(patterns: readonly string[] | undefined): Matcher | undefined {
  if (patterns === undefined) return undefined;
  if (patterns.length === 0) return never;
  const exact = new Set(patterns.filter((pattern) => !pattern.includes("*")));
  const globs = patterns.filter((pattern) => pattern.includes("*")).map(globToRegExp);
  if (globs.length === 0) return (name) => exact.has(name);
  return (name) => exact.has(name) || globs.some((glob) => glob.test(name));
}

export function compileToolFilter(filter: ToolFilter | undefined): CompiledToolFilter {
  const allow = compileList(filter?.allow);
  const deny = compileList(filter?.deny) ?? never;
  const approval = compileList(filter?.requireApproval) ?? never;
  return {
    allows: (tool) => !deny(tool) && (allow === undefined || allow(tool)),
    needsApproval: approval,
  };
}
