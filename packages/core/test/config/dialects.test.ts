import { fileURLToPath } from "node:url";
import { createMcpServerSide, type EffectiveServer, type McpServerSide } from "@mcp-server-side/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normalizeServerDialect } from "../../src/config/dialects.js";
import { loadConfigTier } from "../../src/config/load.js";
import type { McpServerSideError } from "../../src/errors.js";
import { everythingServer } from "../fixtures/mcp-servers.js";
import { expectThrown } from "../support/errors.js";

const sample = (file: string): string => fileURLToPath(new URL(`./samples/${file}`, import.meta.url));
const EVERYTHING_JS = everythingServer().args[0] ?? "";

// The samples refer to the everything server's script through ${MCP_EVERYTHING_JS} / ${env:MCP_EVERYTHING_JS}.
let previous: string | undefined;
beforeAll(() => {
  previous = process.env["MCP_EVERYTHING_JS"];
  process.env["MCP_EVERYTHING_JS"] = EVERYTHING_JS;
  process.env["GITHUB_TOKEN"] ??= "ghs-test-token";
  process.env["FIGMA_TOKEN"] ??= "figma-test-token";
});
afterAll(() => {
  if (previous === undefined) delete process.env["MCP_EVERYTHING_JS"];
  else process.env["MCP_EVERYTHING_JS"] = previous;
});

/** The config tier as an instance sees it: every config server, enabled or not, by name. */
async function configServers(file: string): Promise<{ mcp: McpServerSide; byName: Map<string, EffectiveServer> }> {
  const mcp = createMcpServerSide({ config: sample(file), logger: false, warmup: false } as Parameters<
    typeof createMcpServerSide
  >[0]);
  const servers = await mcp.resolve(new Request("http://app.test/chat"));
  return { mcp, byName: new Map(servers.map((server) => [server.name, server])) };
}

const errorOf = (run: () => unknown): McpServerSideError => expectThrown(run);

