import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expandPlaceholders, findPlaceholders } from "../../src/config/env.js";
import { loadConfigTier } from "../../src/config/load.js";
import type { McpServerSideError } from "../../src/errors.js";
import { expectThrown } from "../support/errors.js";

const load = (mcpServers: Record<string, unknown>, env: Record<string, string> = {}) =>
  loadConfigTier({ mcpServers }, env);
const errorOf = (run: () => unknown): McpServerSideError => expectThrown(run);

describe("the config tier", () => {
  it("loads the Claude Desktop format from a file, stdio and remote side by side", () => {
    const dir = mkdtempSync(join(tmpdir(), "mcp-config-"));
    const path = join(dir, "mcp.config.json");
    writeFileSync(
      path,
      JSON.stringify({
        mcpServers: {
          everything: { command: "npx", args: ["-y", "@modelcontextprotocol/server-everything"] },
          docs: { url: "https://docs.example.com/mcp", headers: { Authorization: "Bearer ${DOCS_TOKEN}" } },
        },
      }),
    );
    const servers = loadConfigTier(path, { DOCS_TOKEN: "t0k" });
    expect(servers.get("everything")).toEqual({
      command: "npx",
      args: ["-y", "@modelcontextprotocol/server-everything"],
    });
    expect(servers.get("docs")?.headers).toEqual({ Authorization: "Bearer t0k" });
  });

  it("resolves ${VAR:-default} to the default when the variable is unset", () => {
    expect(
      load({ s: { url: "https://x.example/mcp", headers: { "X-Region": "${REGION:-eu}" } } }).get("s")?.headers,
    ).toEqual({ "X-Region": "eu" });
  });

  it("resolves in a single pass: a value holding ${B} is sent literally", () => {
    const servers = load(
      { s: { url: "https://x.example/mcp", headers: { "X-A": "${A}" } } },
      { A: "${B}", B: "secret" },
    );
    expect(servers.get("s")?.headers).toEqual({ "X-A": "${B}" });
  });

  it("keeps an expanded value as one argv element, never re-parsed", () => {
    const servers = load(
      { s: { command: "node", args: ["server.js", "--root", "${ROOT}"] } },
      { ROOT: "/data; rm -rf /" },
    );
    expect(servers.get("s")?.args).toEqual(["server.js", "--root", "/data; rm -rf /"]);
  });

  it("stops the start naming the variable and the server when a variable is missing", () => {
    const error = errorOf(() =>
      load({ github: { url: "https://x.example/mcp", headers: { Authorization: "Bearer ${GITHUB_TOKEN}" } } }),
    );
    expect(error.code).toBe("invalid_config");
    expect(error.message).toContain("GITHUB_TOKEN");
    expect(error.message).toContain("'github'");
  });

  it.each([
    ["a nested placeholder", "${${X}}"],
    ["an unterminated placeholder", "${X"],
    ["an empty placeholder", "${}"],
  ])("rejects %s naming the server", (_label, value) => {
    const error = errorOf(() => load({ s: { url: "https://x.example/mcp", headers: { "X-A": value } } }, { X: "1" }));
    expect(error.message).toContain("'s'");
  });

  it("rejects a variable whose value holds CR or LF", () => {
    const error = errorOf(() =>
      load({ s: { url: "https://x.example/mcp", headers: { "X-A": "${V}" } } }, { V: "a\r\nX-Evil: 1" }),
    );
    expect(error.message).toContain("'V'");
    expect(error.message).not.toContain("X-Evil");
  });

  it("rejects unknown fields with their path, so a typo is an error", () => {
    const error = errorOf(() => load({ docs: { url: "https://x.example/mcp", header: { A: "b" } } }));
    expect(error.message).toContain("server 'docs'");
    expect(error.message).toContain("'header'");
  });

  it("rejects an unknown top-level field", () => {
    expect(() => loadConfigTier({ mcpServers: {}, servers: {} } as never, {})).toThrow(/servers/);
  });

  it("rejects invalid server names", () => {
    expect(() => load({ bad__name: { url: "https://x.example/mcp" } })).toThrow(/bad__name/);
  });

  it("rejects a server with both command and url", () => {
    expect(() => load({ s: { command: "node", url: "https://x.example/mcp" } })).toThrow(/server 's'/);
  });

  it("reports an unreadable file by path", () => {
    expect(() => loadConfigTier("/nonexistent/mcp.json", {})).toThrow(/nonexistent\/mcp.json/);
  });

  it("returns an empty tier when no config is given", () => {
    expect(loadConfigTier(undefined).size).toBe(0);
  });
});

describe("placeholders", () => {
  it("expands known forms", () => {
    expect(expandPlaceholders("a${X}b${Y:-d}", { X: "1" })).toEqual({ ok: true, value: "a1bd" });
  });

  it("finds every ${ in untrusted input, in values and in keys", () => {
    expect(
      findPlaceholders({
        headers: { "X-T": "${DATABASE_URL" },
        auth: { type: "bearer", token: "${GITHUB_TOKEN}" },
        list: ["${A}"],
      }).map((error) => error.pointer),
    ).toEqual(["/headers/X-T", "/auth/token", "/list/0"]);
  });
});
