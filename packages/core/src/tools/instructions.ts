import type { ServerDefinition } from "../config/schema.js";
import { credentialsOf, maskCredentialText } from "../security/secrets.js";
import { utf8Length, utf8Prefix } from "../util/utf8.js";

/**
 * Server `instructions` for the app's system prompt (SPEC §5, §9): each capped at `maxBytes` of UTF-8
 * (4 KiB by default) and headed by the server's name, so the model knows which server said what.
 */

const ELLIPSIS = "…";
const ELLIPSIS_BYTES = utf8Length(ELLIPSIS);

/** `text` cut to `maxBytes` of UTF-8 on a character boundary, with an ellipsis when cut. */
export function capInstructions(text: string, maxBytes: number): string {
  const trimmed = text.trim();
  if (utf8Length(trimmed, maxBytes) <= maxBytes) return trimmed;
  return `${utf8Prefix(trimmed, maxBytes - ELLIPSIS_BYTES)}${ELLIPSIS}`;
}

/**
 * A server's `instructions` as the model may see them: the server's own credentials masked (before
 * the cut, so no credential's prefix survives it), then capped at `maxBytes`.
 */
export function serverInstructions(text: string, definition: ServerDefinition, maxBytes: number): string {
  return capInstructions(maskCredentialText(text, credentialsOf(definition)), maxBytes);
}

export function joinInstructions(entries: readonly { server: string; instructions: string }[]): string {
  return entries
    .filter((entry) => entry.instructions !== "")
    .map((entry) => `## ${entry.server}\n\n${entry.instructions}`)
    .join("\n\n");
}
