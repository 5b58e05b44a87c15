import { fail, ok, type FieldError, type Result } from "../errors.js";
import type { Limits, NetworkPolicy } from "../options.js";
import { findForbiddenKeys } from "../security/json-body.js";
import { validateDefinitionHeaders } from "../security/headers.js";
import { validateRemoteUrl } from "../security/ssrf.js";
import type { Tier } from "../types.js";
import { dialectHint } from "./dialects.js";
import { findPlaceholders } from "./env.js";
import { issuesToFieldErrors, serverDefinitionSchema, type ServerDefinition } from "./schema.js";

const STDIO_FIELDS = ["command", "args", "env", "cwd"] as const;

export interface ValidationDeps {
  policy: NetworkPolicy;
  limits: Pick<Limits, "maxHeadersPerServer" | "maxHeaderValueBytes">;
}

/**
 * The checks every definition from outside the config file passes, in order, each with its own code:
 * prototype keys, stdio (`stdio_not_allowed`), placeholders (`env_placeholder_not_allowed`), the
 * schema and header rules (`invalid_request`), then the URL and every address it resolves to
 * (`invalid_url`, `blocked_address`). `pointerPrefix` locates the definition inside the body.
 */
export async function validateUntrustedDefinition(
  raw: unknown,
  deps: ValidationDeps,
  pointerPrefix = "",
): Promise<Result<ServerDefinition>> {
  const shape = validateDefinitionShape(raw, "scope", deps, pointerPrefix);
  return shape.ok ? validateDefinitionNetwork(shape.value, deps, pointerPrefix) : shape;
}

/** The network half: the URL's form and every address its host resolves to (SPEC §9). */
export async function validateDefinitionNetwork(
  definition: ServerDefinition,
  deps: Pick<ValidationDeps, "policy">,
  pointerPrefix = "",
): Promise<Result<ServerDefinition>> {
  const url = await validateRemoteUrl(definition.url, deps.policy);
  if (!url.ok) return fail(url.code, url.message, [{ pointer: `${pointerPrefix}/url`, detail: url.message }]);
  return ok(definition);
}

/** Everything but the network checks; synchronous, for every tier (the config tier skips the untrusted-only rules). */
export function validateDefinitionShape(
  raw: unknown,
  tier: Tier,
  deps: Pick<ValidationDeps, "limits">,
  pointerPrefix = "",
): Result<ServerDefinition> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return fail("invalid_request", "a server definition must be a JSON object", [
      { pointer: pointerPrefix || "/", detail: "must be an object" },
    ]);
  }
  const forbidden = findForbiddenKeys(raw, pointerPrefix);
  if (forbidden.length > 0) return fail("invalid_request", "the body holds a forbidden key", forbidden);
  if (tier !== "config") {
    const stdio = STDIO_FIELDS.filter((field) => field in raw);
    if (stdio.length > 0) {
      return fail(
        "stdio_not_allowed",
        "stdio servers can only come from the operator's config file",
        stdio.map((field) => ({ pointer: `${pointerPrefix}/${field}`, detail: "stdio servers are not allowed here" })),
      );
    }
    const placeholders = findPlaceholders(raw);
    if (placeholders.length > 0) {
      return fail(
        "env_placeholder_not_allowed",
        "placeholders such as ${VAR} are only resolved in the operator's config file",
        placeholders.map((error) => ({ ...error, pointer: pointerPrefix + error.pointer })),
      );
    }
  }
  const parsed = serverDefinitionSchema.safeParse(raw);
  if (!parsed.success)
    return fail(
      "invalid_request",
      "the server definition is invalid",
      withDialectHints(issuesToFieldErrors(parsed.error.issues, pointerPrefix), pointerPrefix),
    );
  const headerErrors = definitionHeaderErrors(parsed.data, deps.limits, pointerPrefix, tier);
  if (headerErrors.length > 0) return fail("invalid_request", "the server's headers are invalid", headerErrors);
  return ok(parsed.data);
}

/** An unknown top-level field that another client's config uses (`serverUrl`, `disabled`, …) is named with its canonical field. */
function withDialectHints(errors: FieldError[], pointerPrefix: string): FieldError[] {
  return errors.map((error) => {
    const field = error.pointer.startsWith(`${pointerPrefix}/`) ? error.pointer.slice(pointerPrefix.length + 1) : "";
    const hint = field.includes("/") ? undefined : dialectHint(field);
    return hint === undefined || !error.detail.startsWith("unknown field")
      ? error
      : { ...error, detail: `${error.detail} (${hint})` };
  });
}

/** Plain headers, auth headers and a bearer token together (security/headers); the config tier may send metadata gate headers. */
function definitionHeaderErrors(
  definition: ServerDefinition,
  limits: ValidationDeps["limits"],
  pointerPrefix: string,
  tier: Tier,
): FieldError[] {
  return validateDefinitionHeaders(definition, pointerPrefix, limits, { trusted: tier === "config" });
}
