import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import { readReply, type Reply } from "../../../../test/support/reply.js";
export type { Reply } from "../../../../test/support/reply.js";

export interface RequestOptions {
  /** Sent as `X-API-Key`: the caller's scope. */
  key?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A fresh API key, so each test has a scope of its own. */
export function newKey(label = "tenant"): string {
  return `${label}-${randomUUID()}`;
}

/** A client for one running app (one worker): the management routes and the app's `POST /tools`. */
export interface AppClient {
  url: string;
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  /** `GET /mcp-servers` as `key`; the reply. */
  list(key: string): Promise<Reply>;
  /** The names of the caller's effective servers, sorted; expects 200. */
  names(key: string): Promise<string[]>;
  register(key: string, body: unknown): Promise<Reply>;
  patch(key: string, name: string, body: unknown, ifMatch?: string): Promise<Reply>;
  remove(key: string, name: string): Promise<Reply>;
  /** What `tools()` offers the caller (tool names, sorted) and the request's errors; expects 200. */
  tools(key: string): Promise<{ tools: string[]; errors: any[] }>;
}

const BASE = "/mcp-servers";

export function appClient(url: string): AppClient {
  const request = async (method: string, path: string, options: RequestOptions = {}): Promise<Reply> => {
    const headers = new Headers(options.headers);
    if (options.key !== undefined) headers.set("x-api-key", options.key);
    const init: RequestInit = { method, headers };
    if (options.body !== undefined) {
      headers.set("content-type", "application/json");
      init.body = JSON.stringify(options.body);
    }
    const response = await fetch(url + path, init);
    return readReply(response);
  };
  return {
    url,
    request,
    list: (key) => request("GET", BASE, { key }),
    async names(key) {
      const reply = await request("GET", BASE, { key });
      expect(reply.status, reply.text).toBe(200);
      return reply.json.servers.map((server: { name: string }) => server.name).sort();
    },
    register: (key, body) => request("POST", BASE, { key, body }),
    patch: (key, name, body, ifMatch) =>
      request("PATCH", `${BASE}/${name}`, {
        key,
        body,
        ...(ifMatch === undefined ? {} : { headers: { "if-match": ifMatch } }),
      }),
    remove: (key, name) => request("DELETE", `${BASE}/${name}`, { key }),
    async tools(key) {
      const reply = await request("POST", "/tools", { key, body: {} });
      expect(reply.status, reply.text).toBe(200);
      return reply.json;
    },
  };
}

/** An RFC 9457 problem document with this status and code. */
export function expectProblem(reply: Reply, status: number, code: string): void {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(reply.json).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code,
  });
}
