import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createByteCounter } from "../../src/security/guarded-fetch.js";

/** The counter as the event-stream rules state it, byte by byte: the reference the fast one must match. */
function referenceCounter(maxBytes: number): (chunk: Uint8Array) => boolean {
  let count = 0;
  let atLineStart = false;
  let afterCarriageReturn = false;
  return (chunk) => {
    for (const byte of chunk) {
      if (byte === 0x0a && afterCarriageReturn) {
        afterCarriageReturn = false;
        continue;
      }
      afterCarriageReturn = byte === 0x0d;
      if (byte === 0x0a || byte === 0x0d) {
        if (atLineStart) count = 0;
        atLineStart = true;
        continue;
      }
      atLineStart = false;
      count++;
      if (count > maxBytes) return false;
    }
    return true;
  };
}

const byte = fc.constantFrom(0x61, 0x62, 0x0a, 0x0d, 0x3a);

describe("createByteCounter for event streams", () => {
  it("agrees with the byte-by-byte rules on every split of CR, LF and CRLF streams", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(byte, { maxLength: 40 }), { maxLength: 12 }),
        fc.integer({ min: 0, max: 30 }),
        (chunks, maxBytes) => {
          const fast = createByteCounter(maxBytes, true);
          const slow = referenceCounter(maxBytes);
          for (const chunk of chunks) {
            const bytes = Uint8Array.from(chunk);
            const expected = slow(bytes);
            expect(fast(bytes)).toBe(expected);
            if (!expected) return;
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("resets at a blank line whichever line ending, and fails past the cap within one event", () => {
    const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
    for (const end of ["\n", "\r", "\r\n"]) {
      const counter = createByteCounter(10, true);
      expect(counter(encode(`data: 1234${end}${end}`))).toBe(true);
      expect(counter(encode(`data: 1234${end}${end}`))).toBe(true);
      expect(counter(encode("data: 12345"))).toBe(false);
    }
    // A CRLF split across chunks is one line end, not a blank line.
    const split = createByteCounter(10, true);
    expect(split(encode("data: 12\r"))).toBe(true);
    expect(split(encode("\ndata"))).toBe(false);
  });
});
