/**
 * The one walk down an error's `cause` chain. Libraries wrap errors (undici's `TypeError("fetch
 * failed")`, the MCP SDK's own errors, Node's `AggregateError` of a connect to several addresses), so
 * the error that says what happened is often a few links down.
 */

/** How many links are followed: enough for any real wrapping, and a bound on a chain that loops. */
const MAX_DEPTH = 8;

/**
 * The first value `pick` returns for a link of `error`'s cause chain, outermost first; the direct
 * members of an `AggregateError` are tried right after the aggregate itself. Undefined when no link
 * yields one. A chain that loops, or is longer than eight links, stops there.
 */
export function findInCauses<T>(error: unknown, pick: (link: object) => T | undefined): T | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < MAX_DEPTH && typeof current === "object" && current !== null; depth++) {
    const found = pick(current);
    if (found !== undefined) return found;
    if (current instanceof AggregateError) {
      for (const inner of current.errors as unknown[]) {
        const picked = typeof inner === "object" && inner !== null ? pick(inner) : undefined;
        if (picked !== undefined) return picked;
      }
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
