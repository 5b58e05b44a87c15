import { isValidServerName, type StoreChangeEvent, type StoreScope } from "@mcp-server-side/core/store";
import { type Cluster, Redis } from "ioredis";

type Listener = (event: StoreChangeEvent) => void;
type WriteEvent = Extract<StoreChangeEvent, { name: string }> | Extract<StoreChangeEvent, { type: "preferences" }>;

export interface ChangeEventsOptions {
  /** The store's client; the subscriber is a duplicate of it, since a subscribed connection can do nothing else. */
  client: Redis | Cluster;
  /** The pub/sub channel every instance sharing the prefix publishes on. */
  channel: string;
  /** This instance's id, so it does not hear its own writes twice (it tells its listeners at once). */
  origin: string;
  /** How long `watch()` waits for the first subscription before it returns anyway (then unhealthy). */
  timeoutMs: number;
}

export interface ChangeEvents {
  /** The message a write publishes (inside its Lua script, so only a write that happened is announced). */
  encode(event: WriteEvent): string;
  /** Tells this instance's listeners about its own write. */
  emitLocal(event: WriteEvent): void;
  watch(listener: Listener): Promise<() => Promise<void>>;
  /** True while the subscription is up, so every instance's writes reach the listeners. */
  healthy(): boolean;
  close(): Promise<void>;
}

/**
 * Change events over Redis pub/sub. The subscriber connection starts with the first listener and ends
 * with the last one. While it is down, `healthy()` is false; the listeners get a `reset` when it goes
 * down (nothing cached can be trusted to stay current) and again once it is subscribed, because events
 * published meanwhile are lost.
 */
export function createChangeEvents(options: ChangeEventsOptions): ChangeEvents {
  const { client, channel, origin, timeoutMs } = options;
  const listeners = new Set<Listener>();
  /** Between the first listener and the last one leaving: a subscription is wanted. */
  let running = false;
  let subscriber: Redis | undefined;
  let subscribed = false;
  let missedEvents = false;
  /** `watch()` calls waiting for the first subscription. */
  const waiting: Array<() => void> = [];
  let reopenTimer: ReturnType<typeof setTimeout> | undefined;
  let failedOpens = 0;

  function emit(event: StoreChangeEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the others still hear of the change.
      }
    }
  }

  function onMessage(from: string, message: string): void {
    if (from !== channel) return;
    const event = decode(message, origin);
    if (event !== null) emit(event);
  }

  function subscribe(connection: Redis): Promise<void> {
    return connection.subscribe(channel).then(
      () => {
        if (subscriber !== connection) return;
        subscribed = true;
        failedOpens = 0;
        for (const resolve of waiting.splice(0)) resolve();
        if (missedEvents) {
          missedEvents = false;
          emit({ type: "reset" });
        }
      },
      () => {
        // Not subscribed yet; the next "ready" (or the next connection) tries again.
      },
    );
  }

  function open(): void {
    if (!running) return;
    const connection = connectionForSubscribing(client);
    if (connection === undefined) {
      reopenLater();
      return;
    }
    subscriber = connection;
    // The subscriber is this module's own connection: its errors show up as state, not as crashes.
    connection.on("error", () => undefined);
    connection.on("message", onMessage);
    connection.on("ready", () => void subscribe(connection));
    const down = (): void => {
      if (subscriber !== connection) return;
      const wasSubscribed = subscribed;
      subscribed = false;
      if (!wasSubscribed) return;
      missedEvents = true;
      // From now on changes go unheard: what was cached stops being served (the next read asks Redis,
      // and fails with storage_unavailable while it is down) rather than living out its lifetime.
      emit({ type: "reset" });
    };
    connection.on("close", down);
    // A connection that gave up (a Cluster node's, see connectionForSubscribing) is replaced by a new one.
    connection.on("end", () => {
      down();
      if (subscriber !== connection) return;
      subscriber = undefined;
      failedOpens += 1;
      reopenLater();
    });
    void subscribe(connection);
  }

  function reopenLater(): void {
    if (!running || reopenTimer !== undefined) return;
    const delay = Math.min(2_000, 50 * 2 ** Math.min(failedOpens, 6));
    reopenTimer = setTimeout(() => {
      reopenTimer = undefined;
      open();
    }, delay);
    // Waiting to resubscribe is no reason to keep the process alive.
    reopenTimer.unref?.();
  }

  function untilSubscribed(): Promise<void> {
    if (subscribed) return Promise.resolve();
    return new Promise((resolve) => waiting.push(resolve));
  }

  function stop(): void {
    running = false;
    clearTimeout(reopenTimer);
    reopenTimer = undefined;
    const connection = subscriber;
    subscriber = undefined;
    subscribed = false;
    missedEvents = false;
    failedOpens = 0;
    for (const resolve of waiting.splice(0)) resolve();
    connection?.disconnect();
  }

  return {
    encode(event) {
      return JSON.stringify(
        event.type === "preferences"
          ? { type: event.type, scope: event.scope, user: event.user, origin }
          : { type: event.type, scope: event.scope, name: event.name, origin },
      );
    },

    emitLocal(event) {
      emit(event);
    },

    async watch(listener) {
      listeners.add(listener);
      if (!running) {
        running = true;
        open();
        // When Redis is down, watch() still returns: the subscription comes up by itself and healthy() says when.
        await withDeadline(untilSubscribed(), timeoutMs);
      }
      return async () => {
        listeners.delete(listener);
        if (listeners.size === 0) stop();
      };
    },

    healthy() {
      return subscriber !== undefined && subscribed && subscriber.status === "ready";
    },

    async close() {
      listeners.clear();
      stop();
    },
  };
}

