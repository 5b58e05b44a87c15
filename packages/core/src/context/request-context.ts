import type { ToolSet } from "ai";
import type { ServerDefinition } from "../config/schema.js";
import { validateUntrustedDefinition, type ValidationDeps } from "../config/validate.js";
import { isValidServerName } from "../config/schema.js";
import { McpServerSideError } from "../errors.js";
import type { HeaderReader } from "../identity.js";
import { hasHandlers, type HookOrigin, hookOriginOf, type McpHookable } from "../hooks.js";
import type { OAuthManager } from "../oauth/manager.js";
import type { Engine } from "../pool/engine.js";
import { sanitizeText } from "../security/redact.js";
import { stampRequestId } from "../http/request-id.js";
import { MCP_ORIGIN } from "../tools/call.js";
import type { PinCaller, ToolPinning } from "../tools/pinning.js";
import { presentServer } from "../tiers/effective.js";
import { overlayTools } from "../tools/overlay.js";
import { mergeTiers, type MergedServer } from "../tiers/merge.js";
import type { Preferences } from "../tiers/preferences.js";
import { type CallerView, type CallerViews, resolveServers } from "../tiers/views.js";
import { ownCopy } from "../tools/merge.js";
import type { RequestSource } from "./request-source.js";
import type {
  ContextError,
  EffectiveServer,
  Identity,
  McpRequestContext,
  OverridesSource,
  RequestOverrides,
  ResolvedServer,
  ToolsOptions,
} from "../types.js";

export interface ContextDeps {
  identify: (request: Request) => Promise<Identity | null>;
  /** The built-in identify, which reads headers only: set when the instance uses it, so no Web request is needed. */
  identifyHeaders?: (request: { readonly headers: HeaderReader }) => Identity | null;
  config: ReadonlyMap<string, ServerDefinition>;
  /** The callers' merged views of the stored tiers, shared by requests (tiers/views.ts). */
  views: CallerViews;
  engine: Pick<Engine, "tools" | "instructions">;
  hooks: McpHookable;
  validation: ValidationDeps;
  /** The most `mcp_servers` entries one request may bring (`maxServersPerScope`). */
  maxRequestServers: number;
  /** Tool pinning (SPEC §8); absent means off. */
  pinning?: ToolPinning;
  /** Per-user OAuth (SPEC §7): which OAuth servers the caller connected, and where to connect the others. */
  oauth?: Pick<OAuthManager, "status" | "connectPath">;
  /** The caller's own server switches (the preference route); absent means none. */
  preferences?: Pick<Preferences, "of">;
}

interface Resolution {
  identity: Identity | null;
  merged: MergedServer[];
  resolved: ResolvedServer[];
  /** The caller's shared view when this request injects exactly what it holds (no overrides, no per-user OAuth). */
  shared?: CallerView;
}

/**
 * The MCP side of one request. Everything is lazy and done once: the identity, the tiers and the
 * merge run on the first call that needs them, so a route that never asks for tools pays nothing.
 * A plain request (no `mcp_servers`, no `mcp_select`, no per-user OAuth server in its catalog) takes
 * its merge, redaction and resolved servers from the caller's shared view (tiers/views.ts) and its
 * tool set from the engine's shared merge (tools/merge.ts): it copies nothing unless a hook or tool
 * pinning has to change the set. Nothing here throws for a server's problem: it lands in `errors`.
 */
