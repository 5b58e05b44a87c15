import type { RequestSource } from "../context/request-source.js";
import type { HeaderReader } from "../identity.js";
import { type NodeRequest, type ToWebRequestOptions, toWebRequest } from "./node-http.js";

/**
 * A Node request as a request context's source: its headers read where Node keeps them, the Web
 * `Request` (`toWebRequest` with `options`) built on the first call that needs it and kept.
 */
export function nodeRequestSource(req: NodeRequest, options: ToWebRequestOptions = {}): RequestSource {
  return new NodeRequestSource(req, options);
}

class NodeRequestSource implements RequestSource {
  readonly #req: NodeRequest;
  readonly #options: ToWebRequestOptions;
  #request: Request | undefined;

  constructor(req: NodeRequest, options: ToWebRequestOptions) {
    this.#req = req;
    this.#options = options;
  }

  get headers(): HeaderReader {
    return new NodeHeaders(this.#req.rawHeaders);
  }

  request(): Request {
    this.#request ??= toWebRequest(this.#req, this.#options);
    return this.#request;
  }
}

/**
 * `Headers.get` over a Node request's raw headers, with the value the Web request `toWebRequest`
 * builds would give: every field of that name in order, joined by ", " (Node's own `req.headers`
 * keeps only the first `Authorization`), HTTP/2 pseudo-headers left out.
 */
class NodeHeaders implements HeaderReader {
  readonly #raw: readonly string[];

  constructor(raw: readonly string[]) {
    this.#raw = raw;
  }

  get(name: string): string | null {
    const wanted = name.toLowerCase();
    const raw = this.#raw;
    let value: string | null = null;
    for (let index = 0; index + 1 < raw.length; index += 2) {
      const field = raw[index]!;
      if (field.length !== wanted.length || field.toLowerCase() !== wanted) continue;
      const part = trimHttpWhitespace(raw[index + 1]!);
      value = value === null ? part : `${value}, ${part}`;
    }
    return value;
  }
}

// Headers.append strips leading and trailing HTTP whitespace (tab, LF, CR, space) from a value.
const HTTP_WHITESPACE_EDGES = /^[\t\n\r ]+|[\t\n\r ]+$/g;

function trimHttpWhitespace(value: string): string {
  return value.length > 0 &&
    (isHttpWhitespace(value.charCodeAt(0)) || isHttpWhitespace(value.charCodeAt(value.length - 1)))
    ? value.replace(HTTP_WHITESPACE_EDGES, "")
    : value;
}

function isHttpWhitespace(code: number): boolean {
  return code === 0x09 || code === 0x0a || code === 0x0d || code === 0x20;
}
