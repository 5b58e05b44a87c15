import { afterEach, describe, expect, it } from "vitest";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { ServerDefinition } from "../../src/config/schema.js";
import { isStaleSession } from "../../src/pool/classify.js";
import { coolDownFor } from "../../src/pool/lifecycle.js";
import type { ContextError } from "../../src/types.js";
import { echoTool, startHttpServer, startStreamableServer } from "../fixtures/mcp-servers.js";
import { closeEngines, makeEngine, server } from "./helpers.js";

const call = { toolCallId: "c", messages: [], context: {} };

afterEach(closeEngines);

describe("a server that restarts", () => {
  it("re-initializes once when the restarted server answers the old session id with 400 'No valid session ID'", async () => {
    const fixture = await startStreamableServer({ tools: [echoTool()], unknownSessionStatus: 400 });
    try {
      const engine = makeEngine();
      const tools = await engine.tools([server("s", { url: fixture.url })], []);
      await fixture.restart();
      // A real restart takes a moment; the client's idle sockets see their close meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const result = await tools.s__echo!.execute!({ text: "after restart" }, call);
      expect(result).toEqual({ content: [{ type: "text", text: "echo: after restart" }] });
      expect(fixture.initializations).toBe(2);
      // The next request uses the new session: no third initialize.
      const again = await engine.tools([server("s", { url: fixture.url })], []);
      expect(Object.keys(again)).toEqual(["s__echo"]);
      expect(fixture.initializations).toBe(2);
    } finally {
      await fixture.close();
    }
  });

  it.each([
    [404, "Error POSTing to endpoint: Session not found", true],
    [400, 'Error POSTing to endpoint: {"error":{"message":"Bad Request: No valid session ID provided"}}', true],
    [400, "Error POSTing to endpoint: Bad Request: Server not initialized", true],
    [400, "Error POSTing to endpoint: Bad Request: body too large", false],
    [500, "Error POSTing to endpoint: session store down", false],
  ])("status %i with body %j is a stale session: %s", (status, message, stale) => {
    expect(isStaleSession(new StreamableHTTPError(status, message))).toBe(stale);
  });
});

