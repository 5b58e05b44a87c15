import type {
  Attributes,
  Context,
  Counter,
  Histogram,
  Meter,
  MeterProvider,
  ObservableGauge,
  ObservableResult,
  Span,
  Tracer,
} from "@opentelemetry/api";
import { ErrorCode as JsonRpcErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { isStdio } from "../config/schema.js";
import { McpServerSideError } from "../errors.js";
import { sanitizeText } from "../security/redact.js";
import type { ResolvedServer } from "../types.js";

/**
 * OpenTelemetry traces and metrics (SPEC §8 operators), through `@opentelemetry/api` when the app has
 * it installed. It is an optional peer: it is loaded once, lazily, with a dynamic import, and when it
 * is absent (or `telemetry: false`) every entry point here is a branch on `undefined` and nothing else.
 * Names follow the OpenTelemetry semantic conventions for MCP and GenAI: client spans named
 * `{mcp.method.name} {gen_ai.tool.name}`, the `mcp.client.operation.duration` histogram in seconds.
 */

type OpenTelemetryApi = typeof import("@opentelemetry/api");

export interface TelemetryOptions {
  /**
   * Records tool call arguments and result text as span attributes (`gen_ai.tool.call.arguments`,
   * `gen_ai.tool.call.result`), sanitized and cut at 4 KiB each. Off by default: arguments and results
   * may carry a user's data. @default false
   */
  recordArguments?: boolean;
}

/** The MCP methods that are traced. */
export type TracedMethod = "initialize" | "tools/list" | "tools/call";

/** One traced MCP operation; `end` is safe to call once. */
export interface Operation {
  /** The session the operation ran in (Streamable HTTP), once known. */
  session(id: string | undefined): void;
  /** The call's arguments and result, recorded only when the operator opted in. */
  payload(name: "arguments" | "result", value: unknown): void;
  /** Ends the operation; `error` is a thrown value, or a string `error.type` (e.g. `tool_error`). */
  end(error?: unknown): void;
}

/** A pool slot's state, as the pool gauge and the health route report it. */
export interface SlotState {
  server: Pick<ResolvedServer, "name" | "source">;
  state: "connected" | "connecting" | "cooling_down" | "idle";
  /** While cooling down: the failure's code and when the server is tried again (epoch ms). */
  code?: string;
  retryAt?: number;
}

export interface Telemetry {
  /** Settles once `@opentelemetry/api` was loaded or found missing; never rejects. */
  readonly loaded: Promise<void>;
  /** Starts an operation under the active context (the AI SDK's tool span, when it has one); undefined without OpenTelemetry. */
  start(method: TracedMethod, server: ResolvedServer, tool?: string): Operation | undefined;
  /** Counts a server's failure that reached a request or the warmup (the `connection:error` codes). */
  error(server: ResolvedServer, code: string, method?: TracedMethod): void;
  /** Counts a cool-down that started (a server is skipped after failures). */
  coolDown(server: ResolvedServer, code: string): void;
  /** Where the pool gauge reads its slots from (the engine sets it once). */
  observePool(read: () => SlotState[]): void;
}

const INSTRUMENTATION = "@mcp-server-side/core";
/** The longest recorded argument or result text, when recording is on. */
export const MAX_RECORDED_PAYLOAD = 4096;

/** `import()` of the optional peer, once per process; `undefined` when it is not installed. */
let apiLoad: Promise<OpenTelemetryApi | undefined> | undefined;
function loadApi(): Promise<OpenTelemetryApi | undefined> {
  apiLoad ??= import("@opentelemetry/api").then(
    (module) => module as OpenTelemetryApi,
    () => undefined,
  );
  return apiLoad;
}

interface Instruments {
  provider: MeterProvider;
  /** The provider is the API's no-op one: nothing would record a measurement. */
  noop: boolean;
  duration: Histogram;
  errors: Counter;
  coolDowns: Counter;
  connections: ObservableGauge;
}

/** The tier and the network peer of a server, as attributes (never its path, query or credentials). */
export function serverAttributes(server: Pick<ResolvedServer, "name" | "source" | "definition">): Attributes {
  const attributes: Attributes = {
    "mcp_server_side.server.name": server.name,
    "mcp_server_side.server.tier": server.source,
  };
  if (isStdio(server.definition)) {
    attributes["network.transport"] = "pipe";
    return attributes;
  }
  try {
    const url = new URL(server.definition.url ?? "");
    attributes["server.address"] = url.hostname.replace(/^\[|\]$/g, "");
    attributes["server.port"] = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
    attributes["network.transport"] = "tcp";
  } catch {
    // An invalid URL fails its connect with invalid_url; the span still names the server.
  }
  return attributes;
}

/** The `error.type` of a failure: our stable code, the JSON-RPC code of an MCP error, else the error's class. */
export function errorTypeOf(error: unknown): string {
  if (typeof error === "string") return error;
  if (McpServerSideError.isInstance(error)) return error.code;
  if (error instanceof McpError) return error.code === JsonRpcErrorCode.RequestTimeout ? "timeout" : String(error.code);
  if (error instanceof Error && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(error.name)) return error.name;
  return "_OTHER";
}

function recorded(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
  } catch {
    text = "";
  }
  const cut = text.length > MAX_RECORDED_PAYLOAD ? `${text.slice(0, MAX_RECORDED_PAYLOAD - 1)}…` : text;
  return sanitizeText(cut);
}

