import type { FinishReason, LanguageModelUsage, TextStreamPart, ToolSet } from "ai";
import type { ContextError } from "../types.js";
import { type ChatError, generationError, midStreamError } from "./errors.js";
import {
  type ChatCompletionChunk,
  type CompletionMeta,
  STEP_SEPARATOR,
  isClientToolCall,
  toFinishReason,
  toOpenAIToolCall,
  toOpenAIUsage,
} from "./format.js";

export interface ChunkStreamOptions {
  meta: CompletionMeta;
  clientToolNames: ReadonlySet<string>;
  /** `stream_options.include_usage`: a last chunk with `choices: []` and the usage of every step. */
  includeUsage: boolean;
  /** Read at the end, so errors found while tools ran are included. */
  errors: () => readonly ContextError[];
  /** Stops the generation: the client went away, or the stream failed. */
  abort: () => void;
}

export type ChunkStreamResult = { ok: true; stream: ReadableStream<Uint8Array> } | { ok: false; error: ChatError };

/** Parts that come before anything is generated; a failure up to here still gets a proper status code. */
const PREAMBLE: ReadonlySet<string> = new Set(["start", "start-step", "text-start", "reasoning-start", "raw", "ping"]);

type Part = TextStreamPart<ToolSet>;

/**
 * `streamText`'s full stream as OpenAI `chat.completion.chunk` server-sent events, ending with
 * `data: [DONE]`. The stream is read up to its first real output before answering, so that a model
 * that fails at once (bad key, provider down) is a JSON error with a status, not a 200 that breaks.
 * Later failures are sent as a `data: {"error": …}` event, which the `openai` client raises.
 */
export async function toChunkStream(
  parts: AsyncIterable<Part>,
  options: ChunkStreamOptions,
): Promise<ChunkStreamResult> {
  const opened = await openPartStream(parts, options.abort);
  if (!opened.ok) return opened;
  return { ok: true, stream: opened.pipe(createChunkWriter(options)) };
}

/** What turns AI SDK parts into server-sent events: one per endpoint (chat chunks, Responses events). */
export interface PartWriter {
  open(controller: ReadableStreamDefaultController<Uint8Array>): void;
  write(part: Part): void;
  /** The source ended without a `finish` part. */
  end(): void;
  /** The source failed after the answer began. */
  fail(error: unknown): void;
  /** How many events were enqueued so far. */
  sent(): number;
  closed(): boolean;
}

export type OpenedPartStream =
  | { ok: true; pipe(writer: PartWriter): ReadableStream<Uint8Array> }
  | { ok: false; error: ChatError };

/**
 * Reads `parts` up to the first real output, so that a model failing at once (bad key, provider
 * down, rate limited) is answered as a JSON error with its status, not a 200 that breaks; then pipes
 * the rest through a writer, pulled as fast as the reader reads.
 */
export async function openPartStream(parts: AsyncIterable<Part>, abort: () => void): Promise<OpenedPartStream> {
  const iterator = parts[Symbol.asyncIterator]();
  const buffered: Part[] = [];
  let exhausted = false;
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) {
        exhausted = true;
        break;
      }
      if (next.value.type === "error") {
        abort();
        await iterator.return?.();
        return { ok: false, error: generationError(next.value.error) };
      }
      buffered.push(next.value);
      if (!PREAMBLE.has(next.value.type)) break;
    }
  } catch (error) {
    abort();
    return { ok: false, error: generationError(error) };
  }

  return {
    ok: true,
    pipe: (writer) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          writer.open(controller);
          for (const part of buffered) writer.write(part);
          if (exhausted) writer.end();
        },
        async pull() {
          // A pull that enqueues nothing is not called again, so read on until a part produced output.
          const sent = writer.sent();
          try {
            while (writer.sent() === sent && !writer.closed()) {
              const next = await iterator.next();
              if (next.done === true) writer.end();
              else writer.write(next.value);
            }
          } catch (error) {
            writer.fail(error);
          }
        },
        async cancel() {
          abort();
          await iterator.return?.();
        },
      }),
  };
}

