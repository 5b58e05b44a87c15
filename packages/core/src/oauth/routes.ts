import { McpServerSideError } from "../errors.js";
import type { MergedServer } from "../tiers/merge.js";
import { resolvedFor } from "../tiers/views.js";
import type { EffectiveServer, Identity, ResolvedServer } from "../types.js";
import type { CoreRequest } from "../http/kept-body.js";
import type { OAuthManager } from "./manager.js";
import type { PendingRecord } from "./records.js";

/** What the management handler needs for the OAuth routes (SPEC §4, §7). */
export interface OAuthRouteDeps {
  manager: OAuthManager;
  /** Where the callback sends the browser (the operator's `oauth.returnTo`); a small page otherwise. */
  returnTo?: string;
  /** The origin `returnTo` is resolved against (that of `oauth.redirectUri`). */
  redirectUri?: string;
  /** The management routes' base path (the callback page loads its script from below it). */
  basePath: string;
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
  request: CoreRequest,
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
  request: CoreRequest,
  identity: Identity | null,
  find: (pending: PendingRecord) => Promise<ResolvedServer | undefined>,
): Promise<Response> {
  const params = new URL(request.url).searchParams;
  const { cookie, server } = await oauth.manager.complete(params, request.headers.get("cookie"), async (pending) => {
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
  // No inline script: the page loads CALLBACK_SCRIPT from this origin, so a strict CSP holds.
  headers.set(
    "content-security-policy",
    "default-src 'none'; script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  );
  headers.set("referrer-policy", "no-referrer");
  headers.set("x-content-type-options", "nosniff");
  const page =
    '<!doctype html><html><head><meta charset="utf-8"><title>Connected</title>' +
    `<script src="${escapeHtml(`${oauth.basePath}/oauth/callback.js`)}" data-server="${escapeHtml(server)}" data-status="connected"></script>` +
    "</head><body><p>The account is connected. You can close this window.</p></body></html>";
  return new Response(page, { status: 200, headers });
}

/**
 * The callback page's script (`GET /oauth/callback.js`): tells the window that opened the popup, on
 * this origin only, that the server is connected (`{ type: "mcp-oauth", server, status }`), then closes
 * the popup. Static, so it is cacheable and needs no nonce.
 */
const CALLBACK_SCRIPT = `(function () {
  var script = document.currentScript;
  var message = { type: "mcp-oauth", server: script.dataset.server, status: script.dataset.status };
  if (window.opener && window.opener !== window) {
    window.opener.postMessage(message, window.location.origin);
    window.close();
  }
})();
`;

/** Files under `basePath/oauth/` that answer without an identity: the callback's script, the client metadata. */
export function oauthPublicFile(oauth: OAuthRouteDeps, file: string): Response | undefined {
  if (file === "callback.js")
    return new Response(CALLBACK_SCRIPT, {
      status: 200,
      headers: {
        "content-type": "text/javascript; charset=utf-8",
        "cache-control": "public, max-age=3600",
        "x-content-type-options": "nosniff",
      },
    });
  if (file === "client-metadata.json") {
    const document = oauth.manager.clientMetadataDocument();
    if (document === undefined) return undefined;
    return new Response(JSON.stringify(document), {
      status: 200,
      headers: {
        "content-type": "application/json; charset=utf-8",
        // Authorization servers cache it (oidc-provider: 30 s to a day, from this header).
        "cache-control": "public, max-age=3600",
        "x-content-type-options": "nosniff",
      },
    });
  }
  return undefined;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
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
