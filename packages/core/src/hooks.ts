import { createHooks, type Hookable } from "hookable";
import type { ToolSet } from "ai";
import { sanitizeText } from "./security/redact.js";
import { scopeLabel } from "./store/keys.js";
import type { EffectiveServer, ContextError, Identity } from "./types.js";

/** Who caused a hook: the caller's scope label (the hashed scope), user and admin flag. */
export interface HookCaller {
  scope: string;
  user?: string;
  admin?: boolean;
}

/**
 * Who and which request a hook payload comes from. `caller` is null for an anonymous caller and for
 * what the instance does on its own (start-up, warmup, idle connections); `requestId` is the request's
 * `x-request-id` (the caller's own when it sent a plain token, else a generated one).
 */
export interface HookOrigin {
  caller: HookCaller | null;
  requestId?: string;
}

/** The origin of what the instance does on its own. */
export const INSTANCE_ORIGIN: HookOrigin = Object.freeze({ caller: null });

/** The hook form of an identity: the scope as its label (never a raw key), the user sanitized and capped. */
export function hookCallerOf(identity: Identity | null): HookCaller | null {
  if (identity === null) return null;
  return {
    scope: scopeLabel({ kind: "scope", id: identity.scope }),
    ...(identity.user === undefined ? {} : { user: sanitizeText(identity.user.slice(0, 256)) }),
    ...(identity.admin ? { admin: true } : {}),
  };
}

/** The origin of a request's hooks. */
export function hookOriginOf(identity: Identity | null, requestId: string | undefined): HookOrigin {
  return { caller: hookCallerOf(identity), ...(requestId === undefined ? {} : { requestId }) };
}

/** Where a hook's server lives, without secrets: the tier and, for tenant servers, the hashed scope. */
export interface HookServerRef {
  name: string;
  source: "config" | "global" | "scope" | "request";
  /** The scope id for scope- and request-tier servers (already hashed for API-key callers). */
  scope?: string;
}

/**
 * The typed hook map of `mcp.hooks`. Every payload is sanitized before it reaches a hook, and every
 * payload carries its origin (`caller`, `requestId`: see `HookOrigin`), so an audit log is a few lines.
 */
export interface McpHooks {
  /** The config tier was loaded (at creation; `caller` is null). */
  "config:loaded": (payload: HookOrigin & { servers: string[] }) => void | Promise<void>;
  /** A server was registered through the management routes, by `caller`. */
  "server:registered": (payload: HookOrigin & ServerChange) => void | Promise<void>;
  /** A stored server was changed through `PATCH`, by `caller`; `changed` names the top-level fields that differ. */
  "server:updated": (payload: HookOrigin & ServerChange & { changed: string[] }) => void | Promise<void>;
  /** A stored server was removed through `DELETE`, by `caller`; `definition` is what it was (redacted). */
  "server:removed": (payload: HookOrigin & ServerChange) => void | Promise<void>;
  /** A pooled connection to a server was opened (a pool event: `caller` is null). */
  "connection:open": (
    payload: HookOrigin & {
      server: HookServerRef;
      transport: "stdio" | "streamable-http" | "sse";
      latencyMs: number;
    },
  ) => void | Promise<void>;
  /** A server could not be reached, timed out, or failed while connected; `caller` is the request that met it. */
  "connection:error": (
    payload: HookOrigin & { server: HookServerRef; code: string; message: string },
  ) => void | Promise<void>;
  /** A pooled connection was closed (idle, changed definition, removed server, shutdown; `caller` is null). */
  "connection:close": (
    payload: HookOrigin & {
      server: HookServerRef;
      reason: "idle" | "changed" | "removed" | "evicted" | "shutdown" | "error";
    },
  ) => void | Promise<void>;
  /** The tool set of a request is ready; hooks may delete entries from `tools` to filter it. */
  "tools:resolved": (
    payload: HookOrigin & {
      tools: ToolSet;
      servers: EffectiveServer[];
      errors: ContextError[];
    },
  ) => void | Promise<void>;
  /**
   * Before a tool runs: set `payload.veto` to a reason to refuse the call (the model gets an error
   * result), or replace `payload.arguments` to change what is sent.
   */
  "tool:before-call": (
    payload: ToolCallPayload & { arguments: Record<string, unknown>; veto?: string },
  ) => void | Promise<void>;
  /** After a tool answered (also for `isError` results). */
  "tool:after-call": (payload: ToolCallPayload & { durationMs: number; isError: boolean }) => void | Promise<void>;
  /** A tool call failed (timeout, transport error, veto). */
  "tool:error": (payload: ToolCallPayload & { code: string; message: string }) => void | Promise<void>;
  /**
   * A pinned tool's definition changed (SPEC §8 tool pinning): announced once per change and process,
   * by the request that first saw it. With `mode: "block"` the changed tools are left out until approved
   * through `POST /:name/pins/approve`. The payload holds hashes and the changed parts' current text,
   * redacted and capped; the pinned text is not kept anywhere (the store holds hashes only).
   */
  "tools:changed": (
    payload: HookOrigin & {
      server: HookServerRef;
      mode: "warn" | "block";
      changes: ToolChange[];
    },
  ) => void | Promise<void>;
}

