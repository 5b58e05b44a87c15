import { createHash } from "node:crypto";
import { z } from "zod";
import { McpServerSideError } from "../errors.js";
import type { KeyRing } from "../security/crypto.js";
import { scopeLabel } from "../store/keys.js";
import type { McpStore, StoreScope } from "../store/types.js";
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

/** Reads and opens a record; a record that does not open or parse is treated as absent (and removed). */
export async function readRecord<T>(
  store: McpStore,
  ring: KeyRing,
  slot: OAuthSlot,
  field: string,
  schema: z.ZodType<T>,
): Promise<T | null> {
  const sealed = await store.getUserSecret(slot.owner, slot.server, slot.userField);
  if (sealed === null) return null;
  let parsed: z.ZodSafeParseResult<T>;
  try {
    parsed = schema.safeParse(JSON.parse(ring.decrypt(sealed, aad(slot, field))));
  } catch {
    return null;
  }
  if (!parsed.success) return null;
  // Lazy key rotation: a record under an old key is re-sealed under the current one when it is read.
  if (!ring.isCurrent(sealed)) await writeRecord(store, ring, slot, field, parsed.data);
  return parsed.data;
}

export async function writeRecord(
  store: McpStore,
  ring: KeyRing,
  slot: OAuthSlot,
  field: string,
  record: unknown,
): Promise<void> {
  await store.setUserSecret(
    slot.owner,
    slot.server,
    slot.userField,
    ring.encrypt(JSON.stringify(record), aad(slot, field)),
  );
}

/** Seals a pending authorization; its state id is bound in, so it only opens under that state. */
export function sealPending(ring: KeyRing, state: string, record: PendingRecord): string {
  return ring.encrypt(JSON.stringify(record), JSON.stringify(["oauth-pending", state]));
}

export function openPending(ring: KeyRing, state: string, sealed: string): PendingRecord | null {
  try {
    const parsed = pendingRecordSchema.safeParse(
      JSON.parse(ring.decrypt(sealed, JSON.stringify(["oauth-pending", state]))),
    );
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
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
