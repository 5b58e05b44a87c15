import { z } from "zod";

/**
 * Server names: 1–64 of `[A-Za-z0-9_-]`, starting with a letter or digit, never containing `__`
 * (the separator between server and tool in injected tool names). Case-sensitive.
 */
export const SERVER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function isValidServerName(name: unknown): name is string {
  return typeof name === "string" && SERVER_NAME_PATTERN.test(name) && !name.includes("__");
}

export const serverNameSchema = z.string().refine(isValidServerName, {
  message: "must be 1-64 characters of A-Z a-z 0-9 _ -, start with a letter or digit, and not contain '__'",
});

/** Caps on a `tools` filter, which a request-tier caller may send (README "Limits"). */
export const MAX_TOOL_PATTERN_LENGTH = 128;
export const MAX_TOOL_PATTERNS = 64;
/** Cap on a definition's `description`, which a tenant writes and every caller's listing shows. */
export const MAX_DESCRIPTION_LENGTH = 1024;

const toolPatternSchema = z
  .string()
  .min(1)
  .max(MAX_TOOL_PATTERN_LENGTH)
  .regex(/^[\x21-\x7e]+$/, "must be a tool name or a '*' glob of printable ASCII");

const toolPatternListSchema = z.array(toolPatternSchema).max(MAX_TOOL_PATTERNS);

export const toolFilterSchema = z.strictObject({
  /** Only these tools (names or `*` globs) are offered. */
  allow: toolPatternListSchema.optional(),
  /** These tools (names or `*` globs) are never offered; deny wins over allow. */
  deny: toolPatternListSchema.optional(),
  /** These tools get the AI SDK's `needsApproval: true`. */
  requireApproval: toolPatternListSchema.optional(),
});

/** Header values as given; their rules (token names, ByteString values, refused names) live in security/headers. */
const headerMapSchema = z.record(z.string(), z.string());

export const authSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("none") }),
  z.strictObject({ type: z.literal("bearer"), token: z.string().min(1).max(4096) }),
  z.strictObject({ type: z.literal("headers"), headers: headerMapSchema }),
  z.strictObject({
    type: z.literal("oauth2"),
    clientId: z.string().min(1).max(512).optional(),
    clientSecret: z.string().min(1).max(4096).optional(),
    scopes: z.array(z.string().min(1).max(256)).max(64).optional(),
  }),
]);

const availabilitySchema = z.enum(["force_on", "default_on", "default_off"]);

/**
 * The one schema for a server definition, in the `mcpServers` format. It is a single strict object so
 * that an unknown field or a misplaced one is reported at its own path; the stdio/remote split is
 * checked after the shape.
 */
export const serverDefinitionSchema = z
  .strictObject({
    // stdio
    command: z.string().min(1).max(4096).optional(),
    args: z.array(z.string().max(32_768)).max(1024).optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().min(1).max(4096).optional(),
    // remote
    url: z.string().min(1).max(8192).optional(),
    transport: z.enum(["streamable-http", "sse"]).optional(),
    headers: headerMapSchema.optional(),
    auth: authSchema.optional(),
    // common
    description: z.string().max(MAX_DESCRIPTION_LENGTH).optional(),
    enabled: z.boolean().optional(),
    availability: availabilitySchema.optional(),
    locked: z.boolean().optional(),
    tools: toolFilterSchema.optional(),
    timeoutMs: z.number().int().min(1).max(600_000).optional(),
  })
  .superRefine((definition, context) => {
    const hasCommand = definition.command !== undefined;
    const hasUrl = definition.url !== undefined;
    if (hasCommand === hasUrl) {
      context.addIssue({
        code: "custom",
        path: hasCommand ? ["url"] : ["command"],
        message: hasCommand
          ? "a server has either 'command' (stdio) or 'url' (remote), not both"
          : "a server needs 'command' (stdio) or 'url' (remote)",
      });
      return;
    }
    const misplaced = hasCommand ? (["transport", "headers", "auth"] as const) : (["args", "env", "cwd"] as const);
    for (const field of misplaced) {
      if (definition[field] !== undefined) {
        context.addIssue({
          code: "custom",
          path: [field],
          message: hasCommand
            ? `'${field}' belongs to remote servers (with 'url')`
            : `'${field}' belongs to stdio servers (with 'command')`,
        });
      }
    }
  });

export type ServerDefinition = z.infer<typeof serverDefinitionSchema>;
export type AuthConfig = z.infer<typeof authSchema>;
export type ToolFilter = z.infer<typeof toolFilterSchema>;
export type Availability = z.infer<typeof availabilitySchema>;

export type StdioServerDefinition = ServerDefinition & { command: string; url?: undefined };
export type RemoteServerDefinition = ServerDefinition & { url: string; command?: undefined };

export function isStdio(definition: ServerDefinition): definition is StdioServerDefinition {
  return definition.command !== undefined;
}

export function isRemote(definition: ServerDefinition): definition is RemoteServerDefinition {
  return definition.url !== undefined;
}

export function availabilityOf(definition: ServerDefinition): Availability {
  return definition.availability ?? "default_on";
}

/** `availability: "force_on"` implies `locked: true` (SPEC §2). */
export function isLocked(definition: ServerDefinition): boolean {
  return definition.locked === true || definition.availability === "force_on";
}

export function isEnabled(definition: ServerDefinition): boolean {
  return definition.enabled !== false;
}

/** The config file: `{ "mcpServers": { name: definition } }`. */
export const configFileSchema = z.strictObject({
  $schema: z.string().optional(),
  mcpServers: z.record(serverNameSchema, serverDefinitionSchema),
});

/** Turns zod issues into `{ pointer, detail }` entries, `pointer` a JSON Pointer (RFC 6901). */
export function issuesToFieldErrors(
  issues: readonly z.core.$ZodIssue[],
  prefix = "",
): { pointer: string; detail: string }[] {
  return issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      const keys = issue.keys;
      return {
        pointer: toPointer([...issue.path, keys[0] ?? ""], prefix),
        detail: `unknown field${keys.length > 1 ? "s" : ""} ${keys.map((key) => `'${key}'`).join(", ")}`,
      };
    }
    return { pointer: toPointer(issue.path, prefix), detail: issue.message };
  });
}

export function toPointer(path: readonly PropertyKey[], prefix = ""): string {
  return prefix + path.map((segment) => `/${String(segment).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}
