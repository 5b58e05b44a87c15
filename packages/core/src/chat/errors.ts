import {
  APICallError,
  InvalidArgumentError,
  InvalidMessageRoleError,
  InvalidPromptError,
  MessageConversionError,
  MissingToolResultsError,
  RetryError,
  UnsupportedFunctionalityError,
} from "ai";
import type { FieldError, McpServerSideError } from "../errors.js";

/** The `type` values OpenAI uses in error bodies; clients branch on them. */
export type OpenAIErrorType = "invalid_request_error" | "not_found_error" | "rate_limit_error" | "server_error";

/** The body of every error this endpoint answers: the shape the official `openai` client parses. */
export interface OpenAIErrorBody {
  error: {
    message: string;
    type: OpenAIErrorType;
    param: string | null;
    code: string | null;
  };
}

export interface ChatError {
  status: number;
  body: OpenAIErrorBody;
  /** Headers the answer carries besides the content type (`retry-after` for a rate limit). */
  headers?: Record<string, string>;
}

/** Builds an OpenAI-style error; `param` names the failing request field (`messages[0].content`). */
export function chatError(
  status: number,
  message: string,
  options: { type?: OpenAIErrorType; param?: string | null; code?: string | null } = {},
): ChatError {
  const type = options.type ?? (status >= 500 ? "server_error" : "invalid_request_error");
  return { status, body: { error: { message, type, param: options.param ?? null, code: options.code ?? null } } };
}

/**
 * Turns a JSON Pointer into the dotted-and-indexed path OpenAI puts in `param`
 * (`/messages/0/content` → `messages[0].content`).
 */
export function pointerToParam(pointer: string): string | null {
  if (pointer === "" || pointer === "/") return null;
  let param = "";
  for (const raw of pointer.slice(1).split("/")) {
    const segment = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (/^\d+$/.test(segment)) param += `[${segment}]`;
    else param += param === "" ? segment : `.${segment}`;
  }
  return param;
}

/** A validation failure as OpenAI reports it: the first failing field, named in `param` and the message. */
export function validationError(errors: readonly FieldError[], fallback: string): ChatError {
  const first = errors[0];
  if (first === undefined) return chatError(400, fallback);
  const param = pointerToParam(first.pointer);
  const message = param === null ? first.detail : `Invalid value for '${param}': ${first.detail}`;
  return chatError(400, message, { param, code: "invalid_value" });
}

/**
 * The project's error in OpenAI's shape. A body that is JSON but not acceptable (a duplicate or
 * prototype key) is a 422 on the management routes; OpenAI clients expect a 400 for that.
 */
export function fromMcpError(error: McpServerSideError): ChatError {
  const status = error.status === 422 ? 400 : error.status;
  const pointer = error.errors?.[0]?.pointer;
  const param = pointer === undefined ? null : pointerToParam(pointer);
  return chatError(status, error.message, { param, code: error.code });
}

export function errorResponse(error: ChatError, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(error.body), {
    status: error.status,
    headers: { "content-type": "application/json; charset=utf-8", ...error.headers, ...headers },
  });
}

/**
 * What a failed generation means for the caller. Problems with the prompt are theirs (400, with the
 * AI SDK's message, which only echoes their own request); a failing provider is a 502 that names its
 * status but not its body (which may quote configuration); anything else is a 500.
 */
export function generationError(error: unknown): ChatError {
  const cause = RetryError.isInstance(error) ? error.lastError : error;
  if (
    InvalidPromptError.isInstance(cause) ||
    InvalidArgumentError.isInstance(cause) ||
    MissingToolResultsError.isInstance(cause) ||
    InvalidMessageRoleError.isInstance(cause) ||
    MessageConversionError.isInstance(cause) ||
    UnsupportedFunctionalityError.isInstance(cause)
  ) {
    return chatError(400, cause.message, { code: "invalid_prompt" });
  }
  if (APICallError.isInstance(cause)) {
    const status = cause.statusCode;
    if (status === 429) {
      // The caller's client backs off and retries on a 429 with Retry-After, as it would at OpenAI.
      const retryAfter = retryAfterOf(cause.responseHeaders);
      return {
        ...chatError(429, "The model provider is rate limiting requests; retry later.", {
          type: "rate_limit_error",
          code: "rate_limit_exceeded",
        }),
        ...(retryAfter === undefined ? {} : { headers: { "retry-after": retryAfter } }),
      };
    }
    if (status !== undefined && status >= 200 && status < 300) return streamBrokeOff();
    const answered = status === undefined ? "an error" : `HTTP ${status}`;
    return chatError(502, `The model provider answered with ${answered}.`, { code: "upstream_error" });
  }
  return chatError(500, "The completion failed.", { code: "internal" });
}

/**
 * A failure after the answer began streaming: the caller already has part of it. A provider whose
 * stream broke (a dropped connection, a truncated body, an unparsable event) is said to have done
 * so, rather than quoting the 200 its answer started with.
 */
export function midStreamError(error: unknown): ChatError {
  const known = generationError(error);
  return known.body.error.code === "internal" || known.body.error.code === "upstream_error" ? streamBrokeOff() : known;
}

function streamBrokeOff(): ChatError {
  return chatError(502, "The model provider's stream broke off before the answer was complete.", {
    code: "upstream_stream_interrupted",
  });
}

/**
 * The provider's `Retry-After` (seconds or an HTTP date), else its `retry-after-ms` in whole seconds
 * rounded up; anything else (or a value longer than a date) is not passed on.
 */
function retryAfterOf(headers: Record<string, string> | undefined): string | undefined {
  if (headers === undefined) return undefined;
  const value = headers["retry-after"]?.trim();
  if (value !== undefined && value.length <= 64 && (/^\d{1,9}$/.test(value) || !Number.isNaN(Date.parse(value)))) {
    return value;
  }
  const milliseconds = headers["retry-after-ms"]?.trim();
  if (milliseconds !== undefined && /^\d{1,12}(\.\d{1,6})?$/.test(milliseconds)) {
    return String(Math.ceil(Number(milliseconds) / 1000));
  }
  return undefined;
}
