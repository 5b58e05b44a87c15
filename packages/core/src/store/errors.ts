import { McpServerSideError } from "../errors.js";

/** An error code as drivers report it (`ECONNREFUSED`, `WRONGTYPE`, …): short, upper case, nothing else. */
const ERROR_CODE = /^[A-Z][A-Z0-9_]{1,39}$/;
/** The first word of a driver message that starts with its code (Redis replies: `WRONGTYPE Operation …`). */
const MESSAGE_CODE = /^[A-Z]{2,20}$/;

/** A store failure (HTTP 503) with a fixed message of the store's own. */
export function storeUnavailable(message: string): McpServerSideError {
  return new McpServerSideError("storage_unavailable", message);
}

/**
 * Turns any backend failure into `storage_unavailable` without the driver's message, which may hold a
 * URL with its password: only an error code is kept, as `${label} (CODE)`. Store errors pass as they are.
 */
export function toStoreError(error: unknown, label = "The store is unavailable"): McpServerSideError {
  if (McpServerSideError.isInstance(error)) return error;
  const code = storeErrorCode(error);
  return storeUnavailable(code === undefined ? label : `${label} (${code})`);
}

/** Runs one backend call; its failure becomes `storage_unavailable` (see `toStoreError`). */
export async function withStoreErrors<T>(call: () => Promise<T>, label?: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toStoreError(error, label);
  }
}

function storeErrorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && ERROR_CODE.test(code)) return code;
  const first = error instanceof Error ? error.message.split(" ", 1)[0] : undefined;
  return first !== undefined && MESSAGE_CODE.test(first) ? first : undefined;
}
