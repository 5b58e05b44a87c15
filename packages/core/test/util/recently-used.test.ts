import { describe, expect, it } from "vitest";
import { markUsed } from "../../src/util/recently-used.js";

describe("markUsed", () => {
  it("moves a used entry to the young end once the map is past half of its bound, so it is dropped last", () => {
    const map = new Map([
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ]);
    markUsed(map, "a", 1, 4);
    expect([...map.keys()]).toEqual(["b", "c", "a"]);
  });

  it("leaves the order alone while the map is at most half full, where nothing can be dropped soon", () => {
    const map = new Map([
      ["a", 1],
      ["b", 2],
    ]);
    markUsed(map, "a", 1, 4);
    expect([...map.entries()]).toEqual([
      ["a", 1],
      ["b", 2],
    ]);
  });
});
