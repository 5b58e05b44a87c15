import { z } from "zod";
import { isValidServerName } from "../config/schema.js";
import { type Result, fail, ok } from "../errors.js";
import { flattenIssues, functionName, tokenCount } from "./request-schema.js";

/*
 * The OpenAI Responses API request (`POST /v1/responses`), as far as this endpoint acts on it. As for
 * Chat Completions, objects are loose: fields OpenAI accepts that change nothing here (`metadata`,
 * `user`, `parallel_tool_calls`, `reasoning`, `text`, `truncation`, …) are ignored, not refused.
 */

const inputText = z.looseObject({ type: z.literal("input_text"), text: z.string() });
const outputText = z.looseObject({ type: z.literal("output_text"), text: z.string() });
const refusal = z.looseObject({ type: z.literal("refusal"), refusal: z.string() });
const inputImage = z.looseObject({
  type: z.literal("input_image"),
  image_url: z.string().min(1).nullish(),
  file_id: z.string().nullish(),
  detail: z.string().nullish(),
});
const inputFile = z.looseObject({
  type: z.literal("input_file"),
  file_data: z.string().min(1).nullish(),
  file_id: z.string().nullish(),
  file_url: z.string().nullish(),
  filename: z.string().nullish(),
});

const contentPart = z.discriminatedUnion("type", [inputText, outputText, refusal, inputImage, inputFile]);

const messageItem = z.looseObject({
  type: z.literal("message"),
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: z.union([z.string(), z.array(contentPart)]),
  id: z.string().nullish(),
});

const functionCallItem = z.looseObject({
  type: z.literal("function_call"),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
  id: z.string().nullish(),
});

const functionCallOutputItem = z.looseObject({
  type: z.literal("function_call_output"),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(contentPart)]),
  id: z.string().nullish(),
});

const mcpListToolsItem = z.looseObject({ type: z.literal("mcp_list_tools"), server_label: z.string() });

const mcpCallItem = z.looseObject({
  type: z.literal("mcp_call"),
  id: z.string().min(1),
  server_label: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
  output: z.string().nullish(),
  error: z.unknown().optional(),
  approval_request_id: z.string().nullish(),
});

const mcpApprovalRequestItem = z.looseObject({ type: z.literal("mcp_approval_request"), id: z.string().min(1) });

const mcpApprovalResponseItem = z.looseObject({
  type: z.literal("mcp_approval_response"),
  approval_request_id: z.string().min(1),
  approve: z.boolean(),
  reason: z.string().max(4096).nullish(),
  id: z.string().nullish(),
});

/** Reasoning items carry a provider's private state: accepted and left out of the prompt. */
const reasoningItem = z.looseObject({ type: z.literal("reasoning") });

/** A reference to an item stored at the server: this server stores none (see the README). */
const itemReference = z.looseObject({ type: z.literal("item_reference"), id: z.string() });

/** A message without `type` is a message (the shorthand the Responses API accepts). */
const inputItem = z.preprocess(
  (item) =>
    typeof item === "object" && item !== null && !Array.isArray(item) && !("type" in item)
      ? { ...item, type: "message" }
      : item,
  z.discriminatedUnion("type", [
    messageItem,
    functionCallItem,
    functionCallOutputItem,
    mcpListToolsItem,
    mcpCallItem,
    mcpApprovalRequestItem,
    mcpApprovalResponseItem,
    reasoningItem,
    itemReference,
  ]),
);

const functionTool = z.looseObject({
  type: z.literal("function"),
  name: functionName,
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

const toolNames = z.looseObject({ tool_names: z.array(z.string().min(1).max(128)).max(64).nullish() });

/** OpenAI's hosted MCP tool; here it becomes a request-tier server (see responses-mcp.ts). */
const mcpTool = z.looseObject({
  type: z.literal("mcp"),
  server_label: z.string().refine(isValidServerName, {
    message: "must be 1-64 characters of A-Z a-z 0-9 _ -, start with a letter or digit, and not contain '__'",
  }),
  server_url: z.string().min(1).max(8192).nullish(),
  connector_id: z.string().nullish(),
  server_description: z.string().max(1024).nullish(),
  headers: z.record(z.string(), z.string()).nullish(),
  authorization: z.string().min(1).max(4096).nullish(),
  allowed_tools: z.union([z.array(z.string().min(1).max(128)).max(64), toolNames]).nullish(),
  require_approval: z
    .union([z.enum(["always", "never"]), z.looseObject({ always: toolNames.nullish(), never: toolNames.nullish() })])
    .nullish(),
});

const tool = z.discriminatedUnion("type", [functionTool, mcpTool]);

const toolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.looseObject({ type: z.literal("function"), name: z.string().min(1) }),
]);

export const responsesRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(inputItem).min(1)]),
  instructions: z.string().nullish(),
  stream: z.boolean().nullish(),
  tools: z.array(tool).nullish(),
  tool_choice: toolChoice.nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_output_tokens: tokenCount,
  previous_response_id: z.string().nullish(),
  store: z.boolean().nullish(),
  mcp_servers: z.record(z.string(), z.unknown()).nullish(),
  mcp_select: z.array(z.string()).nullish(),
});

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;
export type ResponsesInputItem = Exclude<ResponsesRequest["input"], string>[number];
export type ResponsesContentPart = z.infer<typeof contentPart>;
export type ResponsesTool = NonNullable<ResponsesRequest["tools"]>[number];
export type ResponsesFunctionTool = Extract<ResponsesTool, { type: "function" }>;
export type ResponsesMcpTool = Extract<ResponsesTool, { type: "mcp" }>;
export type ResponsesToolChoice = NonNullable<ResponsesRequest["tool_choice"]>;

/** Validates a parsed JSON body; failures name the first failing field as a JSON Pointer. */
export function parseResponsesRequest(body: unknown): Result<ResponsesRequest> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return fail("invalid_request", "The request body must be a JSON object.");
  }
  const parsed = responsesRequestSchema.safeParse(body);
  if (!parsed.success) {
    const errors = flattenIssues(parsed.error.issues, []);
    return fail("invalid_request", errors[0]?.detail ?? "Invalid request.", errors);
  }
  return checkTools(parsed.data);
}

/** Two tools of one name (or two MCP tools of one label) are refused, as OpenAI does. */
function checkTools(request: ResponsesRequest): Result<ResponsesRequest> {
  const names = new Set<string>();
  const labels = new Set<string>();
  for (const [index, entry] of (request.tools ?? []).entries()) {
    const [seen, name, field] =
      entry.type === "function" ? [names, entry.name, "name"] : [labels, entry.server_label, "server_label"];
    if (seen.has(name)) {
      const detail = `'${name}' is used by more than one tool`;
      return fail("invalid_request", detail, [{ pointer: `/tools/${index}/${field}`, detail }]);
    }
    seen.add(name);
    if (entry.type === "mcp" && request.mcp_servers != null && Object.hasOwn(request.mcp_servers, name)) {
      const detail = `'${name}' is also a key of mcp_servers; one server per name`;
      return fail("invalid_request", detail, [{ pointer: `/tools/${index}/server_label`, detail }]);
    }
  }
  return ok(request);
}
