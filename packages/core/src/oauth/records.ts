import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import { McpServerSideError } from "../errors.js";
import type { KeyRing } from "../security/crypto.js";
import { scopeLabel } from "../store/keys.js";
import type { ResolvedStore, StoreScope } from "../store/types.js";
import type { ResolvedServer } from "../types.js";

/**
 * What the store keeps for per-user OAuth (SPEC §7), always sealed whole (AES-256-GCM) with additional
 * data naming the owner scope, the server, the user and the field, so a record copied to another
 * place never opens. Tokens are bound to the server's URL and the authorization server's issuer: a
 * record for another URL or issuer is treated as absent, so a changed server never receives old tokens.
 */

export const tokenRecordSchema = z.object({
  v: z.literal(1),
  /** The MCP server URL the tokens were issued for. */
  url: z.string(),
  issuer: z.string(),
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1).optional(),
  tokenType: z.string().optional(),
  /** Epoch milliseconds, when the server said. */
  expiresAt: z.number().optional(),
  scopes: z.array(z.string()),
  /** Scopes a `403 insufficient_scope` asked for: the user must connect again with them (step-up). */
  stepUp: z.array(z.string().max(256)).max(64).optional(),
});
export type TokenRecord = z.infer<typeof tokenRecordSchema>;

/** A dynamically registered client (RFC 7591), once per server, bound to its issuer and redirect URI. */
export const clientRecordSchema = z.object({
  v: z.literal(1),
  issuer: z.string(),
  redirectUri: z.string(),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1).optional(),
});
export type ClientRecord = z.infer<typeof clientRecordSchema>;

/** An authorization in progress, under its `state` for ten minutes, taken once. */
export const pendingRecordSchema = z.object({
  v: z.literal(1),
  scope: z.string(),
  user: z.string(),
  server: z.string(),
  source: z.enum(["config", "global", "scope", "request"]),
  url: z.string(),
  issuer: z.string(),
  codeVerifier: z.string(),
  /** SHA-256 of the CSRF cookie's value (the cookie itself is never stored). */
  csrfDigest: z.string(),
  resource: z.string().optional(),
  scopes: z.array(z.string()),
  /** Epoch milliseconds; the store's expiry decides too, this keeps it when the record is re-sealed. */
  expiresAt: z.number(),
});
export type PendingRecord = z.infer<typeof pendingRecordSchema>;

/** Where one server's OAuth records live: its tier's owner in the store, and who a token belongs to. */
export interface OAuthSlot {
  owner: StoreScope;
  server: string;
  /** The store's user field: tier, caller scope and user, so equal user ids of two tenants never meet. */
  userField: string;
}

/** The owner scope of a server's records: tenants' servers under their scope, the operator's under global. */
export function ownerOf(server: Pick<ResolvedServer, "source" | "scope">): StoreScope {
  return server.source === "scope" || server.source === "request"
    ? { kind: "scope", id: server.scope ?? "" }
    : { kind: "global" };
}

/** The slot of a user's tokens for a server; config and global servers of one name keep apart. */
export function tokenSlot(server: Pick<ResolvedServer, "source" | "scope" | "name">, user: string): OAuthSlot {
  const tier = server.source === "config" ? "config" : "stored";
  return {
    owner: ownerOf(server),
    server: server.name,
    userField: JSON.stringify(["user", tier, server.scope ?? "", user]),
  };
}

/** The slot of a server's registered client (one per server, shared by its users). */
export function clientSlot(server: Pick<ResolvedServer, "source" | "scope" | "name">): OAuthSlot {
  const tier = server.source === "config" ? "config" : "stored";
  return { owner: ownerOf(server), server: server.name, userField: JSON.stringify(["client", tier]) };
}

function aad(slot: OAuthSlot, field: string): string {
  return JSON.stringify(["oauth", scopeLabel(slot.owner), slot.server, slot.userField, field]);
}

/** The header's additional data: only owner and server, so a lister that knows nothing else can open it. */
function headerAad(owner: StoreScope, server: string): string {
  return JSON.stringify(["oauth-header", scopeLabel(owner), server]);
}

