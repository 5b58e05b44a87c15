import { describe, expect, it } from "vitest";
import { connectionKey } from "../../src/pool/key.js";
import type { ResolvedServer } from "../../src/types.js";

describe("pool keys", () => {
  const docs = (extra: Partial<ResolvedServer> = {}): ResolvedServer => ({
    name: "docs",
    source: "scope",
    scope: "tenant-a",
    definition: { url: "https://docs.example.com/mcp" },
    ...extra,
  });

  it("gives a resolved server the same key on every request, and an equal server made anew the same key", () => {
    const server = docs();
    expect(connectionKey(server)).toBe(connectionKey(server));
    expect(connectionKey(docs())).toBe(connectionKey(server));
  });

  it("never lets a server already keyed lend its key to a changed definition, another tenant or another user", () => {
    const server = docs();
    const key = connectionKey(server);
    expect(connectionKey(docs({ definition: { url: "https://other.example.com/mcp" } }))).not.toBe(key);
    expect(connectionKey(docs({ scope: "tenant-b" }))).not.toBe(key);
    const oauth = { url: "https://docs.example.com/mcp", auth: { type: "oauth2" } } as ResolvedServer["definition"];
    expect(connectionKey(docs({ definition: oauth, user: "alice" }))).not.toBe(
      connectionKey(docs({ definition: oauth, user: "bob" })),
    );
  });
});
