/**
 * `@mcp-server-side/core/store`: what a store author needs, so that a store is one file plus the
 * conformance suite (`@mcp-server-side/core/testing`). The keys, the stored-record schema, the limit and
 * TTL checks and the error mapping are the ones the built-in stores use.
 */
export { isValidServerName } from "../config/schema.js";
export { McpServerSideError } from "../errors.js";
export { resolveStore, STORE_CAPABILITY_METHODS, storeCapabilities } from "./capabilities.js";
export { storeUnavailable, toStoreError, withStoreErrors } from "./errors.js";
export {
  assertServerName,
  createStoreKeys,
  type StoreKeyOptions,
  type StoreKeys,
  scopeSegment,
  storeKeys,
} from "./keys.js";
export {
  assertMaxPins,
  assertMaxServers,
  assertStoreValue,
  assertToolPins,
  assertTtl,
  expiryOf,
  isExpired,
} from "./limits.js";
export { assertStoredServer, readStoredServer, readStoredServers, storedServerSchema } from "./records.js";
export type {
  CompleteStore,
  CreateResult,
  DeleteResult,
  McpStore,
  McpStoreCapabilities,
  PinScope,
  ResolvedStore,
  StoreChangeEvent,
  StoredServer,
  StoreScope,
  UpdateResult,
} from "./types.js";
export { isMcpStore } from "./types.js";
export { type UnstorageStoreOptions, unstorageStore } from "./unstorage-store.js";
