import { createMcpServerSide } from "./create.js";
import { isJsonContentType } from "./http/body.js";
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

/**
 * The overrides of a body the adapter reads only on demand: a body not labelled JSON is not read and
 * is no override, and one that does not parse is none either (the app's route answers for its body).
 */
export async function overridesFromJsonRequest(
  contentType: string | null | undefined,
  read: () => Promise<unknown>,
): Promise<RequestOverrides | undefined> {
  if (!isJsonContentType(contentType)) return undefined;
  return overridesFromBody(await read().catch(() => undefined));
}

export { pathOf } from "./http/paths.js";