function createChunkWriter(options: ChunkStreamOptions): PartWriter {
  const { meta, clientToolNames, includeUsage } = options;
  const encoder = new TextEncoder();
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let closed = false;
  let sentCount = 0;
  let wroteText = false;
  let stepHasText = false;
  let toolCallCount = 0;
  let lastFinishReason: FinishReason | undefined;
  let roleSent = false;

  const send = (data: string): void => {
    if (closed) return;
    try {
      controller?.enqueue(encoder.encode(data));
      sentCount++;
    } catch {
      // The reader cancelled the stream; `cancel` already stopped the generation.
      closed = true;
    }
  };
  const sendChunk = (
    delta: ChatCompletionChunk["choices"][number]["delta"],
    finishReason: ChatCompletionChunk["choices"][number]["finish_reason"] = null,
    extra: Partial<ChatCompletionChunk> = {},
  ): void => {
    const chunk: ChatCompletionChunk = {
      id: meta.id,
      object: "chat.completion.chunk",
      created: meta.created,
      model: meta.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    };
    send(`data: ${JSON.stringify(chunk)}\n\n`);
  };
  const close = (): void => {
    if (closed) return;
    closed = true;
    try {
      controller?.close();
    } catch {
      // Already cancelled by the reader.
    }
  };
  /**
   * The first chunk names the role, as OpenAI's does: with `content: ""` before text, and with
   * `content: null` on a turn that opens with tool calls (sent with the first of them).
   */
  const sendRole = (): void => {
    if (roleSent) return;
    roleSent = true;
    sendChunk({ role: "assistant", content: "", refusal: null });
  };
  const finish = (usage: LanguageModelUsage | undefined): void => {
    if (closed) return;
    sendRole();
    const errors = options.errors();
    sendChunk(
      {},
      toFinishReason(lastFinishReason, toolCallCount),
      errors.length > 0 ? { mcp_errors: [...errors] } : {},
    );
    if (includeUsage) {
      const chunk: ChatCompletionChunk = {
        id: meta.id,
        object: "chat.completion.chunk",
        created: meta.created,
        model: meta.model,
        choices: [],
        usage: usage === undefined ? null : toOpenAIUsage(usage),
      };
      send(`data: ${JSON.stringify(chunk)}\n\n`);
    }
    send("data: [DONE]\n\n");
    close();
  };
  const fail = (error: unknown): void => {
    if (closed) return;
    options.abort();
    send(`data: ${JSON.stringify(midStreamError(error).body)}\n\n`);
    close();
  };

  return {
    open(streamController) {
      controller = streamController;
    },
    write(part) {
      if (closed) return;
      switch (part.type) {
        case "start-step":
          stepHasText = false;
          break;
        case "text-delta": {
          if (part.text === "") break;
          const separator = wroteText && !stepHasText ? STEP_SEPARATOR : "";
          wroteText = true;
          stepHasText = true;
          sendRole();
          sendChunk({ content: separator + part.text });
          break;
        }
        case "tool-call":
          if (isClientToolCall(part, clientToolNames)) {
            const call = { index: toolCallCount++, ...toOpenAIToolCall(part) };
            if (roleSent) sendChunk({ tool_calls: [call] });
            else {
              roleSent = true;
              sendChunk({ role: "assistant", content: null, refusal: null, tool_calls: [call] });
            }
          }
          break;
        case "finish-step":
          lastFinishReason = part.finishReason;
          break;
        case "finish":
          lastFinishReason = part.finishReason;
          finish(part.totalUsage);
          break;
        case "ping":
          // An SSE comment: keeps proxies from timing out while a slow tool runs; clients skip it.
          send(": ping\n\n");
          break;
        case "error":
          fail(part.error);
          break;
        case "abort":
          // Only the caller's own disconnect aborts; nobody is left to read an ending.
          close();
          break;
        default:
          // Reasoning, sources, files and server-side tool traffic have no place in a chat completion chunk.
          break;
      }
    },
    end() {
      finish(undefined);
    },
    fail,
    sent: () => sentCount,
    closed: () => closed,
  };
}