describe("other clients' config files, pasted as they are", () => {
  it("loads Claude Code's .mcp.json: type stdio, http (Streamable HTTP) and sse", async () => {
    const loaded = loadConfigTier(sample("claude-code.mcp.json"));
    expect(loaded.get("everything")).toEqual({
      command: "node",
      args: [EVERYTHING_JS, "stdio"],
      env: { LOG_LEVEL: process.env["LOG_LEVEL"] ?? "info" },
    });
    expect(loaded.get("sentry")).toMatchObject({ url: "https://mcp.sentry.dev/mcp", transport: "streamable-http" });
    expect(loaded.get("linear")).toEqual({ url: "https://mcp.linear.app/sse", transport: "sse" });
    const { mcp, byName } = await configServers("claude-code.mcp.json");
    try {
      expect([...byName.keys()].sort()).toEqual(["everything", "linear", "sentry"]);
    } finally {
      await mcp.close();
    }
  });

  it("loads VS Code's .vscode/mcp.json: servers at the top, type, and ${env:VAR}", async () => {
    const loaded = loadConfigTier(sample("vscode.mcp.json"));
    expect(loaded.get("everything")).toEqual({ command: "node", args: [EVERYTHING_JS, "stdio"] });
    expect(loaded.get("github")).toEqual({
      url: "https://api.githubcopilot.com/mcp/",
      transport: "streamable-http",
      headers: { Authorization: `Bearer ${process.env["GITHUB_TOKEN"]}` },
    });
    const { mcp, byName } = await configServers("vscode.mcp.json");
    try {
      expect([...byName.keys()].sort()).toEqual(["everything", "github"]);
    } finally {
      await mcp.close();
    }
  });

  it("refuses VS Code's ${input:…} prompts with the reason and what to write instead", () => {
    const error = errorOf(() => createMcpServerSide({ config: sample("vscode-inputs.mcp.json"), logger: false }));
    expect(error.code).toBe("invalid_config");
    expect(error.message).toContain("server 'perplexity'");
    expect(error.message).toContain("field 'env.PERPLEXITY_API_KEY'");
    expect(error.message).toContain("${input:perplexity-key} is a VS Code prompt");
    expect(error.message).toContain("${VAR}");
  });

  it("refuses VS Code's envFile, saying to use the process environment", () => {
    const error = errorOf(() => createMcpServerSide({ config: sample("vscode-envfile.mcp.json"), logger: false }));
    expect(error.message).toContain("server 'fetch': field 'envFile': not supported");
    expect(error.message).toContain("process environment");
  });

  it("loads Cline's settings: disabled, autoApprove, timeout in seconds, type streamableHttp", async () => {
    const loaded = loadConfigTier(sample("cline_mcp_settings.json"));
    expect(loaded.get("everything")).toMatchObject({ enabled: true, timeoutMs: 60_000 });
    expect(loaded.get("everything")).not.toHaveProperty("autoApprove");
    expect(loaded.get("brave-search")).toMatchObject({ enabled: false });
    expect(loaded.get("remote-docs")).toMatchObject({ transport: "streamable-http", timeoutMs: 30_000 });
    const { mcp, byName } = await configServers("cline_mcp_settings.json");
    try {
      expect(byName.has("brave-search")).toBe(false); // disabled: never injected
      expect([...byName.keys()].sort()).toEqual(["everything", "remote-docs"]);
    } finally {
      await mcp.close();
    }
  });

  it("loads Windsurf's mcp_config.json: serverUrl and ${env:VAR}", async () => {
    const loaded = loadConfigTier(sample("windsurf.mcp_config.json"));
    expect(loaded.get("figma")).toEqual({
      url: "https://mcp.figma.example/mcp",
      headers: { Authorization: `Bearer ${process.env["FIGMA_TOKEN"]}` },
    });
    expect(loaded.get("everything")).toMatchObject({ enabled: true, args: [EVERYTHING_JS, "stdio"] });
  });

  it("loads Gemini CLI's mcpServers: httpUrl, timeout in ms, trust, includeTools and excludeTools, cwd", () => {
    const loaded = loadConfigTier(sample("gemini.settings.json"));
    expect(loaded.get("everything")).toMatchObject({
      cwd: ".",
      timeoutMs: 30_000,
      tools: { allow: ["echo", "get-sum"] },
    });
    expect(loaded.get("everything")).not.toHaveProperty("trust");
    expect(loaded.get("httpServer")).toMatchObject({
      url: "https://api.example.com/mcp",
      transport: "streamable-http",
      timeoutMs: 5000,
      tools: { deny: ["delete_*"] },
    });
    // Gemini CLI's plain url is SSE there; here the default transport falls back to SSE by itself.
    expect(loaded.get("sseServer")).toEqual({
      url: "https://sse.example.com/sse",
      description: "An SSE server: Gemini CLI's plain url",
    });
  });

  it.each([
    ["claude-code.mcp.json"],
    ["vscode.mcp.json"],
    ["cline_mcp_settings.json"],
    ["windsurf.mcp_config.json"],
    ["gemini.settings.json"],
  ])("connects to server-everything over stdio from %s and calls a tool", async (file) => {
    const mcp = createMcpServerSide({
      config: sample(file),
      logger: false,
      connectTimeoutMs: 20_000,
      toolsTimeoutMs: 20_000,
      warmup: false,
    } as Parameters<typeof createMcpServerSide>[0]);
    try {
      const context = mcp.forRequest(new Request("http://app.test/chat"), { select: ["everything"] });
      const tools = await context.tools();
      expect(context.errors).toEqual([]);
      expect(Object.keys(tools)).toContain("everything__get-sum");
      const result = await tools["everything__get-sum"]?.execute?.(
        { a: 2, b: 40 },
        { toolCallId: "call-1", messages: [], context: {} },
      );
      expect(JSON.stringify(result)).toContain("42");
      if (file === "gemini.settings.json")
        expect(Object.keys(tools).sort()).toEqual(["everything__echo", "everything__get-sum"]);
    } finally {
      await mcp.close();
    }
  });
});

