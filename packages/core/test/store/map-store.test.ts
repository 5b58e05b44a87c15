import {
  assertMaxPins,
  assertMaxServers,
  assertStoredServer,
  assertStoreValue,
  assertToolPins,
  type McpStore,
  expiryOf,
  isExpired,
  readStoredServer,
  type StoreChangeEvent,
  type StoreScope,
  storeKeys,
} from "@mcp-server-side/core/store";
import { describeStoreConformance } from "@mcp-server-side/core/testing";

// A third store, written only with `@mcp-server-side/core/store`: a store is one file plus the conformance
// suite. Each method runs synchronously up to its answer, so it is atomic; instances share one MapBackend.
type MapBackend = { items: Map<string, unknown>; listeners: Set<(event: StoreChangeEvent) => void> };
type Refusal = "not_found" | "revision_mismatch" | undefined;

function mapStore(backend: MapBackend): McpStore {
  const { items, listeners } = backend;
  const serversOf = (scope: StoreScope): Map<string, string> => {
    const key = storeKeys.servers(scope);
    const servers = (items.get(key) as Map<string, string> | undefined) ?? new Map<string, string>();
    items.set(key, servers);
    return servers;
  };
  const emit = (event: StoreChangeEvent): void => {
    for (const listener of listeners) listener(event);
  };
  const expiring = (key: string, take: boolean): string | null => {
    const entry = items.get(key) as { value: string; expiresAt?: number } | undefined;
    if (take || (entry !== undefined && isExpired(entry.expiresAt, Date.now()))) items.delete(key);
    return entry === undefined || isExpired(entry.expiresAt, Date.now()) ? null : entry.value;
  };
  /** Why an update or delete of `name` must not happen, if it must not. */
  const refusal = (scope: StoreScope, name: string, expected?: string): Refusal => {
    const record = serversOf(scope).get(name);
    if (record === undefined) return "not_found";
    const ok = expected === undefined || readStoredServer(record, name).revision === expected;
    return ok ? undefined : "revision_mismatch";
  };
  const put = (key: string, value: string, ttlMs: number | undefined): void => {
    assertStoreValue(value);
    items.set(key, { value, expiresAt: expiryOf(ttlMs, Date.now()) });
  };
  const pinsOf = (key: string): Map<string, string> => new Map(items.get(key) as Map<string, string> | undefined);
  const scopes = (items.get(storeKeys.scopeIndex()) as Map<string, StoreScope> | undefined) ?? new Map();
  items.set(storeKeys.scopeIndex(), scopes);

  return {
    persistent: false,
    capabilities: { oauth: true, pins: true, events: true, scopeIndex: true, preferences: false },
    async list(scope) {
      return [...serversOf(scope)].map(([name, record]) => readStoredServer(record, name));
    },
    async get(scope, name) {
      const record = serversOf(scope).get(name);
      return record === undefined ? null : readStoredServer(record, name);
    },
    async create(scope, server, { maxServers }) {
      assertStoredServer(server);
      assertMaxServers(maxServers);
      const servers = serversOf(scope);
      if (servers.has(server.name)) return { ok: false, reason: "exists" };
      if (servers.size >= maxServers) return { ok: false, reason: "limit" };
      servers.set(server.name, JSON.stringify(server));
      scopes.set(JSON.stringify(scope), scope);
      emit({ type: "created", scope, name: server.name });
      return { ok: true };
    },
    async update(scope, server, { expectedRevision }) {
      assertStoredServer(server);
      const reason = refusal(scope, server.name, expectedRevision);
      if (reason !== undefined) return { ok: false, reason };
      serversOf(scope).set(server.name, JSON.stringify(server));
      emit({ type: "updated", scope, name: server.name });
      return { ok: true };
    },
    async delete(scope, name, { expectedRevision }) {
      const reason = refusal(scope, name, expectedRevision);
      if (reason !== undefined) return { ok: false, reason };
      serversOf(scope).delete(name);
      items.delete(storeKeys.toolPins(scope, name));
      const secrets = storeKeys.userSecretsOf(scope, name);
      for (const key of items.keys()) if (key.startsWith(secrets)) items.delete(key);
      emit({ type: "deleted", scope, name });
      return { ok: true };
    },
    async listScopes() {
      return [...scopes.values()].map((scope) => ({ ...scope }));
    },
    async watch(listener) {
      listeners.add(listener);
      return async () => void listeners.delete(listener);
    },
    watchHealthy: () => true,
    async getUserSecret(scope, server, user) {
      return expiring(storeKeys.userSecret(scope, server, user), false);
    },
    async setUserSecret(scope, server, user, value, ttlMs) {
      put(storeKeys.userSecret(scope, server, user), value, ttlMs);
    },
    async deleteUserSecret(scope, server, user) {
      items.delete(storeKeys.userSecret(scope, server, user));
    },
    async putPending(id, value, ttlMs) {
      put(storeKeys.pending(id), value, ttlMs); // expiryOf checks the ttl
    },
    async takePending(id) {
      return expiring(storeKeys.pending(id), true);
    },
    async putPendingIfAbsent(id, value, ttlMs) {
      const key = storeKeys.pending(id);
      if (expiring(key, false) !== null) return false;
      put(key, value, ttlMs);
      return true;
    },
    async getToolPins(scope, server) {
      return pinsOf(storeKeys.toolPins(scope, server));
    },
    async addToolPins(scope, server, pins, { maxPins }) {
      const key = storeKeys.toolPins(scope, server);
      assertToolPins(pins);
      assertMaxPins(maxPins);
      const stored = pinsOf(key);
      for (const [tool, pin] of pins) if (!stored.has(tool) && stored.size < maxPins) stored.set(tool, pin);
      items.set(key, stored);
      return new Map([...pins.keys()].flatMap((tool) => (stored.has(tool) ? [[tool, stored.get(tool) ?? ""]] : [])));
    },
    async setToolPins(scope, server, pins, options = {}) {
      const key = storeKeys.toolPins(scope, server);
      assertToolPins(pins);
      items.set(key, new Map([...(options.replace ? [] : pinsOf(key)), ...pins]));
    },
    async deleteToolPins(scope, server) {
      items.delete(storeKeys.toolPins(scope, server));
    },
  };
}

const shared: MapBackend = { items: new Map(), listeners: new Set() };
describeStoreConformance("a store over a Map", () => mapStore(shared), {
  capabilities: { changeEvents: true, crossInstanceEvents: true, expiry: true },
});
