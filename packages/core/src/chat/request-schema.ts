import { z } from "zod";
import { type FieldError, type Result, fail, ok } from "../errors.js";
import { toPointer } from "../config/schema.js";

/*
 * The OpenAI Chat Completions request, as far as this endpoint acts on it. Every object is loose:
 * fields that OpenAI accepts and we do not use (`user`, `logprobs`, `metadata`, `store`,
 * `parallel_tool_calls`, `response_format`, …) are ignored rather than rejected, so clients written
 * for OpenAI work unchanged.
 */

const textPart = z.looseObject({ type: z.literal("text"), text: z.string() });
const refusalPart = z.looseObject({ type: z.literal("refusal"), refusal: z.string() });

const userPart = z.discriminatedUnion("type", [
  textPart,
  z.looseObject({
    type: z.literal("image_url"),
    image_url: z.looseObject({ url: z.string().min(1), detail: z.string().optional() }),
  }),
  z.looseObject({
    type: z.literal("input_audio"),
    input_audio: z.looseObject({ data: z.string().min(1), format: z.enum(["wav", "mp3"]) }),
  }),
  z.looseObject({
    type: z.literal("file"),
    file: z.looseObject({
      file_data: z.string().min(1).optional(),
      file_id: z.string().optional(),
      filename: z.string().optional(),
    }),
  }),
]);

/** `^[a-zA-Z0-9_-]{1,64}$` is what OpenAI accepts for function names. */
export const functionName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 characters of a-z, A-Z, 0-9, underscores and dashes");

const toolCall = z.looseObject({
  id: z.string().min(1),
  type: z.literal("function"),
  function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
});

const systemMessage = z.looseObject({
  role: z.enum(["system", "developer"]),
  content: z.union([z.string(), z.array(textPart)]),
});

const userMessage = z.looseObject({
  role: z.literal("user"),
  content: z.union([z.string(), z.array(userPart)]),
});

const assistantMessage = z.looseObject({
  role: z.literal("assistant"),
  content: z.union([z.string(), z.array(z.discriminatedUnion("type", [textPart, refusalPart]))]).nullish(),
  refusal: z.string().nullish(),
  tool_calls: z.array(toolCall).nullish(),
});

const toolMessage = z.looseObject({
  role: z.literal("tool"),
  tool_call_id: z.string().min(1),
  content: z.union([z.string(), z.array(textPart)]),
});

const message = z.discriminatedUnion("role", [systemMessage, userMessage, assistantMessage, toolMessage]);

const functionTool = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({
    name: functionName,
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  }),
});

const toolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.looseObject({ type: z.literal("function"), function: z.looseObject({ name: z.string().min(1) }) }),
]);

export const tokenCount = z.int().positive().nullish();

export const chatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: tokenCount,
  max_completion_tokens: tokenCount,
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  seed: z.int().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  // One choice is all a tool-running loop can produce; say so instead of silently returning one.
  n: z.literal(1, "only n=1 is supported").nullish(),
  tools: z.array(functionTool).nullish(),
  tool_choice: toolChoice.nullish(),
  // The shapes only: what the entries mean (tiers, locks, SSRF) is the request context's to judge.
  mcp_servers: z.record(z.string(), z.unknown()).nullish(),
  mcp_select: z.array(z.string()).nullish(),
});

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
export type ChatMessage = ChatCompletionRequest["messages"][number];
export type ChatTool = NonNullable<ChatCompletionRequest["tools"]>[number];
export type ChatToolChoice = NonNullable<ChatCompletionRequest["tool_choice"]>;

/** Validates a parsed JSON body; failures name the first failing field as a JSON Pointer. */
export function parseChatCompletionRequest(body: unknown): Result<ChatCompletionRequest> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return fail("invalid_request", "The request body must be a JSON object.");
  }
  const parsed = chatCompletionRequestSchema.safeParse(body);
  if (parsed.success) return checkToolNames(parsed.data);
  const errors = flattenIssues(parsed.error.issues, []);
  return fail("invalid_request", errors[0]?.detail ?? "Invalid request.", errors);
}

/** OpenAI refuses two tools of one name; so do we, instead of letting the last one win silently. */
function checkToolNames(request: ChatCompletionRequest): Result<ChatCompletionRequest> {
  const seen = new Set<string>();
  for (const [index, tool] of (request.tools ?? []).entries()) {
    if (seen.has(tool.function.name)) {
      const pointer = `/tools/${index}/function/name`;
      const detail = `the tool name '${tool.function.name}' is used more than once`;
      return fail("invalid_request", detail, [{ pointer, detail }]);
    }
    seen.add(tool.function.name);
  }
  return ok(request);
}

type Issue = z.core.$ZodIssue;

/**
 * zod reports a failed union as one vague "Invalid input". For a client that needs to know what to
 * fix, follow the branch that got furthest (the longest path) and report its issues instead.
 */
export function flattenIssues(issues: readonly Issue[], base: readonly PropertyKey[]): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      const best = issue.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a));
      if (best.length > 0 && depth(best) > 0) {
        out.push(...flattenIssues(best, path));
        continue;
      }
    }
    out.push({ pointer: toPointer(path), detail: describe(issue) });
  }
  return out;
}

function depth(issues: readonly Issue[]): number {
  return Math.max(0, ...issues.map((issue) => issue.path.length));
}

function describe(issue: Issue): string {
  if (issue.code === "invalid_union" && "options" in issue && Array.isArray(issue.options)) {
    return `expected one of ${issue.options.map((option: unknown) => `'${String(option)}'`).join(", ")}`;
  }
  return issue.message;
}
