export { mcpServerSide } from "./middleware.js";
export { isMcpServerSide } from "@mcp-server-side/core";
export type { McpServerSideMiddleware } from "./middleware.js";
export type { McpServerSideEnv, McpServerSideInput } from "./types.js";
export type {
  ContextError,
  EffectiveServer,
  Identity,
  McpRequestContext,
  McpServerSide,
  McpServerSideOptions,
} from "@mcp-server-side/core";
