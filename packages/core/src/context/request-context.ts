import type { ToolSet } from "ai";
import type { ServerDefinition } from "../config/schema.js";
import { validateUntrustedDefinition, type ValidationDeps } from "../config/validate.js";
import { isValidServerName } from "../config/schema.js";
import { McpServerSideError } from "../errors.js";
import type { HeaderReader } from "../identity.js";
import { hasHandlers, type HookOrigin, hookOriginOf, type McpHookable } from "../hooks.js";
import type { OAuthManager } from "../oauth/manager.js";
import type { Engine, OriginMaker } from "../pool/engine.js";
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
  preferences?: Pick<Preferences, "of" | "peek">;
}

interface Resolution {
  identity: Identity | null;
  merged: MergedServer[];
  resolved: ResolvedServer[];
  /** The caller's shared view when this request injects exactly what it holds (no overrides, no per-user OAuth). */
  shared?: CallerView;
}

type Overrides = RequestOverrides | undefined;

/**
 * The MCP side of one request. Everything is lazy and done once: the identity, the tiers and the
 * merge run on the first call that needs them, so a route that never asks for tools pays nothing.
 * A plain request (no `mcp_servers`, no `mcp_select`, no per-user OAuth server in its catalog) takes
 * its merge, redaction and resolved servers from the caller's shared view (tiers/views.ts) and its
 * tool set from the engine's shared merge (tools/merge.ts): it copies nothing unless a hook or tool
 * pinning has to change the set. When all of that is already read (the caller identified from
 * headers, its tiers and switches cached, every server's tools ready), `tools()` settles at once,
 * without a promise chain of its own. Nothing here throws for a server's problem: it lands in `errors`.
 */
export function createRequestContext(
  deps: ContextDeps,
  source: RequestSource,
  overrides?: OverridesSource,
): McpRequestContext {
  const context = new RequestContext(deps, source, overrides);
  // The public form: the members as own properties, as `{ ...mcp.forRequest(request) }` lists them.
  return {
    errors: context.errors,
    identity: context.identity,
    tools: context.tools,
    inject: context.inject,
    servers: context.servers,
    instructions: context.instructions,
  };
}

/**
 * The request context of `createRequestContext` with its members on the prototype: each is made on
 * first read (a route that asks for tools makes one function) and is the same function after, so
 * `const { tools } = context` works. What adapters hand out behind their own lazy object.
 */
export class RequestContext implements McpRequestContext, OriginMaker {
  readonly errors: ContextError[] = [];
  readonly #deps: ContextDeps;
  readonly #source: RequestSource;
  readonly #overrides: OverridesSource;
  /** The caller once known; undefined until then (null is the anonymous caller). */
  #caller: Identity | null | undefined;
  #identity: Promise<Identity | null> | undefined;
  /** The overrides as read (once: reading may consume the body), a value or a promise of one. */
  #given: Overrides | Promise<Overrides>;
  #givenRead = false;
  /** The resolution when it was known at once (the warm path). */
  #resolvedNow: Resolution | undefined;
  #resolution: Promise<Resolution> | undefined;
  #toolSet: Promise<ToolSet> | undefined;
  #origin: HookOrigin | undefined;
  #pinCaller: (() => PinCaller) | undefined;
  // The members, each made on first read.
  #identityMember: McpRequestContext["identity"] | undefined;
  #toolsMember: McpRequestContext["tools"] | undefined;
  #injectMember: McpRequestContext["inject"] | undefined;
  #serversMember: McpRequestContext["servers"] | undefined;
  #instructionsMember: McpRequestContext["instructions"] | undefined;

  constructor(deps: ContextDeps, source: RequestSource, overrides: OverridesSource) {
    this.#deps = deps;
    this.#source = source;
    this.#overrides = overrides;
  }

  get identity(): McpRequestContext["identity"] {
    this.#identityMember ??= () => this.#identify();
    return this.#identityMember;
  }

