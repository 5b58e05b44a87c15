import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mcpServerSide } from "@mcp-server-side/express";
import express from "express";
import { type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoTool, type McpFixture, startStreamableServer } from "../fixtures/mcp-servers.js";
import {
  type AuthorizationServer,
  type ProtectedMcpServer,
  startAuthorizationServer,
  startProtectedMcpServer,
} from "../fixtures/oauth.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`settings UI browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
/** Set MCP_UI_SCREENSHOTS=1 to refresh the README's screenshots from this run. */
const SCREENSHOTS = process.env.MCP_UI_SCREENSHOTS ? fileURLToPath(new URL("../../docs/", import.meta.url)) : undefined;
const TOKEN = "sk-ui-test-9f8e7d6c5b4a";
const API_KEY = "key-host-page-3c2b1a0f";
/** A host page of the app's own: it loads the element and hands it the API key through the JS callback. */
const HOST_PAGE =
  '<!doctype html><html><head><meta charset="utf-8"><title>Host</title><script type="module" src="/host.js"></script></head>' +
  "<body><h1>My app</h1><mcp-servers-settings></mcp-servers-settings></body></html>";
const HOST_SCRIPT =
  'import "/mcp-servers/ui/element.js";\n' +
  `document.querySelector("mcp-servers-settings").headers = async () => ({ "x-api-key": ${JSON.stringify(API_KEY)} });\n`;

let upstream: McpFixture;
let authorization: AuthorizationServer;
let protectedServer: ProtectedMcpServer;
let http: Server;
let app: string;
let context: BrowserContext;
let userDataDir: string;
const consoleErrors: string[] = [];

/** The app's own identity: a session cookie (`alice`, or `root` the admin), as a real app would have. */
function identify(request: Request): { scope: string; user: string; admin?: boolean } | null {
  if (request.headers.get("x-api-key") === API_KEY) return { scope: "acme", user: "bob" };
  const session = /(?:^|;\s*)session=([a-z]+)/.exec(request.headers.get("cookie") ?? "")?.[1];
  if (session === undefined) return null;
  return session === "root" ? { scope: "acme", user: "root", admin: true } : { scope: "acme", user: session };
}

beforeAll(async () => {
  if (!hasChromium) return;
  let resource = "";
  authorization = await startAuthorizationServer({ resource: () => resource, accessTokenTtl: 600 });
  protectedServer = await startProtectedMcpServer(() => authorization.issuer);
  resource = protectedServer.url;
  upstream = await startStreamableServer({
    tools: [echoTool(), { name: "add", description: "Adds two numbers" }],
  });

  // The app listens first, so the OAuth redirect URI can name its port.
  let handler: express.Express | undefined;
  http = createServer((request, response) => handler?.(request, response));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  app = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const server = express();
  server.use(
    mcpServerSide({
      identify,
      ui: true,
      config: {
        mcpServers: {
          usual: { url: upstream.url, description: "Always handy", tools: { requireApproval: ["add"] } },
          docs: { url: protectedServer.url, description: "Your documents", auth: { type: "oauth2" } },
        },
      },
      allowPrivateNetworks: true,
      requireHttps: false,
      warmup: false,
      logger: false,
      oauth: { redirectUri: `${app}/mcp-servers/oauth/callback` },
    }),
  );
  const strict = { "content-security-policy": "default-src 'self'" };
  server.get("/host", (_req, res) => res.set({ ...strict, "content-type": "text/html" }).send(HOST_PAGE));
  server.get("/host.js", (_req, res) => res.set({ ...strict, "content-type": "text/javascript" }).send(HOST_SCRIPT));
  server.get("/my-tools", async (req, res) => {
    res.json(Object.keys(await req.mcp.tools()).sort());
  });
  handler = server;

  userDataDir = await mkdtemp(join(tmpdir(), "mcp-ui-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  await context.addCookies([{ name: "session", value: "alice", url: app }]);
});

afterAll(async () => {
  await context?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
  await upstream?.close();
  await protectedServer?.close();
  await authorization?.close();
});

async function openSettings(path = "/mcp-servers/ui"): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (error) => consoleErrors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    // Chromium itself logs a 422 the UI asked for and shows at a field, and the host app's missing
    // /favicon.ico (not the UI's); nothing else may be logged.
    const where = message.location().url;
    if (message.type() !== "error" || where.endsWith("/favicon.ico")) return;
    if (!/status of 422 \(Unprocessable/.test(message.text())) consoleErrors.push(`${message.text()} (${where})`);
  });
  await page.goto(`${app}${path}`);
  await expect.poll(() => page.locator("li.card").count()).toBeGreaterThan(0);
  return page;
}

const card = (page: Page, name: string): Locator => page.locator(`li[data-server="${name}"]`);

async function myTools(): Promise<string[]> {
  const response = await context.request.get(`${app}/my-tools`);
  return (await response.json()) as string[];
}

