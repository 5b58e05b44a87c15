import { McpServerSideError } from "../errors.js";
import { parseJsonBody } from "../security/json-body.js";
import { type CoreRequest, requestBodyOf } from "./kept-body.js";

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * True for a JSON media type: `application/json` or any `+json` suffix (`application/merge-patch+json`),
 * parameters such as `charset` allowed. The one check of "is this body JSON" for the core and every adapter.
 */
export function isJsonContentType(type: string | null | undefined): boolean {
  return typeof type === "string" && JSON_TYPE.test(type);
}

/**
 * Reads a JSON body of at most `maxBytes`, counting bytes as they arrive (a lying or missing
 * Content-Length cannot get more through), and parses it strictly: not JSON is 400, duplicate or
 * prototype keys are 422. A body not labelled JSON is 415 before a byte is read: a browser sends
 * `text/plain` (or no type at all) cross-site without a preflight, and that must not reach a write.
 */
export async function readJsonBody(request: CoreRequest, maxBytes: number): Promise<unknown> {
  if (!isJsonContentType(request.headers.get("content-type"))) {
    throw new McpServerSideError(
      "invalid_request",
      "the body must be JSON: send it with content-type application/json",
      { status: 415 },
    );
  }
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const text = await readText(request, maxBytes);
  const parsed = parseJsonBody(text);
  if (!parsed.ok) {
    throw new McpServerSideError("invalid_request", parsed.message, {
      status: parsed.errors && parsed.errors.length > 0 ? 422 : 400,
      ...(parsed.errors ? { errors: parsed.errors } : {}),
    });
  }
  return parsed.value;
}

async function readText(request: CoreRequest, maxBytes: number): Promise<string> {
  const body = requestBodyOf(request);
  if (body === null) return "";
  let chunks = arrivedWhole(body);
  if (chunks === undefined) {
    chunks = [];
    let size = 0;
    // Leaving the loop early cancels the stream (a Web body) or destroys it (a kept Node one).
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(chunk);
    }
  } else if (chunks.reduce((size, chunk) => size + chunk.byteLength, 0) > maxBytes) throw tooLarge(maxBytes);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new McpServerSideError("invalid_request", "the body is not valid UTF-8");
  }
}

type NodeBody = Partial<{
  complete: boolean;
  readableFlowing: boolean | null;
  readableEncoding: string | null;
  readableLength: number;
  headers: Record<string, string | string[] | undefined>;
  read(): Uint8Array | null;
}>;

/**
 * The bytes of a kept Node request (kept-body.ts) whose body has arrived whole, nothing read yet: already
 * buffered, taken at once instead of through a stream iterator's turns. Else undefined.
 */
function arrivedWhole(body: AsyncIterable<Uint8Array>): Uint8Array[] | undefined {
  const node = body as NodeBody;
  if (node.readableFlowing !== null || node.readableEncoding !== null || typeof node.read !== "function")
    return undefined;
  if (node.complete !== true && !declaredLengthBuffered(node)) return undefined;
  const chunks: Uint8Array[] = [];
  for (let chunk = node.read(); chunk !== null; chunk = node.read()) chunks.push(chunk);
  return chunks;
}

/**
 * Node marks a request `complete` a turn after its last bytes are buffered; by Content-Length framing
 * (no Transfer-Encoding), the declared length buffered is the whole body already.
 */
function declaredLengthBuffered(node: NodeBody): boolean {
  const headers = node.headers;
  if (headers === undefined || headers["transfer-encoding"] !== undefined) return false;
  const declared = headers["content-length"];
  return typeof declared === "string" && /^\d+$/.test(declared) && node.readableLength === Number(declared);
}

function tooLarge(maxBytes: number): McpServerSideError {
  return new McpServerSideError("payload_too_large", `the body is larger than ${maxBytes} bytes`);
}
