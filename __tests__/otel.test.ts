// express-background-tasks/otel: one span per attempt, in the trace of the request that added the task; failures recorded; enable/disable.
import { execFileSync } from 'node:child_process';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import request from 'supertest';
import { backgroundTasks, defineTask, taskSignal } from '../lib/index.js';
import { tracingEnqueues, tracingTasks } from '../lib/tracing.js';
import { collectErrors, loadExpress, ROOT, settled } from './helpers.js';
import { otelInMemory, parentOf, spanNamed } from './otel-support.js';

const express = loadExpress();

describe('BackgroundTasksInstrumentation', () => {
  let otel: ReturnType<typeof otelInMemory>;
  beforeEach(() => {
    otel = otelInMemory();
  });
  afterEach(() => otel.shutdown());

  function app(options?: Parameters<typeof backgroundTasks>[0]) {
    const bg = backgroundTasks(options);
    const server = express();
    server.use(otel.requestSpan('request'));
    server.use(bg);
    return { app: server, bg };
  }

  it("a task's span is a child of the request span, in its trace; spans of the task's own code are children of the task's", async () => {
    const { app: server, bg } = app();
    server.post('/register', (_req, res) => {
      res.locals.background.addTask(async function sendEmail(_email: string) {
        otel.tracer.startSpan('smtp call').end();
      }, 'ada@example.com');
      res.end();
    });
    await request(server).post('/register?token=x').expect(200);
    await settled(bg);
    const spans = otel.spans();
    const req = spanNamed(spans, 'request');
    const task = spanNamed(spans, 'process sendEmail');
    const inner = spanNamed(spans, 'smtp call');
    expect(task.spanContext().traceId).toBe(req.spanContext().traceId);
    expect(parentOf(task)).toBe(req.spanContext().spanId);
    expect(parentOf(inner)).toBe(task.spanContext().spanId);
    expect(task.kind).toBe(SpanKind.INTERNAL);
    expect(task.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(task.attributes).toEqual({
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'background_task.name': 'sendEmail',
      'background_task.attempt': 1,
      'background_task.where': 'process',
      'background_task.outcome': 'succeeded',
      'background_task.request.method': 'POST',
      'background_task.request.path': '/register',
    });
    expect(JSON.stringify(task.attributes)).not.toContain('ada@example.com');
  });

  it('each task is parented by the span current at its own addTask', async () => {
    const { app: server, bg } = app();
    server.post('/', (_req, res) => {
      res.locals.background.addTask(function first() {});
      const inner = otel.tracer.startSpan('handler step');
      context.with(trace.setSpan(context.active(), inner), () => res.locals.background.addTask(function second() {}));
      inner.end();
      res.end();
    });
    await request(server).post('/').expect(200);
    await settled(bg);
    const spans = otel.spans();
    expect(parentOf(spanNamed(spans, 'process first'))).toBe(spanNamed(spans, 'request').spanContext().spanId);
    expect(parentOf(spanNamed(spans, 'process second'))).toBe(spanNamed(spans, 'handler step').spanContext().spanId);
  });

  it('a failed attempt: status ERROR and an exception event; retries make one span per attempt', async () => {
    const { onError } = collectErrors();
    let calls = 0;
    const flaky = defineTask(
      'flaky',
      () => {
        calls++;
        throw new Error(`SMTP down ${calls}`);
      },
      { retries: 1 },
    );
    const { app: server, bg } = app({ onError });
    server.post('/', (_req, res) => {
      res.locals.background.addTask(flaky);
      res.end();
    });
    await request(server).post('/').expect(200);
    await settled(bg);
    const attempts = otel.spans().filter((span) => span.name === 'process flaky');
    expect(attempts.map((span) => span.attributes['background_task.attempt'])).toEqual([1, 2]);
    for (const span of attempts) {
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: expect.stringMatching(/^Error: SMTP down \d$/) });
      expect(span.attributes['background_task.outcome']).toBe('failed');
      expect(span.events.map((event) => event.name)).toEqual(['exception']);
      expect(span.events[0]?.attributes?.['exception.message']).toMatch(/^SMTP down/);
    }
  });

  it('a timed-out attempt ends its span with the outcome timedOut', async () => {
    const { onError } = collectErrors();
    const { app: server, bg } = app({ onError, timeout: 20 });
    server.post('/', (_req, res) => {
      res.locals.background.addTask(function slow() {
        const signal = taskSignal();
        return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      });
      res.end();
    });
    await request(server).post('/').expect(200);
    await settled(bg);
    const span = spanNamed(otel.spans(), 'process slow');
    expect(span.attributes['background_task.outcome']).toBe('timedOut');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('disable() unsubscribes (nothing is published any more); enable() subscribes again', async () => {
    const { app: server, bg } = app();
    server.post('/', (_req, res) => {
      res.locals.background.addTask(function counted() {});
      res.end();
    });
    otel.instrumentation.disable();
    expect(tracingTasks()).toBe(false);
    expect(tracingEnqueues()).toBe(false);
    await request(server).post('/').expect(200);
    await settled(bg);
    expect(otel.spans().filter((span) => span.name === 'process counted')).toEqual([]);
    otel.instrumentation.enable();
    otel.instrumentation.enable(); // twice: still one subscription
    await request(server).post('/').expect(200);
    await settled(bg);
    expect(otel.spans().filter((span) => span.name === 'process counted')).toHaveLength(1);
  });
});

describe('loading', () => {
  it('the main entry and the bullmq entry never load @opentelemetry/*', () => {
    const script = (entry: string): string =>
      `require('${entry}'); const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/]@opentelemetry[\\\\/]/.test(f));` +
      'process.stdout.write(String(loaded.length));';
    const run = (entry: string): string =>
      execFileSync(process.execPath, ['--import', 'tsx', '-e', script(entry)], { cwd: ROOT, encoding: 'utf8' });
    expect(run('./lib/index.ts')).toBe('0');
    expect(run('./lib/bullmq/index.ts')).toBe('0');
    // The check itself sees them when they are loaded.
    expect(Number(run('./lib/otel/index.ts'))).toBeGreaterThan(0);
  });
});
