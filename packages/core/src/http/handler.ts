import { createHmac, randomBytes } from "node:crypto";
import { isValidServerName, issuesToFieldErrors, serverNameSchema, type ServerDefinition } from "../config/schema.js";
import {
  validateDefinitionNetwork,
  validateDefinitionShape,
  validateUntrustedDefinition,
  type ValidationDeps,
} from "../config/validate.js";
import { type FieldError, McpServerSideError, type Result } from "../errors.js";
import type { Limits, Logger } from "../options.js";
import type { Engine } from "../pool/engine.js";
import type { Registry, StoredEntry } from "../registry/registry.js";
import {
  callbackResponse,
  oauthPublicFile,
  connectResponse,
  disconnectResponse,
  type OAuthRouteDeps,
  withOAuthStatus,
} from "../oauth/routes.js";
import { redactDefinition } from "../security/redact.js";
import { presentServer, scopeOf } from "../tiers/effective.js";
import type { MergedServer } from "../tiers/merge.js";
import { type CallerView, type CallerViews, resolvedFor } from "../tiers/views.js";
import type { StoreScope } from "../store/types.js";
import type { Identity, ResolvedServer } from "../types.js";
import { stampRequestId, withRequestId } from "./request-id.js";
import { type HookOrigin, hookOriginOf } from "../hooks.js";
import { readJsonBody } from "./body.js";
import type { CoreRequest } from "./kept-body.js";
import { type HealthDeps, healthResponse } from "./health.js";
import { segmentsBelow } from "./paths.js";
import { approvePinsResponse, type PinRouteDeps, pinsResponse } from "./pins.js";
import { preferenceResponse } from "./preferences.js";
import type { Preferences } from "../tiers/preferences.js";
import { jsonResponse, jsonTextResponse, problemResponse } from "./problem.js";

export interface HandlerDeps {
  basePath: string;
  limits: Limits;
  identify: (request: CoreRequest) => Promise<Identity | null>;
  registry: Registry;
  /** The callers' merged views of the stored tiers (tiers/views.ts). */
  views: CallerViews;
  config: ReadonlyMap<string, ServerDefinition>;
  validation: ValidationDeps;
  engine: Pick<Engine, "listTools" | "test">;
  logger?: Logger;
  /** The tool pinning routes (`/:name/pins`); without it they are 404. */
  pins?: PinRouteDeps;
  /** The per-user OAuth routes (`/:name/oauth/connect`, `/oauth/callback`, `/:name/oauth`); without it they are 404. */
  oauth?: OAuthRouteDeps;
  /** `GET /_health`; without it, 404. */
  health?: HealthDeps;
  /** The caller's own server switches (`PUT`/`DELETE /:name/preference`, `preference` in the list); without it, 404. */
  preferences?: Preferences;
  /**
   * The settings UI's files (`GET /ui`, `GET /ui/element.js`), given the segments below basePath;
   * undefined for any other path. Public: the files carry no data, and the UI's calls bring the app's identity.
   */
  ui?: (segments: readonly string[]) => Response | undefined;
}

type Route =
  | { kind: "list" }
  | { kind: "server"; name: string }
  | { kind: "tools"; name: string }
  | { kind: "pins"; name: string }
  | { kind: "pinsApprove"; name: string }
  | { kind: "preference"; name: string }
  | { kind: "oauthConnect"; name: string }
  | { kind: "oauth"; name: string }
  | { kind: "oauthCallback" }
  | { kind: "oauthFile"; file: string }
  | { kind: "health" }
  | { kind: "unknown" };

type RouteHandler = (context: RouteContext) => Promise<Response>;

/**
 * The management routes of SPEC §4 as a Web-standard handler; `undefined` for paths outside basePath.
 * `path` is the path the framework routed (see ./paths.ts); it defaults to the request URL's.
 */
