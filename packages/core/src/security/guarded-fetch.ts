import type { LookupAddress as DnsLookupAddress, LookupOptions } from "node:dns";
import { isIP } from "node:net";
import { Agent, buildConnector, Dispatcher, fetch as undiciFetch } from "undici";
import { findOwnError, McpServerSideError } from "../errors.js";
import { findInCauses } from "../util/error-cause.js";
import type { NetworkPolicy } from "../options.js";
import { checkHost, effectivePort, isHostOpened, isPlainHttpAllowed, checkRemoteUrl, warnRefusedHost } from "./ssrf.js";

/** The default cap on one response body (or, for an event stream, on one event). */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** SPEC §9: redirects are followed at most this many hops. */
export const DEFAULT_MAX_REDIRECTS = 5;

export interface GuardedFetchOptions {
  /**
   * The largest response body accepted, in bytes; a larger one errors while it is read. For
   * `text/event-stream` responses the cap applies to each event instead of the whole stream, so a
   * long-lived SSE stream keeps working while one oversized event still fails.
   * @default 16 MiB
   */
  maxResponseBytes?: number;
  /** Same-origin redirects followed per request, each re-checked. @default 5 */
  maxRedirects?: number;
  /** Time allowed for the TCP/TLS connect step. @default 10000 */
  connectTimeoutMs?: number;
}

/** A WHATWG `fetch` whose every connection is SSRF-checked; `close()` ends its pooled sockets. */
export type GuardedFetch = typeof fetch & {
  /** Closes the underlying connection pool. */
  close(): Promise<void>;
};

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | DnsLookupAddress[],
  family?: number,
) => void;

const HTTPS_REQUIRED = "the URL must use https (http is allowed only for hosts the operator opened)";

/**
 * The address lookup handed to the socket: every answer of `policy.lookup` must pass the policy
 * (SPEC §9), and the socket only ever gets answers that passed, so a rebinding DNS server cannot
 * swap in another address after the check. `privateOnly` is the plain-http case, where only a host
 * reached through an opened private address is acceptable. `port` is the connection's, for
 * `host:port` entries of `allowedHosts` (the socket's lookup is not told the port).
 */
function createGuardedLookup(policy: NetworkPolicy, privateOnly: boolean, port: number) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    checkHost(hostname, policy, port).then(
      (result) => {
        if (!result.ok) {
          const code = result.code === "blocked_address" ? "blocked_address" : "connection_failed";
          callback(new McpServerSideError(code, result.message), "");
          return;
        }
        if (privateOnly && !isPlainHttpAllowed(result.value.reach, policy)) {
          warnRefusedHost(policy, hostname, port, "plain-http");
          callback(new McpServerSideError("invalid_url", HTTPS_REQUIRED), "");
          return;
        }
        const family =
          options.family === 4 || options.family === "IPv4"
            ? 4
            : options.family === 6 || options.family === "IPv6"
              ? 6
              : 0;
        const addresses = result.value.addresses.filter((answer) => family === 0 || answer.family === family);
        const first = addresses[0];
        if (first === undefined) {
          callback(new McpServerSideError("connection_failed", "the host has no address of the requested family"), "");
          return;
        }
        if (options.all === true) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), ""),
    );
  };
}

/** Connectors kept per (plain-http, port); a bound keeps a tenant walking every port from growing it without end. */
const MAX_CACHED_CONNECTORS = 256;

/**
 * The connect step of the HTTP client. A lookup hook alone is not enough: sockets skip it for IP
 * literals (`http://0:port`, `[::]`, `[::ffff:7f00:1]`), so those are checked here first.
 */
