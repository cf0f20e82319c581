// A test as a user would write it: a request whose handler adds a failing task, then the task's span read from memory,
// a child of the request's span. Exits 0 and prints the marker line, or exits 1.
const { exporter, provider } = require('./tracing.js');
const { context, trace, SpanStatusCode } = require('@opentelemetry/api');
const express = require('express');
const { backgroundTasks } = require('express-background-tasks');

const tracer = trace.getTracer('consumer');
const background = backgroundTasks({ onError: () => {} });
const app = express();
// Stands in for the HTTP instrumentation: a request span, current for the rest of the request.
app.use((_req, res, next) => {
  const span = tracer.startSpan('POST /register');
  res.on('finish', () => span.end());
  context.with(trace.setSpan(context.active(), span), next);
});
app.use(background);
app.post('/register', (_req, res) => {
  res.locals.background.addTask(async function sendEmail() {
    throw new Error('SMTP down');
  });
  res.json({ registered: true });
});

const watchdog = setTimeout(() => {
  console.error('consumer: timed out');
  process.exit(1);
}, 15000);
const server = app.listen(0, '127.0.0.1', async () => {
  try {
    const response = await fetch(`http://127.0.0.1:${server.address().port}/register`, { method: 'POST' });
    await response.json();
    await background.drain();
    const spans = exporter.getFinishedSpans();
    const request = spans.find((span) => span.name === 'POST /register');
    const task = spans.find((span) => span.name === 'process sendEmail');
    const ok =
      request !== undefined &&
      task !== undefined &&
      task.spanContext().traceId === request.spanContext().traceId &&
      task.parentSpanContext?.spanId === request.spanContext().spanId &&
      task.status.code === SpanStatusCode.ERROR &&
      task.attributes['background_task.outcome'] === 'failed';
    if (!ok) throw new Error(`unexpected spans: ${JSON.stringify(spans.map((span) => [span.name, span.status, span.attributes]))}`);
    console.log(`in-memory spans: ${task.name} is a child of ${request.name}, status ERROR`);
    clearTimeout(watchdog);
    server.closeAllConnections();
    server.close();
    await provider.shutdown();
  } catch (error) {
    console.error('consumer failed:', error);
    process.exit(1);
  }
});
