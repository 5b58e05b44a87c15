/*
 * Which paths an instance serves. Every check here runs on the path the framework routed (undecoded,
 * as it came off the wire for Express; Hono's `c.req.path`), never on a normalized copy: a path that
 * only becomes `basePath` after resolving `..`, `%2e`, `\` or `//` was routed by the app somewhere
 * else, past whatever guard it mounted on `basePath`, so it is not ours.
 */

/** The path part of a request target: everything before `?` or `#`. */
export function pathOf(target: string): string {
  const end = target.search(/[?#]/);
  return end === -1 ? target : target.slice(0, end);
}

/** True for `basePath` itself and every path below it, compared byte for byte. */
export function isUnderBasePath(path: string, basePath: string): boolean {
  return path === basePath || path.startsWith(`${basePath}/`);
}

/** The chat endpoint's path, with one optional trailing slash (as the frameworks' non-strict routes match it). */
export function isChatPath(path: string, chatPath: string | undefined): boolean {
  return chatPath !== undefined && (path === chatPath || path === `${chatPath}/`);
}

/**
 * The segments below `basePath` (one trailing slash allowed), or `undefined` for a path outside it.
 * An empty segment (`//`) stays in the list as `""`, so it matches no route.
 */
export function segmentsBelow(path: string, basePath: string): string[] | undefined {
  if (!isUnderBasePath(path, basePath)) return undefined;
  const trimmed = path.length > basePath.length && path.endsWith("/") ? path.slice(0, -1) : path;
  return trimmed === basePath ? [] : trimmed.slice(basePath.length + 1).split("/");
}
