import type { ServerDefinition } from "../config/schema.js";
import { credentialsOf, maskCredentialText } from "../security/secrets.js";
import { utf8Length } from "./result.js";

/**
 * Server `instructions` for the app's system prompt (SPEC §5, §9): each capped at `maxBytes` of UTF-8
 * (4 KiB by default) and headed by the server's name, so the model knows which server said what.
 */

/** `text` cut to `maxBytes` of UTF-8 on a character boundary, with an ellipsis when cut. */
export function capInstructions(text: string, maxBytes: number): string {
  const trimmed = text.trim();
  if (utf8Length(trimmed, maxBytes) <= maxBytes) return trimmed;
  const ellipsis = "…";
  let bytes = 0;
  let end = 0;
  for (const character of trimmed) {
    const size = utf8Length(character);
    if (bytes + size > maxBytes - utf8Length(ellipsis)) break;
    bytes += size;
    end += character.length;
  }
  return trimmed.slice(0, end) + ellipsis;
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
