import { credentialsOf, maskCredentials } from "../security/secrets.js";
import { asSchema, jsonSchema, type JSONSchema7, type Schema, type Tool, type ToolSet } from "ai";
import type { ServerDefinition } from "../config/schema.js";
import type { HookServerRef, McpHookable } from "../hooks.js";
import type { Limits, Logger } from "../options.js";
import type { ContextError } from "../types.js";
import { createExecute, type ExecuteContext, type ToolCaller } from "./call.js";
import { compileToolFilter } from "./filter.js";
import { disambiguatedName, type ToolNamer } from "./naming.js";
import { mcpToModelOutput } from "./result.js";
import { checkInputSchema } from "./schema.js";

/**
 * One server's tool list as AI SDK tools, built once per connection and tool-list version and then
 * shared by every request (SPEC §5): allow/deny applied, schemas quarantined, `maxToolsPerServer`
 * enforced, names made provider-safe and unique within the server, descriptions capped.
 */

/** Longer descriptions are cut (a hostile server's 100 KB description never reaches the model whole). */
export const MAX_TOOL_DESCRIPTION_LENGTH = 4096;

export interface ToolEntry {
  /** The name the model sees. */
  toolName: string;
  /** The MCP tool's own name. */
  name: string;
  description?: string;
  inputSchema: JSONSchema7;
  /** The tool's MCP `annotations` as the server sent them (part of its pinned definition, SPEC §8). */
  annotations?: NonNullable<Tool["metadata"]>;
  needsApproval: boolean;
  tool: Tool;
}

export interface ServerToolView {
  /** Unique per build: identifies this exact tool set (connection and tool-list version). */
  id: number;
  server: string;
  /** The entries as a `ToolSet` (frozen: shared by every request), ready to be copied into a request's set. */
  tools: ToolSet;
  entries: ToolEntry[];
  /** Tools left out, reported to every request that uses this view. */
  errors: ContextError[];
  /** The entry's tool under another name (used when another server's tool holds this one's name). */
  rename(entry: ToolEntry, toolName: string): Tool;
}

export interface ToolViewInput {
  server: string;
  ref: HookServerRef;
  definition: ServerDefinition;
  /** The `tools/list` entries as the server sent them. */
  tools: readonly unknown[];
  namer: ToolNamer;
  limits: Limits;
  hooks: McpHookable;
  call: ToolCaller;
  logger?: Logger;
}

let nextViewId = 1;

/**
 * Annotations (hints and a display title) serialized longer than this are left out of the tool's
 * metadata (the tool stays): a hostile server's megabyte of annotations never reaches hooks or pins.
 */
export const MAX_ANNOTATIONS_LENGTH = 4096;

/** MCP tool names longer than this are not real names. */
export const MAX_TOOL_NAME_LENGTH = 256;

function capDescription(description: unknown): string | undefined {
  if (typeof description !== "string") return undefined;
  return description.length > MAX_TOOL_DESCRIPTION_LENGTH
    ? `${description.slice(0, MAX_TOOL_DESCRIPTION_LENGTH - 1)}…`
    : description;
}

/**
 * A tool's input schema as the AI SDK takes it, in one small object: `jsonSchema()` wraps each schema
 * in a getter closure, its context and an object with a 256-byte property store (about 400 bytes a tool
 * in a heap snapshot, 20 KiB a pooled connection of 50 tools), which a schema known up front does not
 * need. The SDK recognises a schema by its registered marker symbol and the `jsonSchema` and
 * `validate` keys; the constant ones live on the prototype.
 */
class InputSchema {
  constructor(readonly jsonSchema: JSONSchema7) {}
}
Object.defineProperties(InputSchema.prototype, {
  [Symbol.for("vercel.ai.schema")]: { value: true },
  _type: { value: undefined },
  validate: { value: undefined },
});
/** Checked once: an `ai` version that marks schemas otherwise gets its own `jsonSchema()` wrapper. */
const probe = new InputSchema({ type: "object", properties: {} });
const SDK_TAKES_INPUT_SCHEMA = asSchema(probe as unknown as Schema<unknown>) === (probe as unknown);

function inputSchemaOf(schema: JSONSchema7): Schema<unknown> {
  return SDK_TAKES_INPUT_SCHEMA ? (new InputSchema(schema) as unknown as Schema<unknown>) : jsonSchema(schema);
}

function isPlainObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function buildToolView(input: ToolViewInput): ServerToolView {
  const { server, limits } = input;
  const filter = compileToolFilter(input.definition.tools);
  const context: ExecuteContext = {
    ref: input.ref,
    timeoutMs: input.definition.timeoutMs ?? limits.callTimeoutMs,
    maxResultBytes: limits.maxToolResultBytes,
    secrets: credentialsOf(input.definition),
    hooks: input.hooks,
    call: input.call,
    ...(input.logger ? { logger: input.logger } : {}),
  };
  // One function per view, not a closure per tool: a pooled connection's heap is mostly its tools.
  // Objects are written out per case rather than with conditional spreads (`...(x ? {} : { x })`):
  // V8 copies those through its generic slow path, about 9 µs a tool, most of a cold 500-tool build.
  // The tool is what `dynamicTool()` returns (its argument spread, plus `type: "dynamic"`), written
  // out for the same reason.
  const makeTool = (entry: Omit<ToolEntry, "tool">, toolName: string): Tool => {
    const metadata: NonNullable<Tool["metadata"]> =
      entry.annotations === undefined
        ? { mcpServer: server, mcpTool: entry.name }
        : { mcpServer: server, mcpTool: entry.name, mcpAnnotations: entry.annotations };
    const inputSchema = inputSchemaOf(entry.inputSchema);
    const execute = createExecute(context, entry.name, toolName);
    const tool: Extract<Tool, { type: "dynamic" }> =
      entry.description === undefined
        ? { inputSchema, metadata, execute, toModelOutput: mcpToModelOutput, type: "dynamic" }
        : {
            description: entry.description,
            inputSchema,
            metadata,
            execute,
            toModelOutput: mcpToModelOutput,
            type: "dynamic",
          };
    if (entry.needsApproval) tool.needsApproval = true;
    return tool;
  };
  const errors: ContextError[] = [];
  const entries: ToolEntry[] = [];
  const tools: ToolSet = {};
  const seen = new Set<string>();
  // Tool names taken, looked up here rather than on `tools`: a miss on an object that gains a new key
  // per tool is a slow lookup, and a Set answers in constant time.
  const taken = new Set<string>();
  let overLimit = 0;

  for (const listed of input.tools) {
    const raw = (typeof listed === "object" && listed !== null ? listed : {}) as { name?: unknown };
    // The server's own credentials are masked here, once, in every string the tool carries (title,
    // description, schema, annotations): everything downstream (the model, GET /:name/tools,
    // tools:resolved, schema errors, pins, logs) only ever sees the masked tool.
    const mcpTool = maskCredentials(raw, context.secrets) as {
      name?: unknown;
      description?: unknown;
      inputSchema?: unknown;
      annotations?: unknown;
    };
    const name = mcpTool.name;
    if (typeof name !== "string" || name === "" || name.length > MAX_TOOL_NAME_LENGTH) {
      errors.push({ code: "tool_schema_rejected", server, message: "a tool without a valid name was left out" });
      continue;
    }
    if (name !== raw.name) {
      // A masked name could not be called; the tool is left out and its name never repeated.
      errors.push({
        code: "tool_schema_rejected",
        server,
        message: "a tool whose name contains one of the server's credentials was left out",
      });
      continue;
    }
    if (seen.has(name)) {
      errors.push({
        code: "tool_name_conflict",
        server,
        tool: name,
        message: "the server lists this tool twice; the first is used",
      });
      continue;
    }
    seen.add(name);
    if (!filter.allows(name)) continue;
    const schema = checkInputSchema(mcpTool.inputSchema);
    if (!schema.ok) {
      errors.push({ code: "tool_schema_rejected", server, tool: name, message: schema.message });
      continue;
    }
    if (entries.length >= limits.maxToolsPerServer) {
      overLimit++;
      continue;
    }

    let toolName = input.namer(server, name);
    if (taken.has(toolName)) {
      toolName = disambiguatedName(toolName, server, name);
      if (taken.has(toolName)) {
        errors.push({
          code: "tool_name_conflict",
          server,
          tool: name,
          message: `another tool of this server already has the name '${toolName}'`,
        });
        continue;
      }
    }

    const description = capDescription(mcpTool.description);
    const entry: Omit<ToolEntry, "tool"> & { tool?: Tool } = {
      toolName,
      name,
      inputSchema: schema.value,
      needsApproval: filter.needsApproval(name),
    };
    if (description !== undefined) entry.description = description;
    if (isPlainObject(mcpTool.annotations) && JSON.stringify(mcpTool.annotations).length <= MAX_ANNOTATIONS_LENGTH)
      entry.annotations = mcpTool.annotations as NonNullable<Tool["metadata"]>;
    const tool = makeTool(entry, toolName);
    entry.tool = tool;
    taken.add(toolName);
    tools[toolName] = tool;
    entries.push(entry as ToolEntry);
  }

  if (overLimit > 0) {
    errors.push({
      code: "tool_limit_exceeded",
      server,
      message: `the server offers ${entries.length + overLimit} tools; ${overLimit} over the limit of ${limits.maxToolsPerServer} were left out`,
    });
  }
  // Built key by key the object is in dictionary mode, which makes every copy several times slower; a
  // spread gives it fast properties once. Frozen: a request of this one server gets this very object.
  return { id: nextViewId++, server, tools: Object.freeze({ ...tools }), entries, errors, rename: makeTool };
}

/** What `POST /test` shows of a listed tool. */
export interface ToolSummary {
  name: string;
  description?: string;
}

/**
 * The raw tool list of a candidate server for `POST /test` (before allow/deny): the candidate's
 * credentials masked, names checked like the tool view's (a tool whose name holds a credential is left
 * out), descriptions capped.
 */
export function summarizeTools(listed: readonly unknown[], definition: ServerDefinition): ToolSummary[] {
  const credentials = credentialsOf(definition);
  const tools: ToolSummary[] = [];
  for (const entry of listed) {
    const raw = (typeof entry === "object" && entry !== null ? entry : {}) as { name?: unknown; description?: unknown };
    const name = raw.name;
    if (typeof name !== "string" || name === "" || name.length > MAX_TOOL_NAME_LENGTH) continue;
    if (maskCredentials(name, credentials) !== name) continue;
    const description = capDescription(maskCredentials(raw.description, credentials));
    tools.push({ name, ...(description === undefined ? {} : { description }) });
  }
  return tools;
}
