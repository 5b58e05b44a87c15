import type { ChatCompletionsOptions, Logger } from "../options.js";
import { isChatPath } from "../http/paths.js";
import type { KeyRing } from "../security/crypto.js";
import type { McpRequestContext, RequestOverrides } from "../types.js";
import { createApprovalSeal } from "./approval.js";
import { createChatCompletionsHandler } from "./handler.js";
import { createModelsHandler } from "./models.js";
import { requestIdOf, withRequestId } from "../http/request-id.js";
import { createResponsesHandler } from "./responses-handler.js";

export interface OpenAIRoutesDeps {
  forRequest: (request: Request, overrides: RequestOverrides) => McpRequestContext;
  /** The instance's encryption keys; approval request ids are sealed with them. */
  ring: KeyRing;
  logger?: Logger;
}

export interface OpenAIRoutes {
  /** The Chat Completions path (normalized, no trailing slash). */
  chatPath: string;
  /** Where `/responses` and `/models` are mounted: the chat path without `/chat/completions`. */
  prefix: string;
  owns(path: string): boolean;
  handle(request: Request, path: string): Promise<Response>;
}

/**
 * The OpenAI-compatible surface under one prefix (`/v1` by default): `POST /chat/completions` (or
 * `chatCompletions.path`), `POST /responses`, `GET /models` and `GET /models/{id}`. Every answer
 * carries an `x-request-id`. A custom chat path that does not end in `/chat/completions` puts the
 * other routes beside it (`/api/chat` → `/api/responses`, `/api/models`).
 */
export function createOpenAIRoutes(options: ChatCompletionsOptions, deps: OpenAIRoutesDeps): OpenAIRoutes {
  const chatPath = (options.path ?? "/v1/chat/completions").replace(/\/+$/, "");
  const prefix = chatPath.endsWith("/chat/completions")
    ? chatPath.slice(0, -"/chat/completions".length)
    : chatPath.slice(0, chatPath.lastIndexOf("/"));
  const responsesPath = `${prefix}/responses`;
  const modelsPath = `${prefix}/models`;

  const chat = createChatCompletionsHandler(options, deps);
  const responses = createResponsesHandler(options, { ...deps, seal: createApprovalSeal(deps.ring) });
  const models = createModelsHandler(options.models);

  /** The id of `/models/{id}` (ids such as `openai/gpt-4o` hold slashes), `undefined` when not that route. */
  const modelIdOf = (path: string): string | undefined => {
    if (!path.startsWith(`${modelsPath}/`)) return undefined;
    const raw = path.slice(modelsPath.length + 1).replace(/\/$/, "");
    if (raw === "") return undefined;
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  };

  return {
    chatPath,
    prefix,
    owns: (path) =>
      isChatPath(path, chatPath) ||
      isChatPath(path, responsesPath) ||
      isChatPath(path, modelsPath) ||
      modelIdOf(path) !== undefined,
    async handle(request, path) {
      const requestId = requestIdOf(request);
      let response: Response;
      if (isChatPath(path, chatPath)) response = await chat(request);
      else if (isChatPath(path, responsesPath)) response = await responses(request);
      else response = models(request, isChatPath(path, modelsPath) ? undefined : modelIdOf(path));
      return withRequestId(response, requestId);
    },
  };
}