  get tools(): McpRequestContext["tools"] {
    this.#toolsMember ??= (options) => this.#tools(options);
    return this.#toolsMember;
  }

  get inject(): McpRequestContext["inject"] {
    this.#injectMember ??= async (params, options) => {
      const mcpTools = await this.#tools(options);
      return { ...params, tools: overlayTools(mcpTools, params.tools ?? {}, "app's own", this.errors) };
    };
    return this.#injectMember;
  }

  get servers(): McpRequestContext["servers"] {
    this.#serversMember ??= async () => [...presented(await this.#resolve())];
    return this.#serversMember;
  }

  get instructions(): McpRequestContext["instructions"] {
    this.#instructionsMember ??= async () =>
      this.#deps.engine.instructions((await this.#resolve()).resolved, this.errors, this);
    return this.#instructionsMember;
  }

  /**
   * The request's hook origin, made when something reads it (a failure report, a hook): the request id
   * is stamped into the request's headers and the user sanitized, which a warm request need not pay.
   */
  hookOrigin(): HookOrigin {
    this.#origin ??= hookOriginOf(this.#caller ?? null, stampRequestId(this.#source.request()));
    return this.#origin;
  }

  #identify(): Promise<Identity | null> {
    if (this.#identity === undefined) {
      if (this.#identifiedNow()) this.#identity = Promise.resolve(this.#caller as Identity | null);
      else this.#identity ??= this.#deps.identify(this.#source.request());
    }
    return this.#identity;
  }

  #tools(options?: ToolsOptions): Promise<ToolSet> {
    if (this.#toolSet === undefined) {
      try {
        const resolved = this.#resolveNow();
        const set = resolved === undefined ? this.#toolsLater(options) : this.#toolsOf(resolved, options);
        this.#toolSet = set instanceof Promise ? set : Promise.resolve(set);
      } catch (error: unknown) {
        this.#toolSet = Promise.reject(error);
      }
    }
    return this.#toolSet;
  }

  /** Identifies the caller at once when `identify` reads headers only; false when it must be awaited. */
  #identifiedNow(): boolean {
    if (this.#caller !== undefined) return true;
    const byHeaders = this.#deps.identifyHeaders;
    if (this.#identity !== undefined || byHeaders === undefined) return false;
    try {
      this.#caller = byHeaders(this.#source);
      return true;
    } catch (error: unknown) {
      this.#identity = Promise.reject(error);
      return false;
    }
  }

  #readOverrides(): Overrides | Promise<Overrides> {
    if (!this.#givenRead) {
      this.#givenRead = true;
      const overrides = this.#overrides;
      try {
        this.#given = typeof overrides === "function" ? overrides() : overrides;
      } catch (error: unknown) {
        this.#given = Promise.reject(error);
      }
    }
    return this.#given;
  }

  #resolve(): Promise<Resolution> {
    if (this.#resolution === undefined) {
      const resolved = this.#resolveNow();
      this.#resolution = resolved === undefined ? this.#resolveLater() : Promise.resolve(resolved);
    }
    return this.#resolution;
  }

  /**
   * The resolution of a plain request when everything it reads is at hand: the caller identified from
   * headers, no overrides, the caller's view and switches cached and read, nothing per user. Else
   * undefined, with nothing reported, and `#resolveLater` does the same work awaiting what it needs.
   */
  #resolveNow(): Resolution | undefined {
    if (this.#resolvedNow !== undefined) return this.#resolvedNow;
    if (this.#resolution !== undefined || !this.#identifiedNow()) return undefined;
    const given = this.#readOverrides();
    if (given instanceof Promise || (given !== undefined && (given.servers != null || given.select != null)))
      return undefined;
    const deps = this.#deps;
    const caller = this.#caller as Identity | null;
    const view = deps.views.peek(caller);
    if (view === undefined) return undefined;
    if (caller !== null && deps.preferences !== undefined) {
      const preferences = deps.preferences.peek(caller);
      if (preferences === undefined || preferences.size > 0) return undefined;
    }
    if (deps.oauth !== undefined && caller?.user !== undefined && view.hasOAuth !== false) return undefined;
    const errors = this.errors;
    for (const error of view.errors) errors.push(error);
    for (const error of view.merge.errors) errors.push(error);
    this.#resolvedNow = { identity: caller, merged: view.merge.servers, resolved: view.resolved(caller), shared: view };
    return this.#resolvedNow;
  }

  async #resolveLater(): Promise<Resolution> {
    const deps = this.#deps;
    const errors = this.errors;
    // Awaited one by one (a warm plain request has nothing to wait for): Promise.all only when
    // the overrides come from a promise, so a rejected identity cannot leave it unhandled.
    const called = this.#identify();
    const pendingOverrides = this.#readOverrides();
    let caller: Identity | null;
    let given: Overrides;
    if (pendingOverrides instanceof Promise) [caller, given] = await Promise.all([called, pendingOverrides]);
    else {
      caller = await called;
      given = pendingOverrides;
    }
    this.#caller = caller;
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
  }

  async #toolsLater(options: ToolsOptions | undefined): Promise<ToolSet> {
    return this.#toolsOf(await this.#resolve(), options);
  }

  /** The request's tool set: the set itself when the engine had every server's tools and nothing awaits. */
  #toolsOf(resolved: Resolution, options: ToolsOptions | undefined): ToolSet | Promise<ToolSet> {
    // Shared and frozen when the engine could reuse a merge; copied below only by who changes it.
    const set = this.#deps.engine.tools(resolved.resolved, this.errors, options, this);
    return set instanceof Promise
      ? set.then((loaded) => this.#checked(resolved, loaded))
      : this.#checked(resolved, set);
  }

  /** Tool pinning, then the hooks; at once when the pins are settled and no hook listens. */
  #checked(resolved: Resolution, collected: ToolSet): ToolSet | Promise<ToolSet> {
    let set = collected;
    const servers = resolved.resolved;
    // Before `tools:resolved`, so hooks see (and the model gets) the set without blocked tools.
    const pinning = this.#deps.pinning;
    if (pinning !== undefined) {
      if (pinning.mode === "block" && !pinning.settled(set, servers)) set = ownCopy(set);
      this.#pinCaller ??= () => ({ identity: this.#caller ?? null, requestId: stampRequestId(this.#source.request()) });
      const pinned = pinning.check(set, servers, this.errors, this.#pinCaller);
      if (pinned !== undefined) return pinned.then(() => this.#hooked(resolved, set));
    }
    return this.#hooked(resolved, set);
  }

  #hooked(resolved: Resolution, pinned: ToolSet): ToolSet | Promise<ToolSet> {
    const hooks = this.#deps.hooks;
    let set = pinned;
    // Only an app with tool-call hooks pays for the copies (about 0.4 µs a tool).
    if (hasHandlers(hooks, TOOL_CALL_HOOKS)) {
      set = ownCopy(set);
      withOrigin(set, { ...this.hookOrigin() });
    }
    // The payload redacts every server: built only when a hook listens.
    return hasHandlers(hooks, RESOLVED_HOOKS) ? this.#resolvedHook(resolved, ownCopy(set)) : set;
  }

  async #resolvedHook(resolved: Resolution, set: ToolSet): Promise<ToolSet> {
    await this.#deps.hooks.callHook("tools:resolved", {
      ...this.hookOrigin(),
      tools: set,
      servers: [...presented(resolved)],
      errors: this.errors,
    });
    return set;
  }
}

const presented = (resolved: Resolution): readonly EffectiveServer[] =>
  resolved.shared?.presentedInjected() ?? resolved.merged.map((server) => presentServer(server, resolved.identity));

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
