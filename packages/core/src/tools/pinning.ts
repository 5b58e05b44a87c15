import { hash } from "node:crypto";
import { asSchema, type Tool, type ToolSet } from "ai";
import { McpServerSideError } from "../errors.js";
import { type HookServerRef, hookCallerOf, type McpHookable, type ToolChange } from "../hooks.js";
import type { Logger } from "../options.js";
import { sanitizeText } from "../security/redact.js";
import { scopeLabel } from "../store/keys.js";
import type { McpStore, PinScope } from "../store/types.js";
import type { ContextError, Identity, ResolvedServer } from "../types.js";
import type { ServerToolView } from "./convert.js";
import { viewsOf } from "./merge.js";

/**
 * Tool pinning (SPEC §8): protection against a server that changes a tool's text after people came to
 * trust it (a "rug pull": the description goes straight into the model's prompt). Each tool's definition
 * (name, description, input schema, annotations, as the model gets them, after masking) is hashed and the
 * hash recorded in the store at first sight, per server and pin scope. A later definition with another
 * hash is reported (`tool_changed` in `errors`, the `tools:changed` hook) and, with `"block"`, left out
 * until it is approved through `POST /:name/pins/approve`.
 *
 * The store holds hashes only, never text, so nothing a server sent (or a secret masked in it) is kept.
 * Verdicts are cached per tool object (one per connection and tool-list version) and pin scope, so a warm
 * request does no store I/O: the check runs again only when the tool list changes.
 */

export type ToolPinningMode = "warn" | "block" | "off";

/** The parts of a definition that a change report names. */
export type PinnedField = "description" | "inputSchema" | "annotations";

/** A server's tools over this many pins are not pinned (a server renaming its tools cannot grow the store). */
export const MAX_PINS_PER_SERVER = 1024;
/** A verdict of "changed" is checked against the store again after this long (approvals by other workers). */
export const PIN_RECHECK_MS = 5_000;
/** Longest text of one changed field in a hook payload or a route answer. */
export const MAX_DIFF_TEXT_LENGTH = 2048;
/** Hook notifications remembered, so each change is announced once per process. */
const MAX_NOTIFIED = 4096;
/** Annotations nested deeper than this are not real annotations; such a tool is never verified. */
const MAX_CANONICAL_DEPTH = 64;

/** Who caused a check and through which request, for hook payloads. */
export interface PinCaller {
  identity: Identity | null;
  requestId?: string;
}

/** One tool's state for `GET /:name/pins`. */
export interface PinnedToolReport {
  /** The MCP tool's own name. */
  name: string;
  /** `pinned`: as approved; `changed`: differs from its pin; `unpinned`: not seen by a request yet; `absent`: pinned but no longer offered. */
  status: "pinned" | "changed" | "unpinned" | "absent";
  /** The hash of the definition offered now. */
  fingerprint?: string;
  /** The hash of the approved (first seen) definition. */
  pinnedFingerprint?: string;
  pinnedAt?: string;
  /** For `changed`: which parts differ, and what they say now (redacted, capped). */
  changed?: PinnedField[];
  current?: Partial<Record<PinnedField, string>>;
}

export interface PinReport {
  server: string;
  pinning: ToolPinningMode;
  /** Who approves this server's changes: its tenant (`scope`) or an admin (config and global servers). */
  approvedBy: "scope" | "admin";
  tools: PinnedToolReport[];
}

export interface ToolPinningDeps {
  mode: ToolPinningMode;
  store: McpStore;
  hooks: McpHookable;
  logger?: Logger;
  /** @default Date.now */
  now?: () => number;
}

