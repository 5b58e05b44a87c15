import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode as JsonRpcErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { McpServerSideError } from "../errors.js";
import type { HookServerRef, McpHookable } from "../hooks.js";
import type { Logger } from "../options.js";
import { sanitizeText } from "../security/redact.js";
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

/** Sends `tools/call` for a tool of one server (reconnecting as needed); rejects on failure. */
export type ToolCaller = (tool: string, args: Record<string, unknown>, options: CallOptions) => Promise<unknown>;

export interface ExecuteDeps {
  ref: HookServerRef;
  /** The MCP tool's own name. */
  tool: string;
  /** The name the model sees. */
  toolName: string;
  timeoutMs: number;
  maxResultBytes: number;
  hooks: McpHookable;
  call: ToolCaller;
  logger?: Logger;
}

export type Execute = (
  input: unknown,
  options: { toolCallId?: string; abortSignal?: AbortSignal },
) => Promise<CallToolResult>;

const MAX_UPSTREAM_MESSAGE = 1000;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A message from the server, made safe for the model, hooks and logs. */
function upstreamMessage(text: string): string {
  const cut = text.length > MAX_UPSTREAM_MESSAGE ? `${text.slice(0, MAX_UPSTREAM_MESSAGE)}…` : text;
  return sanitizeText(cut);
}

/** The stable code and safe message of a failed call. */
export function callFailure(error: unknown, timeoutMs: number): McpServerSideError {
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
    // A JSON-RPC error the server sent (unknown tool, invalid arguments …): useful to the model.
    return new McpServerSideError(
      "tool_call_failed",
      `the MCP server answered with an error: ${upstreamMessage(error.message)}`,
      { cause: error },
    );
  }
  return new McpServerSideError("tool_call_failed", "the MCP server could not be reached for the call", {
    cause: error,
  });
}

async function callHook<T>(hooks: McpHookable, run: (hooks: McpHookable) => T): Promise<void> {
  // hookable answers synchronously when nothing is registered; await only what is a promise.
  const result = run(hooks);
  if (result instanceof Promise) await result;
}

export function createExecute(deps: ExecuteDeps): Execute {
  const { ref, tool, toolName, hooks, timeoutMs } = deps;
  return async (input, options) => {
    const started = performance.now();
    const toolCallId = options.toolCallId;
    const before = {
      server: ref,
      tool,
      toolName,
      toolCallId,
      arguments: isPlainObject(input) ? input : {},
      veto: undefined as string | undefined,
    };
    await callHook(hooks, (h) => h.callHook("tool:before-call", before));
    if (typeof before.veto === "string") {
      const message = `the call was refused: ${before.veto}`;
      await callHook(hooks, (h) =>
        h.callHook("tool:error", { server: ref, tool, toolName, toolCallId, code: "vetoed", message }),
      );
      return { content: [{ type: "text", text: `The tool call was refused: ${before.veto}` }], isError: true };
    }
    const args = isPlainObject(before.arguments) ? before.arguments : {};

    let raw: unknown;
    try {
      raw = await deps.call(
        tool,
        args,
        options.abortSignal ? { signal: options.abortSignal, timeoutMs } : { timeoutMs },
      );
    } catch (error) {
      // The generation was aborted: let the AI SDK see its own abort, not a tool error.
      if (options.abortSignal?.aborted) throw options.abortSignal.reason ?? error;
      const failure = callFailure(error, timeoutMs);
      deps.logger?.warn(`mcp-server-side: ${ref.name}/${tool}: ${failure.code}: ${failure.message}`);
      await callHook(hooks, (h) =>
        h.callHook("tool:error", {
          server: ref,
          tool,
          toolName,
          toolCallId,
          code: failure.code,
          message: failure.message,
        }),
      );
      throw failure;
    }
    const result = capToolResult(normalizeResult(raw), deps.maxResultBytes);
    await callHook(hooks, (h) =>
      h.callHook("tool:after-call", {
        server: ref,
        tool,
        toolName,
        toolCallId,
        durationMs: performance.now() - started,
        isError: result.isError === true,
      }),
    );
    return result;
  };
}