/** The element's whole rendered state: its shadow DOM's markup and every input's current value. */
async function renderedText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const root = document.querySelector("mcp-servers-settings")?.shadowRoot;
    if (!root) return "";
    const values = [...root.querySelectorAll("input")].map((input) => input.value);
    return `${document.documentElement.outerHTML}\n${root.innerHTML}\n${values.join("\n")}`;
  });
}

async function activeId(page: Page): Promise<string> {
  return page.evaluate(() => {
    const active = document.querySelector("mcp-servers-settings")?.shadowRoot?.activeElement;
    return active ? active.id || active.getAttribute("aria-label") || active.textContent || "" : "";
  });
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS === undefined) return;
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, name), fullPage: true });
}

describe.skipIf(!hasChromium)("the settings UI in Chromium, against a real Express app and real MCP servers", () => {
  it("loads under its CSP and shows the effective servers with tier, availability and auth state", async () => {
    const page = await openSettings();
    const response = await context.request.get(`${app}/mcp-servers/ui`);
    expect(response.headers()["content-security-policy"]).toContain("default-src 'self'");
    await expect.poll(() => card(page, "usual").textContent()).toContain("Built in");
    expect(await card(page, "usual").textContent()).toContain("On by default");
    expect(await card(page, "docs").textContent()).toContain("Account not connected");
    await screenshot(page, "ui-servers.png");
    await page.close();
  });

  it("adds a server: a validation error at its field, a connection test, then the saved server", async () => {
    const page = await openSettings();
    await page.getByRole("button", { name: "Add server" }).click();
    await page.getByLabel("Name").fill("mine");
    await page.getByLabel("Server URL").fill("ftp://nowhere");
    await page.getByRole("button", { name: "Save" }).click();

    const url = page.getByLabel("Server URL");
    await expect.poll(() => url.getAttribute("aria-invalid")).toBe("true");
    expect(await page.locator("#f-url-error").textContent()).not.toBe("");
    expect(await url.inputValue()).toBe("ftp://nowhere");
    await screenshot(page, "ui-add-error.png");

    await url.fill(upstream.url);
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect
      .poll(() => page.locator("#test-result").textContent())
      .toMatch(/^Connected: 2 tools \(echo, add\) in \d+ ms$/);
    await page.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => card(page, "mine").textContent()).toContain("Yours");
    await page.close();
  });

  it("tells a failed connection test in words", async () => {
    const page = await openSettings();
    await page.getByRole("button", { name: "Add server" }).click();
    await page.getByLabel("Name").fill("broken");
    await page.getByLabel("Server URL").fill(`${app}/not-mcp`);
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect.poll(() => page.locator("#test-result").textContent()).toMatch(/^Failed: .+ \([a-z_]+\)$/);
    await page.close();
  });

  it("lists a server's tools with their descriptions and approval marks", async () => {
    const page = await openSettings();
    await page.getByRole("button", { name: "Tools of usual" }).click();
    const tools = page.getByRole("list", { name: "Tools" });
    await expect.poll(() => tools.textContent()).toContain("Adds two numbers");
    const add = tools.locator("li", { hasText: "Adds two numbers" });
    expect(await add.textContent()).toContain("Asks before running");
    expect(await tools.locator("li", { hasText: "echo" }).textContent()).not.toContain("Asks before running");
    await screenshot(page, "ui-tools.png");
    await page.getByRole("button", { name: "Back" }).click();
    await expect.poll(() => card(page, "usual").count()).toBe(1);
    await page.close();
  });

  it("switches a default server off for this user, and req.mcp.tools() follows", async () => {
    expect(await myTools()).toContain("usual__echo");
    const page = await openSettings();
    const toggle = page.getByRole("switch", { name: "Use usual" });
    expect(await toggle.isChecked()).toBe(true);
    await toggle.click();
    await expect.poll(() => page.getByRole("status").first().textContent()).toBe("usual is off for you.");
    expect(await myTools()).not.toContain("usual__echo");
    expect(await myTools()).toContain("mine__echo");

    await page.reload();
    await expect.poll(() => page.getByRole("switch", { name: "Use usual" }).isChecked()).toBe(false);
    await page.getByRole("switch", { name: "Use usual" }).click();
    await expect.poll(myTools).toContain("usual__echo");
    await page.close();
  });

  it("connects and disconnects the user's account through the real authorization server", async () => {
    const page = await openSettings();
    const popupOpened = page.waitForEvent("popup");
    await page.getByRole("button", { name: "Connect docs" }).click();
    const popup = await popupOpened;
    await popup.locator('input[name="login"]').fill("alice");
    await popup.locator('input[name="password"]').fill("any");
    await popup.locator('button[type="submit"]').click();
    // The authorization server's consent page, as a user sees it the first time.
    await popup.getByRole("button", { name: "Continue" }).click();
    await expect.poll(() => card(page, "docs").textContent(), { timeout: 20_000 }).toContain("Account connected");
    expect(await myTools()).toContain("docs__whoami");

    await page.getByRole("button", { name: "Disconnect docs" }).click();
    await expect.poll(() => card(page, "docs").textContent()).toContain("Account not connected");
    expect(await myTools()).not.toContain("docs__whoami");
    await page.close();
  });

  it("keeps a token write-only: saved, shown as set, never in the DOM", async () => {
    const page = await openSettings();
    await page.getByRole("button", { name: "Edit mine" }).click();
    await page.getByLabel("Sign-in").selectOption("bearer");
    await page.getByLabel("Token").fill(TOKEN);
    await page.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => card(page, "mine").textContent()).toContain("Token set");
    expect(await renderedText(page)).not.toContain(TOKEN);

    await page.getByRole("button", { name: "Edit mine" }).click();
    const token = page.getByLabel("Token");
    expect(await token.inputValue()).toBe("");
    expect(await token.getAttribute("placeholder")).toBe("set (leave empty to keep)");
    expect(await renderedText(page)).not.toContain(TOKEN);
    await page.close();
  });

  it("deletes a server after a confirmation", async () => {
    const page = await openSettings();
    await page.getByRole("button", { name: "Delete mine" }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.textContent()).toContain("Delete mine?");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect(await card(page, "mine").count()).toBe(1);

    await page.getByRole("button", { name: "Delete mine" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => card(page, "mine").count()).toBe(0);
    expect(await myTools()).not.toContain("mine__echo");
    await page.close();
  });

  it("works from the keyboard alone: add, switch, delete with the dialog", async () => {
    const page = await openSettings();
    const tabTo = async (id: string): Promise<void> => {
      for (let step = 0; step < 60 && (await activeId(page)) !== id; step++) await page.keyboard.press("Tab");
      expect(await activeId(page)).toBe(id);
    };
    await tabTo("add");
    await page.keyboard.press("Enter");
    await expect.poll(() => activeId(page)).toBe("f-name");
    await page.keyboard.type("kbd");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    expect(await activeId(page)).toBe("f-url");
    await page.keyboard.type(upstream.url);
    await page.keyboard.press("Enter");
    await expect.poll(() => card(page, "kbd").count()).toBe(1);

    await tabTo("use-kbd");
    await page.keyboard.press("Space");
    await expect.poll(() => page.getByRole("status").first().textContent()).toBe("kbd is off for you.");

    await tabTo("Delete kbd");
    await page.keyboard.press("Enter");
    await expect.poll(() => activeId(page)).toBe("cancel-delete");
    await page.keyboard.press("Escape");
    expect(await card(page, "kbd").count()).toBe(1);
    await expect.poll(() => activeId(page)).toBe("Delete kbd");
    await page.keyboard.press("Enter");
    await expect.poll(() => activeId(page)).toBe("cancel-delete");
    await page.keyboard.press("Tab");
    expect(await activeId(page)).toBe("confirm-delete");
    await page.keyboard.press("Enter");
    await expect.poll(() => card(page, "kbd").count()).toBe(0);
    await page.close();
  });

  it("shows admins the global servers with their controls, and members without them", async () => {
    const admin = { headers: { cookie: "session=root", "content-type": "application/json" } };
    const created = await context.request.post(`${app}/mcp-servers`, {
      ...admin,
      data: { name: "shared", scope: "global", url: upstream.url, description: "For everyone" },
    });
    expect(created.status()).toBe(201);

    const member = await openSettings();
    await expect.poll(() => card(member, "shared").textContent()).toContain("Everyone");
    expect(await member.getByRole("button", { name: "Delete shared" }).count()).toBe(0);
    await member.close();

    await context.clearCookies();
    await context.addCookies([{ name: "session", value: "root", url: app }]);
    try {
      const page = await openSettings();
      await expect.poll(() => page.getByRole("button", { name: "Edit shared" }).count()).toBe(1);
      await page.emulateMedia({ colorScheme: "dark" });
      await screenshot(page, "ui-servers-dark.png");
      await page.getByRole("button", { name: "Delete shared" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
      await expect.poll(() => card(page, "shared").count()).toBe(0);
      await page.close();
    } finally {
      await context.clearCookies();
      await context.addCookies([{ name: "session", value: "alice", url: app }]);
    }
  });

  it("runs in the app's own page under its CSP, with the identity from a JS callback and no secret in the DOM", async () => {
    await context.clearCookies();
    try {
      const page = await openSettings("/host");
      await expect.poll(() => card(page, "usual").textContent()).toContain("Built in");
      await page.getByRole("switch", { name: "Use usual" }).click();
      await expect.poll(() => page.getByRole("status").first().textContent()).toBe("usual is off for you.");
      expect(await renderedText(page)).not.toContain(API_KEY);
      await page.close();
    } finally {
      await context.addCookies([{ name: "session", value: "alice", url: app }]);
    }
    // Bob's switch is his own: alice still gets the server.
    expect(await myTools()).toContain("usual__echo");
  });

  it("logged no console error on any page", () => {
    expect(consoleErrors).toEqual([]);
  });
});
