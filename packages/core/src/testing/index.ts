export { describeStoreConformance, sampleServer } from "./store-conformance.js";
export type { StoreCapabilities, StoreConformanceOptions } from "./store-conformance.js";
// The pure merge of the tiers, for testing an app's own policies against it.
export { mergeTiers } from "../tiers/merge.js";
export type { MergedServer, MergeResult, TierInputs } from "../tiers/merge.js";
