/**
 * UTF-8 sizes and cuts of JavaScript strings, without encoding them: caps on tool results and server
 * instructions count bytes, and a cut must never split a character. A lone surrogate counts as the
 * three bytes of the U+FFFD that `TextEncoder` writes for it.
 */

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * UTF-8 bytes of the character at `index`: 4 only for a surrogate pair, the one character that spans
 * two UTF-16 units. A number, not an object: this runs per character of megabyte-sized results.
 */
function bytesAt(text: string, index: number): number {
  const code = text.charCodeAt(index);
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  if (isHighSurrogate(code) && isLowSurrogate(text.charCodeAt(index + 1))) return 4;
  return 3;
}

/** UTF-8 length without allocating; counting stops early once it exceeds `limit`. */
export function utf8Length(text: string, limit = Number.POSITIVE_INFINITY): number {
  let bytes = 0;
  for (let index = 0; index < text.length && bytes <= limit; ) {
    const size = bytesAt(text, index);
    bytes += size;
    index += size === 4 ? 2 : 1;
  }
  return bytes;
}

/** The longest prefix of `text` within `maxBytes` of UTF-8, never splitting a surrogate pair. */
export function utf8Prefix(text: string, maxBytes: number): string {
  let bytes = 0;
  let index = 0;
  while (index < text.length) {
    const size = bytesAt(text, index);
    if (bytes + size > maxBytes) break;
    bytes += size;
    index += size === 4 ? 2 : 1;
  }
  return text.slice(0, index);
}
