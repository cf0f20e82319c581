// The README's in-memory tracing for tests, OpenTelemetry SDK 2 (Node 20+): spans kept in memory, read back by the test.
const { context, trace } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { BackgroundTasksInstrumentation } = require('express-background-tasks/otel');

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
trace.setGlobalTracerProvider(provider);
registerInstrumentations({ instrumentations: [new BackgroundTasksInstrumentation()], tracerProvider: provider });

module.exports = { exporter, provider };
