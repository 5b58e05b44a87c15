import type { McpStore, StoreScope } from "../store/types.js";
import type { Identity } from "../types.js";

/** A caller's own on/off switches for servers (the preference route, SPEC §4), read and written through the store. */
export interface Preferences {
  /** The caller's switches by server name; empty for a store without preference methods. */
  of(identity: Identity): Promise<ReadonlyMap<string, boolean>>;
  /** Sets (or with `null` removes) one switch; undefined when the store keeps no preferences. */
  set?: (identity: Identity, server: string, enabled: boolean | null) => Promise<void>;
}

const NONE: ReadonlyMap<string, boolean> = new Map();

/** Preferences belong to the caller's scope and user; a caller without a user shares its scope's (user ""). */
export function createPreferences(store: Pick<McpStore, "getPreferences" | "setPreference">): Preferences {
  const { getPreferences, setPreference } = store;
  const owner = (identity: Identity): [StoreScope, string] => [
    { kind: "scope", id: identity.scope },
    identity.user ?? "",
  ];
  if (getPreferences === undefined || setPreference === undefined) return { of: async () => NONE };
  return {
    of: (identity) => getPreferences.call(store, ...owner(identity)),
    set: (identity, server, enabled) => setPreference.call(store, ...owner(identity), server, enabled),
  };
}
