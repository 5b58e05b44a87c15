import type { ToolSet } from "ai";
import { z } from "zod";
import type { KeyRing } from "../security/crypto.js";
import type { ContextError } from "../types.js";

/**
 * Tools that need approval (`tools.requireApproval` in a definition, `require_approval` in a
 * Responses API `mcp` tool) and what asking for it takes.
 *
 * Chat Completions has no way to ask: such tools are not offered there, and each one left out is
 * reported. The Responses API asks with an `mcp_approval_request` item whose id is a sealed token
 * (AES-GCM under the instance's encryption key, bound to the caller's scope) holding the call itself.
 * A follow-up `mcp_approval_response` names that id, so no server-side state is needed: the call
 * that runs is the one the model proposed to this caller, with its arguments unchanged, and any
 * worker sharing the key can run it.
 */

/** How long an approval request can be answered. */
export const APPROVAL_TTL_MS = 60 * 60 * 1000;

/** The prefix of every approval request id (OpenAI's own ids start with `mcpr_` as well). */
export const APPROVAL_ID_PREFIX = "mcpr_";

/** Arguments above this size are not sealed into an id: the call is refused as too large to approve. */
export const MAX_APPROVAL_ARGUMENTS_LENGTH = 64 * 1024;

/** What an approval request id holds. */
export interface ApprovalCall {
  /** The MCP server (the `server_label` the caller sees). */
  server: string;
  /** The MCP tool's own name. */
  tool: string;
  /** The arguments as the model wrote them (JSON text). */
  arguments: string;
  /** The id the call gets in the model's history once it is answered. */
  callId: string;
}

const sealedSchema = z.strictObject({
  v: z.literal(1),
  server: z.string(),
  tool: z.string(),
  arguments: z.string().max(MAX_APPROVAL_ARGUMENTS_LENGTH),
  callId: z.string(),
  expires: z.number(),
});

export interface ApprovalSeal {
  seal(call: ApprovalCall, scope: string): string;
  /** The call an id holds, or `undefined` for an id this instance did not issue to this scope, or an expired one. */
  open(id: string, scope: string): ApprovalCall | undefined;
}

export function createApprovalSeal(ring: KeyRing, now: () => number = Date.now): ApprovalSeal {
  const aad = (scope: string): string => `mcp-approval-request:${scope}`;
  return {
    seal(call, scope) {
      const payload = JSON.stringify({ v: 1, ...call, expires: now() + APPROVAL_TTL_MS });
      return `${APPROVAL_ID_PREFIX}${ring.encrypt(payload, aad(scope))}`;
    },
    open(id, scope) {
      if (!id.startsWith(APPROVAL_ID_PREFIX) || id.length > 2 * MAX_APPROVAL_ARGUMENTS_LENGTH) return undefined;
      let payload: unknown;
      try {
        payload = JSON.parse(ring.decrypt(id.slice(APPROVAL_ID_PREFIX.length), aad(scope)));
      } catch {
        return undefined;
      }
      const parsed = sealedSchema.safeParse(payload);
      if (!parsed.success || parsed.data.expires < now()) return undefined;
      const { server, tool, arguments: args, callId } = parsed.data;
      return { server, tool, arguments: args, callId };
    },
  };
}

/** The MCP server and tool behind an AI SDK tool of the request (set where MCP tools are built). */
export function mcpOrigin(tool: unknown): { server: string; tool: string } | undefined {
  const metadata = (tool as { metadata?: { mcpServer?: unknown; mcpTool?: unknown } } | undefined)?.metadata;
  return typeof metadata?.mcpServer === "string" && typeof metadata.mcpTool === "string"
    ? { server: metadata.mcpServer, tool: metadata.mcpTool }
    : undefined;
}

export function needsApproval(tool: unknown): boolean {
  const flag = (tool as { needsApproval?: unknown } | undefined)?.needsApproval;
  // A function decides per call; only the Responses API can ask, so it counts as needing approval.
  return flag === true || typeof flag === "function";
}

/** The request's MCP tools without the ones that need approval, each left out reported (Chat Completions). */
export function withoutApprovalTools(tools: ToolSet): { tools: ToolSet; errors: ContextError[] } {
  const kept: ToolSet = Object.create(null);
  const errors: ContextError[] = [];
  for (const [name, tool] of Object.entries(tools)) {
    if (!needsApproval(tool)) {
      kept[name] = tool;
      continue;
    }
    const origin = mcpOrigin(tool);
    errors.push({
      code: "approval_required",
      message:
        "This tool needs approval before each call, which Chat Completions cannot ask for; it is offered on the Responses API (POST /v1/responses) only.",
      ...(origin === undefined ? {} : { server: origin.server }),
      tool: name,
    });
  }
  return { tools: kept, errors };
}
