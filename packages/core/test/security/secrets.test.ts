import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type ServerDefinition, serverDefinitionSchema } from "../../src/config/schema.js";
import type { McpServerSideError } from "../../src/errors.js";
import { createKeyRing, isEnvelope, randomKeyRing } from "../../src/security/crypto.js";
import {
  mapSecretFields,
  needsRotation,
  openDefinition,
  resealDefinition,
  sealDefinition,
  secretAad,
} from "../../src/security/secrets.js";
import type { StoreScope } from "../../src/store/types.js";
import { expectThrown } from "../support/errors.js";

const GLOBAL: StoreScope = { kind: "global" };
const TENANT_A: StoreScope = { kind: "scope", id: "tenant-a" };
const TENANT_B: StoreScope = { kind: "scope", id: "tenant-b" };

function expectDecryptionFailed(action: () => unknown): McpServerSideError {
  return expectThrown(action, "decryption_failed");
}

const bearer: ServerDefinition = {
  url: "https://mcp.example.com/mcp",
  headers: { "X-Api-Key": "header-secret", "X-Tenant": "acme" },
  auth: { type: "bearer", token: "ghp_bearer_secret" },
  description: "GitHub",
  tools: { allow: ["search_*"] },
};

describe("sealing a definition for the store", () => {
  it("round-trips a bearer server: every secret sealed, everything else untouched", () => {
    const ring = randomKeyRing();
    const sealed = sealDefinition(bearer, ring, { scope: TENANT_A, name: "github" });

    expect(isEnvelope(sealed.headers?.["X-Api-Key"])).toBe(true);
    expect(isEnvelope(sealed.headers?.["X-Tenant"])).toBe(true);
    expect(sealed.auth?.type === "bearer" && isEnvelope(sealed.auth.token)).toBe(true);
    expect(sealed.url).toBe(bearer.url);
    expect(sealed.description).toBe("GitHub");
    expect(sealed.tools).toEqual({ allow: ["search_*"] });

    expect(openDefinition(sealed, ring, { scope: TENANT_A, name: "github" })).toEqual(bearer);
  });

  it("does not modify the definition it is given", () => {
    const original = structuredClone(bearer);
    sealDefinition(bearer, randomKeyRing(), { scope: GLOBAL, name: "github" });
    expect(bearer).toEqual(original);
  });

  it("round-trips auth headers and an oauth2 client secret", () => {
    const ring = randomKeyRing();
    const context = { scope: GLOBAL, name: "linear" };
    const withHeaders: ServerDefinition = {
      url: "https://a.example/mcp",
      auth: { type: "headers", headers: { "X-Key": "k1", "~odd/name": "k2" } },
    };
    const withOauth: ServerDefinition = {
      url: "https://b.example/mcp",
      auth: { type: "oauth2", clientId: "public-client-id", clientSecret: "oauth-client-secret", scopes: ["read"] },
    };
    const sealedHeaders = sealDefinition(withHeaders, ring, context);
    const sealedOauth = sealDefinition(withOauth, ring, context);
    expect(sealedHeaders.auth?.type === "headers" && Object.values(sealedHeaders.auth.headers).every(isEnvelope)).toBe(
      true,
    );
    expect(sealedOauth.auth?.type === "oauth2" && isEnvelope(sealedOauth.auth.clientSecret)).toBe(true);
    // The client id is not a secret: it stays readable for listings.
    expect(sealedOauth.auth?.type === "oauth2" && sealedOauth.auth.clientId).toBe("public-client-id");
    expect(openDefinition(sealedHeaders, ring, context)).toEqual(withHeaders);
    expect(openDefinition(sealedOauth, ring, context)).toEqual(withOauth);
  });

  it("leaves a definition without secrets as it is", () => {
    const ring = randomKeyRing();
    const plain: ServerDefinition = { url: "https://c.example/mcp", auth: { type: "oauth2" } };
    const sealed = sealDefinition(plain, ring, { scope: GLOBAL, name: "plain" });
    expect(sealed).toEqual(plain);
    expect(openDefinition(sealed, ring, { scope: GLOBAL, name: "plain" })).toEqual(plain);
    expect(needsRotation(sealed, ring)).toBe(false);
  });

  it("seals a value that already looks like an envelope, because what a user sends is plaintext", () => {
    const ring = randomKeyRing();
    const context = { scope: TENANT_A, name: "github" };
    const lookalike = ring.encrypt("inner", "anything");
    const definition: ServerDefinition = { url: "https://a.example/mcp", auth: { type: "bearer", token: lookalike } };
    const sealed = sealDefinition(definition, ring, context);
    expect(sealed.auth?.type === "bearer" && sealed.auth.token).not.toBe(lookalike);
    expect(openDefinition(sealed, ring, context)).toEqual(definition);
  });

  it("keeps a header literally named __proto__ as a plain entry", () => {
    const ring = randomKeyRing();
    const context = { scope: TENANT_A, name: "github" };
    const headers = JSON.parse('{"__proto__":"proto-secret","X-A":"a"}') as Record<string, string>;
    const sealed = sealDefinition({ url: "https://a.example/mcp", headers }, ring, context);
    expect(Object.keys(sealed.headers ?? {})).toEqual(["__proto__", "X-A"]);
    expect(JSON.stringify(sealed)).not.toContain("proto-secret");
    const opened = openDefinition(sealed, ring, context).headers ?? {};
    expect(Object.getOwnPropertyDescriptor(opened, "__proto__")?.value).toBe("proto-secret");
  });

  it("leaves no sentinel of any secret field in the serialized sealed record", () => {
    const ring = randomKeyRing();
    const sentinels: string[] = [];
    const sentinel = (label: string): string => {
      const value = `SENTINEL-${label}-${randomBytes(6).toString("hex")}`;
      sentinels.push(value);
      return value;
    };
    const definitions: ServerDefinition[] = [
      {
        url: "https://a.example/mcp",
        headers: { "X-One": sentinel("header1"), "X-Two": sentinel("header2") },
        auth: { type: "bearer", token: sentinel("bearer") },
      },
      {
        url: "https://b.example/mcp",
        headers: { "X-Three": sentinel("header3") },
        auth: { type: "headers", headers: { Authorization: sentinel("authheader") } },
      },
      {
        url: "https://c.example/mcp",
        auth: { type: "oauth2", clientId: "id", clientSecret: sentinel("clientsecret") },
      },
      { command: "node", args: ["server.js"], env: { API_TOKEN: sentinel("env") } },
    ];
    for (const definition of definitions) {
      expect(serverDefinitionSchema.safeParse(definition).success).toBe(true);
      const sealed = sealDefinition(definition, ring, { scope: TENANT_A, name: "srv" });
      const serialized = JSON.stringify(sealed);
      for (const value of sentinels) expect(serialized).not.toContain(value);
      // The sealed record is still a valid definition, so the store's read-back validation accepts it.
      expect(serverDefinitionSchema.safeParse(sealed).success).toBe(true);
      expect(openDefinition(sealed, ring, { scope: TENANT_A, name: "srv" })).toEqual(definition);
    }
  });
});

