import { McpServerSideError } from "../errors.js";
import type { MergedServer } from "../tiers/merge.js";
import type { EffectiveServer, Identity, ResolvedServer } from "../types.js";
import type { OAuthManager } from "./manager.js";
import type { PendingRecord } from "./records.js";

/** What the management handler needs for the OAuth routes (SPEC §4, §7). */
export interface OAuthRouteDeps {
  manager: OAuthManager;
  /** Where the callback sends the browser (the operator's `oauth.returnTo`); a small page otherwise. */
  returnTo?: string;
  /** The origin `returnTo` is resolved against (that of `oauth.redirectUri`). */
  redirectUri?: string;
}

/** A merged server as the engine (and the OAuth manager) sees it for this caller. */
export function resolvedFor(server: MergedServer, identity: Identity): ResolvedServer {
  const resolved: ResolvedServer = { name: server.name, source: server.source, definition: server.definition };
  // OAuth records are per caller scope and user, whatever tier the server comes from.
  if (server.source === "scope" || server.source === "request" || server.definition.auth?.type === "oauth2")
    resolved.scope = identity.scope;
  if (identity.user !== undefined) resolved.user = identity.user;
  return resolved;
}

/** The caller's OAuth status in place of (or on top of) the server's auth summary; never a token. */
export async function withOAuthStatus(
  presented: EffectiveServer,
  server: MergedServer,
  identity: Identity,
  oauth: OAuthRouteDeps | undefined,
): Promise<EffectiveServer> {
  if (oauth === undefined || server.definition.auth?.type !== "oauth2") return presented;
  const status = await oauth.manager.status(resolvedFor(server, identity));
  const summary = typeof presented.auth === "object" && presented.auth !== null ? presented.auth : {};
  return { ...presented, auth: { ...summary, ...status } };
}

/** `GET /:name/oauth/connect`: a redirect to the authorization server, or `{ authorizationUrl }` with `?mode=json`. */
export async function connectResponse(
  oauth: OAuthRouteDeps,
  server: MergedServer,
  identity: Identity,
  request: Request,
): Promise<Response> {
  if (server.definition.auth?.type !== "oauth2")
    throw new McpServerSideError("invalid_request", `'${server.name}' does not use OAuth`, { status: 400 });
  if (identity.user === undefined || identity.user === "")
    throw new McpServerSideError(
      "user_required",
      "connecting an OAuth server needs a user: identify() must return one",
    );
  const { authorizationUrl, cookie } = await oauth.manager.start(resolvedFor(server, identity));
  const headers = new Headers({ "set-cookie": cookie, "cache-control": "no-store" });
  if (new URL(request.url).searchParams.get("mode") === "json") {
    headers.set("content-type", "application/json; charset=utf-8");
    return new Response(JSON.stringify({ authorizationUrl }), { status: 200, headers });
  }
  headers.set("location", authorizationUrl);
  return new Response(null, { status: 302, headers });
}

/**
 * `GET /oauth/callback`: the browser comes back from the authorization server. The state (single use,
 * ten minutes, bound to scope, user and server) and the CSRF cookie decide; an identity the app's
 * `identify` finds on this request must be the one that started.
 */
export async function callbackResponse(
  oauth: OAuthRouteDeps,
  request: Request,
  identity: Identity | null,
  find: (pending: PendingRecord) => Promise<ResolvedServer | undefined>,
): Promise<Response> {
  const params = new URL(request.url).searchParams;
  const { cookie } = await oauth.manager.complete(params, request.headers.get("cookie"), async (pending) => {
    if (identity !== null && (identity.scope !== pending.scope || identity.user !== pending.user))
      throw new McpServerSideError("invalid_state", "the authorization was started by another user");
    return find(pending);
  });
  const headers = new Headers({ "set-cookie": cookie, "cache-control": "no-store" });
  if (oauth.returnTo !== undefined) {
    headers.set("location", new URL(oauth.returnTo, oauth.redirectUri).href);
    return new Response(null, { status: 302, headers });
  }
  headers.set("content-type", "text/html; charset=utf-8");
  // No script at all: the page says it is done; an opener polls `GET /:name` for `auth.connected`.
  headers.set("content-security-policy", "default-src 'none'");
  const page =
    '<!doctype html><html><head><meta charset="utf-8"><title>Connected</title></head>' +
    "<body><p>The account is connected. You can close this window.</p></body></html>";
  return new Response(page, { status: 200, headers });
}

/** `DELETE /:name/oauth`: forget (and revoke) the caller's tokens; idempotent. */
export async function disconnectResponse(
  oauth: OAuthRouteDeps,
  server: MergedServer,
  identity: Identity,
): Promise<Response> {
  if (server.definition.auth?.type !== "oauth2")
    throw new McpServerSideError("invalid_request", `'${server.name}' does not use OAuth`, { status: 400 });
  if (identity.user === undefined || identity.user === "")
    throw new McpServerSideError("user_required", "OAuth connections are per user: identify() must return one");
  await oauth.manager.disconnect(resolvedFor(server, identity));
  return new Response(null, { status: 204 });
}
