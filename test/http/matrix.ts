import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import { createMcpServerSide } from "@mcp-server-side/core";
import type { McpServerSide, McpServerSideOptions } from "@mcp-server-side/core";
import type { LanguageModel } from "ai";
import { afterEach, describe, expect } from "vitest";
import { readReply, type Reply } from "../support/reply.js";
export type { Reply } from "../support/reply.js";

/**
 * One HTTP scenario suite, run against every adapter on a real server (as h3's `describeMatrix`).
 * An adapter case starts an app on 127.0.0.1:0 with the middleware for an instance, plus routes of
 * its own: `POST /chat` answers `{ servers, errors }` from the request's MCP context, `GET /hello`
 * answers the text `hello` (to show that other routes pass through), and two AI SDK routes that run
 * the test's model on the body's `prompt` with `tools: await <request>.mcp.tools()` (up to 3 steps):
 * `POST /generate` (`generateText`) answers `{ text, toolResults, errors }`, and `POST /stream`
 * (`streamText`) answers the UI message stream, whose `finish` chunk carries `{ errors }` as metadata.
 */
export interface AdapterCase {
  name: string;
  /**
   * True when the framework parses the JSON body before the middleware (`express.json()` first): the
   * core then sees the body serialized again, so checks that need the raw bytes (duplicate keys, a body
   * that is not JSON) are made by the framework's parser or not at all.
   */
  bodyParsedFirst: boolean;
  start(mcp: McpServerSide, model: ModelSource, setup?: AppSetup): Promise<RunningApp>;
}

/** What an app mounts besides the middleware and its own routes. */
export interface AppSetup {
  /**
   * Paths the app guards with a middleware mounted before ours, as an app writes `app.use(path, guard)`:
   * the guard answers `401` with the text `guarded` (`text/plain`) unless the request carries
   * `x-guard-pass: yes`.
   */
  guards?: string[];
}

/** The guard's answer, as `AppSetup.guards` describes it. */
export const GUARDED = "guarded";
export const GUARD_PASS_HEADER = "x-guard-pass";

/** The language model the app's AI SDK routes use, asked for on each request (tests script a mock). */
export type ModelSource = () => LanguageModel;

const noModel: ModelSource = () => {
  throw new Error("this test scripted no language model: pass one to app(options, model)");
};

