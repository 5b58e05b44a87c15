import { randomBytes, timingSafeEqual } from "node:crypto";
import {
  buildDiscoveryUrls,
  extractWWWAuthenticateParams,
  isHttpsUrl,
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  exchangeAuthorization,
  refreshAuthorization,
  registerClient,
  startAuthorization,
} from "@modelcontextprotocol/sdk/client/auth.js";
import type {
  AuthorizationServerMetadata,
  OAuthClientInformationMixed,
  OAuthProtectedResourceMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import { McpServerSideError } from "../errors.js";
import type { Logger, NetworkPolicy } from "../options.js";
import type { KeyRing } from "../security/crypto.js";
import { validateRemoteUrl } from "../security/ssrf.js";
import type { ResolvedStore } from "../store/types.js";
import type { ResolvedServer } from "../types.js";
import {
  type ClientRecord,
  clientRecordSchema,
  clientSlot,
  digest,
  oauthRequired,
  ownerOf,
  type PendingRecord,
  readRecord,
  putPendingRecord,
  takePendingRecord,
  withSlotLock,
  type TokenRecord,
  tokenRecordSchema,
  tokenSlot,
  writeRecord,
} from "./records.js";

/** Per-user OAuth (SPEC §7). Every option is the operator's: nothing here is read from a request. */
export interface OAuthOptions {
  /**
   * The callback URL registered with authorization servers: the app's public origin followed by
   * `basePath` and `/oauth/callback`, e.g. `https://app.example.com/mcp-servers/oauth/callback`.
   * Without it, `GET /:name/oauth/connect` answers `400 invalid_config`. Never taken from a request.
   */
  redirectUri?: string;
  /**
   * Where the callback sends the browser once the tokens are stored; must have the redirect URI's
   * origin. @default a small page saying the account is connected
   */
  returnTo?: string;
  /** The `client_name` sent at dynamic client registration and in the client metadata document. @default "mcp-server-side" */
  clientName?: string;
  /**
   * Client ID Metadata Documents: when `redirectUri` is https, the middleware serves
   * `<basePath>/oauth/client-metadata.json` beside the callback, and an authorization server that
   * advertises `client_id_metadata_document_supported` gets that URL as `client_id` instead of a
   * dynamic registration (a pre-registered `auth.clientId` still comes first). `false` turns it off.
   * @default true
   */
  clientMetadataDocument?: boolean;
  /** Tokens are refreshed this long before they expire. @default 60000 */
  refreshSkewMs?: number;
}

/** What a caller sees of its connection to an OAuth server; never a token. */
export interface OAuthStatus {
  type: "oauth2";
  connected: boolean;
  scopes?: string[];
  expiresAt?: string;
  /** Scopes the server asked for (`403 insufficient_scope`): the user must connect again (step-up). */
  missingScopes?: string[];
}

export interface OAuthManagerDeps {
  store: ResolvedStore;
  ring: KeyRing;
  policy: NetworkPolicy;
  /** The fetch a server's HTTP calls go through (guarded for tenant tiers), reused for its OAuth calls. */
  fetchFor: (server: ResolvedServer) => typeof fetch;
  basePath: string;
  options: OAuthOptions;
  logger: Logger;
  now?: () => number;
}

export interface OAuthManager {
  /** The path (below the app's origin) where a user connects a server. */
  connectPath(name: string): string;
  /** The caller's connection status to an OAuth server (the record must match its URL). */
  status(server: ResolvedServer): Promise<OAuthStatus>;
  /** Starts an authorization: the URL to send the browser to, and the CSRF cookie to set. */
  start(server: ResolvedServer): Promise<{ authorizationUrl: string; cookie: string }>;
  /** Completes an authorization from the callback's query and cookie; returns whom it connected. */
  complete(
    params: URLSearchParams,
    cookieHeader: string | null,
    find: (pending: PendingRecord) => Promise<ResolvedServer | undefined>,
  ): Promise<{ cookie: string; server: string }>;
  /**
   * The Client ID Metadata Document served at `<basePath>/oauth/client-metadata.json`; undefined when
   * the app has no https redirect URI (or the operator turned it off).
   */
  clientMetadataDocument(): ClientMetadataDocument | undefined;
  /** Forgets the user's tokens and revokes them at the server when it can. Idempotent. */
  disconnect(server: ResolvedServer): Promise<void>;
  /** Wraps a server's fetch so that every request carries the user's access token, refreshed as needed. */
  wrapFetch(server: ResolvedServer, base: typeof fetch): typeof fetch;
  /** The CSRF cookie's name. */
  readonly cookieName: string;
}

/** What an authorization server reads at the client_id URL (a public client: no secret, PKCE). */
export interface ClientMetadataDocument {
  client_id: string;
  client_name: string;
  client_uri: string;
  redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  token_endpoint_auth_method: "none";
}

const STATE_TTL_MS = 10 * 60_000;
const DISCOVERY_TTL_MS = 5 * 60_000;
const COOKIE_NAME = "mcp_oauth_csrf";

interface Discovery {
  authorizationServer: string;
  metadata: AuthorizationServerMetadata;
  resource: string | undefined;
  scopes: string[];
  expires: number;
}

/**
 * The OAuth side of the instance. Discovery, registration, authorization URLs, code exchange and
 * refresh are the MCP SDK's (`@modelcontextprotocol/sdk/client/auth.js`), always with the server's own
 * fetch (guarded for tenant tiers), so every OAuth call obeys the same SSRF rules as the MCP traffic.
 */
export function createOAuthManager(deps: OAuthManagerDeps): OAuthManager {
  const now = deps.now ?? Date.now;
  const skew = deps.options.refreshSkewMs ?? 60_000;
  const discoveries = new Map<string, Discovery>();
  const registering = new Map<string, Promise<OAuthClientInformationMixed>>();
  const refreshing = new Map<string, Promise<TokenRecord>>();
  const redirectUri = checkedRedirect(deps.options);
  const secureCookie = redirectUri?.startsWith("https:") ?? false;
  const cookiePath = `${deps.basePath}/oauth`;
  const metadataDocument = clientMetadataDocumentOf(deps.options, redirectUri, deps.basePath);

  const userOf = (server: ResolvedServer): string => {
    if (server.user === undefined || server.user === "")
      throw new McpServerSideError("user_required", "OAuth servers are per user: identify() must return a user");
    return server.user;
  };
  const urlOf = (server: ResolvedServer): string => {
    if (server.definition.url === undefined)
      throw new McpServerSideError("invalid_request", "only remote servers use OAuth", { status: 422 });
    return server.definition.url;
  };

  /** An https URL whose host passes the policy (for tenant tiers): metadata never points us inward. */
  async function checkEndpoint(server: ResolvedServer, raw: string | undefined, what: string): Promise<string> {
    if (raw === undefined) throw new McpServerSideError("upstream_error", `the authorization server has no ${what}`);
    if (server.source === "config") return raw;
    const checked = await validateRemoteUrl(raw, deps.policy);
    if (!checked.ok)
      throw new McpServerSideError(checked.code, `the authorization server's ${what} is refused: ${checked.message}`);
    return raw;
  }

  async function discover(server: ResolvedServer): Promise<Discovery> {
    const url = urlOf(server);
    const key = `${server.source}\u0000${url}`;
    const cached = discoveries.get(key);
    if (cached && cached.expires > now()) return cached;
    const fetchFn = deps.fetchFor(server);
    let resourceMetadata: OAuthProtectedResourceMetadata;
    try {
      resourceMetadata = await discoverOAuthProtectedResourceMetadata(url, {}, fetchFn);
    } catch (error) {
      throw upstream("the server publishes no usable protected-resource metadata", error);
    }
    const authorizationServer = resourceMetadata.authorization_servers?.[0];
    await checkEndpoint(server, authorizationServer, "address");
    let metadata: AuthorizationServerMetadata | undefined;
    try {
      metadata = await discoverAuthorizationServerMetadata(authorizationServer ?? "", { fetchFn });
    } catch (error) {
      throw upstream("the authorization server's metadata could not be read", error);
    }
    if (metadata === undefined)
      throw new McpServerSideError("upstream_error", "the authorization server publishes no metadata");
    if (stripSlash(metadata.issuer) !== stripSlash(authorizationServer ?? ""))
      throw new McpServerSideError("upstream_error", "the authorization server's issuer does not match its address");
    if (!metadata.code_challenge_methods_supported?.includes("S256"))
      throw new McpServerSideError("upstream_error", "the authorization server does not support PKCE with S256");
    await checkEndpoint(server, metadata.authorization_endpoint, "authorization endpoint");
    await checkEndpoint(server, metadata.token_endpoint, "token endpoint");
    if (metadata.registration_endpoint !== undefined)
      await checkEndpoint(server, metadata.registration_endpoint, "registration endpoint");
    const revocation = revocationEndpointOf(metadata);
    if (revocation !== undefined) await checkEndpoint(server, revocation, "revocation endpoint");
    // RFC 8707: the resource names this server (or a prefix of its URL), never another one.
    const resource = resourceMetadata.resource;
    if (resource !== undefined && !url.startsWith(stripSlash(resource)))
      throw new McpServerSideError("upstream_error", "the protected-resource metadata names another resource");
    const discovery: Discovery = {
      authorizationServer: authorizationServer ?? "",
      metadata,
      resource,
      scopes: resourceMetadata.scopes_supported ?? [],
      expires: now() + DISCOVERY_TTL_MS,
    };
    discoveries.set(key, discovery);
    return discovery;
  }

  /**
   * Client identity, in order: pre-registered in the definition, else the Client ID Metadata Document's
   * URL when the authorization server accepts one, else dynamic registration once per server.
   */
  async function clientFor(server: ResolvedServer, discovery: Discovery): Promise<OAuthClientInformationMixed> {
    const auth = server.definition.auth;
    if (auth?.type === "oauth2" && auth.clientId !== undefined) {
      return auth.clientSecret === undefined
        ? { client_id: auth.clientId }
        : { client_id: auth.clientId, client_secret: auth.clientSecret };
    }
    if (redirectUri === undefined) throw notConfigured();
    if (metadataDocument !== undefined && discovery.metadata.client_id_metadata_document_supported === true)
      return { client_id: metadataDocument.client_id };
    const slot = clientSlot(server);
    const key = JSON.stringify([slot.owner, slot.server, slot.userField]);
    const inFlight = registering.get(key);
    if (inFlight) return inFlight;
    const work = (async (): Promise<OAuthClientInformationMixed> => {
      const stored = await readRecord(deps.store, deps.ring, slot, "client", clientRecordSchema);
      if (stored && stored.issuer === discovery.metadata.issuer && stored.redirectUri === redirectUri) {
        return stored.clientSecret === undefined
          ? { client_id: stored.clientId }
          : { client_id: stored.clientId, client_secret: stored.clientSecret };
      }
      if (discovery.metadata.registration_endpoint === undefined)
        throw new McpServerSideError(
          "upstream_error",
          "the authorization server offers no dynamic registration: give auth.clientId in the definition",
        );
      let registered: Awaited<ReturnType<typeof registerClient>>;
      try {
        registered = await registerClient(discovery.authorizationServer, {
          metadata: discovery.metadata,
          clientMetadata: {
            redirect_uris: [redirectUri],
            client_name: deps.options.clientName ?? "mcp-server-side",
            grant_types: ["authorization_code", "refresh_token"],
            response_types: ["code"],
          },
          fetchFn: deps.fetchFor(server),
        });
      } catch (error) {
        throw upstream("dynamic client registration failed", error);
      }
      const record: ClientRecord = {
        v: 1,
        issuer: discovery.metadata.issuer,
        redirectUri,
        clientId: registered.client_id,
        ...(registered.client_secret === undefined ? {} : { clientSecret: registered.client_secret }),
      };
      await writeRecord(deps.store, deps.ring, slot, "client", record);
      return registered;
    })();
    registering.set(key, work);
    try {
      return await work;
    } finally {
      registering.delete(key);
    }
  }

  async function loadTokens(server: ResolvedServer): Promise<TokenRecord | null> {
    const record = await readRecord(
      deps.store,
      deps.ring,
      tokenSlot(server, userOf(server)),
      "tokens",
      tokenRecordSchema,
    );
    // Bound to the server's URL: a server whose URL changed never receives the old tokens.
    return record && record.url === server.definition.url ? record : null;
  }

  async function saveTokens(
    server: ResolvedServer,
    issuer: string,
    tokens: OAuthTokens,
    scopes: string[],
  ): Promise<TokenRecord> {
    const record: TokenRecord = {
      v: 1,
      url: urlOf(server),
      issuer,
      accessToken: tokens.access_token,
      ...(tokens.refresh_token === undefined ? {} : { refreshToken: tokens.refresh_token }),
      tokenType: tokens.token_type,
      ...(tokens.expires_in === undefined ? {} : { expiresAt: now() + tokens.expires_in * 1000 }),
      scopes: tokens.scope === undefined ? scopes : tokens.scope.split(" ").filter(Boolean),
    };
    await writeRecord(deps.store, deps.ring, tokenSlot(server, userOf(server)), "tokens", record);
    return record;
  }

  const stale = (record: TokenRecord): boolean => record.expiresAt !== undefined && record.expiresAt - skew <= now();

  /**
   * Refreshes the user's tokens once across every worker sharing the store: a lock record with expiry
   * (create-if-absent), then a re-read, so a rotating refresh token is never spent twice. `spent` is
   * the access token that failed (or expired); a different stored one means another worker refreshed.
   */
  async function refresh(server: ResolvedServer, spent: string): Promise<TokenRecord> {
    const slot = tokenSlot(server, userOf(server));
    const key = JSON.stringify([slot.owner, slot.server, slot.userField]);
    const inFlight = refreshing.get(key);
    if (inFlight) return inFlight;
    const work = (async (): Promise<TokenRecord> => {
      const current = await loadTokens(server);
      if (current === null) throw oauthRequired(server.name);
      if (current.accessToken !== spent && !stale(current)) return current;
      return withSlotLock(deps.store, slot, async () => {
        // Re-read under the lock: another worker may have refreshed while this one waited.
        const fresh = await loadTokens(server);
        if (fresh === null) throw oauthRequired(server.name);
        if (fresh.accessToken !== spent && !stale(fresh)) return fresh;
        return refreshNow(server, fresh);
      });
    })();
    refreshing.set(key, work);
    try {
      return await work;
    } finally {
      refreshing.delete(key);
    }
  }

  async function refreshNow(server: ResolvedServer, record: TokenRecord): Promise<TokenRecord> {
    if (record.refreshToken === undefined) {
      await deps.store.deleteUserSecret(...slotArgs(server));
      throw oauthRequired(server.name, `'${server.name}': the access token expired; the user must connect again`);
    }
    const discovery = await discover(server);
    if (discovery.metadata.issuer !== record.issuer) throw oauthRequired(server.name);
    const clientInformation = await clientFor(server, discovery);
    let tokens: OAuthTokens;
    try {
      tokens = await refreshAuthorization(discovery.authorizationServer, {
        metadata: discovery.metadata,
        clientInformation,
        refreshToken: record.refreshToken,
        ...(discovery.resource === undefined ? {} : { resource: discovery.resource }),
        fetchFn: deps.fetchFor(server),
      });
    } catch (error) {
      if (oauthErrorCode(error) === "invalid_grant") {
        // The grant is gone (revoked, expired, rotated elsewhere): the user is disconnected.
        await deps.store.deleteUserSecret(...slotArgs(server));
        throw oauthRequired(server.name, `'${server.name}': the authorization expired; the user must connect again`);
      }
      throw upstream("refreshing the tokens failed", error);
    }
    return saveTokens(server, record.issuer, tokens, record.scopes);
  }

  const slotArgs = (server: ResolvedServer): [ReturnType<typeof tokenSlot>["owner"], string, string] => {
    const slot = tokenSlot(server, userOf(server));
    return [slot.owner, slot.server, slot.userField];
  };

  /** `403` with `insufficient_scope`: remember the scopes asked for, so the user is asked to connect again. */
  async function noteStepUp(server: ResolvedServer, response: Response): Promise<void> {
    const { error, scope } = extractWWWAuthenticateParams(response);
    if (error !== "insufficient_scope") return;
    const record = await loadTokens(server);
    if (record === null) return;
    const asked = (scope ?? "")
      .split(" ")
      .filter((name) => name !== "" && name.length <= 256)
      .slice(0, 64);
    const stepUp = [...new Set([...record.scopes, ...asked])].slice(0, 64);
    await writeRecord(deps.store, deps.ring, tokenSlot(server, userOf(server)), "tokens", { ...record, stepUp });
  }

  async function validToken(server: ResolvedServer): Promise<string> {
    const record = await loadTokens(server);
    if (record === null) throw oauthRequired(server.name);
    if (!stale(record)) return record.accessToken;
    return (await refresh(server, record.accessToken)).accessToken;
  }

  return {
    cookieName: COOKIE_NAME,

    clientMetadataDocument: () => metadataDocument,

    connectPath(name) {
      return `${deps.basePath}/${encodeURIComponent(name)}/oauth/connect`;
    },

    async status(server) {
      const record = server.user === undefined ? null : await loadTokens(server).catch(() => null);
      if (record === null) return { type: "oauth2", connected: false };
      return {
        type: "oauth2",
        // A step-up pending: the tokens lack scopes the server needs, so the server is not injected.
        connected: record.stepUp === undefined,
        ...(record.stepUp === undefined ? {} : { missingScopes: record.stepUp }),
        scopes: record.scopes,
        ...(record.expiresAt === undefined ? {} : { expiresAt: new Date(record.expiresAt).toISOString() }),
      };
    },

    async start(server) {
      const user = userOf(server);
      if (redirectUri === undefined) throw notConfigured();
      const discovery = await discover(server);
      const clientInformation = await clientFor(server, discovery);
      const auth = server.definition.auth;
      const configured = (auth?.type === "oauth2" ? auth.scopes : undefined) ?? discovery.scopes;
      const stepUp = (await loadTokens(server).catch(() => null))?.stepUp ?? [];
      const scopes = [...new Set([...configured, ...stepUp])];
      const state = randomBytes(32).toString("base64url");
      const csrf = randomBytes(32).toString("base64url");
      const { authorizationUrl, codeVerifier } = await startAuthorization(discovery.authorizationServer, {
        metadata: discovery.metadata,
        clientInformation,
        redirectUrl: redirectUri,
        state,
        ...(scopes.length > 0 ? { scope: scopes.join(" ") } : {}),
        ...(discovery.resource === undefined ? {} : { resource: discovery.resource }),
      });
      const pending: PendingRecord = {
        v: 1,
        scope: server.scope ?? "",
        user,
        server: server.name,
        source: server.source,
        url: urlOf(server),
        issuer: discovery.metadata.issuer,
        codeVerifier,
        csrfDigest: digest(csrf),
        ...(discovery.resource === undefined ? {} : { resource: discovery.resource }),
        scopes,
        expiresAt: now() + STATE_TTL_MS,
      };
      await putPendingRecord(deps.store, deps.ring, state, ownerOf(server), pending, STATE_TTL_MS);
      return { authorizationUrl: authorizationUrl.href, cookie: cookie(csrf, STATE_TTL_MS / 1000) };
    },

    async complete(params, cookieHeader, find) {
      const state = params.get("state") ?? "";
      const badState = (): McpServerSideError =>
        new McpServerSideError("invalid_state", "the authorization state is unknown, used or expired");
      if (!/^[A-Za-z0-9_-]{43}$/.test(state)) throw badState();
      // Taken before anything else: a state is single use, whatever happens next.
      const pending = await takePendingRecord(deps.store, deps.ring, state);
      if (pending === null) throw badState();
      const csrf = cookieValue(cookieHeader, COOKIE_NAME);
      if (csrf === undefined || !sameDigest(digest(csrf), pending.csrfDigest))
        throw new McpServerSideError("invalid_state", "the authorization did not start in this browser");
      if (params.get("error") !== null)
        throw new McpServerSideError("invalid_state", "the authorization server refused the authorization");
      const code = params.get("code");
      if (code === null || code === "" || code.length > 4096)
        throw new McpServerSideError("invalid_state", "the callback carries no authorization code");
      const server = await find(pending);
      if (server === undefined || server.definition.url !== pending.url || server.definition.auth?.type !== "oauth2")
        throw new McpServerSideError("invalid_state", "the server changed or was removed during the authorization");
      if (redirectUri === undefined) throw notConfigured();
      const discovery = await discover(server);
      if (discovery.metadata.issuer !== pending.issuer)
        throw new McpServerSideError("invalid_state", "the authorization server changed during the authorization");
      const clientInformation = await clientFor(server, discovery);
      let tokens: OAuthTokens;
      try {
        tokens = await exchangeAuthorization(discovery.authorizationServer, {
          metadata: discovery.metadata,
          clientInformation,
          authorizationCode: code,
          codeVerifier: pending.codeVerifier,
          redirectUri,
          ...(pending.resource === undefined ? {} : { resource: pending.resource }),
          fetchFn: deps.fetchFor(server),
        });
      } catch (error) {
        throw new McpServerSideError("invalid_state", "the authorization server refused the code", {
          cause: oauthErrorCode(error),
        });
      }
      await saveTokens(server, pending.issuer, tokens, pending.scopes);
      return { cookie: cookie("", 0), server: server.name };
    },

    async disconnect(server) {
      const record = await loadTokens(server).catch(() => null);
      await deps.store.deleteUserSecret(...slotArgs(server));
      if (record === null) return;
      // Revocation (RFC 7009) is best effort: the tokens are forgotten here whatever the server says.
      try {
        const discovery = await discover(server);
        const fetchFn = deps.fetchFor(server);
        if (discovery.metadata.issuer !== record.issuer) return;
        const endpoint = revocationEndpointOf(discovery.metadata) ?? (await rawRevocationEndpoint(discovery, fetchFn));
        if (endpoint === undefined) return;
        await checkEndpoint(server, endpoint, "revocation endpoint");
        const client = await clientFor(server, discovery);
        for (const [token, hint] of [
          [record.refreshToken, "refresh_token"],
          [record.accessToken, "access_token"],
        ] as const) {
          if (token === undefined) continue;
          const body = new URLSearchParams({ token, token_type_hint: hint });
          const headers = new Headers({ "content-type": "application/x-www-form-urlencoded" });
          if (client.client_secret !== undefined)
            headers.set(
              "authorization",
              `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString("base64")}`,
            );
          else body.set("client_id", client.client_id);
          const response = await fetchFn(endpoint, { method: "POST", headers, body });
          await response.body?.cancel().catch(() => undefined);
        }
      } catch (error) {
        deps.logger.warn(`mcp-server-side: revoking the OAuth tokens of '${server.name}' failed`, error);
      }
    },

    wrapFetch(server, base) {
      return async (input, init) => {
        const token = await validToken(server);
        const response = await base(input, withBearer(init, token));
        if (response.status === 403) await noteStepUp(server, response);
        if (response.status !== 401) return response;
        // Once: the token may have been revoked or expired early; a fresh one gets one retry.
        await response.body?.cancel().catch(() => undefined);
        const fresh = await refresh(server, token);
        return base(input, withBearer(init, fresh.accessToken));
      };
    },
  };

  function cookie(value: string, maxAge: number): string {
    return `${COOKIE_NAME}=${value}; Path=${cookiePath}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secureCookie ? "; Secure" : ""}`;
  }
}

function withBearer(init: RequestInit | undefined, token: string): RequestInit {
  const headers = new Headers(init?.headers);
  headers.set("authorization", `Bearer ${token}`);
  return { ...init, headers };
}

/**
 * The SDK's OpenID discovery schema drops `revocation_endpoint`; read it from the raw metadata document
 * at the same well-known URLs, through the same fetch.
 */
async function rawRevocationEndpoint(discovery: Discovery, fetchFn: typeof fetch): Promise<string | undefined> {
  for (const { url } of buildDiscoveryUrls(discovery.authorizationServer)) {
    const response = await fetchFn(url, { headers: { accept: "application/json" } });
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      continue;
    }
    const body = (await response.json()) as { issuer?: unknown; revocation_endpoint?: unknown };
    if (body.issuer !== discovery.metadata.issuer) return undefined;
    return typeof body.revocation_endpoint === "string" ? body.revocation_endpoint : undefined;
  }
  return undefined;
}

