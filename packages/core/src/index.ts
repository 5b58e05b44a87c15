// The public API of `@mcp-server-side/core`: the factory, its options and the types an app touches.
// Adapter authors: `@mcp-server-side/core/adapter` and `/node`; store authors: `/store` and `/testing`.
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
  RedactedDefinition,
  RequestOverrides,
  ResolvedServer,
  ServerAuthSummary,
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
export type { SettingsUiOptions } from "./ui/serve.js";
export type { McpServerSideOptions, ChatCompletionsOptions, Logger, Lookup, LookupAddress, Limits } from "./options.js";
export { DEFAULT_LIMITS } from "./options.js";
export type { ServerDefinition, AuthConfig, ToolFilter, Availability } from "./config/schema.js";
// Store authors: `@mcp-server-side/core/store` has the store types, key builders and checks.
export type { McpStore } from "./store/types.js";
export { createMcpServerSide } from "./create.js";
export { sanitize } from "./security/redact.js";
export { unstorageStore } from "./store/unstorage-store.js";
export { identifyByApiKey } from "./identity.js";
export type { OAuthOptions, OAuthStatus } from "./oauth/manager.js";
