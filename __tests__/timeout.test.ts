// timeout: a task's signal aborts with a TimeoutError at the deadline, the task is reported and counted, the list moves on.
import request from 'supertest';
import { type TaskInfo, taskSignal } from '../lib/index.js';
import { appWith, deferred, settled } from './helpers.js';

describe('timeout', () => {
  it("aborts the task's signal with a TimeoutError, reports it, counts it and moves on", async () => {
    const failures: Array<{ error: unknown; info: TaskInfo }> = [];
    const reasons: unknown[] = [];
    const ran: string[] = [];
    const { app, bg } = appWith({ timeout: 10, onError: (error, info) => failures.push({ error, info }) }, (_req, res) => {
      res.locals.background.addTask(async function slowTask() {
        const signal = taskSignal();
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
        reasons.push(signal.reason);
      });
      res.locals.background.addTask(function next() {
        ran.push('next');
      });
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(ran).toEqual(['next']);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.error).toMatchObject({ name: 'TimeoutError', message: 'Background task "slowTask" timed out after 10 ms' });
    expect(failures[0]?.info.name).toBe('slowTask');
    expect(reasons[0]).toBe(failures[0]?.error);
    expect(bg.stats()).toMatchObject({ timedOut: 1, failed: 0, succeeded: 1 });
  });

  it('a task that asks for its signal after the timeout gets an aborted one', async () => {
    const late = deferred<AbortSignal>();
    const release = deferred();
    const { app, bg } = appWith({ timeout: 1, onError: () => undefined }, (_req, res) => {
      res.locals.background.addTask(async () => {
        await release.promise;
        late.resolve(taskSignal());
      });
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(bg.stats().timedOut).toBe(1);
    release.resolve();
    const signal = await late.promise;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toMatchObject({ name: 'TimeoutError' });
  });

  it('does not apply to a synchronous task that returns at once', async () => {
    const { app, bg } = appWith({ timeout: 1 }, (_req, res) => {
      res.locals.background.addTask(() => 'done');
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(bg.stats()).toMatchObject({ succeeded: 1, timedOut: 0 });
  });
});
