import {
  type Experimental_DownloadFunction as DownloadFunction,
  type LanguageModel,
  type ToolChoice,
  type ToolSet,
  generateText,
  stepCountIs,
  streamText,
} from "ai";
import { McpServerSideError } from "../errors.js";
import type { ChatCompletionsOptions, Logger } from "../options.js";
import type { ContextError, McpRequestContext, RequestOverrides } from "../types.js";
import { readJsonBody } from "../http/body.js";
import { withoutApprovalTools } from "./approval.js";
import { toChatCompletion } from "./completion.js";
import { type ChatError, chatError, errorResponse, fromMcpError, generationError, validationError } from "./errors.js";
import { completionMeta } from "./format.js";
import { toModelMessages } from "./messages.js";
import { type ChatCompletionRequest, parseChatCompletionRequest } from "./request-schema.js";
import { toChunkStream } from "./stream.js";
import { mergeTools, toCallSettings, toClientTools, toToolChoice } from "./tools.js";

/** Server-side tool steps per request when `chatCompletions.maxSteps` is not set. */
export const DEFAULT_MAX_STEPS = 5;

/** Requests carry whole conversations (and inline images), so the cap is above the management routes' 64 KiB. */
export const DEFAULT_CHAT_BODY_BYTES = 1024 * 1024;

export interface ChatCompletionsDeps {
  /** The request's MCP context; identity and scope are decided inside, as for every other route. */
  forRequest: (request: Request, overrides: RequestOverrides) => McpRequestContext;
  logger?: Logger;
  /** @default 1 MiB */
  maxBodyBytes?: number;
}

/**
 * The OpenAI-compatible `POST /v1/chat/completions` as a Web-standard handler. It runs the AI SDK
 * with the request's MCP tools executed here (up to `maxSteps` steps) and the client's function tools
 * left for the client, and answers as OpenAI does: a `chat.completion`, or `chat.completion.chunk`
 * events ending with `[DONE]`. Errors have OpenAI's `{ error: { message, type, param, code } }` shape.
 *
 * Callers without a key are served like every injection (SPEC §4): they get the config and global
 * servers only; a 401 belongs to the management routes.
 */