export interface RunningApp {
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

export interface RequestOptions {
  /** Sent as `X-API-Key`. */
  key?: string;
  /** Sent as `Authorization: Bearer …`. */
  bearer?: string;
  /** Serialized as JSON with `content-type: application/json` unless `contentType` says otherwise. */
  body?: unknown;
  /** Sent as is (a string, bytes or a stream: a stream goes out chunked, without Content-Length). */
  raw?: string | Uint8Array | ReadableStream<Uint8Array>;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RawRequestOptions {
  /** Sent as `X-API-Key`. */
  key?: string;
  headers?: Record<string, string>;
  /** Sent as is; no content type is added. */
  body?: string | Uint8Array;
}

export interface TestClient {
  url: string;
  mcp: McpServerSide;
  /** The management routes' base path of this app. */
  base: string;
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  /**
   * A request whose target goes out byte for byte as given (`fetch` would resolve `..` and `\\` first),
   * so a test can send the spellings a hostile client sends.
   */
  rawRequest(method: string, target: string, options?: RawRequestOptions): Promise<Reply>;
  /** `GET base` as `key`, expecting 200; the servers sorted by name. */
  list(key: string): Promise<any[]>;
  register(key: string, body: unknown): Promise<Reply>;
  /** `POST /chat` with `body`: the request's effective servers and errors. */
  chat(body: unknown, key?: string): Promise<{ servers: any[]; errors: any[] }>;
}

export interface MatrixContext {
  adapter: AdapterCase;
  /** Creates an instance (with `testDefaults` under `options`) and an app on a real port; closed after the test. */
  app(options?: McpServerSideOptions, model?: ModelSource, setup?: AppSetup): Promise<TestClient>;
}

/** Every secret the suite sends holds this marker; no response may ever contain it. */
export const SENTINEL = "SENTINEL";

/** A fresh API key; it is a secret too, so it carries the marker. */
export function newKey(label = "key"): string {
  return `${SENTINEL}-${label}-${randomUUID()}`;
}

/** A DNS that answers from a table, and a public address for every other name: tests never use real DNS. */
export function fakeLookup(table: Record<string, string[]> = {}): NonNullable<McpServerSideOptions["lookup"]> {
  return async (hostname) =>
    (table[hostname] ?? ["1.1.1.1"]).map((address) => ({ address, family: address.includes(":") ? 6 : 4 }) as const);
}

export const PUBLIC_URL = "https://1.1.1.1/mcp";

/** The opening of an env placeholder, spelled apart so no linter mistakes it for a template slip. */
export const PLACEHOLDER = "$" + "{";

export function describeMatrix(adapters: readonly AdapterCase[], define: (context: MatrixContext) => void): void {
  for (const adapter of adapters) {
    describe(adapter.name, () => {
      const running: (() => Promise<void>)[] = [];
      afterEach(async () => {
        await Promise.all(running.splice(0).map((close) => close()));
      });
      define({
        adapter,
        async app(options = {}, model = noModel, setup = {}) {
          const started = await startApp(adapter, options, model, setup);
          running.push(started.close);
          return started;
        },
      });
    });
  }
}

/**
 * Like `MatrixContext.app`, for a scenario that keeps one app over several tests (a costly stdio child
 * is spawned once and pooled): the caller closes it, which closes the instance too.
 */
export async function startApp(
  adapter: AdapterCase,
  options: McpServerSideOptions = {},
  model: ModelSource = noModel,
  setup: AppSetup = {},
): Promise<TestClient & { close(): Promise<void> }> {
  const mcp = createMcpServerSide({ lookup: fakeLookup(), ...options });
  const started = await adapter.start(mcp, model, setup);
  return {
    ...client(started.url, mcp),
    async close() {
      await started.close();
      await mcp.close();
    },
  };
}

function client(url: string, mcp: McpServerSide): TestClient {
  const request = async (method: string, path: string, options: RequestOptions = {}): Promise<Reply> => {
    const headers = new Headers(options.headers);
    if (options.key !== undefined) headers.set("x-api-key", options.key);
    if (options.bearer !== undefined) headers.set("authorization", `Bearer ${options.bearer}`);
    let body: RequestInit["body"];
    if (options.raw !== undefined) body = options.raw as RequestInit["body"];
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined && !headers.has("content-type"))
      headers.set("content-type", options.contentType ?? "application/json");
    const init: RequestInit & { duplex?: "half" } = { method, headers };
    if (body !== undefined) init.body = body;
    if (options.raw instanceof ReadableStream) init.duplex = "half";
    const response = await fetch(url + path, init);
    const reply = await readReply(response);
    expectNoSecret(reply.text, [...reply.headers].map(([name, value]) => `${name}: ${value}`).join("\n"));
    return reply;
  };
  const rawRequest: TestClient["rawRequest"] = async (method, target, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.key !== undefined) headers["x-api-key"] = options.key;
    const reply = await new Promise<Reply>((resolve, reject) => {
      const outgoing = httpRequest(url + "/", { method, path: target, headers }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
        incoming.on("error", reject);
        incoming.on("end", () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(incoming.headers)) {
            if (typeof value === "string") responseHeaders.set(name, value);
          }
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = text === "" ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: incoming.statusCode ?? 0, headers: responseHeaders, text, json });
        });
      });
      outgoing.on("error", reject);
      outgoing.end(options.body);
    });
    expectNoSecret(reply.text, [...reply.headers].map(([name, value]) => `${name}: ${value}`).join("\n"));
    return reply;
  };
  const base = mcp.basePath;
  return {
    url,
    mcp,
    base,
    request,
    rawRequest,
    async list(key) {
      const reply = await request("GET", base, { key });
      expect(reply.status, reply.text).toBe(200);
      return [...reply.json.servers].sort((a: any, b: any) => String(a.name).localeCompare(String(b.name)));
    },
    register: (key, body) => request("POST", base, { key, body }),
    async chat(body, key) {
      const reply = await request("POST", "/chat", key === undefined ? { body } : { key, body });
      expect(reply.status, reply.text).toBe(200);
      return reply.json;
    },
  };
}

/** No response body or header ever holds a secret the suite sent. */
export function expectNoSecret(...texts: string[]): void {
  for (const text of texts) expect(text).not.toContain(SENTINEL);
}

/** An RFC 9457 problem document with the given status and code. */
export function expectProblem(reply: Reply, status: number, code?: string): void {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(reply.json).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code: expect.any(String),
  });
  if (code !== undefined) expect(reply.json.code).toBe(code);
}

/** The pointers of a validation problem's `errors`. */
export function pointers(reply: Reply): string[] {
  expect(Array.isArray(reply.json?.errors), reply.text).toBe(true);
  return reply.json.errors.map((entry: any) => {
    expect(entry).toEqual({ pointer: expect.any(String), detail: expect.any(String) });
    return entry.pointer;
  });
}

/** The names of effective servers, sorted. */
export function names(servers: any[]): string[] {
  return servers.map((server) => String(server.name)).sort();
}
