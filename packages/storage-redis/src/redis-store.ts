import { createHash, randomUUID } from "node:crypto";
import {
  assertMaxPins,
  assertMaxServers,
  assertServerName,
  assertStoredServer,
  assertStoreValue,
  assertToolPins,
  assertTtl,
  type CompleteStore,
  createStoreKeys,
  isValidServerName,
  McpServerSideError,
  readStoredServer,
  type StoreScope,
  storeUnavailable as unavailable,
  toStoreError,
} from "@mcp-server-side/core/store";
import { type Cluster, Redis } from "ioredis";
import { createChangeEvents } from "./events.js";

export interface RedisStoreOptions {
  /**
   * An ioredis client (`Redis` or `Cluster`). The store uses it as it is and never closes it; change
   * events use one duplicate of it. Give `client` or `url`, not both.
   */
  client?: Redis | Cluster;
  /**
   * A `redis://` or `rediss://` URL. The store then creates the client itself (connecting on first use,
   * offline queue off, reconnecting for ever) and closes it in `close()`.
   */
  url?: string;
  /** Prefix of every key and of the change-event channel (`${prefix}events`). @default "mcp:" */
  prefix?: string;
  /**
   * The longest an operation waits for Redis before it fails with `storage_unavailable` (503), whatever
   * the client's own offline queue would do. @default 2000
   */
  timeoutMs?: number;
}

/** A Lua script with its SHA-1, run by EVALSHA and loaded by EVAL only when Redis does not know it yet. */
interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash("sha1").update(source).digest("hex") };
}

// Each script touches one key (the scope's hash), so it runs on one Cluster node, and publishes the change
// only when the write happened. ARGV carries the record, the check's inputs, the channel and the message.

/** ARGV: name, record, maxServers (-1: no limit), channel, message. */
const CREATE = script(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'exists' end
local limit = tonumber(ARGV[3])
if limit >= 0 and redis.call('HLEN', KEYS[1]) >= limit then return 'limit' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 'ok'
`);

/** ARGV: name, record, check ('1' or '0'), expected revision, channel, message. */
const UPDATE = script(`
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 'not_found' end
if ARGV[3] == '1' and cjson.decode(current)['revision'] ~= ARGV[4] then return 'revision_mismatch' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 'ok'
`);

/**
 * Removes server ARGV[1] from every user's switches of a scope. KEYS[2] is the scope's index of preference
 * hashes; they share the scope's hash tag, so this runs in the same script as the scope's own writes.
 */
const FORGET_PREFERENCES = `
local users = redis.call('SMEMBERS', KEYS[2])
for i = 1, #users do
  redis.call('HDEL', users[i], ARGV[1])
  if redis.call('EXISTS', users[i]) == 0 then redis.call('SREM', KEYS[2], users[i]) end
end
`;

/**
 * KEYS: the scope's servers hash, its preferences index. ARGV: name, check ('1' or '0'), expected revision,
 * channel, message. The users' switches for the server go in the same step: a new server of that name
 * starts from its own availability.
 */
const DELETE = script(`
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 'not_found' end
if ARGV[2] == '1' and cjson.decode(current)['revision'] ~= ARGV[3] then return 'revision_mismatch' end
redis.call('HDEL', KEYS[1], ARGV[1])
${FORGET_PREFERENCES}
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 'ok'
`);

/**
 * A deleted global server's switches in one tenant scope, unless that scope has a server of its own by that
 * name (the switches are then about it). KEYS: the scope's servers hash, its preferences index. ARGV: name.
 */
const FORGET_GLOBAL_PREFERENCES = script(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'ok' end
${FORGET_PREFERENCES}
return 'ok'
`);

/** GET and DEL in one step (GETDEL needs Redis 6.2). */
const TAKE = script(`
local value = redis.call('GET', KEYS[1])
if value then redis.call('DEL', KEYS[1]) end
return value
`);

/**
 * First sighting wins: HSETNX per tool while the hash holds fewer than the limit, then the stored pins of
 * the given tools. ARGV: maxPins, then tool and pin pairs. One key, so it runs on one Cluster node.
 */