export interface ToolPinning {
  readonly mode: ToolPinningMode;
  /**
   * True when `check` would find nothing to do for `tools` (pinning off, or every server's tool list
   * already found pinned), so a shared set needs no copy of its own; cheap, synchronous.
   */
  settled(tools: ToolSet, servers: readonly ResolvedServer[]): boolean;
  /**
   * Checks a request's tool set against the pins, in place: reports changed tools in `errors`, fires
   * `tools:changed` once per change and, with `"block"`, deletes changed tools from `tools`. Returns
   * undefined when every tool's verdict is cached (the warm path), else a promise. Never rejects.
   */
  check(
    tools: ToolSet,
    servers: readonly ResolvedServer[],
    errors: ContextError[],
    caller: () => PinCaller,
  ): Promise<void> | undefined;
  /**
   * Fingerprints the tools of a server's view as it arrives for a request, so that `check` finds them
   * computed: the hashing overlaps the servers still answering instead of following the last one.
   * Verdicts still come from `check` alone. Nothing to do for a settled view, a server that is not
   * pinned (request tier) or with pinning off.
   */
  prepare(server: ResolvedServer, view: ServerToolView): void;
  /** The pins and pending changes of one server (its tools as `tools`), for `GET /:name/pins`. */
  inspect(server: ResolvedServer, tools: ToolSet): Promise<PinReport>;
  /**
   * Approves the offered definitions of the named tools (all when `names` is undefined, which also drops
   * pins of tools no longer offered). Throws `invalid_request` (422) for a name the server does not offer,
   * and `conflict` (409) when a tool in `expected` no longer has that fingerprint (it changed again since
   * the approver looked), approving nothing.
   */
  approve(
    server: ResolvedServer,
    tools: ToolSet,
    names: readonly string[] | undefined,
    expected?: ReadonlyMap<string, string>,
  ): Promise<string[]>;
}

/** A tool's definition as hashes: the whole, and each part (to name what changed). */
interface Fingerprint {
  name: string;
  hash: string;
  parts: Record<PinnedField, string>;
  tool: Tool;
}

type Verdict =
  | { kind: "ok" }
  | { kind: "changed"; fields: PinnedField[]; pinned: string; checkedAt: number }
  | { kind: "unpinnable"; code: "limit_exceeded" | "tool_changed"; message: string; checkedAt: number };

interface Owner {
  scope: PinScope;
  /** Key of the verdict cache: the pin scope as a label. */
  label: string;
  server: ResolvedServer;
}

interface StoredPin {
  hash: string;
  parts: Partial<Record<PinnedField, string>>;
  pinnedAt?: string;
}

const FIELDS: readonly PinnedField[] = ["description", "inputSchema", "annotations"];
/** The one "ok" verdict, shared: most tools have it, and a pooled connection's heap is mostly its tools. */
const OK: Verdict = Object.freeze({ kind: "ok" });

