// The demo's thread tasks as a real process: FastAPI's blocking write_notification and a CPU-heavy thumbnail run on
// worker threads, and GET / answers while one of them blocks its thread.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { killChildren, startDemo } from './support.js';

afterEach(killChildren);

const ON_THREAD = / on thread (\d+)\)?$/;

describe('demo thread tasks', () => {
  it('POST /send-notification/:email: the blocking task writes on a worker thread while GET / answers', async () => {
    const log = path.join(mkdtempSync(path.join(tmpdir(), 'ebt-demo-')), 'log.txt');
    // The task blocks its thread for 60 s: GET / can answer only if that thread is not the event loop's.
    const { demo, port } = await startDemo({ EMAIL_DELAY_MS: '60000', NOTIFICATION_LOG: log }, 'node');
    const reply = await fetch(`http://127.0.0.1:${port}/send-notification/ada@example.com`, { method: 'POST' });
    expect(await reply.json()).toEqual({ message: 'Notification sent in the background' });
    const home = await fetch(`http://127.0.0.1:${port}/`);
    expect(home.status).toBe(200);
    expect(existsSync(log)).toBe(false);
    demo.signal('SIGKILL');
  });

  it('POST /avatar: the thumbnail is made on a worker thread, and SIGTERM still drains and exits 0', async () => {
    const log = path.join(mkdtempSync(path.join(tmpdir(), 'ebt-demo-')), 'log.txt');
    const { demo, port } = await startDemo({ EMAIL_DELAY_MS: '10', NOTIFICATION_LOG: log }, 'node');
    const reply = await fetch(`http://127.0.0.1:${port}/avatar?user=ada`, { method: 'POST' });
    expect(reply.status).toBe(202);
    await fetch(`http://127.0.0.1:${port}/send-notification/grace@example.com`, { method: 'POST' });
    const thumbnail = await demo.line((line) => line.startsWith('Thumbnail '));
    expect(Number(ON_THREAD.exec(thumbnail)?.[1])).toBeGreaterThan(0);
    await demo.line((line) => line.startsWith('notification for grace@example.com'));
    expect(readFileSync(log, 'utf8')).toBe('notification for grace@example.com: some notification\n');
    demo.signal('SIGTERM');
    expect(await demo.exited).toEqual({ code: 0, signal: null });
    expect(demo.lines.at(-1)).toMatch(/^Shutdown: [01] tasks finished while draining, 0 abandoned$/);
  });
});