const ADD_PINS = script(`
local limit = tonumber(ARGV[1])
local stored = {}
for i = 2, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 and redis.call('HLEN', KEYS[1]) < limit then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
  stored[#stored + 1] = ARGV[i]
  stored[#stored + 1] = redis.call('HGET', KEYS[1], ARGV[i]) or false
end
return stored
`);

/** An approval: ARGV: replace ('1' or '0'), then tool and pin pairs. */
const SET_PINS = script(`
if ARGV[1] == '1' then redis.call('DEL', KEYS[1]) end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 'ok'
`);

/**
 * A user's secret and the index of its server's users, in one slot (the server's hash tag).
 * KEYS: secret, index. ARGV: value, ttl in ms ('' for none).
 */
const SET_SECRET = script(`
if ARGV[2] == '' then redis.call('SET', KEYS[1], ARGV[1]) else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
redis.call('SADD', KEYS[2], KEYS[1])
return 'ok'
`);

/** KEYS: secret, index. */
const DELETE_SECRET = script(`
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], KEYS[1])
return 'ok'
`);

/** Every user's secret of a server, from its index, in one step. KEYS: index (members share its slot). */
const DELETE_SECRETS = script(`
local members = redis.call('SMEMBERS', KEYS[1])
for i = 1, #members do redis.call('DEL', members[i]) end
redis.call('DEL', KEYS[1])
return 'ok'
`);

/**
 * One user's preference, set ('1'/'0') or removed (''), announced in the same step. KEYS: the user's hash,
 * the scope's preferences index (one slot). ARGV: server, value, channel, message.
 */
const SET_PREFERENCE = script(`
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('SADD', KEYS[2], KEYS[1]) else redis.call('SREM', KEYS[2], KEYS[1]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 'ok'
`);

/**
 * The store on Redis, for many workers: all servers of a scope in one hash (one HGETALL lists them,
 * whatever the number of tenants), create-if-absent with the `maxServers` limit and revision-checked
 * update/delete atomic in Lua, change events over pub/sub. One key per operation, so it works on Cluster.
 */
