// Helpers of the tracing tests: recording what the package's TracingChannels publish, (the OpenTelemetry SDK is in otel-support.ts).
import { tracingChannel } from 'node:diagnostics_channel';

export type TraceEvent = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';
const EVENTS: readonly TraceEvent[] = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'];

export interface Recorded {
  readonly event: TraceEvent;
  /** The context object itself (the same object for every event of one attempt). */
  readonly context: Record<string, unknown>;
  /** Its fields when the event was published. */
  readonly fields: Record<string, unknown>;
}

/**
 * Subscribes to `tracing:<name>:*` (the channels looked up by name, as an outside tracer would) and records every event.
 * `onStart` runs in the start event (for a subscriber that writes to the context or reads its async context).
 */
export function recordChannel(name: string, onStart?: (context: Record<string, unknown>) => void) {
  const channel = tracingChannel<unknown, Record<string, unknown>>(name);
  const events: Recorded[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const handlers = Object.fromEntries(
    EVENTS.map((event) => [
      event,
      (context: Record<string, unknown>) => {
        if (event === 'start') onStart?.(context);
        events.push({ event, context, fields: { ...context } });
        for (const waiter of waiters.filter((w) => events.length >= w.count)) waiter.resolve();
      },
    ]),
  ) as unknown as Parameters<typeof channel.subscribe>[0];
  channel.subscribe(handlers);
  return {
    events,
    /** The events of each attempt (each context object), in the order the attempts started. */
    byAttempt(): Recorded[][] {
      const contexts = [...new Set(events.map((e) => e.context))];
      return contexts.map((context) => events.filter((e) => e.context === context));
    },
    /** Resolves once `count` events were recorded. */
    until(count: number): Promise<void> {
      if (events.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    unsubscribe(): void {
      channel.unsubscribe(handlers);
    },
  };
}

/** Every string found in a value, deeply (to check that no argument value reached a context). */
export function allText(value: unknown, seen = new Set<unknown>()): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object') return String(value);
  if (seen.has(value)) return '';
  seen.add(value);
  return Object.values(value as Record<string, unknown>)
    .map((v) => allText(v, seen))
    .join(' ');
}
