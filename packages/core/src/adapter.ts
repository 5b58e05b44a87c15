import { createMcpServerSide } from "./create.js";
import type { McpServerSideOptions } from "./options.js";
import type { McpServerSide, RequestOverrides } from "./types.js";

/** True for an object that behaves as an `McpServerSide` instance (duck-typed, so copies of core work too). */
export function isMcpServerSide(value: unknown): value is McpServerSide {
  const candidate = value as Partial<McpServerSide> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.handle === "function" &&
    typeof candidate.forRequest === "function"
  );
}

/** What every adapter accepts: options to create an instance with, or an instance to share between apps. */
export function toMcpServerSide(input: McpServerSideOptions | McpServerSide): McpServerSide {
  return isMcpServerSide(input) ? input : createMcpServerSide(input);
}

/** `mcp_servers` and `mcp_select` of a parsed JSON body; own fields only, anything else is no override. */
export function overridesFromBody(body: unknown): RequestOverrides | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const fields = body as Record<string, unknown>;
  return {
    servers: Object.hasOwn(fields, "mcp_servers") ? fields["mcp_servers"] : undefined,
    select: Object.hasOwn(fields, "mcp_select") ? fields["mcp_select"] : undefined,
  };
}
