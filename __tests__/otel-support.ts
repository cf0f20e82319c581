// Helpers of the OpenTelemetry tests: the SDK in memory with the package's instrumentation, and a request span.
import type { ServerResponse } from 'node:http';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BackgroundTasksInstrumentation } from '../lib/otel/index.js';

/** A span's parent span id ('' for a root span). */
export function parentOf(span: ReadableSpan): string {
  return span.parentSpanContext?.spanId ?? '';
}

/** The one finished span named `name`. */
export function spanNamed(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((span) => span.name === name);
  if (found.length !== 1)
    throw new Error(`expected one span named "${name}", found ${found.length} among ${spans.map((s) => s.name).join(', ')}`);
  return found[0] as ReadableSpan;
}

/**
 * An OpenTelemetry SDK kept in memory: the AsyncLocalStorage context manager, a tracer provider exporting to an
 * InMemorySpanExporter, and the package's instrumentation registered the usual way. `shutdown()` undoes it all.
 */
export function otelInMemory() {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  const instrumentation = new BackgroundTasksInstrumentation();
  const unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });
  const tracer = provider.getTracer('tests');
  return {
    exporter,
    instrumentation,
    tracer,
    spans: () => exporter.getFinishedSpans(),
    /** Express middleware that starts a request span, current for the rest of the request, ended when the response finishes. */
    requestSpan(name: string) {
      return (_req: unknown, res: ServerResponse, next: () => void): void => {
        const span = tracer.startSpan(name);
        res.on('finish', () => span.end());
        context.with(trace.setSpan(context.active(), span), next);
      };
    },
    async shutdown(): Promise<void> {
      unregister();
      await provider.shutdown();
      trace.disable();
      context.disable();
    },
  };
}
