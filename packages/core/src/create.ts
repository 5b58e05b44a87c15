import { createOpenAIRoutes } from "./chat/routes.js";
import { loadConfigTier } from "./config/load.js";
import { availabilityOf, isEnabled } from "./config/schema.js";
import { validateDefinitionShape, type ValidationDeps } from "./config/validate.js";
import { createRequestContext, RequestContext } from "./context/request-context.js";
import { webRequestSource } from "./context/request-source.js";
import { McpServerSideError } from "./errors.js";
import { createMcpHooks, INSTANCE_ORIGIN } from "./hooks.js";
import { createManagementHandler } from "./http/handler.js";
import { type CoreRequest, withKeptBody } from "./http/kept-body.js";
import { isUnderBasePath } from "./http/paths.js";
import { checkIdentity, identifyByApiKey } from "./identity.js";
import { registerInternals } from "./instance-internals.js";
import { resolveLogger } from "./logging.js";
import { normalizeBasePath, resolveLimits, type McpServerSideOptions, type NetworkPolicy } from "./options.js";
import { createOAuthManager } from "./oauth/manager.js";
import { createEngine } from "./pool/engine.js";
import { createRegistry } from "./registry/registry.js";
import { rotateSecrets } from "./registry/rotate.js";
import { parseEncryptionKeys, randomKeyRing } from "./security/crypto.js";
import { createCappedFetch, createGuardedFetch } from "./security/guarded-fetch.js";
import { createNetworkPolicy } from "./security/ssrf.js";
import { resolveStore } from "./store/capabilities.js";
import { isMcpStore } from "./store/types.js";
import { unstorageStore } from "./store/unstorage-store.js";
import { stampRequestId } from "./http/request-id.js";
import { createTelemetry } from "./telemetry/telemetry.js";
import { createCallerViews } from "./tiers/views.js";
import { createToolPinning } from "./tools/pinning.js";
import { createPreferences } from "./tiers/preferences.js";
import { createSettingsUi } from "./ui/serve.js";
import type { ContextError, Identity, McpServerSide, ResolvedServer } from "./types.js";

/**
 * Creates the server-side MCP instance. Synchronous: the config tier is read and validated here, so
 * every config error throws from this call; `await mcp.ready()` for the asynchronous start-up.
 */