describe("a sealed secret only opens where it was sealed", () => {
  const ring = randomKeyRing();
  const sealed = sealDefinition(bearer, ring, { scope: TENANT_A, name: "github" });

  it("fails when the record is read in another tenant's scope", () => {
    expectDecryptionFailed(() => openDefinition(sealed, ring, { scope: TENANT_B, name: "github" }));
  });

  it("fails when a tenant's record is read as a global one, and the other way round", () => {
    expectDecryptionFailed(() => openDefinition(sealed, ring, { scope: GLOBAL, name: "github" }));
    const global = sealDefinition(bearer, ring, { scope: GLOBAL, name: "github" });
    expectDecryptionFailed(() =>
      openDefinition(global, ring, { scope: { kind: "scope", id: "global" }, name: "github" }),
    );
  });

  it("fails when the record is read under another server name", () => {
    expectDecryptionFailed(() => openDefinition(sealed, ring, { scope: TENANT_A, name: "gitlab" }));
  });

  it("fails when an envelope is moved to another field of the same server", () => {
    const token = sealed.auth?.type === "bearer" ? sealed.auth.token : "";
    const moved: ServerDefinition = { ...sealed, headers: { ...sealed.headers, "X-Api-Key": token } };
    expectDecryptionFailed(() => openDefinition(moved, ring, { scope: TENANT_A, name: "github" }));
    const swapped: ServerDefinition = {
      ...sealed,
      headers: {
        "X-Api-Key": sealed.headers?.["X-Tenant"] as string,
        "X-Tenant": sealed.headers?.["X-Api-Key"] as string,
      },
    };
    expectDecryptionFailed(() => openDefinition(swapped, ring, { scope: TENANT_A, name: "github" }));
  });

  it("fails when an envelope is copied into another tenant's record of the same name", () => {
    const victim = sealDefinition({ url: "https://x.example/mcp", auth: { type: "bearer", token: "victim" } }, ring, {
      scope: TENANT_B,
      name: "github",
    });
    const stolen: ServerDefinition = { ...sealed, auth: victim.auth };
    expectDecryptionFailed(() => openDefinition(stolen, ring, { scope: TENANT_A, name: "github" }));
  });

  it("binds scope, server and field path into the additional data", () => {
    expect(secretAad({ scope: GLOBAL, name: "github" }, "/auth/token")).toBe("global|github|/auth/token");
    expect(secretAad({ scope: TENANT_A, name: "github" }, "/headers/X-Key")).toBe(
      "scope:tenant-a|github|/headers/X-Key",
    );
    expect(() => secretAad({ scope: GLOBAL, name: "a|b" }, "/auth/token")).toThrow(TypeError);
  });

  it("rejects a stored plaintext instead of passing it through, without echoing it", () => {
    const tampered: ServerDefinition = { ...sealed, auth: { type: "bearer", token: "plaintext-token" } };
    const error = expectDecryptionFailed(() => openDefinition(tampered, ring, { scope: TENANT_A, name: "github" }));
    expect(error.message).toContain("/auth/token");
    expect(error.message).not.toContain("plaintext-token");
    const plainHeader: ServerDefinition = { ...sealed, headers: { ...sealed.headers, "X-Tenant": "acme" } };
    expectDecryptionFailed(() => openDefinition(plainHeader, ring, { scope: TENANT_A, name: "github" }));
  });

  it("fails under a ring that does not hold the sealing key", () => {
    expectDecryptionFailed(() => openDefinition(sealed, randomKeyRing(), { scope: TENANT_A, name: "github" }));
  });
});

