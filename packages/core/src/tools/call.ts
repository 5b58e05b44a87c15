import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode as JsonRpcErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { type ErrorCode, McpServerSideError } from "../errors.js";
import { type HookOrigin, type HookServerRef, hasHandler, INSTANCE_ORIGIN, type McpHookable } from "../hooks.js";
import type { Logger } from "../options.js";
import { sanitizeText } from "../security/redact.js";
import { maskCredentialText, maskCredentials } from "../security/secrets.js";
import { capToolResult, normalizeResult } from "./result.js";

/**
 * One tool call, from the AI SDK's `execute` to the MCP server and back (SPEC §5, §8): the
 * `tool:before-call` hook may refuse it or change its arguments; the call has one overall deadline
 * (the server's `timeoutMs`, else `callTimeoutMs`) that covers reconnecting and a server answering one
 * byte at a time; the result is capped; failures become `McpServerSideError`s the AI SDK hands to the
 * model as tool errors.
 */

export interface CallOptions {
  /** The AI SDK's abort signal of the generation. */
  signal?: AbortSignal;
  /** The overall deadline of this call, in milliseconds from now. */
  timeoutMs: number;
}

/**
 * Sends `tools/call` for a tool of one server (reconnecting as needed) and runs `onResult` or `onError`
 * as the single reaction to the SDK's promise: on the warm path every extra promise hop waits behind
 * the response's own microtasks, which the tool-call benchmark shows as latency.
 */
export type ToolCaller = <T>(
  tool: string,
  args: Record<string, unknown>,
  options: CallOptions,
  onResult: (raw: unknown) => T | PromiseLike<T>,
  onError: (error: unknown) => T | PromiseLike<T>,
) => Promise<T>;

/** What the tools of one server view share: one object per view, not per tool (heap per connection). */
export interface ExecuteContext {
  ref: HookServerRef;
  timeoutMs: number;
  maxResultBytes: number;
  /** The server's own credential values (`credentialsOf`), masked wherever the server echoes them. */
  secrets: readonly string[];
  hooks: McpHookable;
  call: ToolCaller;
  logger?: Logger;
}

export type Execute = (
  input: unknown,
  options: { toolCallId?: string; abortSignal?: AbortSignal; [MCP_ORIGIN]?: HookOrigin },
) => Promise<CallToolResult>;

/**
 * Where the request context puts the caller and request id of its tool set into `execute`'s options
 * (the tools themselves are shared by every request of a pooled connection).
 */
export const MCP_ORIGIN: unique symbol = Symbol("mcp-server-side.origin");

