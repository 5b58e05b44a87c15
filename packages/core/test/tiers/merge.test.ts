import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ServerDefinition } from "../../src/config/schema.js";
import { mergeTiers, type TierInputs } from "../../src/tiers/merge.js";

const remote = (extra: Partial<ServerDefinition> = {}): ServerDefinition => ({ url: "https://1.1.1.1/mcp", ...extra });
const names = (result: { name: string }[]): string[] => result.map((server) => server.name).sort();

describe("mergeTiers", () => {
  it("injects default_on servers of every tier when nothing is overridden", () => {
    const result = mergeTiers({ config: { a: remote() }, global: { b: remote() }, scope: { c: remote() } });
    expect(names(result.servers)).toEqual(["a", "b", "c"]);
    expect(result.errors).toEqual([]);
  });

  it("lets a higher tier win a name and reports the highest tier it shadows", () => {
    const result = mergeTiers({
      config: { x: remote({ description: "config" }) },
      global: { x: remote({ description: "global" }) },
      scope: { x: remote({ description: "scope" }) },
    });
    expect(result.servers).toEqual([
      { name: "x", source: "scope", shadows: "global", definition: remote({ description: "scope" }) },
    ]);
  });

  it("keeps shadows pointing at a stored tier when the request tier replaces a server", () => {
    const result = mergeTiers({ config: { x: remote() }, request: { x: remote({ description: "mine" }) } });
    expect(result.servers[0]).toMatchObject({ source: "request", shadows: "config" });
  });

  it("never lets a higher tier shadow a locked server and reports name_locked", () => {
    const result = mergeTiers({
      config: { x: remote({ locked: true }) },
      scope: { x: remote({ description: "evil" }) },
    });
    expect(result.servers[0]).toMatchObject({ source: "config" });
    expect(result.servers[0]?.shadows).toBeUndefined();
    expect(result.errors).toEqual([expect.objectContaining({ code: "name_locked", server: "x" })]);
  });

  it("treats force_on as locked", () => {
    const result = mergeTiers({ global: { x: remote({ availability: "force_on" }) }, request: { x: remote() } });
    expect(result.servers[0]?.source).toBe("global");
    expect(result.errors[0]?.code).toBe("name_locked");
  });

  it("opts out of everything but force_on servers with an empty request tier", () => {
    const result = mergeTiers({
      config: { audit: remote({ availability: "force_on" }), a: remote() },
      scope: { b: remote() },
      request: {},
    });
    expect(names(result.servers)).toEqual(["audit"]);
  });

  it("inherits when the request tier is null or absent", () => {
    const inputs: TierInputs = { config: { a: remote() } };
    expect(names(mergeTiers({ ...inputs, request: null }).servers)).toEqual(["a"]);
    expect(names(mergeTiers(inputs).servers)).toEqual(["a"]);
  });

  it("drops a server for one request with { name: false }, but never a locked one", () => {
    const result = mergeTiers({
      config: { a: remote(), l: remote({ locked: true }) },
      request: { a: false, l: false },
    });
    expect(names(result.servers)).toEqual(["l"]);
    expect(result.errors).toEqual([expect.objectContaining({ code: "name_locked", server: "l" })]);
  });

  it("adds a request-tier server for this request only", () => {
    const result = mergeTiers({ config: { a: remote() }, request: { extra: remote() } });
    expect(result.servers.find((server) => server.name === "extra")?.source).toBe("request");
  });

  it("injects force_on plus exactly the selected servers when a selection is given", () => {
    const result = mergeTiers({
      config: { f: remote({ availability: "force_on" }), on: remote(), off: remote({ availability: "default_off" }) },
      select: ["off"],
    });
    expect(names(result.servers)).toEqual(["f", "off"]);
  });

  it("injects only force_on servers for an empty selection", () => {
    const result = mergeTiers({ config: { f: remote({ availability: "force_on" }), on: remote() }, select: [] });
    expect(names(result.servers)).toEqual(["f"]);
  });

  it("never injects default_off servers unless selected", () => {
    const result = mergeTiers({ config: { off: remote({ availability: "default_off" }) } });
    expect(result.servers).toEqual([]);
    expect(names(result.catalog)).toEqual(["off"]);
  });

  it("never injects a disabled server, even when selected, and reports it", () => {
    const result = mergeTiers({ config: { d: remote({ enabled: false }) }, select: ["d"] });
    expect(result.servers).toEqual([]);
    expect(result.errors).toEqual([expect.objectContaining({ code: "server_disabled", server: "d" })]);
  });

  it("reports a selected name that no tier has", () => {
    const result = mergeTiers({ config: { a: remote() }, select: ["ghost"] });
    expect(result.servers).toEqual([]);
    expect(result.errors).toEqual([expect.objectContaining({ code: "not_found", server: "ghost" })]);
  });

  it("injects an OAuth server only for a user who connected it", () => {
    const oauth = remote({ auth: { type: "oauth2" } });
    expect(mergeTiers({ global: { o: oauth } }).servers).toEqual([]);
    expect(names(mergeTiers({ global: { o: oauth }, isConnected: (name) => name === "o" }).servers)).toEqual(["o"]);
  });

  it("handles names that are Object.prototype members as ordinary names", () => {
    const result = mergeTiers({ config: { constructor: remote() }, request: { toString: remote() } });
    expect(names(result.servers)).toEqual(["constructor", "toString"]);
  });

  it("accepts Maps as tier inputs", () => {
    const result = mergeTiers({ config: new Map([["a", remote()]]) });
    expect(names(result.servers)).toEqual(["a"]);
  });
});

