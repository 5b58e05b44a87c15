import type { Tool } from "ai";
import { describe, expect, it } from "vitest";
import type { ServerToolView, ToolEntry } from "../../src/tools/convert.js";
import { createToolSetMerger } from "../../src/tools/merge.js";

let nextId = 1;
/** A server's tool list at one version, as the pool hands it to the merger. */
function view(server: string, names: string[]): ServerToolView {
  const entries = names.map(
    (name) => ({ name, toolName: `${server}__${name}`, tool: { description: name } as Tool }) as unknown as ToolEntry,
  );
  const tools = Object.freeze(Object.fromEntries(entries.map((entry) => [entry.toolName, entry.tool])));
  return { id: nextId++, server, tools, entries, errors: [], rename: (entry) => entry.tool };
}

describe("the shared merged tool set", () => {
  it("is the same frozen set for the same views, and a new tool list of any server gives a new set", () => {
    const merger = createToolSetMerger();
    const a = view("a", ["one"]);
    const b = view("b", ["two"]);
    const first = merger.merge([a, b], []);
    expect(Object.isFrozen(first)).toBe(true);
    expect(merger.merge([a, b], [])).toBe(first);
    const changed = view("b", ["two", "three"]);
    expect(Object.keys(merger.merge([a, changed], []))).toEqual(["a__one", "b__two", "b__three"]);
    // Going back and forth between combinations that start with the same view never mixes them up.
    const other = view("c", ["four"]);
    for (let round = 0; round < 3; round++) {
      expect(merger.merge([a, b], [])).toBe(first);
      expect(Object.keys(merger.merge([a, other], []))).toEqual(["a__one", "c__four"]);
      expect(Object.keys(merger.merge([a, changed], []))).toEqual(["a__one", "b__two", "b__three"]);
      expect(Object.keys(merger.merge([a, b, other], []))).toEqual(["a__one", "b__two", "c__four"]);
    }
  });
});
