export { mcpServerSide } from "./middleware.js";
export { isMcpServerSide } from "@mcp-server-side/core";
export type { McpServerSideInput, McpServerSideMiddleware } from "./types.js";
export type {
  ContextError,
  EffectiveServer,
  Identity,
  McpRequestContext,
  McpServerSide,
  McpServerSideOptions,
} from "@mcp-server-side/core";
