import { STATUS_CODES } from "node:http";

/** Terminal output for the walkthrough: numbered steps, request lines, statuses and trimmed JSON. */
export interface Printer {
  line(text?: string): void;
  title(text: string): void;
  step(number: number, title: string, explanation: string): void;
  request(method: string, path: string, headers: Record<string, string>, body?: unknown): void;
  response(status: number, body?: unknown): void;
  /** Two aligned columns, e.g. `tool call      weather__get_weather {"city":"Paris"}`. */
  field(label: string, value: string): void;
  note(text: string): void;
}

export interface PrinterOptions {
  /** ANSI colours. @default true on a terminal, unless NO_COLOR is set */
  color?: boolean;
}

const INDENT = "   ";

export function createPrinter(out: (line: string) => void = console.log, options: PrinterOptions = {}): Printer {
  const color = options.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR);
  const paint =
    (code: string) =>
    (text: string): string =>
      color ? `\x1b[${code}m${text}\x1b[0m` : text;
  const bold = paint("1");
  const dim = paint("2");
  const cyan = paint("36");
  const green = paint("32");
  const yellow = paint("33");
  const red = paint("31");
  const block = (text: string, prefix: string): void => {
    for (const line of text.split("\n")) out(`${prefix}${line}`);
  };

  return {
    line: (text = "") => out(text),
    title: (text) => out(bold(text)),
    step(number, title, explanation) {
      out("");
      out(bold(cyan(`${number}. ${title}`)));
      block(explanation, INDENT);
    },
    request(method, path, headers, body) {
      const shown = Object.entries(headers).map(([name, value]) => dim(`${name}: ${value}`));
      out(`${INDENT}${yellow("→")} ${bold(`${method} ${path}`)}${shown.length > 0 ? `   ${shown.join("  ")}` : ""}`);
      if (body !== undefined) block(formatJson(body), `${INDENT}  `);
    },
    response(status, body) {
      const paintStatus = status < 300 ? green : status < 500 ? yellow : red;
      out(`${INDENT}${yellow("←")} ${paintStatus(`${status} ${STATUS_CODES[status] ?? ""}`.trim())}`);
      if (body !== undefined && body !== "") block(formatJson(body), `${INDENT}  `);
    },
    field(label, value) {
      const [first = "", ...rest] = value.split("\n");
      out(`${INDENT}  ${dim(label.padEnd(15))} ${first}`);
      for (const line of rest) out(`${INDENT}  ${" ".repeat(15)} ${line}`);
    },
    note: (text) => block(dim(text), INDENT),
  };
}

export interface FormatJsonOptions {
  /** Lines kept; the rest is summarized. @default 20 */
  maxLines?: number;
  /** Longer strings are cut with "…". @default 80 */
  maxString?: number;
  /** Objects and arrays that fit in this many columns stay on one line. @default 96 */
  width?: number;
}

/** Pretty JSON, trimmed so a step fits on a screen: short objects on one line, long strings cut, long documents folded. */
export function formatJson(value: unknown, options: FormatJsonOptions = {}): string {
  const maxLines = options.maxLines ?? 20;
  const maxString = options.maxString ?? 80;
  if (value === undefined) return "";
  const trimmed: unknown = JSON.parse(
    JSON.stringify(value, (_key, item: unknown) =>
      typeof item === "string" && item.length > maxString ? `${item.slice(0, maxString - 1)}…` : item,
    ),
  );
  const lines = compactJson(trimmed, "", options.width ?? 96).split("\n");
  if (lines.length <= maxLines) return lines.join("\n");
  return [...lines.slice(0, maxLines - 1), `… (${lines.length - maxLines + 1} more lines)`].join("\n");
}

/** One-line JSON with a space after ':' and ',', as people write it by hand. */
function inlineJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inlineJson).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${inlineJson(item)}`);
    return entries.length === 0 ? "{}" : `{ ${entries.join(", ")} }`;
  }
  return JSON.stringify(value);
}

function compactJson(value: unknown, indent: string, width: number): string {
  const flat = inlineJson(value);
  if (typeof value !== "object" || value === null || indent.length + flat.length <= width) return flat;
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((item) => inner + compactJson(item, inner, width)).join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return "{}";
  const lines = entries.map(
    ([key, item]) => `${inner}${JSON.stringify(key)}: ${compactJson(item, inner, width - key.length - 4)}`,
  );
  return `{\n${lines.join(",\n")}\n${indent}}`;
}
