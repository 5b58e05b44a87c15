export { describeStoreConformance, sampleServer } from "./store-conformance.js";
export type { StoreCapabilities, StoreConformanceOptions } from "./store-conformance.js";
