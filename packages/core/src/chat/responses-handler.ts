import { stepCountIs, streamText } from "ai";
import type { ChatCompletionsOptions, Logger } from "../options.js";
import type { ContextError, McpRequestContext, RequestOverrides } from "../types.js";
import { type ApprovalSeal, mcpOrigin } from "./approval.js";
import {
  type ChatError,
  chatError,
  errorResponse,
  generationError,
  midStreamError,
  validationError,
} from "./errors.js";
import {
  DEFAULT_CHAT_BODY_BYTES,
  DEFAULT_MAX_STEPS,
  asChatError,
  isForced,
  modelNotFound,
  noDownload,
  readChatBody,
  resolveModel,
  serverInstructions,
} from "./handler.js";
import { runApprovedCalls } from "./responses-approvals.js";
import { toResponsesPrompt } from "./responses-input.js";
import { applyApprovalExemptions, listToolsItems, mcpToolsAsServers } from "./responses-mcp.js";
import { type ResponseBuilder, type ResponseEcho, createResponseBuilder } from "./responses-output.js";
import { type ResponsesRequest, parseResponsesRequest } from "./responses-schema.js";
import { type PartWriter, openPartStream } from "./stream.js";
import { mergeTools, toClientTools, toToolChoice } from "./tools.js";

export interface ResponsesDeps {
  forRequest: (request: Request, overrides: RequestOverrides) => McpRequestContext;
  /** Seals and opens approval request ids (the instance's encryption keys). */
  seal: ApprovalSeal;
  logger?: Logger;
  /** @default 1 MiB */
  maxBodyBytes?: number;
}

/**
 * The OpenAI Responses API (`POST /v1/responses`) as a Web-standard handler, beside Chat Completions
 * and with the same identity, tiers and server-side MCP tools. Stateless: the caller sends the whole
 * conversation as `input` (`previous_response_id` is a 400), approvals travel as sealed ids.
 */
export function createResponsesHandler(
  options: ChatCompletionsOptions,
  deps: ResponsesDeps,
): (request: Request) => Promise<Response> {
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_CHAT_BODY_BYTES;
  const { logger, seal } = deps;

  return async function handleResponses(request: Request): Promise<Response> {
    if (request.method !== "POST") {
      return errorResponse(
        chatError(405, `${request.method} is not allowed here; use POST.`, { code: "method_not_allowed" }),
        { allow: "POST" },
      );
    }
    try {
      return await respond(request);
    } catch (error) {
      if (request.signal.aborted) logger?.debug("response aborted by the caller");
      else logger?.error("response failed", error);
      return errorResponse(asChatError(error));
    }
  };

  async function respond(request: Request): Promise<Response> {
    const read = await readChatBody(request, maxBodyBytes);
    if (!read.ok) return errorResponse(read.error);
    const parsed = parseResponsesRequest(read.body);
    if (!parsed.ok) return errorResponse(validationError(parsed.errors ?? [], parsed.message));
    const body = parsed.value;
    if (body.previous_response_id != null) {
      return errorResponse(
        chatError(
          400,
          "previous_response_id is not supported: this server stores no responses. Send the whole conversation as input (the items of earlier responses included).",
          { param: "previous_response_id", code: "previous_response_not_supported" },
        ),
      );
    }
    const mcp = mcpToolsAsServers(body);
    if (!mcp.ok) return errorResponse(validationError([mcp.error], mcp.error.detail));

    const model = await resolveModel(options, body.model, logger);
    if (model === undefined) return errorResponse(modelNotFound(body.model));

    const context = deps.forRequest(request, {
      ...(mcp.value.servers === undefined ? {} : { servers: mcp.value.servers }),
      ...(mcp.value.select === undefined ? {} : { select: mcp.value.select }),
    });
    const identity = await context.identity();
    const scope = identity === null ? "" : `scope:${identity.scope}`;
    const mcpTools = applyApprovalExemptions(await context.tools({ signal: request.signal }), mcp.value.exempt);
    const clientTools = toClientTools(
      (body.tools ?? []).flatMap((tool) =>
        tool.type === "function"
          ? [
              {
                type: "function" as const,
                function: {
                  name: tool.name,
                  description: tool.description,
                  parameters: tool.parameters,
                  strict: tool.strict,
                },
              },
            ]
          : [],
      ),
    );
    const merged = mergeTools(mcpTools, clientTools);
    const choice = toToolChoice(
      typeof body.tool_choice === "object" && body.tool_choice !== null
        ? { type: "function", function: { name: body.tool_choice.name } }
        : body.tool_choice,
      merged.tools,
    );
    if (!choice.ok) {
      return errorResponse(
        chatError(400, `Invalid value for 'tool_choice': ${choice.detail}.`, { param: "tool_choice" }),
      );
    }

    const names = new Map<string, string>();
    for (const [name, tool] of Object.entries(merged.tools)) {
      const origin = mcpOrigin(tool);
      if (origin !== undefined) names.set(`${origin.server}\u0000${origin.tool}`, name);
    }
    const prompt = toResponsesPrompt(body, {
      seal,
      scope,
      toolNameOf: (server, tool) => names.get(`${server}\u0000${tool}`),
    });
    if (!prompt.ok) return errorResponse(validationError(prompt.errors ?? [], prompt.message));
    const { messages, answers, listed } = prompt.value;

    const errors = (): ContextError[] => [...context.errors, ...merged.errors];
    const listItems = listToolsItems(mcpTools, mcp.value.labels, context.errors, listed);
    const ranCalls = await runApprovedCalls(answers, merged.tools, messages, request.signal);
    const instructions = await serverInstructions(context, logger);

    const abort = new AbortController();
    const onRequestAbort = (): void => abort.abort();
    request.signal.addEventListener("abort", onRequestAbort, { once: true });
    const result = streamText({
      model,
      messages,
      allowSystemInMessages: true,
      ...(instructions === "" ? {} : { instructions }),
      tools: merged.tools,
      ...(choice.value === undefined ? {} : { toolChoice: choice.value }),
      ...(body.max_output_tokens == null ? {} : { maxOutputTokens: body.max_output_tokens }),
      ...(body.temperature == null ? {} : { temperature: body.temperature }),
      ...(body.top_p == null ? {} : { topP: body.top_p }),
      stopWhen: stepCountIs(maxSteps),
      prepareStep: ({ stepNumber }: { stepNumber: number }) =>
        stepNumber > 0 && isForced(choice.value) ? { toolChoice: "auto" as const } : undefined,
      experimental_download: noDownload,
      abortSignal: abort.signal,
      onError: ({ error }) => logger?.warn("response generation failed", generationError(error).body.error.message),
    });

    const builderOptions = {
      echo: echoOf(body),
      tools: merged.tools,
      clientToolNames: new Set(Object.keys(clientTools)),
      seal,
      scope,
      errors,
    };
    const begin = (builder: ResponseBuilder): void => {
      builder.start();
      for (const item of [...listItems, ...ranCalls]) builder.addItem(item);
    };

    if (body.stream !== true) {
      const builder = createResponseBuilder({ ...builderOptions, emit: () => {} });
      begin(builder);
      try {
        for await (const part of result.fullStream) {
          if (part.type === "error") {
            abort.abort();
            return errorResponse(generationError(part.error));
          }
          builder.write(part);
        }
      } finally {
        request.signal.removeEventListener("abort", onRequestAbort);
      }
      builder.finish(undefined);
      return new Response(JSON.stringify(builder.response()), {
        status: 200,
        headers: { "content-type": "application/json; charset=utf-8" },
      });
    }

    const opened = await openPartStream(result.fullStream, () => abort.abort());
    if (!opened.ok) {
      request.signal.removeEventListener("abort", onRequestAbort);
      return errorResponse(opened.error);
    }
    return new Response(
      opened.pipe(createEventWriter((emit) => createResponseBuilder({ ...builderOptions, emit }), begin)),
      {
        status: 200,
        headers: {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache",
          "x-accel-buffering": "no",
        },
      },
    );
  }
}

