// Clients that go away: a close (FIN) or reset (RST) mid-response or before it starts, in process and against a
// real server process over raw TCP. The tasks still run.
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { appWith, type Child, close, deferred, killChildren, listen, sendAll, settled, startTaskServer } from './helpers.js';

describe('client aborts and resets', () => {
  async function abortMidResponse(how: 'close' | 'reset'): Promise<{ finished: boolean }> {
    const { bg, app } = appWith();
    const ran = deferred<{ finished: boolean }>();
    let finishFired = false;
    app.get('/slow', (_req, res) => {
      res.on('finish', () => {
        finishFired = true;
      });
      res.locals.background.addTask(() => ran.resolve({ finished: finishFired || res.writableFinished }));
      res.write('partial ');
      // The rest of the body never comes: the client goes away first.
    });
    const server = createServer(app);
    const port = await listen(server);
    try {
      const socket = connect(port, '127.0.0.1');
      socket.write('GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await new Promise<void>((resolve) => socket.once('data', () => resolve()));
      if (how === 'reset') socket.resetAndDestroy();
      else socket.end();
      const result = await ran.promise;
      await settled(bg);
      expect(bg.stats()).toMatchObject({ succeeded: 1, skipped: 0 });
      return result;
    } finally {
      await close(server);
    }
  }

  it('runs the tasks when the client closes mid-response (res "finish" never fires)', async () => {
    expect(await abortMidResponse('close')).toEqual({ finished: false });
  });

  it('runs the tasks when the client resets the connection', async () => {
    expect(await abortMidResponse('reset')).toEqual({ finished: false });
  });
});

describe('a real server process, clients vanishing over raw TCP', () => {
  let dir: string;
  let outFile: string;
  let child: Child;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ebt-aborted-'));
    outFile = path.join(dir, 'lines.txt');
    ({ child, port } = await startTaskServer({ OUT_FILE: outFile, TASK_EVENTS: '1' }));
  });

  afterAll(async () => {
    await killChildren();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until every task added so far has settled, and returns the ids of the tasks that ran to the end. */
  async function finishedTasks(): Promise<string[]> {
    const [reply] = await sendAll(port, ['/settled'], { method: 'GET' });
    expect(reply?.status).toBe(200);
    return (JSON.parse(reply!.body) as { finished: string[] }).finished;
  }

  async function requestOverTcp(target: string): Promise<Socket> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`);
    return socket;
  }

  const closers: Array<[string, (socket: Socket) => void]> = [
    ['resets the connection (RST)', (socket) => socket.resetAndDestroy()],
    ['closes the connection (FIN)', (socket) => socket.destroy()],
  ];

  describe.each(closers)('a client that %s', (how, hangUp) => {
    const tag = how.includes('RST') ? 'rst' : 'fin';

    it('after the response has started but before it ends: the task still runs', async () => {
      const id = `partial-${tag}`;
      const socket = await requestOverTcp(`/partial?id=${id}`);
      // The handler adds the task before it writes, so the first bytes prove the task is in the list.
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      expect(chunk.toString('latin1')).toMatch(/^HTTP\/1\.1 200/);
      hangUp(socket);
      expect(await finishedTasks()).toContain(id);
      expect(readFileSync(outFile, 'utf8').split('\n')).toContain(id);
    });

    it('before the response has started: the task still runs', async () => {
      const id = `stall-${tag}`;
      const socket = await requestOverTcp(`/stall?id=${id}`);
      await child.message('added', (message) => message.id === id);
      hangUp(socket);
      expect(await finishedTasks()).toContain(id);
      expect(readFileSync(outFile, 'utf8').split('\n')).toContain(id);
    });
  });

  it('afterwards, SIGTERM drains to exit 0 with all four tasks counted as succeeded', async () => {
    const report = child.message('drained');
    expect(await child.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await report).toMatchObject({ drained: true, pending: 0, stats: { succeeded: 4, failed: 0, skipped: 0 } });
  });
});