export function createToolPinning(deps: ToolPinningDeps): ToolPinning {
  const { store, hooks, logger } = deps;
  if (deps.mode !== "warn" && deps.mode !== "block" && deps.mode !== "off")
    throw new McpServerSideError(
      "invalid_config",
      'createMcpServerSide: \'toolPinning\' must be "warn", "block" or "off"',
    );
  const now = deps.now ?? Date.now;
  const supported =
    typeof store.getToolPins === "function" &&
    typeof store.addToolPins === "function" &&
    typeof store.setToolPins === "function" &&
    typeof store.deleteToolPins === "function";
  if (deps.mode !== "off" && !supported) {
    logger?.warn(
      "mcp-server-side: the store has no tool pin methods (getToolPins, addToolPins, setToolPins, deleteToolPins); toolPinning is off",
    );
  }
  const mode: ToolPinningMode = supported ? deps.mode : "off";
  /**
   * Fingerprints and verdicts of the tools of views not yet settled. A view found all pinned drops its
   * tools' entries (`settled` answers for them from then on): a pooled connection keeps no hashes.
   */
  const fingerprints = new WeakMap<Tool, Fingerprint | null>();
  const verdicts = new WeakMap<Tool, Map<string, Verdict>>();
  const notified = new Set<string>();
  /** Views whose every tool is pinned as offered, by the pin scope label they were checked for. */
  const settled = new WeakMap<ServerToolView, string>();
  /**
   * Merged sets whose every view was found settled, with the servers they were checked for. A set
   * names fixed views (one connection and tool-list version each) and a view stays settled, so a warm
   * request with the same set and the same (cached) servers list is answered without building the
   * owner index; a changed tool list makes a new view, so a new set, which is checked again.
   */
  const settledSets = new WeakMap<ToolSet, readonly ResolvedServer[]>();

  const fingerprintOf = (tool: Tool): Fingerprint | null => {
    let known = fingerprints.get(tool);
    if (known === undefined) {
      known = computeFingerprint(tool);
      fingerprints.set(tool, known);
    }
    return known;
  };
  /** A fingerprint for a route (inspect, approve): the cached one, else computed and not kept. */
  const peekFingerprint = (tool: Tool): Fingerprint | null => {
    const known = fingerprints.get(tool);
    return known === undefined ? computeFingerprint(tool) : known;
  };

  const remember = (tool: Tool, label: string, verdict: Verdict): void => {
    let byOwner = verdicts.get(tool);
    if (byOwner === undefined) {
      byOwner = new Map();
      verdicts.set(tool, byOwner);
    }
    byOwner.set(label, verdict);
  };

  /** Applies a verdict to the request: reported, and in block mode left out. */
  const apply = (
    verdict: Exclude<Verdict, { kind: "ok" }>,
    key: string,
    fingerprint: Fingerprint,
    owner: Owner,
    tools: ToolSet,
    errors: ContextError[],
  ): void => {
    const blocked = mode === "block";
    const message =
      verdict.kind === "changed"
        ? `the tool's ${verdict.fields.join(", ")} changed since it was pinned; ${blocked ? "it is left out until it is approved" : 'it is offered anyway (toolPinning: "warn")'}`
        : `${verdict.message}${blocked ? "; it is left out" : ""}`;
    errors.push({
      code: verdict.kind === "changed" ? "tool_changed" : verdict.code,
      server: owner.server.name,
      tool: fingerprint.name,
      message,
    });
    if (blocked) delete tools[key];
  };

  const announce = (
    owner: Owner,
    changes: { fingerprint: Fingerprint; fields: PinnedField[]; pinned: string }[],
    caller: PinCaller,
  ): void => {
    const fresh = changes.filter(({ fingerprint }) => {
      const id = `${owner.label}\u0000${owner.server.name}\u0000${fingerprint.name}\u0000${fingerprint.hash}`;
      if (notified.has(id)) return false;
      if (notified.size >= MAX_NOTIFIED) notified.delete(notified.values().next().value as string);
      notified.add(id);
      return true;
    });
    if (fresh.length === 0) return;
    const payload = {
      server: hookServerRef(owner.server),
      caller: hookCallerOf(caller.identity),
      ...(caller.requestId === undefined ? {} : { requestId: caller.requestId }),
      mode: mode === "block" ? ("block" as const) : ("warn" as const),
      changes: fresh.map(
        ({ fingerprint, fields, pinned }): ToolChange => ({
          tool: sanitizeText(fingerprint.name),
          fields,
          fingerprint: fingerprint.hash,
          pinnedFingerprint: pinned,
          current: currentText(fingerprint.tool, fields),
        }),
      ),
    };
    try {
      const result = hooks.callHook("tools:changed", payload) as unknown;
      if (result instanceof Promise)
        result.catch((error: unknown) => logger?.warn("mcp-server-side: the tools:changed hook failed", error));
    } catch (error) {
      logger?.warn("mcp-server-side: the tools:changed hook failed", error);
    }
  };

  /** One server's tools that have no fresh verdict: pinned at first sight, compared with their pins. */
  const verify = async (
    owner: Owner,
    pending: { key: string; fingerprint: Fingerprint }[],
    tools: ToolSet,
    errors: ContextError[],
    caller: () => PinCaller,
  ): Promise<void> => {
    const at = new Date(now()).toISOString();
    const candidates = new Map<string, string>();
    for (const { fingerprint } of pending) candidates.set(fingerprint.name, encodePin(fingerprint, at));
    let stored: Map<string, string>;
    try {
      stored = await (store.addToolPins as NonNullable<McpStore["addToolPins"]>)(
        owner.scope,
        owner.server.name,
        candidates,
        { maxPins: MAX_PINS_PER_SERVER },
      );
    } catch (error) {
      // Unverified tools are not offered in block mode (fail closed); warn mode keeps them.
      logger?.warn(`mcp-server-side: ${owner.server.name}: tool pins could not be checked`, error);
      errors.push({
        code: "storage_unavailable",
        server: owner.server.name,
        message: `the tool pins could not be checked${mode === "block" ? "; the unverified tools are left out" : ""}`,
      });
      if (mode === "block") for (const { key } of pending) delete tools[key];
      return;
    }
    const checkedAt = now();
    const changes: { fingerprint: Fingerprint; fields: PinnedField[]; pinned: string }[] = [];
    for (const { key, fingerprint } of pending) {
      const raw = stored.get(fingerprint.name);
      let verdict: Verdict;
      if (raw === undefined) {
        verdict = {
          kind: "unpinnable",
          code: "limit_exceeded",
          message: `the server has ${MAX_PINS_PER_SERVER} pinned tools; this tool could not be pinned`,
          checkedAt,
        };
      } else if (raw === candidates.get(fingerprint.name)) {
        // The pin just offered is the one kept (first sight): nothing to decode.
        verdict = OK;
      } else {
        // An unreadable pin proves nothing: it counts as a change of everything.
        const pin = decodePin(raw) ?? { hash: "", parts: {} };
        if (pin.hash === fingerprint.hash) verdict = OK;
        else {
          const fields = FIELDS.filter((field) => pin.parts[field] !== fingerprint.parts[field]);
          verdict = { kind: "changed", fields: fields.length > 0 ? fields : [...FIELDS], pinned: pin.hash, checkedAt };
          changes.push({ fingerprint, fields: verdict.fields, pinned: pin.hash });
        }
      }
      remember(fingerprint.tool, owner.label, verdict);
      if (verdict.kind !== "ok") apply(verdict, key, fingerprint, owner, tools, errors);
    }
    if (changes.length > 0) announce(owner, changes, caller());
  };

  const ownerIndex = (servers: readonly ResolvedServer[]): Map<string, Owner> => {
    const owners = new Map<string, Owner>();
    for (const server of servers) {
      const scope = pinScopeOf(server);
      if (scope !== undefined) owners.set(server.name, { scope, label: pinLabel(scope), server });
    }
    return owners;
  };

  /**
   * The views of `tools` not yet found all pinned, by server; undefined when there is none (the warm
   * path: a view whose every tool was found as pinned is skipped whole, so a request costs a lookup per
   * server, not per tool). `views` undefined: the set is not a merger's, and every tool is checked.
   */
  const unsettledViews = (
    views: readonly ServerToolView[],
    owners: () => Map<string, Owner>,
  ): Map<string, { view: ServerToolView; byName: Map<string, Tool> }> | undefined => {
    let unsettled: Map<string, { view: ServerToolView; byName: Map<string, Tool> }> | undefined;
    for (const view of views) {
      if (view.entries.length === 0) continue;
      const owner = owners().get(view.server);
      if (owner === undefined || settled.get(view) === owner.label) continue;
      unsettled ??= new Map();
      const byName = new Map<string, Tool>();
      for (const entry of view.entries) byName.set(entry.name, entry.tool);
      unsettled.set(view.server, { view, byName });
    }
    return unsettled;
  };

  return {
    mode,

    settled(tools, servers) {
      if (mode === "off" || settledSets.get(tools) === servers) return true;
      const views = viewsOf(tools);
      if (views === undefined) return false;
      let owners: Map<string, Owner> | undefined;
      if (unsettledViews(views, () => (owners ??= ownerIndex(servers))) !== undefined) return false;
      settledSets.set(tools, servers);
      return true;
    },

    check(tools, servers, errors, caller) {
      if (mode === "off" || settledSets.get(tools) === servers) return undefined;
      let owners: Map<string, Owner> | undefined;
      const views = viewsOf(tools);
      let unsettled: Map<string, { view: ServerToolView; byName: Map<string, Tool> }> | undefined;
      if (views !== undefined) {
        unsettled = unsettledViews(views, () => (owners ??= ownerIndex(servers)));
        if (unsettled === undefined) {
          settledSets.set(tools, servers);
          return undefined;
        }
      }
      let pending: Map<Owner, { key: string; fingerprint: Fingerprint }[]> | undefined;
      const at = now();
      for (const key of Object.keys(tools)) {
        const listed = tools[key]!;
        const server = serverOf(listed);
        if (server === undefined) continue;
        const known = unsettled?.get(server);
        if (unsettled !== undefined && known === undefined) continue;
        owners ??= ownerIndex(servers);
        const owner = owners.get(server);
        if (owner === undefined) continue;
        // A tool offered under another name (a clash between servers) is a copy of its view's tool: the
        // view's own object carries the cached fingerprint and verdict.
        const name = toolNameOf(listed);
        const tool = (name === undefined ? undefined : known?.byName.get(name)) ?? listed;
        const fingerprint = fingerprintOf(tool);
        if (fingerprint === null) {
          apply(
            {
              kind: "unpinnable",
              code: "tool_changed",
              message: "the tool's definition cannot be fingerprinted (it nests too deep)",
              checkedAt: at,
            },
            key,
            { name: name ?? key, hash: "", parts: { description: "", inputSchema: "", annotations: "" }, tool },
            owner,
            tools,
            errors,
          );
          continue;
        }
        const verdict = verdicts.get(tool)?.get(owner.label);
        if (verdict?.kind === "ok") continue;
        if (verdict !== undefined && at - verdict.checkedAt < PIN_RECHECK_MS) {
          apply(verdict, key, fingerprint, owner, tools, errors);
          continue;
        }
        pending ??= new Map();
        let group = pending.get(owner);
        if (group === undefined) {
          group = [];
          pending.set(owner, group);
        }
        group.push({ key, fingerprint });
      }
      const settle = (): void => {
        if (unsettled === undefined || owners === undefined) return;
        for (const { view } of unsettled.values()) {
          const label = owners.get(view.server)?.label;
          if (label === undefined) continue;
          if (!view.entries.every((entry) => verdicts.get(entry.tool)?.get(label)?.kind === "ok")) continue;
          // A view serves one server, so one pin scope: once settled its tools' entries are not read again.
          settled.set(view, label);
          for (const entry of view.entries) {
            fingerprints.delete(entry.tool);
            verdicts.delete(entry.tool);
          }
        }
      };
      if (pending === undefined) {
        settle();
        return undefined;
      }
      const work: Promise<void>[] = [];
      for (const [owner, group] of pending) work.push(verify(owner, group, tools, errors, caller));
      return Promise.all(work).then(settle);
    },

    prepare(server, view) {
      if (mode === "off" || settled.has(view) || pinScopeOf(server) === undefined) return;
      for (const entry of view.entries) fingerprintOf(entry.tool);
    },

    async inspect(server, tools) {
      const scope = pinScopeOf(server);
      const report: PinReport = {
        server: server.name,
        pinning: mode,
        approvedBy: scope?.kind === "scope" ? "scope" : "admin",
        tools: [],
      };
      if (mode === "off" || scope === undefined) return report;
      const stored = await (store.getToolPins as NonNullable<McpStore["getToolPins"]>)(scope, server.name);
      const offered = new Set<string>();
      for (const fingerprint of serverFingerprints(server, tools, peekFingerprint)) {
        offered.add(fingerprint.name);
        const raw = stored.get(fingerprint.name);
        const pin = raw === undefined ? undefined : decodePin(raw);
        const entry: PinnedToolReport = {
          name: fingerprint.name,
          status: pin === undefined ? "unpinned" : pin.hash === fingerprint.hash ? "pinned" : "changed",
          fingerprint: fingerprint.hash,
        };
        if (pin !== undefined) {
          entry.pinnedFingerprint = pin.hash;
          if (pin.pinnedAt !== undefined) entry.pinnedAt = pin.pinnedAt;
        }
        if (entry.status === "changed" && pin !== undefined) {
          const fields = FIELDS.filter((field) => pin.parts[field] !== fingerprint.parts[field]);
          entry.changed = fields.length > 0 ? fields : [...FIELDS];
          entry.current = currentText(fingerprint.tool, entry.changed);
        }
        report.tools.push(entry);
      }
      for (const [name, raw] of stored) {
        if (offered.has(name)) continue;
        const pin = decodePin(raw);
        report.tools.push({
          name,
          status: "absent",
          ...(pin === undefined ? {} : { pinnedFingerprint: pin.hash }),
          ...(pin?.pinnedAt === undefined ? {} : { pinnedAt: pin.pinnedAt }),
        });
      }
      return report;
    },

    async approve(server, tools, names, expected) {
      const scope = pinScopeOf(server);
      if (mode === "off" || scope === undefined)
        throw new McpServerSideError("conflict", "tool pinning is off for this server");
      const offered = new Map<string, Fingerprint>();
      for (const fingerprint of serverFingerprints(server, tools, peekFingerprint))
        offered.set(fingerprint.name, fingerprint);
      const chosen: Fingerprint[] = [];
      if (names === undefined) chosen.push(...offered.values());
      else {
        const unknown = names.flatMap((name, index) =>
          offered.has(name)
            ? []
            : [{ pointer: `/tools/${index}`, detail: "the server does not offer a tool of this name" }],
        );
        if (unknown.length > 0)
          throw new McpServerSideError("invalid_request", "the approval names tools the server does not offer", {
            status: 422,
            errors: unknown,
          });
        for (const name of new Set(names)) chosen.push(offered.get(name)!);
      }
      const stale: { pointer: string; detail: string }[] = [];
      for (const [name, fingerprint] of expected ?? []) {
        if (offered.get(name)?.hash !== fingerprint)
          stale.push({
            pointer: `/fingerprints/${name.replaceAll("~", "~0").replaceAll("/", "~1")}`,
            detail: "the tool's definition is no longer the one with this fingerprint",
          });
      }
      if (stale.length > 0)
        throw new McpServerSideError(
          "conflict",
          "a tool changed again since the fingerprints given; nothing was approved",
          {
            status: 409,
            errors: stale,
          },
        );
      const at = new Date(now()).toISOString();
      const pins = new Map<string, string>();
      for (const fingerprint of chosen) pins.set(fingerprint.name, encodePin(fingerprint, at));
      await (store.setToolPins as NonNullable<McpStore["setToolPins"]>)(scope, server.name, pins, {
        replace: names === undefined,
      });
      const label = pinLabel(scope);
      // Only a verdict held (a tool of a view not settled) is updated; any other tool is checked against
      // the store on its next use, which now holds its approved pin.
      for (const fingerprint of chosen)
        if (verdicts.get(fingerprint.tool)?.has(label)) remember(fingerprint.tool, label, OK);
      return chosen.map((fingerprint) => fingerprint.name);
    },
  };
}

