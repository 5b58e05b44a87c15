export { McpServerSideError } from "./errors.js";
export type { ErrorCode, FieldError } from "./errors.js";
export type {
  ContextError,
  EffectiveServer,
  Identity,
  McpRequestContext,
  McpServerSide,
  OverridesSource,
  ReadyReport,
  RequestOverrides,
  ResolvedServer,
  Tier,
  ToolsOptions,
} from "./types.js";
export type {
  McpHooks,
  McpHookable,
  HookCaller,
  HookOrigin,
  HookServerRef,
  ServerChange,
  ToolCallPayload,
  ToolChange,
} from "./hooks.js";
export type { TelemetryOptions } from "./telemetry/telemetry.js";
export type { HealthOptions, ServerHealth } from "./http/health.js";
export type { McpServerSideOptions, ChatCompletionsOptions, Logger, Lookup, LookupAddress, Limits } from "./options.js";
export { DEFAULT_LIMITS } from "./options.js";
export type { ServerDefinition, AuthConfig, ToolFilter, Availability } from "./config/schema.js";
export { serverDefinitionSchema, isValidServerName } from "./config/schema.js";
export type { McpStore, PinScope, StoredServer, StoreScope, StoreChangeEvent } from "./store/types.js";
export { createMcpServerSide } from "./create.js";
export { mergeTiers } from "./tiers/merge.js";
export type { TierInputs, MergedServer, MergeResult } from "./tiers/merge.js";
export { sanitize } from "./security/redact.js";
export { unstorageStore } from "./store/unstorage-store.js";
export { identifyByApiKey } from "./identity.js";
export { storeKeys, scopeSegment } from "./store/keys.js";
export type { OAuthOptions, OAuthStatus } from "./oauth/manager.js";
export type { CreateResult, UpdateResult, DeleteResult } from "./store/types.js";
export { createChatCompletionsHandler } from "./chat/handler.js";
export type { ChatCompletionsDeps } from "./chat/handler.js";
export {
  contextForMount,
  isMcpServerSide,
  lazyContext,
  overridesFromBody,
  overridesFromJsonRequest,
  overridesFromParsedBody,
  pathOf,
  toMcpServerSide,
} from "./adapter.js";