/** A change through the management routes: the server, and its definition redacted (secrets as `has*` flags). */
export interface ServerChange {
  server: HookServerRef;
  definition: Record<string, unknown>;
}

/** One changed tool in a `tools:changed` payload. */
export interface ToolChange {
  /** The MCP tool's own name. */
  tool: string;
  /** Which parts of the definition differ from the pinned one. */
  fields: ("description" | "inputSchema" | "annotations")[];
  /** Hash of the definition offered now. */
  fingerprint: string;
  /** Hash of the pinned (approved or first seen) definition. */
  pinnedFingerprint: string;
  /** What the changed parts say now (schemas and annotations as canonical JSON), redacted, at most 2 KiB each. */
  current: Partial<Record<"description" | "inputSchema" | "annotations", string>>;
}

/** A tool call's hook payload; `caller` and `requestId` are those of the request whose tool set made the call. */
export interface ToolCallPayload extends HookOrigin {
  server: HookServerRef;
  /** The MCP tool's own name. */
  tool: string;
  /** The name the model sees. */
  toolName: string;
  toolCallId?: string;
}

export type McpHookable = Hookable<McpHooks>;

/** Whether any of `names` has a handler (see `hasHandler`). */
export function hasHandlers(hooks: McpHookable, names: readonly (keyof McpHooks)[]): boolean {
  for (const name of names) if (hasHandler(hooks, name)) return true;
  return false;
}

/**
 * Whether a hook call of `name` would reach anyone: a handler of it, or a `beforeEach`/`afterEach`
 * observer. Read per call, so a handler registered later is seen by the next call. When hookable's
 * table cannot be read (another version), it answers true: the caller does the work rather than lose
 * a payload.
 */
export function hasHandler(hooks: McpHookable, name: keyof McpHooks): boolean {
  const internals = hooks as unknown as { _hooks?: unknown; _before?: unknown; _after?: unknown };
  const table = internals._hooks;
  if (typeof table !== "object" || table === null || observes(internals._before) || observes(internals._after))
    return true;
  const handlers = (table as Record<string, unknown>)[name];
  return handlers !== undefined && (!Array.isArray(handlers) || handlers.length > 0);
}

/** A `beforeEach`/`afterEach` list that has an observer (hookable leaves an empty array once they are removed). */
const observes = (list: unknown): boolean => list !== undefined && (!Array.isArray(list) || list.length > 0);

export function createMcpHooks(initial?: Partial<McpHooks>): McpHookable {
  const hooks = createHooks<McpHooks>();
  if (initial) {
    for (const [name, handler] of Object.entries(initial) as [keyof McpHooks, McpHooks[keyof McpHooks]][]) {
      if (typeof handler === "function") hooks.hook(name, handler);
    }
  }
  return hooks;
}