/**
 * Where a server's pins live: its tenant's scope for scope servers; the global tier for global servers
 * and `config` for config servers, both approved by admins. Request-tier servers are not pinned (their
 * definition comes with each request, from the caller who chose it).
 */
export function pinScopeOf(server: ResolvedServer): PinScope | undefined {
  switch (server.source) {
    case "config":
      return { kind: "config" };
    case "global":
      return { kind: "global" };
    case "scope":
      return server.scope === undefined ? undefined : { kind: "scope", id: server.scope };
    default:
      return undefined;
  }
}

function pinLabel(scope: PinScope): string {
  return scope.kind === "config" ? "config" : scopeLabel(scope);
}

function hookServerRef(server: ResolvedServer): HookServerRef {
  return { name: server.name, source: server.source, ...(server.scope === undefined ? {} : { scope: server.scope }) };
}

function serverOf(tool: Tool): string | undefined {
  const server = tool.metadata?.mcpServer;
  return typeof server === "string" ? server : undefined;
}

function toolNameOf(tool: Tool): string | undefined {
  const name = tool.metadata?.mcpTool;
  return typeof name === "string" ? name : undefined;
}

function serverFingerprints(
  server: ResolvedServer,
  tools: ToolSet,
  fingerprintOf: (tool: Tool) => Fingerprint | null,
): Fingerprint[] {
  const result: Fingerprint[] = [];
  for (const tool of Object.values(tools)) {
    if (serverOf(tool) !== server.name) continue;
    const fingerprint = fingerprintOf(tool);
    if (fingerprint !== null) result.push(fingerprint);
  }
  return result;
}

