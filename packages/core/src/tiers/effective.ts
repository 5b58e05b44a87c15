import { isEnabled, type ServerDefinition } from "../config/schema.js";
import type { Registry } from "../registry/registry.js";
import { redactDefinition } from "../security/redact.js";
import type { StoreScope } from "../store/types.js";
import type { ContextError, EffectiveServer, Identity } from "../types.js";
import type { MergedServer, TierInputs } from "./merge.js";

/** The stored tiers a caller sees, as the merge takes them. */
export type CallerTiers = Required<Pick<TierInputs, "config" | "global">> & Pick<TierInputs, "scope">;

/**
 * Loads the config, global and (for an identified caller) scope tiers. Members see only enabled
 * global servers; admins see them all. Stored servers that cannot be decrypted are left out and
 * named in `errors`.
 */
export async function loadCallerTiers(
  identity: Identity | null,
  config: ReadonlyMap<string, ServerDefinition>,
  registry: Registry,
): Promise<{ tiers: CallerTiers; errors: ContextError[] }> {
  const [global, scope] = await Promise.all([
    registry.servers({ kind: "global" }),
    identity ? registry.servers(scopeOf(identity)) : undefined,
  ]);
  const globalDefinitions = identity?.admin ? global.definitions : enabledOnly(global.definitions);
  const errors: ContextError[] = [];
  for (const snapshot of scope ? [global, scope] : [global]) {
    for (const [name, { error }] of snapshot.unreadable)
      errors.push({ code: error.code, server: name, message: error.message });
  }
  const tiers: CallerTiers = scope
    ? { config, global: globalDefinitions, scope: scope.definitions }
    : { config, global: globalDefinitions };
  return { tiers, errors };
}

export function scopeOf(identity: Identity): StoreScope {
  return { kind: "scope", id: identity.scope };
}

/**
 * A merged server as a caller may see it: redacted always; a member looking at a config or global
 * server sees neither where it connects nor how it authenticates (those are the operator's).
 */
export function presentServer(server: MergedServer, identity: Identity | null): EffectiveServer {
  const connection = identity?.admin === true || server.source === "scope" || server.source === "request";
  return {
    name: server.name,
    source: server.source,
    ...(server.shadows === undefined ? {} : { shadows: server.shadows }),
    ...redactDefinition(server.definition, { connection }),
  };
}

const enabledCache = new WeakMap<ReadonlyMap<string, ServerDefinition>, ReadonlyMap<string, ServerDefinition>>();

function enabledOnly(definitions: ReadonlyMap<string, ServerDefinition>): ReadonlyMap<string, ServerDefinition> {
  let enabled = enabledCache.get(definitions);
  if (!enabled) {
    enabled = new Map([...definitions].filter(([, definition]) => isEnabled(definition)));
    enabledCache.set(definitions, enabled);
  }
  return enabled;
}