export function createRequestContext(
  deps: ContextDeps,
  source: RequestSource,
  overrides?: OverridesSource,
): McpRequestContext {
  const errors: ContextError[] = [];
  let identityPromise: Promise<Identity | null> | undefined;
  let resolution: Promise<Resolution> | undefined;
  let toolSet: Promise<ToolSet> | undefined;

  const identity = (): Promise<Identity | null> => {
    if (identityPromise === undefined) {
      const byHeaders = deps.identifyHeaders;
      if (byHeaders === undefined) identityPromise = deps.identify(source.request());
      else {
        try {
          identityPromise = Promise.resolve(byHeaders(source));
        } catch (error: unknown) {
          identityPromise = Promise.reject(error);
        }
      }
    }
    return identityPromise;
  };

  const resolve = (): Promise<Resolution> => {
    resolution ??= (async () => {
      // Awaited one by one (a warm plain request has nothing to wait for): Promise.all only when
      // the overrides come from a promise, so a rejected identity cannot leave it unhandled.
      const called = identity();
      const pendingOverrides = typeof overrides === "function" ? overrides() : overrides;
      let caller: Identity | null;
      let given: RequestOverrides | undefined;
      if (typeof (pendingOverrides as PromiseLike<unknown> | undefined)?.then === "function")
        [caller, given] = await Promise.all([called, pendingOverrides]);
      else {
        caller = await called;
        given = pendingOverrides as RequestOverrides | undefined;
      }
      const storeFailure = (error: unknown): undefined => {
        // The store is down: the config tier still works (without the caller's switches, the servers'
        // own availability applies), and the request says what is missing.
        errors.push({ code: "storage_unavailable", message: sanitizeText(errorMessage(error)) });
        return undefined;
      };
      // Both handled where they start, so either may settle while the request tier is validated.
      const viewed = deps.views.view(caller).catch(storeFailure);
      const preferred = caller && deps.preferences ? deps.preferences.of(caller).catch(storeFailure) : undefined;
      const tier = requestTier(given, deps.validation, deps.maxRequestServers, errors);
      const requestServers = tier === null ? null : await tier;
      const view = await viewed;
      const preferences = preferred === undefined ? undefined : await preferred;
      const select = selection(given, errors);
      if (view !== undefined) for (const error of view.errors) errors.push(error);
      // The shared view holds what every caller of the scope gets; a caller's own switches or OAuth
      // connections, and a request's overrides, make a merge of its own.
      const perUser =
        (preferences !== undefined && preferences.size > 0) ||
        (deps.oauth !== undefined && caller?.user !== undefined && view?.hasOAuth !== false);
      if (view !== undefined && requestServers === null && select === null && !perUser) {
        for (const error of view.merge.errors) errors.push(error);
        return { identity: caller, merged: view.merge.servers, resolved: view.resolved(caller), shared: view };
      }
      const tiers = view?.tiers ?? { config: deps.config, global: new Map<string, ServerDefinition>() };
      const inputs = {
        ...tiers,
        request: requestServers,
        select,
        ...(preferences === undefined ? {} : { preferences }),
      };
      const { connected, missing } = await connectedServers(deps, caller, mergeTiers(inputs).catalog);
      const result = mergeTiers({
        ...inputs,
        isConnected: (name) => connected.has(name),
        ...(deps.oauth ? { connectUrl: (name: string) => deps.oauth?.connectPath(name) ?? "" } : {}),
      });
      errors.push(
        ...result.errors.map((error) => {
          const scopes = error.code === "oauth_required" && error.server ? missing.get(error.server) : undefined;
          return scopes === undefined
            ? error
            : { ...error, message: `'${error.server}' needs more scopes; the user must connect it again`, scopes };
        }),
      );
      return { identity: caller, merged: result.servers, resolved: resolveServers(result.servers, caller) };
    })();
    return resolution;
  };

  const presented = (resolved: Resolution): readonly EffectiveServer[] =>
    resolved.shared?.presentedInjected() ?? resolved.merged.map((server) => presentServer(server, resolved.identity));

  const tools = (options?: ToolsOptions): Promise<ToolSet> => {
    toolSet ??= (async () => {
      const resolved = await resolve();
      const { identity: caller, resolved: servers } = resolved;
      const origin = lazyOrigin(caller, source);
      // Shared and frozen when the engine could reuse a merge; copied below only by who changes it.
      let set = await deps.engine.tools(servers, errors, options, origin);
      // Before `tools:resolved`, so hooks see (and the model gets) the set without blocked tools.
      const pinning = deps.pinning;
      if (pinning !== undefined) {
        if (pinning.mode === "block" && !pinning.settled(set, servers)) set = ownCopy(set);
        const pinned = pinning.check(
          set,
          servers,
          errors,
          (): PinCaller => ({
            identity: caller,
            requestId: stampRequestId(source.request()),
          }),
        );
        if (pinned !== undefined) await pinned;
      }
      // Only an app with tool-call hooks pays for the copies (about 0.4 µs a tool).
      if (hasHandlers(deps.hooks, TOOL_CALL_HOOKS)) {
        set = ownCopy(set);
        withOrigin(set, { ...origin });
      }
      // The payload redacts every server: built only when a hook listens.
      if (hasHandlers(deps.hooks, RESOLVED_HOOKS)) {
        set = ownCopy(set);
        await deps.hooks.callHook("tools:resolved", {
          ...origin,
          tools: set,
          servers: [...presented(resolved)],
          errors,
        });
      }
      return set;
    })();
    return toolSet;
  };

  return {
    errors,
    identity,
    tools,

    async inject(params, options) {
      const mcpTools = await tools(options);
      return { ...params, tools: overlayTools(mcpTools, params.tools ?? {}, "app's own", errors) };
    },

    async servers(): Promise<EffectiveServer[]> {
      return [...presented(await resolve())];
    },

    async instructions() {
      const { identity: caller, resolved } = await resolve();
      return deps.engine.instructions(resolved, errors, hookOriginOf(caller, stampRequestId(source.request())));
    },
  };
}

/**
 * A request's hook origin, made only when something reads it (a failure report, a hook): the request
 * id is stamped into the request's headers and the user sanitized, which a warm request need not pay.
 */
