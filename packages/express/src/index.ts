export { mcpServerSide } from "./middleware.js";
export { isMcpServerSide } from "@mcp-server-side/core/adapter";
export type { McpServerSideInput } from "@mcp-server-side/core/adapter";
export type { McpServerSideMiddleware } from "./types.js";
export type {
  ContextError,
  EffectiveServer,
  Identity,
  McpRequestContext,
  McpServerSide,
  McpServerSideOptions,
} from "@mcp-server-side/core";
