import { McpServerSideError, type FieldError } from "../errors.js";
import { sanitizeText } from "../security/redact.js";
import { keptBodyResponse } from "./kept-body.js";

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** The 5xx codes of SPEC §4; a server-side failure with any other code is reported as `internal`. */
const SERVER_ERROR_CODES: ReadonlySet<string> = new Set([
  "internal",
  "storage_unavailable",
  "upstream_error",
  "connection_failed",
  "timeout",
]);

/**
 * The one place an error becomes an RFC 9457 problem document. Unknown errors become a bare 500.
 * `requestId` (an extension member, and the `x-request-id` header) lets a caller quote the request.
 */
export function problemResponse(error: unknown, headers?: HeadersInit, requestId?: string): Response {
  const known = McpServerSideError.isInstance(error)
    ? error
    : new McpServerSideError("internal", "an unexpected error occurred", { cause: error });
  // A server-side failure with an engine-internal code (e.g. decryption_failed) answers as `internal`.
  const code = known.status >= 500 && !SERVER_ERROR_CODES.has(known.code) ? "internal" : known.code;
  const body: {
    type: string;
    title: string;
    status: number;
    detail: string;
    code: string;
    requestId?: string;
    errors?: FieldError[];
  } = {
    type: `urn:mcp-server-side:problem:${code}`,
    title: TITLES[known.status] ?? "Error",
    status: known.status,
    detail: sanitizeText(known.message),
    code,
    ...(requestId === undefined ? {} : { requestId }),
  };
  if (known.errors && known.errors.length > 0) {
    body.errors = known.errors.map((entry) => ({ pointer: entry.pointer, detail: sanitizeText(entry.detail) }));
  }
  const response = keptBodyResponse(JSON.stringify(body), { status: known.status, headers });
  response.headers.set("content-type", "application/problem+json");
  if (requestId !== undefined) response.headers.set("x-request-id", requestId);
  return response;
}

/** A JSON answer, its text kept beside a bodiless `Response` (see ./kept-body.ts). */
export function jsonResponse(body: unknown, status = 200, headers?: HeadersInit): Response {
  return jsonTextResponse(JSON.stringify(body), status, headers);
}

/** The same for a body serialized already. */
export function jsonTextResponse(text: string, status = 200, headers?: HeadersInit): Response {
  const response = keptBodyResponse(text, { status, headers });
  response.headers.set("content-type", "application/json; charset=utf-8");
  return response;
}
