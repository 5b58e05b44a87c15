import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo, Server } from "node:net";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stdioFixture } from "../fixtures/mcp-servers.js";
import * as harness from "./readme-harness.js";

/**
 * Every ```ts / ```js block of every README (root, packages/*, examples/*) type-checks as a user's
 * file would, and the quick starts marked `<!-- runs: useChat -->` run against a real app on a port
 * with the request `useChat()` sends. A block that only makes sense inside another (a route, a hook)
 * is marked `<!-- fragment -->` and skipped.
 */

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const HARNESS = fileURLToPath(new URL("./readme-harness.ts", import.meta.url));

interface Block {
  readme: string;
  line: number;
  code: string;
  marker: "fragment" | "runs" | undefined;
}

function readmes(): string[] {
  const inside = (folder: string): string[] =>
    readdirSync(join(ROOT, folder), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(folder, entry.name, "README.md"))
      .filter((path) => {
        try {
          readFileSync(join(ROOT, path));
          return true;
        } catch {
          return false;
        }
      });
  return ["README.md", ...inside("packages"), ...inside("examples")];
}

function blocks(readme: string): Block[] {
  const lines = readFileSync(join(ROOT, readme), "utf8").split("\n");
  const found: Block[] = [];
  for (let index = 0; index < lines.length; index++) {
    if (!/^```(?:ts|typescript|js|javascript)\s*$/.test(lines[index] ?? "")) continue;
    const end = lines.findIndex((line, at) => at > index && line.startsWith("```"));
    const before = lines[index - 1] ?? "";
    found.push({
      readme,
      line: index + 1,
      code: lines.slice(index + 1, end).join("\n"),
      marker: before.includes("<!-- fragment -->")
        ? "fragment"
        : before.includes("<!-- runs: useChat -->")
          ? "runs"
          : undefined,
    });
    index = end;
  }
  return found;
}

const all = readmes().flatMap(blocks);
let dir: string;

beforeAll(() => {
  // Inside the repository, so the blocks resolve packages from its node_modules as an app would.
  dir = mkdtempSync(join(ROOT, ".readme-blocks-"));
});
afterAll(async () => {
  await Promise.all(harness.instances.splice(0).map((mcp) => mcp.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe("README code blocks", () => {
  it("finds the quick starts to run", () => {
    expect(all.filter((block) => block.marker === "runs").map((block) => block.readme)).toEqual(
      expect.arrayContaining(["README.md", "packages/express/README.md", "packages/hono/README.md"]),
    );
  });

  it("type-check as written (strict TypeScript, the packages as published)", () => {
    const checked = all.filter((block) => block.marker !== "fragment");
    const files = checked.map((block, index) => {
      const file = join(dir, `block-${index}.ts`);
      writeFileSync(file, `${block.code}\n`);
      return file;
    });
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      moduleDetection: ts.ModuleDetectionKind.Force,
      lib: ["lib.es2023.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
      strict: true,
      esModuleInterop: true,
      skipLibCheck: true,
      resolveJsonModule: true,
      noEmit: true,
      types: ["node"],
      baseUrl: ROOT,
      paths: {
        "@mcp-server-side/core": ["packages/core/src/index.ts"],
        "@mcp-server-side/core/adapter": ["packages/core/src/adapter.ts"],
        "@mcp-server-side/core/node": ["packages/core/src/node/index.ts"],
        "@mcp-server-side/core/testing": ["packages/core/src/testing/index.ts"],
        "@mcp-server-side/core/store": ["packages/core/src/store/index.ts"],
        "@mcp-server-side/express": ["packages/express/src/index.ts"],
        "@mcp-server-side/hono": ["packages/hono/src/index.ts"],
        "@mcp-server-side/storage-redis": ["packages/storage-redis/src/index.ts"],
      },
    };
    const program = ts.createProgram(files, options);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((diagnostic) => diagnostic.file !== undefined && files.includes(diagnostic.file.fileName))
      .map((diagnostic) => {
        const block = checked[files.indexOf(diagnostic.file?.fileName ?? "")];
        const { line } = diagnostic.file?.getLineAndCharacterOfPosition(diagnostic.start ?? 0) ?? { line: 0 };
        return `${block?.readme}:${(block?.line ?? 0) + line + 1}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`;
      });
    expect(problems).toEqual([]);
  }, 300_000);

  for (const block of all.filter((candidate) => candidate.marker === "runs")) {
    it(`${block.readme}:${block.line} answers a useChat() request with the injected MCP tool's result`, async () => {
      const config = join(dir, `mcp.config.${block.line}.json`);
      writeFileSync(config, JSON.stringify({ mcpServers: { fixture: stdioFixture({ tools: [{ name: "echo" }] }) } }));
      // As written, except: the scripted model for the provider, a real config file, a free port.
      const harnessImport = `./${relative(dir, HARNESS).replaceAll("\\", "/")}`;
      const edits: [RegExp, string][] = [
        [/from "@ai-sdk\/openai";/, `from ${JSON.stringify(harnessImport)};`],
        [/"\.\/mcp\.config\.json"/, JSON.stringify(config)],
        [/app\.listen\(3000\);/, "export const server = app.listen(0);"],
        [
          /serve\(\{ fetch: app\.fetch, port: 3000 \}\);/,
          "export const server = serve({ fetch: app.fetch, port: 0 });",
        ],
        [/\bmcpServerSide\(\{/, `(await import(${JSON.stringify(harnessImport)})).track(mcpServerSide)({`],
      ];
      let code = block.code;
      for (const [pattern, replacement] of edits) code = code.replace(pattern, replacement);
      expect(code).toContain("export const server");
      expect(code).toContain(".track(mcpServerSide)");
      const file = join(dir, `run-${block.line}-${block.readme.replaceAll("/", "_")}.ts`);
      writeFileSync(file, code);
      const module = (await import(pathToFileURL(file).href)) as { server: Server };
      const server = module.server;
      if (!server.listening) await once(server, "listening");
      try {
        const port = (server.address() as AddressInfo).port;
        // The body useChat() posts: UI messages with parts.
        const reply = await fetch(`http://127.0.0.1:${port}/chat`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            id: "chat-1",
            trigger: "submit-message",
            messages: [{ id: "m1", role: "user", parts: [{ type: "text", text: "Echo something" }] }],
          }),
        });
        const text = await reply.text();
        expect(reply.status, text).toBe(200);
        const chunks = text
          .split("\n")
          .filter((line) => line.startsWith("data: ") && line !== "data: [DONE]")
          .map((line) => JSON.parse(line.slice("data: ".length)) as { type: string; [key: string]: unknown });
        expect(chunks.filter((chunk) => chunk.type === "error")).toEqual([]);
        const output = chunks.find((chunk) => chunk.type === "tool-output-available");
        expect(JSON.stringify(output?.["output"])).toContain("from the README");
        const answer = chunks
          .filter((chunk) => chunk.type === "text-delta")
          .map((chunk) => chunk["delta"])
          .join("");
        expect(answer).toContain("The tool said:");
        expect(answer).toContain("from the README");
      } finally {
        server.close();
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }
    });
  }
});
