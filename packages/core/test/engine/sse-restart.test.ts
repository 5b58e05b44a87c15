import { afterEach, describe, expect, it } from "vitest";
import type { ContextError } from "../../src/types.js";
import { echoTool, startSseServer } from "../fixtures/mcp-servers.js";
import { closeEngines, eventually, makeEngine, server } from "./helpers.js";

const call = { toolCallId: "call-1", messages: [], context: {} };

afterEach(closeEngines);

describe("a server that only speaks the old HTTP+SSE transport", () => {
  it("is re-initialized after it restarts, and the next call goes through", async () => {
    const sse = await startSseServer({ tools: [echoTool()] });
    try {
      const engine = makeEngine({ coolDownMs: 0, connectRetryDelayMs: 10 });
      const definition = { url: sse.url, transport: "sse" as const };
      const before = await engine.tools([server("s", definition)], []);
      expect(Object.keys(before)).toEqual(["s__echo"]);
      await sse.restart();
      // The event stream closed with the restart: the next request opens a new session.
      const errors: ContextError[] = [];
      await eventually(async () => {
        const tools = await engine.tools([server("s", definition)], errors);
        return Object.keys(tools).join() === "s__echo" && sse.initializations === 2;
      });
      const tools = await engine.tools([server("s", definition)], []);
      const result = await tools.s__echo!.execute!({ text: "after restart" }, call);
      expect(result).toEqual({ content: [{ type: "text", text: "echo: after restart" }] });
      expect(sse.calls.at(-1)).toEqual({ tool: "echo", arguments: { text: "after restart" } });
    } finally {
      await sse.close();
    }
  });
});
