import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OAuthDemo, startOAuthDemo } from "../src/demo.js";
import { runWalkthrough, type WalkthroughResult } from "../src/walkthrough.js";

describe("the OAuth demo (a real authorization server, a protected MCP server, an Express app)", () => {
  let demo: OAuthDemo;
  let result: WalkthroughResult;
  beforeAll(async () => {
    demo = await startOAuthDemo({ app: 0, auth: 0, mcp: 0 });
    result = await runWalkthrough(demo.appUrl, () => undefined);
  });
  afterAll(async () => {
    await demo?.close();
  });

  it("asks Alice to connect first, with the connect URL", () => {
    expect(result.before).toMatchObject({
      tools: [],
      errors: [{ code: "oauth_required", server: "tracker", connectUrl: "/mcp-servers/tracker/oauth/connect" }],
    });
  });

  it("gives Alice her own issues once she connected", () => {
    expect(result.issues).toContain("alice's open issues");
  });

  it("keeps Bob, who has not connected, at oauth_required", () => {
    expect(result.bob).toMatchObject({ tools: [], errors: [{ code: "oauth_required" }] });
  });

  it("disconnects Alice", () => {
    expect(result.disconnect).toBe(204);
    expect(result.after).toMatchObject({ tools: [], errors: [{ code: "oauth_required" }] });
  });
});
