// maxQueued: beyond it addTask throws BackgroundTasksFullError and Express answers 503 (load shedding), in process and
// under a flood against a real server process; every accepted task runs.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { BackgroundTasksFullError } from '../lib/index.js';
import { appWith, byStatus, deferred, killChildren, sendAll, settled, startTaskServer } from './helpers.js';

describe('maxQueued', () => {
  it('addTask throws BackgroundTasksFullError beyond it, Express answers 503, accepted tasks all run', async () => {
    const gate = deferred();
    const started = deferred();
    let runs = 0;
    const { app, bg } = appWith({ concurrency: 1, maxQueued: 1 }, (_req, res) => {
      res.locals.background.addTask(async () => {
        runs++;
        started.resolve();
        await gate.promise;
      });
      res.end();
    });
    await request(app).get('/').expect(200); // starts at once: running, not queued
    await started.promise;
    await request(app).get('/').expect(200); // waits for the slot: queued 1
    const refused = await request(app).get('/');
    expect(refused.status).toBe(503);
    expect(bg.stats()).toMatchObject({ running: 1, queued: 1 });
    gate.resolve();
    await settled(bg);
    expect(runs).toBe(2);
    expect(bg.stats()).toMatchObject({ succeeded: 2, failed: 0, skipped: 0 });
  });

  it('maxQueued: 0 refuses every task (each one is queued until it starts)', async () => {
    let thrown: unknown;
    const { app, bg } = appWith({ maxQueued: 0 }, (_req, res) => {
      try {
        res.locals.background.addTask(() => undefined);
      } catch (error) {
        thrown = error;
      }
      res.end();
    });
    await request(app).get('/');
    expect(thrown).toBeInstanceOf(BackgroundTasksFullError);
    expect(thrown).toMatchObject({ status: 503, statusCode: 503, expose: true, maxQueued: 0, name: 'BackgroundTasksFullError' });
    expect(bg.stats()).toMatchObject({ queued: 0, succeeded: 0 });
  });
});

describe('load shedding: a flood against a real server process', () => {
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
    const { drained, stats, finished } = (await report) as unknown as {
      drained: boolean;
      stats: Record<string, number>;
      finished: string[];
    };
    expect(drained).toBe(true);
    expect(stats).toMatchObject({ queued: 0, running: 0, succeeded: accepted.length, failed: 0, skipped: 0 });
    // Executed = accepted, task for task: every request answered 200 had its task run, and no refused one did.
    expect(finished.slice().sort()).toEqual(accepted.slice().sort());
    expect(readFileSync(outFile, 'utf8').split('\n').filter(Boolean).sort()).toEqual(accepted.slice().sort());
  });
});
