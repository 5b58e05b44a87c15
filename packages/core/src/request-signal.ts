import type { McpServerSide } from "./types.js";

// Per instance of this copy of the core: which paths' answers may read the request's abort signal (create.ts).
const readers = new WeakMap<McpServerSide, (path: string) => boolean>();

/** Registers, for `instance.handle(request, path)`, the paths whose answer may read the request's signal. */
export function markRequestSignalReaders(instance: McpServerSide, readsSignal: (path: string) => boolean): void {
  readers.set(instance, readsSignal);
}

/**
 * Whether `mcp.handle(request, path)` may read the request's abort signal: the OpenAI routes do, and a
 * custom `identify` may; the management routes never do, so an adapter can leave the signal (two abort
 * controllers, a close listener, a finalizer) out for them. True for an instance this copy did not make.
 */
export function handleUsesRequestSignal(mcp: McpServerSide, path: string): boolean {
  return readers.get(mcp)?.(path) ?? true;
}