/** The definition the model gets, in the order a change report names its parts. */
function definitionParts(tool: Tool): Record<PinnedField, unknown> {
  let inputSchema: unknown = null;
  try {
    const schema = asSchema(tool.inputSchema).jsonSchema;
    // A lazily loaded schema (a promise) is not what the core builds; it counts as no schema.
    inputSchema = typeof (schema as { then?: unknown } | null)?.then === "function" ? null : schema;
  } catch {
    inputSchema = null;
  }
  return {
    description: typeof tool.description === "string" ? tool.description : null,
    inputSchema,
    annotations: tool.metadata?.mcpAnnotations ?? null,
  };
}

function computeFingerprint(tool: Tool): Fingerprint | null {
  const name = toolNameOf(tool);
  if (name === undefined) return null;
  const values = definitionParts(tool);
  try {
    const canonical = {
      description: canonicalJson(values.description),
      inputSchema: canonicalJson(values.inputSchema),
      annotations: canonicalJson(values.annotations),
    };
    const whole = `{"annotations":${canonical.annotations},"description":${canonical.description},"inputSchema":${canonical.inputSchema},"name":${JSON.stringify(name)}}`;
    return {
      name,
      hash: digest(whole),
      parts: {
        description: shortDigest(canonical.description),
        inputSchema: shortDigest(canonical.inputSchema),
        annotations: canonical.annotations === "null" ? NULL_PART_DIGEST : shortDigest(canonical.annotations),
      },
      tool,
    };
  } catch {
    return null;
  }
}