describe("each dialect field maps to its meaning or is refused with the reason", () => {
  const cases: { name: string; input: Record<string, unknown>; output?: Record<string, unknown>; error?: RegExp }[] = [
    { name: "type stdio is dropped", input: { type: "stdio", command: "x" }, output: { command: "x" } },
    {
      name: "type stdio without command",
      input: { type: "stdio", url: "https://a.example" },
      error: /'stdio' needs 'command'/,
    },
    { name: "type http", input: { type: "http", url: "u" }, output: { url: "u", transport: "streamable-http" } },
    {
      name: "type streamableHttp",
      input: { type: "streamableHttp", url: "u" },
      output: { url: "u", transport: "streamable-http" },
    },
    { name: "type sse", input: { type: "sse", url: "u" }, output: { url: "u", transport: "sse" } },
    {
      name: "transportType sse (older Cline)",
      input: { transportType: "sse", url: "u" },
      output: { url: "u", transport: "sse" },
    },
    { name: "an unknown type", input: { type: "websocket", url: "u" }, error: /must be 'stdio', 'http'/ },
    { name: "type http on a command", input: { type: "http", command: "x" }, error: /for remote servers/ },
    {
      name: "type contradicting transport",
      input: { type: "sse", url: "u", transport: "streamable-http" },
      error: /contradicts 'transport'/,
    },
    { name: "serverUrl", input: { serverUrl: "u" }, output: { url: "u" } },
    { name: "httpUrl", input: { httpUrl: "u" }, output: { url: "u", transport: "streamable-http" } },
    { name: "two URLs", input: { serverUrl: "u", url: "v" }, error: /give one URL/ },
    { name: "httpUrl with type sse", input: { httpUrl: "u", type: "sse" }, error: /contradicts 'type'/ },
    { name: "disabled true", input: { command: "x", disabled: true }, output: { command: "x", enabled: false } },
    {
      name: "disabled contradicting enabled",
      input: { command: "x", disabled: true, enabled: true },
      error: /contradicts 'enabled'/,
    },
    { name: "disabled not boolean", input: { command: "x", disabled: "yes" }, error: /true or false/ },
    { name: "autoApprove dropped", input: { command: "x", autoApprove: ["a"] }, output: { command: "x" } },
    { name: "autoApprove not a list", input: { command: "x", autoApprove: "a" }, error: /array of tool names/ },
    { name: "trust dropped", input: { command: "x", trust: true }, output: { command: "x" } },
    {
      name: "includeTools",
      input: { command: "x", includeTools: ["a"] },
      output: { command: "x", tools: { allow: ["a"] } },
    },
    {
      name: "excludeTools beside tools.requireApproval",
      input: { command: "x", excludeTools: ["b"], tools: { requireApproval: ["c"] } },
      output: { command: "x", tools: { requireApproval: ["c"], deny: ["b"] } },
    },
    {
      name: "includeTools and tools.allow",
      input: { command: "x", includeTools: ["a"], tools: { allow: ["b"] } },
      error: /either 'includeTools' or 'tools.allow'/,
    },
    {
      name: "Cline timeout (s)",
      input: { command: "x", disabled: false, timeout: 2.5 },
      output: { command: "x", enabled: true, timeoutMs: 2500 },
    },
    {
      name: "Gemini timeout (ms)",
      input: { command: "x", trust: false, timeout: 2500 },
      output: { command: "x", timeoutMs: 2500 },
    },
    {
      name: "a timeout of no known client",
      input: { command: "x", timeout: 60 },
      error: /ambiguous .* write 'timeoutMs'/,
    },
    {
      name: "timeout beside timeoutMs",
      input: { command: "x", trust: true, timeout: 1, timeoutMs: 1 },
      error: /either 'timeout' or 'timeoutMs'/,
    },
    { name: "envFile", input: { command: "x", envFile: ".env" }, error: /process environment and use \$\{VAR\}/ },
    { name: "Gemini oauth", input: { url: "u", oauth: { enabled: true } }, error: /"auth": \{ "type": "oauth2"/ },
  ];

  for (const { name, input, output, error } of cases) {
    it(name, () => {
      const result = normalizeServerDialect(input);
      if (output) expect(result).toEqual({ ok: true, value: output });
      else {
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.message).toMatch(error ?? /./);
      }
    });
  }

  it("leaves other unknown fields to the schema, which names them", () => {
    const error = errorOf(() => loadConfigTier({ mcpServers: { s: { command: "x", disabledTools: ["a"] } } }, {}));
    expect(error.message).toContain("unknown field(s) 'disabledTools'");
  });

  it("refuses both mcpServers and servers at the top", () => {
    const error = errorOf(() => loadConfigTier({ mcpServers: {}, servers: {} } as never, {}));
    expect(error.message).toContain("either 'mcpServers' or VS Code's 'servers'");
  });

  it("accepts dialects in the config tier only: the API takes the canonical format", async () => {
    const mcp = createMcpServerSide({ logger: false });
    try {
      const response = await mcp.handle(
        new Request("http://app.test/mcp-servers", {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": "tenant-a" },
          body: JSON.stringify({ name: "docs", serverUrl: "https://docs.example.com/mcp", disabled: true }),
        }),
      );
      expect(response?.status).toBe(422);
      const problem = (await response?.json()) as { errors: { pointer: string; detail: string }[] };
      expect(problem.errors).toContainEqual({
        pointer: "/serverUrl",
        detail: expect.stringContaining("only the config file accepts; here write 'url'"),
      });
    } finally {
      await mcp.close();
    }
  });
});
