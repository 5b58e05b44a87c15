import { describe, expect, it } from "vitest";
import { findOwnError, McpServerSideError } from "../../src/errors.js";
import { findInCauses } from "../../src/util/error-cause.js";

const codeOf = (link: object): string | undefined => {
  const code = (link as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
};

describe("findInCauses", () => {
  it("finds a link a few causes down, outermost first", () => {
    const inner = Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
    const outer = new TypeError("fetch failed", { cause: new Error("wrapped", { cause: inner }) });
    expect(findInCauses(outer, codeOf)).toBe("ECONNREFUSED");
    const both = Object.assign(new Error("outer", { cause: inner }), { code: "EOUTER" });
    expect(findInCauses(both, codeOf)).toBe("EOUTER");
  });

  it("looks into the members of an AggregateError", () => {
    const aggregate = new AggregateError([new Error("v6"), Object.assign(new Error("v4"), { code: "ETIMEDOUT" })]);
    expect(findInCauses(new Error("connect failed", { cause: aggregate }), codeOf)).toBe("ETIMEDOUT");
  });

  it("stops on a cause chain that loops", () => {
    const first = new Error("first");
    const second = new Error("second", { cause: first });
    (first as { cause?: unknown }).cause = second;
    let visited = 0;
    expect(
      findInCauses(first, () => {
        visited++;
        return undefined;
      }),
    ).toBeUndefined();
    expect(visited).toBe(8);
  });

  it("yields nothing for values that are not objects", () => {
    expect(findInCauses("text", codeOf)).toBeUndefined();
    expect(findInCauses(undefined, codeOf)).toBeUndefined();
    expect(findInCauses(new Error("plain", { cause: "a string" }), codeOf)).toBeUndefined();
  });
});

describe("findOwnError", () => {
  it("finds our error inside undici's wrapper and inside an AggregateError", () => {
    const ours = new McpServerSideError("blocked_address", "the address is private");
    expect(findOwnError(new TypeError("fetch failed", { cause: ours }))).toBe(ours);
    expect(findOwnError(new TypeError("fetch failed", { cause: new AggregateError([new Error("x"), ours]) }))).toBe(
      ours,
    );
    expect(findOwnError(new TypeError("fetch failed", { cause: new Error("other") }))).toBeUndefined();
  });
});
