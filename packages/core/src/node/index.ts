// `@mcp-server-side/core/node`: Node's HTTP objects ↔ Web `Request` / `Response`, for any framework
// on Node (Express, Fastify, Koa, plain `node:http`) that mounts the core's Web-standard handler.
export {
  announcesBody,
  requestPathname,
  requestUrl,
  sendWebResponse,
  toCoreRequest,
  toWebRequest,
} from "./node-http.js";
export type { NodeRequest, ToWebRequestOptions } from "./node-http.js";
export { nodeRequestSource } from "./node-source.js";
