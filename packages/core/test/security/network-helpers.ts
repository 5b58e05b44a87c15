import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { Lookup, LookupAddress, NetworkPolicy } from "../../src/options.js";

/** One case of /work/shared/bad-inputs-sample.json. */
export interface BadInput {
  category: string;
  input: unknown;
  expect: "accept" | "reject";
  why: string;
}

const SAMPLE_PATH = "/work/shared/bad-inputs-sample.json";

export function badInputs(category: string): BadInput[] {
  const all = JSON.parse(readFileSync(SAMPLE_PATH, "utf8")) as BadInput[];
  const cases = all.filter((entry) => entry.category === category);
  if (cases.length === 0) throw new Error(`no '${category}' cases in ${SAMPLE_PATH}`);
  return cases;
}

export type RecordingLookup = Lookup & { calls: string[] };

/**
 * A resolver that answers from a table and never touches DNS; unknown names fail like ENOTFOUND.
 * Every call is recorded, so a test can prove a name was (or was not) resolved.
 */
export function tableLookup(table: Record<string, readonly string[]>): RecordingLookup {
  const calls: string[] = [];
  const lookup = async (hostname: string): Promise<LookupAddress[]> => {
    calls.push(hostname);
    // Like a real resolver, a fully qualified name (trailing dot) is the same name.
    const answers = table[hostname.replace(/\.$/, "")];
    if (answers === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return answers.map((address) => ({ address, family: isIP(address) === 6 ? 6 : 4 }));
  };
  return Object.assign(lookup, { calls });
}

/** A resolver whose n-th call answers `sequence[n]` (the last one repeating): a rebinding DNS server. */
export function sequenceLookup(sequence: readonly (readonly string[])[]): RecordingLookup {
  const calls: string[] = [];
  const lookup = async (hostname: string): Promise<LookupAddress[]> => {
    const answers = sequence[Math.min(calls.length, sequence.length - 1)] ?? [];
    calls.push(hostname);
    return answers.map((address) => ({ address, family: isIP(address) === 6 ? 6 : 4 }));
  };
  return Object.assign(lookup, { calls });
}

export function networkPolicy(
  overrides: Partial<Omit<NetworkPolicy, "allowedHosts">> & { allowedHosts?: Iterable<string> } = {},
): NetworkPolicy {
  return {
    allowPrivateNetworks: overrides.allowPrivateNetworks ?? false,
    requireHttps: overrides.requireHttps ?? true,
    lookup: overrides.lookup ?? tableLookup({}),
    allowedHosts: new Set(overrides.allowedHosts ?? []),
  };
}
