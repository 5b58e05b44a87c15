import { isEnabled, isLocked, type ServerDefinition } from "../config/schema.js";
import type { TierSnapshot } from "../registry/registry.js";
import { redactDefinition } from "../security/redact.js";
import type { StoreScope } from "../store/types.js";
import type { ContextError, EffectiveServer, Identity } from "../types.js";
import type { MergedServer, TierInputs } from "./merge.js";

/** The stored tiers a caller sees, as the merge takes them. */
export type CallerTiers = Required<Pick<TierInputs, "config" | "global">> & Pick<TierInputs, "scope">;

/**
 * The config, global and (for an identified caller) scope tiers as a caller sees them, from one read
 * (snapshot) of each stored tier. Members see only enabled global servers; admins see them all. A disabled global server still holds its name
 * over an unlocked config server for members too (the higher tier wins a name, SPEC §2), so admins
 * and members get the same effective set, members without the hidden server itself. Stored servers
 * that cannot be decrypted are left out and named in `errors`.
 */
export function deriveCallerTiers(
  config: ReadonlyMap<string, ServerDefinition>,
  global: TierSnapshot,
  scope: TierSnapshot | undefined,
  admin: boolean,
): { tiers: CallerTiers; errors: ContextError[] } {
  const globalDefinitions = admin ? global.definitions : enabledOnly(global.definitions);
  const configDefinitions = admin ? config : configUnderHidden(config, global.definitions);
  const errors: ContextError[] = [];
  for (const snapshot of scope ? [global, scope] : [global]) {
    for (const [name, { error }] of snapshot.unreadable)
      errors.push({ code: error.code, server: name, message: error.message });
  }
  const tiers: CallerTiers = scope
    ? { config: configDefinitions, global: globalDefinitions, scope: scope.definitions }
    : { config: configDefinitions, global: globalDefinitions };
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

const configCache = new WeakMap<
  ReadonlyMap<string, ServerDefinition>,
  { config: ReadonlyMap<string, ServerDefinition>; visible: ReadonlyMap<string, ServerDefinition> }
>();

/** The config tier as a member sees it: without the unlocked servers a disabled global server shadows. */
function configUnderHidden(
  config: ReadonlyMap<string, ServerDefinition>,
  global: ReadonlyMap<string, ServerDefinition>,
): ReadonlyMap<string, ServerDefinition> {
  const cached = configCache.get(global);
  if (cached?.config === config) return cached.visible;
  const shadowed = (name: string, definition: ServerDefinition): boolean => {
    const over = global.get(name);
    return over !== undefined && !isEnabled(over) && !isLocked(definition);
  };
  const kept = [...config].filter(([name, definition]) => !shadowed(name, definition));
  const visible = kept.length === config.size ? config : new Map(kept);
  configCache.set(global, { config, visible });
  return visible;
}
