import { findInCauses } from "./util/error-cause.js";

/**
 * Stable machine codes. The HTTP codes are those of SPEC §4; the others name what went wrong inside a
 * request context (`errors`) or at start-up. A 422 validation failure carries `invalid_request`.
 */
export type ErrorCode =
  | "invalid_request"
  | "not_found"
  | "unauthorized"
  | "forbidden"
  | "conflict"
  | "name_taken"
  | "name_locked"
  | "limit_exceeded"
  | "read_only"
  | "precondition_failed"
  | "payload_too_large"
  | "storage_unavailable"
  | "upstream_error"
  | "internal"
  | "invalid_config"
  | "invalid_url"
  | "blocked_address"
  | "stdio_not_allowed"
  | "env_placeholder_not_allowed"
  | "connection_failed"
  | "timeout"
  | "auth_failed"
  | "not_mcp_server"
  | "server_disabled"
  | "cooling_down"
  | "tool_schema_rejected"
  | "tool_limit_exceeded"
  | "tool_name_conflict"
  | "tool_call_failed"
  | "tool_changed"
  | "decryption_failed"
  | "oauth_required"
  | "user_required"
  | "invalid_state"
  /** A request's `errors`: collecting a server's tools stopped because the caller's signal aborted. */
  | "aborted"
  /** The `tool:error` hook: a `tool:before-call` hook refused the call (its `veto`). */
  | "vetoed"
  /** A Chat Completions request's `errors`: a tool that needs approval was left out (only the Responses API can ask). */
  | "approval_required";

/** One failing field of a validation error: a JSON Pointer into the request body and why it failed. */
export interface FieldError {
  pointer: string;
  detail: string;
}

const DEFAULT_STATUS: Partial<Record<ErrorCode, number>> = {
  invalid_request: 400,
  not_found: 404,
  unauthorized: 401,
  forbidden: 403,
  read_only: 403,
  conflict: 409,
  name_taken: 409,
  name_locked: 409,
  limit_exceeded: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  invalid_url: 422,
  blocked_address: 422,
  stdio_not_allowed: 422,
  env_placeholder_not_allowed: 422,
  storage_unavailable: 503,
  upstream_error: 502,
  connection_failed: 502,
  timeout: 504,
  internal: 500,
  oauth_required: 403,
  user_required: 403,
  invalid_state: 400,
};

const MARKER = Symbol.for("mcp-server-side.error");

export interface McpServerSideErrorOptions {
  status?: number;
  cause?: unknown;
  /** Field-level details of a validation error. */
  errors?: FieldError[];
}

/**
 * The one error type of the project. `code` is stable and machine-readable, `status` is the HTTP
 * status the management routes answer with. Messages never contain secrets.
 */
export class McpServerSideError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  readonly [MARKER] = true;

  constructor(code: ErrorCode, message: string, options: McpServerSideErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "McpServerSideError";
    this.code = code;
    this.status = options.status ?? DEFAULT_STATUS[code] ?? 500;
    this.errors = options.errors;
  }

  /** True for any McpServerSideError, even one from another copy of the package. */
  static isInstance(value: unknown): value is McpServerSideError {
    return typeof value === "object" && value !== null && MARKER in value;
  }
}

/**
 * Our own error within `error`'s cause chain (or an `AggregateError` in it): undici, the MCP SDK and
 * Node wrap what our checks threw (an SSRF refusal inside `TypeError("fetch failed")`).
 */
export function findOwnError(error: unknown): McpServerSideError | undefined {
  return findInCauses(error, (link) => (McpServerSideError.isInstance(link) ? link : undefined));
}

/** The result shape every validator returns instead of throwing. */
export type Result<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string; errors?: FieldError[] };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function fail(
  code: ErrorCode,
  message: string,
  errors?: FieldError[],
): { ok: false; code: ErrorCode; message: string; errors?: FieldError[] } {
  return errors === undefined ? { ok: false, code, message } : { ok: false, code, message, errors };
}