describe("cool-down that matches how servers behave", () => {
  it("backs off from about a second, doubling up to coolDownMs", () => {
    expect([1, 2, 3, 4, 5, 6, 10].map((failures) => coolDownFor(failures, 30_000))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
    expect(coolDownFor(1, 500)).toBe(500);
  });

  it("a server that was down is usable again about a second after it came back, not after coolDownMs", async () => {
    let clock = 0;
    const fixture = await startStreamableServer({ tools: [echoTool()] });
    try {
      await fixture.stop();
      const engine = makeEngine({ coolDownMs: 30_000, connectRetryDelayMs: 10 }, { now: () => clock });
      const definition = { url: fixture.url };
      const down: ContextError[] = [];
      await engine.tools([server("s", definition)], down);
      expect(down.map((error) => error.code)).toEqual(["connection_failed"]);

      await fixture.start();
      const cooling: ContextError[] = [];
      await engine.tools([server("s", definition)], cooling);
      expect(cooling.map((error) => error.code)).toEqual(["cooling_down"]);

      clock += 1_001;
      const back: ContextError[] = [];
      const tools = await engine.tools([server("s", definition)], back);
      expect(back).toEqual([]);
      expect(Object.keys(tools)).toEqual(["s__echo"]);
    } finally {
      await fixture.close();
    }
  });

  it("each failure in a row doubles the skip, and the first success ends it", async () => {
    let clock = 0;
    const fixture = await startStreamableServer({ tools: [echoTool()] });
    try {
      await fixture.stop();
      const engine = makeEngine({ coolDownMs: 30_000, connectRetryDelayMs: 10 }, { now: () => clock });
      const definition = { url: fixture.url };
      const codes = async (): Promise<string[]> => {
        const errors: ContextError[] = [];
        await engine.tools([server("s", definition)], errors);
        return errors.map((error) => error.code);
      };
      expect(await codes()).toEqual(["connection_failed"]); // skipped for 1 s
      clock += 1_001;
      expect(await codes()).toEqual(["connection_failed"]); // skipped for 2 s
      clock += 1_001;
      expect(await codes()).toEqual(["cooling_down"]);
      clock += 1_000;
      await fixture.start();
      expect(await codes()).toEqual([]);
      // Success reset the series: the next failure skips for a second again.
      await fixture.stop();
      await engine.evict({ source: "config", name: "s" }, "changed");
      expect(await codes()).toEqual(["connection_failed"]);
      clock += 1_001;
      await fixture.start();
      expect(await codes()).toEqual([]);
    } finally {
      await fixture.close();
    }
  });
});

describe("messages say what happened", () => {
  const cases: {
    name: string;
    definition: () => Promise<{ definition: ServerDefinition; close?: () => Promise<void> }>;
    code: string;
    message: RegExp;
    absent?: RegExp;
  }[] = [
    {
      name: "a command that cannot be started names the command and the system error",
      definition: async () => ({ definition: { command: "/nonexistent/dir/mcp-thing" } }),
      code: "connection_failed",
      message: /^the server's command '\/nonexistent\/dir\/mcp-thing' could not be started \(ENOENT\)$/,
    },
    {
      name: "a child that exits gives its exit code and its last stderr lines, secrets masked",
      definition: async () => ({
        definition: {
          command: process.execPath,
          args: [
            "-e",
            "console.error('starting'); console.error('fatal: cannot open https://admin:hunter2@db.internal/x token=abc123secret'); process.exit(3)",
          ],
        },
      }),
      code: "connection_failed",
      message:
        /^the server's process exited with code 3 before it answered; its last stderr lines: starting fatal: cannot open/,
      absent: /hunter2|abc123secret/,
    },
    {
      name: "a child that exits silently gives its exit code",
      definition: async () => ({ definition: { command: process.execPath, args: ["-e", "process.exit(7)"] } }),
      code: "connection_failed",
      message: /^the server's process exited with code 7 before it answered$/,
    },
    {
      name: "an HTTP error names the status and its reason, never the body",
      definition: async () => {
        const web = await startHttpServer((_request, response) => {
          response.writeHead(503, { "content-type": "text/plain" }).end("secret-body-token=xyz");
        });
        return { definition: { url: `${web.url}/mcp`, transport: "streamable-http" }, close: web.close };
      },
      code: "connection_failed",
      message: /^the MCP server answered HTTP 503 Service Unavailable$/,
    },
    {
      name: "refused credentials name the status and reason",
      definition: async () => {
        const web = await startHttpServer((_request, response) => {
          response.writeHead(403, { "content-type": "text/plain" }).end("no");
        });
        return { definition: { url: `${web.url}/mcp`, transport: "streamable-http" }, close: web.close };
      },
      code: "auth_failed",
      message: /^the MCP server refused the credentials \(HTTP 403 Forbidden\)$/,
    },
    {
      name: "a non-MCP endpoint names the status and reason",
      definition: async () => {
        const web = await startHttpServer((_request, response) => {
          response.writeHead(404, { "content-type": "text/html" }).end("<h1>nope</h1>");
        });
        return { definition: { url: `${web.url}/mcp` }, close: web.close };
      },
      code: "not_mcp_server",
      message: /^the endpoint answered HTTP 404 Not Found, not MCP$/,
    },
  ];

  for (const testCase of cases) {
    it(testCase.name, async () => {
      const { definition, close } = await testCase.definition();
      try {
        const engine = makeEngine({ connectRetryDelayMs: 10 });
        const result = await engine.test(server("x", definition));
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect(result.error.code).toBe(testCase.code);
        expect(result.error.message).toMatch(testCase.message);
        if (testCase.absent) expect(result.error.message).not.toMatch(testCase.absent);
        // The same words reach a request's errors.
        const errors: ContextError[] = [];
        await engine.tools([server("x", definition)], errors);
        expect(errors).toEqual([{ code: testCase.code, server: "x", message: result.error.message }]);
      } finally {
        await close?.();
      }
    });
  }
});
