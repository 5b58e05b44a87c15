import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { Tool, ToolSet } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMcpServerSide } from "../../src/create.js";
import type { McpServerSide } from "../../src/types.js";

/*
 * SPEC §4: masking touches only credentials. Real servers from npm, started with the env flags their
 * READMEs document, must give through `forRequest(...).tools()` and `execute` exactly what the raw MCP
 * SDK client gets from them, byte for byte (JSON.stringify equality), tool lists and results alike.
 * The old masking treated every env value of 4+ characters as a secret and spliced `***` into the
 * serialized result: "true", "info", "null" and the directory path turned into `***` here, and a value
 * that is a JSON token made the call throw. The one credential among the env values (`API_TOKEN`)
 * is masked, and nothing else.
 */

const bin = (name: string): string => fileURLToPath(new URL(`../../../../node_modules/.bin/${name}`, import.meta.url));

const API_TOKEN = "tok-credential-5f2a9c";

interface RealCase {
  server: string;
  command: string;
  args: string[];
  /** `side` lets a stateful server (memory) keep one file per client. */
  env: (side: "raw" | "ours") => Record<string, string>;
  calls: { tool: string; arguments: Record<string, unknown> }[];
  /** The credential values the server echoes, which ours must show as `***` (and nothing else). */
  echoes?: string[];
}

// Made at collection time: the table below names paths inside it.
const work = mkdtempSync(join(tmpdir(), "mss-masking-"));
const dir = join(work, "files");

