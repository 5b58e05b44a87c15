import type { McpServerSide } from "./types.js";

// Per instance of this copy of the core: the paths whose answer reads the request only through the core (create.ts).
const coreOnly = new WeakMap<McpServerSide, (path: string) => boolean>();

/** Registers, for `instance.handle(request, path)`, the paths whose answer reads the request only through the core. */
export function markCoreOnlyPaths(instance: McpServerSide, readsOnlyInCore: (path: string) => boolean): void {
  coreOnly.set(instance, readsOnlyInCore);
}

/**
 * Whether `mcp.handle(request, path)` reads nothing of the request but its method, URL and headers and,
 * through the core's own reader, its JSON body: true for the management routes with the built-in
 * `identify`; false for the OpenAI routes (they read the abort signal), with a custom `identify` (it gets
 * the request) and for an instance this copy did not make. When true, an adapter may leave out the abort
 * signal (two abort controllers, a close listener, a finalizer) and keep the body as its own stream
 * (`toWebRequest`'s `keepBody`).
 */
export function handledInCoreOnly(mcp: McpServerSide, path: string): boolean {
  return coreOnly.get(mcp)?.(path) ?? false;
}