export function redisStore(options: RedisStoreOptions): CompleteStore {
  const { client: givenClient, url } = options;
  if ((givenClient === undefined) === (url === undefined)) {
    throw new McpServerSideError(
      "invalid_config",
      "redisStore needs either `client` (an ioredis Redis or Cluster) or `url` (redis://…), not both",
    );
  }
  const prefix = options.prefix ?? "mcp:";
  // Validates the prefix (no `{`: it would break the hash tags); the braces make each group one Cluster slot.
  const keys = createStoreKeys({ prefix, hashTags: true });
  const timeoutMs = options.timeoutMs ?? 2_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new McpServerSideError("invalid_config", "redisStore `timeoutMs` must be a positive number");

  const ownsClient = givenClient === undefined;
  const client: Redis | Cluster = givenClient ?? createClient(url ?? "");
  const events = createChangeEvents({ client, channel: `${prefix}events`, origin: randomUUID(), timeoutMs });
  const connection = createConnectionGate(client);

  /** The set of every scope that holds servers, tenant ids as given (a servers key may hold only their digest). */
  const scopesKey = keys.scopeIndex();

  async function run<T>(operation: () => Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable("Redis did not answer in time")), timeoutMs);
    });
    const work = connection.usable().then(operation);
    // The work may settle after the deadline; its late failure must not become an unhandled rejection.
    work.catch(() => undefined);
    try {
      return await Promise.race([work, deadline]);
    } catch (error) {
      throw toStoreError(error, "The Redis store failed");
    } finally {
      clearTimeout(timer);
    }
  }

  async function evalScript(source: Script, key: string, args: string[]): Promise<unknown> {
    try {
      return await client.evalsha(source.sha, 1, key, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return client.eval(source.source, 1, key, ...args);
    }
  }

  /** A script over several keys of one slot (a server's user secrets and their index). */
  async function evalKeys(source: Script, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await client.evalsha(source.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return client.eval(source.source, keys.length, ...keys, ...args);
    }
  }

  async function forgetGlobalPreferences(name: string): Promise<void> {
    let cursor = "0";
    do {
      const [next, page] = await run(() => client.sscan(keys.preferenceScopes(), cursor, "COUNT", 1000));
      cursor = next;
      for (const member of page) {
        const scope = decodeScope(member);
        if (scope?.kind !== "scope") continue;
        const scopeKeys = [keys.servers(scope), keys.preferencesIndex(scope)];
        expectOk(await run(() => evalKeys(FORGET_GLOBAL_PREFERENCES, scopeKeys, [name])));
      }
    } while (cursor !== "0");
  }

  return {
    persistent: true,
    capabilities: { oauth: true, pins: true, events: true, scopeIndex: true, preferences: true },

    async list(scope) {
      const fields = await run(() => client.hgetall(keys.servers(scope)));
      const servers = Object.entries(fields).map(([name, value]) => readStoredServer(value, name));
      // A hash has no order; creation order is what a caller listing its servers expects.
      return servers.sort((left, right) => compare(left.createdAt, right.createdAt) || compare(left.name, right.name));
    },

    async get(scope, name) {
      const value = await run(() => client.hget(keys.servers(scope), name));
      return value === null ? null : readStoredServer(value, name);
    },

    async create(scope, server, { maxServers }) {
      assertStoredServer(server);
      const limit = limitArgument(maxServers);
      const message = events.encode({ type: "created", scope, name: server.name });
      // The scope joins the index before its first server exists, in a command of its own: a script
      // touching both keys would fail on Cluster (two hash slots). SADD is idempotent, and a create that
      // then fails leaves at most an empty scope listed, never a scope with servers unlisted.
      await run(() => client.sadd(scopesKey, encodeScope(scope)));
      const reply = await run(() =>
        evalScript(CREATE, keys.servers(scope), [
          server.name,
          JSON.stringify(server),
          limit,
          `${prefix}events`,
          message,
        ]),
      );
      if (reply === "exists" || reply === "limit") return { ok: false, reason: reply };
      expectOk(reply);
      events.emitLocal({ type: "created", scope, name: server.name });
      return { ok: true };
    },

    async update(scope, server, { expectedRevision }) {
      assertStoredServer(server);
      const check = expectedRevision === undefined ? ["0", ""] : ["1", expectedRevision];
      const message = events.encode({ type: "updated", scope, name: server.name });
      const reply = await run(() =>
        evalScript(UPDATE, keys.servers(scope), [
          server.name,
          JSON.stringify(server),
          ...check,
          `${prefix}events`,
          message,
        ]),
      );
      if (reply === "not_found" || reply === "revision_mismatch") return { ok: false, reason: reply };
      expectOk(reply);
      events.emitLocal({ type: "updated", scope, name: server.name });
      return { ok: true };
    },

    async delete(scope, name, { expectedRevision }) {
      const check = expectedRevision === undefined ? ["0", ""] : ["1", expectedRevision];
      if (!isValidServerName(name)) return { ok: false, reason: "not_found" };
      const message = events.encode({ type: "deleted", scope, name });
      const scopeKeys = [keys.servers(scope), keys.preferencesIndex(scope)];
      const reply = await run(() => evalKeys(DELETE, scopeKeys, [name, ...check, `${prefix}events`, message]));
      if (reply === "not_found" || reply === "revision_mismatch") return { ok: false, reason: reply };
      expectOk(reply);
      // A global server's switches live in every tenant's scope (other slots): swept after, scope by scope.
      if (scope.kind === "global") await forgetGlobalPreferences(name);
      // The server's trust goes with it. Another key (another Cluster slot), so a command of its own: a
      // failure here leaves pins that a new server of that name is compared against, never fewer checks.
      await run(() => client.del(keys.toolPins(scope, name)));
      // So are its users' OAuth tokens and its client registration, all at once (one slot, one script).
      await run(() => evalKeys(DELETE_SECRETS, [keys.userSecretIndex(scope, name)], []));
      events.emitLocal({ type: "deleted", scope, name });
      return { ok: true };
    },

    async listScopes() {
      // SSCAN over the one set (never the keyspace), in pages, so a large index does not block Redis.
      const members = new Set<string>();
      let cursor = "0";
      do {
        const [next, page] = await run(() => client.sscan(scopesKey, cursor, "COUNT", 1000));
        cursor = next;
        for (const member of page) members.add(member);
      } while (cursor !== "0");
      const scopes: StoreScope[] = [];
      for (const member of members) {
        const scope = decodeScope(member);
        if (scope !== undefined) scopes.push(scope);
      }
      return scopes;
    },

    watch(listener) {
      return events.watch(listener);
    },

    watchHealthy() {
      return events.healthy();
    },

    async getUserSecret(scope, server, user) {
      const key = keys.userSecret(scope, server, user);
      return run(() => client.get(key));
    },

    async setUserSecret(scope, server, user, value, ttlMs) {
      const secretKeys = [keys.userSecret(scope, server, user), keys.userSecretIndex(scope, server)];
      assertStoreValue(value);
      const ttl = ttlMs === undefined ? "" : ttlArgument(ttlMs);
      expectOk(await run(() => evalKeys(SET_SECRET, secretKeys, [value, ttl])));
    },

    async deleteUserSecret(scope, server, user) {
      const secretKeys = [keys.userSecret(scope, server, user), keys.userSecretIndex(scope, server)];
      expectOk(await run(() => evalKeys(DELETE_SECRET, secretKeys, [])));
    },

    async listUserSecrets(scope, server) {
      // The server's users index and its members share one slot: one MGET reads them all.
      const members = await run(() => client.smembers(keys.userSecretIndex(scope, server)));
      if (members.length === 0) return [];
      const values = await run(() => client.mget(...members));
      return values.filter((value): value is string => value !== null);
    },

    async putPending(id, value, ttlMs) {
      const key = keys.pending(id);
      assertStoreValue(value);
      await run(() => client.set(key, value, "PX", ttlArgument(ttlMs)));
    },

    async putPendingIfAbsent(id, value, ttlMs) {
      const key = keys.pending(id);
      assertStoreValue(value);
      return (await run(() => client.set(key, value, "PX", ttlArgument(ttlMs), "NX"))) === "OK";
    },

    async takePending(id) {
      const key = keys.pending(id);
      const value = await run(() => evalScript(TAKE, key, []));
      if (value === null || typeof value === "string") return value;
      throw unavailable("Redis answered with an unexpected reply");
    },

    async getToolPins(scope, server) {
      const fields = await run(() => client.hgetall(keys.toolPins(scope, server)));
      return new Map(Object.entries(fields));
    },

    async addToolPins(scope, server, pins, { maxPins }) {
      const key = keys.toolPins(scope, server);
      const args = pinArguments(pins);
      if (args.length === 0) return new Map();
      const reply = await run(() => evalScript(ADD_PINS, key, [pinLimitArgument(maxPins), ...args]));
      if (!Array.isArray(reply)) throw unavailable("Redis answered with an unexpected reply");
      const stored = new Map<string, string>();
      for (let index = 0; index + 1 < reply.length; index += 2) {
        const tool: unknown = reply[index];
        const pin: unknown = reply[index + 1];
        if (typeof tool === "string" && typeof pin === "string") stored.set(tool, pin);
      }
      return stored;
    },

    async setToolPins(scope, server, pins, options = {}) {
      const key = keys.toolPins(scope, server);
      const args = pinArguments(pins);
      if (args.length === 0 && !options.replace) return;
      expectOk(await run(() => evalScript(SET_PINS, key, [options.replace ? "1" : "0", ...args])));
    },

    async deleteToolPins(scope, server) {
      await run(() => client.del(keys.toolPins(scope, server)));
    },

    async getPreferences(scope, user) {
      const fields = await run(() => client.hgetall(keys.preferences(scope, user)));
      return new Map(Object.entries(fields).map(([server, value]) => [server, value === "1"]));
    },

    async setPreference(scope, user, server, enabled) {
      assertServerName(server);
      const event = { type: "preferences", scope, user } as const;
      const value = enabled === null ? "" : enabled ? "1" : "0";
      const args = [server, value, `${prefix}events`, events.encode(event)];
      // Listed first, in a command of its own (another slot), as `create` lists its scope.
      if (scope.kind === "scope") await run(() => client.sadd(keys.preferenceScopes(), encodeScope(scope)));
      const preferenceKeys = [keys.preferences(scope, user), keys.preferencesIndex(scope)];
      expectOk(await run(() => evalKeys(SET_PREFERENCE, preferenceKeys, args)));
      events.emitLocal(event);
    },

    async ping() {
      await run(() => client.ping());
    },

    async close() {
      await events.close();
      if (!ownsClient) return;
      if (client.status === "ready") await client.quit().catch(() => client.disconnect());
      else client.disconnect();
    },
  };
}

