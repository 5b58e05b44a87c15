import { ELEMENT_SOURCE } from "./element.js";

export interface SettingsUiOptions {
  /** The page's title and heading. @default "MCP servers" */
  title?: string;
}

/** Longest page title kept; the operator's text, but capped like every free-text field. */
const MAX_TITLE = 120;

/**
 * The settings UI's two files, built once: `GET {basePath}/ui` (a page that loads the element) and
 * `GET {basePath}/ui/element.js`. Neither carries data: the element asks the management routes, with
 * the app's own identity, so serving them needs none. The page has no inline script or style, so it
 * runs under `default-src 'self'`.
 */
export function createSettingsUi(
  basePath: string,
  options: SettingsUiOptions = {},
): (segments: readonly string[]) => Response | undefined {
  const title = escapeHtml((options.title ?? "MCP servers").slice(0, MAX_TITLE));
  const base = escapeHtml(basePath);
  const page =
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<meta name="color-scheme" content="light dark"><title>${title}</title>` +
    `<script type="module" src="${base}/ui/element.js"></script></head>` +
    `<body><main><mcp-servers-settings base-path="${base}" heading="${title}"></mcp-servers-settings></main></body></html>`;
  const security = {
    "content-security-policy":
      "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'self'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
  return (segments) => {
    if (segments.length === 1 && segments[0] === "ui")
      return new Response(page, {
        headers: { ...security, "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" },
      });
    if (segments.length === 2 && segments[0] === "ui" && segments[1] === "element.js")
      return new Response(ELEMENT_SOURCE, {
        headers: { ...security, "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" },
      });
    return undefined;
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
