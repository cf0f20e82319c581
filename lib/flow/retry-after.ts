// retryAfter(ms) for a task to say when to try again, and reading an HTTP Retry-After header value into ms.
import { invalid, MAX_TIMER_MS, received } from '../check.js';
import { RetryAfterError } from '../errors.js';

/**
 * The error a task throws to be tried again in `ms` (a 429 or 503 told it when): `throw retryAfter(30_000)`.
 * The attempt counts, the next one waits `ms` instead of the backoff, and `retries` still bounds the attempts.
 */
export function retryAfter(ms: number, message?: string): RetryAfterError {
  if (typeof ms !== 'number' || !(ms >= 0) || ms > MAX_TIMER_MS) {
    invalid(`retryAfter(ms): argument "ms" must be a number of milliseconds from 0 to ${MAX_TIMER_MS}; received ${received(ms)}`);
  }
  return new RetryAfterError(Math.ceil(ms), message);
}

/**
 * An HTTP Retry-After header value in ms from `now`: delay-seconds ("120") or an HTTP date ("Wed, 21 Oct 2015
 * 07:28:00 GMT"; a date in the past is 0). Undefined when the value is absent or neither form, so that the caller
 * picks its own default: `retryAfter(parseRetryAfter(res.headers.get('retry-after')) ?? 30_000)`.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_TIMER_MS);
  // An HTTP date names its weekday and its zone; a bare number or free text is neither form.
  if (!/^[A-Za-z]{3},? /.test(text) || !/GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_TIMER_MS);
}

/** The wait a failed attempt asked for (a RetryAfterError here, or one sent back from a worker thread), or undefined. */
export function retryAfterOf(error: unknown): number | undefined {
  if (error instanceof RetryAfterError) return error.retryAfter;
  const sent = error as { code?: unknown; retryAfter?: unknown } | null;
  if (
    sent !== null &&
    typeof sent === 'object' &&
    sent.code === 'ERR_BACKGROUND_TASKS_RETRY_AFTER' &&
    typeof sent.retryAfter === 'number'
  ) {
    return sent.retryAfter;
  }
  return undefined;
}