export function createManagementHandler(
  deps: HandlerDeps,
): (request: CoreRequest, path?: string) => Promise<Response | undefined> {
  const routes: Record<Route["kind"], Partial<Record<string, RouteHandler>>> = {
    list: { GET: listServers, POST: registerServer },
    server: { GET: getServer, PATCH: updateServer, DELETE: removeServer },
    tools: { GET: listTools },
    pins: { GET: listPins },
    pinsApprove: { POST: approvePins },
    preference: { PUT: setPreference, DELETE: setPreference },
    oauthConnect: { GET: oauthConnect },
    oauth: { DELETE: oauthDisconnect },
    oauthCallback: { GET: ({ request, deps }) => oauthCallback(request, deps) },
    oauthFile: { GET: ({ deps, route }) => oauthFile(deps, route) },
    health: { GET: health },
    unknown: {},
  };
  // Routing is by method as well as path: only `POST /test` is the tester, so `test` is a name like any other.
  const methodsOf = (route: Route): Partial<Record<string, RouteHandler>> =>
    route.kind === "server" && route.name === "test" ? { ...routes.server, POST: testServer } : routes[route.kind];

  // Keys the ETags of config servers; random per instance, never stored or sent (see etagOf).
  const etagKey = randomBytes(32);

  return async (request, path = new URL(request.url).pathname) => {
    const route = matchRoute(path, deps.basePath);
    if (route === undefined) return undefined;
    // With the UI on, `GET /ui` is its page (a server named `ui` is still reachable by every other route).
    const file = deps.ui && request.method === "GET" ? deps.ui(segmentsBelow(path, deps.basePath) ?? []) : undefined;
    if (file !== undefined) return file;
    // Every answer, problem documents included, names the request (the caller's plain id, else a new one).
    const requestId = stampRequestId(request);
    const response = await answer(request, route, requestId);
    try {
      response.headers.set("x-request-id", requestId);
      return response;
    } catch {
      return withRequestId(response, requestId); // a redirect's headers are immutable
    }
  };

  async function answer(request: CoreRequest, route: Route, requestId: string): Promise<Response> {
    const methods = methodsOf(route);
    try {
      const handler = methods[request.method];
      if (route.kind === "unknown") throw new McpServerSideError("not_found", "no such route");
      if (!handler) {
        throw new McpServerSideError("invalid_request", `${request.method} is not allowed here`, { status: 405 });
      }
      // The browser returns from the authorization server without the app's API key: the state and the
      // CSRF cookie authenticate the callback (an identity, when identify finds one, must match).
      if (route.kind === "oauthCallback") return await oauthCallback(request, deps);
      // The callback page's script and the client metadata document are public (an authorization server fetches the latter).
      if (route.kind === "oauthFile") return await oauthFile(deps, route);
      // A readiness probe has no API key when the operator made the report public.
      if (route.kind === "health" && deps.health?.options.public === true) return await healthResponse(deps.health);
      const identity = await deps.identify(request);
      if (!identity)
        throw new McpServerSideError(
          "unauthorized",
          "an API key is required: send it as X-API-Key, or as a bearer token",
        );
      const origin = hookOriginOf(identity, requestId);
      return await handler({ request, identity, route, deps, etagKey, origin });
    } catch (error) {
      if (!McpServerSideError.isInstance(error) || error.status >= 500) {
        deps.logger?.error(`mcp-server-side: [${requestId}] management route failed`, error);
      }
      const headers: HeadersInit = {};
      if (McpServerSideError.isInstance(error) && error.status === 405)
        headers["allow"] = Object.keys(methods).join(", ");
      if (McpServerSideError.isInstance(error) && error.status === 401)
        headers["www-authenticate"] = 'Bearer realm="mcp-servers"';
      return problemResponse(error, headers, requestId);
    }
  }
}

interface RouteContext {
  request: CoreRequest;
  identity: Identity;
  route: Route;
  deps: HandlerDeps;
  etagKey: Uint8Array;
  /** Who asks and through which request, for the hooks. */
  origin: HookOrigin;
}

