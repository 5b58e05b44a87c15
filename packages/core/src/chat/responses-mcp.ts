import type { ToolSet } from "ai";
import type { ContextError } from "../types.js";
import { mcpOrigin } from "./approval.js";
import type { ResponsesMcpTool, ResponsesRequest } from "./responses-schema.js";

/**
 * The Responses API's own MCP tool (`{ type: "mcp", server_label, server_url, … }`) as a request-tier
 * server, so that an app written for OpenAI's hosted MCP tool works here unchanged, under exactly the
 * rules of `mcp_servers`: the request context validates it (SSRF, header rules, locks) and reports
 * what it refuses in `errors` instead of failing the request.
 */

export interface McpToolServers {
  /** `mcp_servers` with the MCP tools added, `undefined` when the request has neither. */
  servers: Record<string, unknown> | undefined;
  /** `mcp_select` as the request context reads it. */
  select: string[] | undefined;
  /** The labels the request's MCP tools name. */
  labels: string[];
  /** Per label, the tools `require_approval.never` exempts from approval. */
  exempt: Map<string, Set<string>>;
}

/** An error naming the tool entry, for a 400. */
export interface McpToolError {
  pointer: string;
  detail: string;
}

export function mcpToolsAsServers(
  request: Pick<ResponsesRequest, "tools" | "mcp_servers" | "mcp_select">,
): { ok: true; value: McpToolServers } | { ok: false; error: McpToolError } {
  const servers: Record<string, unknown> = { ...(request.mcp_servers ?? {}) };
  const exempt = new Map<string, Set<string>>();
  const labels: string[] = [];
  for (const [index, tool] of (request.tools ?? []).entries()) {
    if (tool.type !== "mcp") continue;
    if (tool.server_url == null) {
      return {
        ok: false,
        error: {
          pointer: `/tools/${index}/server_url`,
          detail: "is required: OpenAI's connectors (connector_id) are not available on this server",
        },
      };
    }
    const approval = approvalOf(tool);
    if (approval.exempt.size > 0) exempt.set(tool.server_label, approval.exempt);
    servers[tool.server_label] = {
      url: tool.server_url,
      ...(tool.headers == null ? {} : { headers: tool.headers }),
      ...(tool.authorization == null ? {} : { auth: { type: "bearer", token: tool.authorization } }),
      ...(tool.server_description == null ? {} : { description: tool.server_description }),
      tools: {
        ...(tool.allowed_tools == null ? {} : { allow: allowedNames(tool.allowed_tools) }),
        ...(approval.requireApproval.length === 0 ? {} : { requireApproval: approval.requireApproval }),
      },
    };
    labels.push(tool.server_label);
  }
  const optsOut = request.mcp_servers != null && Object.keys(request.mcp_servers).length === 0;
  // `mcp_servers: {}` opts out of every other tier's server; the request's own MCP tools still count.
  const select = optsOut && labels.length > 0 ? [...(request.mcp_select ?? []), ...labels] : request.mcp_select;
  return {
    ok: true,
    value: {
      servers: request.mcp_servers == null && labels.length === 0 ? undefined : servers,
      select: select ?? undefined,
      labels,
      exempt,
    },
  };
}

function allowedNames(allowed: NonNullable<ResponsesMcpTool["allowed_tools"]>): string[] {
  return Array.isArray(allowed) ? allowed : (allowed.tool_names ?? []);
}

/**
 * OpenAI asks for approval unless told otherwise (`require_approval` absent means `"always"`), and so
 * does this server. In the object form, tools named in `never` run without asking; unlisted tools
 * ask, except when only `always` is given (then exactly those ask).
 */
function approvalOf(tool: ResponsesMcpTool): { requireApproval: string[]; exempt: Set<string> } {
  const setting = tool.require_approval ?? "always";
  if (setting === "never") return { requireApproval: [], exempt: new Set() };
  if (setting === "always") return { requireApproval: ["*"], exempt: new Set() };
  const always = setting.always?.tool_names ?? [];
  const never = setting.never?.tool_names ?? [];
  if (setting.never == null && setting.always != null) return { requireApproval: always, exempt: new Set() };
  return { requireApproval: ["*"], exempt: new Set(never.filter((name) => !always.includes(name))) };
}

/** The request's tools with `require_approval.never` applied (a copy of each exempted tool, never the shared one). */
export function applyApprovalExemptions(tools: ToolSet, exempt: ReadonlyMap<string, ReadonlySet<string>>): ToolSet {
  if (exempt.size === 0) return tools;
  const out: ToolSet = Object.assign(Object.create(null), tools);
  for (const [name, tool] of Object.entries(tools)) {
    const origin = mcpOrigin(tool);
    if (origin !== undefined && exempt.get(origin.server)?.has(origin.tool) === true) {
      out[name] = { ...tool, needsApproval: false } as typeof tool;
    }
  }
  return out;
}

/** An `mcp_list_tools` output item. */
export interface McpListToolsItem {
  type: "mcp_list_tools";
  id: string;
  server_label: string;
  tools: { name: string; description?: string; input_schema: unknown; annotations?: Record<string, unknown> }[];
  error?: string;
}

/**
 * One `mcp_list_tools` item per server whose tools the request got, and per requested MCP tool whose
 * server was refused or failed (with its reason in `error`). Servers the input already lists are
 * skipped, as OpenAI skips them on a follow-up.
 */
export function listToolsItems(
  tools: ToolSet,
  labels: readonly string[],
  errors: readonly ContextError[],
  alreadyListed: ReadonlySet<string>,
): McpListToolsItem[] {
  const byServer = new Map<string, McpListToolsItem["tools"]>();
  for (const tool of Object.values(tools)) {
    const origin = mcpOrigin(tool);
    if (origin === undefined) continue;
    const list = byServer.get(origin.server) ?? [];
    byServer.set(origin.server, list);
    const annotations = (tool as { metadata?: { mcpAnnotations?: unknown } }).metadata?.mcpAnnotations;
    list.push({
      name: origin.tool,
      ...(typeof tool.description === "string" ? { description: tool.description } : {}),
      input_schema: schemaOf(tool.inputSchema),
      ...(typeof annotations === "object" && annotations !== null
        ? { annotations: annotations as Record<string, unknown> }
        : {}),
    });
  }
  const items: McpListToolsItem[] = [];
  for (const [server, list] of byServer) {
    if (!alreadyListed.has(server))
      items.push({ type: "mcp_list_tools", id: itemId("mcpl"), server_label: server, tools: list });
  }
  for (const label of labels) {
    if (byServer.has(label) || alreadyListed.has(label)) continue;
    const reason = errors.find((error) => error.server === label);
    items.push({
      type: "mcp_list_tools",
      id: itemId("mcpl"),
      server_label: label,
      tools: [],
      error: reason === undefined ? "The server offered no tools." : `${reason.code}: ${reason.message}`,
    });
  }
  return items;
}

/** The JSON Schema of an AI SDK tool's input (`jsonSchema()` keeps it on `.jsonSchema`). */
function schemaOf(schema: unknown): unknown {
  const json = (schema as { jsonSchema?: unknown } | undefined)?.jsonSchema;
  return json ?? { type: "object", properties: {} };
}

/** An output item id in OpenAI's style: a type prefix and random hex. */
export function itemId(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "")}`;
}
