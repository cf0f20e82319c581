// The demo worker's settings: checked like the web demo's, one clear line and a non-zero exit, never a stack.
import { killChildren, npmRun, tsxNode } from './support.js';

afterEach(killChildren);

// Nothing listens there, and nothing connects: the settings are checked before the worker starts.
const REDIS_URL = 'redis://127.0.0.1:1';

it.each([
  ['EMAIL_DELAY_MS', 'abc', 0],
  ['EMAIL_DELAY_MS', '-1', 0],
  ['WORKER_CONCURRENCY', 'abc', 1],
  ['WORKER_CONCURRENCY', '0', 1],
  ['WORKER_CONCURRENCY', '2.5', 1],
  ['CLOSE_TIMEOUT_MS', '10s', 0],
])('refuses %s=%s with one clear line, exit 1', async (name, value, min) => {
  const worker = tsxNode('demo/worker.ts', { REDIS_URL, [name]: value });
  expect(await worker.exited).toEqual({ code: 1, signal: null });
  expect(worker.stderr.trim()).toBe(`demo:worker: ${name} must be a whole number >= ${min}; got ${JSON.stringify(value)}`);
  expect(worker.lines.filter((line) => line.startsWith('Worker running'))).toEqual([]);
});

it('npm run demo:worker with a bad setting exits non-zero with the message and no stack', async () => {
  const worker = npmRun('demo:worker', { REDIS_URL, WORKER_CONCURRENCY: 'abc' });
  const exit = await worker.exited;
  expect(exit.code).not.toBe(0);
  expect(worker.stderr).toContain('demo:worker: WORKER_CONCURRENCY must be a whole number >= 1; got "abc"');
  expect(worker.stderr).not.toMatch(/^\s+at /m);
});

it('without REDIS_URL, says how to set it and exits 1', async () => {
  const worker = tsxNode('demo/worker.ts', {});
  expect(await worker.exited).toEqual({ code: 1, signal: null });
  expect(worker.stderr).toContain('demo:worker needs REDIS_URL');
});
