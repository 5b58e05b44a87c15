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

/**
 * `*` matches any run of characters (also none); everything else is literal. Matched without a
 * regular expression: a pattern with many stars compiled to `.*` after `.*` backtracks exponentially
 * on a long name, and both the pattern (a request-tier definition) and the name (its server) may be
 * hostile. Here the first and last pieces are anchored and every middle piece is found left to right
 * with `indexOf` at the earliest place it fits; taking the earliest place never loses a match, so
 * nothing is ever retried and the cost is one pass over the name per piece.
 */
export function globMatcher(pattern: string): Matcher {
  const pieces = pattern.split("*");
  if (pieces.length === 1) return (name) => name === pattern;
  const first = pieces[0] ?? "";
  const last = pieces[pieces.length - 1] ?? "";
  const middle = pieces.slice(1, -1).filter((piece) => piece !== "");
  const fixedLength = first.length + last.length;
  return (name) => {
    if (name.length < fixedLength || !name.startsWith(first) || !name.endsWith(last)) return false;
    const end = name.length - last.length;
    let position = first.length;
    for (const piece of middle) {
      const found = name.indexOf(piece, position);
      if (found === -1 || found + piece.length > end) return false;
      position = found + piece.length;
    }
    return true;
  };
}

function compileList(patterns: readonly string[] | undefined): Matcher | undefined {
  if (patterns === undefined) return undefined;
  if (patterns.length === 0) return never;
  const exact = new Set(patterns.filter((pattern) => !pattern.includes("*")));
  const globs = patterns.filter((pattern) => pattern.includes("*")).map(globMatcher);
  if (globs.length === 0) return (name) => exact.has(name);
  return (name) => exact.has(name) || globs.some((glob) => glob(name));
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