/**
 * What the store holds: a sealed header naming the slot's user field and the record's field, `~`, then
 * the sealed record. The store keys a user by digest, so the header is how `rotateSecrets()` learns the
 * additional data of a record it only found by listing the server's secrets. `~` is outside the
 * envelope alphabet.
 */
function seal(ring: KeyRing, slot: OAuthSlot, field: string, plaintext: string): string {
  const header = ring.encrypt(JSON.stringify([slot.userField, field]), headerAad(slot.owner, slot.server));
  return `${header}~${ring.encrypt(plaintext, aad(slot, field))}`;
}

function bodyOf(stored: string): string {
  const at = stored.indexOf("~");
  return at === -1 ? stored : stored.slice(at + 1);
}

/** True when both parts are sealed under the ring's current key (and the header is there). */
function sealedCurrent(ring: KeyRing, stored: string): boolean {
  const at = stored.indexOf("~");
  return at !== -1 && ring.isCurrent(stored.slice(0, at)) && ring.isCurrent(stored.slice(at + 1));
}

/** Reads and opens a record; a record that does not open or parse is treated as absent. */
export async function readRecord<T>(
  store: ResolvedStore,
  ring: KeyRing,
  slot: OAuthSlot,
  field: string,
  schema: z.ZodType<T>,
): Promise<T | null> {
  const sealed = await store.getUserSecret(slot.owner, slot.server, slot.userField);
  if (sealed === null) return null;
  let parsed: z.ZodSafeParseResult<T>;
  try {
    parsed = schema.safeParse(JSON.parse(ring.decrypt(bodyOf(sealed), aad(slot, field))));
  } catch {
    return null;
  }
  if (!parsed.success) return null;
  // Lazy key rotation: a record under an old key is re-sealed under the current one when it is read.
  if (!sealedCurrent(ring, sealed)) await writeRecord(store, ring, slot, field, parsed.data);
  return parsed.data;
}

export async function writeRecord(
  store: ResolvedStore,
  ring: KeyRing,
  slot: OAuthSlot,
  field: string,
  record: unknown,
  ttlMs?: number,
): Promise<void> {
  await store.setUserSecret(
    slot.owner,
    slot.server,
    slot.userField,
    seal(ring, slot, field, JSON.stringify(record)),
    ttlMs,
  );
}

/** What `rotateOAuthRecords` did for one server. */
export interface OAuthRotation {
  rotated: number;
  /** Records that did not open with any configured key (or predate the header). */
  failed: number;
}

/**
 * Re-encrypts every OAuth record of one server (tokens, client registration, pending authorizations)
 * under the ring's current key (SPEC §7, `rotateSecrets()`). Each record is re-read and re-written under
 * the slot's refresh lock, so a refresh in another worker (a rotating refresh token) is never
 * overwritten with the tokens it replaced.
 */
export async function rotateOAuthRecords(
  store: ResolvedStore,
  ring: KeyRing,
  owner: StoreScope,
  server: string,
): Promise<OAuthRotation> {
  const result: OAuthRotation = { rotated: 0, failed: 0 };
  if (store.listUserSecrets === undefined) return result;
  for (const listed of await store.listUserSecrets(owner, server)) {
    if (sealedCurrent(ring, listed)) continue;
    const at = listed.indexOf("~");
    let header: unknown;
    try {
      header = at === -1 ? null : JSON.parse(ring.decrypt(listed.slice(0, at), headerAad(owner, server)));
    } catch {
      header = null;
    }
    if (!Array.isArray(header) || typeof header[0] !== "string" || typeof header[1] !== "string") {
      result.failed++;
      continue;
    }
    const slot: OAuthSlot = { owner, server, userField: header[0] };
    const field: string = header[1];
    const outcome = await withSlotLock(store, slot, async () => {
      const stored = await store.getUserSecret(owner, server, slot.userField);
      if (stored === null || sealedCurrent(ring, stored)) return "skipped";
      let plaintext: string;
      try {
        plaintext = ring.decrypt(bodyOf(stored), aad(slot, field));
      } catch {
        return "failed";
      }
      // Pending authorizations keep their expiry; tokens and clients have none.
      const ttl = field === "pending" ? pendingTtlLeft(plaintext) : undefined;
      if (ttl !== undefined && ttl <= 0) return "skipped";
      await store.setUserSecret(owner, server, slot.userField, seal(ring, slot, field, plaintext), ttl);
      return "rotated";
    });
    if (outcome === "rotated") result.rotated++;
    else if (outcome === "failed") result.failed++;
  }
  return result;
}