// One-shot `hash()`, not `createHash()`: a listing hashes four texts a tool, and the Hash object and
// its stream machinery cost more than hashing a short text (about half of a cold 500-tool check).
function digest(text: string): string {
  return hash("sha256", text, "base64url");
}

/**
 * The first 16 characters of `digest(text)` (12 bytes are exactly 16 base64url characters). Sliced from
 * the encoded digest: Node 20's `hash()` with a "buffer" output costs about 6 times a string one, and
 * a short digest lives only until its tool list is found pinned (or in a pin's JSON, a copy).
 */
function shortDigest(text: string): string {
  return digest(text).slice(0, 16);
}

/** The part digest of an absent part (most tools have no annotations), computed once. */
const NULL_PART_DIGEST = shortDigest("null");

/** JSON with object keys sorted at every level, so equal definitions hash equally whatever their key order. */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_CANONICAL_DEPTH) throw new RangeError("nested too deep");
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    return text === undefined ? "null" : text;
  }
  // Built by concatenation (no arrays to join): every tool of a new tool list goes through here.
  if (Array.isArray(value)) {
    let text = "[";
    for (let index = 0; index < value.length; index++)
      text += `${index === 0 ? "" : ","}${canonicalJson(value[index], depth + 1)}`;
    return `${text}]`;
  }
  let text = "{";
  let first = true;
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined || typeof item === "function") continue;
    text += `${first ? "" : ","}${JSON.stringify(key)}:${canonicalJson(item, depth + 1)}`;
    first = false;
  }
  return `${text}}`;
}