beforeAll(() => {
  mkdirSync(join(dir, "sub"), { recursive: true });
  // Text that the old masking mangled: the flags' values, JSON tokens, the allowed directory's path.
  writeFileSync(
    join(dir, "notes.txt"),
    `READ_ONLY=true\nLOG_LEVEL=info\n{"a": null, "b": "]}", "c": true}\nroot: ${dir}\n`,
  );
  writeFileSync(join(dir, "sub", "info.json"), '{"enabled": true, "level": "info", "value": null}');
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

const cases = (): RealCase[] => [
  {
    server: "filesystem",
    command: bin("mcp-server-filesystem"),
    args: [dir],
    env: () => ({ READ_ONLY: "true", LOG_LEVEL: "info", X: "null", ROOT_DIR: dir }),
    calls: [
      { tool: "list_allowed_directories", arguments: {} },
      { tool: "list_directory", arguments: { path: dir } },
      { tool: "read_text_file", arguments: { path: join(dir, "notes.txt") } },
      { tool: "read_text_file", arguments: { path: join(dir, "sub", "info.json") } },
      { tool: "search_files", arguments: { path: dir, pattern: "info" } },
      { tool: "read_text_file", arguments: { path: join(work, "outside.txt") } },
    ],
  },
  {
    server: "kubernetes",
    command: bin("mcp-server-kubernetes"),
    args: [],
    env: () => ({ ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS: "true", LOG_LEVEL: "info", HOME: work }),
    calls: [{ tool: "ping", arguments: {} }],
  },
  {
    server: "memory",
    command: bin("mcp-server-memory"),
    args: [],
    env: (side) => ({ MEMORY_FILE_PATH: join(work, `memory-${side}.jsonl`), LOG_LEVEL: "info", DEBUG: "true" }),
    calls: [
      {
        tool: "create_entities",
        arguments: {
          entities: [{ name: "info", entityType: "true", observations: ["null", "READ_ONLY=true", '"]}'] }],
        },
      },
      { tool: "read_graph", arguments: {} },
      { tool: "search_nodes", arguments: { query: "info" } },
      { tool: "open_nodes", arguments: { names: ["info"] } },
    ],
  },
  {
    server: "everything",
    command: bin("mcp-server-everything"),
    args: [],
    env: () => ({ LOG_LEVEL: "info", VERBOSE: "true", EMPTY: "null", API_TOKEN }),
    calls: [
      { tool: "echo", arguments: { message: 'info true null "]} ' } },
      { tool: "get-sum", arguments: { a: 2, b: 3 } },
      { tool: "get-structured-content", arguments: { location: "Chicago" } },
      { tool: "get-env", arguments: {} },
    ],
    echoes: [API_TOKEN],
  },
];

/** JSON with object keys sorted, for comparing data whose member order is not meaningful. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === "object" && item !== null && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

interface Side {
  tools: { name: string; description?: string; inputSchema: unknown; outputSchema?: unknown }[];
  results: unknown[];
  instructions?: string | undefined;
}

async function raw(entry: RealCase): Promise<Side> {
  const client = new Client({ name: "raw", version: "1.0.0" });
  await client.connect(
    new StdioClientTransport({ command: entry.command, args: entry.args, env: entry.env("raw"), stderr: "pipe" }),
  );
  try {
    const { tools } = await client.listTools();
    const results: unknown[] = [];
    for (const call of entry.calls) {
      results.push(
        await client.callTool({ name: call.tool, arguments: call.arguments }).catch((error: unknown) => ({
          thrown: error instanceof Error ? error.constructor.name : typeof error,
        })),
      );
    }
    return { tools, results, instructions: client.getInstructions() };
  } finally {
    await client.close();
  }
}

async function ours(entry: RealCase): Promise<Side & { set: ToolSet; errors: unknown[] }> {
  const mcp: McpServerSide = createMcpServerSide({
    // A cold `npx`-style start on a busy machine takes seconds: the deadlines are not under test here.
    connectTimeoutMs: 60_000,
    toolsTimeoutMs: 60_000,
    config: { mcpServers: { [entry.server]: { command: entry.command, args: entry.args, env: entry.env("ours") } } },
  });
  try {
    const context = mcp.forRequest(new Request("http://app.test/chat", { method: "POST" }));
    const set = await context.tools();
    const byMcpName = new Map<string, Tool>();
    for (const tool of Object.values(set)) byMcpName.set(String(tool.metadata?.mcpTool), tool);
    const results: unknown[] = [];
    for (const call of entry.calls) {
      const tool = byMcpName.get(call.tool);
      if (tool?.execute === undefined) throw new Error(`no tool ${call.tool}: ${JSON.stringify(context.errors)}`);
      results.push(
        await (tool.execute(call.arguments, { toolCallId: "c", messages: [], context: {} }) as Promise<unknown>).catch(
          (error: unknown) => ({ thrown: error instanceof Error ? error.constructor.name : typeof error }),
        ),
      );
    }
    const tools = [...byMcpName.entries()].map(([name, tool]) => ({
      name,
      ...(typeof tool.description === "string" ? { description: tool.description } : {}),
      inputSchema: (tool.inputSchema as { jsonSchema: unknown }).jsonSchema,
    }));
    return { tools, results, set, errors: [...context.errors], instructions: await context.instructions() };
  } finally {
    await mcp.close();
  }
}

describe.each(cases().map((entry) => [entry.server, entry] as const))(
  "%s with its documented env flags",
  (_server, entry) => {
    it("gives byte-identical tool lists and results to the raw MCP SDK client", { timeout: 90_000 }, async () => {
      const [expected, actual] = await Promise.all([raw(entry), ours(entry)]);

      expect(actual.errors).toEqual([]);
      // Tool lists: every tool with its description and input schema, exactly as the server sent them.
      // Compared with sorted keys: the SDK's own list parsing (zod) reorders members, ours keeps the
      // wire order, and neither is a masking matter.
      expect(actual.tools.map((tool) => tool.name)).toEqual(expected.tools.map((tool) => tool.name));
      for (const tool of expected.tools) {
        const mine = actual.tools.find((candidate) => candidate.name === tool.name)!;
        expect(canonical({ description: mine.description, inputSchema: mine.inputSchema })).toBe(
          canonical({ description: tool.description, inputSchema: tool.inputSchema }),
        );
      }
      // Results: byte for byte; only a credential the server echoes differs, as `***`.
      expect(actual.results).toHaveLength(entry.calls.length);
      entry.calls.forEach((call, index) => {
        let want = JSON.stringify(expected.results[index]);
        for (const echoed of entry.echoes ?? []) want = want.split(echoed).join("***");
        expect({ call: call.tool, result: JSON.stringify(actual.results[index]) }).toEqual({
          call: call.tool,
          result: want,
        });
      });
      for (const echoed of entry.echoes ?? []) {
        // The test is meaningful: the raw server really echoed the credential.
        expect(JSON.stringify(expected.results)).toContain(echoed);
        expect(JSON.stringify(actual)).not.toContain(echoed);
      }
      // The flags' values really occur in what was compared (for kubernetes, whose only call without a
      // cluster answers empty, in the tool list), so the old masking would have mangled it.
      expect(JSON.stringify(entry.server === "kubernetes" ? expected.tools : expected.results)).toMatch(/true|info/);
      if (expected.instructions !== undefined)
        expect(actual.instructions).toContain(expected.instructions.trim().slice(0, 1000));
    });
  },
);

describe("a server that fails a call", () => {
  it("kubernetes without a cluster: the error reaches the model as a tool error, with nothing masked", {
    timeout: 90_000,
  }, async () => {
    const mcp = createMcpServerSide({
      connectTimeoutMs: 60_000,
      toolsTimeoutMs: 60_000,
      config: {
        mcpServers: {
          k8s: {
            command: bin("mcp-server-kubernetes"),
            env: { ALLOW_ONLY_NON_DESTRUCTIVE_TOOLS: "true", LOG_LEVEL: "info", HOME: work },
          },
        },
      },
    });
    try {
      const set = await mcp.forRequest(new Request("http://app.test/chat", { method: "POST" })).tools();
      const get = Object.values(set).find((tool) => tool.metadata?.mcpTool === "kubectl_get");
      if (get?.execute === undefined) throw new Error("kubectl_get is missing");
      const outcome = await (
        get.execute({ resourceType: "pods" }, { toolCallId: "c", messages: [], context: {} }) as Promise<unknown>
      ).then(
        (value) => ({ value }),
        (error: unknown) => ({ error: error as Error & { code?: string } }),
      );
      // No cluster: kubectl fails (or is missing), either as an isError result or a JSON-RPC error.
      const text = "error" in outcome ? outcome.error.message : JSON.stringify(outcome.value);
      if ("error" in outcome) expect(outcome.error.code).toBe("tool_call_failed");
      else expect((outcome.value as { isError?: boolean }).isError).toBe(true);
      expect(text.length).toBeGreaterThan(0);
      expect(text).not.toContain("***");
    } finally {
      await mcp.close();
    }
  });
});
