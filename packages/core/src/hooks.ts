import { createHooks, type Hookable } from "hookable";
import type { ToolSet } from "ai";
import type { EffectiveServer, ContextError } from "./types.js";

/** Where a hook's server lives, without secrets: the tier and, for tenant servers, the hashed scope. */
export interface HookServerRef {
  name: string;
  source: "config" | "global" | "scope" | "request";
  /** The scope id for scope- and request-tier servers (already hashed for API-key callers). */
  scope?: string;
}

/** The typed hook map of `mcp.hooks`. Every payload is sanitized before it reaches a hook. */
export interface McpHooks {
  /** The config tier was loaded (at creation). */
  "config:loaded": (payload: { servers: string[] }) => void | Promise<void>;
  /** A server was registered through the management routes. */
  "server:registered": (payload: {
    server: HookServerRef;
    definition: Record<string, unknown>;
  }) => void | Promise<void>;
  /** A stored server was changed through `PATCH`. */
  "server:updated": (payload: { server: HookServerRef; definition: Record<string, unknown> }) => void | Promise<void>;
  /** A stored server was removed through `DELETE`. */
  "server:removed": (payload: { server: HookServerRef }) => void | Promise<void>;
  /** A pooled connection to a server was opened. */
  "connection:open": (payload: {
    server: HookServerRef;
    transport: "stdio" | "streamable-http" | "sse";
    latencyMs: number;
  }) => void | Promise<void>;
  /** A server could not be reached, timed out, or failed while connected. */
  "connection:error": (payload: { server: HookServerRef; code: string; message: string }) => void | Promise<void>;
  /** A pooled connection was closed (idle, changed definition, removed server, shutdown). */
  "connection:close": (payload: {
    server: HookServerRef;
    reason: "idle" | "changed" | "removed" | "evicted" | "shutdown" | "error";
  }) => void | Promise<void>;
  /** The tool set of a request is ready; hooks may delete entries from `tools` to filter it. */
  "tools:resolved": (payload: {
    tools: ToolSet;
    servers: EffectiveServer[];
    errors: ContextError[];
  }) => void | Promise<void>;
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
  "tools:changed": (payload: {
    server: HookServerRef;
    /** The caller whose request saw the change (scope label, user, admin); null for an anonymous one. */
    caller: { scope: string; user?: string; admin?: boolean } | null;
    /** The request's `x-request-id`, when it sent a plain one. */
    requestId?: string;
    mode: "warn" | "block";
    changes: ToolChange[];
  }) => void | Promise<void>;
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

export interface ToolCallPayload {
  server: HookServerRef;
  /** The MCP tool's own name. */
  tool: string;
  /** The name the model sees. */
  toolName: string;
  toolCallId?: string;
}

export type McpHookable = Hookable<McpHooks>;

export function createMcpHooks(initial?: Partial<McpHooks>): McpHookable {
  const hooks = createHooks<McpHooks>();
  if (initial) {
    for (const [name, handler] of Object.entries(initial) as [keyof McpHooks, McpHooks[keyof McpHooks]][]) {
      if (typeof handler === "function") hooks.hook(name, handler);
    }
  }
  return hooks;
}