const LOCK_TTL_MS = 30_000;
const LOCK_WAIT_MS = 15_000;

/**
 * Runs `work` holding the slot's lock (a pending state created if absent, with expiry), the one that
 * makes a refresh single-flight across workers; waits for it up to fifteen seconds.
 */
export async function withSlotLock<T>(store: ResolvedStore, slot: OAuthSlot, work: () => Promise<T>): Promise<T> {
  const lockId = lockIdOf(slot);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const holder = randomBytes(16).toString("base64url");
    if (await store.putPendingIfAbsent(lockId, holder, LOCK_TTL_MS)) {
      try {
        return await work();
      } finally {
        await store.takePending(lockId).catch(() => null);
      }
    }
    if (Date.now() > deadline) throw new McpServerSideError("timeout", "another worker is still refreshing the tokens");
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(Math.random() * 100)));
  }
}

/** Where a pending authorization's record lives: among the server's user secrets, under its state. */
const pointerSchema = z.object({
  v: z.literal(1),
  owner: z.union([z.object({ kind: z.literal("global") }), z.object({ kind: z.literal("scope"), id: z.string() })]),
  server: z.string(),
});

function pendingSlot(owner: StoreScope, server: string, state: string): OAuthSlot {
  return { owner, server, userField: JSON.stringify(["pending", state]) };
}

/**
 * Stores a pending authorization for `ttlMs`. The record (with the PKCE verifier) is kept among the
 * server's user secrets, so deleting the server deletes it (atomically on Redis); the pending state
 * under `state` only points at it and is what makes the state single use (`takePending`).
 */
export async function putPendingRecord(
  store: ResolvedStore,
  ring: KeyRing,
  state: string,
  owner: StoreScope,
  record: PendingRecord,
  ttlMs: number,
): Promise<void> {
  await writeRecord(store, ring, pendingSlot(owner, record.server, state), "pending", record, ttlMs);
  // Plain JSON: owner and server are no secret, and a forged pointer opens nothing (the record's
  // additional data names its slot and state). So there is nothing here for rotateSecrets() to miss.
  await store.putPending(state, JSON.stringify({ v: 1, owner, server: record.server }), ttlMs);
}

/** Takes a pending authorization once; null when unknown, used, expired or its server was deleted. */
export async function takePendingRecord(
  store: ResolvedStore,
  ring: KeyRing,
  state: string,
): Promise<PendingRecord | null> {
  const raw = await store.takePending(state);
  if (raw === null) return null;
  let pointer: z.infer<typeof pointerSchema>;
  try {
    const parsed = pointerSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) return null;
    pointer = parsed.data;
  } catch {
    return null;
  }
  const slot = pendingSlot(pointer.owner, pointer.server, state);
  const record = await readRecord(store, ring, slot, "pending", pendingRecordSchema);
  await store.deleteUserSecret(slot.owner, slot.server, slot.userField);
  return record !== null && record.server === pointer.server ? record : null;
}

/** Milliseconds a sealed pending record has left (for re-sealing it with the same expiry). */
function pendingTtlLeft(plaintext: string): number {
  const parsed = pendingRecordSchema.safeParse(JSON.parse(plaintext));
  return parsed.success ? parsed.data.expiresAt - Date.now() : 0;
}

/** A store id (pending-state alphabet) derived from a slot, for the refresh lock. */
export function lockIdOf(slot: OAuthSlot): string {
  const digest = createHash("sha256").update(aad(slot, "lock")).digest("base64url");
  return `oauth-lock-${digest}`;
}

export function digest(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("base64url");
}

export function oauthRequired(server: string, message?: string): McpServerSideError {
  return new McpServerSideError("oauth_required", message ?? `'${server}' needs the user to connect it (OAuth)`, {
    status: 403,
  });
}
