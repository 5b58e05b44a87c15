/**
 * The real OpenTelemetry SDK with its in-memory exporters, registered globally as an app would:
 * spans through a SimpleSpanProcessor, metrics collected on demand, and the AsyncLocalStorage context
 * manager (so the active context follows async work, as in a real Node app).
 *
 *   const otel = installOpenTelemetry();   // before createMcpServerSide
 *   otel.spans()                           // finished spans
 *   await otel.metrics()                   // every metric data point, by name
 *   await otel.uninstall()
 */
import { context, metrics, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

export interface InstalledOpenTelemetry {
  spans(): ReadableSpan[];
  /** Collects now and returns the metrics by instrument name. */
  metrics(): Promise<Map<string, MetricData>>;
  reset(): void;
  uninstall(): Promise<void>;
}

export function installOpenTelemetry(): InstalledOpenTelemetry {
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(tracerProvider);
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(meterProvider);
  return {
    spans: () => spanExporter.getFinishedSpans(),
    async metrics() {
      metricExporter.reset();
      await reader.forceFlush();
      const byName = new Map<string, MetricData>();
      for (const resource of metricExporter.getMetrics()) {
        for (const scope of resource.scopeMetrics) {
          for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
        }
      }
      return byName;
    },
    reset: () => spanExporter.reset(),
    async uninstall() {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
      trace.disable();
      metrics.disable();
      context.disable();
    },
  };
}

/** The spans named `name`. */
export function spansNamed(spans: ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((span) => span.name === name);
}

/** True when `child` is below `ancestor` in the same trace. */
export function isBelow(spans: ReadableSpan[], child: ReadableSpan, ancestor: ReadableSpan): boolean {
  const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
  let current: ReadableSpan | undefined = child;
  while (current !== undefined) {
    const parentId = current.parentSpanContext?.spanId;
    if (parentId === undefined) return false;
    if (parentId === ancestor.spanContext().spanId) return true;
    current = byId.get(parentId);
  }
  return false;
}