/** Server-sent events as OpenAI sends them: `event: <type>` and the event as `data`. */
function createEventWriter(
  build: (emit: (event: { type: string }) => void) => ResponseBuilder,
  begin: (builder: ResponseBuilder) => void,
): PartWriter {
  const encoder = new TextEncoder();
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let closed = false;
  let sent = 0;
  const builder = build((event) => {
    if (closed) return;
    try {
      controller?.enqueue(encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`));
      sent++;
    } catch {
      closed = true;
    }
  });
  const close = (): void => {
    if (closed) return;
    closed = true;
    try {
      controller?.close();
    } catch {
      // Already cancelled by the reader.
    }
  };
  const fail = (error: ChatError): void => {
    builder.fail(error);
    close();
  };
  return {
    open(streamController) {
      controller = streamController;
      begin(builder);
    },
    write(part) {
      if (closed) return;
      if (part.type === "error") fail(midStreamError(part.error));
      else if (part.type === "abort") close();
      else {
        builder.write(part);
        if (builder.finished()) close();
      }
    },
    end() {
      builder.finish(undefined);
      close();
    },
    fail: (error) => fail(midStreamError(error)),
    sent: () => sent,
    closed: () => closed,
  };
}

function echoOf(body: ResponsesRequest): ResponseEcho {
  return {
    model: body.model,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    temperature: body.temperature ?? null,
    top_p: body.top_p ?? null,
    tool_choice: body.tool_choice ?? "auto",
    // Headers, authorization and URL credentials are secrets: the echo leaves them out.
    tools: (body.tools ?? []).map((tool) =>
      tool.type === "function"
        ? {
            type: "function",
            name: tool.name,
            description: tool.description ?? null,
            parameters: tool.parameters ?? null,
            strict: tool.strict ?? null,
          }
        : {
            type: "mcp",
            server_label: tool.server_label,
            server_url: tool.server_url == null ? null : withoutCredentials(tool.server_url),
            allowed_tools: tool.allowed_tools ?? null,
            require_approval: tool.require_approval ?? "always",
            headers: null,
          },
    ),
    metadata: {},
  };
}

/** A URL as the echo shows it: no userinfo, query or fragment, where tokens travel. */
function withoutCredentials(raw: string): string | null {
  try {
    const url = new URL(raw);
    return `${url.origin}${url.pathname}`;
  } catch {
    return null;
  }
}
