import { z } from "zod";
import { isValidServerName, type ServerDefinition } from "../config/schema.js";
import { storeUnavailable } from "./errors.js";
import type { StoredServer } from "./types.js";

/**
 * A stored server as every store keeps it. The definition's own schema (with sealed secrets) is the
 * core's to apply when it reads the record; the store checks the envelope.
 */
export const storedServerSchema: z.ZodType<StoredServer> = z.object({
  name: z.string().refine(isValidServerName, "not a valid server name"),
  definition: z.record(z.string(), z.unknown()).transform((definition) => definition as ServerDefinition),
  revision: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/**
 * A stored server read back: the record, or its JSON text. A record that is not one (or, when `name` is
 * given, that is stored under another name) is `storage_unavailable`: the backend holds something else.
 */
export function readStoredServer(value: unknown, name?: string): StoredServer {
  const parsed = storedServerSchema.safeParse(typeof value === "string" ? parseJson(value) : value);
  if (!parsed.success || (name !== undefined && parsed.data.name !== name))
    throw storeUnavailable("A stored server is unreadable");
  return parsed.data;
}

/** The servers of a scope read back as one item (an array of records); nothing stored is none. */
export function readStoredServers(value: unknown): StoredServer[] {
  if (value === null || value === undefined) return [];
  const decoded = typeof value === "string" ? parseJson(value) : value;
  if (!Array.isArray(decoded)) throw storeUnavailable("The stored servers of a scope are unreadable");
  return decoded.map((record: unknown) => readStoredServer(record));
}

/** Checks a server before it is written, so a store never keeps a record it could not read back. */
export function assertStoredServer(server: StoredServer): void {
  if (isPlainStoredServer(server)) return;
  if (!storedServerSchema.safeParse(server).success) {
    throw new TypeError(
      isValidServerName(server?.name)
        ? "a stored server needs a definition, a revision and timestamps"
        : "invalid server name",
    );
  }
}

/**
 * The record as the core writes it, checked by hand (every write asks): only values the schema accepts
 * pass, and anything else is left to the schema's verdict.
 */
function isPlainStoredServer(server: StoredServer): boolean {
  if (typeof server !== "object" || server === null) return false;
  const { name, definition, revision, createdAt, updatedAt } = server;
  if (typeof name !== "string" || !isValidServerName(name)) return false;
  if (typeof revision !== "string" || typeof createdAt !== "string" || typeof updatedAt !== "string") return false;
  if (typeof definition !== "object" || definition === null) return false;
  const prototype = Object.getPrototypeOf(definition);
  return prototype === Object.prototype || prototype === null;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
