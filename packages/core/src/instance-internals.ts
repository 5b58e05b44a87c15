import type { RequestSource } from "./context/request-source.js";
import type { CoreRequest } from "./http/kept-body.js";
import type { McpRequestContext, McpServerSide, OverridesSource } from "./types.js";

/**
 * What an instance made by this copy of the core tells its adapters beyond the public `McpServerSide`
 * interface; create.ts registers it. An instance this copy did not make (a wrapper, another copy of the
 * core) has none, and each reader falls back to the public interface.
 */
export interface InstanceInternals {
  /** Its `identify` is the built-in one, which reads the request's headers and nothing else. */
  identifiedByHeaders: boolean;
  /** `handle`, with answers that may be bodiless with their JSON text kept beside (http/kept-body.ts). */
  keptBodyHandle: McpServerSide["handle"];
  /** Whether the answer on `path` reads the request only through the core (headers, and the body by readJsonBody). */
  readsOnlyInCore(path: string): boolean;
  /** `keptBodyHandle` for a path `readsOnlyInCore` answers true for, taking what the core reads of a request. */
  coreHandle(request: CoreRequest, path: string): Promise<Response | undefined>;
  /** The request context of a request given as a source (`forRequest` without the Web request). */
  makeContext(source: RequestSource, overrides?: OverridesSource): McpRequestContext;
}

const registered = new WeakMap<object, InstanceInternals>();

/** Registers what `instance` tells its adapters (create.ts). */
export function registerInternals(instance: McpServerSide, internals: InstanceInternals): void {
  registered.set(instance, internals);
}

/** What `instance` tells its adapters, when this copy of the core made it. */
export function internalsOf(instance: object): InstanceInternals | undefined {
  return registered.get(instance);
}