/** RFC 7009's endpoint (RFC 8414 metadata; the OpenID metadata type leaves it out). */
function revocationEndpointOf(metadata: AuthorizationServerMetadata): string | undefined {
  const endpoint = (metadata as { revocation_endpoint?: unknown }).revocation_endpoint;
  return typeof endpoint === "string" ? endpoint : undefined;
}

function checkedRedirect(options: OAuthOptions): string | undefined {
  const raw = options.redirectUri;
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new McpServerSideError("invalid_config", "oauth.redirectUri must be an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new McpServerSideError("invalid_config", "oauth.redirectUri must be an http(s) URL");
  if (options.returnTo !== undefined) {
    let back: URL;
    try {
      back = new URL(options.returnTo, url);
    } catch {
      throw new McpServerSideError("invalid_config", "oauth.returnTo must be a URL");
    }
    if (back.origin !== url.origin)
      throw new McpServerSideError("invalid_config", "oauth.returnTo must have the same origin as oauth.redirectUri");
  }
  return url.href;
}

/**
 * The document beside the callback (`…/oauth/client-metadata.json`), for an https redirect URI only:
 * a client_id URL must be https with a path (the SDK's `isHttpsUrl`), and an authorization server
 * fetches it from the public internet.
 */
function clientMetadataDocumentOf(
  options: OAuthOptions,
  redirectUri: string | undefined,
  basePath: string,
): ClientMetadataDocument | undefined {
  if (redirectUri === undefined || options.clientMetadataDocument === false) return undefined;
  // Served by the middleware only when the redirect URI is its own callback (the app may mount it below a prefix).
  if (!new URL(redirectUri).pathname.endsWith(`${basePath}/oauth/callback`)) return undefined;
  const clientId = new URL("client-metadata.json", redirectUri).href;
  if (!isHttpsUrl(clientId)) return undefined;
  return {
    client_id: clientId,
    client_name: options.clientName ?? "mcp-server-side",
    client_uri: new URL(redirectUri).origin,
    redirect_uris: [redirectUri],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };
}

function notConfigured(): McpServerSideError {
  return new McpServerSideError(
    "invalid_config",
    "OAuth is not configured: set oauth.redirectUri to your app's <origin><basePath>/oauth/callback",
    { status: 400 },
  );
}

/** An upstream failure with a fixed message: an authorization server's text may echo what we sent. */
function upstream(message: string, cause: unknown): McpServerSideError {
  return McpServerSideError.isInstance(cause) ? cause : new McpServerSideError("upstream_error", message);
}

/** The OAuth `error` code of an SDK OAuth error (`invalid_grant`, …), when there is one. */
function oauthErrorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { errorCode?: unknown }).errorCode;
  return typeof code === "string" ? code : undefined;
}

function cookieValue(header: string | null, name: string): string | undefined {
  if (header === null) return undefined;
  for (const part of header.slice(0, 8192).split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return undefined;
}

function sameDigest(left: string, right: string): boolean {
  const a = Buffer.from(left);
  const b = Buffer.from(right);
  return a.length === b.length && timingSafeEqual(a, b);
}

function stripSlash(value: string): string {
  return value.endsWith("/") ? value.slice(0, -1) : value;
}
