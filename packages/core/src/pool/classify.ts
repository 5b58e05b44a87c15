import { SseError } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { ErrorCode as JsonRpcErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { STATUS_CODES } from "node:http";
import { findOwnError } from "../errors.js";
import { sanitizeText } from "../security/redact.js";
import { findInCauses } from "../util/error-cause.js";

/**
 * Why a connection failed, as a stable code and a fixed message. Upstream text (bodies, resolved
 * addresses, socket errors) never reaches the message: it can carry secrets or reveal the network
 * (SPEC §4, §9); only our own `McpServerSideError`s, whose messages are written to be safe, pass.
 */
export type ConnectFailureCode =
  | "connection_failed"
  | "timeout"
  | "auth_failed"
  | "not_mcp_server"
  | "blocked_address"
  | "invalid_url";

export interface ConnectFailure {
  code: ConnectFailureCode;
  message: string;
  /** Worth one retry after `connectRetryDelayMs` (a timeout or a network error, not a refusal). */
  retryable: boolean;
}

/** Raised by our own connect deadline. */
export class ConnectTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the MCP server did not complete the connection within ${timeoutMs} ms`);
    this.name = "ConnectTimeoutError";
  }
}

/** Longest command name and stderr excerpt a message quotes. */
const MAX_QUOTED_COMMAND = 200;
const MAX_QUOTED_STDERR = 500;

/** A stdio child that exited (or closed its pipes) before it completed the initialize handshake. */
export class ChildExitError extends Error {
  constructor(
    readonly exitCode: number | null,
    readonly signal: string | null,
    /** The last lines the child wrote to stderr, raw (sanitized when quoted). */
    readonly stderrTail: string,
    options?: { cause?: unknown },
  ) {
    super(`the server's process exited before it answered (code ${exitCode ?? "none"})`, options);
    this.name = "ChildExitError";
  }
}

/** The text of a stdio child's stderr tail as a message may quote it: secrets masked, one line, capped. */
function quotedStderr(tail: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is removed here.
  const oneLine = tail.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  const last = oneLine.length > MAX_QUOTED_STDERR ? `…${oneLine.slice(-MAX_QUOTED_STDERR)}` : oneLine;
  return sanitizeText(last);
}

/** `HTTP 503 Service Unavailable`: the status and its standard reason phrase (never the server's own text). */
function statusText(status: number): string {
  const reason = STATUS_CODES[status];
  return reason === undefined ? `HTTP ${status}` : `HTTP ${status} ${reason}`;
}

/** The HTTP status of a transport error, when the server answered at all. */
export function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof StreamableHTTPError || error instanceof SseError)
    return typeof error.code === "number" ? error.code : undefined;
  return undefined;
}

/**
 * The server no longer knows the session: `404` (the MCP spec), or `400` whose body names the session
 * or an uninitialized server — what the reference SDK server answers after a restart ("Bad Request:
 * No valid session ID provided", "Server not initialized"). Either way, initializing again helps.
 */
export function isStaleSession(error: unknown): boolean {
  const status = httpStatusOf(error);
  if (status === 404) return true;
  if (status !== 400 || !(error instanceof Error)) return false;
  // Only the first part of the body is looked at: the check stays linear and cheap on any body.
  return /session|not initialized/i.test(error.message.slice(0, 1_000));
}

/** Statuses with which a Streamable HTTP endpoint says "not here": worth trying the older SSE transport. */
export function suggestsSseFallback(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status === 400 || status === 404 || status === 405 || status === 406 || status === 415;
}

/** The first system error code (`ECONNREFUSED`, `ENOTFOUND` …) in the cause chain. */
function systemCode(error: unknown): string | undefined {
  return findInCauses(error, (link) => {
    const code = (link as { code?: unknown }).code;
    return typeof code === "string" ? code : undefined;
  });
}