function createGuardedConnector(policy: NetworkPolicy, connectTimeoutMs: number): buildConnector.connector {
  const connectors = new Map<string, buildConnector.connector>();
  // One connector per port, since the socket's lookup hook is not told the port an `allowedHosts`
  // entry may name; each keeps its own TLS session cache.
  const connectorFor = (privateOnly: boolean, port: number): buildConnector.connector => {
    const key = `${privateOnly ? "http" : "any"}:${port}`;
    let connector = connectors.get(key);
    if (connector === undefined) {
      if (connectors.size >= MAX_CACHED_CONNECTORS) connectors.clear();
      connector = buildConnector({
        timeout: connectTimeoutMs,
        autoSelectFamily: true,
        lookup: createGuardedLookup(policy, privateOnly, port),
      });
      connectors.set(key, connector);
    }
    return connector;
  };

  return (options, callback) => {
    const hostname = options.hostname;
    const port = effectivePort(options.protocol, options.port);
    const plainHttp = options.protocol === "http:" && policy.requireHttps && !isHostOpened(hostname, policy, port);
    if (isIP(hostname) === 0) {
      if (plainHttp && !policy.allowPrivateNetworks) {
        warnRefusedHost(policy, hostname, port, "plain-http");
        callback(new McpServerSideError("invalid_url", HTTPS_REQUIRED), null);
        return;
      }
      connectorFor(plainHttp, port)(options, callback);
      return;
    }
    checkHost(hostname, policy, port).then(
      (result) => {
        if (!result.ok) {
          callback(
            new McpServerSideError(
              result.code === "blocked_address" ? "blocked_address" : "connection_failed",
              result.message,
            ),
            null,
          );
        } else if (plainHttp && !isPlainHttpAllowed(result.value.reach, policy)) {
          warnRefusedHost(policy, hostname, port, "plain-http");
          callback(new McpServerSideError("invalid_url", HTTPS_REQUIRED), null);
        } else {
          connectorFor(false, port)(options, callback);
        }
      },
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), null),
    );
  };
}

/**
 * Counts body bytes against the cap: the whole body, or for an event stream the bytes of the current
 * event (reset at each blank line, whichever of CRLF, LF or CR ends the lines).
 */
export function createByteCounter(maxBytes: number, perEvent: boolean): (chunk: Uint8Array) => boolean {
  let count = 0;
  let atLineStart = false;
  let afterCarriageReturn = false;
  return (chunk) => {
    if (!perEvent) {
      count += chunk.byteLength;
      return count <= maxBytes;
    }
    // Runs of text between line breaks are counted by length, found with indexOf (native), not byte by byte.
    const length = chunk.byteLength;
    let nextLf = chunk.indexOf(0x0a);
    let nextCr = chunk.indexOf(0x0d);
    let index = 0;
    while (index < length) {
      if (nextLf !== -1 && nextLf < index) nextLf = chunk.indexOf(0x0a, index);
      if (nextCr !== -1 && nextCr < index) nextCr = chunk.indexOf(0x0d, index);
      const lineEnd = Math.min(nextLf === -1 ? length : nextLf, nextCr === -1 ? length : nextCr);
      if (lineEnd > index) {
        atLineStart = false;
        afterCarriageReturn = false;
        count += lineEnd - index;
        if (count > maxBytes) return false;
      }
      if (lineEnd === length) break;
      const isLf = lineEnd === nextLf;
      index = lineEnd + 1;
      if (isLf && afterCarriageReturn) {
        afterCarriageReturn = false;
        continue;
      }
      afterCarriageReturn = !isLf;
      if (atLineStart) count = 0;
      atLineStart = true;
    }
    return true;
  };
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

const nothing = (): void => undefined;

/** A request's own abort signal, following the caller's until `unlink()`. */
interface SignalLink {
  signal: AbortSignal | undefined;
  unlink(): void;
}

/**
 * The MCP SDK hands every fetch of a transport the same long-lived signal, and fetch adds an abort
 * listener to it that goes only when the request is garbage-collected: thousands pile up between
 * collections, and each new listener (and Node 20's fetch, counting them) walks the whole list, tens
 * of µs per call. The request gets a signal of its own instead, linked to the caller's until its
 * response body is done, so the caller's signal holds only the requests in flight.
 */
function linkSignal(signal: AbortSignal | null | undefined): SignalLink {
  if (signal === null || signal === undefined) return { signal: undefined, unlink: nothing };
  const own = new AbortController();
  if (signal.aborted) {
    own.abort(signal.reason);
    return { signal: own.signal, unlink: nothing };
  }
  const forward = (): void => own.abort(signal.reason);
  signal.addEventListener("abort", forward, { once: true });
  return { signal: own.signal, unlink: () => signal.removeEventListener("abort", forward) };
}

/**
 * The response with its body capped; `unlink` runs once the body is done (read to the end, failed or
 * cancelled), or at once for a response without one.
 */
function capResponse(response: Response, maxBytes: number, unlink: () => void = nothing): Response {
  if (response.body === null || NULL_BODY_STATUSES.has(response.status)) {
    unlink();
    return response;
  }
  const perEvent = (response.headers.get("content-type") ?? "").toLowerCase().startsWith("text/event-stream");
  // A whole body of a declared length within the cap cannot outgrow it (HTTP framing ends it there), so it
  // needs no counting, nor a stream around it when its end unlinks nothing; a compressed one can outgrow
  // it, once decoded.
  if (unlink === nothing) {
    if (!Number.isFinite(maxBytes)) return response;
    const declared = response.headers.get("content-length");
    if (!perEvent && response.headers.get("content-encoding") === null && declared !== null) {
      if (/^\d{1,15}$/.test(declared) && Number(declared) <= maxBytes) return response;
    }
  }
  const withinCap = createByteCounter(maxBytes, perEvent);
  // A pulling stream over the body's reader, rather than pipeThrough(TransformStream): no pipe loop
  // per response, and a chunk is read only when the consumer asks for one.
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          unlink();
          throw error;
        }
        if (chunk.done) {
          unlink();
          controller.close();
        } else if (withinCap(chunk.value)) controller.enqueue(chunk.value);
        else {
          unlink();
          controller.error(
            new McpServerSideError(
              "upstream_error",
              `the server's response exceeds ${maxBytes} bytes${perEvent ? " in one event" : ""}`,
            ),
          );
          reader.cancel().catch(() => undefined);
        }
      },
      cancel: (reason) => {
        unlink();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  const capped = new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  Object.defineProperty(capped, "url", { value: response.url });
  Object.defineProperty(capped, "redirected", { value: response.redirected });
  return capped;
}

