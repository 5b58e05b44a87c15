import { afterAll, describe, expect, it } from "vitest";
import { createMcpServerSide } from "../../src/create.js";

/*
 * SPEC §4 at the core's edge: `owns` and `handle` decide on the path the adapter says the framework
 * routed, byte for byte. A Web Request's URL is always WHATWG-normalized, so a core that looked at it
 * instead would serve `/x/../mcp-servers` as `/mcp-servers`.
 */

const mcp = createMcpServerSide({ chatCompletions: { model: () => Promise.reject(new Error("never reached")) } });
afterAll(() => mcp.close());

const OURS = [
  "/mcp-servers",
  "/mcp-servers/",
  "/mcp-servers/docs",
  "/mcp-servers/docs/tools",
  "/v1/chat/completions",
  "/v1/chat/completions/",
];
const NOT_OURS = [
  "/x/../mcp-servers",
  "/%2e%2e/mcp-servers",
  "/x/%2E%2e/mcp-servers",
  "/./mcp-servers",
  "//mcp-servers",
  "\\mcp-servers",
  "/%5cmcp-servers",
  "/MCP-SERVERS",
  "/Mcp-servers/docs",
  "/mcp-servers%2f",
  "/mcp-servers%2F..%2F",
  "/mcp-servers;x",
  "/mcp-servers.",
  "/mcp-serversx",
  "/%6dcp-servers",
  "/x/../v1/chat/completions",
  "/v1/chat/completions//",
  "/v1/chat/completions/x",
  "/V1/chat/completions",
  "/v1/chat/completions%2f",
];

describe("the core owns only the paths it was given, unnormalized", () => {
  it.each(OURS)("owns %s", (path) => {
    expect(mcp.owns(path)).toBe(true);
  });

  it.each(NOT_OURS)(
    "does not own %s, and does not serve it even when the request URL normalizes to a route",
    async (path) => {
      expect(mcp.owns(path)).toBe(false);
      // The Request's URL is the normalized list route; the routed path decides.
      const response = await mcp.handle(
        new Request("http://app.test/mcp-servers", { headers: { "x-api-key": "k" } }),
        path,
      );
      expect(response).toBeUndefined();
    },
  );

  it.each([
    "/mcp-servers//",
    "/mcp-servers//docs",
    "/mcp-servers/./docs",
    "/mcp-servers/../mcp-servers",
    "/mcp-servers/%2e%2e/v1/chat/completions",
    "/mcp-servers/docs%2ftools",
    "/mcp-servers/docs/..",
    "/mcp-servers/docs\\tools",
  ])("answers 404 for a non-canonical path below the base path: %s", async (path) => {
    const response = await mcp.handle(
      new Request("http://app.test/mcp-servers", { headers: { "x-api-key": "k" } }),
      path,
    );
    expect(response?.status).toBe(404);
    expect(response?.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  });

  it("routes on the request URL when no path is given (a Web framework routed that URL)", async () => {
    const response = await mcp.handle(new Request("http://app.test/mcp-servers", { headers: { "x-api-key": "k" } }));
    expect(response?.status).toBe(200);
  });
});
