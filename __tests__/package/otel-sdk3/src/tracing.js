// The README's in-memory tracing for tests, OpenTelemetry SDK 3 (Node 22.15+): the same, with SDK 3's names and options.
const { context, trace } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } = require('@opentelemetry/sdk-trace');
const { BackgroundTasksInstrumentation } = require('express-background-tasks/otel');

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
trace.setGlobalTracerProvider(provider);
registerInstrumentations({ instrumentations: [new BackgroundTasksInstrumentation()], tracerProvider: provider });

module.exports = { exporter, provider };
