export { describeStoreConformance } from "./store-conformance.js";
export type { StoreCapabilities, StoreConformanceOptions } from "./store-conformance.js";
