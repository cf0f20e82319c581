// A flood against concurrency: 1 and maxQueued: 10 in a real server process: the excess gets 503, every accepted task runs.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { killChildren, startTaskServer } from './child.js';
import { byStatus, sendAll } from './load.js';

const REQUESTS = 200;
const CONCURRENCY = 1;
const MAX_QUEUED = 10;

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ebt-flood-'));
});

afterEach(async () => {
  await killChildren();
  rmSync(dir, { recursive: true, force: true });
});

it('concurrency 1, maxQueued 10: some requests get 503, and exactly the accepted tasks are executed', async () => {
  const outFile = path.join(dir, 'lines.txt');
  // HOLD: no task finishes before the SIGTERM, so the flood certainly finds the queue full.
  const { child, port } = await startTaskServer({
    OUT_FILE: outFile,
    HOLD: '1',
    CONCURRENCY: String(CONCURRENCY),
    MAX_QUEUED: String(MAX_QUEUED),
  });
  const ids = Array.from({ length: REQUESTS }, (_, i) => `flood-${i}`);
  const replies = await sendAll(
    port,
    ids.map((id) => `/line?id=${id}`),
  );

  const counts = byStatus(replies);
  expect(Object.keys(counts).sort()).toEqual(['200', '503']);
  const accepted = replies.filter((reply) => reply.status === 200).map((reply) => new URL(reply.path, 'http://x').searchParams.get('id'));
  expect(accepted.length).toBeGreaterThan(0);
  // The 503s are Express's own error handler answering BackgroundTasksFullError (its stack is the body outside production).
  expect(replies.find((reply) => reply.status === 503)?.body).toContain('BackgroundTasksFullError');
  // Nothing ends before the SIGTERM, so no more than one running and ten waiting can ever have been accepted.
  expect(accepted.length).toBeLessThanOrEqual(CONCURRENCY + MAX_QUEUED);

  const report = child.message('drained');
  expect(await child.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  const { drained, stats, finished } = (await report) as unknown as { drained: boolean; stats: Record<string, number>; finished: string[] };
  expect(drained).toBe(true);
  expect(stats).toMatchObject({ queued: 0, running: 0, succeeded: accepted.length, failed: 0, skipped: 0 });
  // Executed = accepted, task for task: every request answered 200 had its task run, and no refused one did.
  expect(finished.slice().sort()).toEqual(accepted.slice().sort());
  expect(readFileSync(outFile, 'utf8').split('\n').filter(Boolean).sort()).toEqual(accepted.slice().sort());
});