/**
 * Each segment must be a server name (percent-decoded) or `tools`: a dot segment, an empty one, an
 * encoded slash or backslash matches nothing, so no spelling reaches a route another spelling guards.
 */
function matchRoute(path: string, basePath: string): Route | undefined {
  const segments = segmentsBelow(path, basePath);
  if (segments === undefined) return undefined;
  if (segments.length === 0) return { kind: "list" };
  if (segments.length === 2 && segments[0] === "oauth" && segments[1] === "callback") return { kind: "oauthCallback" };
  if (
    segments.length === 2 &&
    segments[0] === "oauth" &&
    (segments[1] === "callback.js" || segments[1] === "client-metadata.json")
  )
    return { kind: "oauthFile", file: segments[1] };
  // `_health` is no server name (names start with a letter or digit), so it hides no `GET /:name`.
  if (segments.length === 1 && segments[0] === "_health") return { kind: "health" };
  let name: string;
  try {
    name = decodeURIComponent(segments[0] ?? "");
  } catch {
    return { kind: "unknown" };
  }
  if (!isValidServerName(name)) return { kind: "unknown" };
  if (segments.length === 1) return { kind: "server", name };
  if (segments.length === 2 && segments[1] === "tools") return { kind: "tools", name };
  if (segments.length === 2 && segments[1] === "pins") return { kind: "pins", name };
  if (segments.length === 2 && segments[1] === "oauth") return { kind: "oauth", name };
  if (segments.length === 2 && segments[1] === "preference") return { kind: "preference", name };
  if (segments.length === 3 && segments[1] === "oauth" && segments[2] === "connect")
    return { kind: "oauthConnect", name };
  if (segments.length === 3 && segments[1] === "pins" && segments[2] === "approve")
    return { kind: "pinsApprove", name };
  return { kind: "unknown" };
}

async function health({ deps, identity }: RouteContext): Promise<Response> {
  if (!deps.health) throw new McpServerSideError("not_found", "no such route");
  if (!identity.admin) throw new McpServerSideError("forbidden", "only admins can read the health report");
  return healthResponse(deps.health);
}

/** The caller's effective servers, and the one read of each stored tier they were merged from (shared, see tiers/views.ts). */
async function viewOf(deps: HandlerDeps, identity: Identity): Promise<CallerView> {
  return deps.views.view(identity);
}

async function catalogFor(deps: HandlerDeps, identity: Identity): Promise<MergedServer[]> {
  return (await viewOf(deps, identity)).merge.catalog;
}

/** `GET /mcp-servers` bodies by view: redacted and serialized once per change of the tiers, not per request. */
const listBodies = new WeakMap<CallerView, string>();

async function listServers({ deps, identity }: RouteContext): Promise<Response> {
  const [view, preferences] = await Promise.all([
    viewOf(deps, identity),
    deps.preferences?.of(identity) ?? new Map<string, boolean>(),
  ]);
  const presented = view.presentedCatalog();
  // The caller's own OAuth status and switches are per user, so such a list is put together per request.
  if ((deps.oauth !== undefined && view.hasOAuth) || preferences.size > 0) {
    const servers = await Promise.all(
      view.merge.catalog.map(async (server, index) => {
        const shown = await withOAuthStatus(presented[index]!, server, identity, deps.oauth);
        const preference = preferences.get(server.name);
        return preference === undefined ? shown : { ...shown, preference };
      }),
    );
    return jsonResponse({ servers });
  }
  let body = listBodies.get(view);
  if (body === undefined) {
    body = JSON.stringify({ servers: presented });
    listBodies.set(view, body);
  }
  return jsonTextResponse(body);
}

async function getServer({ deps, identity, route, etagKey }: RouteContext): Promise<Response> {
  // Body and ETag from one read: a write in between cannot pair an old body with the new revision.
  const view = await viewOf(deps, identity);
  const server = await pick(deps, identity, view, nameOf(route));
  const index = view.merge.catalog.indexOf(server);
  const presented = index === -1 ? presentServer(server, identity) : view.presentedCatalog()[index]!;
  const body = await withOAuthStatus(presented, server, identity, deps.oauth);
  return jsonResponse(body, 200, { etag: etagOf(view, server, etagKey) });
}

