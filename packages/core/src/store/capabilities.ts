import { McpServerSideError } from "../errors.js";
import type { McpStore, McpStoreCapabilities, ResolvedStore } from "./types.js";

type Capability = keyof McpStoreCapabilities;

/** The methods each capability stands for; they come together. */
export const STORE_CAPABILITY_METHODS = {
  oauth: [
    "getUserSecret",
    "setUserSecret",
    "deleteUserSecret",
    "putPending",
    "takePending",
    "putPendingIfAbsent",
    "listUserSecrets",
  ],
  pins: ["getToolPins", "addToolPins", "setToolPins", "deleteToolPins"],
  events: ["watch", "watchHealthy"],
  scopeIndex: ["listScopes"],
  preferences: ["getPreferences", "setPreference"],
} as const satisfies Record<Capability, readonly (keyof McpStore)[]>;

/** What needs a capability, for the message of a store that lacks it. */
const NEEDED_BY: Record<Capability, string> = {
  oauth: 'OAuth servers (auth.type "oauth2") need it',
  pins: "tool pinning needs it",
  events: "change events need it",
  scopeIndex: "rotateSecrets() needs it",
  preferences: "the preference routes need it",
};

const REQUIRED_METHODS = ["list", "get", "create", "update", "delete"] as const;
/**
 * Optional within their capability: without `watchHealthy` the events are taken as incomplete; without
 * `listUserSecrets`, OAuth records are re-encrypted when next read rather than by `rotateSecrets()`.
 */
const OPTIONAL_METHODS = new Set<string>(["watchHealthy", "listUserSecrets"]);
const CAPABILITIES = Object.keys(STORE_CAPABILITY_METHODS) as Capability[];

/**
 * What a store can do: each capability's flag when it is set, else whether its methods are all there.
 * Throws `invalid_config` for a store that breaks its word: a server method missing, a flag set to true
 * with a method missing, or some methods of a capability without the others and no flag.
 */
export function storeCapabilities(store: McpStore): Required<McpStoreCapabilities> {
  const missingRequired = REQUIRED_METHODS.filter((method) => typeof store[method] !== "function");
  if (missingRequired.length > 0 || typeof store.persistent !== "boolean")
    throw invalidStore(
      `The store lacks ${missingRequired.join(", ") || "a boolean `persistent`"}: every store has \`persistent\` and ${REQUIRED_METHODS.join(", ")}`,
    );
  const result = { oauth: false, pins: false, events: false, scopeIndex: false, preferences: false };
  for (const capability of CAPABILITIES) {
    const methods: readonly string[] = STORE_CAPABILITY_METHODS[capability];
    const has = (method: string): boolean =>
      typeof (store as unknown as Record<string, unknown>)[method] === "function";
    const needed = methods.filter((method) => !OPTIONAL_METHODS.has(method));
    const present = needed.filter(has);
    const missing = needed.filter((method) => !has(method));
    const declared = store.capabilities?.[capability];
    if (declared === true && missing.length > 0)
      throw invalidStore(`The store declares capabilities.${capability} but has no ${missing.join(", ")}`);
    if (declared === undefined && missing.length > 0 && present.length > 0)
      throw invalidStore(
        `The store has ${present.join(", ")} but not ${missing.join(", ")}: capability '${capability}' needs them all (or set capabilities.${capability}: false)`,
      );
    result[capability] = declared ?? missing.length === 0;
  }
  return result;
}

/**
 * The store as core uses it, checked once when the instance is created: `needs` names the capabilities
 * that the options turn on (a store without one is refused with `invalid_config` saying why). A store
 * with every capability is returned as it is. Otherwise the result calls the store's own methods, and
 * a capability it lacks (or declares false) is absent: pins and events are left out, and the OAuth and
 * scope-index methods reject with `invalid_config` naming what needs them (the rest are left out).
 */
export function resolveStore(store: McpStore, needs: Partial<Record<Capability, string>> = {}): ResolvedStore {
  const capabilities = storeCapabilities(store);
  for (const capability of CAPABILITIES) {
    const reason = needs[capability];
    if (reason !== undefined && !capabilities[capability])
      throw new McpServerSideError(
        "invalid_config",
        `${reason}: the store has no capability '${capability}' (${STORE_CAPABILITY_METHODS[capability].join(", ")})`,
      );
  }
  if (CAPABILITIES.every((capability) => capabilities[capability])) return store as ResolvedStore;

  // A plain object of bound methods (not a prototype trick), so a class-based store keeps its `this`.
  const source = store as unknown as Record<string, unknown>;
  const resolved: Record<string, unknown> = { persistent: store.persistent, capabilities };
  const bind = (method: string): void => {
    const value = source[method];
    if (typeof value === "function") resolved[method] = value.bind(store);
  };
  for (const method of [...REQUIRED_METHODS, "ping", "close"]) bind(method);
  for (const capability of CAPABILITIES) {
    for (const method of STORE_CAPABILITY_METHODS[capability]) {
      if (capabilities[capability]) bind(method);
      else if ((capability === "oauth" || capability === "scopeIndex") && !OPTIONAL_METHODS.has(method))
        resolved[method] = () => Promise.reject(lacking(capability));
    }
  }
  return resolved as unknown as ResolvedStore;
}

function lacking(capability: Capability): McpServerSideError {
  return new McpServerSideError(
    "invalid_config",
    `The store has no capability '${capability}' (${STORE_CAPABILITY_METHODS[capability].join(", ")}); ${NEEDED_BY[capability]}`,
  );
}

function invalidStore(message: string): McpServerSideError {
  return new McpServerSideError("invalid_config", message);
}