export function createTelemetry(option: TelemetryOptions | false | undefined): Telemetry {
  const recordArguments = option !== false && option?.recordArguments === true;
  let api: OpenTelemetryApi | undefined;
  let tracer: Tracer | undefined;
  let instruments: Instruments | undefined;
  let readPool: (() => SlotState[]) | undefined;
  /** The API's own no-op tracer provider, what its global proxy delegates to while no SDK is registered. */
  let noopTracerProvider: unknown;

  const loaded =
    option === false
      ? Promise.resolve()
      : loadApi().then((loadedApi) => {
          api = loadedApi;
          tracer = loadedApi?.trace.getTracer(INSTRUMENTATION);
          noopTracerProvider = loadedApi && new loadedApi.ProxyTracerProvider().getDelegate();
          metrics();
        });

  /**
   * The instruments of the current global meter provider. The metrics API has no proxy provider: a
   * meter taken before the app registers its SDK would stay a no-op, so they follow the provider.
   */
  const metrics = (): Instruments | undefined => {
    if (api === undefined) return undefined;
    const provider = api.metrics.getMeterProvider();
    if (instruments?.provider === provider) return instruments;
    const meter: Meter = provider.getMeter(INSTRUMENTATION);
    const connections = meter.createObservableGauge("mcp_server_side.pool.connections", {
      description: "Pooled MCP connections by tier and state.",
      unit: "{connection}",
    });
    connections.addCallback((result: ObservableResult) => {
      const counts = new Map<string, { tier: string; state: string; count: number }>();
      for (const slot of readPool?.() ?? []) {
        const key = `${slot.server.source}\u0000${slot.state}`;
        const entry = counts.get(key) ?? { tier: slot.server.source, state: slot.state, count: 0 };
        entry.count++;
        counts.set(key, entry);
      }
      for (const { tier, state, count } of counts.values()) {
        result.observe(count, { "mcp_server_side.server.tier": tier, "mcp_server_side.connection.state": state });
      }
    });
    instruments = {
      provider,
      noop: meter === api.createNoopMeter(),
      duration: meter.createHistogram("mcp.client.operation.duration", {
        description: "The duration of an MCP request as observed by the client, until its response.",
        unit: "s",
        advice: { explicitBucketBoundaries: [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300] },
      }),
      errors: meter.createCounter("mcp_server_side.errors", {
        description: "Failures of MCP servers by error.type (the stable code).",
        unit: "{error}",
      }),
      coolDowns: meter.createCounter("mcp_server_side.cool_downs", {
        description: "Cool-downs started: a server is skipped after a failure.",
        unit: "{cool_down}",
      }),
      connections,
    };
    return instruments;
  };

  /**
   * Whether an SDK is registered for traces or metrics. Checked per operation (an app may register
   * one at any time); without one, an operation would cost a span, an attribute set and a reaction to
   * the call's promise per tool call (4 % of a warm HTTP call in the bench) for nothing. A provider
   * of another API copy is not recognized as a no-op one and counts as registered.
   */
  const recording = (otel: OpenTelemetryApi): boolean => {
    const tracerProvider = otel.trace.getTracerProvider();
    if (!(tracerProvider instanceof otel.ProxyTracerProvider) || tracerProvider.getDelegate() !== noopTracerProvider)
      return true;
    return metrics()?.noop === false;
  };

  const start = (method: TracedMethod, server: ResolvedServer, tool?: string): Operation | undefined => {
    if (api === undefined || tracer === undefined || !recording(api)) return undefined;
    const otel = api;
    const attributes: Attributes = { "mcp.method.name": method, ...serverAttributes(server) };
    if (tool !== undefined) {
      attributes["gen_ai.tool.name"] = tool;
      attributes["gen_ai.operation.name"] = "execute_tool";
    }
    // The active context at the call: the AI SDK's `ai.toolCall` span when the app enabled its telemetry.
    const parent: Context = otel.context.active();
    const span: Span = tracer.startSpan(
      tool === undefined ? method : `${method} ${tool}`,
      { kind: otel.SpanKind.CLIENT, attributes },
      parent,
    );
    const started = performance.now();
    let ended = false;
    return {
      session(id) {
        if (id === undefined || ended) return;
        span.setAttribute("mcp.session.id", id);
      },
      payload(name, value) {
        if (!recordArguments || ended) return;
        span.setAttribute(`gen_ai.tool.call.${name}`, recorded(value));
      },
      end(error) {
        if (ended) return;
        ended = true;
        const metricAttributes: Attributes = { "mcp.method.name": method };
        for (const key of ["server.address", "server.port", "network.transport", "mcp_server_side.server.tier"]) {
          if (attributes[key] !== undefined) metricAttributes[key] = attributes[key];
        }
        if (tool !== undefined) metricAttributes["gen_ai.tool.name"] = tool;
        if (error !== undefined) {
          const type = errorTypeOf(error);
          span.setAttribute("error.type", type);
          // The status description is our sanitized message for our errors; never a raw upstream text.
          span.setStatus({
            code: otel.SpanStatusCode.ERROR,
            ...(McpServerSideError.isInstance(error) ? { message: sanitizeText(error.message.slice(0, 500)) } : {}),
          });
          metricAttributes["error.type"] = type;
        }
        span.end();
        const instrumentsNow = metrics();
        instrumentsNow?.duration.record((performance.now() - started) / 1000, metricAttributes);
        // Connect and listing failures are counted where they reach a request (`error()`), calls here.
        if (error !== undefined && method === "tools/call") instrumentsNow?.errors.add(1, metricAttributes);
      },
    };
  };

  return {
    loaded,
    start,
    error(server, code, method) {
      metrics()?.errors.add(1, {
        "error.type": code,
        "mcp_server_side.server.tier": server.source,
        ...(method === undefined ? {} : { "mcp.method.name": method }),
      });
    },
    coolDown(server, code) {
      metrics()?.coolDowns.add(1, { "error.type": code, "mcp_server_side.server.tier": server.source });
    },
    observePool(read) {
      readPool = read;
      // Registers the gauge with a provider that is already there, so a first collection sees it.
      metrics();
    },
  };
}
