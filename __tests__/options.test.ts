// backgroundTasks(options): every option's bad values are refused at creation with a TypeError that names the option.
import { backgroundTasks } from '../lib/index.js';

describe('backgroundTasks(options) validation', () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['onError', 'console.error', /option "onError" must be a function; received the string "console.error"/],
    ['skip', true, /option "skip" must be a function; received boolean true/],
    ['stopOnError', 'yes', /option "stopOnError" must be true or false/],
    ['stopOnError', 1, /option "stopOnError" must be true or false; received number 1/],
    ['timeout', 0, /option "timeout" must be a number of milliseconds above 0/],
    ['timeout', -5, /option "timeout"/],
    ['timeout', Number.NaN, /option "timeout"/],
    ['timeout', '100', /option "timeout"/],
    ['timeout', 2 ** 31, /option "timeout".*at most 2147483647/],
    ['concurrency', 0, /option "concurrency" must be an integer >= 1 \(or Infinity for no limit\); received number 0/],
    ['concurrency', 1.5, /option "concurrency"/],
    ['concurrency', '4', /option "concurrency"/],
    ['concurrency', Number.NaN, /option "concurrency"/],
    ['maxQueued', -1, /option "maxQueued" must be an integer >= 0/],
    ['maxQueued', 2.5, /option "maxQueued"/],
    ['maxQueued', null, /option "maxQueued".*received null/],
    ['checkArgs', 'no', /option "checkArgs" must be true or false/],
    ['runner', {}, /option "runner" must be a queue runner/],
    ['runner', 'bullmq', /option "runner" must be a queue runner/],
  ];

  it.each(bad)('%s: %p', (name, value, message) => {
    const attempt = () => backgroundTasks({ [name]: value } as never);
    expect(attempt).toThrow(TypeError);
    expect(attempt).toThrow(message);
  });

  it('names an unknown option and lists the known ones', () => {
    expect(() => backgroundTasks({ concurency: 2 } as never)).toThrow(
      /backgroundTasks\(\): unknown option "concurency"; the options are .*"concurrency"/,
    );
  });

  it('refuses options that are not an object', () => {
    expect(() => backgroundTasks('fast' as never)).toThrow(/backgroundTasks\(\): options must be an object; received the string "fast"/);
    expect(() => backgroundTasks([] as never)).toThrow(/options must be an object; received an array/);
    expect(() => backgroundTasks(null as never)).toThrow(/options must be an object; received null/);
  });

  it('accepts the good values, Infinity for no limit, and no options at all', () => {
    expect(() => backgroundTasks()).not.toThrow();
    expect(() => backgroundTasks({})).not.toThrow();
    expect(() =>
      backgroundTasks({
        onError: () => undefined,
        skip: () => false,
        stopOnError: true,
        timeout: Number.POSITIVE_INFINITY,
        concurrency: Number.POSITIVE_INFINITY,
        maxQueued: 0,
        checkArgs: true,
      }),
    ).not.toThrow();
    expect(backgroundTasks({ timeout: 1, concurrency: 1, maxQueued: 1 }).stats()).toEqual({
      queued: 0,
      running: 0,
      succeeded: 0,
      failed: 0,
      timedOut: 0,
      skipped: 0,
      deduplicated: 0,
    });
  });
});
