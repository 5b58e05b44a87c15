/** A response as the HTTP tests inspect it: status, headers, the raw text and the parsed JSON (if any). */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** Reads a response whole; `json` is undefined when the body is empty or not JSON. */
export async function readReply(response: Response): Promise<Reply> {
  const text = await response.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}