describe("rotating secrets to a new key", () => {
  it("opens a record sealed under A with ring [B, A], reports it stale, and reseals it under B alone", () => {
    const keyA = randomBytes(32);
    const keyB = randomBytes(32);
    const context = { scope: TENANT_A, name: "github" };
    const sealedUnderA = sealDefinition(bearer, createKeyRing([keyA]), context);

    const rotating = createKeyRing([keyB, keyA]);
    expect(openDefinition(sealedUnderA, rotating, context)).toEqual(bearer);
    expect(needsRotation(sealedUnderA, rotating)).toBe(true);

    const resealed = resealDefinition(sealedUnderA, rotating, context);
    expect(needsRotation(resealed, rotating)).toBe(false);
    const onlyB = createKeyRing([keyB]);
    expect(openDefinition(resealed, onlyB, context)).toEqual(bearer);
    expectDecryptionFailed(() => openDefinition(sealedUnderA, onlyB, context));
  });

  it("reports a record stale when just one of its fields is under the old key", () => {
    const keyA = randomBytes(32);
    const keyB = randomBytes(32);
    const context = { scope: GLOBAL, name: "github" };
    const underB = sealDefinition(bearer, createKeyRing([keyB]), context);
    const underA = sealDefinition(bearer, createKeyRing([keyA]), context);
    const mixed: ServerDefinition = {
      ...underB,
      headers: { ...underB.headers, "X-Tenant": underA.headers?.["X-Tenant"] as string },
    };
    const ring = createKeyRing([keyB, keyA]);
    expect(needsRotation(underB, ring)).toBe(false);
    expect(needsRotation(mixed, ring)).toBe(true);
    expect(openDefinition(resealDefinition(mixed, ring, context), createKeyRing([keyB]), context)).toEqual(bearer);
  });

  it("reports a stored plaintext as needing rotation, and resealing it fails instead of encrypting it silently", () => {
    const ring = randomKeyRing();
    const context = { scope: GLOBAL, name: "github" };
    const plaintextRecord: ServerDefinition = {
      url: "https://a.example/mcp",
      auth: { type: "bearer", token: "plain" },
    };
    expect(needsRotation(plaintextRecord, ring)).toBe(true);
    expectDecryptionFailed(() => resealDefinition(plaintextRecord, ring, context));
  });
});

describe("mapSecretFields", () => {
  it("visits exactly the secret fields, by JSON Pointer", () => {
    const visited: string[] = [];
    mapSecretFields(
      {
        url: "https://a.example/mcp",
        headers: { "X-A": "1", "a/b~c": "2" },
        auth: { type: "headers", headers: { "X-B": "3" } },
        description: "not a secret",
      },
      (value, pointer) => {
        visited.push(pointer);
        return value;
      },
    );
    expect(visited).toEqual(["/headers/X-A", "/headers/a~1b~0c", "/auth/headers/X-B"]);
  });
});