interface PreparedRequest {
  url: URL;
  init: RequestInit & { duplex?: "half" };
}

async function prepareRequest(input: string | URL | Request, init: RequestInit | undefined): Promise<PreparedRequest> {
  // The init as given (never modified here; a redirect builds a new one): undici reads any HeadersInit,
  // a Headers object of Node's own fetch included.
  if (typeof input === "string") return { url: new URL(input), init: init ?? {} };
  if (input instanceof URL) return { url: input, init: init ?? {} };
  // A Request from another fetch implementation: carry its parts over, the init winning.
  const body = init?.body !== undefined ? init.body : input.body === null ? null : await input.arrayBuffer();
  return {
    url: new URL(input.url),
    init: {
      method: input.method,
      signal: input.signal,
      redirect: input.redirect,
      ...init,
      headers: [...new Headers(init?.headers ?? input.headers)],
      body,
    },
  };
}

function isReplayable(body: unknown): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === "string" ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof URLSearchParams ||
    (typeof Blob !== "undefined" && body instanceof Blob)
  );
}

/** The request of the next hop (fetch spec: 303, and 301/302 after POST, turn into a body-less GET). */
function redirectInit(init: PreparedRequest["init"], status: number): PreparedRequest["init"] {
  const method = (init.method ?? "GET").toUpperCase();
  if (status === 303 ? method !== "HEAD" : (status === 301 || status === 302) && method === "POST") {
    const headers = new Headers(init.headers);
    for (const name of ["content-type", "content-length", "content-encoding", "content-language", "content-location"])
      headers.delete(name);
    const { body: _body, duplex: _duplex, ...rest } = init;
    return { ...rest, method: "GET", headers: [...headers] };
  }
  if (!isReplayable(init.body))
    throw new McpServerSideError(
      "connection_failed",
      "the server redirected a request whose streamed body cannot be sent again",
    );
  return init;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

// ── the fetch that drives the guarded agent ─────────────────────────────────────────────────────

const PROBED = new Error("mcp-server-side: dispatcher probe");
const PROBE_URL = "http://dispatcher-probe.mcp-server-side.invalid/";

/** A dispatcher that refuses at once: a fetch that honours `dispatcher` rejects with it as the cause. */
class ProbeDispatcher extends Dispatcher {
  override dispatch(): boolean {
    throw PROBED;
  }
}

let probe: { of: typeof fetch; honours?: boolean; done: Promise<boolean> } | undefined;

/**
 * Whether `candidate` (the global `fetch` of the moment) sends its request through the `dispatcher`
 * it is given, as Node's own fetch does. An app may replace the global with one that ignores it (a
 * polyfill, a mock), and the guarded connect step would then never run: that fetch is not used. The
 * answer is kept per function, so the check costs one comparison per request once known.
 */
function honoursDispatcher(candidate: typeof fetch): boolean | Promise<boolean> {
  if (probe?.of !== candidate) {
    const entry: NonNullable<typeof probe> = {
      of: candidate,
      // A fetch that ignores the dispatcher only asks DNS for a name reserved never to resolve (RFC 2606).
      done: candidate(PROBE_URL, { dispatcher: new ProbeDispatcher() } as RequestInit).then(
        async (response) => {
          await response.body?.cancel().catch(() => undefined);
          return false;
        },
        (error: unknown) => findInCauses(error, (link) => (link === PROBED ? true : undefined)) === true,
      ),
    };
    entry.done.then((honours) => {
      entry.honours = honours;
    });
    probe = entry;
  }
  return probe.honours ?? probe.done;
}

/**
 * Node's own fetch over the guarded agent: every connection goes through the guarded connect step,
 * and it costs a fraction of the undici package's fetch per request (Node's fetch already drives this
 * undici's Agent: importing undici makes its Agent the global dispatcher when none is set, on Node 20,
 * 22 and 24 alike). When the global fetch does not honour a dispatcher, the undici package's fetch
 * is used instead, its answer given as a global `Response` (the MCP SDK's OAuth code reads it so).
 */
async function fetchThrough(agent: Agent, url: URL, init: RequestInit): Promise<Response> {
  const current = globalThis.fetch;
  const honours = honoursDispatcher(current);
  if (honours === true || (honours !== false && (await honours)))
    return current(url, { ...init, dispatcher: agent } as RequestInit);
  // undici's own Response/RequestInit types differ from the DOM ones only nominally.
  const answer = (await undiciFetch(url, { ...init, dispatcher: agent } as Parameters<
    typeof undiciFetch
  >[1])) as unknown as Response;
  return new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
}

/**
 * A `fetch` for every request to a tenant's MCP server (SPEC §9), OAuth discovery and token calls
 * included. Each connection is checked inside the HTTP client's own connect step: IP literals
 * directly, names through `policy.lookup` with every answer checked, so DNS rebinding between
 * registration and connect fails. Redirects are followed by hand, only within the same origin, at
 * most `maxRedirects` hops, each through the same guarded connect. Response bodies are capped.
 * A refused connection rejects with `McpServerSideError` (`blocked_address`, or `invalid_url` for
 * plain http to a public host under `requireHttps`), whose message never names the address.
 * Responses are the global `Response` class, which the MCP SDK's OAuth code needs to read an error
 * body (`invalid_grant`, …).
 */
export function createGuardedFetch(policy: NetworkPolicy, options: GuardedFetchOptions = {}): GuardedFetch {
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const agent = new Agent({ connect: createGuardedConnector(policy, options.connectTimeoutMs ?? 10_000) });

  const follow = async (start: URL, first: PreparedRequest["init"], link: SignalLink): Promise<Response> => {
    let url = start;
    let current = first;
    const redirectMode = current.redirect ?? "follow";
    for (let hop = 0; ; hop++) {
      const checked = checkRemoteUrl(url);
      if (!checked.ok) throw new McpServerSideError(checked.code, checked.message);
      let response: Response;
      try {
        response = await fetchThrough(agent, url, { ...current, signal: link.signal, redirect: "manual" });
      } catch (error) {
        // undici wraps connect errors in `TypeError("fetch failed")`; surface ours as they are.
        throw findOwnError(error) ?? error;
      }
      const location = response.headers.get("location");
      if (!REDIRECT_STATUSES.has(response.status) || location === null || redirectMode === "manual") {
        return capResponse(response, maxResponseBytes, link.unlink);
      }
      await response.body?.cancel().catch(() => undefined);
      if (redirectMode === "error")
        throw new McpServerSideError("connection_failed", "the server answered with a redirect");
      if (hop >= maxRedirects)
        throw new McpServerSideError("connection_failed", `the server redirected more than ${maxRedirects} times`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new McpServerSideError("connection_failed", "the server redirected to an invalid URL");
      }
      if (next.origin !== url.origin)
        throw new McpServerSideError(
          "blocked_address",
          "the server redirected to another origin, which is not followed",
        );
      current = redirectInit(current, response.status);
      url = next;
    }
  };

  const guardedFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const { url, init: prepared } = await prepareRequest(input, init);
    const link = linkSignal(prepared.signal);
    try {
      return await follow(url, prepared, link);
    } catch (error) {
      link.unlink();
      throw error;
    }
  };

  let closing: Promise<void> | undefined;
  return Object.assign(guardedFetch as typeof fetch, {
    close: (): Promise<void> => {
      closing ??= agent.close();
      return closing;
    },
  });
}

/**
 * The config tier's `fetch`: the operator's servers are not SSRF-checked, but their response bodies
 * are capped all the same, since the MCP SDK sets no limit of its own.
 */
export function createCappedFetch(options: Pick<GuardedFetchOptions, "maxResponseBytes"> = {}): typeof fetch {
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  return async (input, init) => {
    const link = linkSignal(init?.signal ?? (input instanceof Request ? input.signal : undefined));
    try {
      const response = await fetch(input, link.signal === undefined ? init : { ...init, signal: link.signal });
      return capResponse(response, maxResponseBytes, link.unlink);
    } catch (error) {
      link.unlink();
      throw error;
    }
  };
}