/** What a changed part says now, for a hook or a route: redacted first, then capped. */
function currentText(tool: Tool, fields: readonly PinnedField[]): Partial<Record<PinnedField, string>> {
  const values = definitionParts(tool);
  const text: Partial<Record<PinnedField, string>> = {};
  for (const field of fields) {
    const value = values[field];
    let raw: string;
    try {
      raw = typeof value === "string" ? value : canonicalJson(value);
    } catch {
      raw = "(nested too deep)";
    }
    // Redaction is linear; the slice before it only bounds the work, the one after the answer.
    const sanitized = sanitizeText(raw.slice(0, 4 * MAX_DIFF_TEXT_LENGTH));
    text[field] =
      sanitized.length > MAX_DIFF_TEXT_LENGTH ? `${sanitized.slice(0, MAX_DIFF_TEXT_LENGTH - 1)}…` : sanitized;
  }
  return text;
}

/** A pin as the store keeps it: hashes and a date, never the tool's text. */
function encodePin(fingerprint: Fingerprint, pinnedAt: string): string {
  // The JSON.stringify of { v, h, d, s, a, at }, written out: every value is base64url or an ISO date,
  // which JSON needs no escape for, and a first listing encodes one pin a tool.
  const { hash: whole, parts } = fingerprint;
  return `{"v":1,"h":"${whole}","d":"${parts.description}","s":"${parts.inputSchema}","a":"${parts.annotations}","at":"${pinnedAt}"}`;
}

function decodePin(raw: string): StoredPin | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.h !== "string") return undefined;
  const part = (key: string): string | undefined =>
    typeof record[key] === "string" ? (record[key] as string) : undefined;
  const parts: Partial<Record<PinnedField, string>> = {};
  const description = part("d");
  const inputSchema = part("s");
  const annotations = part("a");
  if (description !== undefined) parts.description = description;
  if (inputSchema !== undefined) parts.inputSchema = inputSchema;
  if (annotations !== undefined) parts.annotations = annotations;
  const pinnedAt = part("at");
  return { hash: record.h, parts, ...(pinnedAt === undefined ? {} : { pinnedAt }) };
}