// Property-based laws of the merge.
const nameArb = fc.constantFrom("a", "b", "c", "d", "e");
const definitionArb: fc.Arbitrary<ServerDefinition> = fc.record(
  {
    url: fc.constant("https://1.1.1.1/mcp"),
    availability: fc.constantFrom("force_on", "default_on", "default_off"),
    locked: fc.boolean(),
    enabled: fc.boolean(),
    description: fc.string({ maxLength: 3 }),
  },
  { requiredKeys: ["url"] },
) as fc.Arbitrary<ServerDefinition>;
const tierArb = fc.dictionary(nameArb, definitionArb, { maxKeys: 5 });
const requestArb = fc.option(
  fc.dictionary(nameArb, fc.oneof(definitionArb, fc.constant(false as const)), { maxKeys: 5 }),
  {
    nil: null,
  },
);
const inputsArb = fc.record({
  config: tierArb,
  global: tierArb,
  scope: tierArb,
  request: requestArb,
  select: fc.option(fc.array(nameArb, { maxLength: 5 }), { nil: null }),
});

const isLockedDefinition = (definition: ServerDefinition): boolean =>
  definition.locked === true || definition.availability === "force_on";

describe("mergeTiers laws", () => {
  it("a higher tier wins a name unless a lower tier locked it", () => {
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        const result = mergeTiers({ ...inputs, request: null, select: null });
        for (const server of result.catalog) {
          const tiers = (["config", "global", "scope"] as const).filter((tier) => server.name in inputs[tier]);
          const firstLocked = tiers.find((tier) => isLockedDefinition(inputs[tier][server.name]!));
          expect(server.source).toBe(firstLocked ?? tiers.at(-1));
        }
      }),
    );
  });

  it("a locked server is never shadowed, by stored tiers or the request", () => {
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        const result = mergeTiers(inputs);
        for (const tier of ["config", "global", "scope"] as const) {
          for (const [name, definition] of Object.entries(inputs[tier])) {
            if (!isLockedDefinition(definition)) continue;
            const lowerLocked = (["config", "global", "scope"] as const)
              .slice(0, ["config", "global", "scope"].indexOf(tier))
              .some((lower) => inputs[lower][name] && isLockedDefinition(inputs[lower][name]!));
            if (lowerLocked) continue;
            const winner = result.catalog.find((server) => server.name === name);
            expect(winner?.source).toBe(tier);
            expect(winner?.definition).toBe(definition);
          }
        }
      }),
    );
  });

  it("opting out keeps exactly the enabled force_on servers", () => {
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        const result = mergeTiers({ ...inputs, request: {} });
        const expected = result.catalog.filter(
          (server) => server.definition.availability === "force_on" && server.definition.enabled !== false,
        );
        expect(names(result.servers)).toEqual(names(expected));
      }),
    );
  });

  it("every injected server is enabled, and every enabled force_on server is injected", () => {
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        const result = mergeTiers(inputs);
        expect(result.servers.every((server) => server.definition.enabled !== false)).toBe(true);
        for (const server of result.catalog) {
          if (server.definition.availability === "force_on" && server.definition.enabled !== false) {
            expect(result.servers).toContain(server);
          }
        }
      }),
    );
  });

  it("is pure: the same inputs give the same result", () => {
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        expect(mergeTiers(inputs)).toEqual(mergeTiers(inputs));
      }),
    );
  });
});