export function classifyConnectError(error: unknown): ConnectFailure {
  const own = findOwnError(error);
  if (own !== undefined) {
    const code: ConnectFailureCode =
      own.code === "blocked_address" ||
      own.code === "invalid_url" ||
      own.code === "timeout" ||
      own.code === "auth_failed" ||
      own.code === "not_mcp_server"
        ? own.code
        : "connection_failed";
    return { code, message: own.message, retryable: code === "connection_failed" || code === "timeout" };
  }
  if (error instanceof ConnectTimeoutError) return { code: "timeout", message: error.message, retryable: true };
  if (error instanceof ChildExitError) {
    const how =
      error.exitCode !== null
        ? `exited with code ${error.exitCode}`
        : error.signal !== null
          ? `was ended by ${error.signal}`
          : "closed its output";
    const tail = quotedStderr(error.stderrTail);
    return {
      code: "connection_failed",
      message: `the server's process ${how} before it answered${tail === "" ? "" : `; its last stderr lines: ${tail}`}`,
      retryable: false,
    };
  }
  if (error instanceof McpError && error.code === JsonRpcErrorCode.RequestTimeout) {
    return {
      code: "timeout",
      message: "the MCP server did not answer the initialize request in time",
      retryable: true,
    };
  }
  if (error instanceof UnauthorizedError)
    return {
      code: "auth_failed",
      message: "the MCP server requires authorization that was not given",
      retryable: false,
    };
  const status = httpStatusOf(error);
  if (status === 401 || status === 403) {
    return {
      code: "auth_failed",
      message: `the MCP server refused the credentials (${statusText(status)})`,
      retryable: false,
    };
  }
  if (status !== undefined && status >= 500)
    return { code: "connection_failed", message: `the MCP server answered ${statusText(status)}`, retryable: true };
  if (status !== undefined && status >= 300) {
    return {
      code: "not_mcp_server",
      message: `the endpoint answered ${statusText(status)}, not MCP`,
      retryable: false,
    };
  }
  if (
    error instanceof StreamableHTTPError ||
    (error instanceof SseError && /content type/i.test(String(error.message)))
  ) {
    return { code: "not_mcp_server", message: "the endpoint does not answer with MCP messages", retryable: false };
  }
  if (error instanceof SyntaxError || (error instanceof Error && error.name === "ZodError")) {
    return {
      code: "not_mcp_server",
      message: "the endpoint answered with something that is not MCP",
      retryable: false,
    };
  }
  if (error instanceof McpError && error.code !== JsonRpcErrorCode.ConnectionClosed) {
    return { code: "connection_failed", message: "the MCP server refused the initialize request", retryable: false };
  }
  if (error instanceof Error && /protocol version is not supported/i.test(error.message)) {
    return {
      code: "connection_failed",
      message: "the MCP server speaks a protocol version this client does not support",
      retryable: false,
    };
  }
  const system = systemCode(error);
  if (system === "ENOENT" || system === "EACCES" || system === "ENOTDIR") {
    const path = (error as { path?: unknown }).path;
    const command =
      typeof path === "string" && path !== "" ? ` '${sanitizeText(path.slice(0, MAX_QUOTED_COMMAND))}'` : "";
    return {
      code: "connection_failed",
      message: `the server's command${command} could not be started (${system})`,
      retryable: false,
    };
  }
  if (system === "ENOTFOUND" || system === "EAI_AGAIN")
    return { code: "connection_failed", message: "the server's host name does not resolve", retryable: true };
  return { code: "connection_failed", message: "the MCP server could not be reached", retryable: true };
}

/**
 * The request never reached a live session, so sending it again on a fresh connection is safe even
 * for a tool call: the server answered 404 for the session id (it restarted or forgot the session),
 * refused the TCP connection, or the transport had already closed before the request was sent.
 */
export function isRetrySafe(error: unknown): boolean {
  if (isStaleSession(error) || systemCode(error) === "ECONNREFUSED") return true;
  return error instanceof Error && !(error instanceof McpError) && error.message === "Not connected";
}

/** Socket-level failures: the server went away (or restarted) under an open connection. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "ETIMEDOUT",
]);

export function isNetworkError(error: unknown): boolean {
  if (findOwnError(error) !== undefined) return false;
  const code = systemCode(error);
  return (
    (code !== undefined && NETWORK_CODES.has(code)) || (error instanceof TypeError && error.message === "fetch failed")
  );
}

/** The connection cannot serve more requests: re-initialize it on its next use. */
export function isConnectionBroken(error: unknown): boolean {
  return (
    isRetrySafe(error) ||
    isNetworkError(error) ||
    (error instanceof McpError && error.code === JsonRpcErrorCode.ConnectionClosed)
  );
}