export function createChatCompletionsHandler(
  options: ChatCompletionsOptions,
  deps: ChatCompletionsDeps,
): (request: Request) => Promise<Response> {
  if (typeof options?.model !== "function") {
    throw new McpServerSideError(
      "invalid_config",
      "createMcpServerSide: 'chatCompletions.model' must be a function from a model id to an AI SDK model",
    );
  }
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  if (!Number.isInteger(maxSteps) || maxSteps < 1) {
    throw new McpServerSideError(
      "invalid_config",
      "createMcpServerSide: 'chatCompletions.maxSteps' must be an integer of at least 1",
    );
  }
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_CHAT_BODY_BYTES;
  const { logger } = deps;

  return async function handleChatCompletions(request: Request): Promise<Response> {
    if (request.method !== "POST") {
      return errorResponse(
        chatError(405, `${request.method} is not allowed here; use POST.`, { code: "method_not_allowed" }),
        {
          allow: "POST",
        },
      );
    }
    try {
      return await complete(request);
    } catch (error) {
      // A caller who hung up aborted the run; nobody reads this answer and nothing went wrong here.
      if (request.signal.aborted) logger?.debug("chat completion aborted by the caller");
      else logger?.error("chat completion failed", error);
      return errorResponse(asChatError(error));
    }
  };

  async function complete(request: Request): Promise<Response> {
    const read = await readChatBody(request, maxBodyBytes);
    if (!read.ok) return errorResponse(read.error);
    const parsed = parseChatCompletionRequest(read.body);
    if (!parsed.ok) return errorResponse(validationError(parsed.errors ?? [], parsed.message));
    const chat = parsed.value;
    const messages = toModelMessages(chat.messages);
    if (!messages.ok) return errorResponse(validationError(messages.errors ?? [], messages.message));

    const model = await resolveModel(options, chat.model, logger);
    if (model === undefined) return errorResponse(modelNotFound(chat.model));

    const context = deps.forRequest(request, { servers: chat.mcp_servers, select: chat.mcp_select });
    // Chat Completions cannot ask for approval: such tools stay for the Responses API, reported.
    const offered = withoutApprovalTools(await context.tools({ signal: request.signal }));
    const clientTools = toClientTools(chat.tools);
    const merged = mergeTools(offered.tools, clientTools);
    const choice = toToolChoice(chat.tool_choice, merged.tools);
    if (!choice.ok) {
      return errorResponse(
        chatError(400, `Invalid value for 'tool_choice': ${choice.detail}.`, { param: "tool_choice" }),
      );
    }
    const instructions = await serverInstructions(context, logger);
    const errors = (): ContextError[] => [...context.errors, ...offered.errors, ...merged.errors];

    const params = {
      model,
      messages: messages.value,
      allowSystemInMessages: true,
      ...(instructions === "" ? {} : { instructions }),
      tools: merged.tools,
      ...(choice.value === undefined ? {} : { toolChoice: choice.value }),
      ...toCallSettings(chat),
      stopWhen: stepCountIs(maxSteps),
      // A forced choice ("required", a named tool) is for the first answer; forcing it on every
      // step would call tools until maxSteps instead of letting the model reply to their results.
      prepareStep: ({ stepNumber }: { stepNumber: number }) =>
        stepNumber > 0 && isForced(choice.value) ? { toolChoice: "auto" as const } : undefined,
      experimental_download: noDownload,
    };
    const meta = completionMeta(chat.model);
    const clientToolNames = new Set(Object.keys(clientTools));

    if (chat.stream === true) {
      const abort = new AbortController();
      const onRequestAbort = (): void => abort.abort();
      request.signal.addEventListener("abort", onRequestAbort, { once: true });
      const result = streamText({
        ...params,
        abortSignal: abort.signal,
        // The failure reaches the client as an error event; the default would print it to stderr.
        onError: ({ error }) =>
          logger?.warn("chat completion stream failed", generationError(error).body.error.message),
      });
      const chunks = await toChunkStream(result.fullStream, {
        meta,
        clientToolNames,
        includeUsage: chat.stream_options?.include_usage === true,
        errors,
        abort: () => abort.abort(),
      });
      if (!chunks.ok) {
        request.signal.removeEventListener("abort", onRequestAbort);
        return errorResponse(chunks.error);
      }
      return new Response(chunks.stream, {
        status: 200,
        headers: {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache",
          // Tells nginx-style proxies not to buffer the events.
          "x-accel-buffering": "no",
        },
      });
    }

    const result = await generateText({ ...params, abortSignal: request.signal });
    const completion = toChatCompletion(result, meta, clientToolNames, errors());
    return new Response(JSON.stringify(completion), {
      status: 200,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
  }
}

/** `undefined` when the app's `model` function knows no such id (returns nothing or throws). */
export async function resolveModel(
  options: ChatCompletionsOptions,
  id: string,
  logger: Logger | undefined,
): Promise<LanguageModel | undefined> {
  try {
    return (await options.model(id)) ?? undefined;
  } catch (error) {
    logger?.warn(`chatCompletions.model could not resolve '${id}'`, error);
    return undefined;
  }
}

/** The 404 of a model id that `resolveModel` does not know, as OpenAI answers it. */
export function modelNotFound(id: string): ChatError {
  return chatError(404, `The model '${id}' does not exist or you do not have access to it.`, {
    type: "invalid_request_error",
    param: "model",
    code: "model_not_found",
  });
}

/** The servers' own usage notes for the model; a failure here must not cost the answer. */
export async function serverInstructions(context: McpRequestContext, logger: Logger | undefined): Promise<string> {
  try {
    return await context.instructions();
  } catch (error) {
    logger?.warn("could not read MCP server instructions", error);
    return "";
  }
}

/** The request body through the project's one strict reader (byte cap, duplicate and prototype keys refused). */
export async function readChatBody(
  request: Request,
  maxBodyBytes: number,
): Promise<{ ok: true; body: unknown } | { ok: false; error: ChatError }> {
  try {
    return { ok: true, body: await readJsonBody(request, maxBodyBytes) };
  } catch (error) {
    if (McpServerSideError.isInstance(error)) return { ok: false, error: fromMcpError(error) };
    throw error;
  }
}

export function isForced(choice: ToolChoice<ToolSet> | undefined): boolean {
  return choice === "required" || (typeof choice === "object" && choice !== null);
}

/**
 * Never fetch a URL on the server's behalf: image and file URLs come from the caller (and tool
 * results from MCP servers), and fetching them here would be a server-side request forgery. URLs
 * stay URLs for providers that fetch them themselves; other providers refuse them (a 400).
 */
export const noDownload: DownloadFunction = async (requests) => requests.map(() => null);

export function asChatError(error: unknown): ChatError {
  return McpServerSideError.isInstance(error) ? fromMcpError(error) : generationError(error);
}

export type { ChatCompletionRequest };
