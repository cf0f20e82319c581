// Type tests (tsc only, not jest): defineTask's flow-control options (dedupe, rateLimit, concurrency), retryAfter and parseRetryAfter.
import {
  type ConcurrencyOptions,
  type DedupeOptions,
  type DeduplicatedContext,
  defineTask,
  type KeyFunction,
  parseRetryAfter,
  type RateLimitOptions,
  type RetryAfterError,
  retryAfter,
  type Stats,
  type TaskHandle,
} from '../../lib/index.js';

// Key functions get the task's own parameter types.
const reindex = defineTask('reindex', (userId: string, _full: boolean) => userId, {
  dedupe: { key: (userId, full) => `${userId}:${String(full)}`, ttl: 5000, mode: 'debounce' },
});
const mail = defineTask('mail', async (to: string, _body: string) => to, {
  rateLimit: { limit: 10, per: 1000 },
});
const partner = defineTask('partner', async (customerId: number) => customerId, {
  concurrency: { limit: 2, key: (customerId) => String(customerId) },
  rateLimit: { limit: 5, per: 1000, key: (customerId) => `c${customerId}` },
});
const key: KeyFunction<[string]> = (email) => email.toLowerCase();
const dedupe: DedupeOptions<[string]> = { key, ttl: 1000 };
const rate: RateLimitOptions = { limit: 1, per: 10 };
const slots: ConcurrencyOptions = { limit: 1 };
const asked: RetryAfterError = retryAfter(30_000);
const ms: number = asked.retryAfter;
const code: 'ERR_BACKGROUND_TASKS_RETRY_AFTER' = asked.code;
const parsed: number | undefined = parseRetryAfter('120');
parseRetryAfter(null);
const stats = null as unknown as Stats;
const deduplicated: number = stats.deduplicated;
const handle = null as unknown as TaskHandle;
const dropped: boolean = handle.deduplicated;
const published = null as unknown as DeduplicatedContext;
const mode: 'drop' | 'debounce' = published.mode;

// @ts-expect-error: a key function returns a string
defineTask('t', (id: number) => id, { dedupe: { key: (id) => id, ttl: 10 } });
// @ts-expect-error: a key function takes the task's parameters
defineTask('t', (id: number) => id, { concurrency: { limit: 1, key: (id: string) => id } });
// @ts-expect-error: dedupe needs a ttl
defineTask('t', (id: string) => id, { dedupe: { key: (id) => id } });
// @ts-expect-error: dedupe.mode is 'drop' or 'debounce'
defineTask('t', (id: string) => id, { dedupe: { key: (id) => id, ttl: 10, mode: 'throttle' } });
// @ts-expect-error: rateLimit needs per
defineTask('t', () => undefined, { rateLimit: { limit: 10 } });
// @ts-expect-error: concurrency is an object, not a number
defineTask('t', () => undefined, { concurrency: 2 });
// @ts-expect-error: retryAfter takes ms
retryAfter('30s');
// @ts-expect-error: the wait is readonly
asked.retryAfter = 5;
// @ts-expect-error: the counter is readonly
stats.deduplicated = 1;
// @ts-expect-error: the handle's flag is readonly
handle.deduplicated = false;

void [reindex, mail, partner, dedupe, rate, slots, ms, code, parsed, deduplicated, dropped, mode];
