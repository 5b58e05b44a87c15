import type { HookOrigin, McpHookable } from "@mcp-server-side/core";

/** One line of the audit log. */
export interface AuditEntry {
  time: string;
  event: string;
  /** The request's `x-request-id` (the caller's own, or the one the answer carried). */
  requestId?: string;
  /** Scope label, user and admin flag; null for what the instance did on its own. */
  caller: HookOrigin["caller"];
  server?: string;
  tier?: string;
  [detail: string]: unknown;
}

/**
 * The audit log: a few hooks, each writing one JSON line. Payloads come sanitized (secrets redacted);
 * tool arguments are left out on purpose, only their names are logged, since they may hold a
 * user's data. Returns a function that unregisters every hook.
 */
export function auditLog(
  hooks: McpHookable,
  write: (line: string) => void,
  now: () => Date = () => new Date(),
): () => void {
  const log = (event: string, origin: HookOrigin, details: Record<string, unknown>): void => {
    const entry: AuditEntry = {
      time: now().toISOString(),
      event,
      ...(origin.requestId === undefined ? {} : { requestId: origin.requestId }),
      caller: origin.caller,
      ...details,
    };
    write(`${JSON.stringify(entry)}\n`);
  };
  const unregister = [
    hooks.hook("server:registered", (p) =>
      log("server.registered", p, { server: p.server.name, tier: p.server.source, definition: p.definition }),
    ),
    hooks.hook("server:updated", (p) =>
      log("server.updated", p, { server: p.server.name, tier: p.server.source, changed: p.changed }),
    ),
    hooks.hook("server:removed", (p) => log("server.removed", p, { server: p.server.name, tier: p.server.source })),
    hooks.hook("tool:before-call", (p) =>
      log("tool.called", p, { server: p.server.name, tool: p.tool, argumentNames: Object.keys(p.arguments) }),
    ),
    hooks.hook("tool:after-call", (p) =>
      log("tool.answered", p, {
        server: p.server.name,
        tool: p.tool,
        isError: p.isError,
        durationMs: Math.round(p.durationMs),
      }),
    ),
    hooks.hook("tool:error", (p) => log("tool.failed", p, { server: p.server.name, tool: p.tool, code: p.code })),
    hooks.hook("connection:error", (p) => log("server.unreachable", p, { server: p.server.name, code: p.code })),
    hooks.hook("tools:changed", (p) =>
      log("tools.changed", p, { server: p.server.name, mode: p.mode, tools: p.changes.map((change) => change.tool) }),
    ),
  ];
  return () => {
    for (const off of unregister) off();
  };
}