/**
 * The client the store creates from a URL: it connects on first use, fails a command at once rather than
 * queueing it while Redis is away (`enableOfflineQueue: false`), and keeps reconnecting in the background.
 */
function createClient(url: string): Redis {
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  // Connection errors show up as the client's status; without a listener ioredis would print each retry.
  client.on("error", () => undefined);
  return client;
}

interface ConnectionGate {
  /** Resolves when a command can be sent now; rejects at once when Redis is known to be away. */
  usable(): Promise<void>;
}

/**
 * Decides from the client's status whether to send, wait or fail: a first connection is waited for, a
 * lost one fails at once (ioredis reconnects in the background, and the next request finds it ready).
 */
function createConnectionGate(client: Redis | Cluster): ConnectionGate {
  let connecting: Promise<void> | undefined;

  function waitForReady(): Promise<void> {
    // One shared wait per connecting phase, so concurrent requests do not pile listeners on the client.
    connecting ??= new Promise<void>((resolve, reject) => {
      const settle = (): void => {
        client.off("ready", onReady);
        client.off("close", onDown);
        client.off("end", onDown);
        connecting = undefined;
      };
      const onReady = (): void => {
        settle();
        resolve();
      };
      const onDown = (): void => {
        settle();
        reject(unavailable("Redis is unreachable"));
      };
      client.on("ready", onReady);
      client.on("close", onDown);
      client.on("end", onDown);
    });
    return connecting;
  }

  return {
    usable() {
      switch (client.status) {
        case "ready":
          return Promise.resolve();
        case "wait":
          client.connect().catch(() => undefined);
          return waitForReady();
        case "connecting":
        case "connect":
          return waitForReady();
        default:
          return Promise.reject(unavailable("Redis is unreachable"));
      }
    },
  };
}