async function registerServer({ deps, identity, request, origin }: RouteContext): Promise<Response> {
  const { name, scope, ...candidate } = asObject(await readJsonBody(request, deps.limits.maxBodyBytes));
  const nameErrors = [
    ...nameErrorsOf(name),
    ...(scope === undefined || scope === "global" ? [] : [{ pointer: "/scope", detail: 'must be "global" or absent' }]),
  ];
  if (nameErrors.length > 0)
    throw new McpServerSideError("invalid_request", "the registration is invalid", { status: 422, errors: nameErrors });
  const target: StoreScope = scope === "global" ? { kind: "global" } : scopeOf(identity);
  if (target.kind === "global" && !identity.admin)
    throw new McpServerSideError("forbidden", "only admins can register global servers");
  const definition = unwrap(await validateUntrustedDefinition(candidate, deps.validation));
  const entry = await deps.registry.create(target, name as string, definition, { origin });
  return storedResponse(entry, target, 201);
}

async function updateServer({ deps, identity, request, route, origin }: RouteContext): Promise<Response> {
  const name = nameOf(route);
  const { scope, entry } = await findStored(deps, identity, name);
  const {
    name: patchedName,
    scope: patchedScope,
    ...changes
  } = asObject(await readJsonBody(request, deps.limits.maxBodyBytes));
  if ((patchedName !== undefined && patchedName !== name) || patchedScope !== undefined) {
    throw new McpServerSideError("invalid_request", "a server's name and scope cannot be changed", {
      status: 422,
      errors: [
        {
          pointer: patchedName !== undefined && patchedName !== name ? "/name" : "/scope",
          detail: "cannot be changed; register a new server instead",
        },
      ],
    });
  }
  const merged = mergePatch(entry.definition, changes);
  const definition = unwrap(await validateUntrustedDefinition(merged, deps.validation));
  // The write is conditional on the revision the patch was merged onto, If-Match or not: a concurrent
  // write in between fails this one (409, or 412 when the caller named the revision) instead of being lost.
  const conditional = ifMatch(request, entry) !== undefined;
  const updated = await deps.registry.update(scope, name, definition, entry.record, conditional, {
    origin,
    previous: entry.definition,
  });
  return storedResponse(updated, scope, 200);
}

async function removeServer({ deps, identity, request, route, origin }: RouteContext): Promise<Response> {
  const name = nameOf(route);
  const own = scopeOf(identity);
  // The caller's own server (or a record no key can open, so that a lost key is recoverable) is found in
  // its scope's tier alone; only another tier's name needs the merged view (findStored).
  const tier = await deps.registry.servers(own);
  const mine = tier.entries.get(name) ?? tier.unreadable.get(name);
  const { scope, entry } = mine ? { scope: own, entry: mine } : await findStored(deps, identity, name);
  await deps.registry.remove(scope, name, ifMatch(request, entry), {
    origin,
    ...("definition" in entry ? { previous: entry.definition } : {}),
  });
  return new Response(null, { status: 204 });
}

async function testServer({ deps, identity, request }: RouteContext): Promise<Response> {
  const body = await readJsonBody(request, deps.limits.maxBodyBytes);
  const { name, scope: _scope, ...candidate } = asObject(body);
  const nameErrors = name === undefined ? [] : nameErrorsOf(name);
  if (nameErrors.length > 0) {
    throw new McpServerSideError("invalid_request", "the server name is invalid", { status: 422, errors: nameErrors });
  }
  const definition = unwrap(validateDefinitionShape(candidate, "scope", deps.validation));
  const network = await validateDefinitionNetwork(definition, deps.validation);
  if (!network.ok) return jsonResponse({ ok: false, error: { code: network.code, message: network.message } });
  const server: ResolvedServer = {
    name: typeof name === "string" ? name : "candidate",
    source: "scope",
    definition,
    scope: identity.scope,
  };
  return jsonResponse(await deps.engine.test(server));
}

