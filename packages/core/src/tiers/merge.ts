import { availabilityOf, isEnabled, isLocked, type ServerDefinition } from "../config/schema.js";
import type { ContextError, Tier } from "../types.js";

type StoredTier = Exclude<Tier, "request">;
type Definitions = ReadonlyMap<string, ServerDefinition> | Readonly<Record<string, ServerDefinition>>;

export interface TierInputs {
  config?: Definitions;
  global?: Definitions;
  scope?: Definitions;
  /**
   * The request tier, already validated: `null`/absent inherit, `{}` opts out, a definition adds or
   * replaces, `false` drops.
   */
  request?: Readonly<Record<string, ServerDefinition | false>> | null;
  /**
   * The caller's own switches (SPEC §4 preferences): `true` turns a `default_off` server on, `false` a
   * `default_on` one off. Below the request tier: a selection (`select`) or an opt-out ignores them.
   */
  preferences?: ReadonlyMap<string, boolean>;
  /** When given, only `force_on` servers and these names are injected. */
  select?: readonly string[] | null;
  /** For servers that need per-user OAuth: whether this user connected them. Defaults to "no". */
  isConnected?: (name: string, definition: ServerDefinition) => boolean;
  /**
   * Where a user connects an OAuth server. When given, a wanted OAuth server the user has not connected
   * is reported in `errors` as `oauth_required` with this URL, so an app can show a Connect button.
   */
  connectUrl?: (name: string) => string;
}

export interface MergedServer {
  name: string;
  source: Tier;
  /** The highest lower tier whose server of the same name this one hides. */
  shadows?: StoredTier;
  definition: ServerDefinition;
}

export interface MergeResult {
  /** Every server visible after shadowing, injected or not (disabled and `default_off` included). */
  catalog: MergedServer[];
  /** The servers to inject for this request. */
  servers: MergedServer[];
  errors: ContextError[];
}

const STORED_TIERS: readonly StoredTier[] = ["config", "global", "scope"];

/**
 * The pure merge of SPEC §2: tiers by name, the higher tier winning, except that a locked server
 * (`locked` or `force_on`) is never shadowed; then the request tier's opt-out, additions and drops;
 * then selection and availability. No I/O, no clock: the same inputs always give the same result.
 */
export function mergeTiers(inputs: TierInputs): MergeResult {
  const errors: ContextError[] = [];
  const byName = new Map<string, MergedServer>();

  const place = (name: string, source: Tier, definition: ServerDefinition): void => {
    const current = byName.get(name);
    if (current && isLocked(current.definition)) {
      errors.push({
        code: "name_locked",
        server: name,
        message: `'${name}' is locked by the ${current.source} tier; the ${source} tier's server of that name is ignored`,
      });
      return;
    }
    const merged: MergedServer = { name, source, definition };
    const hidden = current ? (current.source === "request" ? current.shadows : current.source) : undefined;
    if (hidden !== undefined) merged.shadows = hidden;
    byName.set(name, merged);
  };

  for (const tier of STORED_TIERS) {
    for (const [name, definition] of entries(inputs[tier])) place(name, tier, definition);
  }

  const request = inputs.request;
  const optOut = request !== null && request !== undefined && Object.keys(request).length === 0;
  if (request) {
    for (const [name, entry] of Object.entries(request)) {
      if (entry !== false) {
        place(name, "request", entry);
        continue;
      }
      const current = byName.get(name);
      if (current && isLocked(current.definition)) {
        errors.push({
          code: "name_locked",
          server: name,
          message: `'${name}' is locked and cannot be dropped by a request`,
        });
      } else {
        byName.delete(name);
      }
    }
  }

  const catalog = [...byName.values()];
  const select = inputs.select === null || inputs.select === undefined ? undefined : new Set(inputs.select);
  if (select) {
    for (const name of select) {
      if (!byName.has(name))
        errors.push({ code: "not_found", server: name, message: `no server named '${name}' is available` });
    }
  }

  // A server the request itself brings is the request's choice; the caller's switches are for the stored tiers.
  const isOn = (server: MergedServer, availability: string): boolean =>
    (server.source === "request" ? undefined : inputs.preferences?.get(server.name)) ?? availability === "default_on";

  const servers = catalog.filter((server) => {
    const availability = availabilityOf(server.definition);
    const wanted = optOut
      ? availability === "force_on"
      : availability === "force_on" || (select ? select.has(server.name) : isOn(server, availability));
    if (!wanted) return false;
    if (!isEnabled(server.definition)) {
      if (select?.has(server.name))
        errors.push({ code: "server_disabled", server: server.name, message: `'${server.name}' is disabled` });
      return false;
    }
    if (server.definition.auth?.type === "oauth2" && !(inputs.isConnected?.(server.name, server.definition) ?? false)) {
      if (inputs.connectUrl)
        errors.push({
          code: "oauth_required",
          server: server.name,
          message: `'${server.name}' needs the user to connect it (OAuth)`,
          connectUrl: inputs.connectUrl(server.name),
        });
      return false;
    }
    return true;
  });

  return { catalog, servers, errors };
}

function entries(definitions: Definitions | undefined): Iterable<[string, ServerDefinition]> {
  if (definitions === undefined) return [];
  return definitions instanceof Map ? definitions.entries() : Object.entries(definitions);
}
