import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeWebReadableStream } from "node:stream/web";
import { isJsonContentType } from "../http/body.js";
import { type CoreRequest, keepRequestBody, keptBodyOf } from "../http/kept-body.js";
import { pathOf } from "../http/paths.js";

/**
 * A Node request as a framework hands it over (Node's own, Express's, Fastify's `request.raw`, Koa's
 * `ctx.req`). `originalUrl` is the target before a router stripped a mount path (Express, Connect);
 * `body` is what a body parser made of a stream it already read.
 */
export type NodeRequest = IncomingMessage & { originalUrl?: string; body?: unknown };

/** How `toWebRequest` builds the Web request. */
export interface ToWebRequestOptions {
  /** Leave the body out (the context of a request that is not ours only needs URL and headers). */
  headersOnly?: boolean;
  /** Aborts the Web request's signal when the client goes away before the response finished. */
  response?: ServerResponse;
  /**
   * Only the core reads the request (`handledInCoreOnly`): a body nobody read yet stays the Node stream,
   * kept beside the Web request for the core's body reader, instead of becoming a Web stream.
   */
  keepBody?: boolean;
}

const NO_BODY_METHODS = new Set(["GET", "HEAD"]);
// A host header that is not a plain host[:port] would let the URL parser pick another origin or path.
const SAFE_HOST = /^[A-Za-z0-9.\-_~]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * The path the framework routed: the request target as it came off the wire (`req.originalUrl` when a
 * router set it, so mount paths are included), up to `?` or `#`, neither decoded nor normalized. Pass it
 * to `mcp.owns()` / `mcp.handle()`: `/x/../mcp-servers` (which no guard on `/mcp-servers` saw) is not ours.
 */
export function requestPathname(req: NodeRequest): string {
  return pathOf(req.originalUrl ?? req.url ?? "/");
}

/** The absolute URL of the request; the path is the original one, never resolved against the host. */
export function requestUrl(req: NodeRequest): URL {
  return new URL(requestHref(req));
}

// Concatenated, not `new URL(path, base)`: a path such as `//evil/x` must stay a path. A string, so that
// `new Request()` parses it once (handed a URL, it serializes and parses it again).
function requestHref(req: NodeRequest): string {
  const encrypted = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  const host =
    typeof req.headers.host === "string" && SAFE_HOST.test(req.headers.host) ? req.headers.host : "localhost";
  const path = req.originalUrl ?? req.url ?? "/";
  return `${encrypted ? "https" : "http"}://${host}${path.startsWith("/") ? path : `/${path}`}`;
}

/**
 * Turns a Node request into a Web `Request`. The raw body is streamed when nobody read it yet; when a
 * body parser (e.g. `express.json()`) already consumed the stream, its result is serialized again.
 */
export function toWebRequest(req: NodeRequest, options: ToWebRequestOptions = {}): Request {
  const method = (req.method ?? "GET").toUpperCase();
  const init: RequestInit & { duplex?: "half" } = { method };
  if (options.response) init.signal = abortOnClose(options.response);
  let parsedBodyLength: number | undefined;
  let kept: NodeRequest | undefined;
  if (!options.headersOnly && !NO_BODY_METHODS.has(method) && announcesBody(req)) {
    if (!isConsumed(req)) {
      if (options.keepBody && req.readableEncoding === null) kept = req;
      else {
        init.body = Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>;
        init.duplex = "half";
      }
    } else {
      const body = serializeParsedBody(req.body);
      if (body !== undefined) {
        parsedBodyLength = body.byteLength;
        init.body = body;
      }
    }
  }
  const request = new Request(requestHref(req), init);
  // Appended to the request's own headers: a `Headers` passed in `init` is validated and copied a second time.
  // No body given here sets a Content-Type, so nothing appended below meets one the constructor added.
  const headers = appendRawHeaders(request.headers, req);
  if (parsedBodyLength !== undefined) {
    headers.set("content-length", String(parsedBodyLength));
    headers.delete("transfer-encoding");
  }
  if (kept !== undefined) keepRequestBody(request, kept);
  return request;
}

// The methods a Web `Request` takes as they are; any other (CONNECT, TRACE, an extension) goes through its constructor.
const CORE_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * The request as the core reads it on a path `coreOnlyHandler` answers for: method, URL, the headers as
 * `toWebRequest` copies them, and the body kept as the Node stream, with no Web `Request` made (its
 * constructor costs more than the rest of a small management route). A body a parser already consumed,
 * or a method the `Request` constructor would normalize or refuse, takes `toWebRequest` instead.
 */
export function toCoreRequest(req: NodeRequest): CoreRequest {
  const method = req.method ?? "GET";
  const hasBody = !NO_BODY_METHODS.has(method) && announcesBody(req);
  if (!CORE_METHODS.has(method) || (hasBody && (isConsumed(req) || req.readableEncoding !== null)))
    return toWebRequest(req, { keepBody: true });
  const request: CoreRequest = {
    method,
    url: requestHref(req),
    headers: appendRawHeaders(new Headers(), req),
    body: null,
  };
  if (hasBody) keepRequestBody(request, req);
  return request;
}

/** The Node request's header fields appended to `headers` in order, HTTP/2 pseudo-headers left out. */
function appendRawHeaders(headers: Headers, req: NodeRequest): Headers {
  const raw = req.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = raw[index]!;
    if (!name.startsWith(":")) headers.append(name, raw[index + 1]!);
  }
  return headers;
}

/** Writes a Web `Response` to a Node response: status, every header (each Set-Cookie apart), streamed body. */
export async function sendWebResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  // An answer the core made whole goes out as the text it was made from, with no stream to read.
  const kept = keptBodyOf(response);
  if (kept !== undefined && res.req?.method !== "HEAD") {
    res.setHeader("content-length", Buffer.byteLength(kept));
    res.end(kept);
    return;
  }
  if (response.body === null || res.req?.method === "HEAD") {
    await response.body?.cancel();
    res.end();
    return;
  }
  // A JSON answer is whole when it is made (never a stream), so one write with its length beats a
  // Web-to-Node stream pipeline and a chunked body sent after the headers.
  if (isJsonContentType(response.headers.get("content-type"))) {
    const body = Buffer.from(await response.arrayBuffer());
    res.setHeader("content-length", body.byteLength);
    res.end(body);
    return;
  }
  // Headers go out at once, so a server-sent event stream starts before its first chunk.
  res.flushHeaders();
  await pipeline(Readable.fromWeb(response.body as NodeWebReadableStream<Uint8Array>), res);
}

/** True when the request announces a body: as HTTP/1.1 framing says, without Content-Length or Transfer-Encoding there is none. */
export function announcesBody(req: Pick<NodeRequest, "headers">): boolean {
  const headers = req.headers;
  return headers["transfer-encoding"] !== undefined || headers["content-length"] !== undefined;
}

function isConsumed(req: NodeRequest): boolean {
  return req.readableEnded || (req.complete && !req.readable) || (req as { _body?: unknown })._body === true;
}

function serializeParsedBody(body: unknown): Uint8Array<ArrayBuffer> | undefined {
  if (body === undefined) return undefined;
  if (body instanceof Uint8Array) return new Uint8Array(body);
  return new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body));
}

function abortOnClose(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  // The request may be made lazily, after the client already left.
  if (res.closed && !res.writableFinished) {
    controller.abort();
    return controller.signal;
  }
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