/**
 * A scope as a member of the scope set. The set keeps a scope after its last server is deleted: removing
 * it safely would need the scope's hash and the set in one script, which Cluster forbids.
 */
function encodeScope(scope: StoreScope): string {
  return scope.kind === "global" ? "global" : `scope:${scope.id}`;
}

function decodeScope(member: string): StoreScope | undefined {
  if (member === "global") return { kind: "global" };
  if (member.startsWith("scope:")) return { kind: "scope", id: member.slice("scope:".length) };
  return undefined;
}

// Script arguments: the kit checks the values, these only spell them for Lua.

function pinArguments(pins: ReadonlyMap<string, string>): string[] {
  assertToolPins(pins);
  return [...pins].flat();
}

function pinLimitArgument(maxPins: number): string {
  assertMaxPins(maxPins);
  return maxPins === Number.POSITIVE_INFINITY ? "2147483647" : String(maxPins);
}

function limitArgument(maxServers: number): string {
  assertMaxServers(maxServers);
  return maxServers === Number.POSITIVE_INFINITY ? "-1" : String(maxServers);
}

function ttlArgument(ttlMs: number): string {
  assertTtl(ttlMs);
  return String(Math.max(1, Math.ceil(ttlMs)));
}

function expectOk(reply: unknown): void {
  if (reply !== "ok") throw unavailable("Redis answered with an unexpected reply");
}

function compare(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}