async function listTools({ deps, identity, route, origin }: RouteContext): Promise<Response> {
  const server = await findResolved(deps, identity, nameOf(route));
  return jsonResponse({ tools: await deps.engine.listTools(server, origin) });
}

async function listPins({ deps, identity, route }: RouteContext): Promise<Response> {
  if (!deps.pins) throw new McpServerSideError("not_found", "no such route");
  return pinsResponse(deps.pins, await findResolved(deps, identity, nameOf(route)));
}

async function approvePins({ deps, identity, route, request }: RouteContext): Promise<Response> {
  if (!deps.pins) throw new McpServerSideError("not_found", "no such route");
  return approvePinsResponse(deps.pins, await findResolved(deps, identity, nameOf(route)), identity, request);
}

async function setPreference({ deps, identity, route, request }: RouteContext): Promise<Response> {
  if (!deps.preferences) throw new McpServerSideError("not_found", "no such route");
  const server = await findEffective(deps, identity, nameOf(route));
  return preferenceResponse(deps.preferences, server, identity, request, deps.limits.maxBodyBytes);
}

async function oauthConnect({ deps, identity, route, request }: RouteContext): Promise<Response> {
  if (!deps.oauth) throw new McpServerSideError("not_found", "no such route");
  return connectResponse(deps.oauth, await findEffective(deps, identity, nameOf(route)), identity, request);
}

async function oauthDisconnect({ deps, identity, route }: RouteContext): Promise<Response> {
  if (!deps.oauth) throw new McpServerSideError("not_found", "no such route");
  return disconnectResponse(deps.oauth, await findEffective(deps, identity, nameOf(route)), identity);
}

async function oauthFile(deps: HandlerDeps, route: Route): Promise<Response> {
  const file = deps.oauth && route.kind === "oauthFile" ? oauthPublicFile(deps.oauth, route.file) : undefined;
  if (file === undefined) throw new McpServerSideError("not_found", "no such route");
  return file;
}

async function oauthCallback(request: CoreRequest, deps: HandlerDeps): Promise<Response> {
  if (!deps.oauth) throw new McpServerSideError("not_found", "no such route");
  return callbackResponse(deps.oauth, request, await deps.identify(request), async (pending) => {
    const identity: Identity = { scope: pending.scope, user: pending.user };
    const server = (await catalogFor(deps, identity)).find(
      (candidate) => candidate.name === pending.server && candidate.source === pending.source,
    );
    return server === undefined ? undefined : resolvedFor(server, identity);
  });
}

/** The caller's effective server as the engine connects to it (a request would get the same connection). */
async function findResolved(deps: HandlerDeps, identity: Identity, name: string): Promise<ResolvedServer> {
  // The same resolution as a request's (an OAuth server's scope and user included), so the same connection.
  return resolvedFor(await findEffective(deps, identity, name), identity);
}

async function findEffective(deps: HandlerDeps, identity: Identity, name: string): Promise<MergedServer> {
  return pick(deps, identity, await viewOf(deps, identity), name);
}

async function pick(deps: HandlerDeps, identity: Identity, view: CallerView, name: string): Promise<MergedServer> {
  const server = view.merge.catalog.find((candidate) => candidate.name === name);
  if (server) return server;
  await assertReadable(deps, identity, name);
  throw new McpServerSideError("not_found", `no server named '${name}'`);
}

/** A stored server that no key can open is named as such (a 500), not hidden behind a 404. */
async function assertReadable(deps: HandlerDeps, identity: Identity, name: string): Promise<void> {
  const scopes: StoreScope[] = identity.admin ? [scopeOf(identity), { kind: "global" }] : [scopeOf(identity)];
  for (const scope of scopes) {
    const broken = (await deps.registry.servers(scope)).unreadable.get(name);
    if (broken) throw broken.error;
  }
}

