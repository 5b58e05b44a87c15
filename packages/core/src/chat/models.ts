import { chatError, errorResponse } from "./errors.js";
import { McpServerSideError } from "../errors.js";

/** An entry of `GET /v1/models`, in OpenAI's shape. */
export interface OpenAIModel {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
}

/** Ids longer than this are not listed (and never looked up): model ids are short names. */
export const MAX_MODEL_ID_LENGTH = 256;

/**
 * `GET /v1/models` and `GET /v1/models/{id}` over the ids the operator lists in
 * `chatCompletions.models`, so that `client.models.list()` and model pickers work. `created` is the
 * instance's start: the operator's list has no dates of its own.
 */
export function createModelsHandler(
  ids: readonly string[] | undefined,
  now: number = Date.now(),
): (request: Request, modelId: string | undefined) => Response {
  if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => !isModelId(id)))) {
    throw new McpServerSideError(
      "invalid_config",
      `createMcpServerSide: 'chatCompletions.models' must be an array of non-empty strings of at most ${MAX_MODEL_ID_LENGTH} characters`,
    );
  }
  const created = Math.floor(now / 1000);
  const models = new Map<string, OpenAIModel>(
    (ids ?? []).map((id) => [id, { id, object: "model", created, owned_by: "mcp-server-side" }]),
  );
  const list = JSON.stringify({ object: "list", data: [...models.values()] });

  return function handleModels(request, modelId) {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return errorResponse(
        chatError(405, `${request.method} is not allowed here; use GET.`, { code: "method_not_allowed" }),
        { allow: "GET, HEAD" },
      );
    }
    if (modelId === undefined) return json(list);
    const model = models.get(modelId);
    if (model === undefined) {
      const shown = modelId.length > MAX_MODEL_ID_LENGTH ? `${modelId.slice(0, MAX_MODEL_ID_LENGTH)}…` : modelId;
      return errorResponse(
        chatError(404, `The model '${shown}' does not exist or you do not have access to it.`, {
          param: "model",
          code: "model_not_found",
        }),
      );
    }
    return json(JSON.stringify(model));
  };
}

function isModelId(id: unknown): id is string {
  return typeof id === "string" && id.length > 0 && id.length <= MAX_MODEL_ID_LENGTH;
}

function json(body: string): Response {
  return new Response(body, { status: 200, headers: { "content-type": "application/json; charset=utf-8" } });
}
