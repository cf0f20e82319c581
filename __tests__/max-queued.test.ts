// maxQueued: beyond it addTask throws BackgroundTasksFullError and Express answers 503 (load shedding), in process and
// under a flood against a real server process; every accepted task runs.
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { BackgroundTasksFullError, backgroundTasks } from '../lib/index.js';
import { appWith, byStatus, close, deferred, killChildren, listen, loadExpress, sendAll, settled, startTaskServer } from './helpers.js';

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

describe('maxQueued and slow clients', () => {
  const express = loadExpress();

  /** An app whose audit middleware adds a task before express.json() reads the body (the case the README warns of). */
  function auditedApp(maxQueued: number) {
    const bg = backgroundTasks({ maxQueued });
    const app = express();
    const audited: string[] = [];
    const added: Array<() => void> = [];
    app.use(bg);
    app.use((req, res, next) => {
      try {
        res.locals.background.addTask((path: string) => audited.push(path), req.path);
      } finally {
        for (const notify of added.splice(0)) notify();
      }
      next();
    });
    app.use(express.json());
    app.post('/upload', (_req, res) => res.json({ ok: true }));
    app.use((error: Error, _req: unknown, res: import('express').Response, _next: unknown) => {
      res.status((error as { status?: number }).status ?? 500).json({ error: error.name });
    });
    const nextAdd = () => new Promise<void>((resolve) => added.push(resolve));
    return { app, bg, audited, nextAdd };
  }

  /** A client that sends the headers and the first byte of a 20-byte JSON body, then waits. */
  async function slowUpload(port: number): Promise<Socket> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{');
    return socket;
  }

  function post(port: number, path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
  }

  it('tasks of responses still being received do not hold maxQueued against other requests; none is lost', async () => {
    const { app, bg, audited, nextAdd } = auditedApp(2);
    const server = http.createServer(app);
    const port = await listen(server);
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const added = nextAdd();
        sockets.push(await slowUpload(port));
        await added;
      }
      expect(bg.stats()).toMatchObject({ queued: 3 });
      // Three slow uploads hold three tasks, more than maxQueued 2: a normal request is still served.
      expect(await Promise.all([post(port, '/upload'), post(port, '/upload')])).toEqual([200, 200]);
      // The slow uploads finish: their tasks run too (counted late, never dropped).
      for (const socket of sockets) {
        const answered = once(socket, 'data');
        socket.write('"a":"012345678901"}');
        expect(String((await answered)[0])).toMatch(/^HTTP\/1\.1 200/);
        socket.end();
      }
      await settled(bg);
      expect(audited).toHaveLength(5);
      expect(bg.stats()).toMatchObject({ queued: 0, succeeded: 5, failed: 0 });
    } finally {
      for (const socket of sockets) socket.destroy();
      await close(server);
    }
  });

  it('a response still being sent is held to maxQueued for its own tasks', async () => {
    let thrown: unknown;
    const { app, bg } = appWith({ maxQueued: 2 }, (_req, res) => {
      try {
        for (let i = 0; i < 3; i++) res.locals.background.addTask(() => undefined);
      } catch (error) {
        thrown = error;
      }
      res.end();
    });
    await request(app).post('/').expect(200);
    await settled(bg);
    expect(thrown).toBeInstanceOf(BackgroundTasksFullError);
    expect(bg.stats()).toMatchObject({ succeeded: 2 });
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
