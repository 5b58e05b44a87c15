import { describe, expect, it } from "vitest";
import { utf8Length, utf8Prefix } from "../../src/util/utf8.js";

const encoded = (text: string): number => new TextEncoder().encode(text).byteLength;

describe("utf8Length", () => {
  it("counts what TextEncoder writes, lone surrogates included", () => {
    for (const text of [
      "",
      "ascii",
      "é",
      "€",
      "😀",
      "a😀b€é",
      "\ud83d",
      "\ude00",
      "\ud83dx",
      "x\ude00\ud83d",
      "\ud83d\ud83d😀",
    ]) {
      expect(utf8Length(text), JSON.stringify(text)).toBe(encoded(text));
    }
  });

  it("stops counting once past the limit", () => {
    const length = utf8Length("x".repeat(10_000), 10);
    expect(length).toBeGreaterThan(10);
    expect(length).toBeLessThan(100);
  });
});

describe("utf8Prefix", () => {
  it("never cuts a multi-byte character in two", () => {
    // "€" is 3 bytes, "😀" 4 (two UTF-16 units): budgets that end inside them drop the whole character.
    expect(utf8Prefix("a€b", 1)).toBe("a");
    expect(utf8Prefix("a€b", 3)).toBe("a");
    expect(utf8Prefix("a€b", 4)).toBe("a€");
    expect(utf8Prefix("a😀b", 4)).toBe("a");
    expect(utf8Prefix("a😀b", 5)).toBe("a😀");
    expect(utf8Prefix("😀", 3)).toBe("");
  });

  it("keeps a lone surrogate as the three bytes it is encoded as", () => {
    expect(utf8Prefix("\ud83dx", 3)).toBe("\ud83d");
    expect(utf8Prefix("\ud83dx", 2)).toBe("");
  });

  it("returns the whole text within the budget, and nothing for a budget of zero or less", () => {
    expect(utf8Prefix("héllo", 100)).toBe("héllo");
    expect(utf8Prefix("héllo", 0)).toBe("");
    expect(utf8Prefix("héllo", -3)).toBe("");
  });

  it("is the longest prefix that fits, at every budget", () => {
    const text = "a€😀é\ud83d b";
    for (let budget = 0; budget <= encoded(text); budget++) {
      const prefix = utf8Prefix(text, budget);
      expect(encoded(prefix)).toBeLessThanOrEqual(budget);
      expect(text.startsWith(prefix)).toBe(true);
      const next = text.slice(prefix.length, prefix.length + (text.codePointAt(prefix.length)! > 0xffff ? 2 : 1));
      if (prefix.length < text.length) expect(encoded(prefix + next)).toBeGreaterThan(budget);
    }
  });
});