/**
 * A connection for SUBSCRIBE. It keeps the offline queue (SUBSCRIBE waits for the connection instead of
 * failing), since it carries no request.
 *
 * On a single Redis it is a duplicate of the client that reconnects for ever; its "ready" handler
 * subscribes again. Not ioredis's `autoResubscribe`: that sends SUBSCRIBE with no rejection handler, so a
 * connection closed before Redis answered (the store closing, Redis going away again) would be an
 * unhandled rejection, which ends a Node process by default.
 * On a Cluster it is a plain connection to one node the client knows, which ends when it drops: PUBLISH
 * reaches every node of a cluster, so any node will do, and the next connection may pick a live one. A
 * Cluster's own subscriber (`cluster.duplicate().subscribe()`) would move to another node silently,
 * so nobody would learn that events were lost meanwhile. Undefined while the Cluster knows no node yet.
 */
function connectionForSubscribing(client: Redis | Cluster): Redis | undefined {
  const overrides = {
    enableOfflineQueue: true,
    lazyConnect: false,
    maxRetriesPerRequest: null,
    autoResubscribe: false,
  };
  if (!client.isCluster) return (client as Redis).duplicate(overrides);
  const cluster = client as Cluster;
  const nodes = cluster.nodes("all");
  if (nodes.length === 0) {
    // A lazy Cluster client has not looked for its nodes yet; the store's first command would do the same.
    if (cluster.status === "wait") cluster.connect().catch(() => undefined);
    return undefined;
  }
  const node = nodes[Math.floor(Math.random() * nodes.length)] as Redis;
  return new Redis({ ...node.options, ...overrides, retryStrategy: () => null });
}

/** Parses and checks a published message; anything malformed (or our own) is ignored. */
function decode(message: string, origin: string): StoreChangeEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const record = value as Record<string, unknown>;
  if (record.origin === origin) return null;
  if (record.type === "preferences") {
    const scope = scopeOfMessage(record.scope);
    return scope === null || typeof record.user !== "string" ? null : { type: "preferences", scope, user: record.user };
  }
  if (record.type !== "created" && record.type !== "updated" && record.type !== "deleted") return null;
  if (!isValidServerName(record.name)) return null;
  const scope = scopeOfMessage(record.scope);
  if (scope === null) return null;
  return { type: record.type, scope, name: record.name };
}

/**
 * The scope a published message names (`{ kind, id }`), or null. Not redis-store's `decodeScope`,
 * which reads a scope-set member string.
 */
function scopeOfMessage(value: unknown): StoreScope | null {
  if (typeof value !== "object" || value === null) return null;
  const scope = value as Record<string, unknown>;
  if (scope.kind === "global") return { kind: "global" };
  if (scope.kind === "scope" && typeof scope.id === "string") return { kind: "scope", id: scope.id };
  return null;
}

async function withDeadline(work: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  try {
    await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