export function createMcpServerSide(options: McpServerSideOptions = {}): McpServerSide {
  const limits = resolveLimits(options);
  const basePath = normalizeBasePath(options.basePath);
  const config = loadConfigTier(options.config);
  for (const [name, definition] of config) {
    const checked = validateDefinitionShape(definition, "config", { limits });
    if (!checked.ok) {
      const where = checked.errors?.[0]?.pointer ?? "";
      throw new McpServerSideError(
        "invalid_config",
        `Invalid MCP config: server '${name}': ${where ? `field '${where}': ` : ""}${checked.errors?.[0]?.detail ?? checked.message}`,
      );
    }
  }

  // The store's capabilities are checked now: OAuth in the options or the config needs its OAuth methods.
  const oauthServer = [...config].find(([, definition]) => definition.auth?.type === "oauth2")?.[0];
  const oauthReason =
    options.oauth !== undefined
      ? "The `oauth` option needs per-user secrets"
      : oauthServer === undefined
        ? undefined
        : `The config server '${oauthServer}' (auth.type "oauth2") needs per-user secrets`;
  const store = resolveStore(
    isMcpStore(options.storage) ? options.storage : unstorageStore(options.storage),
    oauthReason === undefined ? {} : { oauth: oauthReason },
  );
  const keys = parseEncryptionKeys(options);
  if (!keys.ok) throw new McpServerSideError(keys.code, keys.message);
  if (keys.value === null && store.persistent) {
    throw new McpServerSideError(
      "invalid_config",
      "createMcpServerSide: a persistent store needs an encryptionKey (32 random bytes, base64) to encrypt secrets at rest, e.g. encryptionKey: process.env.MCP_ENCRYPTION_KEY (generate one with `openssl rand -base64 32`)",
    );
  }
  const ring = keys.value ?? randomKeyRing();

  const hooks = createMcpHooks(options.hooks);
  // Warnings and errors reach the console unless the app passes its logger or `logger: false`.
  const logger = resolveLogger(options.logger);
  // Throws invalid_config for a malformed allowedHosts entry; explains refused hosts to `logger`.
  const policy: NetworkPolicy = createNetworkPolicy(options, logger);
  const validation: ValidationDeps = { policy, limits };
  const guardedFetch = createGuardedFetch(policy, { connectTimeoutMs: limits.connectTimeoutMs });
  const configFetch = createCappedFetch();
  // The config tier is the operator's and is not SSRF-checked; everything else goes through the guard.
  const baseFetchFor = (server: ResolvedServer): typeof fetch =>
    server.source === "config" ? configFetch : guardedFetch;
  const oauth = createOAuthManager({
    store,
    ring,
    policy,
    fetchFor: baseFetchFor,
    basePath,
    options: options.oauth ?? {},
    logger,
    ...(options.now ? { now: options.now } : {}),
  });
  // Loads @opentelemetry/api when it is installed; spans start once it is in (ready() waits for it).
  const telemetry = createTelemetry(options.telemetry);
  const pinning = createToolPinning({
    mode: options.toolPinning ?? "warn",
    store,
    hooks,
    logger,
    ...(options.now ? { now: options.now } : {}),
  });
  const engine = createEngine({
    limits,
    hooks,
    logger,
    telemetry,
    toolsArrived: (server, view) => pinning.prepare(server, view),
    ...(options.toolName ? { toolName: options.toolName } : {}),
    ...(options.now ? { now: options.now } : {}),
    // OAuth servers' requests carry the user's access token, refreshed before expiry and on a 401.
    fetchFor: (server) =>
      server.definition.auth?.type === "oauth2" ? oauth.wrapFetch(server, baseFetchFor(server)) : baseFetchFor(server),
  });
  // Kept per caller, dropped by the store's preferences events (this process's and other workers').
  const preferences = createPreferences(store, options.now);
  const registry = createRegistry({
    store,
    ring,
    hooks,
    config,
    maxServersPerScope: limits.maxServersPerScope,
    logger,
    ...(options.now ? { now: options.now } : {}),
    onChange: async (event) => {
      preferences.changed(event);
      if (event.type === "reset" || event.type === "preferences") return;
      await engine.evict(
        event.scope.kind === "global"
          ? { source: "global", name: event.name }
          : { source: "scope", scope: event.scope.id, name: event.name },
        event.type === "deleted" ? "removed" : "changed",
      );
    },
  });

  const identifyOption = options.identify ?? identifyByApiKey;
  const identify = async (request: Request): Promise<Identity | null> => checkIdentity(await identifyOption(request));
  // A management request lighter than a Web `Request` (http/kept-body.ts) comes only with the built-in
  // identify (`readsOnlyInCore`), which reads its headers; a custom one is never handed less than a Request.
  const identifyManaged = async (request: CoreRequest): Promise<Identity | null> => {
    if (options.identify === undefined) return identifyByApiKey(request);
    if (request instanceof Request) return identify(request);
    throw new TypeError("mcp-server-side: a custom identify needs the Web Request of a management call");
  };
  // One merge per read of the stored tiers, shared by requests and the management routes.
  const views = createCallerViews({ config, registry, connectUrl: (name) => oauth.connectPath(name) });
  const contextDeps = {
    preferences,
    identify,
    ...(options.identify === undefined ? { identifyHeaders: identifyByApiKey } : {}),
    config,
    views,
    engine,
    hooks,
    validation,
    maxRequestServers: limits.maxServersPerScope,
    pinning,
    oauth,
  };
  const forRequest: McpServerSide["forRequest"] = (request, overrides) =>
    createRequestContext(contextDeps, webRequestSource(request), overrides);

  let startState: "ok" | "failed" | undefined;
  const management = createManagementHandler({
    ...(options.health === false
      ? {}
      : {
          health: {
            options: options.health ?? {},
            pingStore: async () => {
              await store.ping?.();
            },
            started: () => startState,
            registry,
            config,
            states: () => engine.states(),
            maxConnections: limits.maxConnections,
            now: options.now ?? Date.now,
          },
        }),
    basePath,
    limits,
    identify: identifyManaged,
    registry,
    views,
    config,
    validation,
    engine,
    logger,
    pins: { pinning, engine, maxBodyBytes: limits.maxBodyBytes },
    preferences,
    ...(options.ui ? { ui: createSettingsUi(basePath, options.ui === true ? {} : options.ui) } : {}),
    oauth: {
      manager: oauth,
      basePath,
      ...(options.oauth?.returnTo === undefined ? {} : { returnTo: options.oauth.returnTo }),
      ...(options.oauth?.redirectUri === undefined ? {} : { redirectUri: options.oauth.redirectUri }),
    },
  });
  // The OpenAI-compatible routes: chat completions, responses and models under one prefix.
  const openai = options.chatCompletions
    ? createOpenAIRoutes(options.chatCompletions, { forRequest, ring, logger })
    : undefined;

  // `path` is the path the framework routed, never a normalized copy (see http/paths.ts).
  const owns = (path: string): boolean => isUnderBasePath(path, basePath) || openai?.owns(path) === true;

  const started = (async () => {
    // Subscribe even when the store is down at start, so change events flow once it comes back.
    const [pinged] = await Promise.allSettled([store.ping?.(), registry.start()]);
    if (pinged.status === "rejected") throw pinged.reason;
    await hooks.callHook("config:loaded", { ...INSTANCE_ORIGIN, servers: [...config.keys()] });
  })();
  let warming: Promise<ContextError[]> | undefined;
  // ready() reports a failed start; an instance nobody awaits must not crash the process with it.
  started.then(
    () => {
      startState = "ok";
    },
    (error: unknown) => {
      startState = "failed";
      logger.error("mcp-server-side: start-up failed", error);
    },
  );

  // Answers may be bodiless with their text kept (http/kept-body.ts): `handle` gives the full Response.
  const answer: McpServerSide["handle"] = async (request, path = new URL(request.url).pathname) => {
    // Stamped before the OpenAI routes read it, so their answer and this request's hooks name one id.
    if (openai?.owns(path)) {
      stampRequestId(request);
      return openai.handle(request, path);
    }
    return management(request, path);
  };

  const instance: McpServerSide = {
    hooks,
    logger,
    basePath,
    owns,
    forRequest,
    async handle(request, path) {
      const response = await answer(request, path);
      return response === undefined ? undefined : withKeptBody(response);
    },
    resolve: (request, overrides) => forRequest(request, overrides).servers(),
    rotateSecrets: () => rotateSecrets({ store, ring, configServers: config.keys() }),
    // The config tier is connected on the first ready(), so that the first request finds it warm.
    ready: () => {
      warming ??=
        options.warmup === false
          ? Promise.resolve([])
          : // After the telemetry load (a dynamic import, settled at once), so the warmup's connects are traced.
            telemetry.loaded.then(() =>
              engine.warmup(
                [...config]
                  .filter(([, definition]) => isEnabled(definition) && availabilityOf(definition) !== "default_off")
                  .map(([name, definition]) => ({ name, source: "config", definition })),
              ),
            );
      const warmed = warming;
      return Promise.all([started, telemetry.loaded]).then(async () => ({ failedServers: await warmed }));
    },
    async close() {
      await Promise.allSettled([started]);
      await registry.close();
      await engine.close();
      await guardedFetch.close();
      await store.close?.();
    },
  };
  const identifiedByHeaders = options.identify === undefined;
  registerInternals(instance, {
    identifiedByHeaders,
    keptBodyHandle: answer,
    // The OpenAI routes read the abort signal and a custom identify gets the whole request; the management
    // routes read headers and, through readJsonBody, the body.
    readsOnlyInCore: (path) => identifiedByHeaders && openai?.owns(path) !== true,
    coreHandle: management,
    // Behind the adapter's own lazy object: the members stay on the prototype until read.
    makeContext: (source, overrides) => new RequestContext(contextDeps, source, overrides),
  });
  return instance;
}