function lazyOrigin(caller: Identity | null, source: RequestSource): HookOrigin {
  let origin: HookOrigin | undefined;
  const made = (): HookOrigin => {
    origin ??= hookOriginOf(caller, stampRequestId(source.request()));
    return origin;
  };
  return {
    get caller() {
      return made().caller;
    },
    get requestId() {
      return made().requestId;
    },
  };
}

const RESOLVED_HOOKS = ["tools:resolved"] as const;
const TOOL_CALL_HOOKS = ["tool:before-call", "tool:after-call", "tool:error"] as const;

/**
 * The MCP tools of `set` as this request's copies, whose `execute` tells the tool-call hooks who
 * called and through which request. The tools themselves are shared by every request of a pooled
 * connection; the copy costs one object and one closure per tool and request (about 180 µs for 500
 * tools), so it is made only when a tool-call hook is registered when the tool set is built.
 */
function withOrigin(set: ToolSet, origin: HookOrigin): void {
  for (const name in set) {
    const tool = set[name];
    const execute = tool?.execute;
    if (tool === undefined || execute === undefined || typeof tool.metadata?.mcpServer !== "string") continue;
    const copy = Object.assign({}, tool);
    copy.execute = (input: unknown, options: Parameters<typeof execute>[1]) =>
      execute(input, { ...options, [MCP_ORIGIN]: origin } as Parameters<typeof execute>[1]);
    set[name] = copy;
  }
}

/**
 * The request tier from `mcp_servers`, validated like any untrusted definition. Invalid entries are
 * left out and reported with their code; a value that is not an object is reported and ignored.
 */
function requestTier(
  overrides: RequestOverrides | undefined,
  validation: ValidationDeps,
  maxServers: number,
  errors: ContextError[],
): Promise<Record<string, ServerDefinition | false> | null> | null {
  const servers = overrides?.servers;
  // No request tier is known at once, so a plain request waits for nothing here.
  if (servers === undefined || servers === null) return null;
  if (typeof servers !== "object" || Array.isArray(servers)) {
    errors.push({ code: "invalid_request", message: "mcp_servers must be an object of server definitions; ignored" });
    return null;
  }
  return validatedTier(servers as Record<string, unknown>, validation, maxServers, errors);
}

async function validatedTier(
  servers: Record<string, unknown>,
  validation: ValidationDeps,
  maxServers: number,
  errors: ContextError[],
): Promise<Record<string, ServerDefinition | false> | null> {
  const given = Object.entries(servers);
  // Each entry may open a connection: a request brings no more servers than a tenant may register.
  if (given.length > maxServers) {
    errors.push({
      code: "limit_exceeded",
      message: `mcp_servers holds more than ${maxServers} servers; the rest are ignored`,
    });
  }
  const tier: Record<string, ServerDefinition | false> = {};
  await Promise.all(
    given.slice(0, maxServers).map(async ([name, entry]) => {
      if (!isValidServerName(name)) {
        errors.push({ code: "invalid_request", message: "mcp_servers holds an invalid server name; ignored" });
        return;
      }
      if (entry === false) {
        tier[name] = false;
        return;
      }
      const result = await validateUntrustedDefinition(entry, validation, `/mcp_servers/${name}`);
      if (result.ok) tier[name] = result.value;
      else errors.push({ code: result.code, server: name, message: sanitizeText(result.message) });
    }),
  );
  // An object whose every entry was invalid must not turn into `{}`, which would opt out of everything.
  return Object.keys(servers).length > 0 && Object.keys(tier).length === 0 ? null : tier;
}

/** The OAuth servers of the catalog that this caller has connected (tokens stored for their current URL). */
async function connectedServers(
  deps: ContextDeps,
  caller: Identity | null,
  catalog: MergedServer[],
): Promise<{ connected: Set<string>; missing: Map<string, string[]> }> {
  const connected = new Set<string>();
  const missing = new Map<string, string[]>();
  const oauth = deps.oauth;
  if (!oauth || caller?.user === undefined) return { connected, missing };
  await Promise.all(
    catalog
      .filter((server) => server.definition.auth?.type === "oauth2")
      .map(async (server) => {
        const status = await oauth.status({
          name: server.name,
          source: server.source,
          definition: server.definition,
          scope: caller.scope,
          user: caller.user,
        });
        if (status.connected) connected.add(server.name);
        if (status.missingScopes) missing.set(server.name, status.missingScopes);
      }),
  );
  return { connected, missing };
}

function errorMessage(error: unknown): string {
  return McpServerSideError.isInstance(error) ? error.message : "the server store is unavailable";
}

function selection(overrides: RequestOverrides | undefined, errors: ContextError[]): string[] | null {
  const select = overrides?.select;
  if (select === undefined || select === null) return null;
  if (!Array.isArray(select) || !select.every((name) => typeof name === "string")) {
    errors.push({ code: "invalid_request", message: "mcp_select must be an array of server names; ignored" });
    return null;
  }
  return select;
}
