// BackgroundTasksInstrumentation: OpenTelemetry spans (and an attempt duration histogram) from the package's TracingChannels.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Attributes,
  type Context,
  context,
  type Histogram,
  trace as otelTrace,
  type Span,
  SpanKind,
  SpanStatusCode,
  ValueType,
} from '@opentelemetry/api';
import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { describeError } from '../report.js';
import { type EnqueueTraceContext, enqueueChannel, scopes, type TaskTraceContext, taskChannel } from '../tracing.js';
import { formatTraceparent, parseTraceparent } from './traceparent.js';

export type BackgroundTasksInstrumentationConfig = InstrumentationConfig;

/** The attribute names this instrumentation sets besides OpenTelemetry's messaging ones. */
export const ATTR_TASK_NAME = 'background_task.name';
export const ATTR_TASK_NAMES = 'background_task.names';
export const ATTR_TASK_ATTEMPT = 'background_task.attempt';
export const ATTR_TASK_OUTCOME = 'background_task.outcome';
export const ATTR_TASK_WHERE = 'background_task.where';
export const ATTR_REQUEST_METHOD = 'background_task.request.method';
export const ATTR_REQUEST_PATH = 'background_task.request.path';

const NAME = 'express-background-tasks';

function packageVersion(): string {
  try {
    // lib/otel (tests) and dist/otel (the package) both sit two levels below package.json.
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

interface Open {
  readonly span: Span;
  readonly started: number;
}

interface Subscription {
  readonly task: Parameters<typeof taskChannel.subscribe>[0];
  readonly enqueue: Parameters<typeof enqueueChannel.subscribe>[0];
  readonly scope: NonNullable<typeof scopes.attempt>;
}

/** Subscriptions by instrumentation, kept outside the instance: the base class enables it before subclass fields exist. */
const subscriptions = new WeakMap<BackgroundTasksInstrumentation, Subscription>();
const histograms = new WeakMap<BackgroundTasksInstrumentation, Histogram>();

function outcomeOf(error: unknown): 'succeeded' | 'failed' | 'timedOut' {
  if (error === undefined) return 'succeeded';
  return (error as { code?: unknown } | null)?.code === 'ERR_BACKGROUND_TASKS_TIMEOUT' ? 'timedOut' : 'failed';
}

function recordFailure(span: Span, error: unknown): void {
  if (error instanceof Error) {
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.name}: ${error.message}` });
  } else {
    const message = describeError(error);
    span.recordException(message);
    span.setStatus({ code: SpanStatusCode.ERROR, message });
  }
}

/**
 * Turns the package's TracingChannels into OpenTelemetry spans: one span per attempt of every task (in this process,
 * a worker thread or a BullMQ worker), a child of the span that was current at addTask, and one span per hand-off of a
 * response's tasks to a queue, whose context travels with the jobs (W3C traceparent) so that the worker's spans join
 * the request's trace. Spans started by a task's own code are children of its attempt's span. Register it like any
 * other: `registerInstrumentations({ instrumentations: [new BackgroundTasksInstrumentation()] })`.
 */
export class BackgroundTasksInstrumentation extends InstrumentationBase<BackgroundTasksInstrumentationConfig> {
  constructor(config: BackgroundTasksInstrumentationConfig = {}) {
    super(NAME, packageVersion(), config);
  }

  /** Nothing to patch: everything comes through diagnostics_channel. */
  protected override init(): undefined {
    return undefined;
  }

  protected override _updateMetricInstruments(): void {
    histograms.set(
      this,
      this.meter.createHistogram('background_task.attempt.duration', {
        description: 'Duration of one attempt of a background task',
        unit: 's',
        valueType: ValueType.DOUBLE,
      }),
    );
  }

  override enable(): void {
    super.enable();
    if (subscriptions.has(this)) return;
    const open = new WeakMap<object, Open>();

    const finishAttempt = (trace: TaskTraceContext): void => {
      const entry = open.get(trace);
      if (entry === undefined) return;
      open.delete(trace);
      const outcome = outcomeOf(trace.error);
      entry.span.setAttribute(ATTR_TASK_OUTCOME, outcome);
      if (trace.error !== undefined) recordFailure(entry.span, trace.error);
      entry.span.end();
      histograms.get(this)?.record((performance.now() - entry.started) / 1000, {
        [ATTR_TASK_NAME]: trace.name,
        [ATTR_TASK_OUTCOME]: outcome,
        [ATTR_TASK_WHERE]: trace.where,
      });
    };

    const task: Subscription['task'] = {
      start: (trace) => {
        const attributes: Attributes = {
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          [ATTR_TASK_NAME]: trace.name,
          [ATTR_TASK_ATTEMPT]: trace.attempt,
          [ATTR_TASK_WHERE]: trace.where,
          [ATTR_REQUEST_METHOD]: trace.method,
          [ATTR_REQUEST_PATH]: trace.path,
        };
        if (trace.taskId !== undefined) attributes['messaging.message.id'] = trace.taskId;
        if (trace.where === 'queue') attributes['messaging.system'] = 'bullmq';
        const span = this.tracer.startSpan(
          `process ${trace.name}`,
          { kind: trace.where === 'queue' ? SpanKind.CONSUMER : SpanKind.INTERNAL, attributes },
          parentOf(trace),
        );
        open.set(trace, { span, started: performance.now() });
      },
      end: (trace) => {
        if (!trace.async) finishAttempt(trace);
      },
      asyncStart: () => {},
      asyncEnd: finishAttempt,
      error: () => {},
    };

    const sends = new WeakMap<object, Span>();
    const finishSend = (trace: EnqueueTraceContext): void => {
      const span = sends.get(trace);
      if (span === undefined) return;
      sends.delete(trace);
      if (trace.error !== undefined) recordFailure(span, trace.error);
      span.end();
    };
    const enqueue: Subscription['enqueue'] = {
      start: (trace) => {
        const count = trace.names.length;
        const attributes: Attributes = {
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'send',
          [ATTR_TASK_NAMES]: [...trace.names],
          [ATTR_REQUEST_METHOD]: trace.method,
          [ATTR_REQUEST_PATH]: trace.path,
        };
        if (count > 1) attributes['messaging.batch.message_count'] = count;
        const span = this.tracer.startSpan(`send ${count === 1 ? trace.names[0] : `${count} tasks`}`, {
          kind: SpanKind.PRODUCER,
          attributes,
        });
        sends.set(trace, span);
        trace.traceparent = formatTraceparent(span.spanContext());
      },
      // A hand-off is always a promise: its span ends when it settles (or at `end` if it threw at once).
      end: (trace) => {
        if (trace.error !== undefined) finishSend(trace);
      },
      asyncStart: () => {},
      asyncEnd: finishSend,
      error: () => {},
    };

    const scope: Subscription['scope'] = (trace, attempt) => {
      const entry = open.get(trace);
      return entry === undefined ? attempt() : context.with(otelTrace.setSpan(context.active(), entry.span), attempt);
    };

    taskChannel.subscribe(task);
    enqueueChannel.subscribe(enqueue);
    scopes.attempt = scope;
    subscriptions.set(this, { task, enqueue, scope });
  }

  override disable(): void {
    super.disable();
    const subscription = subscriptions.get(this);
    if (subscription === undefined) return;
    subscriptions.delete(this);
    taskChannel.unsubscribe(subscription.task);
    enqueueChannel.unsubscribe(subscription.enqueue);
    if (scopes.attempt === subscription.scope) scopes.attempt = undefined;
  }
}

/** The parent of an attempt's span: the traceparent a queued task brought, else the context current at addTask. */
function parentOf(task: TaskTraceContext): Context {
  const active = context.active();
  if (task.traceparent === undefined) return active;
  const remote = parseTraceparent(task.traceparent);
  return remote === undefined ? active : otelTrace.setSpanContext(active, remote);
}