const MAX_UPSTREAM_MESSAGE = 1000;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A message from the server, made safe for the model, hooks and logs: the server's credentials masked
 * first (so the cut never leaves a credential's prefix), then cut, then sanitized.
 */
function upstreamMessage(text: string, secrets: readonly string[]): string {
  const masked = maskCredentialText(text, secrets);
  const cut = masked.length > MAX_UPSTREAM_MESSAGE ? `${masked.slice(0, MAX_UPSTREAM_MESSAGE)}…` : masked;
  return sanitizeText(cut);
}

/** The stable code and safe message of a failed call (`secrets`: the server's credential values). */
export function callFailure(error: unknown, timeoutMs: number, secrets: readonly string[] = []): McpServerSideError {
  if (McpServerSideError.isInstance(error)) return error;
  if (error instanceof McpError) {
    if (error.code === JsonRpcErrorCode.RequestTimeout) {
      return new McpServerSideError("timeout", `the tool call did not finish within ${timeoutMs} ms`, { cause: error });
    }
    if (error.code === JsonRpcErrorCode.ConnectionClosed) {
      return new McpServerSideError("tool_call_failed", "the connection to the MCP server closed during the call", {
        cause: error,
      });
    }
    // A JSON-RPC error the server sent (unknown tool, invalid arguments …): useful to the model. When
    // it echoes a credential, the raw error is not kept as the cause (an app may log causes).
    const echoed =
      maskCredentialText(error.message, secrets) !== error.message ||
      maskCredentials(error.data, secrets) !== error.data;
    return new McpServerSideError(
      "tool_call_failed",
      `the MCP server answered with an error: ${upstreamMessage(error.message, secrets)}`,
      echoed ? {} : { cause: error },
    );
  }
  return new McpServerSideError("tool_call_failed", "the MCP server could not be reached for the call", {
    cause: error,
  });
}

/** The failure with the server's own credential values masked out of its message (and no cause then). */
function maskFailure(failure: McpServerSideError, secrets: readonly string[]): McpServerSideError {
  const message = maskCredentialText(failure.message, secrets);
  return message === failure.message
    ? failure
    : new McpServerSideError(failure.code, message, { status: failure.status });
}

/**
 * Whether a hook call is still running. hookable answers synchronously (undefined) when nothing is
 * registered, and the hot path then goes on without a turn of the event loop.
 */
function isPending(result: unknown): result is Promise<unknown> {
  return result instanceof Promise;
}

/** The `tool:error` hook, for a refused call and a failed one alike. */
async function reportToolError(
  context: ExecuteContext,
  tool: string,
  toolName: string,
  toolCallId: string | undefined,
  origin: HookOrigin,
  code: ErrorCode,
  message: string,
): Promise<void> {
  await context.hooks.callHook("tool:error", {
    ...origin,
    server: context.ref,
    tool,
    toolName,
    toolCallId,
    code,
    message,
  });
}

async function refuse(
  context: ExecuteContext,
  tool: string,
  toolName: string,
  veto: string,
  toolCallId: string | undefined,
  origin: HookOrigin,
): Promise<CallToolResult> {
  await reportToolError(context, tool, toolName, toolCallId, origin, "vetoed", `the call was refused: ${veto}`);
  return { content: [{ type: "text", text: `The tool call was refused: ${veto}` }], isError: true };
}

async function fail(
  context: ExecuteContext,
  tool: string,
  toolName: string,
  error: unknown,
  toolCallId: string | undefined,
  signal: AbortSignal | undefined,
  origin: HookOrigin,
): Promise<never> {
  // The generation was aborted: let the AI SDK see its own abort, not a tool error.
  if (signal?.aborted) throw signal.reason ?? error;
  const failure = maskFailure(callFailure(error, context.timeoutMs, context.secrets), context.secrets);
  context.logger?.warn(
    `mcp-server-side:${origin.requestId === undefined ? "" : ` [${origin.requestId}]`} ${context.ref.name}/${tool}: ${failure.code}: ${failure.message}`,
  );
  await reportToolError(context, tool, toolName, toolCallId, origin, failure.code, failure.message);
  throw failure;
}

function send(
  context: ExecuteContext,
  tool: string,
  toolName: string,
  args: Record<string, unknown>,
  toolCallId: string | undefined,
  signal: AbortSignal | undefined,
  started: number,
  origin: HookOrigin,
): Promise<CallToolResult> {
  const timeoutMs = context.timeoutMs;
  // Inline (anonymous) callbacks: the hot path creates no named closures.
  return context.call(
    tool,
    args,
    signal ? { signal, timeoutMs } : { timeoutMs },
    (raw) => {
      // Masked before it is cut, so a cut never leaves half a credential; masking only shortens.
      const result = capToolResult(maskCredentials(normalizeResult(raw), context.secrets), context.maxResultBytes);
      // No payload is built for a hook nobody listens to (the warm call's own cost, per call).
      if (!hasHandler(context.hooks, "tool:after-call")) return result;
      const after: unknown = context.hooks.callHook("tool:after-call", {
        ...origin,
        server: context.ref,
        tool,
        toolName,
        toolCallId,
        durationMs: performance.now() - started,
        isError: result.isError === true,
      });
      return isPending(after) ? after.then(() => result) : result;
    },
    (error) => fail(context, tool, toolName, error, toolCallId, signal, origin),
  );
}

/** After `tool:before-call`: refused, or sent with the arguments the hook left. */
function sendChecked(
  context: ExecuteContext,
  tool: string,
  toolName: string,
  before: { arguments: unknown; veto?: string | undefined },
  toolCallId: string | undefined,
  signal: AbortSignal | undefined,
  started: number,
  origin: HookOrigin,
): Promise<CallToolResult> {
  if (typeof before.veto === "string") return refuse(context, tool, toolName, before.veto, toolCallId, origin);
  const args = isPlainObject(before.arguments) ? before.arguments : {};
  return send(context, tool, toolName, args, toolCallId, signal, started, origin);
}

/** The AI SDK `execute` of one MCP tool (`tool` its MCP name, `toolName` the name the model sees). */
export function createExecute(context: ExecuteContext, tool: string, toolName: string): Execute {
  return (input, options) => {
    const started = performance.now();
    const toolCallId = options.toolCallId;
    const origin = options[MCP_ORIGIN] ?? INSTANCE_ORIGIN;
    const args = isPlainObject(input) ? input : {};
    if (!hasHandler(context.hooks, "tool:before-call"))
      return send(context, tool, toolName, args, toolCallId, options.abortSignal, started, origin);
    const before = {
      ...origin,
      server: context.ref,
      tool,
      toolName,
      toolCallId,
      arguments: args,
      veto: undefined as string | undefined,
    };
    let beforeCall: unknown;
    try {
      beforeCall = context.hooks.callHook("tool:before-call", before);
    } catch (error) {
      return Promise.reject(error);
    }
    if (isPending(beforeCall))
      return beforeCall.then(() =>
        sendChecked(context, tool, toolName, before, toolCallId, options.abortSignal, started, origin),
      );
    return sendChecked(context, tool, toolName, before, toolCallId, options.abortSignal, started, origin);
  };
}
