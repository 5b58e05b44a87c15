import { z } from "zod";
import { issuesToFieldErrors } from "../config/schema.js";
import { McpServerSideError } from "../errors.js";
import type { Engine } from "../pool/engine.js";
import type { ToolPinning } from "../tools/pinning.js";
import type { ContextError, Identity, ResolvedServer } from "../types.js";
import { readJsonBody } from "./body.js";
import type { CoreRequest } from "./kept-body.js";
import { jsonResponse } from "./problem.js";

/**
 * The tool pinning routes (SPEC §4, §8):
 * - `GET /:name/pins`: the server's pinned fingerprints and pending changes for the caller's pin scope;
 * - `POST /:name/pins/approve` `{ "tools"?: string[], "fingerprints"?: { [tool]: string } }`: approves the
 *   definitions the server offers now (all of them when `tools` is absent); with `fingerprints`, only if
 *   those tools still have the fingerprints the approver reviewed (409 otherwise). Config and global
 *   servers are approved by admins, for everyone.
 * The routing layer finds the caller's effective server; this module does the rest.
 */

export interface PinRouteDeps {
  pinning: ToolPinning;
  engine: Pick<Engine, "tools">;
  maxBodyBytes: number;
}

/** At most this many names in one approval (a server offers at most `maxToolsPerServer` tools anyway). */
const MAX_APPROVAL_NAMES = 1024;

const approvalSchema = z
  .object({
    tools: z
      .array(z.string().min(1).max(256))
      .max(MAX_APPROVAL_NAMES, `at most ${MAX_APPROVAL_NAMES} tool names`)
      .optional(),
    /** Tool name → the fingerprint the approver reviewed: the approval fails (409) if a tool changed since. */
    fingerprints: z
      .record(z.string().min(1).max(256), z.string().min(1).max(64))
      .refine((value) => Object.keys(value).length <= MAX_APPROVAL_NAMES, `at most ${MAX_APPROVAL_NAMES} fingerprints`)
      .optional(),
  })
  .strict();

export async function pinsResponse(deps: PinRouteDeps, server: ResolvedServer): Promise<Response> {
  const tools = await offeredTools(deps, server);
  return jsonResponse(await deps.pinning.inspect(server, tools));
}

export async function approvePinsResponse(
  deps: PinRouteDeps,
  server: ResolvedServer,
  identity: Identity,
  request: CoreRequest,
): Promise<Response> {
  const parsed = approvalSchema.safeParse(await readJsonBody(request, deps.maxBodyBytes));
  if (!parsed.success)
    throw new McpServerSideError("invalid_request", "the approval is invalid", {
      status: 422,
      errors: issuesToFieldErrors(parsed.error.issues),
    });
  // A tenant trusts its own servers; config and global servers are everyone's, so an admin decides.
  if (server.source !== "scope" && !identity.admin)
    throw new McpServerSideError("forbidden", "only admins can approve tool changes of config and global servers");
  if (deps.pinning.mode === "off") throw new McpServerSideError("conflict", "tool pinning is off for this instance");
  const tools = await offeredTools(deps, server);
  const { fingerprints } = parsed.data;
  const expected = fingerprints === undefined ? undefined : new Map(Object.entries(fingerprints));
  const approved = await deps.pinning.approve(server, tools, parsed.data.tools, expected);
  return jsonResponse({ approved });
}

/** The server's tools as a request gets them (the same objects, so fingerprints agree); 502 when it is down. */
async function offeredTools(
  deps: PinRouteDeps,
  server: ResolvedServer,
): Promise<Parameters<ToolPinning["inspect"]>[1]> {
  const errors: ContextError[] = [];
  const tools = await deps.engine.tools([server], errors);
  if (Object.keys(tools).length === 0) {
    const reason = errors.find((error) => error.server === server.name);
    if (reason !== undefined)
      throw new McpServerSideError(
        "upstream_error",
        `the MCP server '${server.name}' is unavailable: ${reason.code}: ${reason.message}`,
      );
  }
  return tools;
}
