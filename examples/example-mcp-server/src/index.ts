export { createExampleMcpServer, EXAMPLE_INSTRUCTIONS } from "./server.js";
export type { ExampleMcpServerOptions, ReceivedToolCall } from "./server.js";
export { startExampleServer } from "./http.js";
export type { ExampleServerHandle, StartExampleServerOptions } from "./http.js";
