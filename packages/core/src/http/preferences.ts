import { availabilityOf } from "../config/schema.js";
import { McpServerSideError } from "../errors.js";
import type { MergedServer } from "../tiers/merge.js";
import type { Preferences } from "../tiers/preferences.js";
import type { Identity } from "../types.js";
import { readJsonBody } from "./body.js";
import type { CoreRequest } from "./kept-body.js";
import { jsonResponse } from "./problem.js";

/**
 * `PUT /:name/preference` with `{ "enabled": boolean }`: the caller switches a `default_on` server off
 * or a `default_off` server on for itself; `DELETE /:name/preference` goes back to the server's
 * availability. A `force_on` server has no switch. Answers `{ name, preference }` (null once removed).
 */
export async function preferenceResponse(
  preferences: Preferences,
  server: MergedServer,
  identity: Identity,
  request: CoreRequest,
  maxBodyBytes: number,
): Promise<Response> {
  const set = preferences.set;
  if (set === undefined) throw new McpServerSideError("not_found", "this store keeps no preferences");
  let enabled: boolean | null = null;
  if (request.method === "PUT") {
    const body = await readJsonBody(request, maxBodyBytes);
    const value = typeof body === "object" && body !== null ? (body as Record<string, unknown>).enabled : undefined;
    if (typeof value !== "boolean")
      throw new McpServerSideError("invalid_request", "the preference is invalid", {
        status: 422,
        errors: [{ pointer: "/enabled", detail: "must be true or false" }],
      });
    enabled = value;
  }
  if (availabilityOf(server.definition) === "force_on")
    throw new McpServerSideError("invalid_request", `'${server.name}' is always on`, {
      status: 422,
      errors: [{ pointer: "/enabled", detail: "a force_on server cannot be switched" }],
    });
  await set(identity, server.name, enabled);
  return enabled === null
    ? new Response(null, { status: 204 })
    : jsonResponse({ name: server.name, preference: enabled });
}