/**
 * The stored server a caller may change: its own scope's, else (for admins) the global one. A config
 * server is read-only; a global server is visible to members but not theirs to change.
 */
async function findStored(
  deps: HandlerDeps,
  identity: Identity,
  name: string,
): Promise<{ scope: StoreScope; entry: StoredEntry }> {
  const view = await viewOf(deps, identity);
  const mine = view.snapshots.scope?.entries.get(name);
  if (mine) return { scope: scopeOf(identity), entry: mine };
  const global = view.snapshots.global.entries.get(name);
  if (global && identity.admin) return { scope: { kind: "global" }, entry: global };
  // What the caller sees decides the answer, so a server hidden from it is a 404 like a missing one.
  const visible = view.merge.catalog.find((candidate) => candidate.name === name);
  if (visible?.source === "global") throw new McpServerSideError("forbidden", "only admins can change global servers");
  if (visible?.source === "config")
    throw new McpServerSideError("read_only", `'${name}' comes from the config file and is read-only`);
  await assertReadable(deps, identity, name);
  throw new McpServerSideError("not_found", `no server named '${name}'`);
}

function storedResponse(entry: StoredEntry, scope: StoreScope, status: number): Response {
  const body = {
    name: entry.record.name,
    source: scope.kind === "global" ? "global" : "scope",
    ...redactDefinition(entry.definition, { connection: true }),
    createdAt: entry.record.createdAt,
    updatedAt: entry.record.updatedAt,
  };
  return jsonResponse(body, status, { etag: `"${entry.record.revision}"` });
}

/**
 * A stored server's ETag is its revision, from the same read as its body. A config server has none:
 * its ETag is a hash of its definition keyed with this instance's random key, so a caller who sees
 * the ETag cannot test a guessed secret of the definition against it offline. (Instances differ in
 * it; a config server takes no If-Match, so that only costs a client's cache a miss.)
 */
function etagOf(view: CallerView, server: MergedServer, key: Uint8Array): string {
  const snapshot = server.source === "global" ? view.snapshots.global : view.snapshots.scope;
  const entry = server.source === "config" ? undefined : snapshot?.entries.get(server.name);
  if (entry) return `"${entry.record.revision}"`;
  return `"${createHmac("sha256", key).update(JSON.stringify(server.definition)).digest("base64url").slice(0, 22)}"`;
}

/** `If-Match`: `*` matches any current version; otherwise the strong ETag must be the current one. */
function ifMatch(request: CoreRequest, entry: Pick<StoredEntry, "record">): string | undefined {
  const header = request.headers.get("if-match");
  if (header === null) return undefined;
  const tags = header.split(",").map((tag) => tag.trim());
  if (tags.includes("*")) return entry.record.revision;
  const current = `"${entry.record.revision}"`;
  if (!tags.includes(current))
    throw new McpServerSideError("precondition_failed", "the server changed since the ETag given in If-Match");
  return entry.record.revision;
}

/** RFC 7396 JSON merge patch: `null` removes, objects merge, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> =
    typeof target === "object" && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key];
    else
      Object.defineProperty(base, key, {
        value: mergePatch(base[key], value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return base;
}

/** The body's `name` checked by the one name schema, as field errors at `/name`. */
function nameErrorsOf(name: unknown): FieldError[] {
  const parsed = serverNameSchema.safeParse(name);
  return parsed.success ? [] : issuesToFieldErrors(parsed.error.issues, "/name");
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body === "object" && body !== null && !Array.isArray(body)) return body as Record<string, unknown>;
  throw new McpServerSideError("invalid_request", "the body must be a JSON object", {
    status: 422,
    errors: [{ pointer: "", detail: "must be an object" }],
  });
}

function nameOf(route: Route): string {
  return "name" in route ? route.name : "";
}

function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new McpServerSideError(result.code, result.message, {
    status: 422,
    ...(result.errors ? { errors: result.errors } : {}),
  });
}
