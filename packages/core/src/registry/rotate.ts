import { randomUUID } from "node:crypto";
import { McpServerSideError } from "../errors.js";
import type { KeyRing } from "../security/crypto.js";
import { rotateOAuthRecords } from "../oauth/records.js";
import { needsRotation, resealDefinition } from "../security/secrets.js";
import { resolveStore } from "../store/capabilities.js";
import { scopeLabel } from "../store/keys.js";
import type { McpStore, StoredServer, StoreScope } from "../store/types.js";

export interface RotateSecretsDeps {
  store: McpStore;
  /** The instance's key ring: its first key encrypts, every key decrypts. */
  ring: KeyRing;
  /** Names of the config tier's servers: their users' OAuth records live under the global owner. */
  configServers?: Iterable<string>;
}

/** What `rotateSecrets()` did. */
export interface RotateSecretsResult {
  /** Scopes visited (the global tier counts as one). */
  scopes: number;
  /** Stored servers seen. */
  servers: number;
  /** Servers re-encrypted under the current key. */
  rotated: number;
  /** Users' OAuth records (tokens, client registrations, pending authorizations) re-encrypted. */
  oauthRecords: number;
}

/** Attempts per record when other writers keep changing it under us. */
const MAX_ATTEMPTS = 10;

/**
 * Re-encrypts every stored secret under the ring's first key (SPEC §7), so an older key can then be
 * dropped from `encryptionKeys`. Each record that holds a secret under another key is opened, sealed
 * again and written back with a revision check; when someone else wrote it meanwhile, it is read again
 * and retried. Records already current are not written. Safe to run while the app serves requests, and
 * to run again: a second run rotates nothing.
 *
 * Users' OAuth records of each stored server (and of each config server, under the global owner) are
 * re-encrypted too, each under its user's refresh lock (see `rotateOAuthRecords`); a store without
 * `listUserSecrets` leaves them to lazy re-encryption on read.
 *
 * A record that does not decrypt with any configured key is not rotated; the others still are, and the
 * call then rejects with `decryption_failed` naming each such record (scope label and server name), so
 * an operator never drops a key while something still needs it.
 */
export async function rotateSecrets(deps: RotateSecretsDeps): Promise<RotateSecretsResult> {
  const { ring } = deps;
  // A store without the scope index rejects at `listScopes` with invalid_config naming what it lacks.
  const store = resolveStore(deps.store);
  const result: RotateSecretsResult = { scopes: 0, servers: 0, rotated: 0, oauthRecords: 0 };
  /** `<scope label>/<server>` of each record that did not decrypt. */
  const failures: string[] = [];
  const rotateOAuth = async (owner: StoreScope, name: string): Promise<void> => {
    const oauth = await rotateOAuthRecords(store, ring, owner, name);
    result.oauthRecords += oauth.rotated;
    if (oauth.failed > 0) failures.push(`${scopeLabel(owner)}/${name} (${oauth.failed} OAuth record(s))`);
  };

  for (const scope of await store.listScopes()) {
    result.scopes++;
    for (const record of await store.list(scope)) {
      result.servers++;
      try {
        if (await rotateRecord(store, ring, scope, record)) result.rotated++;
      } catch (error) {
        if (!McpServerSideError.isInstance(error) || error.code !== "decryption_failed") throw error;
        failures.push(`${scopeLabel(scope)}/${record.name}`);
      }
      await rotateOAuth(scope, record.name);
    }
  }
  // Config servers are not in the store, but their users' OAuth records are (under the global owner).
  const globalNames = new Set((await store.list({ kind: "global" })).map((record) => record.name));
  for (const name of deps.configServers ?? []) if (!globalNames.has(name)) await rotateOAuth({ kind: "global" }, name);

  if (failures.length > 0) {
    throw new McpServerSideError(
      "decryption_failed",
      `rotateSecrets: ${failures.length} stored server(s) could not be decrypted with any configured key and were not re-encrypted (${failures.join(", ")}); keep the old key until they are fixed or removed`,
    );
  }
  return result;
}

/** Re-encrypts one record; true when it was written, false when it needed nothing or is gone. */
async function rotateRecord(store: McpStore, ring: KeyRing, scope: StoreScope, first: StoredServer): Promise<boolean> {
  let record: StoredServer | null = first;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (record === null || !needsRotation(record.definition, ring)) return false;
    const rotated: StoredServer = {
      ...record,
      definition: resealDefinition(record.definition, ring, { scope, name: record.name }),
      // A new revision: the stored bytes changed, and a writer holding the old one must re-read.
      // updatedAt stays: the server's definition is the same.
      revision: randomUUID(),
    };
    const written = await store.update(scope, rotated, { expectedRevision: record.revision });
    if (written.ok) return true;
    if (written.reason === "not_found") return false;
    record = await store.get(scope, record.name);
  }
  throw new McpServerSideError(
    "conflict",
    `rotateSecrets: '${first.name}' in ${scopeLabel(scope)} kept changing during ${MAX_ATTEMPTS} attempts; run it again`,
  );
}
