import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { createMcpServerSide, type McpServerSide } from "../../src/index.js";

const open: McpServerSide[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((mcp) => mcp.close()));
});

function instance(ui: boolean | { title?: string }): McpServerSide {
  const mcp = createMcpServerSide({ ui, logger: false, warmup: false, basePath: "/settings/mcp" });
  open.push(mcp);
  return mcp;
}

const get = (mcp: McpServerSide, path: string, init?: RequestInit): Promise<Response | undefined> =>
  mcp.handle(new Request(`http://app.test${path}`, init));

describe("the settings UI's files", () => {
  it("serves a page without inline script under a strict CSP, loading the element from basePath", async () => {
    const response = await get(instance({ title: 'Tools <&> "x"' }), "/settings/mcp/ui");
    expect(response?.status).toBe(200);
    expect(response?.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response?.headers.get("content-security-policy")).toContain("default-src 'self'");
    const page = (await response?.text()) ?? "";
    expect(page).toContain('<script type="module" src="/settings/mcp/ui/element.js"></script>');
    expect(page).toContain("<title>Tools &#60;&#38;&#62; &#34;x&#34;</title>");
    expect(page).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(page).not.toContain("style=");
  });

  it("serves the element as JavaScript within its gzipped budget", async () => {
    const response = await get(instance(true), "/settings/mcp/ui/element.js");
    expect(response?.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const source = (await response?.text()) ?? "";
    expect(source).toContain('customElements.define("mcp-servers-settings"');
    expect(gzipSync(source).length).toBeLessThan(12 * 1024);
  });

  it("is off unless asked for: /ui is then the management route of a server named ui (401 without identity)", async () => {
    const response = await get(instance(false), "/settings/mcp/ui");
    expect(response?.status).toBe(401);
    expect((await get(instance(true), "/settings/mcp/ui", { method: "DELETE" }))?.status).toBe(401);
  });
});
